//! The definitions of two normalized schemas compared: which came and went,
//! and, inside every definition both have, the fields, types, enum values
//! and union variants, walking inline objects by their path.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::change::Change;
use crate::codegen::{Definitions, Kind, VersionInput};

const REF_PREFIX: &str = "#/definitions/";

/// The four protocol unions hold one variant per method; the manifests
/// compare those, so their definitions are left out here.
const METHOD_UNIONS: [&str; 4] = [
    "ClientRequest",
    "ClientNotification",
    "ServerNotification",
    "ServerRequest",
];

pub(super) fn compare(old: &VersionInput, new: &VersionInput, out: &mut Vec<Change>) {
    let (before, after) = (&old.experimental, &new.experimental);
    for name in after.keys().filter(|name| !before.contains_key(*name)) {
        out.push(Change::DefinitionAdded { name: name.clone() });
    }
    let removed: Vec<&String> = before
        .keys()
        .filter(|name| !after.contains_key(*name))
        .collect();
    let reached_by = reached_by(old, new, &removed);
    for name in removed {
        out.push(Change::DefinitionRemoved {
            name: name.clone(),
            reached_by: reached_by.get(name).cloned(),
        });
    }
    for (name, schema) in before {
        if METHOD_UNIONS.contains(&name.as_str()) {
            continue;
        }
        if let Some(now) = after.get(name) {
            node(schema, now, name, out);
        }
    }
}

/// For each of `removed`, the first method (by kind, then name) that both
/// versions have and whose params or response reached it in `old`.
fn reached_by(
    old: &VersionInput,
    new: &VersionInput,
    removed: &[&String],
) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    if removed.is_empty() {
        return found;
    }
    for kind in Kind::ALL {
        let kept: BTreeSet<&str> = new
            .manifest
            .methods(kind)
            .iter()
            .map(|m| m.method.as_str())
            .collect();
        for method in old.manifest.methods(kind) {
            if !kept.contains(method.method.as_str()) {
                continue;
            }
            let roots = method.params.iter().chain(method.response.iter());
            let reach = closure(&old.experimental, roots);
            for name in removed {
                if reach.contains(name.as_str()) && !found.contains_key(*name) {
                    found.insert((*name).clone(), method.method.clone());
                }
            }
        }
    }
    found
}

/// Every definition reachable from `roots` through `$ref`s; a reference to
/// a missing definition is skipped (the normalizer already refuses those).
fn closure<'a>(defs: &Definitions, roots: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    fn refs(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(r)) => {
                            out.extend(r.strip_prefix(REF_PREFIX).map(str::to_owned));
                        }
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|value| refs(value, out)),
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.cloned().collect();
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        if let Some(def) = defs.get(&name) {
            refs(def, &mut stack);
        }
        seen.insert(name);
    }
    seen
}

/// Compares one schema node of both versions at `path`: first what it is
/// ([`describe`]); when that is the same, what is inside it.
fn node(old: &Value, new: &Value, path: &str, out: &mut Vec<Change>) {
    let (from, to) = (describe(old), describe(new));
    if from != to {
        out.push(Change::TypeChanged {
            path: path.to_owned(),
            from,
            to,
        });
        return;
    }
    if let (Some(before), Some(after)) = (properties(old), properties(new)) {
        fields((before, &required(old)), (after, &required(new)), path, out);
    }
    if let (Some(before), Some(after)) = (enum_values(old), enum_values(new)) {
        for value in after.difference(&before) {
            out.push(Change::EnumValueAdded {
                path: path.to_owned(),
                value: value.clone(),
            });
        }
        for value in before.difference(&after) {
            out.push(Change::EnumValueRemoved {
                path: path.to_owned(),
                value: value.clone(),
            });
        }
    }
    if let (Some(before), Some(after)) = (old.get("items"), new.get("items")) {
        node(before, after, &format!("{path}[]"), out);
    }
    if let (Some(before @ Value::Object(_)), Some(after @ Value::Object(_))) = (
        old.get("additionalProperties"),
        new.get("additionalProperties"),
    ) {
        node(before, after, &format!("{path}{{}}"), out);
    }
    if let (Some(before), Some(after)) = (members(old), members(new)) {
        match (nullable(before), nullable(after)) {
            (Some(before), Some(after)) => node(before, after, path, out),
            _ if before.iter().all(simple) => {}
            _ => variants(before, after, path, out),
        }
    }
}

