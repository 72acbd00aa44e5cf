//! Tests of error messages and error traits.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{CloseReason, CloseReport, FrameError};
use serde_json::value::RawValue;

use super::{ErrorObject, RpcError, TimeoutCause};
use crate::envelope::{Rejected, parse};

fn json_error() -> serde_json::Error {
    serde_json::from_str::<u8>("x").unwrap_err()
}

fn check(err: &RpcError, message: &str, source: Option<&str>) {
    assert_eq!(err.to_string(), message);
    assert_eq!(err.source().map(ToString::to_string).as_deref(), source);
    assert_eq!(err.method(), "thread/start");
}

#[test]
fn messages_name_the_method_and_keep_the_cause_once() {
    let method = || "thread/start".to_owned();
    check(
        &RpcError::Peer {
            method: method(),
            error: ErrorObject::new(-32600, "invalid request"),
        },
        "`thread/start` failed: error -32600: invalid request",
        None,
    );
    check(
        &RpcError::MalformedResponse {
            method: method(),
            frame: parse(br#"{"id":1}"#).unwrap_err().frame,
        },
        r#"the answer to `thread/start` could not be read: malformed frame of 8 bytes (an id without a method, a result or an error), starting with "{\"id\":1}""#,
        None,
    );
    check(
        &RpcError::FrameTooLarge {
            method: method(),
            seen: 8_454_144,
            max_len: 8_388_608,
        },
        "the answer to `thread/start` exceeds the frame limit of 8388608 bytes (at least 8454144 bytes)",
        None,
    );
    let report =
        CloseReport::new(CloseReason::ProcessExited).with_stderr_tail("a\nfatal: boom\n".into());
    check(
        &RpcError::Closed {
            method: method(),
            report: Arc::new(report),
        },
        "`thread/start` failed: the process exited; last stderr line: fatal: boom",
        None,
    );
    check(
        &RpcError::Timeout {
            method: method(),
            timeout: Duration::from_secs(60),
            cause: TimeoutCause::NoAnswer,
        },
        "`thread/start` got no answer within 60s",
        None,
    );
    check(
        &RpcError::Timeout {
            method: method(),
            timeout: Duration::from_secs(5),
            cause: TimeoutCause::InFlightLimit { limit: 256 },
        },
        "`thread/start` was not sent within 5s: the 256 calls the in-flight limit allows were all awaiting their answers",
        None,
    );
    check(
        &RpcError::Decode {
            method: method(),
            source: json_error(),
        },
        "failed to decode the result of `thread/start`",
        Some("expected value at line 1 column 1"),
    );
    check(
        &RpcError::Encode {
            method: method(),
            source: json_error(),
        },
        "failed to encode a message for `thread/start`",
        Some("expected value at line 1 column 1"),
    );
}

#[test]
fn errors_cross_threads() {
    fn assert_traits<T: Send + Sync + 'static>() {}
    assert_traits::<RpcError>();
}

#[test]
fn error_objects_compare_data_by_text() {
    let data = |text: &str| RawValue::from_string(text.to_owned()).unwrap();
    let plain = ErrorObject::new(1, "m");
    assert_eq!(plain, ErrorObject::new(1, "m"));
    assert_ne!(plain, ErrorObject::new(2, "m"));
    assert_ne!(plain, ErrorObject::new(1, "m").with_data(data("null")));
    assert_eq!(
        plain.clone().with_data(data("[1]")),
        ErrorObject::new(1, "m").with_data(data("[1]"))
    );
    assert_ne!(
        plain.clone().with_data(data("[1]")),
        ErrorObject::new(1, "m").with_data(data("[ 1 ]"))
    );
    assert_eq!(plain.to_string(), "error 1: m");
}

#[test]
fn an_answer_the_transport_skipped_gets_its_own_kind() {
    let prefix = Bytes::from_static(br#"{"id":1,"result":"xxxx"#);
    let skipped = Rejected::skipped(FrameError::TooLong {
        max_len: 16,
        seen: 22,
        prefix,
    });
    match RpcError::unreadable_answer("m", skipped.frame) {
        RpcError::FrameTooLarge {
            method,
            seen,
            max_len,
        } => assert_eq!((method.as_str(), seen, max_len), ("m", 22, 16)),
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
    let unreadable = parse(br#"{"id":1}"#).unwrap_err().frame;
    assert!(matches!(
        RpcError::unreadable_answer("m", unreadable),
        RpcError::MalformedResponse { .. }
    ));
}
