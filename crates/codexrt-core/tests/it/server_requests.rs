//! Server requests are answered exactly once, with the safe answer of their
//! kind whenever the user does not answer.

use std::time::Duration;

use codexrt_core::{CoreError, PendingServerRequest, RuntimeEvent, Settled};
use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{
    AccountLogoutParams, CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse,
};
use codexrt_testkit::fake::{FakeLog, FakeScript, Handshake, Step};
use serde_json::{Value, json};

use crate::support::{config, connect, connect_with};

const COMMAND_APPROVAL: &str = "item/commandExecution/requestApproval";

fn command_params() -> Value {
    json!({"itemId": "i", "startedAtMs": 0, "threadId": "t", "turnId": "u"})
}

/// Every kind with minimal params and the answer it gets when nobody
/// answers.
fn kinds() -> Vec<(&'static str, Value, Value)> {
    let denied = json!({"result": {"decision": {"denied": {"rejection": "declined by the client: no answer was given"}}}});
    let no_handler =
        json!({"error": {"code": -32603, "message": "the client has no handler for this request"}});
    vec![
        (
            COMMAND_APPROVAL,
            command_params(),
            json!({"result": {"decision": "decline"}}),
        ),
        (
            "item/fileChange/requestApproval",
            command_params(),
            json!({"result": {"decision": "decline"}}),
        ),
        (
            "item/permissions/requestApproval",
            json!({"cwd": "/w", "itemId": "i", "permissions": {}, "startedAtMs": 0, "threadId": "t", "turnId": "u"}),
            json!({"result": {"permissions": {}}}),
        ),
        (
            "item/tool/call",
            json!({"arguments": {}, "callId": "c", "threadId": "t", "tool": "lookup", "turnId": "u"}),
            json!({"result": {"contentItems": [], "success": false}}),
        ),
        (
            "item/tool/requestUserInput",
            json!({"isBlocking": true, "itemId": "i", "questions": [], "threadId": "t", "turnId": "u"}),
            json!({"result": {"answers": {}}}),
        ),
        (
            "mcpServer/elicitation/request",
            json!({"serverName": "s", "threadId": "t", "mode": "form", "message": "m", "requestedSchema": {"type": "object", "properties": {}}}),
            json!({"result": {"action": "decline"}}),
        ),
        (
            "execCommandApproval",
            json!({"callId": "c", "command": ["ls"], "conversationId": "t", "cwd": "/w", "parsedCmd": []}),
            denied.clone(),
        ),
        (
            "applyPatchApproval",
            json!({"callId": "c", "conversationId": "t", "fileChanges": {}}),
            denied,
        ),
        (
            "account/chatgptAuthTokens/refresh",
            json!({"reason": "unauthorized"}),
            no_handler.clone(),
        ),
        ("attestation/generate", json!({}), no_handler),
        // Gone since codex 0.171.0 (experimental before): an unknown request.
        (
            "currentTime/read",
            json!({"threadId": "t"}),
            json!({"error": {"code": -32601, "message": "unknown server request `currentTime/read`"}}),
        ),
        (
            "item/brandNew/request",
            json!({}),
            json!({"error": {"code": -32601, "message": "unknown server request `item/brandNew/request`"}}),
        ),
    ]
}

/// The client's answers to server request `id`: exactly one is expected.
/// Shuts the runtime down and returns the fake's log, which must show the
/// whole script played.
async fn finish(
    runtime: codexrt_core::Runtime,
    fake: codexrt_testkit::fake::FakeHandle,
) -> FakeLog {
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    log
}

fn answers(log: &FakeLog, id: i64) -> Vec<Value> {
    log.messages()
        .filter(|message| message.get("method").is_none() && message["id"] == json!(id))
        .map(|message| {
            let mut answer = message.clone();
            if let Some(object) = answer.as_object_mut() {
                object.remove("id");
            }
            answer
        })
        .collect()
}

