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
        .finish("t", &turn("completed", json!([])), None)
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
            None,
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
        .finish("t", &turn("completed", json!([])), None)
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
        .finish("t", &turn("completed", json!([])), None)
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
        .finish("t", &turn("completed", json!([])), None)
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

/// Which of the accumulator's completed items it holds alone, out of
/// their notifications.
fn alone(acc: &Accumulator) -> Vec<bool> {
    acc.items
        .iter()
        .map(|completed| matches!(completed, Completed::Owned(_)))
        .collect()
}

#[test]
fn items_the_reader_let_go_of_are_moved_out_of_their_notifications_in_order() {
    let item = |id: &str| {
        json!({"type": "commandExecution", "id": id, "command": "ls", "cwd": "/",
            "status": "completed", "aggregatedOutput": "out",
            "commandActions": [{"type": "listFiles", "command": "ls", "path": null}]})
    };
    let decoded: Vec<ThreadItem> = ["c1", "c2", "c3", "c4", "c5"]
        .into_iter()
        .map(|id| serde_json::from_value(item(id)).unwrap())
        .collect();
    let mut acc = Accumulator::default();
    // The reader still holds the first; it let go of the next two at once.
    let held_by_reader = Arc::new(completed(item("c1")));
    acc.observe(&held_by_reader);
    acc.see(completed(item("c2")));
    acc.see(completed(item("c3")));
    acc.see(completed(item("c4")));
    // None moves past the one the reader holds.
    assert_eq!(alone(&acc), [false, false, false, false]);

    drop(held_by_reader);
    acc.see(completed(item("c5")));
    // The newest is looked at when the next one completes.
    assert_eq!(alone(&acc), [true, true, true, true, false]);
    assert_eq!(acc.alone, 4);
    for completed in &acc.items[..4] {
        let Some(ThreadItemKind::CommandExecution {
            command_actions, ..
        }) = completed.item().map(|item| &item.kind)
        else {
            panic!("not a command: {completed:?}");
        };
        assert_eq!(command_actions.capacity(), 1);
    }

    let outcome = acc
        .finish("t", &turn("completed", json!([])), None)
        .into_outcome();
    assert_eq!(outcome.items, decoded);
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
        .finish("t", &turn("completed", json!([])), None)
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

/// A text long enough to be lent, with characters JSON escapes.
fn long_text(seed: &str) -> String {
    let mut text = String::new();
    while text.len() < lend::LEND_FROM + 100 {
        text.push_str(seed);
        text.push_str(" \"said\"\n\t\\ é 🦀 \u{7}");
    }
    text
}

/// Feeds `text` to the accumulator as deltas of about 1,000 bytes.
fn stream(acc: &mut Accumulator, kind: StreamKind, item: &str, text: &str) {
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(1000);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, after) = rest.split_at(cut);
        acc.delta(item, kind, piece);
        rest = after;
    }
}

/// What the router does with a frame: lends what the accumulator may lend
/// to it, decodes it, and hands it over. Returns the notification and
/// whether anything was lent.
fn arrive(acc: &mut Accumulator, method: &str, params: Value) -> (Arc<ServerNotification>, bool) {
    let raw = serde_json::value::to_raw_value(&params).unwrap();
    let texts = lend::LargeTexts::read(method, &raw);
    let lent = texts.as_ref().is_some_and(|texts| acc.lend(texts));
    assert_eq!(acc.is_lending(), lent);
    let notification = Arc::new(ServerNotification::decode(method, Some(&raw)).unwrap());
    match (&texts, lent) {
        (Some(texts), true) => acc.observe_lent(&notification, texts),
        _ => acc.observe(&notification),
    }
    assert!(!acc.is_lending());
    (notification, lent)
}

fn message(id: &str, text: &str) -> Value {
    json!({"type": "agentMessage", "id": id, "text": text})
}

fn command(id: &str, output: &str) -> Value {
    json!({"type": "commandExecution", "id": id, "command": "ls", "cwd": "/",
        "status": "completed", "commandActions": [], "aggregatedOutput": output})
}

fn item_completed(item: Value) -> Value {
    json!({"threadId": "t", "turnId": "u", "completedAtMs": 1, "item": item})
}

fn turn_completed(items: Value) -> Value {
    json!({"threadId": "t", "turn": {"id": "u", "items": items, "status": "completed"}})
}

