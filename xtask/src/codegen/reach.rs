//! Which definitions get generated (everything the methods' params and
//! responses reach) and what untagged unions demand of their members.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::classify::{Class, classify, members};
use super::history::requires;
use super::input::Definitions;

/// `#/definitions/Name` → `Name`.
pub(crate) fn ref_name(reference: &str) -> Result<&str, String> {
    reference
        .strip_prefix("#/definitions/")
        .filter(|name| !name.contains('/'))
        .ok_or_else(|| format!("unsupported $ref `{reference}`"))
}

/// Every definition reachable from `roots` through `$ref`s.
pub(super) fn closure<'a>(
    defs: &Definitions,
    roots: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<String>, String> {
    fn refs(node: &Value, out: &mut Vec<String>) -> Result<(), String> {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(r)) => out.push(ref_name(r)?.to_owned()),
                        _ => refs(value, out)?,
                    }
                }
            }
            Value::Array(values) => {
                for value in values {
                    refs(value, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.cloned().collect();
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        let def = defs
            .get(&name)
            .ok_or_else(|| format!("`{name}` is referenced but not defined"))?;
        refs(def, &mut stack)?;
        seen.insert(name);
    }
    Ok(seen)
}

/// String enums that must not accept unknown values, each with the untagged
/// union whose members they tell apart. Our structs ignore unknown members,
/// so an untagged union can only tell its object members apart by what they
/// require; a tolerant enum would accept every string and let the first
/// member win.
pub(super) fn strict_enums(
    defs: &Definitions,
    reachable: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, String> {
    fn visit(
        defs: &Definitions,
        union: &str,
        member: &Value,
        out: &mut BTreeMap<String, String>,
    ) -> Result<(), String> {
        let target = match member["$ref"].as_str() {
            Some(r) => defs
                .get(ref_name(r)?)
                .ok_or_else(|| format!("dangling {r}"))?,
            None => member,
        };
        if classify(target)? == Class::Untagged {
            for inner in members(target).into_iter().flatten() {
                visit(defs, union, inner, out)?;
            }
            return Ok(());
        }
        let Some(props) = target["properties"].as_object() else {
            return Ok(());
        };
        for (key, prop) in props {
            if !requires(target, key) {
                continue;
            }
            let prop = prop["allOf"].get(0).unwrap_or(prop);
            if let Some(r) = prop["$ref"].as_str() {
                let name = ref_name(r)?;
                if defs
                    .get(name)
                    .is_some_and(|d| classify(d) == Ok(Class::StringEnum))
                {
                    out.entry(name.to_owned())
                        .or_insert_with(|| union.to_owned());
                }
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for name in reachable {
        let def = get(defs, name)?;
        let class = classify(def).map_err(|err| format!("definition `{name}`: {err}"))?;
        if class == Class::Untagged {
            for member in members(def).into_iter().flatten() {
                visit(defs, name, member, &mut out)
                    .map_err(|err| format!("definition `{name}`: {err}"))?;
            }
        }
    }
    Ok(out)
}

/// Untagged unions that are members of another untagged union, each with
/// that outer union.
pub(super) fn nested_untagged(
    defs: &Definitions,
    reachable: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for name in reachable {
        let def = get(defs, name)?;
        if classify(def)? != Class::Untagged {
            continue;
        }
        for member in members(def).into_iter().flatten() {
            if let Some(reference) = member["$ref"].as_str() {
                let inner = ref_name(reference)?;
                if defs
                    .get(inner)
                    .is_some_and(|d| classify(d) == Ok(Class::Untagged))
                {
                    out.entry(inner.to_owned()).or_insert_with(|| name.clone());
                }
            }
        }
    }
    Ok(out)
}

fn get<'a>(defs: &'a Definitions, name: &str) -> Result<&'a Value, String> {
    defs.get(name)
        .ok_or_else(|| format!("`{name}` is referenced but not defined"))
}
