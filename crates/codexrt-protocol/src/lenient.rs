//! Lenient decoding of an optional part: a value that does not decode reads
//! as `None`, so that a newer server changing the shape of one nested part
//! does not fail the item, notification or response that holds it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `deserialize_with` of the generated `Option` fields whose value can fail
/// to decode (objects, strict enums, untagged unions without a catch-all,
/// and lists or maps of them): `null` and a value of a shape this version
/// does not know both read as `None`. Malformed JSON still fails.
///
/// # Errors
///
/// Only what the underlying deserializer reports while reading the value
/// itself (broken JSON); a well-formed value never fails here.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value) => Ok(T::deserialize(value).ok()),
    }
}

#[cfg(test)]
mod tests;
