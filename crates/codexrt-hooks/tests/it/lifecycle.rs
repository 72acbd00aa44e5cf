//! Lifecycle hooks through `HookSet::before` and `HookSet::after`: plans
//! mutated in order, the first block wins, failures block, and the
//! context's JSON form.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use codexrt_hooks::{
    Blocked, Decision, HookContext, HookEntry, HookError, HookReport, HookSet, IssueKind, Matcher,
    Phase, Plan, RunOutcome, Verdict, hook_fn, lifecycle_fn,
};
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, Option<Plan>, Option<String>)>>>;

/// A lifecycle hook that notes its name, the plan and the context's model
/// it saw, and returns `verdict`.
fn noting(name: &'static str, seen: &Seen, verdict: Verdict) -> HookEntry {
    let seen = Arc::clone(seen);
    HookEntry::lifecycle(
        name,
        lifecycle_fn(move |ctx| {
            seen.lock()
                .unwrap()
                .push((name.to_owned(), ctx.plan.clone(), ctx.model.clone()));
            let verdict = verdict.clone();
            async move { Ok(verdict) }
        }),
    )
}

fn failing(name: &str, kind: IssueKind) -> HookEntry {
    let entry = HookEntry::lifecycle(
        name,
        lifecycle_fn(move |_ctx| async move {
            match kind {
                IssueKind::Error => Err(HookError::failed("policy store unreachable")),
                IssueKind::Timeout => std::future::pending().await,
                _ => panic!("hook bug"),
            }
        }),
    );
    match kind {
        IssueKind::Timeout => entry.timeout(Duration::from_millis(50)),
        _ => entry,
    }
}

/// `HookSet::before` with the error's fields as a tuple, to compare whole
/// values (`Blocked` cannot be built outside the crate).
pub(crate) async fn before(
    hooks: &HookSet,
    ctx: &HookContext,
) -> Result<Plan, (Phase, String, String)> {
    hooks
        .before(ctx)
        .await
        .map_err(|blocked| (blocked.phase, blocked.hook, blocked.reason))
}

fn turn(plan: Plan) -> HookContext {
    HookContext::new(Phase::PreTurn, "thr_1", "").with_plan(plan)
}

fn names(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(name, _, _)| name.clone())
        .collect()
}

#[tokio::test]
async fn each_hook_sees_the_plan_the_hooks_before_it_left() {
    let seen: Seen = Arc::default();
    let start = Plan::new().prompt("fix the bug").model("gpt-5");
    let first = start.clone().model("gpt-5-mini");
    let second = first.clone().extra_context("the repo uses tabs");
    let hooks = HookSet::new()
        .hook(noting("a", &seen, Verdict::Mutate(first.clone())))
        .hook(noting("b", &seen, Verdict::Mutate(second.clone())))
        .hook(noting("c", &seen, Verdict::Continue));
    assert_eq!(
        before(&hooks, &turn(start.clone())).await,
        Ok(second.clone())
    );
    let model = |name: &str| Some(name.to_owned());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("a".to_owned(), Some(start), model("gpt-5")),
            ("b".to_owned(), Some(first), model("gpt-5-mini")),
            ("c".to_owned(), Some(second), model("gpt-5-mini")),
        ]
    );
}

#[tokio::test]
async fn no_hook_or_only_continues_keep_the_plan() {
    let plan = Plan::new().prompt("hi").cwd("/tmp/project");
    assert_eq!(
        HookSet::new().before(&turn(plan.clone())).await,
        Ok(plan.clone())
    );
    let seen: Seen = Arc::default();
    let hooks = HookSet::new().hook(noting("a", &seen, Verdict::Continue));
    assert_eq!(before(&hooks, &turn(plan.clone())).await, Ok(plan));
    // A context without a plan counts as an empty plan.
    let bare = HookContext::new(Phase::PreRun, "", "");
    assert_eq!(before(&hooks, &bare).await, Ok(Plan::new()));
}

