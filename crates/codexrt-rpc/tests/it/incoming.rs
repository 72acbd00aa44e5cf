//! Inbound traffic: notifications in order, a full queue holding the peer
//! back without losing anything, a handler that routes on the loop while
//! answers keep flowing, malformed frames reported without harm.

use std::time::Duration;

use bytes::Bytes;
use std::sync::{Arc, Mutex};

use codexrt_rpc::{
    InboundHandler, Incoming, IncomingRequest, Malformation, MalformedFrame, RpcClient, RpcConfig,
    RpcError, RpcStats, UncheckedRequest,
};
use codexrt_transport::{CloseReport, memory};
use codexrt_transport::{Connection, FrameError};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::support::{Server, XorShift, eventually, next, start, with};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_holds_the_peer_back_and_loses_nothing() {
    const TICKS: u64 = 1000;
    let (client, mut incoming, mut server) = start(RpcConfig::new().incoming_capacity(4));
    let sender = server.sender.clone();
    // Far more than the queue and the transport hold: the sender is held
    // back until the reader catches up.
    let writer = tokio::spawn(async move {
        for n in 0..TICKS {
            let frame = format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#);
            sender.send(Bytes::from(frame)).await.unwrap();
        }
        sender
            .send(Bytes::from(r#"{"id":"r1","method":"approve"}"#))
            .await
            .unwrap();
        sender.send(Bytes::from("garbage")).await.unwrap();
    });
    // The answer to a call comes behind everything else, so it waits for
    // the reader too.
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<String>("m", ()).await }
    });
    let request = server.recv_json().await;
    let answer = json!({ "id": request["id"], "result": "done" });
    let answering = tokio::spawn(async move {
        writer.await.unwrap();
        server.send_json(&answer).await;
        server
    });

    for n in 0..TICKS {
        if n % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(notification_number(next(&mut incoming).await), n);
    }
    match next(&mut incoming).await {
        Incoming::Request(request) => assert_eq!(request.method(), "approve"),
        other => panic!("expected the request, got {other:?}"),
    }
    assert!(matches!(next(&mut incoming).await, Incoming::Malformed(_)));
    assert_eq!(call.await.unwrap().unwrap(), "done");
    let _server = answering.await.unwrap();
    // The request's responder was dropped, which answers it with an error;
    // nothing was dropped or refused for lack of room.
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        })
    );
}

/// A handler that keeps what it is given, for the test to look at.
#[derive(Clone, Default)]
struct Keeper {
    seen: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<Vec<IncomingRequest>>>,
}

impl InboundHandler for Keeper {
    fn notification(&mut self, method: &str, params: Option<&RawValue>) {
        let params = params.map_or("", RawValue::get);
        self.seen.lock().unwrap().push(format!("{method} {params}"));
    }

    fn request(&mut self, request: IncomingRequest) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("request {}", request.method()));
        self.requests.lock().unwrap().push(request);
    }

    fn malformed(&mut self, frame: MalformedFrame) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("malformed {}", frame.len));
    }

    fn closed(&mut self, report: &Arc<CloseReport>) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("closed {}", report.reason));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_takes_everything_in_order_and_answers_are_never_held_back() {
    const TICKS: u64 = 100_000;
    let (client_side, server_side) = memory::pair(64);
    let keeper = Keeper::default();
    let client = RpcClient::start_with_handler(client_side, RpcConfig::new(), keeper.clone());
    let mut server = Server::new(server_side);
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64>("after-the-flood", ()).await }
    });
    let request = server.recv_json().await;
    for n in 0..TICKS {
        server
            .send(format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#))
            .await;
    }
    server
        .send(r#"{"id":7,"method":"approve","params":[1]}"#)
        .await;
    server.send("garbage").await;
    server
        .send_json(&json!({ "id": request["id"], "result": TICKS }))
        .await;
    assert_eq!(call.await.unwrap().unwrap(), TICKS);
    // The request reached the handler before the answer was read, and it
    // can be answered from there.
    let approve = keeper.requests.lock().unwrap().pop().unwrap();
    assert_eq!(approve.params().map(RawValue::get), Some("[1]"));
    approve.into_parts().1.respond("yes").unwrap();
    assert_eq!(
        server.recv_json().await,
        json!({ "id": 7, "result": "yes" })
    );
    drop(server);
    eventually("the handler hears of the close", || {
        keeper
            .seen
            .lock()
            .unwrap()
            .last()
            .is_some_and(|last| last.starts_with("closed"))
    })
    .await;
    let seen = keeper.seen.lock().unwrap().clone();
    let mut expected: Vec<String> = (0..TICKS).map(|n| format!(r#"tick {{"n":{n}}}"#)).collect();
    expected.push("request approve".to_owned());
    expected.push("malformed 7".to_owned());
    assert_eq!(seen.len(), expected.len() + 1);
    assert_eq!(seen[..expected.len()], expected[..]);
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        })
    );
}

