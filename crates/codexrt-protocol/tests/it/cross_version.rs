//! Every supported version's traffic through every supported version's
//! types: newer traffic through the types an older release of this crate
//! had, and older traffic through newer types. The older versions' types
//! are generated as if each were pinned (`history/`), for what a turn's
//! traffic reaches.
//!
//! Two sources of traffic: the golden transcripts recorded from each real
//! codex (`tests/fixtures/<version>/` of the workspace), and a sample of
//! every definition of each version's schema. The rule checked is the one
//! the generated types promise: nothing fails to decode, and a thread item
//! whose kind both versions know stays typed, its text, command and status
//! intact, even when a nested part changed shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::history::VERSIONS;
use crate::roundtrip::{Decoded, RoundTrip};
use crate::schema::{Sampler, definitions, manifest, protocol_surface};

/// The members of a thread item that must survive any pair of versions.
const SURVIVING: [&str; 5] = ["type", "id", "text", "command", "status"];

struct Types {
    version: &'static str,
    table: &'static [(&'static str, RoundTrip)],
    /// Method → (params type, response type), of every kind.
    methods: BTreeMap<String, (Option<String>, Option<String>)>,
    /// The `type` values of `ThreadItem` this version knows.
    item_kinds: BTreeSet<String>,
}

impl Types {
    fn all() -> Vec<Types> {
        assert_eq!(
            VERSIONS.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            codexrt_protocol::KNOWN_VERSIONS,
            "the generated history is stale: run `cargo xtask codegen`"
        );
        VERSIONS
            .iter()
            .map(|(version, table)| {
                let methods = [
                    "clientRequests",
                    "clientNotifications",
                    "serverNotifications",
                    "serverRequests",
                ]
                .iter()
                .flat_map(|kind| manifest(version, kind))
                .map(|m| (m.method, (m.params, m.response)))
                .collect();
                Types {
                    version,
                    table,
                    methods,
                    item_kinds: item_kinds(version),
                }
            })
            .collect()
    }

    fn decode(&self, name: &str, value: &Value) -> Option<Result<Decoded, String>> {
        let (_, roundtrip) = self.table.iter().find(|(n, _)| *n == name)?;
        Some(roundtrip(&value.to_string()))
    }
}

/// The tag values of `ThreadItem` in `version`'s schema.
fn item_kinds(version: &str) -> BTreeSet<String> {
    let defs = definitions(version, "experimental");
    defs["ThreadItem"]["oneOf"]
        .as_array()
        .expect("ThreadItem is a oneOf")
        .iter()
        .filter_map(|member| member["properties"]["type"]["enum"][0].as_str())
        .map(str::to_owned)
        .collect()
}

/// Every thread item inside `value`: the value of an `item` member, and the
/// elements of an `items` array.
fn thread_items<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                match (key.as_str(), member) {
                    ("item", Value::Object(_)) => out.push(member),
                    ("items", Value::Array(items)) => {
                        out.extend(items.iter().filter(|i| i.is_object()));
                    }
                    _ => {}
                }
                thread_items(member, out);
            }
        }
        Value::Array(values) => values.iter().for_each(|v| thread_items(v, out)),
        _ => {}
    }
}

/// Checks every thread item of `message` against `types`: decoded alone, an
/// item of a kind `types` knows must not be `Unknown`, and its surviving
/// members must come back unchanged. Returns how many items it checked.
fn check_items(types: &Types, message: &Value, context: &str, failures: &mut Vec<String>) -> usize {
    let mut items = Vec::new();
    thread_items(message, &mut items);
    let mut checked = 0;
    for item in items {
        let Some(kind) = item["type"].as_str() else {
            continue;
        };
        if !types.item_kinds.contains(kind) {
            continue;
        }
        checked += 1;
        match types.decode("ThreadItem", item) {
            None => failures.push(format!("{context}: {} has no ThreadItem", types.version)),
            Some(Err(err)) => failures.push(format!("{context}: item `{kind}`: {err}")),
            Some(Ok(decoded)) => {
                if decoded.debug.contains("kind: Unknown(") {
                    failures.push(format!(
                        "{context}: a `{kind}` item fell into Unknown: {}",
                        decoded.debug
                    ));
                }
                for member in SURVIVING {
                    if item.get(member) != decoded.json.get(member) {
                        failures.push(format!(
                            "{context}: `{member}` of a `{kind}` item changed: {:?} -> {:?}",
                            item.get(member),
                            decoded.json.get(member)
                        ));
                    }
                }
            }
        }
    }
    checked
}