#[tokio::test]
async fn the_first_block_wins() {
    let seen: Seen = Arc::default();
    let hooks = HookSet::new()
        .hook(noting("a", &seen, Verdict::Mutate(Plan::new().prompt("x"))))
        .hook(noting("b", &seen, Verdict::block("quota exhausted")))
        .hook(noting("c", &seen, Verdict::block("later")))
        .hook(noting("d", &seen, Verdict::Continue));
    assert_eq!(
        before(&hooks, &turn(Plan::new().prompt("hi"))).await,
        Err((Phase::PreTurn, "b".to_owned(), "quota exhausted".to_owned()))
    );
    assert_eq!(names(&seen), ["a", "b"]);
    let blocked: Blocked = hooks
        .before(&turn(Plan::new().prompt("hi")))
        .await
        .unwrap_err();
    assert_eq!(
        blocked.to_string(),
        "PreTurn hook `b` blocked: quota exhausted"
    );
}

#[tokio::test]
async fn failures_block_and_are_reported() {
    for kind in [IssueKind::Error, IssueKind::Timeout, IssueKind::Panic] {
        let seen: Seen = Arc::default();
        let report = HookReport::new(8);
        let hooks = HookSet::new()
            .report_to(report.clone())
            .hook(noting("first", &seen, Verdict::Continue))
            .hook(failing("broken", kind))
            .hook(noting("later", &seen, Verdict::Continue));
        let mut ctx = HookContext::new(Phase::PreRun, "", "").with_plan(Plan::new().prompt("hi"));
        ctx.correlation_id = "run-1".to_owned();
        assert_eq!(
            before(&hooks, &ctx).await,
            Err((
                Phase::PreRun,
                "broken".to_owned(),
                format!("the hook failed ({kind})")
            ))
        );
        assert_eq!(names(&seen), ["first"], "{kind}");
        let issues = report.issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            (
                issues[0].hook.as_str(),
                issues[0].phase,
                issues[0].kind,
                issues[0].correlation_id.as_str()
            ),
            ("broken", Phase::PreRun, kind, "run-1")
        );
    }
}

#[tokio::test]
async fn a_prompt_cannot_be_added_at_session_start() {
    let seen: Seen = Arc::default();
    let hooks = HookSet::new().hook(noting(
        "sneaky",
        &seen,
        Verdict::Mutate(Plan::new().prompt("do something else")),
    ));
    let session =
        HookContext::new(Phase::PreSessionStart, "", "").with_plan(Plan::new().model("m"));
    assert_eq!(
        before(&hooks, &session).await,
        Err((
            Phase::PreSessionStart,
            "sneaky".to_owned(),
            "set a prompt where there is none to change (a session start has no prompt)".to_owned()
        ))
    );
    // Where there is a prompt, a hook may rewrite it.
    assert_eq!(
        before(&hooks, &turn(Plan::new().prompt("hi"))).await,
        Ok(Plan::new().prompt("do something else"))
    );
}

#[tokio::test]
async fn matchers_and_phases_pick_the_lifecycle_hooks() {
    let seen: Seen = Arc::default();
    let hooks = HookSet::new()
        .hook(
            noting("turns", &seen, Verdict::block("no turns"))
                .matcher(Matcher::any().phase(Phase::PreTurn)),
        )
        .hook(noting("tools", &seen, Verdict::block("x")).matcher(Matcher::any().tool("command")))
        .hook(noting("all", &seen, Verdict::Continue));
    assert!(hooks.has_lifecycle_hooks());
    assert!(!HookSet::new().has_lifecycle_hooks());
    let run = HookContext::new(Phase::PreRun, "", "").with_plan(Plan::new().prompt("hi"));
    assert_eq!(before(&hooks, &run).await, Ok(Plan::new().prompt("hi")));
    assert_eq!(names(&seen), ["all"]);
    seen.lock().unwrap().clear();
    assert_eq!(
        before(&hooks, &turn(Plan::new().prompt("hi"))).await,
        Err((Phase::PreTurn, "turns".to_owned(), "no turns".to_owned()))
    );
    // Lifecycle hooks never take part in a tool-use decision.
    seen.lock().unwrap().clear();
    let command = HookContext::new(Phase::PreToolUse, "t", "command").with_command("ls");
    assert_eq!(
        hooks.decide(&command).await,
        Decision::decline("no hook decided")
    );
    assert!(names(&seen).is_empty());
}

