//! [`Normalizer`]: rules that blank out what changes from run to run
//! (timestamps, generated ids, temp paths) before two messages are compared.

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::{Map, Value};

/// Rewrites the volatile parts of JSON messages so that two runs of the same
/// conversation compare equal. Replays, golden files and fixtures apply it
/// to both sides before comparing.
///
/// The normalizer is data: a list of [`Rule`]s (which member, under which
/// parent, with what kind of value) and a list of path prefixes to
/// substitute. [`Normalizer::default`] holds the standard rules:
///
/// | rule        | key                                  | value                                   |
/// |-------------|--------------------------------------|-----------------------------------------|
/// | `timestamp` | ending in `AtMs` or `At` (`emittedAtMs`, `createdAt`, `updatedAt`, …) | a number or an RFC 3339-looking string |
/// | `duration`  | `durationMs`                         | a number                                |
/// | `id`        | ending in `Id` (`threadId`, `turnId`, `itemId`, `callId`, `requestId`, …) | a UUID, a ULID or `call_…` |
/// | `id`        | `id` of a `thread`, `turn` or `item` (or an element of `threads`, `turns`, `items`) | a UUID, a ULID or `call_…` |
/// | `path`      | `cwd`, `codexHome`                   | a string                                |
///
/// A matched number becomes `0` and any other matched value the string
/// `"<name>"` (`"<timestamp>"`, `"<id>"`, `"<path>"`), so normalized
/// messages keep the types a client decodes. Values that do not look
/// generated (`"requestId": 0`, a thread id `"t1"` chosen by a script) are
/// kept: they are part of the conversation.
///
/// Path prefixes are substituted in every string value and object key,
/// where they stand as a whole path prefix (`/tmp/a` in `/tmp/a/b`, not in
/// `/tmp/ab`); register the temp folders of both runs with the same
/// placeholder.
///
/// ```
/// use codexrt_testkit::{KeyPattern, Normalizer, Rule, ValuePattern};
/// use serde_json::json;
///
/// let normalizer = Normalizer::default()
///     .path_prefix("/tmp/run-1", "$TMP")
///     .rule(Rule::new("model", KeyPattern::exact("model"), ValuePattern::Any));
/// let mut message = json!({
///     "method": "turn/started",
///     "emittedAtMs": 1764000000000_u64,
///     "params": {"threadId": "0199c3a4-5b6e-7f00-8a9b-0123456789ab", "model": "gpt-5",
///                "text": "see /tmp/run-1/notes.txt"},
/// });
/// normalizer.normalize(&mut message);
/// assert_eq!(message, json!({
///     "method": "turn/started",
///     "emittedAtMs": 0,
///     "params": {"threadId": "<id>", "model": "<model>", "text": "see $TMP/notes.txt"},
/// }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalizer {
    rules: Vec<Rule>,
    prefixes: Vec<PathPrefix>,
}

/// One normalization rule: members whose key matches `key`, whose parent
/// matches `within` and whose value matches `value` are replaced by a
/// placeholder named `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// The placeholder's name: a matched string becomes `"<name>"`, a matched
    /// number `0`.
    pub name: String,
    /// Which member keys the rule applies to.
    pub key: KeyPattern,
    /// The keys of the parent the member must sit under (the key of the
    /// object holding the member, or of the array holding that object);
    /// empty for anywhere.
    pub within: Vec<String>,
    /// Which values the rule replaces.
    pub value: ValuePattern,
}

/// Which member keys a [`Rule`] applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPattern {
    /// Exactly this key.
    Exact(String),
    /// Any key ending in this (case-sensitive, so `At` matches `createdAt`
    /// and not `format`).
    Suffix(String),
}

impl KeyPattern {
    /// [`KeyPattern::Exact`].
    pub fn exact(key: impl Into<String>) -> KeyPattern {
        KeyPattern::Exact(key.into())
    }

    /// [`KeyPattern::Suffix`].
    pub fn suffix(suffix: impl Into<String>) -> KeyPattern {
        KeyPattern::Suffix(suffix.into())
    }

    fn matches(&self, key: &str) -> bool {
        match self {
            KeyPattern::Exact(exact) => key == exact,
            KeyPattern::Suffix(suffix) => {
                key.len() > suffix.len() && key.ends_with(suffix.as_str())
            }
        }
    }
}

