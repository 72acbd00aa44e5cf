//! Tests of the id scan over the first bytes of an over-long frame.

use bytes::Bytes;
use codexrt_transport::FrameError;

use super::{answer_id, skipped_answer};
use crate::RequestId;

fn check(prefix: &str, expected: Option<RequestId>) {
    assert_eq!(answer_id(prefix.as_bytes()), expected, "{prefix}");
}

fn int(id: i64) -> Option<RequestId> {
    Some(RequestId::Integer(id))
}

fn string(id: &str) -> Option<RequestId> {
    Some(RequestId::String(id.to_owned()))
}

#[test]
fn answers_name_their_call() {
    check(r#"{"id":1,"result":"xxxx"#, int(1));
    check(r#"{"id":1,"result":{"items":[{"a"#, int(1));
    check(r#"{"id":2,"error":{"code":-1,"message":"lo"#, int(2));
    check(r#"{"jsonrpc":"2.0","id":7,"result":["#, int(7));
    check(" \r\n{ \"id\" :\t-3 ,\n\"result\" : ", int(-3));
    check(r#"{"id":0,"result":"#, int(0));
    check(r#"{"id":-9223372036854775808,"result":"#, int(i64::MIN));
    check(r#"{"id":"a\"b\u00e9","result":"#, string("a\"bé"));
    check(r#"{"id":"","error":"#, string(""));
}

#[test]
fn the_outcome_may_come_first_when_its_value_is_in_view() {
    check(r#"{"error":{"code":1,"message":"m"},"id":4,"#, int(4));
    check(r#"{"result":[1,{"b":"}]"}],"id":4}"#, int(4));
    // The value is cut by the end of the prefix: the id is out of view.
    check(r#"{"result":[1,2,3"#, None);
    // The id is cut: it may have more digits.
    check(r#"{"result":1,"id":4"#, None);
}

#[test]
fn members_before_the_id_are_skipped() {
    check(r#"{"data":"{\"id\":9,","id":2,"result":"#, int(2));
    check(r#"{"params":{"id":9,"result":1},"id":2,"error":"#, int(2));
    check(
        r#"{"n":-1.5e3,"ok":true,"none":null,"id":5,"result":"#,
        int(5),
    );
    check(r#"{"a":[],"b":{},"id":5,"result":"#, int(5));
}

#[test]
fn requests_and_notifications_name_no_call() {
    // codex writes its requests id first.
    check(r#"{"id":3,"method":"item/tool/call","params":{"#, None);
    check(r#"{"method":"x","id":3,"result":"#, None);
    check(r#"{"method":"item/agentMessage/delta","params":{"#, None);
}

#[test]
fn an_id_without_an_outcome_in_view_names_no_call() {
    check(r#"{"id":3,"params":{"a":"#, None);
    check(r#"{"id":3,"jsonrpc":"2.0""#, None);
    check(r#"{"id":3}"#, None);
    check(r#"{"id":3"#, None);
}

#[test]
fn invalid_ids_name_no_call() {
    for id in [
        "null",
        "true",
        "1.5",
        "1e3",
        "01",
        "-",
        "-01",
        "+1",
        "9223372036854775808",
        "{}",
        "[1]",
        "\"\\x\"",
    ] {
        check(&format!(r#"{{"id":{id},"result":1}}"#), None);
    }
    assert_eq!(answer_id(b"{\"id\":\"\xff\",\"result\":1}"), None);
    // Repeated.
    check(r#"{"id":1,"id":2,"result":"#, None);
}

#[test]
fn text_that_is_not_an_object_names_no_call() {
    for text in [
        "",
        "   ",
        "garbage",
        r#"[{"id":1,"result":1}]"#,
        r#""id""#,
        r#"{"id":1 "result":1"#,
        r#"{"id" 1,"result":1"#,
        r#"{id:1,"result":1"#,
        // Member names with escapes are not recognised.
        r#"{"i\u0064":1,"result":1"#,
        // Only nested members.
        r#"{"x":{"id":9,"result":1}"#,
        r#"{"id":"cut"#,
    ] {
        check(text, None);
    }
}

#[test]
fn only_over_long_frames_are_read() {
    let report = FrameError::TooLong {
        max_len: 16,
        seen: 40,
        prefix: Bytes::from_static(br#"{"id":12,"result":"xxxxxxxxxxxxxxxxxx"#),
    };
    assert_eq!(skipped_answer(&report), int(12));
}

#[test]
fn no_cut_of_a_message_names_a_wrong_call() {
    // Every prefix of an answer names its call or none; every prefix of a
    // request or notification names none.
    let answers = [
        (
            r#"{"id":41,"result":{"id":7,"method":"x","items":[1,2]}}"#,
            41,
        ),
        (r#"{"result":{"id":7},"jsonrpc":"2.0","id":42}"#, 42),
        (
            r#"{"error":{"code":1,"message":"{\"id\":7,"},"id":-43}"#,
            -43,
        ),
        (r#"{ "jsonrpc" : "2.0" , "id" : 44 , "error" : null }"#, 44),
    ];
    for (message, id) in answers {
        for cut in 0..=message.len() {
            let got = answer_id(&message.as_bytes()[..cut]);
            assert!(
                got.is_none() || got == int(id),
                "{got:?} for {:?}",
                &message[..cut]
            );
        }
    }
    let others = [
        r#"{"id":7,"method":"item/tool/call","params":{"result":1}}"#,
        r#"{"method":"turn/completed","params":{"id":7,"result":1},"id":7}"#,
        r#"{"params":{"id":7,"result":1},"method":"x"}"#,
    ];
    for message in others {
        for cut in 0..=message.len() {
            assert_eq!(answer_id(&message.as_bytes()[..cut]), None, "{message}");
        }
    }
}
