//! Unit tests of the JSONL format, the first-difference search and the
//! line comparison with its id mapping.

use serde_json::{Value, json};

use super::compare::first_difference;
use super::{Direction, Frame, Line, ReplayMismatch, Transcript};
use crate::{Normalizer, TempDir, TestkitError};

fn out(msg: Value) -> Line {
    Line::json(Direction::Out, msg)
}

fn inn(msg: Value) -> Line {
    Line::json(Direction::In, msg)
}

#[test]
fn lines_round_trip_through_jsonl() {
    let transcript = Transcript::from_lines([
        out(json!({"id": 1, "method": "initialize", "params": {}})),
        inn(json!({"id": 1, "result": {"userAgent": "codex/0.169.0"}})),
        inn(json!(null)),
        Line::new(Direction::In, Frame::Raw("not json {".to_owned())),
        Line::new(Direction::In, Frame::TooLong { max_len: 64 }),
    ]);
    let text = transcript.to_jsonl();
    assert_eq!(
        text,
        concat!(
            r#"{"dir":"out","msg":{"id":1,"method":"initialize","params":{}}}"#,
            "\n",
            r#"{"dir":"in","msg":{"id":1,"result":{"userAgent":"codex/0.169.0"}}}"#,
            "\n",
            r#"{"dir":"in","msg":null}"#,
            "\n",
            r#"{"dir":"in","raw":"not json {"}"#,
            "\n",
            r#"{"dir":"in","too_long":64}"#,
            "\n",
        )
    );
    assert_eq!(Transcript::parse(&text).unwrap(), transcript);
    // CRLF and trailing blank lines are forgiven.
    let crlf = text.replace('\n', "\r\n") + "\r\n\n";
    assert_eq!(Transcript::parse(&crlf).unwrap(), transcript);

    let dir = TempDir::new("transcript").unwrap();
    let path = dir.path().join("t.jsonl");
    transcript.save(&path).unwrap();
    assert_eq!(Transcript::load(&path).unwrap(), transcript);
}

