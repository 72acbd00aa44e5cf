//! Decoding JSON text into a generated type and encoding it back: the
//! generic entry points that `generated_cases.rs` instantiates per type.

use std::fmt::Debug;

use codexrt_protocol::ClientRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A value decoded into its Rust type and encoded again.
pub(crate) struct Decoded {
    /// The re-encoded value.
    pub(crate) json: Value,
    /// The `Debug` rendering of the Rust value: `Unknown(` in it means some
    /// enum fell back to its catch-all.
    pub(crate) debug: String,
}

impl Decoded {
    pub(crate) fn has_unknown(&self) -> bool {
        self.debug.contains("Unknown(")
    }
}

pub(crate) type RoundTrip = fn(&str) -> Result<Decoded, String>;

pub(crate) fn roundtrip<T: Serialize + DeserializeOwned + Debug>(
    text: &str,
) -> Result<Decoded, String> {
    let value: T = serde_json::from_str(text).map_err(|err| format!("decode: {err}"))?;
    let encoded = serde_json::to_string(&value).map_err(|err| format!("encode: {err}"))?;
    Ok(Decoded {
        json: serde_json::from_str(&encoded).map_err(|err| format!("re-parse: {err}"))?,
        debug: format!("{value:?}"),
    })
}

/// What the `ClientRequest` impl of a params type says about a value.
pub(crate) struct RequestView {
    pub(crate) method: &'static str,
    pub(crate) experimental: bool,
    pub(crate) experimental_fields: Vec<&'static str>,
    /// The Rust path of the response type.
    pub(crate) response: &'static str,
    pub(crate) json: Value,
}

pub(crate) type RequestCase = fn(&str) -> Result<RequestView, String>;

pub(crate) fn request_case<P: ClientRequest + DeserializeOwned>(
    text: &str,
) -> Result<RequestView, String> {
    let params: P = serde_json::from_str(text).map_err(|err| format!("decode: {err}"))?;
    Ok(RequestView {
        method: P::METHOD,
        experimental: P::EXPERIMENTAL,
        experimental_fields: params.experimental_fields(),
        response: std::any::type_name::<P::Response>(),
        json: serde_json::to_value(&params).map_err(|err| format!("encode: {err}"))?,
    })
}
