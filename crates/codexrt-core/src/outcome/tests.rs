//! Reassembly of streamed deltas and the choice of the final text.

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{Turn, TurnStatus};
use serde_json::{Value, json};

use super::*;

fn note(method: &str, params: Value) -> ServerNotification {
    let raw = serde_json::value::to_raw_value(&params).unwrap();
    ServerNotification::decode(method, Some(&raw)).unwrap()
}

/// What the router hands the accumulator for a delta notification.
struct Delta(StreamKind, &'static str, &'static str);

fn delta(method: &str, item: &'static str, text: &'static str) -> Delta {
    Delta(StreamKind::of_method(method).unwrap(), item, text)
}

trait Observe<T> {
    fn see(&mut self, what: T);
}

impl Observe<Delta> for Accumulator {
    fn see(&mut self, Delta(kind, item, text): Delta) {
        self.delta(item, kind, text);
    }
}

impl Observe<ServerNotification> for Accumulator {
    fn see(&mut self, notification: ServerNotification) {
        self.observe(&Arc::new(notification));
    }
}

fn turn(status: &str, items: Value) -> Turn {
    serde_json::from_value(json!({"id": "u", "items": items, "status": status, "durationMs": 9}))
        .unwrap()
}

#[test]
fn deltas_are_reassembled_per_item_and_stream() {
    let mut acc = Accumulator::default();
    for n in [
        delta("item/reasoning/textDelta", "r1", "thin"),
        delta("item/agentMessage/delta", "m1", "Hel"),
        delta("item/reasoning/textDelta", "r1", "king"),
        delta("item/commandExecution/outputDelta", "c1", "out"),
        delta("item/agentMessage/delta", "m1", "lo"),
        delta("item/fileChange/outputDelta", "f1", "patched"),
        delta("item/reasoning/summaryTextDelta", "r1", "sum"),
    ] {
        acc.see(n);
    }
    let outcome = acc
        .finish("t", &turn("completed", json!([])))
        .into_outcome();
    assert_eq!(
        streams(&outcome),
        [
            ("r1", StreamKind::Reasoning, "thinking"),
            ("m1", StreamKind::AgentMessage, "Hello"),
            ("c1", StreamKind::CommandOutput, "out"),
            ("f1", StreamKind::FileChangeOutput, "patched"),
            ("r1", StreamKind::ReasoningSummary, "sum"),
        ]
    );
    // No completed agent message: the final text comes from the deltas.
    assert_eq!(outcome.final_text(), Some("Hello"));
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.timings.duration_ms, Some(9));
}

#[test]
fn the_completed_item_wins_and_turn_items_are_merged() {
    let mut acc = Accumulator::default();
    acc.see(delta("item/agentMessage/delta", "m1", "Hel"));
    acc.see(note(
        "item/completed",
        json!({"threadId": "t", "turnId": "u", "completedAtMs": 1, "item": {"type": "agentMessage", "id": "m1", "text": "Hello!"}}),
    ));
    acc.see(note(
        "error",
        json!({"threadId": "t", "turnId": "u", "willRetry": false, "error": {"message": "boom", "codexErrorInfo": "internalServerError"}}),
    ));
    let outcome = acc
        .finish(
            "t",
            &turn(
                "failed",
                json!([
                    {"type": "agentMessage", "id": "m1", "text": "Hello!"},
                    {"type": "agentMessage", "id": "m2", "text": "Later"},
                ]),
            ),
        )
        .into_outcome();
    assert_eq!(outcome.items.len(), 2);
    assert_eq!(outcome.final_text(), Some("Later"));
    assert_eq!(outcome.status, TurnStatus::Failed);
    assert_eq!(outcome.error.map(|e| e.message), Some("boom".to_owned()));
}

fn completed(item: Value) -> ServerNotification {
    note(
        "item/completed",
        json!({"threadId": "t", "turnId": "u", "completedAtMs": 1, "item": item}),
    )
}

fn streams(outcome: &TurnOutcome) -> Vec<(&str, StreamKind, &str)> {
    outcome
        .streamed
        .iter()
        .map(|s| (s.item_id.as_str(), s.kind, s.text.as_str()))
        .collect()
}

