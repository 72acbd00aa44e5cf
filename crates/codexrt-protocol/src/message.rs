//! What the generated message enums share: decoding params into their type,
//! and reading and writing a whole `{"method", "params"}` body.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::DecodeError;

/// Decodes `params`, JSON text, into `T` in one pass, its tagged unions
/// read in one pass too when they can be (see the `tagged` module);
/// missing params read as `null`, which only a params-less type accepts.
/// Text that is not one JSON value fails.
pub(crate) fn decode_params<T: DeserializeOwned>(
    method: &str,
    params: Option<&str>,
) -> Result<T, DecodeError> {
    let text = params.unwrap_or("null");
    crate::tagged::in_one_pass(|| serde_json::from_str(text)).map_err(|source| DecodeError {
        method: method.to_owned(),
        source,
    })
}

/// Writes `{"method": method, "params": params}`, leaving `params` out when
/// there are none.
pub(crate) fn serialize_message<S, P>(
    serializer: S,
    method: &str,
    params: Option<&P>,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    P: Serialize + ?Sized,
{
    let mut map = serializer.serialize_map(Some(1 + usize::from(params.is_some())))?;
    map.serialize_entry("method", method)?;
    if let Some(params) = params {
        map.serialize_entry("params", params)?;
    }
    map.end()
}

/// A message body with its params still raw: what [`deserialize_message`]
/// reads before it knows the params' type.
#[derive(Deserialize)]
struct RawMessage {
    method: String,
    #[serde(default)]
    params: Option<Box<RawValue>>,
}

/// Reads `{"method", "params"}` (other members, like `id` or `emittedAtMs`,
/// are ignored) and decodes the params with `decode`. The params stay raw
/// text until the method is known, so only text deserializers support this
/// (`serde_json::from_str`, `from_slice`, `from_reader`).
pub(crate) fn deserialize_message<'de, D, T>(
    deserializer: D,
    decode: fn(&str, Option<&RawValue>) -> Result<T, DecodeError>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let message = RawMessage::deserialize(deserializer)?;
    // A serde error has no `source()`, so the cause goes into its message.
    decode(&message.method, message.params.as_deref())
        .map_err(|err| D::Error::custom(format_args!("{err}: {}", err.source)))
}
