//! Decoding the generated tagged unions without serde's buffering.
//!
//! serde's derive reads an internally tagged enum (`#[serde(tag = "type")]`)
//! into a tree of its private `Content` values first, because the tag may
//! come after the members it decides about; with the `Unknown(Value)`
//! fallback it also clones that tree before trying the variants. Codex
//! writes members in the order of their names, so `type` is usually last,
//! and a command item decoded that way costs dozens of allocations that the
//! typed value throws away.
//!
//! The generated impls use this module instead. [`capture`] takes the
//! value's JSON text, borrowed from the input when the deserializer can lend
//! it (`serde_json::from_str`, `from_slice`: how frames are decoded) and
//! copied otherwise ([`serde_json::from_reader`]); [`Raw::tag`] finds the
//! tag without allocating, and [`Raw::payload`] decodes the variant's
//! members straight from the text. Only what the typed value keeps is
//! allocated. Any deserializer works: serde_json's [`Value`] deserializer
//! hands over the value written out as text, and one that is not
//! serde_json's goes through a `Value`, with the same result.
//!
//! What decodes as what does not change: a known tag whose payload decodes
//! gives its variant, anything else gives `Unknown` with the JSON, and only
//! broken JSON fails.
//!
//! This captured read is the reference. The decoding of messages reads
//! unions in one pass instead, and falls back to it wherever one pass could
//! give something else (see the `one_pass` module).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The name serde_json gives its raw-value newtype: asked for it, its
/// deserializers hand over the text of the next value (this is how
/// `serde_json::value::RawValue` is read). A deserializer that does not
/// know the name treats it as a plain newtype, which [`capture`] reads
/// through a `Value`: the name only selects the fast way.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// How many payloads may be decoded inside one another. Each is read by a
/// deserializer of its own, whose nesting limit starts afresh, so this
/// bounds the stack a deeply nested input can take where those limits do
/// not. The protocol nests a handful at most.
const MAX_NESTED_PAYLOADS: u32 = 32;

thread_local! {
    static NESTED_PAYLOADS: Cell<u32> = const { Cell::new(0) };
}

/// One JSON value as [`capture`] took it.
#[derive(Debug)]
pub struct Raw<'de>(Repr<'de>);

#[derive(Debug)]
enum Repr<'de> {
    /// The value's text, as serde_json's deserializers hand it over.
    Text(Cow<'de, str>),
    /// The value, from any other deserializer.
    Value(Value),
}

/// Takes the next value of `deserializer` whole, for a generated
/// `Deserialize` impl to decode with the methods of [`Raw`].
///
/// # Errors
/// What the deserializer reports about the input itself (broken JSON).
pub fn capture<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Raw<'de>, D::Error> {
    deserializer
        .deserialize_newtype_struct(RAW_VALUE_TOKEN, CaptureVisitor)
        .map(Raw)
}

impl Raw<'_> {
    /// The index in `known` of the string member `tag` of this object;
    /// `None` when it is not an object, has no such member, or the member
    /// is not one of `known`.
    pub fn tag(&self, tag: &str, known: &[&str]) -> Option<usize> {
        match &self.0 {
            Repr::Text(text) => {
                if let Some(last) = last_member_string(text)
                    && last.0 == tag
                {
                    return known.iter().position(|known| *known == last.1);
                }
                let mut deserializer = serde_json::Deserializer::from_str(text);
                TagSeed { tag, known }.deserialize(&mut deserializer).ok()?
            }
            Repr::Value(value) => {
                let tag = value.as_object()?.get(tag)?.as_str()?;
                known.iter().position(|known| *known == tag)
            }
        }
    }

    /// This value decoded as `T` (a variant's members: members `T` does not
    /// name, the tag among them, are ignored); `None` when it does not
    /// decode.
    pub fn payload<T: DeserializeOwned>(&self) -> Option<T> {
        self.decode().ok()
    }

    /// This object without the members `without`, decoded as `T`; `None`
    /// when it does not decode. For a variant that flattens a part of its
    /// own, which must not see the tag or the members of the struct the
    /// union is flattened into, as serde's derive would not show them.
    pub fn payload_without<T: DeserializeOwned>(&self, without: &[&str]) -> Option<T> {
        let value = self.to_value(without).ok()?;
        nested(|| T::deserialize(&value)).ok()
    }

    /// This value decoded as `T`.
    ///
    /// # Errors
    /// When it does not decode as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.0 {
            Repr::Text(text) => nested(|| serde_json::from_str(text)),
            Repr::Value(value) => nested(|| T::deserialize(value)),
        }
    }

    /// The value as JSON, without the members `without` when it is an
    /// object: the `Unknown` of a union, which does not hold the members of
    /// the struct it is flattened into.
    ///
    /// # Errors
    /// Only for text that is not JSON, which serde_json never hands over.
    pub fn to_value(&self, without: &[&str]) -> Result<Value, serde_json::Error> {
        let mut value = match &self.0 {
            Repr::Text(text) => serde_json::from_str(text)?,
            Repr::Value(value) => value.clone(),
        };
        if let Value::Object(object) = &mut value {
            for key in without {
                object.remove(*key);
            }
        }
        Ok(value)
    }
}

