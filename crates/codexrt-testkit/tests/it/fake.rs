//! The in-process fake app-server against codexrt-rpc's `RpcClient`: the
//! handshake, and each fault mode as a client sees it.

use std::time::Duration;

use codexrt_rpc::{Incoming, IncomingReceiver, Malformation, RpcClient, RpcConfig, RpcError};
use codexrt_testkit::fake::{FakeHandle, FakeScript, FakeServer, Handshake, Step};
use codexrt_transport::CloseReason;
use serde_json::{Value, json};
use tokio::time::timeout;

/// Turns a hang into a failure; far beyond what any step needs.
const PATIENCE: Duration = Duration::from_secs(30);

fn start(script: FakeScript, config: RpcConfig) -> (RpcClient, IncomingReceiver, FakeHandle) {
    let (connection, fake) = FakeServer::new(script).connect();
    let (client, incoming) = RpcClient::start(connection, config);
    (client, incoming, fake)
}

/// A script that opens with the usual handshake.
fn after_handshake() -> FakeScript {
    FakeScript::new().handshake(Handshake::new())
}

async fn handshake(client: &RpcClient) -> Value {
    let params = json!({"clientInfo": {"name": "it", "version": "1.0.0"}});
    let result = client.call("initialize", params).await.unwrap();
    client.notify("initialized", ()).await.unwrap();
    result
}

async fn next(incoming: &mut IncomingReceiver) -> Option<Incoming> {
    timeout(PATIENCE, incoming.recv())
        .await
        .expect("an incoming item")
}

#[tokio::test]
async fn the_handshake_answers_like_codex_and_the_fake_records_every_message() {
    let script = FakeScript::new()
        .handshake(Handshake::new().version("0.150.0").codex_home("/ch"))
        .step(Step::respond_to(
            "thread/start",
            json!({"thread": {"id": "t1"}}),
        ));
    let (client, _incoming, fake) = start(script, RpcConfig::new());
    let init = handshake(&client).await;
    assert_eq!(
        init,
        json!({
            "userAgent": "fake/0.150.0 (Linux; x86_64)",
            "codexHome": "/ch",
            "platformFamily": "unix",
            "platformOs": "linux",
        })
    );
    let started: Value = client
        .call("thread/start", json!({"cwd": "/w"}))
        .await
        .unwrap();
    assert_eq!(started, json!({"thread": {"id": "t1"}}));
    let report = client.shutdown(PATIENCE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");

    let log = timeout(PATIENCE, fake.finished()).await.unwrap();
    assert!(log.completed(), "{:?}", log.failure);
    let received: Vec<&Value> = log.messages().collect();
    assert_eq!(
        received,
        [
            &json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "it", "version": "1.0.0"}}}),
            &json!({"method": "initialized"}),
            &json!({"id": 2, "method": "thread/start", "params": {"cwd": "/w"}}),
        ]
    );
}

