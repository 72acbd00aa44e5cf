//! Unit tests of the event encoding: text splitting, event framing, where
//! stalls go, and the body that plays the steps out.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::json;

use super::stream::{EventStreamBody, Step, encode_event, split_text, steps};
use crate::Reply;

#[test]
fn text_is_split_into_nearly_equal_pieces_on_char_boundaries() {
    let check = |text: &str, count: usize, expected: &[&str]| {
        assert_eq!(split_text(text, count), expected, "{text:?} in {count}");
    };
    check("abcdef", 3, &["ab", "cd", "ef"]);
    check("abcdefg", 3, &["abc", "de", "fg"]);
    check("ab", 5, &["a", "b"]);
    check("héllo", 2, &["hél", "lo"]);
    check("日本語", 1, &["日本語"]);
    check("", 3, &[]);
    check("x", 0, &[]);
}

#[test]
fn events_carry_their_type_in_the_data() {
    let check = |kind: &str, data: serde_json::Value, expected: &str| {
        assert_eq!(encode_event(kind, data), Bytes::from(expected.to_owned()));
    };
    check(
        "response.created",
        json!({"response": {"id": "r"}}),
        "event: response.created\ndata: {\"response\":{\"id\":\"r\"},\"type\":\"response.created\"}\n\n",
    );
    check(
        "custom",
        json!({"type": "kept"}),
        "event: custom\ndata: {\"type\":\"kept\"}\n\n",
    );
    check("list", json!([1]), "event: list\ndata: [1]\n\n");
    check(
        "text",
        json!({"delta": "two\nlines"}),
        "event: text\ndata: {\"delta\":\"two\\nlines\",\"type\":\"text\"}\n\n",
    );
}

/// The shape of a reply's steps: event kinds, and `pause` where a pause is.
fn shape(reply: &Reply) -> Vec<String> {
    steps(reply, 0)
        .unwrap_or_default()
        .into_iter()
        .map(|step| match step {
            Step::Chunk(bytes) => {
                let text = String::from_utf8(bytes.to_vec()).unwrap();
                text.lines()
                    .next()
                    .unwrap()
                    .trim_start_matches("event: ")
                    .to_owned()
            }
            Step::Pause(duration) => format!("pause {}ms", duration.as_millis()),
        })
        .collect()
}

#[test]
fn stalls_go_after_the_given_number_of_deltas_or_events() {
    let ms = Duration::from_millis(5);
    let check = |reply: Reply, expected: &[&str]| assert_eq!(shape(&reply), expected);
    let (created, added, delta, done, completed) = (
        "response.created",
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_item.done",
        "response.completed",
    );
    check(
        Reply::message("ab").deltas(2),
        &[created, added, delta, delta, done, completed],
    );
    check(
        Reply::message("ab").deltas(2).stall_after(0, ms),
        &[created, added, "pause 5ms", delta, delta, done, completed],
    );
    check(
        Reply::message("ab").deltas(2).stall_after(1, ms),
        &[created, added, delta, "pause 5ms", delta, done, completed],
    );
    // Past the last delta: the item is held back, not the completion only.
    check(
        Reply::message("ab").deltas(2).stall_after(9, ms),
        &[created, added, delta, delta, "pause 5ms", done, completed],
    );
    check(
        Reply::message("").stall_after(0, ms),
        &[created, added, "pause 5ms", done, completed],
    );
    check(
        Reply::exec_command("ls").stall_after(1, ms),
        &[created, "pause 5ms", done, completed],
    );
    check(
        Reply::exec_command("ls").stall_after(7, ms),
        &[created, done, completed, "pause 5ms"],
    );
    check(
        Reply::raw_events([("a", json!({}))]).stall_after(0, ms),
        &["pause 5ms", "a"],
    );
    check(Reply::fail(500).stall_after(0, ms), &[]);
}

/// The `function_call` item of a tool-call reply's `response.output_item.done`.
fn call_item(reply: &Reply) -> serde_json::Value {
    let steps = steps(reply, 4).unwrap();
    let Step::Chunk(done) = &steps[1] else {
        panic!("{steps:?}")
    };
    let text = std::str::from_utf8(done).unwrap();
    let data = text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
    serde_json::from_str::<serde_json::Value>(data).unwrap()["item"].clone()
}

#[test]
fn a_tool_call_item_has_a_namespace_only_when_asked() {
    assert_eq!(
        call_item(&Reply::tool_call("lookup", json!({"k": 1}))),
        json!({"type": "function_call", "name": "lookup", "arguments": "{\"k\":1}", "call_id": "call-4"}),
    );
    assert_eq!(
        call_item(&Reply::tool_call("ask_color", json!({})).namespace("mcp__x")),
        json!({"type": "function_call", "name": "ask_color", "namespace": "mcp__x", "arguments": "{}", "call_id": "call-4"}),
    );
}

#[test]
fn setters_only_touch_the_replies_they_apply_to() {
    assert_eq!(Reply::fail(500).deltas(9).call_id("x"), Reply::fail(500));
    assert_eq!(Reply::message("m").call_id("x"), Reply::message("m"),);
    assert_eq!(Reply::message("m").namespace("x"), Reply::message("m"));
    assert_eq!(
        Reply::exec_command("ls").deltas(9),
        Reply::exec_command("ls")
    );
}

#[tokio::test(start_paused = true)]
async fn the_body_sends_every_chunk_and_sleeps_through_pauses() {
    let hour = Duration::from_secs(3600);
    let body = EventStreamBody::new(
        [
            Step::Chunk(Bytes::from_static(b"one")),
            Step::Pause(hour),
            Step::Chunk(Bytes::from_static(b"two")),
            Step::Pause(hour),
        ]
        .into(),
    );
    let start = tokio::time::Instant::now();
    let collected = body.collect().await.unwrap().to_bytes();
    assert_eq!(collected, "onetwo");
    // The paused clock only moves by the pauses themselves.
    assert_eq!(start.elapsed(), 2 * hour);
}
