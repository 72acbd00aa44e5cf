//! Turning codex's schema bundle into one flat, prose-free, sorted map of
//! definitions that is stable enough to vendor and diff.
//!
//! The bundle keeps most types in a nested namespace map `definitions.v2`
//! (not a schema itself) and points at them with `#/definitions/v2/X`. The
//! normalized form has a single `definitions` map, every `$ref` of the form
//! `#/definitions/X`, no `description` or `$schema` keyword, and sorted keys.
//! Titles stay: they hold type and variant names, never prose.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

const V2_NAMESPACE: &str = "v2";
const REF_PREFIX: &str = "#/definitions/";
const V2_REF_PREFIX: &str = "#/definitions/v2/";

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalItems",
    "additionalProperties",
    "contains",
    "else",
    "if",
    "not",
    "propertyNames",
    "then",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf"];
/// Keywords whose value maps names (not keywords) to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &["$defs", "definitions", "patternProperties", "properties"];
/// Keywords whose value is data (names, literals, numbers), copied untouched:
/// a `default` object may well contain a key called `description`.
const VALUE_KEYWORDS: &[&str] = &[
    "$comment",
    "$id",
    "const",
    "contentEncoding",
    "contentMediaType",
    "default",
    "deprecated",
    "enum",
    "examples",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "format",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "multipleOf",
    "pattern",
    "readOnly",
    "required",
    "title",
    "type",
    "uniqueItems",
    "writeOnly",
];
/// Keywords dropped: prose, and the draft URL repeated on many definitions.
const STRIPPED_KEYWORDS: &[&str] = &["$schema", "description"];

/// Normalizes a `codex_app_server_protocol.schemas.json` bundle into
/// `{"definitions": {...}}` as described in the module docs.
///
/// # Errors
/// When the bundle lacks a `definitions` map, a node is not a schema, a
/// keyword is unknown (it might hold schemas whose prose and refs would be
/// missed), a name is defined at the root and in `v2` with different bodies,
/// or a `$ref` does not resolve in the flat map.
pub(super) fn normalize(bundle: &Value) -> Result<Value, String> {
    let definitions = bundle
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or("the bundle has no `definitions` object")?;
    let mut refs = BTreeSet::new();
    let mut flat = Map::new();
    let mut v2 = None;
    for (name, schema) in definitions {
        if name == V2_NAMESPACE {
            v2 = Some(
                schema
                    .as_object()
                    .ok_or("`definitions.v2` is not an object")?,
            );
            continue;
        }
        let path = format!("definitions/{name}");
        flat.insert(name.clone(), walk(schema, &path, &mut refs)?);
    }
    for (name, schema) in v2.into_iter().flatten() {
        let path = format!("definitions/v2/{name}");
        let schema = walk(schema, &path, &mut refs)?;
        match flat.get(name) {
            // The root copy wins: it is the one that carries a title.
            Some(existing) if same_body(existing, &schema) => {}
            Some(_) => {
                return Err(format!(
                    "definition `{name}` exists at the root and in `definitions.v2` with \
                     different bodies, so the two cannot share one flat map"
                ));
            }
            None => {
                flat.insert(name.clone(), schema);
            }
        }
    }
    let unresolved: Vec<&str> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix(REF_PREFIX)
                .is_none_or(|name| !flat.contains_key(name))
        })
        .map(String::as_str)
        .collect();
    if !unresolved.is_empty() {
        return Err(format!(
            "{} `$ref`(s) do not resolve after flattening: {}",
            unresolved.len(),
            unresolved.join(", ")
        ));
    }
    let mut root = Map::new();
    root.insert("definitions".to_owned(), Value::Object(flat));
    Ok(sorted(Value::Object(root)))
}