/// The text `kind` of the completed item `index`, as the accumulator holds
/// it now.
fn held_text(acc: &Accumulator, index: usize, kind: StreamKind) -> &str {
    let item = acc.items.get(index).and_then(Completed::item).unwrap();
    lend::item_text(item, kind).unwrap()
}

/// A long message and a long command output, streamed, completed and
/// carried again by `turn/completed`: each frame gets the texts lent, and
/// the outcome is whole, whether the reader still holds the final
/// notification when the outcome is handed out or not.
fn long_texts_round_trip(reader_holds_the_end: bool) {
    let (text, output) = (long_text("message"), long_text("output"));
    let mut acc = Accumulator::default();
    stream(&mut acc, StreamKind::AgentMessage, "m1", &text);
    stream(&mut acc, StreamKind::CommandOutput, "c1", &output);

    // `item/completed`: the stream's copy is freed while the frame decodes,
    // and the item holds the text from then on.
    for item in [message("m1", &text), command("c1", &output)] {
        let (done, lent) = arrive(&mut acc, "item/completed", item_completed(item));
        assert!(lent);
        drop(done);
    }
    assert!(acc.streamed.iter().all(|s| s.text.is_empty()));
    assert_eq!(acc.held_by, [Some(0), Some(1)]);

    // `turn/completed` carries both again: the items lend theirs to it.
    let items = json!([message("m1", &text), command("c1", &output)]);
    let raw = serde_json::value::to_raw_value(&turn_completed(items)).unwrap();
    let texts = lend::LargeTexts::read("turn/completed", &raw).unwrap();
    assert!(acc.lend(&texts));
    assert_eq!(held_text(&acc, 0, StreamKind::AgentMessage), "");
    assert_eq!(held_text(&acc, 1, StreamKind::CommandOutput), "");
    let ending = Arc::new(ServerNotification::decode("turn/completed", Some(&raw)).unwrap());
    acc.observe_lent(&ending, &texts);
    let ServerNotification::TurnCompleted(turn) = &*ending else {
        panic!("not a turn/completed");
    };
    let finished = acc.finish("t", &turn.turn, Some(&ending));
    let outcome = if reader_holds_the_end {
        let outcome = finished.into_outcome();
        // The reader's notification is whole.
        let ServerNotification::TurnCompleted(turn) = &*ending else {
            panic!("not a turn/completed");
        };
        assert_eq!(turn.turn.items, outcome.items);
        outcome
    } else {
        drop(ending);
        finished.into_outcome()
    };
    assert_eq!(
        streams(&outcome),
        [
            ("m1", StreamKind::AgentMessage, text.as_str()),
            ("c1", StreamKind::CommandOutput, output.as_str()),
        ]
    );
    let texts: Vec<_> = outcome
        .items
        .iter()
        .zip([StreamKind::AgentMessage, StreamKind::CommandOutput])
        .map(|(item, kind)| lend::item_text(item, kind))
        .collect();
    assert_eq!(texts, [Some(text.as_str()), Some(output.as_str())]);
    assert_eq!(outcome.final_text(), Some(text.as_str()));
}

#[test]
fn long_texts_are_lent_to_the_frames_that_carry_them_and_taken_back() {
    long_texts_round_trip(false);
}

#[test]
fn texts_lent_to_an_end_the_reader_still_holds_are_copied_back() {
    long_texts_round_trip(true);
}

#[test]
fn lent_texts_are_restored_from_a_frame_that_did_not_decode_for_the_turn() {
    let (text, plan) = (long_text("message"), long_text("plan"));
    let mut acc = Accumulator::default();
    stream(&mut acc, StreamKind::AgentMessage, "m1", &text);
    let raw = serde_json::value::to_raw_value(&item_completed(message("m1", &text))).unwrap();
    let texts = lend::LargeTexts::read("item/completed", &raw).unwrap();
    assert!(acc.lend(&texts));
    assert_eq!(acc.streamed[0].text, "");
    acc.restore(&texts);
    assert!(!acc.is_lending());
    assert_eq!(acc.streamed[0].text, text);

    // The same for an item's text lent to the end of the turn.
    let plan_item = json!({"type": "plan", "id": "p1", "text": plan});
    arrive(
        &mut acc,
        "item/completed",
        item_completed(plan_item.clone()),
    );
    let raw = serde_json::value::to_raw_value(&turn_completed(json!([plan_item]))).unwrap();
    let texts = lend::LargeTexts::read("turn/completed", &raw).unwrap();
    assert!(acc.lend(&texts));
    assert_eq!(held_text(&acc, 0, StreamKind::Plan), "");
    acc.restore(&texts);
    assert_eq!(held_text(&acc, 0, StreamKind::Plan), plan);
    let outcome = acc
        .finish("t", &turn("completed", json!([])), None)
        .into_outcome();
    assert_eq!(
        streams(&outcome),
        [("m1", StreamKind::AgentMessage, text.as_str())]
    );
    assert_eq!(outcome.items.len(), 1);
    assert_eq!(
        lend::item_text(&outcome.items[0], StreamKind::Plan),
        Some(plan.as_str())
    );
}

