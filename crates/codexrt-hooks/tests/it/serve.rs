//! The approval loop against the in-process fake app-server: each kind's
//! answer, failures answered safely, the loop surviving a panic, and
//! bounded concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig};
use codexrt_hooks::{
    ApprovalLoop, Decision, HookContext, HookEntry, HookError, HookSet, Matcher, ThreadHooks,
    hook_fn,
};
use codexrt_protocol::types::AccountLogoutParams;
use codexrt_testkit::fake::{FakeHandle, FakeScript, FakeServer, Handshake, Step};
use serde_json::{Value, json};

const COMMAND: &str = "item/commandExecution/requestApproval";
const FILE_CHANGE: &str = "item/fileChange/requestApproval";

pub(crate) fn command(line: &str) -> (&'static str, Value) {
    (
        COMMAND,
        json!({"itemId": "i", "startedAtMs": 0, "threadId": "t", "turnId": "u", "command": line, "cwd": "/w"}),
    )
}

fn file_change(item: &str) -> (&'static str, Value) {
    (
        FILE_CHANGE,
        json!({"itemId": item, "startedAtMs": 0, "threadId": "t", "turnId": "u"}),
    )
}

/// An `item/started` for file change `item` touching `paths`.
fn file_change_started(item: &str, paths: &[&str]) -> Step {
    let changes: Vec<Value> = paths
        .iter()
        .map(|path| json!({"diff": "", "kind": {"type": "add"}, "path": path}))
        .collect();
    Step::notify(
        "item/started",
        json!({
            "item": {"type": "fileChange", "id": item, "changes": changes, "status": "inProgress"},
            "startedAtMs": 0, "threadId": "t", "turnId": "u"
        }),
    )
}

