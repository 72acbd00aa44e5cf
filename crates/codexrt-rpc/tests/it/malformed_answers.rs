//! Answers that name a call but cannot be read: the call fails at once with
//! the report, which observers still receive and the stats still count.

use codexrt_rpc::{
    CallOptions, Incoming, Malformation, MalformedFrame, RpcConfig, RpcError, RpcStats,
};
use serde_json::{Value, json};

use crate::support::{PATIENCE, eventually, next, start, with};

/// Unreadable answers to the call with id 1, and what is wrong with each.
fn unreadable_answers() -> [(&'static [u8], Malformation); 6] {
    let invalid = |message: &str| Malformation::InvalidMember(message.to_owned());
    [
        (
            br#"{"id":1,"error":{"code":1}}"#,
            invalid("missing field `message` at line 1 column 26"),
        ),
        (
            br#"{"id":1,"result":1,"error":{"code":1,"message":"x"}}"#,
            Malformation::ResultAndError,
        ),
        (br#"{"id":1}"#, Malformation::NoOutcome),
        (
            br#"{"id":1,"error":"boom"}"#,
            invalid(
                "invalid type: string \"boom\", expected struct ErrorObject at line 1 column 22",
            ),
        ),
        // The parse fails before it reaches the id.
        (
            br#"{"error":{"message":"m"},"id":1}"#,
            invalid("missing field `code` at line 1 column 24"),
        ),
        (
            b"{\"id\":1,\"result\":\"\xff\"}",
            Malformation::Syntax("invalid unicode code point at line 1 column 19".to_owned()),
        ),
    ]
}

/// The public fields of a report, for whole-value comparisons (the struct is
/// `#[non_exhaustive]`).
fn fields(report: &MalformedFrame) -> (Malformation, usize, String) {
    (report.problem.clone(), report.len, report.excerpt.clone())
}

/// Answers a fresh client's first call with `frame` and checks that the call
/// fails promptly with `problem`, that the same report is delivered, and that
/// it is counted once.
async fn check(frame: &'static [u8], problem: Malformation, options: CallOptions) {
    let context = String::from_utf8_lossy(frame).into_owned();
    let (client, mut incoming, mut server) = start(RpcConfig::new());
    let call = client.call_with::<Value>("m", (), options);
    let answer = async {
        assert_eq!(server.recv_json().await["id"], 1);
        server.send(frame).await;
    };
    // Far shorter than the default call timeout: the call must not wait it out.
    let (result, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(call, answer) })
        .await
        .unwrap_or_else(|_| panic!("the call still waits after {context}"));
    let report = match result {
        Err(RpcError::MalformedResponse { method, frame }) => {
            assert_eq!(method, "m", "{context}");
            frame
        }
        other => panic!("expected a malformed-response error for {context}, got {other:?}"),
    };
    assert_eq!(
        fields(&report),
        (problem, frame.len(), context.clone()),
        "{context}"
    );
    match next(&mut incoming).await {
        Incoming::Malformed(delivered) => assert_eq!(delivered, report, "{context}"),
        other => panic!("expected a malformed-frame report for {context}, got {other:?}"),
    }
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        }),
        "{context}"
    );
    assert!(incoming.try_recv().is_none(), "{context}");
}

#[tokio::test]
async fn each_unreadable_answer_fails_its_call_at_once() {
    for (frame, problem) in unreadable_answers() {
        check(frame, problem, CallOptions::new()).await;
    }
}

#[tokio::test]
async fn an_unreadable_answer_fails_a_call_without_a_timeout() {
    for (frame, problem) in unreadable_answers() {
        check(frame, problem, CallOptions::new().no_timeout()).await;
    }
}