#[tokio::test]
async fn every_kind_gets_its_safe_answer_when_nobody_took_the_stream() {
    let kinds = kinds();
    let mut script = FakeScript::new().handshake(Handshake::new());
    for (id, (method, params, _)) in kinds.iter().enumerate() {
        script = script
            .step(Step::request(id as i64, *method, params.clone()))
            .step(Step::expect_response(id as i64));
    }
    let (runtime, fake) = connect(script.step(Step::expect_close())).await;
    fake.wait_received(2 + kinds.len()).await;
    let log = finish(runtime, fake).await;
    for (id, (method, _, expected)) in kinds.into_iter().enumerate() {
        assert_eq!(answers(&log, id as i64), [expected], "{method}");
    }
}

/// A script that answers one `account/logout` (the test's signal that it
/// took the request stream), then sends one command approval (id 0).
fn one_request(then: Vec<Step>) -> FakeScript {
    FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::request(0, COMMAND_APPROVAL, command_params()))
        .steps(then)
}

/// Connects, takes the request stream, then lets the fake send its request.
async fn connect_taken(
    script: FakeScript,
    config: codexrt_core::RuntimeConfig,
) -> (
    codexrt_core::Runtime,
    codexrt_core::ServerRequestReceiver,
    codexrt_testkit::fake::FakeHandle,
) {
    let (runtime, fake) = connect_with(script, config).await;
    let runtime = runtime.unwrap();
    let requests = runtime.server_requests().unwrap();
    assert!(runtime.server_requests().is_none());
    runtime.call(AccountLogoutParams).await.unwrap();
    (runtime, requests, fake)
}

async fn first_command_approval(
    requests: &mut codexrt_core::ServerRequestReceiver,
) -> codexrt_core::ServerRequestHandle<codexrt_protocol::types::CommandExecutionRequestApprovalParams>
{
    match requests.recv().await {
        Some(PendingServerRequest::CommandExecutionApproval(handle)) => handle,
        other => panic!("{other:?}"),
    }
}

fn accept() -> CommandExecutionRequestApprovalResponse {
    CommandExecutionRequestApprovalResponse {
        decision: CommandExecutionApprovalDecision::Accept,
    }
}

#[tokio::test]
async fn the_users_answer_is_sent_once() {
    the_users_answer_is_sent_once_with(config()).await;
}

async fn the_users_answer_is_sent_once_with(config: codexrt_core::RuntimeConfig) {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let (runtime, mut requests, fake) = connect_taken(script, config).await;
    let handle = first_command_approval(&mut requests).await;
    assert_eq!(handle.params().thread_id, "t");
    handle.respond(accept()).unwrap();
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "accept"}})]
    );
}

fn settled(result: Result<(), CoreError>) -> Settled {
    match result {
        Err(CoreError::ServerRequestSettled { method, settled }) => {
            assert_eq!(method, COMMAND_APPROVAL);
            settled
        }
        other => panic!("{other:?}"),
    }
}

/// A server request is the same whether its frame is read unchecked
/// (framed as codex frames it) or in full (params not last), and one whose
/// params do not decode gets its kind's safe answer once, either way.
#[tokio::test]
async fn a_server_request_is_the_same_whichever_way_its_frame_is_read() {
    let params = command_params();
    let bad = json!({"itemId": 5, "startedAtMs": 0, "threadId": "t", "turnId": "u"});
    let in_full = |id: i64, params: &Value| Step::Garbage {
        line: format!(
            r#"{{"id":{id},"method":"{COMMAND_APPROVAL}","params":{params},"jsonrpc":"2.0"}}"#
        ),
    };
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::request(1, COMMAND_APPROVAL, params.clone()))
        .step(in_full(2, &params))
        .step(Step::request(3, COMMAND_APPROVAL, bad.clone()))
        .step(in_full(4, &bad))
        .step(Step::expect_response(3))
        .step(Step::expect_response(4))
        .step(Step::expect_response(1))
        .step(Step::expect_response(2))
        .step(Step::expect_close());
    let (runtime, mut requests, fake) = connect_taken(script, config()).await;
    let unchecked = first_command_approval(&mut requests).await;
    let in_full = first_command_approval(&mut requests).await;
    assert_eq!(unchecked.params(), in_full.params());
    assert_eq!(serde_json::to_value(unchecked.params()).unwrap(), params);
    // Both undecodable requests were answered safely on the loop.
    fake.wait_received(5).await;
    unchecked.respond(accept()).unwrap();
    in_full.respond(accept()).unwrap();
    fake.wait_received(7).await;
    let log = finish(runtime, fake).await;
    for (id, answer) in [(1, "accept"), (2, "accept"), (3, "decline"), (4, "decline")] {
        assert_eq!(
            answers(&log, id),
            [json!({"result": {"decision": answer}})],
            "{id}"
        );
    }
    assert!(requests.recv().await.is_none());
}

