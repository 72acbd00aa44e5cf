//! What the turn table guarantees that its users cannot easily reach: a
//! turn is not reconciled while it lends texts to a frame being decoded.

use serde_json::json;
use serde_json::value::to_raw_value;

use super::*;
use crate::StreamKind;

#[test]
fn a_turn_lending_texts_to_a_frame_is_not_reconciled_meanwhile() {
    let turn = TurnShared::new("t", "u");
    let text = "long answer ".repeat(4_000);
    turn.deliver_delta(StreamKind::AgentMessage, 0, "m1", &text);
    let params = to_raw_value(&json!({"threadId": "t", "turnId": "u", "completedAtMs": 1,
        "item": {"type": "agentMessage", "id": "m1", "text": text}}))
    .unwrap();
    let texts = LargeTexts::read("item/completed", &params).unwrap();
    assert!(turn.lend(&texts));

    let ended: Turn =
        serde_json::from_value(json!({"id": "u", "items": [], "status": "completed"})).unwrap();
    assert!(!turn.reconcile(&ended));
    assert!(!turn.has_ended());
    turn.restore(&texts);
    assert!(turn.reconcile(&ended));
    let outcome = turn.take_outcome().unwrap().unwrap();
    assert_eq!(outcome.streamed.len(), 1);
    assert_eq!(outcome.streamed[0].text, text);
}