/// Runs `hooks` over a fake that, once the loop is serving, sends `before`
/// and then each request (ids 0, 1, ...); returns each request's answer
/// (the message without its id) and the loop.
pub(crate) async fn serve(
    hooks: HookSet,
    before: Vec<Step>,
    requests: Vec<(&'static str, Value)>,
) -> (Vec<Value>, ApprovalLoop) {
    serve_scoped(hooks, ThreadHooks::default(), before, requests).await
}

/// [`serve`] with the thread scopes `scopes`.
pub(crate) async fn serve_scoped(
    hooks: HookSet,
    scopes: ThreadHooks,
    before: Vec<Step>,
    requests: Vec<(&'static str, Value)>,
) -> (Vec<Value>, ApprovalLoop) {
    let count = requests.len();
    let script = requests_script(before, requests);
    let (runtime, fake) = connect(script).await;
    let approvals = hooks.serve_scoped(&runtime, scopes).unwrap();
    // The fake sends its requests only after this call: the loop has the
    // stream by then.
    runtime.call(AccountLogoutParams).await.unwrap();
    fake.wait_received(3 + count).await;
    let answers = (0..count).map(|id| answer(&fake, id)).collect();
    runtime.shutdown().await.unwrap();
    (answers, approvals)
}

/// A fake that answers one `account/logout` (the test's signal that the
/// loop is serving), sends `before` and then each request (ids 0, 1, ...),
/// and then only reads.
pub(crate) fn requests_script(
    before: Vec<Step>,
    requests: Vec<(&'static str, Value)>,
) -> FakeScript {
    FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .steps(before)
        .steps(
            requests
                .into_iter()
                .enumerate()
                .map(|(id, (method, params))| Step::request(id as i64, method, params)),
        )
        .step(Step::HangForever)
}

pub(crate) async fn connect(script: FakeScript) -> (Runtime, FakeHandle) {
    connect_with(script, config()).await
}

/// The config of [`connect`]: short limits, so failing tests end.
pub(crate) fn config() -> RuntimeConfig {
    RuntimeConfig::new("codexrt-hooks-tests", "0.0.1")
        .shutdown_grace(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(10))
}

/// [`connect`] with `config`.
pub(crate) async fn connect_with(
    script: FakeScript,
    config: RuntimeConfig,
) -> (Runtime, FakeHandle) {
    let (connection, fake) = FakeServer::new(script).connect();
    (Runtime::connect(connection, config).await.unwrap(), fake)
}

pub(crate) fn answer(fake: &FakeHandle, id: usize) -> Value {
    let log = fake.log();
    let answers: Vec<Value> = log
        .messages()
        .filter(|message| message.get("method").is_none() && message["id"] == json!(id))
        .map(|message| {
            let mut answer = message.clone();
            if let Some(object) = answer.as_object_mut() {
                object.remove("id");
            }
            answer
        })
        .collect();
    assert_eq!(answers.len(), 1, "request {id}: {answers:?}");
    answers.into_iter().next().unwrap_or_default()
}

pub(crate) fn decision(value: &str) -> Value {
    json!({"result": {"decision": value}})
}

pub(crate) fn always(decision: Decision) -> impl codexrt_hooks::ToolUseHook {
    hook_fn(move |_| {
        let decision = decision.clone();
        async move { Ok(decision) }
    })
}

#[tokio::test]
async fn commands_are_decided_by_their_command_line() {
    let hooks = HookSet::new()
        .hook(
            HookEntry::new("no-rm", always(Decision::cancel("rm")))
                .matcher(Matcher::any().command("rm *")),
        )
        .hook(
            HookEntry::new("git", always(Decision::Accept))
                .matcher(Matcher::any().tool("command").command("git *")),
        )
        .hook(
            HookEntry::new("cargo", always(Decision::AcceptForSession))
                .matcher(Matcher::any().command("cargo *")),
        );
    let (answers, _) = serve(
        hooks,
        vec![],
        vec![
            command("git status"),
            command("cargo test"),
            command("rm -rf /"),
            command("curl example.com"),
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            decision("accept"),
            decision("acceptForSession"),
            decision("cancel"),
            decision("decline"),
        ]
    );
}

#[tokio::test]
async fn hooks_see_the_request() {
    let seen: Arc<std::sync::Mutex<Vec<HookContext>>> = Arc::default();
    let seen_by_hook = Arc::clone(&seen);
    let hooks = HookSet::new().hook(HookEntry::new(
        "spy",
        hook_fn(move |ctx| {
            seen_by_hook.lock().unwrap().push((*ctx).clone());
            async { Ok(Decision::Defer) }
        }),
    ));
    let (answers, _) = serve(hooks, vec![], vec![command("make")]).await;
    assert_eq!(answers, [decision("decline")]);
    let seen = seen.lock().unwrap();
    let ctx = &seen[0];
    assert_eq!(
        (
            ctx.tool_name.as_str(),
            ctx.thread_id.as_str(),
            ctx.turn_id.as_deref(),
            ctx.cwd.as_deref(),
            ctx.command.as_deref(),
            ctx.correlation_id.as_str(),
        ),
        ("command", "t", Some("u"), Some("/w"), Some("make"), "0")
    );
    assert_eq!(ctx.tool_input["command"], "make");
}

#[tokio::test]
async fn file_changes_are_matched_by_path() {
    let hooks = HookSet::new().hook(
        HookEntry::new("docs", always(Decision::Accept))
            .matcher(Matcher::any().tool("file_change").path("docs/*")),
    );
    let (answers, _) = serve(
        hooks,
        vec![
            file_change_started("a", &["docs/guide.md"]),
            file_change_started("b", &["src/lib.rs"]),
        ],
        // "c" never started: its paths are unknown.
        vec![file_change("a"), file_change("b"), file_change("c")],
    )
    .await;
    assert_eq!(
        answers,
        [decision("accept"), decision("decline"), decision("decline")]
    );
}

#[tokio::test]
async fn permissions_and_elicitations() {
    let hooks = HookSet::new()
        .hook(
            HookEntry::new("perms", always(Decision::AcceptForSession))
                .matcher(Matcher::any().tool("permissions")),
        )
        .hook(
            HookEntry::new("mcp", always(Decision::Accept))
                .matcher(Matcher::any().tool("mcp:trusted")),
        );
    let permissions = json!({"cwd": "/w", "itemId": "i", "permissions": {"network": {"enabled": true}}, "startedAtMs": 0, "threadId": "t", "turnId": "u"});
    let elicitation = |server: &str| json!({"serverName": server, "threadId": "t", "mode": "form", "message": "m", "requestedSchema": {"type": "object", "properties": {}}});
    let (answers, _) = serve(
        hooks,
        vec![],
        vec![
            ("item/permissions/requestApproval", permissions),
            ("mcpServer/elicitation/request", elicitation("trusted")),
            ("mcpServer/elicitation/request", elicitation("other")),
            (
                "item/tool/call",
                json!({"arguments": {}, "callId": "c", "threadId": "t", "tool": "lookup", "turnId": "u"}),
            ),
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            json!({"result": {"permissions": {"network": {"enabled": true}}, "scope": "session"}}),
            json!({"result": {"action": "accept", "content": {}}}),
            json!({"result": {"action": "decline"}}),
            // No tool of that name: a failure, never a success.
            json!({"result": {"contentItems": [{"type": "inputText", "text": "unknown tool `lookup`"}], "success": false}}),
        ]
    );
}

#[tokio::test]
async fn a_panicking_hook_declines_and_the_loop_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let hooks = HookSet::new()
        .hook(HookEntry::new(
            "flaky",
            hook_fn(move |_| {
                let call = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    match call {
                        0 => panic!("secret internal state"),
                        1 => Err(HookError::failed("down")),
                        _ => Ok(Decision::Defer),
                    }
                }
            }),
        ))
        .hook(HookEntry::new("accept", always(Decision::Accept)))
        // One at a time, so the hook's calls come in request order.
        .concurrency(1);
    let (answers, approvals) = serve(
        hooks,
        vec![],
        vec![command("a"), command("b"), command("c")],
    )
    .await;
    assert_eq!(
        answers,
        [decision("decline"), decision("decline"), decision("accept")]
    );
    let issues = approvals.report().issues();
    let kinds: Vec<_> = issues
        .iter()
        .map(|issue| (issue.hook.as_str(), issue.kind, issue.message.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "flaky",
                codexrt_hooks::IssueKind::Panic,
                "panicked: secret internal state"
            ),
            (
                "flaky",
                codexrt_hooks::IssueKind::Error,
                "hook failed: down"
            ),
        ]
    );
}