/// A second request with the id of one still waiting is dropped: the user
/// sees it once and the wire carries one answer for it. Once answered, the
/// id may come again, as a new request.
#[tokio::test]
async fn a_duplicate_of_a_waiting_request_is_dropped_once() {
    let script = one_request(vec![
        Step::request(0, COMMAND_APPROVAL, command_params()),
        // Read after the duplicate: when the call returns, it was routed.
        Step::respond_to("account/logout", json!({})),
        Step::expect_response(0),
        Step::request(0, COMMAND_APPROVAL, command_params()),
        Step::expect_response(0),
        Step::expect_close(),
    ]);
    let (runtime, mut requests, fake) = connect_taken(script, config()).await;
    let first = first_command_approval(&mut requests).await;
    runtime.call(AccountLogoutParams).await.unwrap();
    first.respond(accept()).unwrap();
    // The reuse after the answer is a new request; it gets the safe answer
    // of a dropped handle.
    drop(first_command_approval(&mut requests).await);
    fake.wait_received(6).await;
    assert_eq!(runtime.stats().duplicate_server_requests, 1);
    let log = finish(runtime, fake).await;
    // Besides the two above, nothing was handed over.
    let mut more = 0;
    while requests.recv().await.is_some() {
        more += 1;
    }
    assert_eq!(more, 0);
    assert_eq!(
        answers(&log, 0),
        [
            json!({"result": {"decision": "accept"}}),
            json!({"result": {"decision": "decline"}}),
        ]
    );
}

/// A handle's settled signal waits while the request waits, then says
/// how the runtime settled it; for a request its handle answered it says
/// `None`, at once or to a waiter woken by the answer.
#[tokio::test]
async fn the_settled_signal_tells_the_deadline_from_an_answer() {
    let script = one_request(vec![
        Step::expect_response(0),
        Step::request(1, COMMAND_APPROVAL, command_params()),
        Step::expect_response(1),
        Step::expect_close(),
    ]);
    let config = config().server_request_deadline(Duration::from_millis(100));
    let (runtime, mut requests, fake) = connect_taken(script, config).await;
    let first = first_command_approval(&mut requests).await;
    let signal = first.settled();
    assert_eq!(signal.get(), None);
    assert_eq!(signal.wait().await, Some(Settled::DeadlineElapsed));
    assert_eq!(signal.get(), Some(Settled::DeadlineElapsed));
    assert_eq!(settled(first.respond(accept())), Settled::DeadlineElapsed);
    let second = first_command_approval(&mut requests).await;
    let signal = second.settled();
    let waiter = tokio::spawn({
        let signal = signal.clone();
        async move { signal.wait().await }
    });
    // The test's runtime has one thread: yielding lets the waiter park on
    // the signal before the answer wakes it.
    tokio::task::yield_now().await;
    second.respond(accept()).unwrap();
    assert_eq!(waiter.await.unwrap(), None);
    assert_eq!((signal.get(), signal.wait().await), (None, None));
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
    assert_eq!(
        answers(&log, 1),
        [json!({"result": {"decision": "accept"}})]
    );
}

#[tokio::test]
async fn deadline_sends_the_safe_answer() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let config = config().server_request_deadline(Duration::from_millis(100));
    let (runtime, mut requests, fake) = connect_taken(script, config).await;
    let handle = first_command_approval(&mut requests).await;
    fake.wait_received(4).await;
    assert_eq!(settled(handle.respond(accept())), Settled::DeadlineElapsed);
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
}