/// Which values a [`Rule`] replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValuePattern {
    /// Any value.
    Any,
    /// Any number.
    Number,
    /// Any string.
    String,
    /// A number, or a string that starts like an RFC 3339 date and time
    /// (`2025-11-23T10:00…`, a space for the `T` accepted).
    Timestamp,
    /// A UUID in its hyphenated form, any version, either case.
    Uuid,
    /// A ULID: 26 characters of Crockford base 32.
    Ulid,
    /// A string starting with this prefix (`call_`).
    Prefix(String),
    /// Any of these patterns.
    OneOf(Vec<ValuePattern>),
}

impl ValuePattern {
    /// A generated id: a UUID, a ULID or a `call_…` tool-call id.
    pub fn generated_id() -> ValuePattern {
        ValuePattern::OneOf(vec![
            ValuePattern::Uuid,
            ValuePattern::Ulid,
            ValuePattern::Prefix("call_".to_owned()),
        ])
    }

    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (ValuePattern::Any, _) => true,
            (ValuePattern::Number | ValuePattern::Timestamp, Value::Number(_)) => true,
            (ValuePattern::String, Value::String(_)) => true,
            (ValuePattern::Timestamp, Value::String(text)) => looks_like_rfc3339(text),
            (ValuePattern::Uuid, Value::String(text)) => looks_like_uuid(text),
            (ValuePattern::Ulid, Value::String(text)) => looks_like_ulid(text),
            (ValuePattern::Prefix(prefix), Value::String(text)) => {
                text.len() > prefix.len() && text.starts_with(prefix.as_str())
            }
            (ValuePattern::OneOf(patterns), value) => patterns.iter().any(|p| p.matches(value)),
            _ => false,
        }
    }
}

impl Rule {
    /// A rule that applies anywhere in a message.
    pub fn new(name: impl Into<String>, key: KeyPattern, value: ValuePattern) -> Rule {
        Rule {
            name: name.into(),
            key,
            within: Vec::new(),
            value,
        }
    }

    /// Restricts the rule to members of objects found under these keys.
    /// Default: anywhere.
    #[must_use]
    pub fn within<I, S>(mut self, parents: I) -> Rule
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.within = parents.into_iter().map(Into::into).collect();
        self
    }

    fn matches(&self, key: &str, parent: Option<&str>, value: &Value) -> bool {
        let placed = self.within.is_empty()
            || parent.is_some_and(|parent| self.within.iter().any(|p| p == parent));
        placed && self.key.matches(key) && self.value.matches(value)
    }

    fn placeholder(&self, value: &Value) -> Value {
        match value {
            Value::Number(_) => Value::from(0),
            _ => Value::String(format!("<{}>", self.name)),
        }
    }
}

/// A path prefix and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathPrefix {
    prefix: String,
    placeholder: String,
}

impl Default for Normalizer {
    /// The standard rules (see the type's documentation) and no path
    /// prefixes.
    fn default() -> Normalizer {
        let generated_id = ValuePattern::generated_id;
        Normalizer::empty()
            .rule(Rule::new(
                "timestamp",
                KeyPattern::suffix("AtMs"),
                ValuePattern::Timestamp,
            ))
            .rule(Rule::new(
                "timestamp",
                KeyPattern::suffix("At"),
                ValuePattern::Timestamp,
            ))
            .rule(Rule::new(
                "duration",
                KeyPattern::exact("durationMs"),
                ValuePattern::Number,
            ))
            .rule(Rule::new("id", KeyPattern::suffix("Id"), generated_id()))
            .rule(
                Rule::new("id", KeyPattern::exact("id"), generated_id())
                    .within(["thread", "turn", "item", "threads", "turns", "items"]),
            )
            .rule(Rule::new(
                "path",
                KeyPattern::exact("cwd"),
                ValuePattern::String,
            ))
            .rule(Rule::new(
                "path",
                KeyPattern::exact("codexHome"),
                ValuePattern::String,
            ))
    }
}

impl Normalizer {
    /// A normalizer without rules or prefixes: it changes nothing until
    /// some are added.
    pub fn empty() -> Normalizer {
        Normalizer {
            rules: Vec::new(),
            prefixes: Vec::new(),
        }
    }