#[tokio::test]
async fn a_slow_hook_declines() {
    let hooks = HookSet::new().hook(
        HookEntry::new(
            "slow",
            hook_fn(|_| async {
                std::future::pending::<()>().await;
                Ok(Decision::Accept)
            }),
        )
        .timeout(Duration::from_millis(20)),
    );
    let (answers, approvals) = serve(hooks, vec![], vec![command("ls")]).await;
    assert_eq!(answers, [decision("decline")]);
    assert_eq!(
        approvals.report().issues()[0].kind,
        codexrt_hooks::IssueKind::Timeout
    );
}

#[tokio::test]
async fn requests_are_decided_with_bounded_concurrency() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (running_in_hook, most_in_hook) = (Arc::clone(&running), Arc::clone(&most));
    let hooks = HookSet::new()
        .hook(HookEntry::new(
            "counting",
            hook_fn(move |_| {
                let (running, most) = (Arc::clone(&running_in_hook), Arc::clone(&most_in_hook));
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(Decision::Accept)
                }
            }),
        ))
        .concurrency(2);
    let requests = (0..6).map(|_| command("ls")).collect();
    let (answers, _) = serve(hooks, vec![], requests).await;
    assert_eq!(answers, vec![decision("accept"); 6]);
    assert!(most.load(Ordering::SeqCst) <= 2, "{most:?}");
}