fn fields(
    (before, required_before): (&Map<String, Value>, &BTreeSet<&str>),
    (after, required_after): (&Map<String, Value>, &BTreeSet<&str>),
    path: &str,
    out: &mut Vec<Change>,
) {
    for name in after.keys().filter(|name| !before.contains_key(*name)) {
        out.push(Change::FieldAdded {
            path: format!("{path}.{name}"),
            required: required_after.contains(name.as_str()),
        });
    }
    for (name, schema) in before {
        let field = format!("{path}.{name}");
        let Some(now) = after.get(name) else {
            out.push(Change::FieldRemoved {
                path: field,
                required: required_before.contains(name.as_str()),
            });
            continue;
        };
        match (
            required_before.contains(name.as_str()),
            required_after.contains(name.as_str()),
        ) {
            (false, true) => out.push(Change::FieldNowRequired {
                path: field.clone(),
            }),
            (true, false) => out.push(Change::FieldNoLongerRequired {
                path: field.clone(),
            }),
            _ => {}
        }
        node(schema, now, &field, out);
    }
}

/// Matches the members of a union by [`variant_keys`] and compares those
/// both versions have.
fn variants(before: &[Value], after: &[Value], path: &str, out: &mut Vec<Change>) {
    let keyed = |members: &[Value]| -> BTreeMap<String, Value> {
        variant_keys(members)
            .into_iter()
            .zip(members.iter().cloned())
            .collect()
    };
    let (before, after) = (keyed(before), keyed(after));
    for key in after.keys().filter(|key| !before.contains_key(*key)) {
        out.push(Change::VariantAdded {
            path: path.to_owned(),
            variant: key.clone(),
        });
    }
    for (key, member) in &before {
        match after.get(key) {
            Some(now) => node(member, now, &format!("{path}[{key}]"), out),
            None => out.push(Change::VariantRemoved {
                path: path.to_owned(),
                variant: key.clone(),
            }),
        }
    }
}

/// A name per union member that stays the same across versions: the tag
/// (`type=userMessage`) when every member is an object with one
/// single-valued property in common, else the member's title, its `$ref`,
/// its one value, its one required property (`{custom}`) or its
/// description. A repeated key gets `#2`, `#3`, ….
pub(super) fn variant_keys(members: &[Value]) -> Vec<String> {
    let tags: Vec<BTreeMap<&str, String>> = members.iter().map(single_valued).collect();
    let common = tags.first().and_then(|first| {
        first
            .keys()
            .find(|name| tags.iter().all(|tags| tags.contains_key(*name)))
    });
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    members
        .iter()
        .zip(&tags)
        .map(|(member, tags)| {
            let key = match common {
                Some(name) => format!("{name}={}", tags[name]),
                None => fallback_key(member),
            };
            let count = seen.entry(key.clone()).or_default();
            *count += 1;
            if *count == 1 {
                key
            } else {
                format!("{key}#{count}")
            }
        })
        .collect()
}

fn fallback_key(member: &Value) -> String {
    if let Some(title) = member.get("title").and_then(Value::as_str) {
        return title.to_owned();
    }
    if let Some(reference) = member.get("$ref").and_then(Value::as_str) {
        return reference
            .strip_prefix(REF_PREFIX)
            .unwrap_or(reference)
            .to_owned();
    }
    if let Some(value) = single_value(member) {
        return value;
    }
    let required: Vec<&str> = required(member).into_iter().collect();
    if let (Some(1), [only]) = (properties(member).map(Map::len), required.as_slice()) {
        return format!("{{{only}}}");
    }
    describe(member)
}