/// A [`Keeper`] that also takes notifications and requests unchecked, as
/// a handler that decodes their params does: only those of the method
/// `take` whose params are one JSON value. It answers the requests it
/// takes with `"taken"`.
#[derive(Clone, Default)]
struct Decoder(Keeper);

impl InboundHandler for Decoder {
    fn unchecked_notification(&mut self, method: &str, params: &[u8]) -> bool {
        let one_value = std::str::from_utf8(params)
            .is_ok_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok());
        let taken = method == "take" && one_value;
        let params = String::from_utf8_lossy(params);
        self.0
            .seen
            .lock()
            .unwrap()
            .push(format!("unchecked {method} {params} {taken}"));
        taken
    }

    fn unchecked_request<'a>(
        &mut self,
        request: UncheckedRequest<'a>,
    ) -> Option<UncheckedRequest<'a>> {
        let params = request.params();
        let one_value = std::str::from_utf8(params)
            .is_ok_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok());
        let taken = request.method() == "take" && one_value;
        self.0.seen.lock().unwrap().push(format!(
            "unchecked request {} {} {} {taken}",
            request.id(),
            request.method(),
            String::from_utf8_lossy(params)
        ));
        if !taken {
            return Some(request);
        }
        request.into_responder().respond("taken").unwrap();
        None
    }

    fn notification(&mut self, method: &str, params: Option<&RawValue>) {
        self.0.notification(method, params);
    }

    fn request(&mut self, request: IncomingRequest) {
        self.0.request(request);
    }

    fn malformed(&mut self, frame: MalformedFrame) {
        self.0.malformed(frame);
    }

    fn closed(&mut self, report: &Arc<CloseReport>) {
        self.0.closed(report);
    }
}