/// A second request with the id of one a hook is still deciding runs no
/// hook and gets no answer of its own: the hook runs once, the id is
/// answered once, with the hook's decision.
#[tokio::test]
async fn a_duplicate_request_id_runs_the_hook_once() {
    let (method, params) = command("ls");
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::request(0, method, params.clone()))
        .step(Step::request(0, method, params))
        // Read after the duplicate: when the call returns, it was routed.
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::HangForever);
    let calls = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let (counted, released) = (Arc::clone(&calls), Arc::clone(&release));
    let hooks = HookSet::new().hook(HookEntry::new(
        "held",
        hook_fn(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            let released = Arc::clone(&released);
            async move {
                released.notified().await;
                Ok(Decision::Accept)
            }
        }),
    ));
    let (runtime, fake) = connect(script).await;
    let _approvals = hooks.serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    release.notify_one();
    fake.wait_received(5).await;
    runtime.shutdown().await.unwrap();
    assert_eq!(answer(&fake, 0), decision("accept"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(runtime.stats().duplicate_server_requests, 1);
}

/// With both slots held by slow hooks, a request that no hook matches is
/// answered at once, before them: only requests a hook runs for take a
/// slot.
#[tokio::test]
async fn a_request_no_hook_matches_is_answered_while_every_slot_is_busy() {
    let (release, released) = tokio::sync::watch::channel(false);
    let hooks = HookSet::new()
        .hook(
            HookEntry::new(
                "slow",
                hook_fn(move |_| {
                    let mut released = released.clone();
                    async move {
                        // An error means the test is gone: nothing to wait for.
                        let _ = released.wait_for(|released| *released).await;
                        Ok(Decision::Accept)
                    }
                }),
            )
            .matcher(Matcher::any().command("slow *")),
        )
        .concurrency(2);
    let requests = vec![command("slow 1"), command("slow 2"), command("ls")];
    let script = requests_script(vec![], requests);
    let (runtime, fake) = connect(script).await;
    let _approvals = hooks.serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    // The unmatched request's answer, before the hooks are let go. Without
    // it in time, they are let go anyway, and the order below tells.
    let first = tokio::time::timeout(Duration::from_secs(10), fake.wait_received(4)).await;
    release.send_replace(true);
    fake.wait_received(6).await;
    runtime.shutdown().await.unwrap();
    let answered: Vec<Value> = fake
        .log()
        .messages()
        .filter(|message| message.get("method").is_none())
        .map(|message| message["id"].clone())
        .collect();
    assert_eq!(answered[0], json!(2), "{answered:?}, {first:?}");
    assert_eq!(
        (0..3).map(|id| answer(&fake, id)).collect::<Vec<_>>(),
        [decision("accept"), decision("accept"), decision("decline")]
    );
}

#[tokio::test]
async fn the_request_stream_is_taken_once() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::HangForever);
    let (runtime, _fake) = connect(script).await;
    let _approvals = HookSet::new().serve(&runtime).unwrap();
    assert!(matches!(
        HookSet::new().serve(&runtime),
        Err(HookError::RequestsTaken)
    ));
    runtime.shutdown().await.unwrap();
}

/// A request the server resolves while its hook is still deciding gets no
/// reply: the hook's late `accept` is dropped. One slot, so the next
/// request is decided only once the first one's answer was given or
/// dropped; its reply on the wire means the first one's would be there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_resolved_while_its_hook_decides_gets_no_reply() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(command_request(0, "held"))
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::notify(
            "serverRequest/resolved",
            json!({"threadId": "t", "requestId": 0}),
        ))
        // Read after the notification: when the call returns, it was routed.
        .step(Step::respond_to("account/logout", json!({})))
        .step(command_request(1, "next"))
        .step(Step::HangForever);
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let (counted, begun, released) = (
        Arc::clone(&calls),
        Arc::clone(&started),
        Arc::clone(&release),
    );
    let hooks = HookSet::new()
        .hook(HookEntry::new(
            "held first",
            hook_fn(move |_| {
                let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
                let (begun, released) = (Arc::clone(&begun), Arc::clone(&released));
                async move {
                    if first {
                        begun.notify_one();
                        released.notified().await;
                    }
                    Ok(Decision::Accept)
                }
            }),
        ))
        .concurrency(1);
    let (runtime, fake) = connect(script).await;
    let _approvals = hooks.serve(&runtime).unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    started.notified().await;
    runtime.call(AccountLogoutParams).await.unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    release.notify_one();
    // initialize, initialized, 3 calls, the reply to request 1.
    fake.wait_received(6).await;
    runtime.shutdown().await.unwrap();
    let replies_to_0 = fake
        .log()
        .messages()
        .filter(|message| message.get("method").is_none() && message["id"] == json!(0))
        .count();
    assert_eq!(replies_to_0, 0);
    assert_eq!(answer(&fake, 1), decision("accept"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(runtime.stats().duplicate_server_requests, 0);
}

fn command_request(id: i64, line: &str) -> Step {
    let (method, params) = command(line);
    Step::request(id, method, params)
}