/// The properties of an object member that hold one fixed string value,
/// with that value.
fn single_valued(member: &Value) -> BTreeMap<&str, String> {
    properties(member)
        .map(|properties| {
            properties
                .iter()
                .filter_map(|(name, schema)| {
                    single_value(schema)
                        .filter(|_| schema.get("type").and_then(Value::as_str) == Some("string"))
                        .map(|value| (name.as_str(), value.trim_matches('"').to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The one value a node allows (`enum` of one, or `const`), as JSON text.
fn single_value(schema: &Value) -> Option<String> {
    if let Some(value) = schema.get("const") {
        return Some(value.to_string());
    }
    match schema.get("enum")?.as_array()?.as_slice() {
        [only] => Some(only.to_string()),
        _ => None,
    }
}

/// What a node is, in a few words (`ThreadItem`, `string | null`,
/// `array of Turn`, `map of string`, `object`, `union`); a node whose
/// description changes changed type.
pub(super) fn describe(schema: &Value) -> String {
    let Some(object) = schema.as_object() else {
        return if schema == &Value::Bool(false) {
            "nothing".to_owned()
        } else {
            "any".to_owned()
        };
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        return reference
            .strip_prefix(REF_PREFIX)
            .unwrap_or(reference)
            .to_owned();
    }
    if let Some(members) = members(schema) {
        if let Some(inner) = nullable(members) {
            return format!("{} | null", describe(inner));
        }
        if members.iter().all(simple) {
            let mut parts: Vec<String> = members.iter().map(describe).collect();
            parts.sort();
            parts.dedup();
            return parts.join(" | ");
        }
        return "union".to_owned();
    }
    if object.contains_key("allOf") {
        return "all of".to_owned();
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let enumerated = object.contains_key("enum") || object.contains_key("const");
    let mut parts: Vec<String> = types.iter().map(|name| type_text(object, name)).collect();
    if parts.is_empty() {
        parts.push(if enumerated {
            "value".to_owned()
        } else if object.contains_key("properties") {
            "object".to_owned()
        } else {
            "any".to_owned()
        });
    }
    let text = parts.join(" | ");
    if enumerated {
        format!("{text} enum")
    } else {
        text
    }
}

fn type_text(object: &Map<String, Value>, name: &str) -> String {
    match name {
        "array" => format!(
            "array of {}",
            object.get("items").map_or("any".to_owned(), describe)
        ),
        "object" => match object.get("additionalProperties") {
            Some(values @ Value::Object(_)) if !object.contains_key("properties") => {
                format!("map of {}", describe(values))
            }
            _ => "object".to_owned(),
        },
        "integer" | "number" | "string" => match object.get("format").and_then(Value::as_str) {
            Some(format) => format!("{name} ({format})"),
            None => name.to_owned(),
        },
        other => other.to_owned(),
    }
}

/// The members of a `oneOf` or `anyOf`.
fn members(schema: &Value) -> Option<&[Value]> {
    schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()
        .map(Vec::as_slice)
}

/// The other member of a two-member union with `null`.
fn nullable(members: &[Value]) -> Option<&Value> {
    let is_null = |member: &Value| {
        member.as_object().is_some_and(|object| {
            object.len() == 1 && object.get("type").and_then(Value::as_str) == Some("null")
        })
    };
    match members {
        [a, b] if is_null(b) && !is_null(a) => Some(a),
        [a, b] if is_null(a) && !is_null(b) => Some(b),
        _ => None,
    }
}

/// A member whose description says all there is: a `$ref` or a bare scalar.
fn simple(member: &Value) -> bool {
    let Some(object) = member.as_object() else {
        return true;
    };
    if object.contains_key("$ref") {
        return true;
    }
    let scalar = matches!(
        object.get("type").and_then(Value::as_str),
        Some("null" | "boolean" | "integer" | "number" | "string")
    );
    scalar
        && !["enum", "const", "properties"]
            .iter()
            .any(|key| object.contains_key(*key))
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties")?.as_object()
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The values of an `enum`, as JSON text (`"show"`, `1`).
fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    let values = schema.get("enum")?.as_array()?;
    Some(values.iter().map(Value::to_string).collect())
}