#[tokio::test]
async fn a_garbage_line_is_reported_as_malformed_and_the_connection_goes_on() {
    let script = after_handshake()
        .step(Step::Garbage {
            line: "this is not json".to_owned(),
        })
        .step(Step::respond_to("ping", json!("pong")));
    let (client, mut incoming, _fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    let pong: String = client.call("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    match next(&mut incoming).await {
        Some(Incoming::Malformed(frame)) => {
            assert!(matches!(frame.problem, Malformation::Syntax(_)), "{frame}");
            assert_eq!(frame.excerpt, "this is not json");
        }
        other => panic!("expected a malformed frame, got {other:?}"),
    }
    assert_eq!(client.stats().malformed_frames, 1);
}

#[tokio::test]
async fn a_truncated_answer_closes_the_connection_and_fails_the_call_with_the_report() {
    let script = after_handshake()
        .step(Step::expect("turn/start"))
        .step(Step::Truncated { bytes: 10 });
    let (client, mut incoming, _fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    let error = client
        .call::<Value>("turn/start", json!({}))
        .await
        .unwrap_err();
    let RpcError::Closed { method, report } = error else {
        panic!("expected a closed connection, got {error:?}");
    };
    assert_eq!(method, "turn/start");
    assert!(
        matches!(report.reason, CloseReason::ProcessExited),
        "{report}"
    );
    assert_eq!(report.exit.and_then(|status| status.code()), Some(0));
    // The partial frame itself was seen, and could not be read.
    match next(&mut incoming).await {
        Some(Incoming::Malformed(frame)) => assert_eq!(frame.excerpt, r#"{"id":2,"r"#),
        other => panic!("expected a malformed frame, got {other:?}"),
    }
    assert!(next(&mut incoming).await.is_none());
}

#[tokio::test]
async fn answers_in_reverse_order_reach_their_own_calls() {
    let script = after_handshake()
        .step(Step::expect("first"))
        .step(Step::expect("second"))
        .step(Step::Reorder {
            earlier: json!("answer to first"),
            later: json!("answer to second"),
        });
    let (client, _incoming, fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.call::<String>("first", ()).await }
    });
    // The fake must have read `first` before `second` is sent.
    timeout(PATIENCE, fake.wait_received(3)).await.unwrap();
    let second: String = client.call("second", ()).await.unwrap();
    assert_eq!(second, "answer to second");
    assert_eq!(first.await.unwrap().unwrap(), "answer to first");
    assert_eq!(client.stats().unmatched_responses, 0);
}

#[tokio::test]
async fn a_duplicate_answer_is_counted_as_unmatched() {
    let script = after_handshake()
        .step(Step::expect("once"))
        .step(Step::DuplicateResponse { result: json!(1) })
        .step(Step::respond_to("sync", json!(2)));
    let (client, _incoming, _fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    assert_eq!(client.call::<u8>("once", ()).await.unwrap(), 1);
    // Answers are handled in order, so by the time `sync` is answered the
    // duplicate has been seen.
    assert_eq!(client.call::<u8>("sync", ()).await.unwrap(), 2);
    assert_eq!(client.stats().unmatched_responses, 1);
}

#[tokio::test]
async fn a_notification_flood_arrives_whole_and_in_order_to_a_small_queue() {
    const COUNT: u64 = 5_000;
    let script = after_handshake()
        .step(Step::NotificationFlood {
            method: "tick".to_owned(),
            count: COUNT,
        })
        .step(Step::respond_to("done", json!(true)));
    // A queue far smaller than the flood: the fake is held back until the
    // reader catches up, and nothing is lost.
    let config = RpcConfig::new().incoming_capacity(16);
    let (client, mut incoming, _fake) = start(script, config);
    handshake(&client).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<bool>("done", ()).await }
    });
    let mut seen = Vec::new();
    while (seen.len() as u64) < COUNT {
        match next(&mut incoming).await {
            Some(Incoming::Notification(tick)) => {
                assert_eq!(tick.method, "tick");
                let params: Value = serde_json::from_str(tick.params.unwrap().get()).unwrap();
                seen.push(params["n"].as_u64().unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(call.await.unwrap().unwrap());
    assert_eq!(seen, (0..COUNT).collect::<Vec<_>>());
    client.shutdown(PATIENCE).await.unwrap();
    assert_eq!(client.stats().dropped_notifications, 0);
}

#[tokio::test]
async fn the_clients_answer_to_a_server_request_is_recorded() {
    let params = json!({"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": "touch x"});
    let script = after_handshake()
        .step(Step::request(
            0,
            "item/commandExecution/requestApproval",
            params.clone(),
        ))
        .step(Step::expect_response(0))
        .step(Step::notify(
            "serverRequest/resolved",
            json!({"requestId": 0}),
        ));
    let (client, mut incoming, fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    match next(&mut incoming).await {
        Some(Incoming::Request(request)) => {
            assert_eq!(request.method(), "item/commandExecution/requestApproval");
            let got: Value = serde_json::from_str(request.params().unwrap().get()).unwrap();
            assert_eq!(got, params);
            let (_, responder) = request.into_parts();
            responder.respond(json!({"decision": "accept"})).unwrap();
        }
        other => panic!("expected a server request, got {other:?}"),
    }
    match next(&mut incoming).await {
        Some(Incoming::Notification(note)) => assert_eq!(note.method, "serverRequest/resolved"),
        other => panic!("expected a notification, got {other:?}"),
    }
    client.shutdown(PATIENCE).await.unwrap();
    let log = timeout(PATIENCE, fake.finished()).await.unwrap();
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(
        log.response_to(&json!(0)),
        Some(&json!({"id": 0, "result": {"decision": "accept"}}))
    );
}

#[tokio::test]
async fn exit_and_kill_close_like_a_process_would() {
    for (step, code, signal) in [
        (Step::Exit { code: 3 }, Some(3), None),
        (Step::Kill, None, Some(9)),
    ] {
        let script = after_handshake()
            .step(Step::expect("turn/start"))
            .step(step);
        let (client, _incoming, _fake) = start(script, RpcConfig::new());
        handshake(&client).await;
        let error = client.call::<Value>("turn/start", ()).await.unwrap_err();
        let RpcError::Closed { report, .. } = error else {
            panic!("expected a closed connection, got {error:?}");
        };
        assert!(
            matches!(report.reason, CloseReason::ProcessExited),
            "{report}"
        );
        let exit = report.exit.unwrap();
        assert_eq!(exit.code(), code);
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&exit), signal);
    }
}

#[tokio::test]
async fn a_client_that_strays_from_the_script_learns_why_from_the_close_report() {
    let script = after_handshake().step(Step::respond_to("thread/start", json!({})));
    let (client, _incoming, fake) = start(script, RpcConfig::new());
    handshake(&client).await;
    let error = client.call::<Value>("turn/start", ()).await.unwrap_err();
    let RpcError::Closed { report, .. } = error else {
        panic!("expected a closed connection, got {error:?}");
    };
    assert_eq!(report.exit.and_then(|status| status.code()), Some(70));
    assert!(
        report.to_string().ends_with(
            "last stderr line: fake app-server: step 3 (respond_to `thread/start`): \
             expected `thread/start`, got request `turn/start` (id 2): \
             {\"id\":2,\"method\":\"turn/start\"}"
        ),
        "{report}"
    );
    let log = fake.finished().await;
    assert_eq!(log.failure.map(|failure| failure.step), Some(3));
}