#[tokio::test]
async fn a_message_not_taken_unchecked_goes_the_usual_way() {
    let (client_side, server_side) = memory::pair(64);
    let decoder = Decoder::default();
    let client = RpcClient::start_with_handler(client_side, RpcConfig::new(), decoder.clone());
    let mut server = Server::new(server_side);
    for frame in [
        r#"{"method":"take","params":{"a":1}}"#,
        r#"{"method":"leave","params":{"a":2}}"#,
        r#"{"method":"take","params":{"a":3},"jsonrpc":"2.0"}"#,
        r#"{"method":"take","params":{"a":4}}}"#,
        r#"{"id":5,"method":"take","params":{"a":5}}"#,
        r#"{"id":"six","method":"leave","params":{"a":6}}"#,
        r#"{"id":7,"method":"take","params":{"a":7}}}"#,
        r#"{"id":8.5,"method":"take","params":{"a":8}}"#,
        r#"{"method":"take","params":null}"#,
    ] {
        server.send(frame).await;
    }
    // The request taken unchecked is answered by its one responder; the
    // one given back goes the usual way, and its responder sends nothing:
    // the next reply is the one the test sends for it.
    assert_eq!(
        server.recv_json().await,
        json!({"id": 5, "result": "taken"})
    );
    eventually("the request given back is handed over", || {
        !decoder.0.requests.lock().unwrap().is_empty()
    })
    .await;
    let six = decoder.0.requests.lock().unwrap().remove(0);
    assert_eq!(six.params().map(RawValue::get), Some(r#"{"a":6}"#));
    six.into_parts().1.respond("usual").unwrap();
    assert_eq!(
        server.recv_json().await,
        json!({"id": "six", "result": "usual"})
    );
    drop(server);
    eventually("the handler hears of the close", || {
        let seen = decoder.0.seen.lock().unwrap();
        seen.last().is_some_and(|last| last.starts_with("closed"))
    })
    .await;
    let seen = decoder.0.seen.lock().unwrap().clone();
    let expected = [
        r#"unchecked take {"a":1} true"#,
        r#"unchecked leave {"a":2} false"#,
        r#"leave {"a":2}"#,
        r#"unchecked take {"a":3},"jsonrpc":"2.0" false"#,
        r#"take {"a":3}"#,
        r#"unchecked take {"a":4}} false"#,
        "malformed 35",
        r#"unchecked request 5 take {"a":5} true"#,
        r#"unchecked request "six" leave {"a":6} false"#,
        "request leave",
        r#"unchecked request 7 take {"a":7}} false"#,
        "malformed 42",
        // An id that is no integer: parsed in full, and refused there.
        "malformed 43",
        "take ",
    ];
    assert_eq!(seen[..expected.len()], expected[..]);
    assert_eq!(seen.len(), expected.len() + 1);
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 3
        })
    );
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
async fn items_queued_at_close_still_reach_a_reader() {
    let (_client, mut incoming, server) = start(RpcConfig::new().incoming_capacity(4));
    let sender = server.sender.clone();
    let writer = tokio::spawn(async move {
        for n in 0..6 {
            let frame = format!(r#"{{"method":"tick","params":{{"n":{n}}}}}"#);
            sender.send(Bytes::from(frame)).await.unwrap();
        }
    });
    writer.await.unwrap();
    drop(server);
    for n in 0..6 {
        assert_eq!(notification_number(next(&mut incoming).await), n);
    }
    assert!(incoming.recv().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_100_000_deep_neither_overflows_the_stack_nor_stops_the_connection() {
    const DEPTH: usize = 100_000;
    let deep = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let (client, mut incoming, mut server) = start(RpcConfig::new());

    // A whole frame nested that deep is no message.
    server.send(deep.clone()).await;
    match next(&mut incoming).await {
        Incoming::Malformed(report) => assert_eq!(
            (report.problem, report.len),
            (Malformation::NotAnObject, 2 * DEPTH)
        ),
        other => panic!("expected a malformed-frame report, got {other:?}"),
    }
    // Params that deep are handed on raw, untouched.
    server
        .send(format!(r#"{{"method":"deep","params":{deep}}}"#))
        .await;
    match next(&mut incoming).await {
        Incoming::Notification(n) => assert_eq!(
            (n.method.as_str(), n.params.map(|p| p.get() == deep)),
            ("deep", Some(true))
        ),
        other => panic!("expected a notification, got {other:?}"),
    }
    // A result that deep fails to decode its call, and the next call works.
    let (result, ()) = tokio::join!(
        client.call::<Value>("deep", ()),
        answer_with(&mut server, &deep)
    );
    match result {
        Err(RpcError::Decode { method, source }) => assert_eq!(
            (method.as_str(), source.to_string()),
            (
                "deep",
                "recursion limit exceeded at line 1 column 128".to_owned()
            )
        ),
        other => panic!("expected a decode error, got {other:?}"),
    }
    let (result, ()) = tokio::join!(
        client.call::<u8>("alive", ()),
        answer_with(&mut server, "1")
    );
    assert_eq!(result.unwrap(), 1);
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        })
    );
}

/// Answers the next call with `result`, raw JSON text.
async fn answer_with(server: &mut Server, result: &str) {
    let request = server.recv_json().await;
    server
        .send(format!(r#"{{"id":{},"result":{result}}}"#, request["id"]))
        .await;
}