#[test]
fn bad_lines_are_reported_with_their_number() {
    let check = |text: &str, line: usize| match Transcript::parse(text) {
        Err(TestkitError::TranscriptLine { line: got, .. }) => assert_eq!(got, line, "{text:?}"),
        other => panic!("{text:?}: {other:?}"),
    };
    check("{\"dir\":\"out\",\"msg\":1}\nnope\n", 2);
    check(
        "{\"dir\":\"out\",\"msg\":1}\n\n{\"dir\":\"in\",\"msg\":2}\n",
        2,
    );
    check("{\"dir\":\"up\",\"msg\":1}", 1);
    check("{\"dir\":\"in\"}", 1);
    check("{\"dir\":\"in\",\"msg\":1,\"raw\":\"x\"}", 1);
    check("{\"dir\":\"in\",\"msg\":1,\"extra\":true}", 1);
    assert_eq!(Transcript::parse("").unwrap(), Transcript::new());

    let dir = TempDir::new("transcript").unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "{\"dir\":\"in\",\"msg\":{}}\n[]\n").unwrap();
    match Transcript::load(&path) {
        Err(TestkitError::TranscriptFile {
            line: 2, path: got, ..
        }) => assert_eq!(got, path),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decode_helpers_read_members() {
    let line = inn(json!({"method": "turn/started", "params": {"turn": {"id": "t"}}}));
    assert_eq!(line.method(), Some("turn/started"));
    assert!(line.is_notification() && !line.is_request() && !line.is_response());
    let params: Value = line.decode_params().unwrap();
    assert_eq!(params["turn"]["id"], "t");
    let response = inn(json!({"id": 3, "result": [1, 2]}));
    assert!(response.is_response());
    assert_eq!(response.decode_result::<Vec<u8>>().unwrap(), [1, 2]);
    assert_eq!(response.id(), Some(&json!(3)));
    let transcript = Transcript::from_lines([out(json!({"id": 1, "method": "a"})), line, response]);
    assert_eq!(transcript.methods(Direction::In), ["turn/started"]);
    assert_eq!(transcript.messages(Direction::Out).count(), 1);
    assert!(transcript.find("turn/started").is_some());
}

#[test]
fn the_first_difference_is_found_in_key_order() {
    let check = |left: Value, right: Value, expected: Option<&str>| {
        assert_eq!(
            first_difference(&left, &right).as_deref(),
            expected,
            "{left} vs {right}"
        );
    };
    check(json!({"a": 1}), json!({"a": 1}), None);
    check(json!({"a": 1, "b": 2}), json!({"a": 1, "b": 3}), Some("/b"));
    check(json!({"b": 1}), json!({"a": 1, "b": 1}), Some("/a"));
    check(
        json!({"p": {"x": [1, 2, 3]}}),
        json!({"p": {"x": [1, 5, 3]}}),
        Some("/p/x/1"),
    );
    check(json!([1, 2]), json!([1, 2, 3]), Some("/2"));
    check(
        json!({"a/b": {"~": 1}}),
        json!({"a/b": {"~": 2}}),
        Some("/a~1b/~0"),
    );
    check(json!(1), json!("1"), Some(""));
}

#[test]
fn request_ids_are_compared_through_the_mapping() {
    let normalizer = Normalizer::default();
    let expected = Transcript::from_lines([
        out(json!({"id": "r-1", "method": "thread/start", "params": {"cwd": "/a"}})),
        inn(json!({"method": "note", "emittedAtMs": 1})),
        inn(json!({"id": "r-1", "result": {}})),
        inn(json!({"id": 0, "method": "approve"})),
        out(json!({"id": 0, "result": {"decision": "accept"}})),
    ]);
    let actual = Transcript::from_lines([
        out(json!({"id": 7, "method": "thread/start", "params": {"cwd": "/b"}})),
        inn(json!({"method": "note", "emittedAtMs": 2})),
        inn(json!({"id": 7, "result": {}})),
        inn(json!({"id": 0, "method": "approve"})),
        out(json!({"id": 0, "result": {"decision": "accept"}})),
    ]);
    assert_eq!(Transcript::compare(&expected, &actual, &normalizer), Ok(()));

    // A response to the wrong request is a difference at its id.
    let mut wrong = actual.clone();
    wrong.lines[2] = inn(json!({"id": 8, "result": {}}));
    let mismatch = Transcript::compare(&expected, &wrong, &normalizer).unwrap_err();
    assert_eq!(
        (mismatch.line, mismatch.path_of_first_difference.as_str()),
        (3, "/id")
    );
    assert_eq!(
        mismatch.to_string(),
        "transcript line 3 differs at /id: expected 7, got 8"
    );

    // The server's own request ids are not mapped.
    let mut answer = actual.clone();
    answer.lines[4] = out(json!({"id": 1, "result": {"decision": "accept"}}));
    let mismatch = Transcript::compare(&expected, &answer, &normalizer).unwrap_err();
    assert_eq!(
        (mismatch.line, mismatch.path_of_first_difference.as_str()),
        (5, "/id")
    );
}

#[test]
fn missing_and_extra_lines_are_differences() {
    let normalizer = Normalizer::default();
    let one = Transcript::from_lines([out(json!({"method": "initialized"}))]);
    let two = Transcript::from_lines([
        out(json!({"method": "initialized"})),
        out(json!({"method": "extra"})),
    ]);
    let mismatch = Transcript::compare(&two, &one, &normalizer).unwrap_err();
    assert_eq!(
        mismatch,
        ReplayMismatch {
            line: 2,
            expected: Some(out(json!({"method": "extra"}))),
            actual: None,
            path_of_first_difference: String::new(),
        }
    );
    assert_eq!(
        mismatch.to_string(),
        r#"transcript line 2 expects out {"dir":"out","msg":{"method":"extra"}}, but nothing more came"#
    );
    let mismatch = Transcript::compare(&one, &two, &normalizer).unwrap_err();
    assert_eq!((mismatch.line, mismatch.expected.is_none()), (2, true));

    let inbound = Transcript::from_lines([inn(json!({"method": "initialized"}))]);
    let mismatch = Transcript::compare(&one, &inbound, &normalizer).unwrap_err();
    assert_eq!(
        (mismatch.line, mismatch.path_of_first_difference.as_str()),
        (1, "")
    );
}
