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
        self.observe(&notification);
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
    let outcome = acc.finish("t", &turn("completed", json!([])));
    let streamed: Vec<_> = outcome
        .streamed
        .iter()
        .map(|s| (s.item_id.as_str(), s.kind, s.text.as_str()))
        .collect();
    assert_eq!(
        streamed,
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
    let outcome = acc.finish(
        "t",
        &turn(
            "failed",
            json!([
                {"type": "agentMessage", "id": "m1", "text": "Hello!"},
                {"type": "agentMessage", "id": "m2", "text": "Later"},
            ]),
        ),
    );
    assert_eq!(outcome.items.len(), 2);
    assert_eq!(outcome.final_text(), Some("Later"));
    assert_eq!(outcome.status, TurnStatus::Failed);
    assert_eq!(outcome.error.map(|e| e.message), Some("boom".to_owned()));
}