#[test]
fn a_stream_its_item_completes_with_is_held_once_until_the_outcome() {
    let mut acc = Accumulator::default();
    for n in [
        delta("item/agentMessage/delta", "m1", "Hel"),
        delta("item/agentMessage/delta", "m1", "lo"),
        delta("item/plan/delta", "p1", "1. go"),
        delta("item/commandExecution/outputDelta", "c1", "out"),
        delta("item/commandExecution/outputDelta", "c2", "partial"),
        delta("item/reasoning/textDelta", "r1", "hm"),
    ] {
        acc.see(n);
    }
    acc.see(completed(
        json!({"type": "agentMessage", "id": "m1", "text": "Hello"}),
    ));
    acc.see(completed(
        json!({"type": "plan", "id": "p1", "text": "1. go"}),
    ));
    acc.see(completed(
        json!({"type": "commandExecution", "id": "c1", "command": "ls",
        "cwd": "/", "status": "completed", "commandActions": [], "aggregatedOutput": "out"}),
    ));
    // Another text than the stream's: the stream keeps its own.
    acc.see(completed(
        json!({"type": "commandExecution", "id": "c2", "command": "ls",
        "cwd": "/", "status": "completed", "commandActions": [], "aggregatedOutput": "whole"}),
    ));
    acc.see(completed(
        json!({"type": "reasoning", "id": "r1", "summary": [], "content": ["hm"]}),
    ));
    // The message, the plan and the first command's output are held by
    // their items alone now.
    let held: Vec<_> = acc.streamed.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(held, ["", "", "", "partial", "hm"]);

    let outcome = acc
        .finish("t", &turn("completed", json!([])))
        .into_outcome();
    assert_eq!(
        streams(&outcome),
        [
            ("m1", StreamKind::AgentMessage, "Hello"),
            ("p1", StreamKind::Plan, "1. go"),
            ("c1", StreamKind::CommandOutput, "out"),
            ("c2", StreamKind::CommandOutput, "partial"),
            ("r1", StreamKind::Reasoning, "hm"),
        ]
    );
    assert_eq!(outcome.final_text(), Some("Hello"));
}

#[test]
fn a_delta_after_its_item_completed_extends_the_whole_text() {
    let mut acc = Accumulator::default();
    acc.see(delta("item/agentMessage/delta", "m1", "Hel"));
    acc.see(delta("item/agentMessage/delta", "m1", "lo"));
    acc.see(completed(
        json!({"type": "agentMessage", "id": "m1", "text": "Hello"}),
    ));
    acc.see(delta("item/agentMessage/delta", "m1", "!"));
    let outcome = acc
        .finish("t", &turn("completed", json!([])))
        .into_outcome();
    assert_eq!(
        streams(&outcome),
        [("m1", StreamKind::AgentMessage, "Hello!")]
    );
    // The item keeps what it completed with.
    assert_eq!(outcome.final_text(), Some("Hello"));
}

#[test]
fn an_item_the_reader_still_holds_is_copied_into_the_outcome() {
    let item = json!({"type": "agentMessage", "id": "m1", "text": "Hello"});
    let held_by_reader = Arc::new(completed(item.clone()));
    let mut acc = Accumulator::default();
    acc.observe(&held_by_reader);
    acc.see(completed(
        json!({"type": "agentMessage", "id": "m2", "text": "Bye"}),
    ));
    let outcome = acc
        .finish("t", &turn("completed", json!([])))
        .into_outcome();
    let ids: Vec<_> = outcome.items.iter().map(|i| i.kind.id()).collect();
    assert_eq!(ids, [Some("m1"), Some("m2")]);
    assert_eq!(outcome.final_text(), Some("Bye"));
    // The reader's notification is whole.
    let ServerNotification::ItemCompleted(done) = &*held_by_reader else {
        panic!("not an item/completed");
    };
    assert_eq!(done.item, outcome.items[0]);
}

#[test]
fn deltas_that_go_back_to_older_streams_land_in_them() {
    // 300 messages whose deltas come in two rounds, each round visiting
    // every message: every delta of the second round extends a stream that
    // is not the newest, and half the messages complete in between.
    let ids: Vec<&'static str> = (0..300)
        .map(|n| &*Box::leak(format!("m{n}").into_boxed_str()))
        .collect();
    let mut acc = Accumulator::default();
    for id in &ids {
        acc.see(delta("item/agentMessage/delta", id, "a"));
        acc.see(delta("item/reasoning/textDelta", id, "r"));
    }
    for id in ids.iter().step_by(2) {
        acc.see(completed(
            json!({"type": "agentMessage", "id": id, "text": "a"}),
        ));
    }
    for id in &ids {
        acc.see(delta("item/agentMessage/delta", id, "b"));
    }
    let outcome = acc
        .finish("t", &turn("completed", json!([])))
        .into_outcome();
    let expected: Vec<(&str, StreamKind, &str)> = ids
        .iter()
        .flat_map(|id| {
            [
                (*id, StreamKind::AgentMessage, "ab"),
                (*id, StreamKind::Reasoning, "r"),
            ]
        })
        .collect();
    assert_eq!(streams(&outcome), expected);
    // The completed items keep what they completed with.
    assert!(outcome.items.iter().all(|item| matches!(
        &item.kind,
        ThreadItemKind::AgentMessage { text, .. } if text == "a"
    )));
    assert_eq!(outcome.items.len(), 150);
}