/// One recorded line: its direction and message.
struct Line {
    incoming: bool,
    message: Value,
}

fn fixtures(version: &str) -> Vec<(String, Vec<Line>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(version);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures for {version}");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text
                .lines()
                .map(|line| {
                    let record: Value = serde_json::from_str(line).unwrap();
                    Line {
                        incoming: record["dir"] == "in",
                        message: record["msg"].clone(),
                    }
                })
                .collect();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, lines)
        })
        .collect()
}

/// What decoded a message of a transcript: the type, or why none did.
enum Part {
    Typed(String),
    /// The version's types have no such method: it arrives as the method
    /// enums' `Unknown`, which the forward tests cover.
    UnknownMethod(String),
    Nothing,
}

/// The type of each message's params or result, by method (responses by
/// the id of the request they answer; ids of the two directions apart).
fn part(types: &Types, line: &Line, asked: &BTreeMap<(bool, String), String>) -> Part {
    let message = &line.message;
    let method = message["method"].as_str();
    let id = message.get("id").map(Value::to_string);
    let (method, response) = match (method, id) {
        (Some(method), _) => (method.to_owned(), false),
        (None, Some(id)) if message.get("result").is_some() => {
            // An answer goes the other way from the request it answers.
            match asked.get(&(!line.incoming, id)) {
                Some(method) => (method.clone(), true),
                None => return Part::Nothing,
            }
        }
        _ => return Part::Nothing,
    };
    match types.methods.get(&method) {
        None => Part::UnknownMethod(method),
        Some((params, result)) => {
            let name = if response { result } else { params };
            name.clone().map_or(Part::Nothing, Part::Typed)
        }
    }
}

