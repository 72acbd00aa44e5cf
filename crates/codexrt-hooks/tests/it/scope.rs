//! Thread scopes through the approval loop against the in-process fake
//! app-server: which hooks, tools, post-tool hooks and observers run for
//! a thread with a scope, in which order, and with which model.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use codexrt_core::RuntimeEvent;
use codexrt_hooks::{
    Decision, EventObserver, HookContext, HookEntry, HookError, HookSet, ObserverEntry,
    PostToolHook, ThreadHooks, ToolEntry, ToolOutput, hook_fn, tool_fn,
};
use codexrt_testkit::fake::Step;
use serde_json::{Value, json};

use crate::serve::{decision, serve_scoped};

/// Lines recorded by hooks, tools and observers, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `count` lines were recorded, and returns them.
    async fn wait(&self, count: usize) -> Vec<String> {
        let wait = async {
            loop {
                let lines = self.lines();
                if lines.len() >= count {
                    return lines;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("saw only {:?}", self.lines()))
    }

    /// A PreToolUse hook that records its name, thread and model, then
    /// answers `decision`.
    fn hook(&self, name: &'static str, decision: Decision) -> HookEntry {
        let log = self.clone();
        HookEntry::new(
            name,
            hook_fn(move |ctx: std::sync::Arc<HookContext>| {
                log.push(format!("{name} {} {:?}", ctx.thread_id, ctx.model));
                let decision = decision.clone();
                async move { Ok(decision) }
            }),
        )
    }
}

/// Records `<name> <phase> <thread> <model> <item>` for tool uses, and
/// `<name> <method>` for events.
struct Named(&'static str, Log);

#[async_trait]
impl PostToolHook for Named {
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError> {
        self.1.push(format!(
            "{} {} {} {:?} {}",
            self.0, ctx.phase, ctx.thread_id, ctx.model, ctx.correlation_id
        ));
        Ok(())
    }
}

#[async_trait]
impl EventObserver for Named {
    async fn on_event(&self, event: &RuntimeEvent) -> Result<(), HookError> {
        let method = match event {
            RuntimeEvent::Notification(notification) => notification.method().to_owned(),
            other => format!("{other:?}"),
        };
        self.1.push(format!("{} {method}", self.0));
        Ok(())
    }
}

/// A set with a post-tool hook `<name>-post` and an observer
/// `<name>-events`, both recording into `log`.
fn watching(name: &'static str, log: &Log) -> HookSet {
    let post: &'static str = format!("{name}-post").leak();
    let events: &'static str = format!("{name}-events").leak();
    HookSet::new()
        .hook(HookEntry::post_tool_use(post, Named(post, log.clone())))
        .observer(ObserverEntry::new(events, Named(events, log.clone())))
}

fn command_in(thread: &str) -> (&'static str, Value) {
    (
        "item/commandExecution/requestApproval",
        json!({"itemId": "i", "startedAtMs": 0, "threadId": thread, "turnId": "u", "command": "make", "cwd": "/w"}),
    )
}

fn tool_call_in(thread: &str) -> (&'static str, Value) {
    (
        "item/tool/call",
        json!({"arguments": {}, "callId": "c", "threadId": thread, "tool": "lookup", "turnId": "u"}),
    )
}

fn completed_in(thread: &str, item: &str) -> Step {
    Step::notify(
        "item/completed",
        json!({"completedAtMs": 1, "threadId": thread, "turnId": "u", "item": {
            "type": "commandExecution", "id": item, "command": "make", "commandActions": [],
            "cwd": "/w", "status": "completed", "exitCode": 0, "aggregatedOutput": ""
        }}),
    )
}

fn text_result(text: &str) -> Value {
    json!({"result": {"contentItems": [{"type": "inputText", "text": text}], "success": true}})
}

#[tokio::test]
async fn a_scope_adds_to_the_base_set_for_its_thread_only() {
    let log = Log::default();
    let base = HookSet::new()
        .hook(log.hook("base", Decision::Defer))
        .tool(ToolEntry::new(
            "lookup",
            "base lookup",
            json!({"type": "object"}),
            tool_fn(|_| async { Ok(ToolOutput::text("from base")) }),
        ))
        // One at a time, so the log follows the request order.
        .concurrency(1);
    let scope = HookSet::new()
        .hook(log.hook("scope", Decision::Accept))
        .tool(ToolEntry::new(
            "lookup",
            "scoped lookup",
            json!({"type": "object"}),
            tool_fn(|_| async { Ok(ToolOutput::text("from scope")) }),
        ));
    let scopes = ThreadHooks::default();
    let guard = scopes.insert("t", Arc::new(scope), Some("mock-model".to_owned()));
    let (answers, _) = serve_scoped(
        base,
        scopes.clone(),
        vec![],
        vec![
            command_in("t"),
            command_in("other"),
            tool_call_in("t"),
            tool_call_in("other"),
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            decision("accept"),
            decision("decline"),
            text_result("from scope"),
            text_result("from base"),
        ]
    );
    assert_eq!(
        log.lines(),
        [
            r#"base t Some("mock-model")"#,
            r#"scope t Some("mock-model")"#,
            "base other None",
        ]
    );
    drop(guard);
    // The loop removes the scope once its observers are through the events
    // that came before the release.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !scopes.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn scope_post_tool_hooks_and_observers_see_their_thread_after_the_base() {
    let log = Log::default();
    let base = watching("base", &log);
    let scope = watching("scope", &log);
    let scopes = ThreadHooks::default();
    let _guard = scopes.insert("t", Arc::new(scope), Some("mock-model".to_owned()));
    let before = vec![
        completed_in("other", "x1"),
        completed_in("t", "t1"),
        Step::notify("configWarning", json!({"summary": "no thread here"})),
    ];
    let (answers, _approvals) = serve_scoped(base, scopes, before, vec![command_in("t")]).await;
    // No PreToolUse hook: the safe answer.
    assert_eq!(answers, [decision("decline")]);
    assert_eq!(
        log.wait(7).await,
        [
            "base-events item/completed",
            "base-post PostToolUse other None x1",
            "base-events item/completed",
            "scope-events item/completed",
            r#"base-post PostToolUse t Some("mock-model") t1"#,
            r#"scope-post PostToolUse t Some("mock-model") t1"#,
            "base-events configWarning",
        ]
    );
}

/// The base set only decides, so the loop starts with a narrow stream
/// (items starting and completing). A scope with an observer and a
/// post-tool hook inserted while the loop runs widens it at once: the
/// scope sees every notification of its thread that comes after the
/// insertion, deltas included.
#[tokio::test]
async fn a_scope_that_observes_inserted_while_the_loop_runs_sees_every_event_after() {
    let log = Log::default();
    let base = HookSet::new().hook(HookEntry::new(
        "rules",
        codexrt_hooks::CommandRules::new().allow("*"),
    ));
    let scope = watching("scope", &log);
    let (method, params) = command_in("t");
    let script = codexrt_testkit::fake::FakeScript::new()
        .handshake(codexrt_testkit::fake::Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::respond_to("account/logout", json!({})))
        .step(completed_in("t", "t1"))
        .step(Step::notify(
            "item/agentMessage/delta",
            json!({"threadId": "t", "turnId": "u", "itemId": "m", "delta": "hi"}),
        ))
        .step(Step::notify(
            "configWarning",
            json!({"summary": "no thread here"}),
        ))
        .step(Step::request(0, method, params))
        .step(Step::HangForever);
    let (runtime, fake) = crate::serve::connect(script).await;
    let scopes = ThreadHooks::default();
    let _approvals = base.serve_scoped(&runtime, scopes.clone()).unwrap();
    runtime
        .call(codexrt_protocol::types::AccountLogoutParams)
        .await
        .unwrap();
    let _guard = scopes.insert("t", Arc::new(scope), None);
    // The fake sends the rest once this is answered.
    runtime
        .call(codexrt_protocol::types::AccountLogoutParams)
        .await
        .unwrap();
    fake.wait_received(5).await;
    assert_eq!(
        log.wait(3).await,
        [
            "scope-events item/completed",
            "scope-post PostToolUse t None t1",
            "scope-events item/agentMessage/delta",
        ]
    );
    let answers: Vec<Value> = fake
        .log()
        .messages()
        .filter(|message| message.get("method").is_none() && message["id"] == json!(0))
        .map(|message| message["result"].clone())
        .collect();
    assert_eq!(answers, [json!({"decision": "accept"})]);
    runtime.shutdown().await.unwrap();
}
