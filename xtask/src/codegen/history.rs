//! Where an object schema sits inside a definition, and what other versions
//! (and the stable flavour) say about the same object: whether a field is
//! required everywhere, since which version it exists, whether the stable
//! API has it.

use serde_json::Value;

use super::input::{Definitions, VersionInput};

/// One step from a definition root to a nested object schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The member of a `oneOf`/`anyOf` whose `prop` is the single value `value`.
    Tagged { prop: String, value: String },
    /// The payload object of a one-key member object (`{"granular": {...}}`).
    External { key: String },
    /// The member object of an `anyOf`/`oneOf` that requires `key`.
    Member { key: String },
}

/// An object schema's address, stable across versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub(crate) def: String,
    pub(crate) steps: Vec<Step>,
}

impl Loc {
    pub(crate) fn root(def: &str) -> Self {
        Loc {
            def: def.to_owned(),
            steps: Vec::new(),
        }
    }

    pub(crate) fn then(&self, step: Step) -> Self {
        let mut steps = self.steps.clone();
        steps.push(step);
        Loc {
            def: self.def.clone(),
            steps,
        }
    }
}

/// The object schema at `loc` in `defs`, if that version has it.
pub(crate) fn resolve<'a>(defs: &'a Definitions, loc: &Loc) -> Option<&'a Value> {
    let mut node = defs.get(&loc.def)?;
    for step in &loc.steps {
        node = match step {
            Step::Tagged { prop, value } => members(node).find(|m| {
                m["properties"][prop.as_str()]["enum"]
                    .as_array()
                    .is_some_and(|e| e.len() == 1 && e[0] == value.as_str())
            })?,
            Step::External { key } => {
                let member = members(node).find(|m| {
                    m["properties"].as_object().is_some_and(|p| p.len() == 1)
                        && m["properties"].get(key.as_str()).is_some()
                })?;
                &member["properties"][key.as_str()]
            }
            Step::Member { key } => members(node).find(|m| requires(m, key))?,
        };
    }
    Some(node)
}

fn members(node: &Value) -> impl Iterator<Item = &Value> {
    ["oneOf", "anyOf"]
        .into_iter()
        .filter_map(|k| node[k].as_array())
        .flatten()
}

pub(crate) fn requires(schema: &Value, key: &str) -> bool {
    schema["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|k| k == key))
}

pub(crate) fn has_property(schema: &Value, key: &str) -> bool {
    schema["properties"].get(key).is_some()
}

/// All supported versions, oldest first, with the pinned one's stable
/// flavour at hand.
pub(crate) struct History<'a> {
    pub(crate) versions: &'a [VersionInput],
    pub(crate) pinned: &'a VersionInput,
}

impl History<'_> {
    /// Required in every version's experimental schema that has the object.
    pub(crate) fn required_everywhere(&self, loc: &Loc, key: &str) -> bool {
        self.versions
            .iter()
            .all(|v| match resolve(&v.experimental, loc) {
                Some(object) => requires(object, key),
                None => true,
            })
    }

    /// The oldest version whose experimental schema has the object at `loc`
    /// (with property `key` when given); `None` when that is the oldest
    /// supported version, i.e. nothing worth saying.
    pub(crate) fn introduced(&self, loc: &Loc, key: Option<&str>) -> Option<&str> {
        let first = self.versions.iter().position(|v| {
            resolve(&v.experimental, loc).is_some_and(|o| key.is_none_or(|k| has_property(o, k)))
        })?;
        (first > 0).then(|| self.versions[first].version.as_str())
    }

    /// The oldest version whose experimental schema has `value` among the
    /// string values of definition `def`; `None` when it is the oldest.
    pub(crate) fn value_introduced(&self, def: &str, value: &str) -> Option<&str> {
        let first = self.versions.iter().position(|v| {
            v.experimental
                .get(def)
                .is_some_and(|d| string_values(d).contains(&value))
        })?;
        (first > 0).then(|| self.versions[first].version.as_str())
    }

    /// The object exists in the pinned stable schema but lacks `key`.
    pub(crate) fn experimental_field(&self, loc: &Loc, key: &str) -> bool {
        resolve(&self.pinned.stable, loc).is_some_and(|o| !has_property(o, key))
    }

    /// The pinned stable schema lacks the object at `loc` (a definition or a
    /// variant that only the experimental API has).
    pub(crate) fn experimental_object(&self, loc: &Loc) -> bool {
        resolve(&self.pinned.stable, loc).is_none()
    }

    /// The pinned stable schema has definition `def` but not `value` in it.
    pub(crate) fn experimental_value(&self, def: &str, value: &str) -> bool {
        self.pinned
            .stable
            .get(def)
            .is_some_and(|d| !string_values(d).contains(&value))
    }
}

/// Every string value of a string enum, plain or `oneOf` of string enums.
pub(crate) fn string_values(schema: &Value) -> Vec<&str> {
    let own = schema["enum"].as_array().into_iter().flatten();
    let nested = members(schema).flat_map(|m| m["enum"].as_array().into_iter().flatten());
    own.chain(nested).filter_map(Value::as_str).collect()
}

impl History<'_> {
    /// The oldest version from which every version up to the pinned one
    /// requires `key` wherever it has the object at `loc`.
    pub(crate) fn required_since(&self, loc: &Loc, key: &str) -> Option<&str> {
        let mut since = None;
        for v in self.versions.iter().rev() {
            match resolve(&v.experimental, loc) {
                Some(object) if requires(object, key) => since = Some(v.version.as_str()),
                Some(_) => break,
                None => {}
            }
        }
        since
    }
}