/// The deadline timer sleeps until the first request's deadline; the first
/// is answered, the second arrives while the timer sleeps and is left
/// alone: its deadline still comes, on time, without anyone waking the
/// timer for it.
#[tokio::test]
async fn a_request_after_an_answered_one_still_meets_its_deadline() {
    let script = one_request(vec![
        Step::expect_response(0),
        Step::sleep(Duration::from_millis(50)),
        Step::request(1, COMMAND_APPROVAL, command_params()),
        Step::expect_response(1),
        Step::expect_close(),
    ]);
    let config = config().server_request_deadline(Duration::from_millis(200));
    let (runtime, mut requests, fake) = connect_taken(script, config).await;
    first_command_approval(&mut requests)
        .await
        .respond(accept())
        .unwrap();
    let second = first_command_approval(&mut requests).await;
    let armed = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), fake.wait_received(5))
        .await
        .expect("the second request's deadline never came");
    // Settled by its own deadline, not the first one's (50 ms earlier).
    assert!(
        armed.elapsed() >= Duration::from_millis(100),
        "{:?}",
        armed.elapsed()
    );
    assert_eq!(settled(second.respond(accept())), Settled::DeadlineElapsed);
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "accept"}})]
    );
    assert_eq!(
        answers(&log, 1),
        [json!({"result": {"decision": "decline"}})]
    );
}

#[tokio::test]
async fn a_dropped_request_gets_the_safe_answer() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let (runtime, mut requests, fake) = connect_taken(script, config()).await;
    drop(first_command_approval(&mut requests).await);
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
}

#[tokio::test]
async fn a_dropped_stream_means_safe_answers() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let (runtime, requests, fake) = connect_taken(script, config()).await;
    drop(requests);
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
}

#[tokio::test]
async fn resolved_by_the_server_settles_the_request() {
    let script = one_request(vec![
        Step::notify(
            "serverRequest/resolved",
            json!({"threadId": "t", "requestId": 0}),
        ),
        Step::expect_close(),
    ]);
    let (runtime, fake) = connect(script).await;
    let mut events = runtime.events();
    let mut requests = runtime.server_requests().unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    let handle = first_command_approval(&mut requests).await;
    // The router settles the request before it passes the notification on.
    loop {
        match events.recv().await {
            Some(RuntimeEvent::Notification(note))
                if matches!(*note, ServerNotification::ServerRequestResolved(_)) =>
            {
                break;
            }
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
    assert_eq!(settled(handle.respond(accept())), Settled::Resolved);
    let log = finish(runtime, fake).await;
    // The server resolved it, so nothing answers it.
    assert_eq!(answers(&log, 0), Vec::<Value>::new());
}

#[tokio::test]
async fn shutdown_answers_waiting_requests_safely() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let (runtime, mut requests, fake) = connect_taken(script, config()).await;
    let handle = first_command_approval(&mut requests).await;
    runtime.shutdown().await.unwrap();
    assert_eq!(settled(handle.respond(accept())), Settled::Shutdown);
    // The stream ends with the connection, though the runtime is still held.
    assert!(requests.recv().await.is_none());
    drop(runtime);
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
}

#[tokio::test]
async fn peer_death_settles_waiting_requests() {
    let script = one_request(vec![Step::Exit { code: 1 }]);
    let (runtime, fake) = connect(script).await;
    let mut events = runtime.events();
    let mut requests = runtime.server_requests().unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    let handle = first_command_approval(&mut requests).await;
    // The observer stream ends after the router settled what was waiting.
    while events.recv().await.is_some() {}
    assert_eq!(settled(handle.respond(accept())), Settled::ConnectionClosed);
    assert!(requests.recv().await.is_none());
    drop(runtime);
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(answers(&log, 0), Vec::<Value>::new());
}

/// Connects, takes the request stream and sets `decider` on it, then lets
/// the fake send its request.
async fn connect_deciding(
    script: FakeScript,
    decider: std::sync::Arc<codexrt_core::RequestDecider>,
) -> (
    codexrt_core::Runtime,
    codexrt_core::ServerRequestReceiver,
    codexrt_testkit::fake::FakeHandle,
) {
    let (runtime, fake) = connect_with(script, config()).await;
    let runtime = runtime.unwrap();
    let requests = runtime.server_requests().unwrap();
    assert!(!requests.decides_first());
    requests.decide_first(decider);
    assert!(requests.decides_first());
    runtime.call(AccountLogoutParams).await.unwrap();
    (runtime, requests, fake)
}

#[tokio::test]
async fn a_decider_answers_on_the_reading_task_and_nothing_is_queued() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let decider = std::sync::Arc::new(|request: PendingServerRequest| match request {
        PendingServerRequest::CommandExecutionApproval(handle) => {
            handle.respond(accept()).unwrap();
            None
        }
        other => Some(other),
    });
    let (runtime, mut requests, fake) = connect_deciding(script, decider).await;
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "accept"}})]
    );
    assert!(requests.recv().await.is_none());
}