/// The key and value of an object's last member, when that value is a
/// string and both are written without escapes or spaces around them, as
/// serde_json writes them: `…,"type":"active"}`. Codex writes members in
/// the order of their names, so a union's tag is usually there, and it is
/// found in a few bytes rather than by reading the object; anything else
/// gives `None`, and the object is read.
///
/// `text` is one JSON value as serde_json captured it. A quote inside a
/// string is always escaped, so a quote right after `:`, `,` or `{` is
/// never inside one: the value found starts where a string starts, no
/// quote comes between it and the object's last `}`, and that member is
/// the outermost object's.
fn last_member_string(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_suffix("\"}")?;
    let opening = body.rfind('"')?;
    let value = body.get(opening + 1..)?;
    let key_part = body.get(..opening)?.strip_suffix("\":")?;
    let key_opening = key_part.rfind('"')?;
    let key = key_part.get(key_opening + 1..)?;
    let before_key = key_part.get(..key_opening)?;
    let plain = !value.contains('\\') && !key.contains('\\');
    (plain && (before_key.ends_with(',') || before_key.ends_with('{'))).then_some((key, value))
}

/// Runs a decode of a nested payload, or fails it when too many are
/// already running on this thread.
fn nested<T, E: de::Error>(decode: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let depth = NESTED_PAYLOADS.with(Cell::get);
    if depth >= MAX_NESTED_PAYLOADS {
        return Err(de::Error::custom("tagged unions nested too deeply"));
    }
    NESTED_PAYLOADS.with(|nested| nested.set(depth + 1));
    let decoded = decode();
    NESTED_PAYLOADS.with(|nested| nested.set(depth));
    decoded
}

struct CaptureVisitor;

impl<'de> Visitor<'de> for CaptureVisitor {
    type Value = Repr<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        Value::deserialize(deserializer).map(Repr::Value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key_seed(KeySeed)? else {
            return Ok(Repr::Value(Value::Object(Map::new())));
        };
        let key = match first {
            Key::Raw => return map.next_value_seed(TextSeed).map(Repr::Text),
            Key::Other(key) => key,
        };
        // A deserializer that shows the newtype as a plain map.
        let mut object = Map::new();
        object.insert(key, map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        Ok(Repr::Value(Value::Object(object)))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Repr::Value(Value::Array(items)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Repr::Value(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Value::deserialize(deserializer).map(Repr::Value)
    }
}

/// The first key of the map serde_json hands over for a raw value, or of a
/// real map.
enum Key {
    Raw,
    Other(String),
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(if v == RAW_VALUE_TOKEN {
            Key::Raw
        } else {
            Key::Other(v.to_owned())
        })
    }
}

/// The raw value's text: borrowed when the input lends it.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the text of a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Reads an object's members, keeping only which of `known` its `tag`
/// member names; every other value is skipped without being built.
struct TagSeed<'a> {
    tag: &'a str,
    known: &'a [&'a str],
}

impl<'de> DeserializeSeed<'de> for TagSeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TagSeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_tag) = map.next_key_seed(IsKey(self.tag))? {
            if is_tag {
                found = map.next_value_seed(WhichOf(self.known))?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a key is the one named, without keeping it.
struct IsKey<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// Which of the strings a value is; `None` for another string or any
/// other value.
struct WhichOf<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for WhichOf<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WhichOf<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|known| *known == v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
}

mod one_pass;

pub use one_pass::{Tag, attempt, fall_back, in_one_pass, known, members, one_pass};

#[cfg(test)]
mod tests;
