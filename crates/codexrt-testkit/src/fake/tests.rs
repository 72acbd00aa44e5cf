//! Unit tests of the script format and of the fake's raw wire behaviour
//! (frames a JSON-RPC client would hide).

use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::CloseReason;
use serde_json::{Value, json};

use super::{FakeScript, FakeServer, Handshake, Step};
use crate::Frame;

#[test]
fn scripts_are_tagged_json_with_defaults() {
    let script = FakeScript::from_json(
        r#"{"steps": [
            {"step": "expect", "method": "initialize"},
            {"step": "respond", "result": {"ok": true}},
            {"step": "request", "id": 0, "method": "approve"},
            {"step": "expect_response", "id": 0, "timeout_ms": 50},
            {"step": "notification_flood", "method": "tick", "count": 3},
            {"step": "kill"}
        ]}"#,
    )
    .unwrap();
    assert_eq!(
        script,
        FakeScript::new().steps([
            Step::expect("initialize"),
            Step::respond(json!({"ok": true})),
            Step::Request {
                id: json!(0),
                method: "approve".to_owned(),
                params: None
            },
            Step::ExpectResponse {
                id: json!(0),
                timeout_ms: Some(50)
            },
            Step::NotificationFlood {
                method: "tick".to_owned(),
                count: 3
            },
            Step::Kill,
        ])
    );
    assert_eq!(script.default_expect_timeout(), Duration::from_secs(10));
    let custom = FakeScript::new().expect_timeout(Duration::from_millis(250));
    let text = custom.to_json();
    assert!(text.contains("\"expect_timeout_ms\": 250"), "{text}");
    assert_eq!(FakeScript::from_json(&text).unwrap(), custom);
    for bad in [
        r#"{"steps":[{"step":"dance"}]}"#,
        r#"{"steps":[{"step":"expect","method":"a","timeout":5}]}"#,
        r#"{"steps":[],"expect_timeout":5}"#,
    ] {
        assert!(FakeScript::from_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn every_step_round_trips() {
    let script = FakeScript::new().handshake(Handshake::new()).steps([
        Step::respond_error(-32600, "no"),
        Step::RespondError {
            code: 1,
            message: "m".to_owned(),
            data: Some(json!([1])),
        },
        Step::notify("n", json!({})),
        Step::request("s-1", "m", json!({"a": 1})),
        Step::expect_response("s-1"),
        Step::expect_close(),
        Step::sleep(Duration::from_millis(5)),
        Step::Garbage {
            line: "}{".to_owned(),
        },
        Step::Truncated { bytes: 4 },
        Step::Reorder {
            earlier: json!(1),
            later: json!(2),
        },
        Step::DuplicateResponse { result: json!(3) },
        Step::StderrFlood { bytes: 10 },
        Step::Exit { code: 3 },
        Step::IgnoreSigterm,
        Step::HangForever,
    ]);
    assert_eq!(FakeScript::from_json(&script.to_json()).unwrap(), script);
}

#[test]
fn the_handshake_answers_like_codex() {
    let handshake = Handshake::new()
        .version("0.150.0")
        .codex_home("/h")
        .platform("windows", "windows");
    assert_eq!(
        handshake.steps(),
        [
            Step::respond_to(
                "initialize",
                json!({
                    "userAgent": "fake/0.150.0 (Linux; x86_64)",
                    "codexHome": "/h",
                    "platformFamily": "windows",
                    "platformOs": "windows",
                })
            ),
            Step::expect("initialized"),
        ]
    );
}

/// The client's end of a raw in-process fake.
struct Client {
    connection: codexrt_transport::Connection,
}

impl Client {
    async fn send(&self, message: Value) {
        self.connection
            .sender
            .send(Bytes::from(message.to_string()))
            .await
            .unwrap();
    }

    async fn recv(&mut self) -> Option<Bytes> {
        tokio::time::timeout(Duration::from_secs(10), self.connection.receiver.recv())
            .await
            .unwrap()
            .map(Result::unwrap)
    }
}

#[tokio::test]
async fn faults_reach_the_wire_as_scripted() {
    let script = FakeScript::new().steps([
        Step::expect("a"),
        Step::Garbage {
            line: "not json".to_owned(),
        },
        Step::expect("b"),
        Step::expect("c"),
        Step::Reorder {
            earlier: json!("for b"),
            later: json!("for c"),
        },
        Step::DuplicateResponse {
            result: json!("for a"),
        },
        Step::expect("d"),
        Step::Truncated { bytes: 9 },
    ]);
    let (connection, fake) = FakeServer::new(script).connect();
    let mut client = Client { connection };
    client.send(json!({"id": 1, "method": "a"})).await;
    assert_eq!(client.recv().await.unwrap(), "not json");
    client.send(json!({"id": 2, "method": "b"})).await;
    client.send(json!({"id": 3, "method": "c"})).await;
    assert_eq!(client.recv().await.unwrap(), r#"{"id":3,"result":"for c"}"#);
    assert_eq!(client.recv().await.unwrap(), r#"{"id":2,"result":"for b"}"#);
    assert_eq!(client.recv().await.unwrap(), r#"{"id":1,"result":"for a"}"#);
    assert_eq!(client.recv().await.unwrap(), r#"{"id":1,"result":"for a"}"#);
    client.send(json!({"id": "x", "method": "d"})).await;
    assert_eq!(client.recv().await.unwrap(), r#"{"id":"x""#);
    assert_eq!(client.recv().await, None);
    let report = client.connection.closer.closed().await;
    assert!(matches!(report.reason, CloseReason::ProcessExited));
    assert_eq!(report.exit.and_then(|status| status.code()), Some(0));
    let log = fake.finished().await;
    assert_eq!(log.methods(), ["a", "b", "c", "d"]);
    // `truncated` ends the run by design, so it counts as done.
    assert_eq!(log.steps_completed, 8);
    assert!(log.completed());
    assert_eq!(log.failure, None);
}

#[tokio::test]
async fn an_unexpected_message_fails_the_step_and_says_why() {
    let script = FakeScript::new()
        .step(Step::expect("thread/start"))
        .step(Step::respond(json!({})));
    let (connection, fake) = FakeServer::new(script).connect();
    let mut client = Client { connection };
    client.send(json!({"id": 1, "method": "turn/start"})).await;
    assert_eq!(client.recv().await, None);
    let report = client.connection.closer.closed().await;
    assert_eq!(report.exit.and_then(|status| status.code()), Some(70));
    let expected = "fake app-server: step 1 (expect `thread/start`): expected `thread/start`, \
                    got request `turn/start` (id 1): {\"id\":1,\"method\":\"turn/start\"}";
    assert_eq!(report.stderr_tail.trim_end(), expected);
    let log = fake.finished().await;
    assert_eq!(
        log.failure.as_ref().map(ToString::to_string).as_deref(),
        expected.strip_prefix("fake app-server: ")
    );
    assert_eq!(
        log.received,
        [Frame::Json(json!({"id": 1, "method": "turn/start"}))]
    );
}

#[tokio::test(start_paused = true)]
async fn an_expect_times_out_instead_of_hanging() {
    let script = FakeScript::new()
        .expect_timeout(Duration::from_secs(3))
        .step(Step::expect("initialize"));
    let (connection, fake) = FakeServer::new(script).connect();
    let log = fake.finished().await;
    let failure = log.failure.unwrap();
    assert_eq!(failure.message, "nothing received within 3000 ms");
    let report = connection.closer.closed().await;
    assert!(
        report
            .stderr_tail
            .contains("nothing received within 3000 ms")
    );
}
