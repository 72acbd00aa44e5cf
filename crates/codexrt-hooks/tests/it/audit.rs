//! The audit log: one JSON line per decision, verdict and outcome, read
//! back from the file and compared as whole values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codexrt_hooks::{
    AuditLog, CommandRules, HookContext, HookEntry, HookSet, Phase, Plan, RunOutcome, Verdict,
    lifecycle_fn,
};
use codexrt_protocol::types::AccountLogoutParams;
use codexrt_testkit::TempDir;
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::{Value, json};

use crate::serve::connect;

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The file's lines as JSON, each `ts` checked to lie in `[from, to]` and
/// then removed.
fn lines(log: &AuditLog, from: u64, to: u64) -> Vec<Value> {
    let text = std::fs::read_to_string(log.path()).unwrap();
    text.lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            let ts = value
                .as_object_mut()
                .unwrap()
                .remove("ts")
                .and_then(|ts| ts.as_u64())
                .unwrap();
            assert!((from..=to).contains(&ts), "{ts} not in {from}..={to}");
            value
        })
        .collect()
}

#[tokio::test]
async fn decisions_verdicts_and_outcomes_are_logged() {
    let dir = TempDir::new("audit").unwrap();
    let log = AuditLog::create(dir.path().join("audit.jsonl")).unwrap();
    let hooks = HookSet::new()
        .audit(log.clone())
        .hook(HookEntry::new(
            "commands",
            CommandRules::new().allow("ls*").deny("rm *"),
        ))
        .hook(HookEntry::lifecycle(
            "turns",
            lifecycle_fn(|ctx| async move {
                let plan = ctx.plan.unwrap_or_default();
                Ok(match plan.prompt.as_deref() {
                    Some("stop") => Verdict::block("not now"),
                    Some("shorter") => Verdict::Mutate(plan.model("small")),
                    _ => Verdict::Continue,
                })
            }),
        ));
    let from = now_ms();
    let mut ctx = HookContext::new(Phase::PreToolUse, "thr_1", "command").with_command("ls -la");
    ctx.turn_id = Some("turn_1".to_owned());
    ctx.correlation_id = "7".to_owned();
    hooks.decide(&ctx).await;
    let mut rm = ctx.clone().with_command("rm -rf x");
    rm.correlation_id = "8".to_owned();
    hooks.decide(&rm).await;
    let mut other = ctx.clone().with_command("make");
    other.correlation_id = "9".to_owned();
    hooks.decide(&other).await;
    for prompt in ["go", "shorter", "stop"] {
        let turn =
            HookContext::new(Phase::PreTurn, "thr_1", "").with_plan(Plan::new().prompt(prompt));
        let _ = hooks.before(&turn).await;
    }
    hooks
        .after(
            &HookContext::new(Phase::PostTurn, "thr_1", "")
                .with_outcome(RunOutcome::new("interrupted")),
        )
        .await;
    log.flush().await.unwrap();
    let to = now_ms();

    let tool = |id: &str, decision: &str, reason: Value, hook: Value| {
        json!({
            "phase": "PreToolUse", "threadId": "thr_1", "turnId": "turn_1",
            "tool": "command", "correlationId": id,
            "decision": decision, "reason": reason, "hook": hook,
        })
    };
    let turn = |decision: &str, reason: Value, hook: Value| {
        json!({
            "phase": "PreTurn", "threadId": "thr_1", "turnId": null,
            "tool": "", "correlationId": "",
            "decision": decision, "reason": reason, "hook": hook,
        })
    };
    assert_eq!(
        lines(&log, from, to),
        [
            tool("7", "accept", Value::Null, json!("commands")),
            tool(
                "8",
                "decline",
                json!("the command matches the deny rule `rm *`"),
                json!("commands")
            ),
            tool("9", "decline", json!("no hook decided"), Value::Null),
            turn("continue", Value::Null, Value::Null),
            turn("mutate", Value::Null, json!("turns")),
            turn("block", json!("not now"), json!("turns")),
            json!({
                "phase": "PostTurn", "threadId": "thr_1", "turnId": null,
                "tool": "", "correlationId": "",
                "status": "interrupted", "exitCode": null, "success": false,
            }),
        ]
    );
    assert_eq!(log.dropped(), 0);
}

#[tokio::test]
async fn the_log_appends_and_clones_share_it() {
    let dir = TempDir::new("audit").unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let log = AuditLog::create(&path).unwrap();
    let hooks = HookSet::new().audit(log.clone());
    hooks
        .decide(&HookContext::new(Phase::PreToolUse, "t", "permissions"))
        .await;
    log.clone().flush().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let values: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(values.len(), 2, "{text}");
    assert_eq!(values[0], json!({"earlier": true}));
    assert_eq!(
        (
            &values[1]["tool"],
            &values[1]["decision"],
            &values[1]["hook"]
        ),
        (&json!("permissions"), &json!("decline"), &Value::Null)
    );
    assert_eq!(
        AuditLog::create(dir.path().join("no-such-folder").join("audit.jsonl"))
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
}

/// With only an audit log, the approval loop still takes the event stream
/// and logs every completed tool item's result.
#[tokio::test]
async fn the_approval_loop_logs_post_tool_results() {
    let completed = |item: Value| {
        Step::notify(
            "item/completed",
            json!({"completedAtMs": 1, "item": item, "threadId": "t", "turnId": "u"}),
        )
    };
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(completed(json!({
            "type": "commandExecution", "id": "c1", "command": "false", "commandActions": [],
            "cwd": "/w", "status": "failed", "exitCode": 1, "aggregatedOutput": ""
        })))
        .step(completed(
            json!({"type": "agentMessage", "id": "a1", "text": "done"}),
        ))
        .step(completed(json!({
            "type": "fileChange", "id": "f1", "status": "completed",
            "changes": [{"diff": "", "kind": {"type": "add"}, "path": "docs/a.md"}]
        })))
        .step(Step::HangForever);
    let (runtime, _fake) = connect(script).await;
    let dir = TempDir::new("audit").unwrap();
    let log = AuditLog::create(dir.path().join("audit.jsonl")).unwrap();
    let from = now_ms();
    let approvals = HookSet::new().audit(log.clone()).serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    let wait = async {
        loop {
            log.flush().await.unwrap();
            let text = std::fs::read_to_string(log.path()).unwrap();
            if text.lines().count() >= 2 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap();
    let result = |tool: &str, id: &str, status: &str, exit: Value, success: bool| {
        json!({
            "phase": if success { "PostToolUse" } else { "PostToolUseFailure" },
            "threadId": "t", "turnId": "u", "tool": tool, "correlationId": id,
            "status": status, "exitCode": exit, "success": success,
        })
    };
    assert_eq!(
        lines(&log, from, now_ms()),
        [
            result("command", "c1", "failed", json!(1), false),
            result("file_change", "f1", "completed", Value::Null, true),
        ]
    );
    runtime.shutdown().await.unwrap();
    drop(runtime);
    drop(approvals);
}