    /// Adds a rule, checked after the rules added before it; the first rule
    /// that matches a member decides. Default: the standard rules (see the
    /// type's documentation), or none from [`Normalizer::empty`].
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Normalizer {
        self.rules.push(rule);
        self
    }

    /// Substitutes `placeholder` for `prefix` (a folder; a trailing `/` is
    /// ignored) wherever it starts a path in a string value or an object
    /// key. Longer prefixes are substituted first. Default: none.
    #[must_use]
    pub fn path_prefix(
        mut self,
        prefix: impl AsRef<Path>,
        placeholder: impl Into<String>,
    ) -> Normalizer {
        let prefix = prefix.as_ref().to_string_lossy();
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() {
            self.prefixes.push(PathPrefix {
                prefix: prefix.to_owned(),
                placeholder: placeholder.into(),
            });
            self.prefixes
                .sort_by_key(|entry| std::cmp::Reverse(entry.prefix.len()));
        }
        self
    }

    /// The rules, in the order they are checked.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Normalizes `value` in place.
    pub fn normalize(&self, value: &mut Value) {
        self.walk(value, None);
    }

    /// A normalized copy of `value`.
    pub fn normalized(&self, value: &Value) -> Value {
        let mut copy = value.clone();
        self.normalize(&mut copy);
        copy
    }

    fn walk(&self, value: &mut Value, parent: Option<&str>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match self
                        .rules
                        .iter()
                        .find(|rule| rule.matches(key, parent, child))
                    {
                        Some(rule) => *child = rule.placeholder(child),
                        None => self.walk(child, Some(key)),
                    }
                }
                if !self.prefixes.is_empty() {
                    self.rename_keys(map);
                }
            }
            // Elements of an array sit under the array's key.
            Value::Array(items) => items.iter_mut().for_each(|item| self.walk(item, parent)),
            Value::String(text) => {
                if let Some(replaced) = self.substitute(text) {
                    *text = replaced;
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn rename_keys(&self, map: &mut Map<String, Value>) {
        let renamed: Vec<(String, String)> = map
            .keys()
            .filter_map(|key| self.substitute(key).map(|new| (key.clone(), new)))
            .collect();
        for (old, new) in renamed {
            if let Some(child) = map.remove(&old) {
                map.insert(new, child);
            }
        }
    }

    /// The text with every prefix substituted, or `None` when none occurs.
    fn substitute(&self, text: &str) -> Option<String> {
        let mut current: Option<String> = None;
        for PathPrefix {
            prefix,
            placeholder,
        } in &self.prefixes
        {
            let source = current.as_deref().unwrap_or(text);
            if let Some(replaced) = substitute_prefix(source, prefix, placeholder) {
                current = Some(replaced);
            }
        }
        current
    }
}

/// Replaces each occurrence of `prefix` that stands as a whole path prefix.
fn substitute_prefix(text: &str, prefix: &str, placeholder: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for (start, _) in text.match_indices(prefix) {
        let end = start + prefix.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        // `/tmp/a` must not match inside `/var/tmp/a` or `/tmp/ab`.
        let starts_path = before.is_none_or(|c| !is_name_char(c));
        let ends_component = after.is_none_or(|c| c == '/' || !is_name_char(c));
        if start >= copied && starts_path && ends_component {
            out.push_str(&text[copied..start]);
            out.push_str(placeholder);
            copied = end;
        }
    }
    (copied > 0).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Characters that continue a file name (so a prefix followed by one of them
/// is only part of a longer name).
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

/// `YYYY-MM-DDTHH:MM` (or with a space for the `T`) at the start.
fn looks_like_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd";
    bytes.len() >= shape.len()
        && shape.iter().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            b'T' => matches!(got, b'T' | b't' | b' '),
            other => got == other,
        })
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits.
fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// 26 characters of Crockford base 32 (no I, L, O, U), the first at most `7`
/// so that the value fits in 128 bits.
fn looks_like_ulid(text: &str) -> bool {
    text.len() == 26
        && text.as_bytes()[0] <= b'7'
        && text.bytes().all(|byte| {
            let upper = byte.to_ascii_uppercase();
            upper.is_ascii_digit()
                || (upper.is_ascii_uppercase() && !matches!(upper, b'I' | b'L' | b'O' | b'U'))
        })
}
