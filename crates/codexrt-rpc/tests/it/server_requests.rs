//! Server requests: handed out with a responder that replies exactly once.

use std::collections::HashMap;

use bytes::Bytes;
use codexrt_rpc::{
    ErrorObject, Incoming, IncomingReceiver, IncomingRequest, RequestId, RpcClient, RpcConfig,
    RpcError, RpcStats,
};
use codexrt_transport::{CloseReason, CloseReport, Connection, Control};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::support::{Server, next, start, with};

async fn next_request(incoming: &mut IncomingReceiver) -> IncomingRequest {
    match next(incoming).await {
        Incoming::Request(request) => request,
        other => panic!("expected a server request, got {other:?}"),
    }
}

/// Reads replies until the reply to the `"sentinel"` request, which the test
/// answers last. The reply writer keeps order, so a second reply to any
/// earlier request would have come before it.
async fn replies_until_sentinel(
    server: &mut Server,
    incoming: &mut IncomingReceiver,
) -> Vec<Value> {
    server
        .send(r#"{"id":"sentinel","method":"sentinel"}"#)
        .await;
    next_request(incoming)
        .await
        .into_parts()
        .1
        .respond("end")
        .unwrap();
    let mut replies = Vec::new();
    loop {
        let reply = server.recv_json().await;
        if reply["id"] == "sentinel" {
            assert_eq!(reply, json!({ "id": "sentinel", "result": "end" }));
            return replies;
        }
        replies.push(reply);
    }
}

#[tokio::test]
async fn every_request_is_answered_exactly_once() {
    let (_client, mut incoming, mut server) = start(RpcConfig::new());
    server
        .send(r#"{"id":"s1","method":"approve","params":{"x": 1},"emittedAtMs":3}"#)
        .await;
    server.send(r#"{"id":7,"method":"approve"}"#).await;
    server
        .send(r#"{"id":8,"method":"approve","params":[]}"#)
        .await;
    server.send(r#"{"id":"9","method":"approve"}"#).await;

    let request = next_request(&mut incoming).await;
    assert_eq!(request.method(), "approve");
    assert_eq!(request.id(), &RequestId::String("s1".into()));
    assert_eq!(request.params().map(RawValue::get), Some(r#"{"x": 1}"#));
    let (_, responder) = request.into_parts();
    responder.respond(json!({ "decision": "accept" })).unwrap();

    let request = next_request(&mut incoming).await;
    assert_eq!(
        (request.id(), request.params().is_none()),
        (&RequestId::Integer(7), true)
    );
    let data = RawValue::from_string(r#"{ "why": "policy" }"#.into()).unwrap();
    request
        .into_parts()
        .1
        .respond_error(ErrorObject::new(-32000, "declined").with_data(data));

    let request = next_request(&mut incoming).await;
    assert_eq!(request.id(), &RequestId::Integer(8));
    drop(request);

    let request = next_request(&mut incoming).await;
    assert_eq!(request.id(), &RequestId::String("9".into()));
    let raw = RawValue::from_string("[1, 2]".into()).unwrap();
    request.into_parts().1.respond_raw(&raw);

    assert_eq!(
        replies_until_sentinel(&mut server, &mut incoming).await,
        [
            json!({ "id": "s1", "result": { "decision": "accept" } }),
            json!({ "id": 7, "error": { "code": -32000, "message": "declined", "data": { "why": "policy" } } }),
            json!({ "id": 8, "error": { "code": -32603, "message": "request dropped without a reply" } }),
            json!({ "id": "9", "result": [1, 2] }),
        ]
    );
}

#[tokio::test]
async fn string_and_integer_ids_are_echoed_exactly() {
    let (_client, mut incoming, mut server) = start(RpcConfig::new());
    server.send(r#"{"id":"1","method":"a"}"#).await;
    server.send(r#"{"id":1,"method":"b"}"#).await;
    server
        .send(r#"{"id":-9223372036854775808,"method":"c"}"#)
        .await;
    server.send(r#"{"id":"","method":"d"}"#).await;
    let mut requests = Vec::new();
    for _ in 0..4 {
        requests.push(next_request(&mut incoming).await);
    }
    // Answered in reverse, each with its own method name.
    for request in requests.into_iter().rev() {
        let (_, responder) = request.into_parts();
        let method = responder.method().to_owned();
        responder.respond(method).unwrap();
    }
    assert_eq!(
        replies_until_sentinel(&mut server, &mut incoming).await,
        [
            json!({ "id": "", "result": "d" }),
            json!({ "id": i64::MIN, "result": "c" }),
            json!({ "id": 1, "result": "b" }),
            json!({ "id": "1", "result": "a" }),
        ]
    );
}

#[tokio::test]
async fn a_result_that_cannot_be_encoded_is_answered_with_an_internal_error() {
    let (_client, mut incoming, mut server) = start(RpcConfig::new());
    server.send(r#"{"id":3,"method":"approve"}"#).await;
    let (_, responder) = next_request(&mut incoming).await.into_parts();
    let err = responder.respond(HashMap::from([((1, 2), 3)])).unwrap_err();
    assert!(
        matches!(&err, RpcError::Encode { method, .. } if method == "approve"),
        "{err:?}"
    );
    assert_eq!(
        replies_until_sentinel(&mut server, &mut incoming).await,
        [json!({ "id": 3, "error": { "code": -32603, "message": "failed to encode the reply" } })]
    );
}

#[tokio::test]
async fn too_many_unanswered_requests_are_refused_and_reported() {
    let config = RpcConfig::new().max_unanswered_requests(2);
    let (client, mut incoming, mut server) = start(config);
    for id in 1..=3 {
        server
            .send(format!(r#"{{"id":{id},"method":"approve"}}"#))
            .await;
    }
    assert_eq!(
        server.recv_json().await,
        json!({ "id": 3, "error": { "code": -32001, "message": "client overloaded" } })
    );
    let first = next_request(&mut incoming).await;
    let second = next_request(&mut incoming).await;
    assert_eq!(
        (first.id(), second.id()),
        (&RequestId::Integer(1), &RequestId::Integer(2))
    );

    server.send(r#"{"method":"next"}"#).await;
    assert!(matches!(next(&mut incoming).await, Incoming::Notification(n) if n.method == "next"));

    first.into_parts().1.respond(1).unwrap();
    second.into_parts().1.respond(2).unwrap();
    assert_eq!(server.recv_json().await, json!({ "id": 1, "result": 1 }));
    assert_eq!(server.recv_json().await, json!({ "id": 2, "result": 2 }));
    // Room again once the replies are written.
    server.send(r#"{"id":4,"method":"approve"}"#).await;
    let fourth = next_request(&mut incoming).await;
    assert_eq!(fourth.id(), &RequestId::Integer(4));
    fourth.into_parts().1.respond(4).unwrap();
    assert_eq!(server.recv_json().await, json!({ "id": 4, "result": 4 }));
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            overloaded_requests: 1
        })
    );
}

#[tokio::test]
async fn an_abandoned_request_gets_no_answer_and_frees_its_slot() {
    let (_client, mut incoming, mut server) = start(RpcConfig::new().max_unanswered_requests(1));
    server.send(r#"{"id":1,"method":"approve"}"#).await;
    next_request(&mut incoming).await.into_parts().1.abandon();
    // With the only slot free again, the next request gets a responder
    // instead of an overload refusal.
    server.send(r#"{"id":2,"method":"approve"}"#).await;
    next_request(&mut incoming)
        .await
        .into_parts()
        .1
        .respond("second")
        .unwrap();
    assert_eq!(
        server.recv_json().await,
        json!({ "id": 2, "result": "second" })
    );
    assert_eq!(
        replies_until_sentinel(&mut server, &mut incoming).await,
        Vec::<Value>::new()
    );
}

/// A transport that takes frames until it is told to shut down, and then
/// drops whatever it has not read yet, as a medium closed at once may.
/// Returns the frames it took.
fn strict_transport() -> (Connection, tokio::task::JoinHandle<Vec<Value>>) {
    let (connection, mut endpoint) = Connection::channel(8);
    let peer = tokio::spawn(async move {
        let mut taken = Vec::new();
        // Sent now so the client has a request to answer.
        let request = Bytes::from_static(br#"{"id":"last","method":"approve"}"#);
        endpoint.inbound.send(Ok(request)).await.unwrap();
        loop {
            tokio::select! {
                biased;
                control = endpoint.control.recv() => {
                    if let Some(Control::Shutdown { done, .. }) = control {
                        endpoint.report.publish(CloseReport::new(CloseReason::Shutdown));
                        done.finish(Ok(()));
                    }
                    return taken;
                }
                frame = endpoint.outbound.recv() => match frame {
                    Some(frame) => taken.push(serde_json::from_slice(&frame).unwrap()),
                    None => return taken,
                },
            }
        }
    });
    (connection, peer)
}

// On a single-threaded runtime the shutdown's control message would reach
// this transport before the reply writer's frame was read, were it not for
// the flush.
#[tokio::test(flavor = "current_thread")]
async fn a_reply_given_right_before_shutdown_reaches_the_transport_first() {
    let (connection, peer) = strict_transport();
    let (client, mut incoming) = RpcClient::start(connection, RpcConfig::new());
    let (_, responder) = next_request(&mut incoming).await.into_parts();
    responder.respond(json!({"decision": "decline"})).unwrap();
    client
        .shutdown(std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        peer.await.unwrap(),
        vec![json!({ "id": "last", "result": { "decision": "decline" } })]
    );
}