#[tokio::test]
async fn before_refuses_contexts_of_other_phases() {
    let accepting = HookSet::new().hook(HookEntry::new(
        "yes",
        hook_fn(|_| async { Ok(Decision::Accept) }),
    ));
    for phase in [Phase::PreToolUse, Phase::PostTurn, Phase::OnUserInput] {
        let ctx = HookContext::new(phase, "t", "").with_plan(Plan::new());
        assert_eq!(
            before(&accepting, &ctx).await,
            Err((
                phase,
                String::new(),
                format!("{phase} is not a phase before a run, session or turn")
            ))
        );
    }
}

#[tokio::test]
async fn after_runs_post_hooks_ignores_verdicts_and_reports_failures() {
    let seen: Seen = Arc::default();
    let report = HookReport::new(8);
    let hooks = HookSet::new()
        .report_to(report.clone())
        .hook(noting("blocker", &seen, Verdict::block("too late")))
        .hook(failing("broken", IssueKind::Error))
        .hook(
            noting("runs", &seen, Verdict::Continue).matcher(Matcher::any().phase(Phase::PostRun)),
        )
        .hook(
            noting("skipped", &seen, Verdict::Continue)
                .matcher(Matcher::any().phase(Phase::PostTurn)),
        );
    let ctx = HookContext::new(Phase::PostRun, "thr_1", "").with_outcome(
        RunOutcome::new("completed")
            .thread_id("thr_1")
            .final_text("done"),
    );
    hooks.after(&ctx).await;
    assert_eq!(names(&seen), ["blocker", "runs"]);
    let issues = report.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        (
            issues[0].hook.as_str(),
            issues[0].phase,
            issues[0].kind,
            issues[0].message.as_str()
        ),
        (
            "broken",
            Phase::PostRun,
            IssueKind::Error,
            "hook failed: policy store unreachable"
        )
    );
    // A pre phase is not `after`'s business: nothing runs.
    seen.lock().unwrap().clear();
    hooks.after(&turn(Plan::new())).await;
    assert!(names(&seen).is_empty());
}

#[test]
fn the_context_serializes_with_camel_case_keys_and_millisecond_time() {
    let mut ctx = HookContext::new(Phase::PreTurn, "thr_1", "").with_plan(
        Plan::new()
            .prompt("hi")
            .model("gpt-5")
            .cwd("/tmp/p")
            .effort("high")
            .extra_context("note"),
    );
    ctx.turn_id = Some("turn_1".to_owned());
    ctx.correlation_id = "c1".to_owned();
    ctx.timestamp = UNIX_EPOCH + Duration::from_millis(1_767_225_600_123);
    assert_eq!(
        serde_json::to_value(&ctx).unwrap(),
        json!({
            "phase": "PreTurn",
            "threadId": "thr_1",
            "turnId": "turn_1",
            "cwd": "/tmp/p",
            "model": "gpt-5",
            "toolName": "",
            "command": null,
            "paths": [],
            "toolInput": null,
            "correlationId": "c1",
            "result": null,
            "plan": {
                "prompt": "hi",
                "model": "gpt-5",
                "effort": "high",
                "cwd": "/tmp/p",
                "sandbox": null,
                "approvalPolicy": null,
                "outputSchema": null,
                "extraContext": ["note"],
            },
            "outcome": null,
            "timestamp": 1_767_225_600_123_u64,
        })
    );

    let mut post = HookContext::new(Phase::PostToolUseFailure, "thr_1", "command")
        .with_command("false")
        .with_outcome(RunOutcome::new("failed").error("boom"));
    post.timestamp = UNIX_EPOCH;
    let value = serde_json::to_value(&post).unwrap();
    assert_eq!(
        (
            &value["phase"],
            &value["command"],
            &value["result"],
            &value["outcome"],
            &value["timestamp"]
        ),
        (
            &json!("PostToolUseFailure"),
            &json!("false"),
            &json!(null),
            &json!({"status": "failed", "threadId": null, "turnId": null, "finalText": null, "error": "boom"}),
            &json!(0),
        )
    );
}
