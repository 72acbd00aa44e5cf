//! Reading a large frame's long texts, and comparing JSON strings in place.

use proptest::prelude::*;
use serde_json::json;
use serde_json::value::{RawValue, to_raw_value};

use super::*;

fn raw(value: &serde_json::Value) -> Box<RawValue> {
    to_raw_value(value).unwrap()
}

/// A text of `len` characters or more, with something to escape in it.
fn long(len: usize, seed: &str) -> String {
    let mut text = String::with_capacity(len + 64);
    while text.len() < len {
        text.push_str(seed);
        text.push_str(" \"quoted\"\n\ttabbed \\ é ✓ 🦀 \u{1}");
    }
    text
}

#[test]
fn equal_texts_compare_equal_however_they_are_escaped() {
    for (raw, text) in [
        (r#""""#, ""),
        (r#""plain""#, "plain"),
        (r#""a\"b\\c\/d""#, "a\"b\\c/d"),
        (r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (r#""\u0041\u00e9\u2713""#, "Aé✓"),
        (r#""\u00E9\u00e9""#, "éé"),
        (r#""\ud83e\udd80 crab""#, "🦀 crab"),
        (r#""🦀 raw""#, "🦀 raw"),
    ] {
        assert!(json_text_equals(raw, text), "{raw} against {text:?}");
        assert_eq!(json_text(raw), text, "{raw}");
        assert_eq!(serde_json::from_str::<String>(raw).unwrap(), text, "{raw}");
    }
}

#[test]
fn other_texts_and_invalid_strings_do_not() {
    for (raw, text) in [
        (r#""abc""#, "abd"),
        (r#""abc""#, "ab"),
        (r#""ab""#, "abc"),
        (r#""a\nb""#, "a\\nb"),
        (r#""\u0041""#, "a"),
        // Not a string, or not a whole one.
        ("42", "42"),
        (r#""abc"#, "abc"),
        (r#""abc\""#, "abc\""),
        (r#""a"b""#, "a\"b"),
        // What serde_json refuses as well.
        ("\"a\u{1}b\"", "a\u{1}b"),
        (r#""\x41""#, "A"),
        (r#""\u00g1""#, "?"),
        (r#""\ud83e""#, "\u{fffd}"),
        (r#""\ud83e\u0041""#, "\u{fffd}A"),
        (r#""\udd80""#, "\u{fffd}"),
        (r#""\u12""#, "?"),
        (r#""trailing\""#, "trailing\\"),
    ] {
        assert!(!json_text_equals(raw, text), "{raw} against {text:?}");
    }
}

proptest! {
    /// Any text, as serde_json writes it, or with every character written
    /// as a `\u` escape (surrogate pairs beyond the basic plane), compares
    /// equal to itself and decodes to itself, and to nothing one character
    /// shorter or longer.
    #[test]
    fn any_text_round_trips(text in any::<String>(), escape_all in any::<bool>()) {
        let raw = if escape_all {
            let mut raw = String::from("\"");
            for unit in text.encode_utf16() {
                raw.push_str(&format!("\\u{unit:04X}"));
            }
            raw.push('"');
            raw
        } else {
            serde_json::to_string(&text).unwrap()
        };
        prop_assert_eq!(serde_json::from_str::<String>(&raw).unwrap(), text.clone());
        prop_assert!(json_text_equals(&raw, &text));
        prop_assert_eq!(json_text(&raw), text.clone());
        let mut longer = text.clone();
        longer.push('x');
        prop_assert!(!json_text_equals(&raw, &longer));
        let mut shorter = text.clone();
        if shorter.pop().is_some() {
            prop_assert!(!json_text_equals(&raw, &shorter));
        }
    }

    /// Whatever bytes stand between the quotes, the comparison agrees with
    /// serde_json: equal exactly when serde_json decodes them to the text.
    #[test]
    fn agrees_with_serde_json_on_any_body(body in "[a-c\"\\\\/ubfnrtdD0-9\u{1}é]{0,16}") {
        let raw = format!("\"{body}\"");
        match serde_json::from_str::<String>(&raw) {
            Ok(text) => {
                prop_assert!(json_text_equals(&raw, &text));
                prop_assert_eq!(json_text(&raw), text);
            }
            Err(_) => prop_assert!(!json_text_equals(&raw, &json_text(&raw))),
        }
    }
}

#[test]
fn a_large_item_completed_reads_as_its_long_text() {
    let text = long(LEND_FROM, "message");
    let params = raw(&json!({
        "completedAtMs": 1,
        "item": {"id": "m\\1", "phase": null, "text": text, "type": "agentMessage"},
        "threadId": "t1",
        "turnId": "u1",
    }));
    let texts = LargeTexts::read(methods::ITEM_COMPLETED, &params).unwrap();
    assert_eq!((&*texts.thread_id, &*texts.turn_id), ("t1", "u1"));
    assert!(!texts.ends_turn);
    let [only] = &texts.texts[..] else {
        panic!("one long text expected: {texts:?}");
    };
    assert_eq!(
        (only.position, &*only.item_id, only.kind),
        (0, "m\\1", StreamKind::AgentMessage)
    );
    assert_eq!(only.text.get(), serde_json::to_string(&text).unwrap());
    // The same method, with the text short, or another method: nothing.
    let short = raw(&json!({
        "item": {"id": "m1", "text": "short", "type": "agentMessage", "pad": long(LEND_FROM, "x")},
        "threadId": "t1",
        "turnId": "u1",
    }));
    assert!(LargeTexts::read(methods::ITEM_COMPLETED, &short).is_none());
    assert!(LargeTexts::read(methods::ITEM_STARTED, &params).is_none());
}

#[test]
fn a_large_turn_completed_reads_as_the_long_texts_of_its_items() {
    let (message, plan, output) = (
        long(LEND_FROM, "m"),
        long(LEND_FROM, "p"),
        long(LEND_FROM, "o"),
    );
    let params = raw(&json!({
        "threadId": "t1",
        "turn": {
            "id": "u1",
            "status": "completed",
            "items": [
                {"id": "a", "text": "short", "type": "agentMessage"},
                {"id": "b", "text": message, "type": "agentMessage"},
                {"id": "c", "summary": [], "content": [long(LEND_FROM, "r")], "type": "reasoning"},
                {"id": "d", "text": plan, "type": "plan"},
                {"id": "e", "aggregatedOutput": output, "command": "ls", "type": "commandExecution"},
                {"id": "f", "aggregatedOutput": null, "command": "ls", "type": "commandExecution"},
                {"id": "g", "text": long(LEND_FROM, "u"), "type": "somethingNew"},
            ],
        },
    }));
    let texts = LargeTexts::read(methods::TURN_COMPLETED, &params).unwrap();
    assert_eq!(
        (&*texts.thread_id, &*texts.turn_id, texts.ends_turn),
        ("t1", "u1", true)
    );
    let read: Vec<_> = texts
        .texts
        .iter()
        .map(|t| {
            (
                t.position,
                &*t.item_id,
                t.kind,
                serde_json::from_str::<String>(t.text.get()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            (1, "b", StreamKind::AgentMessage, message),
            (3, "d", StreamKind::Plan, plan),
            (4, "e", StreamKind::CommandOutput, output),
        ]
    );
}

#[test]
fn frames_that_do_not_read_lend_nothing() {
    let pad = long(LEND_FROM, "x");
    for params in [
        // An item without an id.
        json!({"threadId": "t", "turn": {"id": "u", "items": [{"type": "agentMessage", "text": pad}]}}),
        // Ids that are not strings.
        json!({"threadId": 1, "turnId": "u", "item": {"id": "m", "type": "agentMessage", "text": pad}}),
        // Items that are not a list.
        json!({"threadId": "t", "turn": {"id": "u", "items": {"text": pad}}}),
        // A text that is not a string.
        json!({"threadId": "t", "turnId": "u", "item": {"id": "m", "type": "agentMessage", "text": [pad]}}),
    ] {
        let params = raw(&params);
        for method in [methods::ITEM_COMPLETED, methods::TURN_COMPLETED] {
            assert!(
                LargeTexts::read(method, &params).is_none(),
                "{method}: {}",
                &params.get()[..80]
            );
        }
    }
}
