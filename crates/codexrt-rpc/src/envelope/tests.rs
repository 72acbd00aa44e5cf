//! Tests of inbound parsing and classification.

use bytes::Bytes;
use codexrt_transport::FrameError;

use super::{Malformation, MalformedFrame, Message, Rejected, parse, unchecked};
use crate::{ErrorObject, RequestId};

/// A comparable summary of a parse: raw JSON as its exact text.
#[derive(Debug, PartialEq)]
enum Parsed {
    Response(RequestId, Result<String, ErrorObject>),
    Request(RequestId, String, Option<String>),
    Notification(String, Option<String>),
    /// Malformed, naming no call.
    Malformed(Malformation),
    /// Malformed, but an answer to the call with this id.
    Unreadable(RequestId, Malformation),
}

fn summarize(frame: &[u8]) -> Parsed {
    let raw = |value: Option<&serde_json::value::RawValue>| value.map(|v| v.get().to_owned());
    match parse(frame) {
        Ok(Message::Response { id, outcome }) => {
            Parsed::Response(id, outcome.map(|result| result.get().to_owned()))
        }
        Ok(Message::Request { id, method, params }) => {
            Parsed::Request(id, method.into_owned(), raw(params))
        }
        Ok(Message::Notification { method, params }) => {
            Parsed::Notification(method.into_owned(), raw(params))
        }
        Err(Rejected {
            frame,
            answer_to: None,
        }) => Parsed::Malformed(frame.problem),
        Err(Rejected {
            frame,
            answer_to: Some(id),
        }) => Parsed::Unreadable(id, frame.problem),
    }
}

fn check(input: impl AsRef<[u8]>, expected: Parsed) {
    let input = input.as_ref();
    assert_eq!(
        summarize(input),
        expected,
        "input: {:?}",
        String::from_utf8_lossy(input)
    );
}

fn int(id: i64) -> RequestId {
    RequestId::Integer(id)
}

fn string(id: &str) -> RequestId {
    RequestId::String(id.to_owned())
}

fn ok(id: RequestId, result: &str) -> Parsed {
    Parsed::Response(id, Ok(result.to_owned()))
}

fn request(id: RequestId, method: &str, params: Option<&str>) -> Parsed {
    Parsed::Request(id, method.to_owned(), params.map(str::to_owned))
}

fn notification(method: &str, params: Option<&str>) -> Parsed {
    Parsed::Notification(method.to_owned(), params.map(str::to_owned))
}

fn syntax(message: &str) -> Parsed {
    Parsed::Malformed(Malformation::Syntax(message.to_owned()))
}

fn invalid(message: &str) -> Parsed {
    Parsed::Malformed(Malformation::InvalidMember(message.to_owned()))
}

fn unreadable(id: RequestId, problem: Malformation) -> Parsed {
    Parsed::Unreadable(id, problem)
}

fn invalid_member(message: &str) -> Malformation {
    Malformation::InvalidMember(message.to_owned())
}

