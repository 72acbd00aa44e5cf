//! What goes on the wire: the `jsonrpc` member and single-line frames.

use codexrt_rpc::{CallOptions, Incoming, JsonRpcField, RpcConfig};
use serde_json::json;
use serde_json::value::RawValue;

use crate::support::start;

#[tokio::test]
async fn the_jsonrpc_member_is_omitted_by_default() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let call = client.call::<u8>("m", [1]);
    let answer = async {
        assert_eq!(server.recv().await, r#"{"id":1,"method":"m","params":[1]}"#);
        // Either shape is accepted inbound.
        server.send(r#"{"jsonrpc":"2.0","id":1,"result":5}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 5);
    client.notify("initialized", ()).await.unwrap();
    assert_eq!(server.recv().await, r#"{"method":"initialized"}"#);
}

#[tokio::test]
async fn the_jsonrpc_member_is_included_when_configured() {
    let config = RpcConfig::new().jsonrpc_field(JsonRpcField::Include);
    let (client, mut incoming, mut server) = start(config);
    let call = client.call::<u8>("m", ());
    let answer = async {
        assert_eq!(
            server.recv().await,
            r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#
        );
        server.send(r#"{"id":1,"result":5}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 5);
    client.notify("n", json!({ "a": null })).await.unwrap();
    assert_eq!(
        server.recv().await,
        r#"{"jsonrpc":"2.0","method":"n","params":{"a":null}}"#
    );

    server.send(r#"{"id":"x","method":"approve"}"#).await;
    match crate::support::next(&mut incoming).await {
        codexrt_rpc::Incoming::Request(request) => request.into_parts().1.respond(true).unwrap(),
        other => panic!("expected a server request, got {other:?}"),
    }
    assert_eq!(
        server.recv().await,
        r#"{"jsonrpc":"2.0","id":"x","result":true}"#
    );
}

#[tokio::test]
async fn a_pretty_printed_raw_param_is_sent_as_one_line() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let value = json!({ "text": "two\nlines", "list": [1, { "deep": true }] });
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert!(pretty.contains('\n'));
    let params = RawValue::from_string(pretty.replace('\n', "\r\n")).unwrap();
    let call = client.call_raw("m", &params, CallOptions::new());
    let answer = async {
        let frame = server.recv().await;
        assert!(
            !frame.contains(&b'\n') && !frame.contains(&b'\r'),
            "{frame:?}"
        );
        let request: serde_json::Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(request, json!({ "id": 1, "method": "m", "params": value }));
        server.send(r#"{"id":1,"result":null}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap().get(), "null");
}

/// A byte order mark before a frame (the first one, or every one, as some
/// wrappers write it) is skipped; one inside a frame is still invalid JSON.
#[tokio::test]
async fn a_byte_order_mark_at_the_start_of_a_frame_is_skipped() {
    let (client, mut incoming, mut server) = start(RpcConfig::new());
    let call = client.call::<u8>("m", ());
    let answer = async {
        server.recv().await;
        server
            .send(&b"\xEF\xBB\xBF{\"id\":1,\"result\":5}"[..])
            .await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 5);
    server
        .send(&b"\xEF\xBB\xBF{\"method\":\"n\",\"params\":[1]}"[..])
        .await;
    server.send(&b"{\"method\":\xEF\xBB\xBF\"n\"}"[..]).await;
    match incoming.recv().await {
        Some(Incoming::Notification(notification)) => {
            assert_eq!(
                (
                    notification.method.as_str(),
                    notification.params.map(|p| p.get().to_owned())
                ),
                ("n", Some("[1]".to_owned()))
            );
        }
        other => panic!("expected the notification, got {other:?}"),
    }
    assert!(
        matches!(incoming.recv().await, Some(Incoming::Malformed(_))),
        "a mark inside a frame is malformed"
    );
    assert_eq!(client.stats().malformed_frames, 1);
}
