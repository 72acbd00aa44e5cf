//! Shared helpers: a client over the fake, and the fake's canned answers
//! and notifications.

use std::time::Duration;

use codexrt::{Client, ClientConfig, ClientError};
use codexrt_testkit::fake::{FakeHandle, FakeLog, FakeScript, FakeServer, Step};
use serde_json::{Value, json};

/// A config whose limits keep failing tests short.
pub(crate) fn config() -> ClientConfig {
    ClientConfig::new()
        .client_info("codexrt-facade-tests", "0.0.1")
        .shutdown_grace(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(10))
        .turn_timeout(Duration::from_secs(20))
}

/// Connects a client with `config` to a fake playing `script`.
pub(crate) async fn connect_with(
    script: FakeScript,
    config: ClientConfig,
) -> (Result<Client, ClientError>, FakeHandle) {
    let (connection, fake) = FakeServer::new(script).connect();
    (Client::connect_with(connection, config).await, fake)
}

/// Connects a client with the test config; the handshake must pass.
pub(crate) async fn connect(script: FakeScript) -> (Client, FakeHandle) {
    let (client, fake) = connect_with(script, config()).await;
    (client.expect("handshake"), fake)
}

/// Shuts the client down and checks that the fake's script ran to its end.
pub(crate) async fn finish(client: Client, fake: FakeHandle) -> FakeLog {
    client.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    log
}

/// The params of every request with this method, in order.
pub(crate) fn params_of(log: &FakeLog, method: &str) -> Vec<Value> {
    log.messages()
        .filter(|message| message["method"] == method)
        .map(|message| message["params"].clone())
        .collect()
}

/// A stored thread as codex describes it.
pub(crate) fn thread(id: &str) -> Value {
    json!({
        "cliVersion": "0.169.0", "createdAt": 0, "cwd": "/w", "ephemeral": false, "id": id,
        "modelProvider": "mock", "preview": "", "sessionId": "s", "source": "appServer",
        "status": {"type": "idle"}, "turns": [], "updatedAt": 0,
    })
}

/// The answer to `thread/start`, `thread/resume` and `thread/fork`.
pub(crate) fn thread_opened(id: &str) -> Value {
    json!({
        "approvalPolicy": "on-request", "approvalsReviewer": "user", "cwd": "/w",
        "model": "mock-model", "modelProvider": "mock", "sandbox": {"type": "readOnly"},
        "thread": thread(id),
    })
}

fn turn(id: &str, status: &str) -> Value {
    json!({"id": id, "items": [], "status": status, "durationMs": 7})
}

/// Expect `turn/start` and answer that turn `turn_id` of `t1` started.
pub(crate) fn turn_started(turn_id: &str) -> Step {
    Step::respond_to("turn/start", json!({"turn": turn(turn_id, "inProgress")}))
}

/// The steps of a turn of `t1` that streams `deltas` and completes with
/// their concatenation as its agent message.
pub(crate) fn answer(turn_id: &str, deltas: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = deltas
        .iter()
        .map(|delta| {
            Step::notify(
                "item/agentMessage/delta",
                json!({"threadId": "t1", "turnId": turn_id, "itemId": "m1", "delta": delta}),
            )
        })
        .collect();
    steps.push(Step::notify(
        "thread/tokenUsage/updated",
        json!({"threadId": "t1", "turnId": turn_id, "tokenUsage": {
            "last": {"cachedInputTokens": 0, "inputTokens": 3, "outputTokens": 2, "reasoningOutputTokens": 0, "totalTokens": 5},
            "total": {"cachedInputTokens": 0, "inputTokens": 3, "outputTokens": 2, "reasoningOutputTokens": 0, "totalTokens": 5},
        }}),
    ));
    steps.push(Step::notify(
        "item/completed",
        json!({"threadId": "t1", "turnId": turn_id, "completedAtMs": 1,
               "item": {"type": "agentMessage", "id": "m1", "text": deltas.concat()}}),
    ));
    steps.push(turn_ended(turn_id, "completed"));
    steps
}

/// `turn/completed` for turn `turn_id` of `t1` with `status`.
pub(crate) fn turn_ended(turn_id: &str, status: &str) -> Step {
    Step::notify(
        "turn/completed",
        json!({"threadId": "t1", "turn": turn(turn_id, status)}),
    )
}
