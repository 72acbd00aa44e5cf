//! Property test: the generated unions, which find their tag and read
//! their variant without serde's buffering, decode every input as serde's
//! derive does, written here with the attributes the generator used to
//! emit. Inputs are objects of the members these types name and others,
//! in any order, with values of the right and the wrong shapes, written
//! compactly (as codex writes) or with spaces. Each is also read in one
//! pass (see `one_pass.rs`), which must give what the captured read gives
//! whenever it does not fall back, members whose type depends on the tag
//! among them.

use codexrt_protocol::__private::tagged;
use codexrt_protocol::types::{
    CommandExecutionApprovalDecision, NetworkPolicyAmendment, ThreadActiveFlag, ThreadItem,
    ThreadStatus,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
enum StatusByDerive {
    #[serde(rename = "notLoaded")]
    NotLoaded,
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "systemError")]
    SystemError,
    #[serde(rename = "active")]
    Active {
        #[serde(rename = "activeFlags")]
        active_flags: Vec<ThreadActiveFlag>,
    },
    #[serde(untagged)]
    Unknown(Value),
}

#[derive(Debug, Serialize, Deserialize)]
enum DecisionByDerive {
    #[serde(rename = "accept")]
    Accept,
    #[serde(rename = "acceptForSession")]
    AcceptForSession,
    #[serde(rename = "acceptWithExecpolicyAmendment")]
    AcceptWithExecpolicyAmendment { execpolicy_amendment: Vec<String> },
    #[serde(rename = "applyNetworkPolicyAmendment")]
    ApplyNetworkPolicyAmendment {
        network_policy_amendment: NetworkPolicyAmendment,
    },
    #[serde(rename = "decline")]
    Decline,
    #[serde(rename = "cancel")]
    Cancel,
    #[serde(untagged)]
    Unknown(Value),
}

/// A thread item with two of its kinds; the inputs use only those tags
/// and unknown ones.
#[derive(Debug, Serialize, Deserialize)]
struct ItemByDerive {
    #[serde(
        rename = "completedAtMs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    completed_at_ms: Option<i64>,
    #[serde(
        rename = "startedAtMs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    started_at_ms: Option<i64>,
    #[serde(flatten)]
    kind: ItemKindByDerive,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
enum ItemKindByDerive {
    #[serde(rename = "plan")]
    Plan { id: String, text: String },
    #[serde(rename = "contextCompaction")]
    ContextCompaction { id: String },
    #[serde(untagged)]
    Unknown(Value),
}

/// Some text, with what needs escaping now and then.
fn text() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["a", "plan", "x\"y", "back\\slash", "type", "}", ""])
        .prop_map(Value::from)
}

/// A value of any shape, small.
fn junk() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        text(),
        Just(serde_json::json!([1, "two"])),
        Just(serde_json::json!({"type": "idle", "id": "nested"})),
    ]
}

fn tag(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(Value::from),
        1 => Just(Value::from("hologram")),
        1 => junk(),
    ]
}

