//! Inbound traffic: notifications in order, overflow turned into `Lagged`,
//! malformed frames reported without harm.

use std::time::Duration;

use bytes::Bytes;
use codexrt_rpc::{Incoming, LagReport, Malformation, RpcClient, RpcConfig, RpcStats};
use codexrt_transport::{Connection, FrameError};
use serde_json::{Value, json};

use crate::support::{XorShift, eventually, next, start, with};

fn notification_number(item: Incoming) -> u64 {
    match item {
        Incoming::Notification(n) => {
            assert_eq!(n.method, "tick");
            let params: Value = serde_json::from_str(n.params.unwrap().get()).unwrap();
            params["n"].as_u64().unwrap()
        }
        other => panic!("expected a notification, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_arrive_in_order_to_a_slow_consumer_while_calls_complete() {
    const NOTIFICATIONS: u64 = 2000;
    const CALLS: u64 = 20;
    let (client, mut incoming, server) = start(RpcConfig::new());
    let mut server = server;
    let sender = server.sender.clone();
    // Answers every call as soon as it arrives.
    let answerer = tokio::spawn(async move {
        for _ in 0..CALLS {
            let request = server.recv_json().await;
            server
                .send_json(&json!({ "id": request["id"], "result": request["params"] }))
                .await;
        }
        // Dropping the server would close the connection.
        server
    });
    let notifier = tokio::spawn(async move {
        for n in 0..NOTIFICATIONS {
            let frame = format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#);
            sender.send(Bytes::from(frame)).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut seen = Vec::new();
        for n in 0..NOTIFICATIONS {
            if n % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            seen.push(notification_number(next(&mut incoming).await));
        }
        seen
    });
    for n in 0..CALLS {
        assert_eq!(client.call::<u64>("echo", n).await.unwrap(), n);
    }
    let _server = answerer.await.unwrap();
    notifier.await.unwrap();
    assert_eq!(
        consumer.await.unwrap(),
        (0..NOTIFICATIONS).collect::<Vec<_>>()
    );
    assert_eq!(client.stats(), RpcStats::default());
}

#[tokio::test]
async fn a_full_queue_does_not_stall_calls_and_overflow_is_reported_as_lagged() {
    let (client, mut incoming, mut server) = start(RpcConfig::new().incoming_capacity(4));
    for n in 0..10 {
        server
            .send(format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#))
            .await;
    }
    server.send(r#"{"id":"r1","method":"approve"}"#).await;
    server.send("garbage").await;

    // Nobody reads the incoming queue, yet the call completes.
    let call = client.call::<String>("m", ());
    let answer = async {
        // The overflowing server request is refused at once. The refusal and
        // the call are written by different tasks, so either may come first.
        let mut refusals = 0;
        for _ in 0..2 {
            let frame = server.recv_json().await;
            if frame["id"] == "r1" {
                let refusal = json!({ "id": "r1", "error": { "code": -32001, "message": "client overloaded" } });
                assert_eq!(frame, refusal);
                refusals += 1;
            } else {
                server
                    .send_json(&json!({ "id": frame["id"], "result": "done" }))
                    .await;
            }
        }
        assert_eq!(refusals, 1);
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), "done");

    for n in 0..4 {
        assert_eq!(notification_number(next(&mut incoming).await), n);
    }
    server.send(r#"{"method":"tick","params":{"n":100}}"#).await;
    match next(&mut incoming).await {
        Incoming::Lagged(lag) => {
            assert_eq!(
                lag,
                with!(LagReport {
                    notifications: 6,
                    requests: 1,
                    malformed: 1
                })
            );
        }
        other => panic!("expected a lag report, got {other:?}"),
    }
    assert_eq!(notification_number(next(&mut incoming).await), 100);
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            dropped_notifications: 6,
            overloaded_requests: 1,
            malformed_frames: 1,
            dropped_malformed: 1,
        })
    );
    assert!(incoming.try_recv().is_none());
}

#[tokio::test]
async fn malformed_frames_are_reported_and_the_connection_keeps_working() {
    let (client, mut incoming, mut server) = start(RpcConfig::new());
    server.send("garbage").await;
    server.send(r#"{"id":null,"result":1}"#).await;
    server.send(&b"{\"method\":\"\xff\"}"[..]).await;
    server.send(r#"{"method":"fine"}"#).await;

    let call = client.call::<bool>("m", ());
    let answer = async {
        let request = server.recv_json().await;
        server
            .send_json(&json!({ "id": request["id"], "result": true }))
            .await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert!(result.unwrap());

    let expected = [
        (
            Malformation::Syntax("expected value at line 1 column 1".into()),
            7,
            "garbage".to_owned(),
        ),
        (
            Malformation::NullId,
            22,
            r#"{"id":null,"result":1}"#.to_owned(),
        ),
        (
            Malformation::Syntax("invalid unicode code point at line 1 column 12".into()),
            14,
            "{\"method\":\"\u{fffd}\"}".to_owned(),
        ),
    ];
    for expected in expected {
        match next(&mut incoming).await {
            Incoming::Malformed(report) => {
                assert_eq!((report.problem, report.len, report.excerpt), expected)
            }
            other => panic!("expected a malformed-frame report, got {other:?}"),
        }
    }
    match next(&mut incoming).await {
        Incoming::Notification(n) => {
            assert_eq!((n.method.as_str(), n.params.is_none()), ("fine", true))
        }
        other => panic!("expected a notification, got {other:?}"),
    }
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 3
        })
    );
}

#[tokio::test]
async fn frames_the_transport_skipped_are_reported() {
    let (connection, endpoint) = Connection::channel(8);
    let (client, mut incoming) = RpcClient::start(connection, RpcConfig::new());
    let too_long = || FrameError::TooLong {
        max_len: 8,
        seen: 9,
        prefix: Bytes::from_static(br#"{"id":1,"r"#),
    };
    endpoint.inbound.send(Err(too_long())).await.unwrap();
    endpoint
        .inbound
        .send(Ok(Bytes::from_static(br#"{"method":"after"}"#)))
        .await
        .unwrap();
    match next(&mut incoming).await {
        Incoming::Malformed(report) => {
            assert_eq!(
                (report.problem, report.len, report.excerpt),
                (Malformation::Transport(too_long()), 0, String::new())
            );
        }
        other => panic!("expected a malformed-frame report, got {other:?}"),
    }
    assert!(matches!(next(&mut incoming).await, Incoming::Notification(n) if n.method == "after"));
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        })
    );
}

/// A frame that is not a valid message, chosen by `rng`.
fn garbage(rng: &mut XorShift) -> Vec<u8> {
    const SHAPES: [&[u8]; 12] = [
        b"",
        b"garbage",
        b"{",
        b"[1,2,3]",
        b"null",
        b"{}",
        br#"{"id":null,"result":1}"#,
        br#"{"id":1,"result":1,"error":{"code":1,"message":"x"}}"#,
        br#"{"id":true,"method":"m"}"#,
        br#"{"id":1}"#,
        b"{\"method\":\"\xff\xfe\"}",
        br#"{"method":"m","result":2}"#,
    ];
    let choice = rng.below(SHAPES.len() + 1);
    match SHAPES.get(choice) {
        Some(shape) => shape.to_vec(),
        // Random bytes that start like an object but never end like one.
        None => {
            let mut frame = b"{\"".to_vec();
            frame.extend((0..rng.below(300)).map(|_| (rng.next() & 0xff) as u8));
            frame
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_garbage_frames_between_ten_thousand_notifications() {
    const EACH: u64 = 10_000;
    // Big enough that nothing overflows however slowly the test reads.
    let config = RpcConfig::new().incoming_capacity(2 * 10_000 + 16);
    let (client, mut incoming, server) = start(config);
    let sender = server.sender.clone();
    let writer = tokio::spawn(async move {
        let mut rng = XorShift::new(42);
        for n in 0..EACH {
            sender.send(Bytes::from(garbage(&mut rng))).await.unwrap();
            let frame = format!(r#"{{"method":"tick","params":{{"n":{n}}},"emittedAtMs":{n}}}"#);
            sender.send(Bytes::from(frame)).await.unwrap();
        }
    });
    let mut notifications = Vec::new();
    let mut malformed = 0;
    for _ in 0..2 * EACH {
        match next(&mut incoming).await {
            Incoming::Notification(n) => {
                notifications.push(notification_number(Incoming::Notification(n)))
            }
            Incoming::Malformed(_) => malformed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(notifications, (0..EACH).collect::<Vec<_>>());
    assert_eq!(malformed, EACH);
    eventually("every frame is counted", || {
        client.stats().malformed_frames == EACH
    })
    .await;
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: EACH
        })
    );

    // The loop survived: a call still completes.
    let mut server = server;
    let call = client.call::<u8>("alive", ());
    let answer = async {
        let request = server.recv_json().await;
        server
            .send_json(&json!({ "id": request["id"], "result": 1 }))
            .await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 1);
}

#[tokio::test]
async fn without_a_receiver_requests_are_refused_and_notifications_discarded() {
    let (client, incoming, mut server) = start(RpcConfig::new());
    drop(incoming);
    server.send(r#"{"method":"tick"}"#).await;
    server.send("garbage").await;
    server.send(r#"{"id":5,"method":"approve"}"#).await;
    assert_eq!(
        server.recv_json().await,
        json!({ "id": 5, "error": { "code": -32601, "message": "method not found" } })
    );
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            dropped_notifications: 1,
            unhandled_requests: 1,
            malformed_frames: 1,
            dropped_malformed: 1,
        })
    );
}

#[tokio::test]
async fn a_lag_report_pending_at_close_still_reaches_a_reader() {
    let (client, mut incoming, server) = start(RpcConfig::new().incoming_capacity(4));
    for n in 0..6 {
        server
            .send(format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#))
            .await;
    }
    // The queue is full with four ticks and two were dropped when the peer
    // goes away; the report of the two must not be lost with the loop.
    eventually("the overflow is counted", || {
        client.stats().dropped_notifications == 2
    })
    .await;
    drop(server);
    for n in 0..4 {
        assert_eq!(notification_number(next(&mut incoming).await), n);
    }
    match next(&mut incoming).await {
        Incoming::Lagged(lag) => assert_eq!(
            lag,
            with!(LagReport {
                notifications: 2,
                requests: 0,
                malformed: 0
            })
        ),
        other => panic!("expected a lag report, got {other:?}"),
    }
    assert!(incoming.recv().await.is_none());
}
