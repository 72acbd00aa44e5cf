//! Request ids: the only part of a message this layer correlates on.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The id of a JSON-RPC request, as it appears on the wire.
///
/// Ids compare by type and value: the string `"1"` and the integer `1` are
/// different ids and never match each other. Ids this layer allocates for its
/// own calls are always [`RequestId::Integer`]; ids of server requests are
/// echoed back exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id. Numbers outside the range of `i64`, and numbers written
    /// with a fraction or an exponent, are not accepted as ids.
    Integer(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Integer(id) => write!(f, "{id}"),
            // Quoted, so that a log line tells `"1"` from `1`.
            RequestId::String(id) => write!(f, "{id:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(id: i64) -> Self {
        RequestId::Integer(id)
    }
}

impl From<String> for RequestId {
    fn from(id: String) -> Self {
        RequestId::String(id)
    }
}

impl From<&str> for RequestId {
    fn from(id: &str) -> Self {
        RequestId::String(id.to_owned())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Integer(id) => serializer.serialize_i64(*id),
            RequestId::String(id) => serializer.serialize_str(id),
        }
    }
}

// Written by hand rather than `#[serde(untagged)]`: an untagged enum buffers
// the value into an intermediate tree before trying each variant, and reports
// a vague "did not match any variant" on failure.
impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = RequestId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string id")
    }

    fn visit_i64<E: de::Error>(self, id: i64) -> Result<RequestId, E> {
        Ok(RequestId::Integer(id))
    }

    fn visit_u64<E: de::Error>(self, id: u64) -> Result<RequestId, E> {
        i64::try_from(id)
            .map(RequestId::Integer)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(id), &self))
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<RequestId, E> {
        Ok(RequestId::String(id.to_owned()))
    }

    fn visit_string<E: de::Error>(self, id: String) -> Result<RequestId, E> {
        Ok(RequestId::String(id))
    }
}
