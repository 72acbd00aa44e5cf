//! Hook timeouts at their edges: zero, `Duration::MAX`, and a timeout
//! longer than core's server-request deadline, which then settles the
//! request and stops the hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codexrt_hooks::{
    AuditLog, CommandRules, Decision, HookContext, HookEntry, HookSet, IssueKind, Phase, ToolCall,
    ToolEntry, ToolOutput, hook_fn, tool_fn,
};
use codexrt_protocol::types::AccountLogoutParams;
use codexrt_testkit::TempDir;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::serve::{answer, command, config, connect_with, decision, requests_script};

/// The issues as (hook, phase, kind, message, correlation id).
fn issues(hooks: &HookSet) -> Vec<(String, Phase, IssueKind, String, String)> {
    hooks
        .report()
        .issues()
        .into_iter()
        .map(|issue| {
            (
                issue.hook,
                issue.phase,
                issue.kind,
                issue.message,
                issue.correlation_id,
            )
        })
        .collect()
}

fn issue(
    hook: &str,
    phase: Phase,
    kind: IssueKind,
    message: &str,
    id: &str,
) -> (String, Phase, IssueKind, String, String) {
    (
        hook.to_owned(),
        phase,
        kind,
        message.to_owned(),
        id.to_owned(),
    )
}

/// Counts its runs and accepts at once.
fn counted(runs: &Arc<AtomicUsize>) -> impl codexrt_hooks::ToolUseHook {
    let runs = Arc::clone(runs);
    hook_fn(move |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        async { Ok(Decision::Accept) }
    })
}

/// Never ends; `dropped` learns when its future is dropped (the sender
/// goes with it).
async fn forever(dropped: oneshot::Sender<()>) {
    let _held = dropped;
    std::future::pending::<()>().await;
}

/// Zero gives a hook no time: it is not started, in a task or in place,
/// and fails at once as a timeout, which declines. A tool likewise.
#[tokio::test]
async fn a_zero_timeout_fails_at_once_without_starting_the_hook() {
    let runs = Arc::new(AtomicUsize::new(0));
    let in_place = HookSet::new()
        .hook(HookEntry::new("rules", CommandRules::new().allow("*")).timeout(Duration::ZERO));
    let in_task =
        HookSet::new().hook(HookEntry::new("counted", counted(&runs)).timeout(Duration::ZERO));
    let mut ctx = HookContext::new(Phase::PreToolUse, "t", "command").with_command("ls");
    ctx.correlation_id = "7".to_owned();
    for (hooks, name) in [(&in_place, "rules"), (&in_task, "counted")] {
        assert_eq!(
            hooks.decide(&ctx).await,
            Decision::decline("a hook failed (timeout)")
        );
        assert_eq!(
            issues(hooks),
            [issue(
                name,
                Phase::PreToolUse,
                IssueKind::Timeout,
                "timed out after 0ns",
                "7"
            )]
        );
    }
    let tool_runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tool_runs);
    let tools = HookSet::new().tool(
        ToolEntry::new(
            "lookup",
            "looks up",
            json!({"type": "object"}),
            tool_fn(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Ok(ToolOutput::text("found")) }
            }),
        )
        .timeout(Duration::ZERO),
    );
    let response = tools.call_tool(&ToolCall::new("lookup", json!({}))).await;
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"contentItems": [{"type": "inputText", "text": "tool `lookup` timed out"}], "success": false})
    );
    assert_eq!(
        (
            runs.load(Ordering::SeqCst),
            tool_runs.load(Ordering::SeqCst)
        ),
        (0, 0)
    );
}

/// `Duration::MAX` means no limit of the hook's own: it is lowered to
/// `MAX_WAIT`, nothing overflows, and a hook that takes its time still
/// decides.
#[tokio::test]
async fn a_timeout_of_duration_max_means_no_limit() {
    let runs = Arc::new(AtomicUsize::new(0));
    let hooks = HookSet::new()
        .hook(HookEntry::new("rules", CommandRules::new().deny("rm *")).timeout(Duration::MAX))
        .hook(
            HookEntry::new(
                "slow",
                hook_fn(|_| async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(Decision::Accept)
                }),
            )
            .timeout(Duration::MAX),
        )
        .hook(HookEntry::new("counted", counted(&runs)).timeout(Duration::MAX));
    let ctx = HookContext::new(Phase::PreToolUse, "t", "command").with_command("ls");
    assert_eq!(hooks.decide(&ctx).await, Decision::Accept);
    assert_eq!(issues(&hooks), []);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let tools = HookSet::new().tool(
        ToolEntry::new(
            "lookup",
            "looks up",
            json!({"type": "object"}),
            tool_fn(|_| async { Ok(ToolOutput::text("found")) }),
        )
        .timeout(Duration::MAX),
    );
    let response = tools.call_tool(&ToolCall::new("lookup", json!({}))).await;
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"contentItems": [{"type": "inputText", "text": "found"}], "success": true})
    );
}