#[tokio::test]
async fn an_unrelated_pending_call_is_unaffected() {
    let (client, mut incoming, mut server) = start(RpcConfig::new().no_call_timeout());
    let spawn_call = |method: &'static str| {
        let client = client.clone();
        tokio::spawn(async move { client.call::<Value>(method, ()).await })
    };
    let first = spawn_call("first");
    let second = spawn_call("second");
    // The tasks may run in either order, so the ids are looked up by method.
    let requests = [server.recv_json().await, server.recv_json().await];
    let id_of = |method: &str| {
        let request = requests.iter().find(|r| r["method"] == method).unwrap();
        request["id"].as_i64().unwrap()
    };
    let (first_id, second_id) = (id_of("first"), id_of("second"));

    server
        .send(format!(
            r#"{{"id":{first_id},"result":1,"error":{{"code":1,"message":"x"}}}}"#
        ))
        .await;
    let failed = tokio::time::timeout(PATIENCE, first)
        .await
        .unwrap()
        .unwrap();
    match failed {
        Err(RpcError::MalformedResponse { method, frame }) => {
            assert_eq!(
                (method.as_str(), frame.problem),
                ("first", Malformation::ResultAndError)
            );
        }
        other => panic!("expected a malformed-response error, got {other:?}"),
    }
    // The string id "2" is not the integer id 2: it names no call.
    server.send(format!(r#"{{"id":"{second_id}"}}"#)).await;
    eventually("both frames are counted", || {
        client.stats().malformed_frames == 2
    })
    .await;
    assert!(!second.is_finished());
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            pending_calls: 1,
            malformed_frames: 2
        })
    );

    server
        .send_json(&json!({ "id": second_id, "result": "fine" }))
        .await;
    assert_eq!(second.await.unwrap().unwrap(), "fine");
    for problem in [Malformation::ResultAndError, Malformation::NoOutcome] {
        match next(&mut incoming).await {
            Incoming::Malformed(report) => assert_eq!(report.problem, problem),
            other => panic!("expected a malformed-frame report, got {other:?}"),
        }
    }
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 2
        })
    );
}

#[tokio::test]
async fn unreadable_answers_to_no_waiting_call_are_only_counted() {
    let config = RpcConfig::new().call_timeout(std::time::Duration::from_millis(20));
    let (client, mut incoming, mut server) = start(config);
    let err = client.call::<Value>("slow", ()).await.unwrap_err();
    assert!(matches!(err, RpcError::Timeout { .. }), "{err:?}");
    eventually("the timed-out call is forgotten", || {
        client.stats().pending_calls == 0
    })
    .await;

    let call = client.call::<String>("quick", ());
    let script = async {
        assert_eq!(server.recv_json().await["id"], 1);
        assert_eq!(server.recv_json().await["id"], 2);
        // Late: it answers the abandoned call 1, and ends it.
        server.send(r#"{"id":1}"#).await;
        // So a readable answer for it is unmatched.
        server.send(r#"{"id":1,"result":1}"#).await;
        // No call ever had this id.
        server.send(r#"{"id":999,"error":"boom"}"#).await;
        server.send(r#"{"id":2,"result":"now"}"#).await;
        // Call 2 already has its answer.
        server.send(r#"{"id":2}"#).await;
    };
    let (result, ()) = tokio::join!(call, script);
    assert_eq!(result.unwrap(), "now");
    // Answered after the strays, so they have been processed.
    let call = client.call::<u8>("sync", ());
    let answer = async {
        assert_eq!(server.recv_json().await["id"], 3);
        server.send(r#"{"id":3,"result":3}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 3);

    let expected = [
        Malformation::NoOutcome,
        Malformation::InvalidMember(
            "invalid type: string \"boom\", expected struct ErrorObject at line 1 column 24"
                .to_owned(),
        ),
        Malformation::NoOutcome,
    ];
    for problem in expected {
        match next(&mut incoming).await {
            Incoming::Malformed(report) => assert_eq!(report.problem, problem),
            other => panic!("expected a malformed-frame report, got {other:?}"),
        }
    }
    assert!(incoming.try_recv().is_none());
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            late_responses: 1,
            unmatched_responses: 1,
            malformed_frames: 3
        })
    );
}

#[tokio::test]
async fn the_caller_learns_of_an_unreadable_answer_even_when_reports_are_not_read() {
    let (client, incoming, mut server) = start(RpcConfig::new());
    drop(incoming);
    let call = client.call::<Value>("m", ());
    let answer = async {
        assert_eq!(server.recv_json().await["id"], 1);
        server.send(r#"{"id":1,"error":"boom"}"#).await;
    };
    let (result, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(call, answer) })
        .await
        .unwrap();
    match result {
        Err(RpcError::MalformedResponse { method, frame }) => {
            assert_eq!(
                (method.as_str(), fields(&frame)),
                (
                    "m",
                    (
                        Malformation::InvalidMember(
                            "invalid type: string \"boom\", expected struct ErrorObject at line 1 column 22"
                                .to_owned()
                        ),
                        23,
                        r#"{"id":1,"error":"boom"}"#.to_owned()
                    )
                )
            );
        }
        other => panic!("expected a malformed-response error, got {other:?}"),
    }
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1,
            dropped_malformed: 1
        })
    );
}