#[test]
fn a_lent_text_the_decoded_item_does_not_carry_is_taken_back() {
    // The frame read as an agent message, but another notification was
    // decoded from it (the router sends it elsewhere then): the stream
    // takes its text back from the frame.
    let text = long_text("message");
    let mut acc = Accumulator::default();
    stream(&mut acc, StreamKind::AgentMessage, "m1", &text);
    let raw = serde_json::value::to_raw_value(&item_completed(message("m1", &text))).unwrap();
    let texts = lend::LargeTexts::read("item/completed", &raw).unwrap();
    assert!(acc.lend(&texts));
    let other = Arc::new(completed(
        json!({"type": "reasoning", "id": "m1", "summary": [], "content": []}),
    ));
    acc.observe_lent(&other, &texts);
    assert!(!acc.is_lending());
    assert_eq!(acc.streamed[0].text, text);
    assert_eq!(acc.held_by, [None]);
}

#[test]
fn only_a_text_the_frame_carries_exactly_is_lent() {
    let text = long_text("message");
    let mut other = text.clone();
    other.replace_range(0..1, "M");
    let mut acc = Accumulator::default();
    stream(&mut acc, StreamKind::AgentMessage, "m1", &text);
    // Another text for the item: the stream keeps its own.
    let (_, lent) = arrive(
        &mut acc,
        "item/completed",
        item_completed(message("m1", &other)),
    );
    assert!(!lent);
    assert_eq!(acc.streamed[0].text, text);
    // A turn whose item's text differs, and one the reader still holds.
    let (_, lent) = arrive(
        &mut acc,
        "turn/completed",
        turn_completed(json!([message("m1", &text)])),
    );
    assert!(!lent);
    let reader = arrive(
        &mut acc,
        "item/completed",
        item_completed(message("m2", &text)),
    )
    .0;
    let (_, lent) = arrive(
        &mut acc,
        "turn/completed",
        turn_completed(json!([message("m2", &text)])),
    );
    assert!(!lent, "the reader holds the item");
    drop(reader);
    let outcome = acc
        .finish("t", &turn("completed", json!([])), None)
        .into_outcome();
    assert_eq!(
        streams(&outcome),
        [("m1", StreamKind::AgentMessage, text.as_str())]
    );
    let texts: Vec<_> = outcome
        .items
        .iter()
        .map(|item| lend::item_text(item, StreamKind::AgentMessage))
        .collect();
    assert_eq!(texts, [Some(other.as_str()), Some(text.as_str())]);
}

/// One item of a randomized turn: its stream, how it completes, and who
/// holds what when.
#[derive(Debug, Clone)]
struct Plan {
    kind: StreamKind,
    /// Long enough to be lent, or short.
    long: bool,
    seed: usize,
    /// 0: completes with the streamed text; 1: with another text; 2: never.
    completes: u8,
    /// The `item/completed` frame does not decode.
    broken: bool,
    /// The reader keeps the `item/completed` notification.
    reader_keeps: bool,
    /// `turn/completed` carries the item again.
    in_turn: bool,
}

fn plan_strategy() -> impl proptest::strategy::Strategy<Value = Plan> {
    use proptest::prelude::*;
    (
        prop_oneof![
            Just(StreamKind::AgentMessage),
            Just(StreamKind::Plan),
            Just(StreamKind::CommandOutput),
        ],
        any::<bool>(),
        0..64usize,
        0..3u8,
        proptest::bool::weighted(0.2),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, long, seed, completes, broken, reader_keeps, in_turn)| Plan {
                kind,
                long,
                seed,
                completes,
                broken,
                reader_keeps,
                in_turn,
            },
        )
}