/// A hook and a tool whose timeouts (no limit) outlive core's 200 ms
/// deadline: the deadline declines each request, and each is then stopped
/// (its future dropped, no task left), reported as stopped, and audited
/// without a hook to its name.
#[tokio::test]
async fn hooks_outliving_the_request_deadline_are_stopped_when_it_settles_the_request() {
    let dir = TempDir::new("timeouts").unwrap();
    let log = AuditLog::create(dir.path().join("audit.jsonl")).unwrap();
    let (hook_alive, hook_dropped) = oneshot::channel::<()>();
    let (tool_alive, tool_dropped) = oneshot::channel::<()>();
    let hook_alive = Arc::new(std::sync::Mutex::new(Some(hook_alive)));
    let tool_alive = Arc::new(std::sync::Mutex::new(Some(tool_alive)));
    let hooks = HookSet::new()
        .audit(log.clone())
        .hook(
            HookEntry::new(
                "forever",
                hook_fn(move |_| {
                    let alive = hook_alive.lock().unwrap().take().unwrap();
                    async move {
                        forever(alive).await;
                        Ok(Decision::Accept)
                    }
                }),
            )
            .timeout(Duration::MAX),
        )
        .tool(
            ToolEntry::new(
                "lookup",
                "looks up",
                json!({"type": "object"}),
                tool_fn(move |_: ToolCall| {
                    let alive = tool_alive.lock().unwrap().take().unwrap();
                    async move {
                        forever(alive).await;
                        Ok(ToolOutput::text("found"))
                    }
                }),
            )
            .timeout(Duration::MAX),
        );
    let report = hooks.report();
    let tool_call = (
        "item/tool/call",
        json!({"arguments": {}, "callId": "c", "threadId": "t", "tool": "lookup", "turnId": "u"}),
    );
    let script = requests_script(vec![], vec![command("ls"), tool_call]);
    let config = config().server_request_deadline(Duration::from_millis(200));
    let (runtime, fake) = connect_with(script, config).await;
    let approvals = hooks.serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    // Each sender is dropped with its hook's future; a hook left running
    // would hold it, and the wait would end only with the test's guard.
    let guard = Duration::from_secs(30);
    let stopped =
        tokio::time::timeout(guard, async { (hook_dropped.await, tool_dropped.await) }).await;
    assert!(matches!(stopped, Ok((Err(_), Err(_)))), "{stopped:?}");
    fake.wait_received(5).await;
    assert_eq!(answer(&fake, 0), decision("decline"));
    assert_eq!(
        answer(&fake, 1),
        json!({"result": {"contentItems": [], "success": false}})
    );
    runtime.shutdown().await.unwrap();
    drop(approvals);
    let mut kept = report
        .issues()
        .into_iter()
        .map(|issue| {
            (
                issue.hook,
                issue.phase,
                issue.kind,
                issue.message,
                issue.correlation_id,
            )
        })
        .collect::<Vec<_>>();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kept,
        [
            issue(
                "forever",
                Phase::PreToolUse,
                IssueKind::Stopped,
                "stopped: its deadline elapsed",
                "0"
            ),
            issue(
                "lookup",
                Phase::DynamicTool,
                IssueKind::Stopped,
                "stopped: its deadline elapsed",
                "c"
            ),
        ]
    );
    let counts = report.decisions();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].0.as_str(),
            counts[0].1.failed,
            counts[0].1.total()
        ),
        ("forever", 1, 1)
    );
    log.flush().await.unwrap();
    let mut lines: Vec<Value> = std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("ts");
            value
        })
        .collect();
    // The two requests' lines come in either order.
    lines.sort_by_key(Value::to_string);
    assert_eq!(
        lines,
        [
            json!({
                "phase": "PreToolUse", "threadId": "t", "turnId": "u", "tool": "command",
                "correlationId": "0", "decision": "decline",
                "reason": "the request was settled before the hooks decided", "hook": null,
            }),
            json!({
                "phase": "DynamicTool", "threadId": "t", "turnId": "u", "tool": "lookup",
                "correlationId": "c", "status": "failed", "exitCode": null, "success": false,
            }),
        ]
    );
}
