//! One-shot prompts over the fake: how a profile maps onto `thread/start`
//! and `turn/start`, and how each way a turn ends is reported.

use std::time::Duration;

use codexrt::protocol::types::{AskForApproval, CodexErrorInfo, SandboxMode, TurnStatus};
use codexrt::{PromptRunError, PromptRunParams, RunProfile};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::json;

use crate::support::{answer, connect, finish, params_of, thread_opened, turn_ended, turn_started};

#[tokio::test]
async fn run_sends_a_read_only_thread_and_returns_the_answer() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["Hel", "lo"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let result = client.run(".", "say hello").await.unwrap();
    assert_eq!(result.text(), "Hello");
    assert_eq!(
        (result.thread_id.as_str(), result.turn_id.as_str()),
        ("t1", "u1")
    );
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.items.len(), 1);
    assert_eq!(result.usage.map(|usage| usage.total.total_tokens), Some(5));
    assert_eq!(result.timings.duration_ms, Some(7));
    assert_eq!(result.error, None);

    let log = finish(client, fake).await;
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        params_of(&log, "thread/start"),
        [json!({"cwd": cwd.to_string_lossy(), "sandbox": "read-only"})]
    );
    assert_eq!(
        params_of(&log, "turn/start"),
        [json!({"threadId": "t1", "input": [{"type": "text", "text": "say hello"}]})]
    );
}

#[tokio::test]
async fn run_with_profile_maps_every_setting() {
    let schema =
        json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["{\"ok\":true}"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let profile = RunProfile::new()
        .model("gpt-test")
        .effort("high")
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted)
        .timeout(Duration::from_secs(30))
        .output_schema(schema.clone())
        .image_url("https://example.com/a.png")
        .local_image("/w/b.png");
    let result = client
        .run_with_profile("/w", "check it", profile)
        .await
        .unwrap();
    assert_eq!(result.text(), "{\"ok\":true}");

    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        [
            json!({"cwd": "/w", "sandbox": "workspace-write", "approvalPolicy": "untrusted", "model": "gpt-test"})
        ]
    );
    assert_eq!(
        params_of(&log, "turn/start"),
        [json!({
            "threadId": "t1",
            "input": [
                {"type": "text", "text": "check it"},
                {"type": "image", "url": "https://example.com/a.png"},
                {"type": "localImage", "path": "/w/b.png"},
            ],
            "effort": "high",
            "outputSchema": schema,
        })]
    );
}

#[tokio::test]
async fn a_blank_prompt_sends_nothing_but_an_image_alone_is_a_prompt() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["a cat"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let blank = client.run("/w", "  \n").await;
    assert!(
        matches!(blank, Err(PromptRunError::EmptyPrompt)),
        "{blank:?}"
    );
    let params = PromptRunParams::new("/w", "").profile(RunProfile::new().image_url("u"));
    assert_eq!(client.run_with(params).await.unwrap().text(), "a cat");

    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "turn/start"),
        [json!({"threadId": "t1", "input": [{"type": "image", "url": "u"}]})]
    );
}

#[tokio::test]
async fn a_failed_turn_is_an_error_with_the_error_info_and_the_result() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::notify(
            "error",
            json!({"threadId": "t1", "turnId": "u1", "willRetry": false,
                   "error": {"message": "model exploded", "codexErrorInfo": "internalServerError"}}),
        ))
        .step(turn_ended("u1", "failed"))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let error = client.run("/w", "hi").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "turn u1 of thread t1 failed: model exploded"
    );
    let info = error.turn_error().unwrap();
    assert_eq!(
        info.codex_error_info,
        Some(CodexErrorInfo::InternalServerError)
    );
    assert_eq!(error.result().unwrap().status, TurnStatus::Failed);
    assert!(matches!(error, PromptRunError::Failed { .. }));
    finish(client, fake).await;
}

#[tokio::test]
async fn a_turn_past_its_timeout_is_interrupted_and_timed_out() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let profile = RunProfile::new().timeout(Duration::from_millis(200));
    let error = client
        .run_with_profile("/w", "hi", profile)
        .await
        .unwrap_err();
    match &error {
        PromptRunError::TimedOut {
            thread_id,
            turn_id,
            timeout,
        } => {
            assert_eq!((thread_id.as_str(), turn_id.as_str()), ("t1", "u1"));
            assert_eq!(*timeout, Duration::from_millis(200));
        }
        other => panic!("{other:?}"),
    }
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "turn/interrupt"),
        [json!({"threadId": "t1", "turnId": "u1"})]
    );
}