#[test]
fn responses() {
    check(r#"{"id":1,"result":{"a":1}}"#, ok(int(1), r#"{"a":1}"#));
    check(
        r#"{"jsonrpc":"2.0","id":1,"result":null}"#,
        ok(int(1), "null"),
    );
    check(r#"{"id":"1","result":true}"#, ok(string("1"), "true"));
    check(r#"{"id":-5,"result":[]}"#, ok(int(-5), "[]"));
    check(
        r#"{"id":9223372036854775807,"result":0}"#,
        ok(int(i64::MAX), "0"),
    );
    check(
        r#"{"id":-9223372036854775808,"result":0}"#,
        ok(int(i64::MIN), "0"),
    );
    check(r#"{"result":"x","id":2}"#, ok(int(2), r#""x""#));
    check(r#"{"id":1,"result":5,"error":null}"#, ok(int(1), "5"));
    check(
        " \t\r\n{ \"id\" : 3 , \"result\" : 4 }\r\n",
        ok(int(3), "4"),
    );
    check(
        r#"{"id":1,"result":2,"emittedAtMs":1700000000000,"extra":{"deep":[1,{"x":null}]}}"#,
        ok(int(1), "2"),
    );
    check(
        r#"{"id":7,"error":{"code":-32601,"message":"nope"}}"#,
        Parsed::Response(int(7), Err(ErrorObject::new(-32601, "nope"))),
    );
    check(
        r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"m","data":{"x": [1, 2]},"more":0}}"#,
        Parsed::Response(
            string("a"),
            Err(ErrorObject::new(1, "m").with_data(
                serde_json::value::RawValue::from_string(r#"{"x": [1, 2]}"#.into()).unwrap(),
            )),
        ),
    );
    check(
        r#"{"id":8,"error":{"code":2,"message":"m","data":null}}"#,
        Parsed::Response(int(8), Err(ErrorObject::new(2, "m"))),
    );
}

#[test]
fn requests() {
    check(
        r#"{"id":3,"method":"item/approve","params":{"a":1}}"#,
        request(int(3), "item/approve", Some(r#"{"a":1}"#)),
    );
    check(
        r#"{"jsonrpc":"2.0","id":"abc","method":"m"}"#,
        request(string("abc"), "m", None),
    );
    check(
        r#"{"id":0,"method":"m","params":null}"#,
        request(int(0), "m", None),
    );
    check(
        r#"{"method":"m","id":"","params":[1, "two"]}"#,
        request(string(""), "m", Some(r#"[1, "two"]"#)),
    );
    check(
        r#"{"id":"1","method":"m","emittedAtMs":5}"#,
        request(string("1"), "m", None),
    );
}

#[test]
fn notifications() {
    check(
        r#"{"method":"turn/started","params":{"x":1}}"#,
        notification("turn/started", Some(r#"{"x":1}"#)),
    );
    check(r#"{"jsonrpc":"2.0","method":"m"}"#, notification("m", None));
    check(
        r#"{"method":"m","params":[1,2],"emittedAtMs":1}"#,
        notification("m", Some("[1,2]")),
    );
    check(r#"{"method":"a\/b\u0041"}"#, notification("a/bA", None));
    check(
        r#"{"method":"m","method_":1,"jsonrpc":"1.0"}"#,
        notification("m", None),
    );
}

#[test]
fn raw_values_are_kept_byte_for_byte() {
    let params = "{ \"b\" : [1, 2.50, 1e3, \"\\u00e9\\n\"],\n \"a\":{} }";
    check(
        format!(r#"{{"method":"m","params":{params}}}"#),
        notification("m", Some(params)),
    );
    let result = "[ 0.10 ,\"x\" ]";
    check(
        format!(r#"{{"id":1,"result":{result}}}"#),
        ok(int(1), result),
    );
}

#[test]
fn shapes_that_are_not_messages() {
    use Malformation::*;
    check(r#"{"id":null,"result":1}"#, Parsed::Malformed(NullId));
    check(
        r#"{"id":null,"error":{"code":-32700,"message":"parse error"}}"#,
        Parsed::Malformed(NullId),
    );
    check(r#"{"method":"m","id":null}"#, Parsed::Malformed(NullId));
    check("{}", Parsed::Malformed(NoMethodOrId));
    check(r#"{"result":1}"#, Parsed::Malformed(NoMethodOrId));
    check(r#"{"jsonrpc":"2.0"}"#, Parsed::Malformed(NoMethodOrId));
    check(r#"{"id":1}"#, unreadable(int(1), NoOutcome));
    check(
        r#"{"id":1,"result":1,"error":{"code":1,"message":"x"}}"#,
        unreadable(int(1), ResultAndError),
    );
    check(
        r#"{"id":1,"result":null,"error":{"code":1,"message":"x"}}"#,
        unreadable(int(1), ResultAndError),
    );
    check(
        r#"{"id":1,"method":"m","result":1}"#,
        Parsed::Malformed(MethodWithOutcome),
    );
    check(
        r#"{"method":"m","error":{"code":1,"message":"x"}}"#,
        Parsed::Malformed(MethodWithOutcome),
    );
    check(r#"[{"id":1,"result":1}]"#, Parsed::Malformed(NotAnObject));
    check(r#"["m",1,null,null,null]"#, Parsed::Malformed(NotAnObject));
    check("42", Parsed::Malformed(NotAnObject));
    check(r#""{}""#, Parsed::Malformed(NotAnObject));
    check(" null ", Parsed::Malformed(NotAnObject));
}

#[test]
fn members_of_the_wrong_type() {
    check(
        r#"{"id":true,"result":1}"#,
        invalid(
            "invalid type: boolean `true`, expected an integer or a string id at line 1 column 10",
        ),
    );
    check(
        r#"{"id":1.5,"result":1}"#,
        invalid(
            "invalid type: floating point `1.5`, expected an integer or a string id at line 1 column 9",
        ),
    );
    check(
        r#"{"id":18446744073709551615,"result":1}"#,
        invalid(
            "invalid value: integer `18446744073709551615`, expected an integer or a string id at line 1 column 26",
        ),
    );
    check(
        r#"{"method":5}"#,
        invalid("invalid type: integer `5`, expected a string at line 1 column 11"),
    );
    check(
        r#"{"id":1,"error":{"code":"x","message":"m"}}"#,
        unreadable(
            int(1),
            invalid_member("invalid type: string \"x\", expected i64 at line 1 column 27"),
        ),
    );
    check(
        r#"{"id":1,"error":{"message":"m"}}"#,
        unreadable(
            int(1),
            invalid_member("missing field `code` at line 1 column 31"),
        ),
    );
    check(
        r#"{"id":1,"error":"boom"}"#,
        unreadable(
            int(1),
            invalid_member(
                "invalid type: string \"boom\", expected struct ErrorObject at line 1 column 22",
            ),
        ),
    );
    check(
        r#"{"id":1,"id":2,"result":1}"#,
        invalid("duplicate field `id` at line 1 column 12"),
    );
}

/// Malformed frames with a valid id and no method answer that id's call;
/// every other malformed frame names no call.
#[test]
fn unreadable_answers_name_their_call() {
    use Malformation::*;
    let cases: [(&[u8], Parsed); 21] = [
        // The id is read by the second, lenient parse: before the bad
        // member, after it, and next to a repeated or spoiled member.
        (
            br#"{"id":7,"error":{"code":1}}"#,
            unreadable(
                int(7),
                invalid_member("missing field `message` at line 1 column 26"),
            ),
        ),
        (
            br#"{"id":7,"error":"boom"}"#,
            unreadable(
                int(7),
                invalid_member(
                    "invalid type: string \"boom\", expected struct ErrorObject at line 1 column 22",
                ),
            ),
        ),
        (
            br#"{"error":{"code":1.5,"message":"m"},"id":"s7"}"#,
            unreadable(
                string("s7"),
                invalid_member(
                    "invalid type: floating point `1.5`, expected i64 at line 1 column 20",
                ),
            ),
        ),
        (
            br#"{"jsonrpc":"2.0","id":7,"result":1,"result":2}"#,
            unreadable(
                int(7),
                invalid_member("duplicate field `result` at line 1 column 43"),
            ),
        ),
        (
            b"{\"id\":7,\"error\":{\"code\":1,\"message\":\"\xff\"}}",
            unreadable(
                int(7),
                Syntax("invalid unicode code point at line 1 column 38".into()),
            ),
        ),
        // The id is read by the first parse, which then finds no one outcome.
        (
            br#"{"id":7,"result":1,"error":{"code":1,"message":"x"}}"#,
            unreadable(int(7), ResultAndError),
        ),
        (br#"{"id":7}"#, unreadable(int(7), NoOutcome)),
        (
            br#"{"id":"7","emittedAtMs":1}"#,
            unreadable(string("7"), NoOutcome),
        ),
        // A method makes it a request or a notification, whatever its type.
        (
            br#"{"method":"x","id":1,"result":2}"#,
            Parsed::Malformed(MethodWithOutcome),
        ),
        (
            br#"{"method":5,"id":1,"result":2}"#,
            invalid("invalid type: integer `5`, expected a string at line 1 column 11"),
        ),
        (
            b"{\"id\":1,\"method\":\"\xff\"}",
            syntax("invalid unicode code point at line 1 column 19"),
        ),
        // No valid id: null, of the wrong type, out of range, repeated.
        (
            br#"{"id":null,"error":{}}"#,
            invalid("missing field `code` at line 1 column 21"),
        ),
        (br#"{"id":null}"#, Parsed::Malformed(NullId)),
        (
            br#"{"id":true,"error":"boom"}"#,
            invalid(
                "invalid type: boolean `true`, expected an integer or a string id at line 1 column 10",
            ),
        ),
        (
            br#"{"id":18446744073709551615,"error":"boom"}"#,
            invalid(
                "invalid value: integer `18446744073709551615`, expected an integer or a string id at line 1 column 26",
            ),
        ),
        (
            br#"{"id":1,"id":2,"error":"boom"}"#,
            invalid("duplicate field `id` at line 1 column 12"),
        ),
        // Not an object: serde would read `[1]` as a struct with id 1.
        (b"[1]", Parsed::Malformed(NotAnObject)),
        (br#"[{"id":1}]"#, Parsed::Malformed(NotAnObject)),
        // Not JSON, however clearly an id shows.
        (
            br#"{"id":7,"result":"#,
            syntax("EOF while parsing a value at line 1 column 17"),
        ),
        (
            br#"{"id":7,"result":1} {"id":8}"#,
            syntax("trailing characters at line 1 column 21"),
        ),
        (
            br#"{"id":7,"result":}"#,
            syntax("expected value at line 1 column 18"),
        ),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn invalid_json() {
    check("", syntax("EOF while parsing a value at line 1 column 0"));
    check("not json", syntax("expected ident at line 1 column 2"));
    check("garbage", syntax("expected value at line 1 column 1"));
    check(
        r#"{"id":1,"#,
        syntax("EOF while parsing a value at line 1 column 8"),
    );
    check(
        r#"{"id":1,"result":1} trailing"#,
        syntax("trailing characters at line 1 column 21"),
    );
    check(
        r#"{"id":1,"result":1}{"id":2,"result":2}"#,
        syntax("trailing characters at line 1 column 20"),
    );
    check(
        "{\"method\":\"a\nb\"}",
        syntax(
            "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0",
        ),
    );
}

#[test]
fn invalid_utf8() {
    check(
        b"{\"method\":\"\xff\"}",
        syntax("invalid unicode code point at line 1 column 12"),
    );
    check(
        b"{\"method\":\"m\",\"params\":[\"\xc3\"]}",
        syntax("invalid unicode code point at line 1 column 26"),
    );
    check(
        b"{\"id\":1,\"result\":{\"k\xe2\x82\":1}}",
        unreadable(
            int(1),
            Malformation::Syntax("invalid unicode code point at line 1 column 21".into()),
        ),
    );
    // Members this layer skips are not decoded, so bytes in them are not
    // checked; nothing read from the frame is invalid.
    check(
        b"{\"method\":\"m\",\"x\":\"\xff\"}",
        notification("m", None),
    );
}

#[test]
fn reports_keep_a_bounded_lossy_excerpt() {
    let frame = b"{\"method\":\"\xff\"}";
    assert_eq!(
        parse(frame).unwrap_err().frame,
        MalformedFrame {
            problem: Malformation::Syntax("invalid unicode code point at line 1 column 12".into()),
            len: frame.len(),
            excerpt: "{\"method\":\"\u{fffd}\"}".into(),
        }
    );

    let long = format!("[{}]", "7,".repeat(500));
    let report = parse(long.as_bytes()).unwrap_err().frame;
    assert_eq!(
        report,
        MalformedFrame {
            problem: Malformation::Syntax("expected value at line 1 column 1002".into()),
            len: 1002,
            excerpt: long[..MalformedFrame::EXCERPT_LEN].to_owned(),
        }
    );

    // A multi-byte character across the bound is left out whole.
    let mut cut = vec![b'x'; MalformedFrame::EXCERPT_LEN - 1];
    cut.extend_from_slice("é and more".as_bytes());
    let report = parse(&cut).unwrap_err().frame;
    assert_eq!(report.excerpt, "x".repeat(MalformedFrame::EXCERPT_LEN - 1));

    assert_eq!(report.len, cut.len());

    // A key in the frame is redacted in the excerpt.
    let report = parse(b"{\"k\":\"sk-abcdefgh12345678\"").unwrap_err().frame;
    assert_eq!(report.excerpt, "{\"k\":\"sk-[redacted]\"");
}

#[test]
fn transport_problems_become_reports() {
    let too_long = || FrameError::TooLong {
        max_len: 10,
        seen: 12,
        prefix: Bytes::from_static(br#"{"id":4,"re"#),
    };
    let Rejected { frame, answer_to } = Rejected::skipped(too_long());
    assert_eq!(
        frame,
        MalformedFrame {
            problem: Malformation::Transport(too_long()),
            len: 0,
            excerpt: String::new(),
        }
    );
    assert_eq!(
        frame.to_string(),
        "inbound frame exceeds the limit of 10 bytes (at least 12 bytes) and was discarded"
    );
    // The id is there, but the prefix ends before a result or an error.
    assert_eq!(answer_to, None);
    let answer = FrameError::TooLong {
        max_len: 10,
        seen: 20,
        prefix: Bytes::from_static(br#"{"id":4,"result":"x"#),
    };
    assert_eq!(
        Rejected::skipped(answer).answer_to,
        Some(RequestId::Integer(4))
    );
}

#[test]
fn reports_display_their_problem_and_excerpt() {
    let report = parse(br#"{"id":null,"result":1}"#).unwrap_err().frame;
    assert_eq!(
        report.to_string(),
        r#"malformed frame of 22 bytes (the id is null), starting with "{\"id\":null,\"result\":1}""#
    );
}

#[test]
fn a_method_is_borrowed_from_the_frame_unless_it_holds_an_escape() {
    use std::borrow::Cow;
    let borrowed = |frame: &[u8]| match parse(frame) {
        Ok(Message::Notification { method, .. } | Message::Request { method, .. }) => {
            (matches!(method, Cow::Borrowed(_)), method.into_owned())
        }
        other => panic!("not a notification or a request: {other:?}"),
    };
    assert_eq!(
        borrowed(br#"{"method":"item/agentMessage/delta","params":{}}"#),
        (true, "item/agentMessage/delta".to_owned())
    );
    assert_eq!(
        borrowed(br#"{"id":7,"method":"item/tool/call"}"#),
        (true, "item/tool/call".to_owned())
    );
    assert_eq!(
        borrowed(br#"{"method":"item\/started"}"#),
        (false, "item/started".to_owned())
    );
}

/// A notification read unchecked: its method and params.
fn unchecked_notification(frame: &[u8]) -> Option<(&str, &[u8])> {
    unchecked(frame)
        .filter(|read| read.id.is_none())
        .map(|read| (read.method, read.params))
}

#[test]
fn notifications_framed_as_codex_frames_them_are_read_up_to_their_params() {
    let read: [(&str, (&str, &str)); 6] = [
        (
            r#"{"method":"item/started","params":{"a":[1,2]}}"#,
            ("item/started", r#"{"a":[1,2]}"#),
        ),
        (
            r#"{"emittedAtMs":1796396718290,"method":"m","params":{}}"#,
            ("m", "{}"),
        ),
        (
            "\u{feff}{ \"jsonrpc\" : \"2.0\" ,\n\"method\":\"m\",\t\"params\" : [1] }\r\n",
            ("m", "[1]"),
        ),
        (
            r#"{"x":-1.5e+3,"y":true,"z":null,"w":false,"v":0,"u":"é","method":"m","params":"s"}"#,
            ("m", r#""s""#),
        ),
        (r#"{"method":"","params":0.5E-2}"#, ("", "0.5E-2")),
        // Params that are not the last member: what is handed on is not
        // one JSON value, and whoever decodes it finds so.
        (
            r#"{"method":"m","params":{},"id":1}"#,
            ("m", r#"{},"id":1"#),
        ),
    ];
    for (frame, (method, params)) in read {
        let expected = Some((method, params.as_bytes()));
        assert_eq!(
            unchecked_notification(frame.as_bytes()),
            expected,
            "{frame}"
        );
    }
    // The params' bytes are handed on as they are: whoever decodes them
    // finds that they are not UTF-8.
    let not_utf8 = b"{\"method\":\"m\",\"params\":\"\xff\"}";
    assert_eq!(
        unchecked_notification(not_utf8),
        Some(("m", b"\"\xff\"".as_slice()))
    );
    let not_read: [&[u8]; 26] = [
        br#"{"method":"m"}"#,
        br#"{"params":{},"method":"m"}"#,
        br#"{"result":1,"method":"m","params":{}}"#,
        br#"{"id":1,"result":1,"method":"m","params":{}}"#,
        br#"{"id":null,"method":"m","params":{}}"#,
        br#"{"id":1.5,"method":"m","params":{}}"#,
        br#"{"id":1e3,"method":"m","params":{}}"#,
        br#"{"id":01,"method":"m","params":{}}"#,
        br#"{"id":-0,"method":"m","params":{}}"#,
        br#"{"id":9223372036854775808,"method":"m","params":{}}"#,
        br#"{"id":"a\u0062","method":"m","params":{}}"#,
        br#"{"id":1,"id":2,"method":"m","params":{}}"#,
        br#"{"id":1,"params":{}}"#,
        br#"{"method":"m","method":"n","params":{}}"#,
        br#"{"method":"m","params":null}"#,
        br#"{"method":"m","params": }"#,
        br#"{"meth\u006fd":"m","params":{}}"#,
        br#"{"method":"m\u0031","params":{}}"#,
        br#"{"x":{"y":1},"method":"m","params":{}}"#,
        br#"{"x":01,"method":"m","params":{}}"#,
        br#"{"x":1.,"method":"m","params":{}}"#,
        br#"{"x":tru,"method":"m","params":{}}"#,
        br#"{"method":"m","params":{}} x"#,
        br#"[{"method":"m","params":{}}]"#,
        b"{\"method\":\"m\x01\",\"params\":{}}",
        b"{\"method\":\"\xff\",\"params\":{}}",
    ];
    for frame in not_read {
        assert_eq!(unchecked(frame), None, "{}", String::from_utf8_lossy(frame));
    }
}

#[test]
fn requests_framed_as_codex_frames_them_are_read_up_to_their_params() {
    let read = [
        (
            r#"{"id":0,"method":"item/tool/call","params":{"a":1}}"#,
            RequestId::Integer(0),
        ),
        (
            r#"{"method":"m","id":-9223372036854775808,"params":{"a":1}}"#,
            RequestId::Integer(i64::MIN),
        ),
        (
            r#"{ "jsonrpc":"2.0", "id" : "req-é" , "method":"m","params":{"a":1} }"#,
            RequestId::String("req-é".to_owned()),
        ),
    ];
    for (frame, id) in read {
        let read = unchecked(frame.as_bytes()).unwrap();
        assert_eq!(read.id, Some(id), "{frame}");
        assert_eq!(read.params, br#"{"a":1}"#, "{frame}");
    }
}

mod unchecked_props {
    use proptest::prelude::*;
    use serde::de::IgnoredAny;

    use super::{Parsed, summarize, unchecked};

    /// A member a frame may have, in any order: the method, possibly with an
    /// escape; params of many shapes, not all of them JSON; an id, a result;
    /// members of no meaning to this layer, simple or not, valid or not.
    fn member() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            r#""method":"item/started""#,
            r#""method":"a\u0062""#,
            r#""method":7"#,
            r#""params":{"threadId":"t","n":[1,2.5,-3e2]}"#,
            r#""params":[]"#,
            r#""params":"x""#,
            r#""params":null"#,
            r#""params":{"a":"\u00e9\n"}"#,
            r#""params":{"a":1"#,
            r#""params":1 2"#,
            r#""id":3"#,
            r#""id":-12"#,
            r#""id":"r-1""#,
            r#""id":null"#,
            r#""id":1.5"#,
            r#""id":-0"#,
            r#""id":9223372036854775808"#,
            r#""id":"a\u0062""#,
            r#""result":{}"#,
            r#""jsonrpc":"2.0""#,
            r#""emittedAtMs":1796396718290"#,
            r#""n":-0.5e+2"#,
            r#""n":01"#,
            r#""b":true"#,
            r#""o":{"k":[null]}"#,
            r#""s":"a\"b""#,
        ])
        .prop_map(str::to_owned)
    }

    /// What a handler that decodes the params checks: UTF-8, one value.
    fn one_value(params: &[u8]) -> bool {
        std::str::from_utf8(params)
            .is_ok_and(|text| serde_json::from_str::<IgnoredAny>(text).is_ok())
    }

    fn frame() -> impl Strategy<Value = Vec<u8>> {
        let space = prop::sample::select(vec!["", " ", "\n", "\t\r "]);
        (
            prop::collection::vec((member(), space.clone()), 0..6),
            space,
            any::<bool>(),
            prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
        )
            .prop_map(|(members, space, bom, change)| {
                let body: Vec<String> = members
                    .into_iter()
                    .map(|(member, space)| format!("{space}{member}{space}"))
                    .collect();
                let mut frame = format!("{{{}}}{space}", body.join(",")).into_bytes();
                if bom {
                    frame.splice(0..0, *b"\xEF\xBB\xBF");
                }
                // Now and then one byte changed: truncated, broken, or not
                // UTF-8 any more.
                if let Some((at, byte)) = change {
                    let at = at.index(frame.len());
                    frame[at] = byte;
                }
                frame
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whenever the params handed on unchecked are one JSON value, the
        /// frame is, in full, a notification (or, with an id, a request)
        /// of that method with exactly those params (and that id).
        #[test]
        fn unchecked_params_that_are_json_mean_the_frame_is_that_message(frame in frame()) {
            let parsed = summarize(&frame);
            match unchecked(&frame) {
                Some(read) if one_value(read.params) => {
                    let params = String::from_utf8_lossy(read.params).into_owned();
                    let method = read.method.to_owned();
                    let expected = match read.id {
                        Some(id) => Parsed::Request(id, method, Some(params)),
                        None => Parsed::Notification(method, Some(params)),
                    };
                    prop_assert_eq!(parsed, expected);
                }
                // Not one value: whoever decodes it fails, and the frame
                // then goes the way of the full parse, whatever that says.
                Some(_) | None => {}
            }
        }
    }
}
