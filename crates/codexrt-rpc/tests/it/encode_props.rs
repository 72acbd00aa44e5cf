//! Property test: every message the client writes (call, notification,
//! result, error reply) is exactly one line, whatever its method, id,
//! params or result hold, and says what was asked.

use bytes::{Bytes, BytesMut};
use codexrt_rpc::{CallOptions, ErrorObject, Incoming, JsonRpcField, RpcConfig};
use codexrt_transport::framing::LineDecoder;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::support::{Server, next, start};

/// Text with what could break a line: newlines, CRs, other control
/// characters, the Unicode line and paragraph separators, quotes and
/// backslashes, among any other characters.
fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\n', '\r', '\t', '\0', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}', '"', '\\', '\u{feff}',
    ]);
    proptest::collection::vec(prop_oneof![2 => special, 3 => any::<char>()], 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Any JSON value without floats (which serde_json does not read back
/// bit for bit without its `float_roundtrip` feature).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A value as params or result: typed, or as raw JSON that keeps the line
/// breaks of pretty printing, which only the encoder's own care keeps out
/// of the frame.
#[derive(Debug, Clone)]
struct Payload {
    value: Value,
    pretty: bool,
}

impl Payload {
    fn raw(&self) -> Box<RawValue> {
        let text = match self.pretty {
            true => serde_json::to_string_pretty(&self.value),
            false => serde_json::to_string(&self.value),
        };
        RawValue::from_string(text.unwrap()).unwrap()
    }
}

fn payload() -> impl Strategy<Value = Payload> {
    (json_value(), any::<bool>()).prop_map(|(value, pretty)| Payload { value, pretty })
}

fn request_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String)
    ]
}

#[derive(Debug, Clone)]
struct Case {
    jsonrpc: bool,
    method: String,
    notification: Payload,
    call: Payload,
    request_id: Value,
    result: Payload,
    error_code: i64,
    error_message: String,
    error_data: Option<Payload>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (any::<bool>(), text(), payload(), payload()),
        (request_id(), payload(), any::<i64>(), text()),
        proptest::option::of(payload()),
    )
        .prop_map(
            |(
                (jsonrpc, method, notification, call),
                (request_id, result, error_code, error_message),
                error_data,
            )| Case {
                jsonrpc,
                method,
                notification,
                call,
                request_id,
                result,
                error_code,
                error_message,
                error_data,
            },
        )
}

/// The frame's one line: no raw line break in it, and with the newline the
/// transport ends it with, newline framing reads exactly it back. Returns
/// the message.
fn one_line(frame: &Bytes) -> Value {
    assert!(
        !frame.contains(&b'\n') && !frame.contains(&b'\r'),
        "a line break in {frame:?}"
    );
    let mut line = BytesMut::from(&frame[..]);
    line.extend_from_slice(b"\n");
    let mut decoder = LineDecoder::new(usize::MAX - 1);
    let mut frames = Vec::new();
    while let Some(item) = decoder.decode_eof(&mut line) {
        frames.push(item.unwrap());
    }
    assert_eq!(frames, std::slice::from_ref(frame));
    serde_json::from_slice(frame).unwrap()
}

/// `message` with the `"jsonrpc"` member when the case asks for it.
fn envelope(case: &Case, mut message: Value) -> Value {
    if case.jsonrpc {
        message["jsonrpc"] = json!("2.0");
    }
    message
}

/// `params` as the encoder writes them: left out when `null`.
fn with_params(mut message: Value, params: &Value) -> Value {
    if !params.is_null() {
        message["params"] = params.clone();
    }
    message
}

async fn check(case: Case) {
    let field = match case.jsonrpc {
        true => JsonRpcField::Include,
        false => JsonRpcField::Omit,
    };
    let (client, mut incoming, mut server) = start(RpcConfig::new().jsonrpc_field(field));

    client
        .notify(&case.method, case.notification.raw())
        .await
        .unwrap();
    let expected = with_params(json!({"method": case.method}), &case.notification.value);
    assert_eq!(one_line(&server.recv().await), envelope(&case, expected));

    let call = client.call_raw(&case.method, case.call.raw(), CallOptions::new());
    let answered = async {
        let message = one_line(&server.recv().await);
        let expected = with_params(
            json!({"id": message["id"], "method": case.method}),
            &case.call.value,
        );
        assert_eq!(message, envelope(&case, expected));
        server
            .send_json(&json!({"id": message["id"], "result": null}))
            .await;
    };
    let (answer, ()) = tokio::join!(call, answered);
    answer.unwrap();

    let result = reply(&mut incoming, &mut server, &case, |responder| {
        responder.respond_raw(&case.result.raw());
    })
    .await;
    let expected = json!({"id": case.request_id, "result": case.result.value});
    assert_eq!(result, envelope(&case, expected));

    let mut error = ErrorObject::new(case.error_code, case.error_message.clone());
    let mut expected_error = json!({"code": case.error_code, "message": case.error_message});
    if let Some(data) = &case.error_data {
        error = error.with_data(data.raw());
        expected_error["data"] = data.value.clone();
    }
    let replied = reply(&mut incoming, &mut server, &case, |responder| {
        responder.respond_error(error);
    })
    .await;
    let expected = json!({"id": case.request_id, "error": expected_error});
    assert_eq!(replied, envelope(&case, expected));
}

/// Sends a server request with the case's id and returns the reply `answer`
/// gives it.
async fn reply(
    incoming: &mut codexrt_rpc::IncomingReceiver,
    server: &mut Server,
    case: &Case,
    answer: impl FnOnce(codexrt_rpc::Responder),
) -> Value {
    server
        .send_json(&json!({"id": case.request_id, "method": "server/ask"}))
        .await;
    let Incoming::Request(request) = next(incoming).await else {
        panic!("expected a request");
    };
    answer(request.into_parts().1);
    one_line(&server.recv().await)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Failing seeds go under the target folder, never into the
        // repository; proptest prints each one as it saves it.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/proptest-encode.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_message_written_is_one_line_that_says_what_was_asked(case in case()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(case));
    }
}
