//! Tests of outbound encoding and newline sanitizing.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::{Encoder, single_line};
use crate::{ErrorObject, JsonRpcField, RequestId};

const OMIT: Encoder = Encoder {
    jsonrpc: JsonRpcField::Omit,
};
const INCLUDE: Encoder = Encoder {
    jsonrpc: JsonRpcField::Include,
};

fn check(frame: Result<bytes::Bytes, serde_json::Error>, expected: &str) {
    let frame = frame.unwrap();
    assert_eq!(std::str::from_utf8(&frame).unwrap(), expected);
    // Every frame is one line of valid JSON.
    assert!(
        !frame.contains(&b'\n') && !frame.contains(&b'\r'),
        "{frame:?}"
    );
    serde_json::from_slice::<serde_json::Value>(&frame).unwrap();
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

#[test]
fn requests() {
    let one = RequestId::Integer(1);
    check(
        OMIT.request(&one, "m", &serde_json::json!({"a": 1})),
        r#"{"id":1,"method":"m","params":{"a":1}}"#,
    );
    check(
        INCLUDE.request(&one, "m", &[1]),
        r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#,
    );
    check(
        OMIT.request(&RequestId::from("x"), "m", &"p"),
        r#"{"id":"x","method":"m","params":"p"}"#,
    );
    check(
        OMIT.request(&RequestId::from("1"), "m", &()),
        r#"{"id":"1","method":"m"}"#,
    );
    check(
        OMIT.request(&one, "m", &None::<u8>),
        r#"{"id":1,"method":"m"}"#,
    );
    check(
        INCLUDE.request(&one, "m", &()),
        r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#,
    );
    check(
        OMIT.request(&one, "m", &Some(3)),
        r#"{"id":1,"method":"m","params":3}"#,
    );
    check(
        OMIT.request(&one, "m", &"null"),
        r#"{"id":1,"method":"m","params":"null"}"#,
    );
    check(
        OMIT.request(&RequestId::Integer(-7), "a\"b\nc", &()),
        r#"{"id":-7,"method":"a\"b\nc"}"#,
    );
}

#[test]
fn notifications() {
    check(
        OMIT.notification("initialized", &()),
        r#"{"method":"initialized"}"#,
    );
    check(
        INCLUDE.notification("n", &[true]),
        r#"{"jsonrpc":"2.0","method":"n","params":[true]}"#,
    );
    check(
        OMIT.notification("n", &"line\r\nbreak"),
        r#"{"method":"n","params":"line\r\nbreak"}"#,
    );
}

#[test]
fn replies() {
    let id = RequestId::from("srv-1");
    check(OMIT.result(&id, &()), r#"{"id":"srv-1","result":null}"#);
    check(
        INCLUDE.result(&RequestId::Integer(4), &"ok"),
        r#"{"jsonrpc":"2.0","id":4,"result":"ok"}"#,
    );
    check(
        Ok(OMIT.error(&id, &ErrorObject::new(-32601, "method not found"))),
        r#"{"id":"srv-1","error":{"code":-32601,"message":"method not found"}}"#,
    );
    check(
        Ok(INCLUDE.error(
            &RequestId::Integer(0),
            &ErrorObject::new(1, "m").with_data(raw("{ \"k\": [1] }")),
        )),
        r#"{"jsonrpc":"2.0","id":0,"error":{"code":1,"message":"m","data":{ "k": [1] }}}"#,
    );
}

#[test]
fn pretty_raw_values_become_one_line() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::json!({"a": [1, 2], "b": {"c": "x\ny"}}))
            .unwrap();
    assert!(pretty.contains('\n'));
    let params = raw(&pretty);
    let frame = OMIT.request(&RequestId::Integer(2), "m", &params);
    check(
        frame,
        r#"{"id":2,"method":"m","params":{   "a": [     1,     2   ],   "b": {     "c": "x\ny"   } }}"#,
    );
    let crlf = raw("[\r\n1,\r\n2\r\n]");
    check(
        OMIT.notification("n", &crlf),
        r#"{"method":"n","params":[  1,  2  ]}"#,
    );
    check(
        Ok(OMIT.error(
            &RequestId::Integer(1),
            &ErrorObject::new(1, "m").with_data(raw("{\n}")),
        )),
        r#"{"id":1,"error":{"code":1,"message":"m","data":{ }}}"#,
    );
}

#[test]
fn single_line_replaces_only_raw_line_breaks() {
    let check = |input: &[u8], expected: &[u8]| assert_eq!(single_line(input.to_vec()), expected);
    check(b"", b"");
    check(br#"{"a":"x\ny"}"#, br#"{"a":"x\ny"}"#);
    check(b"{\n\"a\":\r\n1\r}", b"{ \"a\":  1 }");
    check(b"\n\n", b"  ");
}

#[test]
fn params_that_cannot_be_encoded_are_an_error() {
    let params = HashMap::from([((1, 2), 3)]);
    let err = OMIT
        .request(&RequestId::Integer(1), "m", &params)
        .unwrap_err();
    assert_eq!(err.to_string(), "key must be a string");
    let err = OMIT.notification("m", &params).unwrap_err();
    assert_eq!(err.to_string(), "key must be a string");
    let err = OMIT.result(&RequestId::Integer(1), &params).unwrap_err();
    assert_eq!(err.to_string(), "key must be a string");
}