/// A text of characters JSON escapes and characters it does not.
fn varied_text(long: bool, seed: usize) -> String {
    const PIECES: [&str; 8] = ["ab", "\"", "\\", "\n", "🦀", "é", "\u{1}", " word "];
    let len = if long {
        lend::LEND_FROM + seed * 13
    } else {
        seed
    };
    let mut text = String::new();
    let mut n = seed;
    while text.len() < len {
        text.push_str(PIECES[n % PIECES.len()]);
        n = n.wrapping_mul(31).wrapping_add(7);
    }
    text
}

fn item_of(kind: StreamKind, id: &str, text: &str) -> Value {
    match kind {
        StreamKind::Plan => json!({"type": "plan", "id": id, "text": text}),
        StreamKind::CommandOutput => command(id, text),
        _ => message(id, text),
    }
}

/// Runs `plans` as one turn through an accumulator, lending when `lends`
/// the way the router does, and returns the outcome.
fn run_plans(plans: &[Plan], lends: bool, reader_keeps_end: bool) -> TurnOutcome {
    let mut acc = Accumulator::default();
    let mut kept = Vec::new();
    let texts: Vec<(String, String)> = plans
        .iter()
        .map(|plan| {
            let text = varied_text(plan.long, plan.seed);
            let mut other = text.clone();
            other.push('!');
            (text, other)
        })
        .collect();
    for (n, (plan, (text, _))) in plans.iter().zip(&texts).enumerate() {
        stream(&mut acc, plan.kind, &format!("i{n}"), text);
    }
    for (n, (plan, (text, other))) in plans.iter().zip(&texts).enumerate() {
        let completed = match plan.completes {
            0 => text,
            1 => other,
            _ => continue,
        };
        let mut params = item_completed(item_of(plan.kind, &format!("i{n}"), completed));
        if plan.broken {
            params.as_object_mut().unwrap().remove("completedAtMs");
        }
        let raw = serde_json::value::to_raw_value(&params).unwrap();
        let texts = if lends {
            lend::LargeTexts::read("item/completed", &raw)
        } else {
            None
        };
        let lent = texts.as_ref().is_some_and(|texts| acc.lend(texts));
        match ServerNotification::decode("item/completed", Some(&raw)) {
            Ok(notification) => {
                let notification = Arc::new(notification);
                match (&texts, lent) {
                    (Some(texts), true) => acc.observe_lent(&notification, texts),
                    _ => acc.observe(&notification),
                }
                if plan.reader_keeps {
                    kept.push(notification);
                }
            }
            Err(_) => {
                if let (Some(texts), true) = (&texts, lent) {
                    acc.restore(texts);
                }
            }
        }
        assert!(!acc.is_lending());
    }
    let items: Vec<Value> = plans
        .iter()
        .zip(&texts)
        .enumerate()
        .filter(|(_, (plan, _))| plan.in_turn)
        .map(|(n, (plan, (text, other)))| {
            let carried = if plan.completes == 1 { other } else { text };
            item_of(plan.kind, &format!("i{n}"), carried)
        })
        .collect();
    let raw = serde_json::value::to_raw_value(&turn_completed(Value::Array(items))).unwrap();
    let texts = if lends {
        lend::LargeTexts::read("turn/completed", &raw)
    } else {
        None
    };
    let lent = texts.as_ref().is_some_and(|texts| acc.lend(texts));
    let ending = Arc::new(ServerNotification::decode("turn/completed", Some(&raw)).unwrap());
    match (&texts, lent) {
        (Some(texts), true) => acc.observe_lent(&ending, texts),
        _ => acc.observe(&ending),
    }
    let ServerNotification::TurnCompleted(done) = &*ending else {
        panic!("not a turn/completed");
    };
    let finished = acc.finish("t", &done.turn, Some(&ending));
    if !reader_keeps_end {
        drop(ending);
        return finished.into_outcome();
    }
    let outcome = finished.into_outcome();
    drop((ending, kept));
    outcome
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever the items, their texts, the frames that do not decode and
    /// what the reader keeps, a turn that lends its texts to large frames
    /// ends with the outcome of one that never does.
    #[test]
    fn lending_never_changes_the_outcome(
        plans in proptest::collection::vec(plan_strategy(), 1..5),
        reader_keeps_end in proptest::prelude::any::<bool>(),
    ) {
        let lending = run_plans(&plans, true, reader_keeps_end);
        let plain = run_plans(&plans, false, reader_keeps_end);
        proptest::prop_assert_eq!(lending, plain);
    }
}