#[test]
fn every_recorded_transcript_decodes_with_every_versions_types() {
    let all = Types::all();
    let mut failures = Vec::new();
    let mut unknown_methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fallbacks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut decoded_count = 0;
    let mut items = 0;
    for recorded in codexrt_protocol::KNOWN_VERSIONS {
        for (file, lines) in fixtures(recorded) {
            for types in &all {
                let pair = format!("{recorded} traffic, {} types", types.version);
                let mut asked = BTreeMap::new();
                for (n, line) in lines.iter().enumerate() {
                    let context = format!("{pair}, {file}:{}", n + 1);
                    let message = &line.message;
                    if let (Some(method), Some(id)) =
                        (message["method"].as_str(), message.get("id"))
                    {
                        asked.insert((line.incoming, id.to_string()), method.to_owned());
                    }
                    let body = message.get("params").or_else(|| message.get("result"));
                    let (Part::Typed(name), Some(body)) = (part(types, line, &asked), body) else {
                        if let Part::UnknownMethod(method) = part(types, line, &asked) {
                            unknown_methods
                                .entry(pair.clone())
                                .or_default()
                                .insert(method);
                        }
                        continue;
                    };
                    match types.decode(&name, body) {
                        None => failures.push(format!("{context}: no type `{name}`")),
                        Some(Err(err)) => failures.push(format!("{context}: {name}: {err}")),
                        Some(Ok(decoded)) => {
                            decoded_count += 1;
                            if decoded.has_unknown() {
                                fallbacks
                                    .entry(name.clone())
                                    .or_default()
                                    .insert(pair.clone());
                            }
                        }
                    }
                    items += check_items(types, body, &context, &mut failures);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{decoded_count} messages and {items} thread items decoded");
    assert!(
        decoded_count > 1000,
        "only {decoded_count} messages decoded"
    );
    assert!(items > 300, "only {items} thread items checked");
    // What of a turn's recorded traffic the versions tell apart: nothing
    // yet. A method an older version lacks arrives as the method enums'
    // `Unknown`, and a value it lacks as an enum's `Unknown`; both are
    // allowed, and listed here once a transcript shows one.
    assert_eq!(unknown_methods, BTreeMap::new());
    assert_eq!(fallbacks, BTreeMap::new());
}

#[test]
fn every_definition_decodes_with_every_other_versions_types() {
    let all = Types::all();
    let mut failures = Vec::new();
    let mut changed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut checked = 0;
    let mut items = 0;
    for schema in &all {
        let defs = definitions(schema.version, "experimental");
        let sampler = Sampler::new(&defs);
        let surface = protocol_surface(schema.version, &defs);
        for types in all.iter().filter(|t| t.version != schema.version) {
            let pair = format!("{} samples, {} types", schema.version, types.version);
            // The params and responses of the methods both versions have:
            // whole messages, which must always decode.
            let messages: BTreeSet<&String> = types
                .methods
                .iter()
                .filter(|(method, _)| schema_methods(schema).contains(method.as_str()))
                .flat_map(|(_, (params, result))| params.iter().chain(result))
                .collect();
            for name in &surface {
                for sample in sampler.samples(name) {
                    let Some(result) = types.decode(name, &sample) else {
                        continue;
                    };
                    checked += 1;
                    match result {
                        Err(err) if messages.contains(name) => {
                            failures.push(format!("{pair}: {name}: {err}\n    {sample}"));
                        }
                        // A nested definition whose shape changed cannot
                        // read as itself; what holds it must still decode,
                        // which the messages and items here check.
                        Err(_) => {
                            changed
                                .entry(name.clone())
                                .or_default()
                                .insert(pair.clone());
                        }
                        Ok(_) => {}
                    }
                    items += check_items(types, &sample, &format!("{pair}: {name}"), &mut failures);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{checked} samples and {items} thread items decoded");
    assert!(checked > 10_000, "only {checked} samples decoded");
    assert!(items > 150, "only {items} thread items checked");
    // 0.171.0 made `AgentMessageDisplay` a union on `mode`; the object of
    // flags before it has required members the union's variants lack.
    let expected = BTreeMap::from([(
        "AgentMessageDisplay".to_owned(),
        BTreeSet::from(["0.171.0 samples, 0.169.0 types".to_owned()]),
    )]);
    assert_eq!(changed, expected);
}

/// Every method of `types`' version.
fn schema_methods(types: &Types) -> BTreeSet<&str> {
    types.methods.keys().map(String::as_str).collect()
}

/// The case the rule is for: 0.171.0 sends a moderated agent message whose
/// display part is a union the 0.169.0 types do not know. Through those
/// types the item stays an agent message with its text; only the display
/// part reads as `None`.
#[test]
fn a_moderated_agent_message_of_0_171_0_stays_typed_in_0_169_0_types() {
    use crate::history::v0_169_0::{ThreadItem, ThreadItemKind};

    let item = serde_json::json!({
        "type": "agentMessage", "id": "m1", "text": "hello",
        "moderation": {
            "moderated": true,
            "display": {"mode": "hide", "version": 1, "replacement": {"kind": "wellbeingPromptHelpline"}}
        }
    });
    let decoded: ThreadItem = serde_json::from_value(item).unwrap();
    let ThreadItemKind::AgentMessage {
        id,
        text,
        moderation,
        ..
    } = decoded.kind
    else {
        panic!("not an agent message: {decoded:?}");
    };
    assert_eq!((id.as_str(), text.as_str()), ("m1", "hello"));
    let moderation = moderation.expect("the moderation part itself decodes");
    assert!(moderation.moderated);
    assert_eq!(moderation.display, None);
}