/// Normalizes one schema node, descending only through keywords that hold
/// schemas, so names (property and definition keys) and data (`default`,
/// `enum`, `required`) are never mistaken for keywords. Collects every `$ref`
/// into `refs` after rewriting.
fn walk(schema: &Value, path: &str, refs: &mut BTreeSet<String>) -> Result<Value, String> {
    let object = match schema {
        Value::Bool(_) => return Ok(schema.clone()),
        Value::Object(object) => object,
        _ => {
            return Err(format!(
                "{path}: expected a schema (an object or a boolean)"
            ));
        }
    };
    let mut out = Map::new();
    for (key, value) in object {
        let key_str = key.as_str();
        let child = |suffix: &str| format!("{path}/{suffix}");
        let normalized = if STRIPPED_KEYWORDS.contains(&key_str) {
            continue;
        } else if key_str == "$ref" {
            let target = value
                .as_str()
                .ok_or_else(|| format!("{path}: `$ref` is not a string"))?;
            let target = match target.strip_prefix(V2_REF_PREFIX) {
                Some(name) => format!("{REF_PREFIX}{name}"),
                None => target.to_owned(),
            };
            refs.insert(target.clone());
            Value::String(target)
        } else if SCHEMA_KEYWORDS.contains(&key_str) {
            walk(value, &child(key), refs)?
        } else if key_str == "items" {
            // Draft-07 `items` is one schema or an array of positional schemas.
            match value {
                Value::Array(items) => walk_all(items, &child(key), refs)?,
                _ => walk(value, &child(key), refs)?,
            }
        } else if SCHEMA_ARRAY_KEYWORDS.contains(&key_str) {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{path}: `{key}` is not an array"))?;
            walk_all(items, &child(key), refs)?
        } else if SCHEMA_MAP_KEYWORDS.contains(&key_str) {
            let map = value
                .as_object()
                .ok_or_else(|| format!("{path}: `{key}` is not an object"))?;
            let mut walked = Map::new();
            for (name, schema) in map {
                walked.insert(
                    name.clone(),
                    walk(schema, &child(&format!("{key}/{name}")), refs)?,
                );
            }
            Value::Object(walked)
        } else if key_str == "dependencies" {
            // Each entry is a schema or a list of property names.
            let map = value
                .as_object()
                .ok_or_else(|| format!("{path}: `{key}` is not an object"))?;
            let mut walked = Map::new();
            for (name, entry) in map {
                let entry = match entry {
                    Value::Array(_) => entry.clone(),
                    _ => walk(entry, &child(&format!("{key}/{name}")), refs)?,
                };
                walked.insert(name.clone(), entry);
            }
            Value::Object(walked)
        } else if VALUE_KEYWORDS.contains(&key_str) {
            value.clone()
        } else {
            return Err(format!(
                "{path}: unknown JSON Schema keyword `{key}`; add it to the keyword lists in \
                 xtask/src/schema/normalize.rs, saying whether it holds schemas or values"
            ));
        };
        out.insert(key.clone(), normalized);
    }
    Ok(Value::Object(out))
}

fn walk_all(items: &[Value], path: &str, refs: &mut BTreeSet<String>) -> Result<Value, String> {
    let walked = items
        .iter()
        .enumerate()
        .map(|(i, item)| walk(item, &format!("{path}/{i}"), refs))
        .collect::<Result<_, _>>()?;
    Ok(Value::Array(walked))
}

/// Two normalized definitions describe the same type when they differ at
/// most in `title` (`$schema` is already gone): the root copies of shared
/// types carry a title, the `v2` copies do not.
fn same_body(a: &Value, b: &Value) -> bool {
    let without_title = |value: &Value| {
        let mut value = value.clone();
        if let Some(object) = value.as_object_mut() {
            object.remove("title");
        }
        value
    };
    without_title(a) == without_title(b)
}

/// Rebuilds every object with its keys inserted in sorted order. serde_json's
/// `Map` sorts by itself unless some crate in the same build enables its
/// `preserve_order` feature; sorting here keeps the output byte-stable
/// either way.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
