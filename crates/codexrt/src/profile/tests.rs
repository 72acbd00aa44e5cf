//! How a profile becomes a plan and a plan becomes `turn/start` params.

use codexrt_hooks::Plan;
use codexrt_protocol::types::{
    AskForApproval, ReasoningEffort, SandboxMode, SandboxPolicy, TurnStartParams,
};
use serde_json::json;

use super::{RunProfile, text_input, turn_start};

fn thread_plan() -> Plan {
    RunProfile::new()
        .model("gpt-5")
        .effort("low")
        .output_schema(json!({"type": "object"}))
        .plan(Some("hello".to_owned()), "/srv/repo".to_owned())
}

#[test]
fn a_profile_becomes_a_plan_with_the_default_sandbox() {
    let mut expected = Plan::default();
    expected.prompt = Some("hello".to_owned());
    expected.model = Some("gpt-5".to_owned());
    expected.effort = Some(ReasoningEffort::from("low"));
    expected.cwd = Some("/srv/repo".to_owned());
    expected.sandbox = Some(SandboxMode::ReadOnly);
    expected.output_schema = Some(json!({"type": "object"}));
    assert_eq!(thread_plan(), expected);
}

#[test]
fn an_unchanged_plan_sends_only_the_turn_settings() {
    let plan = thread_plan();
    let params = turn_start(
        "t".to_owned(),
        vec![text_input("hi".to_owned())],
        &plan,
        &plan,
    );
    assert_eq!(
        params,
        TurnStartParams {
            thread_id: "t".to_owned(),
            input: vec![text_input("hi".to_owned())],
            effort: Some(ReasoningEffort::from("low")),
            output_schema: Some(json!({"type": "object"})),
            ..TurnStartParams::default()
        }
    );
}

#[test]
fn what_a_hook_changed_becomes_a_turn_override() {
    let thread = thread_plan();
    let mut plan = thread.clone();
    plan.model = Some("gpt-5-mini".to_owned());
    plan.cwd = Some("/srv/other".to_owned());
    plan.approval_policy = Some(AskForApproval::Untrusted);
    plan.sandbox = Some(SandboxMode::WorkspaceWrite);
    plan.effort = None;
    plan.output_schema = None;
    let params = turn_start("t".to_owned(), Vec::new(), &thread, &plan);
    assert_eq!(
        params,
        TurnStartParams {
            thread_id: "t".to_owned(),
            model: Some("gpt-5-mini".to_owned()),
            cwd: Some("/srv/other".to_owned()),
            approval_policy: Some(AskForApproval::Untrusted),
            sandbox_policy: Some(SandboxPolicy::WorkspaceWrite {
                exclude_slash_tmp: None,
                exclude_tmpdir_env_var: None,
                network_access: None,
                writable_roots: None,
            }),
            ..TurnStartParams::default()
        }
    );
}

#[test]
fn a_removed_thread_setting_is_not_sent() {
    let thread = thread_plan();
    let mut plan = thread.clone();
    plan.model = None;
    plan.sandbox = Some(serde_json::from_value(json!("future-mode")).unwrap());
    let params = turn_start("t".to_owned(), Vec::new(), &thread, &plan);
    assert_eq!(params.model, None);
    assert_eq!(params.sandbox_policy, None);
}

#[test]
fn extra_context_follows_the_prompt_and_precedes_attachments() {
    let profile = RunProfile::new().image_url("https://example.com/a.png");
    let input = profile
        .input("prompt".to_owned(), &["one".to_owned(), "two".to_owned()])
        .unwrap();
    assert_eq!(
        serde_json::to_value(&input).unwrap(),
        json!([
            {"type": "text", "text": "prompt"},
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two"},
            {"type": "image", "url": "https://example.com/a.png"},
        ])
    );
}

#[test]
fn a_blank_prompt_with_only_extra_context_is_empty() {
    let err = RunProfile::new()
        .input("  ".to_owned(), &["context".to_owned()])
        .unwrap_err();
    assert!(matches!(err, crate::PromptRunError::EmptyPrompt), "{err:?}");
}

#[test]
fn apply_takes_over_the_hook_settings() {
    let mut plan = thread_plan();
    plan.model = Some("other".to_owned());
    plan.extra_context = vec!["ctx".to_owned()];
    let mut profile = RunProfile::new();
    profile.apply(&plan);
    let again = profile.plan(None, "/x".to_owned());
    assert_eq!(again.model.as_deref(), Some("other"));
    assert_eq!(again.extra_context, ["ctx"]);
    assert_eq!(again.sandbox, Some(SandboxMode::ReadOnly));
}
