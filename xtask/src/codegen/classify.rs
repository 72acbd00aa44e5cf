//! What shape a schema node has, decided once so that the passes over the
//! schema (strictness, ordering, lowering) agree.

use serde_json::Value;

use super::history::string_values;

/// The shape of a definition root (or a union member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// `{"type":"string","enum":[…]}` or a `oneOf`/`anyOf` of those.
    StringEnum,
    /// `oneOf` of objects sharing a required single-value string property.
    Tagged { tag: String },
    /// `oneOf`/`anyOf` of strings and one-key objects (serde's default enum
    /// representation), possibly with a catch-all member.
    External,
    /// Any other union: members tried in order.
    Untagged,
    /// `anyOf [X, null]`.
    Nullable,
    /// `type: object` with `properties` (and maybe a `oneOf` of variants).
    Struct,
    /// `type: object` with neither `properties` nor a value schema.
    BareObject,
    /// `type: object` with an `additionalProperties` schema only.
    Map,
    /// A string without `enum`, an array or another scalar: a type alias.
    Alias,
}

/// Discriminator names in the order they are preferred when a union's
/// members share more than one single-value property.
const TAG_PREFERENCE: &[&str] = &["type", "method", "mode", "kind", "handlerType"];

pub(crate) fn members(schema: &Value) -> Option<&Vec<Value>> {
    schema["oneOf"].as_array().or(schema["anyOf"].as_array())
}

pub(crate) fn is_null(schema: &Value) -> bool {
    schema["type"] == "null"
}

pub(crate) fn is_string_enum(schema: &Value) -> bool {
    schema["type"] == "string" && schema["enum"].is_array()
}

/// The value of a single-value string enum schema.
pub(crate) fn single_value(schema: &Value) -> Option<&str> {
    match schema["enum"].as_array() {
        Some(values) if values.len() == 1 && schema["type"] == "string" => values[0].as_str(),
        _ => None,
    }
}

/// A member like `{"granular": {...}}` with `additionalProperties: false`.
pub(crate) fn external_key(member: &Value) -> Option<&str> {
    let props = member["properties"].as_object()?;
    if props.len() != 1 || member["additionalProperties"] != false {
        return None;
    }
    let key = props.keys().next()?;
    crate::codegen::history::requires(member, key).then_some(key.as_str())
}

/// `{"type": ["string", "object"]}`: the catch-all member of `CodexErrorInfo`.
fn is_catch_all(member: &Value) -> bool {
    member["type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == "string") && t.iter().any(|x| x == "object"))
        && member["properties"].is_null()
}

pub(crate) fn classify(schema: &Value) -> Result<Class, String> {
    if schema.get("properties").is_some() && members(schema).is_some() {
        return Ok(Class::Struct);
    }
    if let Some(members) = members(schema) {
        let non_null: Vec<&Value> = members.iter().filter(|m| !is_null(m)).collect();
        if non_null.len() == 1 && non_null.len() < members.len() {
            return Ok(Class::Nullable);
        }
        if non_null.iter().all(|m| is_string_enum(m)) {
            return Ok(Class::StringEnum);
        }
        if let Some(tag) = find_tag(&non_null) {
            return Ok(Class::Tagged { tag });
        }
        let external = non_null
            .iter()
            .all(|m| is_string_enum(m) || external_key(m).is_some() || is_catch_all(m));
        if external && non_null.iter().any(|m| external_key(m).is_some()) {
            return Ok(Class::External);
        }
        return Ok(Class::Untagged);
    }
    if is_string_enum(schema) {
        return Ok(Class::StringEnum);
    }
    match schema["type"].as_str() {
        Some("string" | "array" | "integer" | "number" | "boolean") => Ok(Class::Alias),
        Some("object") => Ok(match &schema["additionalProperties"] {
            _ if schema.get("properties").is_some() => Class::Struct,
            Value::Object(_) => Class::Map,
            _ => Class::BareObject,
        }),
        _ => Err(format!("unsupported definition shape: {}", excerpt(schema))),
    }
}

/// The property every member requires as a distinct single-value string.
pub(crate) fn find_tag(members: &[&Value]) -> Option<String> {
    let first = members.first()?;
    let mut candidates: Vec<&String> = first["properties"]
        .as_object()?
        .iter()
        .filter(|(k, v)| single_value(v).is_some() && crate::codegen::history::requires(first, k))
        .map(|(k, _)| k)
        .collect();
    candidates.sort_by_key(|k| {
        TAG_PREFERENCE
            .iter()
            .position(|p| p == k)
            .unwrap_or(TAG_PREFERENCE.len())
    });
    candidates.into_iter().find_map(|tag| {
        let mut seen = Vec::new();
        for member in members {
            let value = single_value(&member["properties"][tag.as_str()])?;
            if !crate::codegen::history::requires(member, tag) || seen.contains(&value) {
                return None;
            }
            seen.push(value);
        }
        Some(tag.clone())
    })
}

/// Every string value of a string-enum class schema.
pub(crate) fn enum_values(schema: &Value) -> Vec<&str> {
    string_values(schema)
}

/// A short rendering of a schema for error messages.
pub(crate) fn excerpt(schema: &Value) -> String {
    let text = schema.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}
