//! The tagged unions read without buffering: every way a value is read
//! agrees, `Unknown` keeps what it must, and the last-member shortcut
//! answers only where it is sure.

use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as PlainError, MapDeserializer};
use serde_json::{Value, json};

use crate::types::{
    CommandAction, CommandExecutionApprovalDecision, ThreadActiveFlag, ThreadItem,
    ThreadItemImageGeneration, ThreadItemKind, ThreadStatus,
};

/// `text` decoded as `T` by every way a user may read it: text, bytes, a
/// reader, an owned `Value` and a borrowed one. All must agree.
fn decoded_every_way<T>(text: &str) -> T
where
    T: for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let from_str: T = serde_json::from_str(text).unwrap();
    let from_slice: T = serde_json::from_slice(text.as_bytes()).unwrap();
    let from_reader: T = serde_json::from_reader(text.as_bytes()).unwrap();
    let value: Value = serde_json::from_str(text).unwrap();
    let from_borrowed = T::deserialize(&value).unwrap();
    let from_value: T = serde_json::from_value(value).unwrap();
    assert_eq!(from_slice, from_str, "from_slice of {text}");
    assert_eq!(from_reader, from_str, "from_reader of {text}");
    assert_eq!(from_borrowed, from_str, "&Value of {text}");
    assert_eq!(from_value, from_str, "Value of {text}");
    from_str
}

