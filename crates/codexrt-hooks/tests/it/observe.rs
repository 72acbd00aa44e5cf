//! Post-tool hooks and event observers, fed from `item/completed` and the
//! runtime's event stream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use codexrt_core::RuntimeEvent;
use codexrt_hooks::{
    EventObserver, HookContext, HookEntry, HookError, HookSet, IssueKind, Matcher, ObserverEntry,
    Phase, PostToolHook,
};
use codexrt_protocol::types::AccountLogoutParams;
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::{Value, json};

use crate::serve::connect;

fn completed(item: Value) -> Step {
    Step::notify(
        "item/completed",
        json!({"completedAtMs": 1, "item": item, "threadId": "t", "turnId": "u"}),
    )
}

fn command_item(id: &str, line: &str, exit_code: i32) -> Value {
    json!({
        "type": "commandExecution", "id": id, "command": line, "commandActions": [],
        "cwd": "/w", "status": if exit_code == 0 { "completed" } else { "failed" },
        "exitCode": exit_code, "aggregatedOutput": format!("out of {line}")
    })
}

#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    /// Waits until `count` lines were seen, and returns them.
    async fn wait(&self, count: usize) -> Vec<String> {
        let wait = async {
            loop {
                let seen = self.0.lock().unwrap().clone();
                if seen.len() >= count {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("saw only {:?}", self.0.lock().unwrap()))
    }
}

#[async_trait]
impl PostToolHook for Seen {
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError> {
        let result = ctx.result.as_ref().unwrap();
        self.push(format!(
            "{} {} {:?} {} {:?} {:?} {:?} {}",
            ctx.phase,
            ctx.tool_name,
            ctx.command,
            result.status,
            result.exit_code,
            result.output,
            ctx.paths,
            ctx.correlation_id,
        ));
        Ok(())
    }
}

#[async_trait]
impl EventObserver for Seen {
    async fn on_event(&self, event: &RuntimeEvent) -> Result<(), HookError> {
        match event {
            RuntimeEvent::Notification(notification) => self.push(notification.method().to_owned()),
            other => self.push(format!("{other:?}")),
        }
        Ok(())
    }
}

struct Panicking;

#[async_trait]
impl EventObserver for Panicking {
    async fn on_event(&self, _event: &RuntimeEvent) -> Result<(), HookError> {
        panic!("observer bug")
    }
}

#[tokio::test]
async fn post_tool_hooks_and_observers_see_completed_items() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(completed(command_item("c1", "true", 0)))
        .step(completed(command_item("c2", "false", 1)))
        .step(completed(json!({
            "type": "fileChange", "id": "f1", "status": "completed",
            "changes": [{"diff": "", "kind": {"type": "add"}, "path": "docs/a.md"}]
        })))
        .step(completed(json!({
            "type": "mcpToolCall", "id": "m1", "server": "github", "tool": "create_issue",
            "arguments": {}, "status": "failed"
        })))
        .step(completed(
            json!({"type": "agentMessage", "id": "a1", "text": "done"}),
        ))
        .step(Step::HangForever);
    let (runtime, _fake) = connect(script).await;
    let post = Seen::default();
    let failures = Seen::default();
    let events = Seen::default();
    let hooks = HookSet::new()
        .hook(HookEntry::post_tool_use("all", post.clone()))
        .hook(
            HookEntry::post_tool_use("failures", failures.clone())
                .matcher(Matcher::any().phase(Phase::PostToolUseFailure)),
        )
        .observer(ObserverEntry::new("panics", Panicking))
        .observer(ObserverEntry::new("events", events.clone()));
    let approvals = hooks.serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();

    assert_eq!(
        post.wait(4).await,
        [
            r#"PostToolUse command Some("true") completed Some(0) Some("out of true") [] c1"#,
            r#"PostToolUseFailure command Some("false") failed Some(1) Some("out of false") [] c2"#,
            r#"PostToolUse file_change None completed None None ["docs/a.md"] f1"#,
            r#"PostToolUseFailure mcp:github/create_issue None failed None None [] m1"#,
        ]
    );
    assert_eq!(failures.wait(2).await.len(), 2);
    assert_eq!(events.wait(5).await, vec!["item/completed"; 5]);
    // The panicking observer failed on every event without stopping the
    // one registered after it.
    let issues = approvals.report().issues();
    assert_eq!(issues.len(), 5, "{issues:?}");
    assert!(issues.iter().all(|issue| issue.kind == IssueKind::Panic
        && issue.phase == Phase::OnEvent
        && issue.message == "panicked: observer bug"
        && issue.correlation_id == "item/completed"));
    runtime.shutdown().await.unwrap();
    // The request stream ends once the last runtime handle is gone.
    drop(runtime);
    tokio::time::timeout(Duration::from_secs(10), approvals.finished())
        .await
        .unwrap();
}

/// A post-tool hook slow enough that the items queue up behind it.
struct Slow(Seen);

#[async_trait]
impl PostToolHook for Slow {
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        self.0.push(ctx.correlation_id.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_barrier_waits_until_the_post_tool_hooks_saw_every_item_received() {
    let mut script = FakeScript::new().handshake(Handshake::new());
    for n in 0..5 {
        script = script.step(completed(command_item(&format!("c{n}"), "make", 0)));
    }
    let script = script
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    let seen = Seen::default();
    let approvals = HookSet::new()
        .hook(HookEntry::post_tool_use("slow", Slow(seen.clone())))
        .serve(&runtime)
        .unwrap();
    // The answer comes after the five notifications, so they were all
    // received when the call returns.
    runtime.call(AccountLogoutParams).await.unwrap();
    approvals.barrier().await;
    assert_eq!(*seen.0.lock().unwrap(), ["c0", "c1", "c2", "c3", "c4"]);
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_barrier_of_a_loop_that_observes_nothing_ends_at_once() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    let approvals = HookSet::new().serve(&runtime).unwrap();
    tokio::time::timeout(Duration::from_secs(5), approvals.barrier())
        .await
        .unwrap();
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_command_without_aggregated_output_gets_its_streamed_output() {
    let delta = |item: &str, text: &str| {
        Step::notify(
            "item/commandExecution/outputDelta",
            json!({"delta": text, "itemId": item, "threadId": "t", "turnId": "u"}),
        )
    };
    let mut bare = command_item("c1", "make", 2);
    bare["aggregatedOutput"] = Value::Null;
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(delta("c1", "first "))
        .step(delta("other", "not mine"))
        .step(delta("c1", "second\n"))
        .step(completed(bare))
        // An item that carries its output keeps it.
        .step(delta("c2", "streamed"))
        .step(completed(command_item("c2", "ls", 0)))
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    let seen = Seen::default();
    let approvals = HookSet::new()
        .hook(HookEntry::post_tool_use("seen", seen.clone()))
        .serve(&runtime)
        .unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    approvals.barrier().await;
    assert_eq!(
        *seen.0.lock().unwrap(),
        [
            r#"PostToolUseFailure command Some("make") failed Some(2) Some("first second\n") [] c1"#,
            r#"PostToolUse command Some("ls") completed Some(0) Some("out of ls") [] c2"#,
        ]
    );
    runtime.shutdown().await.unwrap();
}