#[tokio::test]
async fn a_request_the_decider_hands_back_is_queued() {
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let (runtime, mut requests, fake) = connect_deciding(script, std::sync::Arc::new(Some)).await;
    let handle = first_command_approval(&mut requests).await;
    handle.respond(accept()).unwrap();
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "accept"}})]
    );
}

#[tokio::test]
async fn a_panicking_decider_gives_the_safe_answer_and_the_connection_goes_on() {
    let script = one_request(vec![
        Step::expect_response(0),
        Step::respond_to("account/logout", json!({})),
        Step::expect_close(),
    ]);
    let decider = std::sync::Arc::new(|_: PendingServerRequest| -> Option<PendingServerRequest> {
        panic!("a decider that panics")
    });
    let (runtime, _requests, fake) = connect_deciding(script, decider).await;
    fake.wait_received(4).await;
    // The connection still reads: a call after the panic is answered.
    runtime.call(AccountLogoutParams).await.unwrap();
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
}

#[tokio::test]
async fn a_dropped_receiver_takes_its_decider_along() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let script = one_request(vec![Step::expect_response(0), Step::expect_close()]);
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&calls);
    let decider = std::sync::Arc::new(move |request: PendingServerRequest| {
        counted.fetch_add(1, Ordering::SeqCst);
        Some(request)
    });
    let (runtime, fake) = connect_with(script, config()).await;
    let runtime = runtime.unwrap();
    let requests = runtime.server_requests().unwrap();
    requests.decide_first(decider);
    drop(requests);
    runtime.call(AccountLogoutParams).await.unwrap();
    fake.wait_received(4).await;
    let log = finish(runtime, fake).await;
    assert_eq!(
        answers(&log, 0),
        [json!({"result": {"decision": "decline"}})]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// The request and observer streams as `Stream`s: the same items as
/// `recv`, and both end once the connection closed.
#[tokio::test]
async fn the_request_and_event_streams_end_at_peer_death() {
    use futures_util::StreamExt;

    let script = one_request(vec![Step::Exit { code: 1 }]);
    let (runtime, fake) = connect(script).await;
    let events = runtime.events();
    let mut requests = runtime.server_requests().unwrap();
    runtime.call(AccountLogoutParams).await.unwrap();
    match requests.next().await {
        Some(PendingServerRequest::CommandExecutionApproval(handle)) => {
            assert_eq!(handle.params().thread_id, "t");
        }
        other => panic!("{other:?}"),
    }
    assert!(requests.next().await.is_none());
    assert!(requests.next().await.is_none());
    // Every event the observer took, up to the close, then the end.
    let seen: Vec<RuntimeEvent> = events.collect().await;
    assert!(
        seen.iter()
            .all(|event| matches!(event, RuntimeEvent::Notification(_))),
        "{seen:?}"
    );
    drop(runtime);
    assert!(fake.finished().await.completed());
}

/// Every duration setting at `Duration::MAX` and every count at
/// `usize::MAX`: nothing panics (in this debug build) and each means "as long
/// as it takes": the request waits for the user's answer, the call for its
/// answer, the shutdown for the server.
#[tokio::test]
async fn extreme_settings_mean_no_limit_and_never_panic() {
    let config = config()
        .call_timeout(Duration::MAX)
        .shutdown_grace(Duration::MAX)
        .server_request_deadline(Duration::MAX)
        .max_in_flight_calls(usize::MAX);
    assert_eq!(config.call_timeout_limit(), codexrt_transport::MAX_WAIT);
    the_users_answer_is_sent_once_with(config).await;
}
