//! Unit tests of the normalization rules, one `check` per rule family.

use serde_json::{Value, json};

use super::{KeyPattern, Normalizer, Rule, ValuePattern};

fn check(normalizer: &Normalizer, input: Value, expected: Value) {
    let output = normalizer.normalized(&input);
    assert_eq!(output, expected, "normalizing {input}");
    // Normalizing is idempotent: golden files hold normalized transcripts.
    assert_eq!(
        normalizer.normalized(&output),
        output,
        "renormalizing {output}"
    );
}

const UUID: &str = "0199c3a4-5b6e-7f00-8a9b-0123456789ab";
const ULID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

#[test]
fn timestamps_become_zero_or_a_placeholder() {
    let n = Normalizer::default();
    check(
        &n,
        json!({"method": "x", "emittedAtMs": 1764000000123_u64}),
        json!({"method": "x", "emittedAtMs": 0}),
    );
    check(
        &n,
        json!({"createdAt": 1764000000, "updatedAt": "2025-11-23T10:00:00Z", "startedAtMs": 5}),
        json!({"createdAt": 0, "updatedAt": "<timestamp>", "startedAtMs": 0}),
    );
    check(
        &n,
        json!({"turn": {"completedAt": "2025-11-23 10:00:00.5+01:00", "durationMs": 812}}),
        json!({"turn": {"completedAt": "<timestamp>", "durationMs": 0}}),
    );
    // Keys that merely end in "at", and values that are no timestamps, stay.
    check(
        &n,
        json!({"format": 5, "At": 1, "createdAt": "yesterday", "lastAt": null, "durationMs": "1s"}),
        json!({"format": 5, "At": 1, "createdAt": "yesterday", "lastAt": null, "durationMs": "1s"}),
    );
}

#[test]
fn generated_ids_become_a_placeholder_and_chosen_ones_stay() {
    let n = Normalizer::default();
    check(
        &n,
        json!({"threadId": UUID, "turnId": ULID, "callId": "call_abc123", "requestId": 0}),
        json!({"threadId": "<id>", "turnId": "<id>", "callId": "<id>", "requestId": 0}),
    );
    check(
        &n,
        json!({"threadId": "t1", "itemId": "call_", "rootTurnId": UUID.to_uppercase()}),
        json!({"threadId": "t1", "itemId": "call_", "rootTurnId": "<id>"}),
    );
    // `id` is only generated under a thread, turn or item.
    check(
        &n,
        json!({
            "id": UUID,
            "thread": {"id": UUID, "turns": [{"id": ULID, "items": [{"id": "call_1", "type": "x"}]}]},
            "item": {"id": "msg-1"},
            "other": {"id": UUID},
        }),
        json!({
            "id": UUID,
            "thread": {"id": "<id>", "turns": [{"id": "<id>", "items": [{"id": "<id>", "type": "x"}]}]},
            "item": {"id": "msg-1"},
            "other": {"id": UUID},
        }),
    );
    // Near misses are not ids.
    let near = json!({
        "threadId": "0199c3a4-5b6e-7f00-8a9b-0123456789a",
        "turnId": "0199c3a4x5b6e-7f00-8a9b-0123456789ab",
        "itemId": "81ARZ3NDEKTSV4RRFFQ69G5FAV",
        "callId": "01ARZ3NDEKTSV4RRFFQ69G5FAI",
    });
    check(&n, near.clone(), near);
}

#[test]
fn paths_are_blanked_by_key_and_substituted_by_prefix() {
    let n = Normalizer::default()
        .path_prefix("/tmp/rec-1/", "$TMP")
        .path_prefix("/tmp/rec-1/ws", "$WORK");
    check(
        &n,
        json!({"cwd": "/tmp/rec-1/ws", "codexHome": "/home/u/.codex", "sandbox": {"cwd": 3}}),
        json!({"cwd": "<path>", "codexHome": "<path>", "sandbox": {"cwd": 3}}),
    );
    check(
        &n,
        json!({
            "text": "cat /tmp/rec-1/a.txt and /tmp/rec-1/ws/b; not /tmp/rec-10 or /var/tmp/rec-1",
            "list": ["/tmp/rec-1", "x/tmp/rec-1/y", "'/tmp/rec-1/ws'"],
            "changes": {"/tmp/rec-1/ws/hello.txt": {"kind": "add"}},
        }),
        json!({
            "text": "cat $TMP/a.txt and $WORK/b; not /tmp/rec-10 or /var/tmp/rec-1",
            "list": ["$TMP", "x/tmp/rec-1/y", "'$WORK'"],
            "changes": {"$WORK/hello.txt": {"kind": "add"}},
        }),
    );
}

#[test]
fn rules_are_data_that_users_extend() {
    let n = Normalizer::empty()
        .rule(Rule::new(
            "model",
            KeyPattern::exact("model"),
            ValuePattern::Any,
        ))
        .rule(Rule::new("seq", KeyPattern::suffix("Seq"), ValuePattern::Number).within(["delta"]))
        .rule(Rule::new(
            "msg",
            KeyPattern::exact("id"),
            ValuePattern::Prefix("msg_".to_owned()),
        ));
    check(
        &n,
        json!({
            "model": {"name": "gpt"},
            "delta": {"chunkSeq": 7, "text": "hi"},
            "chunkSeq": 7,
            "id": "msg_42",
            "emittedAtMs": 5,
        }),
        json!({
            "model": "<model>",
            "delta": {"chunkSeq": 0, "text": "hi"},
            "chunkSeq": 7,
            "id": "<msg>",
            "emittedAtMs": 5,
        }),
    );
    assert_eq!(n.rules().len(), 3);
    assert!(Normalizer::empty().rules().is_empty());
    assert_eq!(Normalizer::default().rules().len(), 7);
}

#[test]
fn the_first_matching_rule_decides() {
    let n = Normalizer::empty()
        .rule(Rule::new(
            "first",
            KeyPattern::exact("k"),
            ValuePattern::Number,
        ))
        .rule(Rule::new(
            "second",
            KeyPattern::exact("k"),
            ValuePattern::Any,
        ));
    check(
        &n,
        json!([{"k": 5}, {"k": true}]),
        json!([{"k": 0}, {"k": "<second>"}]),
    );
}