/// An object of members drawn from `members` (name and value strategy),
/// each at most once, in a random order; or now and then not an object.
fn object(members: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = String> {
    let entries: Vec<_> = members
        .into_iter()
        .map(|(name, value)| prop::option::of(value.prop_map(move |value| (name, value))))
        .collect();
    let object = (entries, any::<prop::sample::Index>(), any::<bool>()).prop_map(
        |(entries, rotation, spaced)| {
            let mut entries: Vec<(&str, Value)> = entries.into_iter().flatten().collect();
            if !entries.is_empty() {
                let by = rotation.index(entries.len());
                entries.rotate_left(by);
            }
            let separator = if spaced { ": " } else { ":" };
            let members: Vec<String> = entries
                .iter()
                .map(|(name, value)| format!("{name:?}{separator}{value}"))
                .collect();
            format!("{{{}}}", members.join(","))
        },
    );
    prop_oneof![9 => object, 1 => junk().prop_map(|value| value.to_string())]
}

fn status() -> impl Strategy<Value = String> {
    let flags = prop_oneof![
        prop::collection::vec(
            prop::sample::select(vec!["waitingOnApproval", "waitingOnUserInput", "napping"]),
            0..3
        )
        .prop_map(Value::from),
        junk(),
    ];
    object(vec![
        (
            "type",
            tag(&["notLoaded", "idle", "systemError", "active"]).boxed(),
        ),
        ("activeFlags", flags.boxed()),
        ("since", junk().boxed()),
    ])
}

fn item() -> impl Strategy<Value = String> {
    let time = prop_oneof![3 => any::<i64>().prop_map(Value::from), 1 => junk()];
    object(vec![
        ("type", tag(&["plan", "contextCompaction"]).boxed()),
        ("id", prop_oneof![3 => text(), 1 => junk()].boxed()),
        ("text", prop_oneof![3 => text(), 1 => junk()].boxed()),
        ("completedAtMs", time.clone().boxed()),
        ("startedAtMs", time.boxed()),
        ("extra", junk().boxed()),
    ])
}

fn decision() -> impl Strategy<Value = String> {
    let amendment = prop_oneof![
        prop::collection::vec(text(), 0..3).prop_map(Value::from),
        junk(),
    ];
    let unit = prop::sample::select(vec![
        "accept",
        "acceptForSession",
        "decline",
        "cancel",
        "later",
    ])
    .prop_map(|name| Value::from(name).to_string());
    prop_oneof![
        2 => unit,
        2 => object(vec![("acceptWithExecpolicyAmendment", amendment
            .prop_map(|amendment| serde_json::json!({"execpolicy_amendment": amendment}))
            .boxed())]),
        1 => object(vec![
            ("accept", junk().boxed()),
            ("decline", junk().boxed()),
        ]),
    ]
}

/// A thread item of the kinds whose members share names but not types
/// (`status`, `durationMs`, `content`), and of an unknown kind.
fn rich_item() -> impl Strategy<Value = String> {
    let kinds = &[
        "commandExecution",
        "fileChange",
        "sleep",
        "userMessage",
        "reasoning",
        "plan",
    ];
    let status = prop_oneof![
        prop::sample::select(vec!["completed", "inProgress", "declined"]).prop_map(Value::from),
        junk(),
    ];
    let duration = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        junk()
    ];
    let content = prop_oneof![
        prop::collection::vec(text(), 0..3).prop_map(Value::from),
        Just(serde_json::json!([{"type": "text", "text": "hi"}])),
        Just(serde_json::json!([{"type": "hologram"}])),
        junk(),
    ];
    let actions = prop_oneof![
        Just(serde_json::json!([{"command": "ls", "type": "unknown"}])),
        Just(serde_json::json!([{"command": "cat a", "name": "a", "path": "a", "type": "read"}])),
        Just(serde_json::json!([{"type": "teleport"}])),
        junk(),
    ];
    object(vec![
        ("type", tag(kinds).boxed()),
        ("id", prop_oneof![3 => text(), 1 => junk()].boxed()),
        ("status", status.boxed()),
        ("durationMs", duration.boxed()),
        ("content", content.boxed()),
        ("command", prop_oneof![3 => text(), 1 => junk()].boxed()),
        ("commandActions", actions.boxed()),
        ("cwd", text().boxed()),
        (
            "changes",
            prop_oneof![Just(serde_json::json!([])), junk()].boxed(),
        ),
        ("text", text().boxed()),
        ("startedAtMs", any::<i64>().prop_map(Value::from).boxed()),
    ])
}

/// `text` read in one pass and captured: unless the read in one pass fell
/// back, both fail, or both succeed and write the same JSON.
fn same_in_one_pass<Ours>(text: &str) -> Result<(), TestCaseError>
where
    Ours: for<'de> Deserialize<'de> + Serialize + PartialEq + std::fmt::Debug,
{
    let captured = serde_json::from_str::<Ours>(text);
    let (one_pass, fell_back) = tagged::attempt(|| serde_json::from_str::<Ours>(text));
    if fell_back {
        return Ok(());
    }
    match (captured, one_pass) {
        (Ok(captured), Ok(one_pass)) => prop_assert_eq!(captured, one_pass, "{}", text),
        (Err(_), Err(_)) => {}
        (captured, one_pass) => {
            prop_assert!(
                false,
                "{text}: captured {captured:?}, in one pass {one_pass:?}"
            );
        }
    }
    Ok(())
}

/// `text` read as `Ours` and as `ByDerive`: both fail, or both succeed and
/// write the same JSON; and `Ours` reads the same in one pass.
fn same<Ours, ByDerive>(text: &str) -> Result<(), TestCaseError>
where
    Ours: for<'de> Deserialize<'de> + Serialize + PartialEq + std::fmt::Debug,
    ByDerive: for<'de> Deserialize<'de> + Serialize,
{
    same_in_one_pass::<Ours>(text)?;
    let ours = serde_json::from_str::<Ours>(text).map(|ours| serde_json::to_value(ours).unwrap());
    let derived = serde_json::from_str::<ByDerive>(text)
        .map(|derived| serde_json::to_value(derived).unwrap());
    match (ours, derived) {
        (Ok(ours), Ok(derived)) => prop_assert_eq!(ours, derived, "{}", text),
        (Err(_), Err(_)) => {}
        (ours, derived) => {
            prop_assert!(false, "{text}: ours {ours:?}, by derive {derived:?}");
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        // Failing cases are kept under the build directory rather than in
        // the repository; proptest prints each one as it saves it.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/proptest-tagged.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_tagged_union_decodes_as_the_derive_would(text in status()) {
        same::<ThreadStatus, StatusByDerive>(&text)?;
    }

    #[test]
    fn a_struct_with_a_flattened_union_decodes_as_the_derive_would(text in item()) {
        same::<ThreadItem, ItemByDerive>(&text)?;
    }

    #[test]
    fn an_externally_tagged_union_decodes_as_the_derive_would(text in decision()) {
        same::<CommandExecutionApprovalDecision, DecisionByDerive>(&text)?;
    }

    #[test]
    fn members_whose_type_depends_on_the_tag_read_the_same_in_one_pass(text in rich_item()) {
        same_in_one_pass::<ThreadItem>(&text)?;
    }
}