#[test]
fn a_union_decodes_the_same_whatever_reads_it() {
    let cases = [
        (r#"{"type":"idle"}"#, ThreadStatus::Idle),
        // Members after the tag, members it does not know: ignored.
        (r#"{"type":"idle","since":3}"#, ThreadStatus::Idle),
        (
            r#"{"activeFlags":["waitingOnApproval"],"type":"active"}"#,
            ThreadStatus::Active {
                active_flags: vec![ThreadActiveFlag::WaitingOnApproval],
            },
        ),
        // An unknown tag, a known tag whose payload does not decode, no
        // tag, a tag that is not a string, and not an object at all.
        (
            r#"{"type":"sleeping","for":5}"#,
            ThreadStatus::Unknown(json!({"type": "sleeping", "for": 5})),
        ),
        (
            r#"{"type":"active","activeFlags":7}"#,
            ThreadStatus::Unknown(json!({"type": "active", "activeFlags": 7})),
        ),
        (
            r#"{"activeFlags":[]}"#,
            ThreadStatus::Unknown(json!({"activeFlags": []})),
        ),
        (r#"{"type":4}"#, ThreadStatus::Unknown(json!({"type": 4}))),
        (r#""idle""#, ThreadStatus::Unknown(json!("idle"))),
        (
            r#"[1,{"type":"idle"}]"#,
            ThreadStatus::Unknown(json!([1, {"type": "idle"}])),
        ),
        ("null", ThreadStatus::Unknown(Value::Null)),
    ];
    for (text, expected) in cases {
        assert_eq!(decoded_every_way::<ThreadStatus>(text), expected, "{text}");
    }
}

#[test]
fn an_externally_tagged_union_decodes_the_same_whatever_reads_it() {
    use CommandExecutionApprovalDecision as Decision;
    let cases = [
        (r#""accept""#, Decision::Accept),
        (
            r#"{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["touch","a"]}}"#,
            Decision::AcceptWithExecpolicyAmendment {
                execpolicy_amendment: vec!["touch".to_owned(), "a".to_owned()],
            },
        ),
        (r#""maybe""#, Decision::Unknown(json!("maybe"))),
        (
            r#"{"acceptWithExecpolicyAmendment":5}"#,
            Decision::Unknown(json!({"acceptWithExecpolicyAmendment": 5})),
        ),
        (
            r#"{"accept":1,"decline":2}"#,
            Decision::Unknown(json!({"accept": 1, "decline": 2})),
        ),
        ("7", Decision::Unknown(json!(7))),
    ];
    for (text, expected) in cases {
        assert_eq!(decoded_every_way::<Decision>(text), expected, "{text}");
    }
}

#[test]
fn the_last_member_is_found_only_where_it_surely_is_the_objects() {
    let cases = [
        (r#"{"type":"idle"}"#, Some(("type", "idle"))),
        (
            r#"{"a":[1,{"b":"c"}],"type":"active"}"#,
            Some(("type", "active")),
        ),
        // Escapes, a nested object last, a string that looks like a member,
        // spaces, and values that are not objects: read the whole way.
        (r#"{"type":"id\u006ce"}"#, None),
        (r#"{"t\u0079pe":"idle"}"#, None),
        (r#"{"a":{"type":"idle"}}"#, None),
        (r#"{"a":"x\",\"type\":\"idle"}"#, None),
        (r#"{"a":"x\\","type":"idle"}"#, Some(("type", "idle"))),
        (r#"{"xx\"type":"idle"}"#, None),
        (r#"{"type": "idle"}"#, None),
        (r#""type\":\"idle""#, None),
        (r#"["type","idle"]"#, None),
    ];
    for (text, expected) in cases {
        let read: Value = serde_json::from_str(text).unwrap();
        assert_eq!(super::last_member_string(text), expected, "{text}");
        // Whatever the shortcut says, reading the object says too.
        if let Some((key, value)) = expected {
            assert_eq!(read[key], value, "{text}");
        }
    }
}

#[test]
fn escaped_keys_and_tags_are_read_as_their_text() {
    let text = r#"{"t\u0079pe":"\u0069dle"}"#;
    assert_eq!(decoded_every_way::<ThreadStatus>(text), ThreadStatus::Idle);
}

#[test]
fn broken_json_still_fails() {
    for text in [
        r#"{"type":"idle""#,
        r#"{"type":"idle",}"#,
        r#"{"type":"idle"} x"#,
    ] {
        assert!(
            serde_json::from_str::<ThreadStatus>(text).is_err(),
            "{text}"
        );
    }
}

#[test]
fn a_deserializer_other_than_serde_json_goes_through_a_value() {
    // serde's own map deserializer knows nothing of serde_json's raw values:
    // it shows the newtype as a plain map.
    let entries = [
        ("type", "read"),
        ("command", "cat a"),
        ("name", "a"),
        ("path", "a"),
    ];
    let map = MapDeserializer::<_, PlainError>::new(entries.into_iter());
    let action = CommandAction::deserialize(map).unwrap();
    let expected: CommandAction =
        serde_json::from_str(r#"{"type":"read","command":"cat a","name":"a","path":"a"}"#).unwrap();
    assert_eq!(action, expected);
    assert!(matches!(action, CommandAction::Read { .. }), "{action:?}");

    let unknown = [("type", "fly")];
    let map = MapDeserializer::<_, PlainError>::new(unknown.into_iter());
    assert_eq!(
        CommandAction::deserialize(map).unwrap(),
        CommandAction::Unknown(json!({"type": "fly"}))
    );
    let scalar: serde::de::value::StrDeserializer<'_, PlainError> = "fly".into_deserializer();
    assert_eq!(
        CommandAction::deserialize(scalar).unwrap(),
        CommandAction::Unknown(json!("fly"))
    );
}

#[test]
fn a_flattened_union_leaves_the_structs_members_out_of_unknown() {
    let item: ThreadItem = decoded_every_way(
        r#"{"completedAtMs":5,"id":"i1","startedAtMs":4,"type":"hologram","depth":3}"#,
    );
    assert_eq!(item.started_at_ms, Some(4));
    assert_eq!(item.completed_at_ms, Some(5));
    assert_eq!(
        item.kind,
        ThreadItemKind::Unknown(json!({"id": "i1", "type": "hologram", "depth": 3}))
    );
    // Written back, the struct's members appear once.
    let written = serde_json::to_value(&item).unwrap();
    assert_eq!(
        written,
        json!({"completedAtMs": 5, "id": "i1", "startedAtMs": 4, "type": "hologram", "depth": 3})
    );
}

#[test]
fn a_struct_members_failure_still_fails_the_struct() {
    let text = r#"{"startedAtMs":"soon","type":"agentMessage","id":"m","text":"hi"}"#;
    assert!(serde_json::from_str::<ThreadItem>(text).is_err());
}

#[test]
fn a_variant_flattening_a_part_does_not_see_the_tag_or_the_parents_members() {
    let text = r#"{"id":"g1","result":"done","revisedPrompt":null,"startedAtMs":1,"status":"completed","type":"imageGeneration"}"#;
    let item: ThreadItem = decoded_every_way(text);
    let ThreadItemKind::ImageGeneration { source, .. } = &item.kind else {
        panic!("not an image generation: {:?}", item.kind);
    };
    assert_eq!(
        *source,
        ThreadItemImageGeneration::Result {
            result: "done".to_owned()
        }
    );
    // Neither alternative: the part's `Unknown` holds only what no member
    // of the item, the variant or the struct claimed.
    let text =
        r#"{"id":"g2","pixels":9,"startedAtMs":1,"status":"completed","type":"imageGeneration"}"#;
    let item: ThreadItem = decoded_every_way(text);
    let ThreadItemKind::ImageGeneration { source, .. } = &item.kind else {
        panic!("not an image generation: {:?}", item.kind);
    };
    assert_eq!(
        *source,
        ThreadItemImageGeneration::Unknown(json!({"pixels": 9}))
    );
    let written = serde_json::to_string(&item).unwrap();
    assert_eq!(written.matches("\"type\"").count(), 1, "{written}");
}

#[test]
fn nested_payloads_are_bounded() {
    fn descend(levels: u32) -> Result<u32, serde_json::Error> {
        if levels == 0 {
            return Ok(0);
        }
        super::nested(|| descend(levels - 1)).map(|depth| depth + 1)
    }
    assert_eq!(
        descend(super::MAX_NESTED_PAYLOADS).unwrap(),
        super::MAX_NESTED_PAYLOADS
    );
    assert!(descend(super::MAX_NESTED_PAYLOADS + 1).is_err());
    // The count is given back, failed or not.
    assert_eq!(super::NESTED_PAYLOADS.with(std::cell::Cell::get), 0);
    assert_eq!(descend(3).unwrap(), 3);
}

#[test]
fn serde_json_lends_the_text_and_a_reader_hands_over_a_copy() {
    // The fast way rests on the name serde_json gives its raw values: were
    // it to change, decoding would stay right but go through a `Value`.
    let text = r#"{"activeFlags":[],"type":"active"}"#;
    let mut lending = serde_json::Deserializer::from_str(text);
    let lent = super::capture(&mut lending).unwrap();
    assert!(
        matches!(&lent.0, super::Repr::Text(std::borrow::Cow::Borrowed(t)) if *t == text),
        "{lent:?}"
    );
    let mut reading = serde_json::Deserializer::from_reader(text.as_bytes());
    let read = super::capture(&mut reading).unwrap();
    assert!(
        matches!(&read.0, super::Repr::Text(std::borrow::Cow::Owned(t)) if t == text),
        "{read:?}"
    );
    let value: Value = serde_json::from_str(text).unwrap();
    let from_value = super::capture(&value).unwrap();
    assert!(
        matches!(&from_value.0, super::Repr::Text(_)),
        "{from_value:?}"
    );
}

#[test]
fn one_pass_gives_the_captured_read_or_falls_back() {
    fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(text)
    }
    // `durationMs` and `status` have other types in other kinds: kept as
    // text until the tag is read.
    let command = r#"{"command":"ls","commandActions":[{"command":"ls","type":"unknown"}],"cwd":"/w","durationMs":5,"id":"c1","startedAtMs":1,"status":"completed","type":"commandExecution"}"#;
    let (one_pass, fell_back) = super::attempt(|| read::<ThreadItem>(command));
    assert!(!fell_back);
    let one_pass = one_pass.unwrap();
    assert_eq!(one_pass, read::<ThreadItem>(command).unwrap());
    assert!(
        matches!(
            &one_pass.kind,
            ThreadItemKind::CommandExecution { duration_ms: Some(5), command_actions, .. }
                if command_actions.len() == 1
        ),
        "{one_pass:?}"
    );

    // An unknown tag falls back, and the run again gives the captured read.
    let unknown = r#"{"id":"x","startedAtMs":1,"type":"hologram"}"#;
    let (first, fell_back) = super::attempt(|| read::<ThreadItem>(unknown));
    assert!(fell_back && first.is_err());
    assert_eq!(
        super::in_one_pass(|| read::<ThreadItem>(unknown)).unwrap(),
        read::<ThreadItem>(unknown).unwrap()
    );

    // A fall back counts even when what reads the union swallows its
    // error: a lenient member would read `None` where the captured read
    // gives `Unknown`.
    let lenient = |text: &str| {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        crate::lenient::lenient::<_, ThreadStatus>(&mut deserializer)
    };
    let sleeping = r#"{"type":"sleeping"}"#;
    let (swallowed, fell_back) = super::attempt(|| lenient(sleeping));
    assert!(fell_back);
    assert_eq!(swallowed.unwrap(), None);
    assert_eq!(
        super::in_one_pass(|| lenient(sleeping)).unwrap(),
        Some(ThreadStatus::Unknown(json!({"type": "sleeping"})))
    );

    // Nesting is bounded as the captured read bounds it.
    super::NESTED_PAYLOADS.with(|nested| nested.set(super::MAX_NESTED_PAYLOADS));
    let (_, fell_back) = super::attempt(|| read::<ThreadStatus>(r#"{"type":"idle"}"#));
    super::NESTED_PAYLOADS.with(|nested| nested.set(0));
    assert!(fell_back);

    // Outside a run, unions are read captured.
    assert!(!super::one_pass());
}
