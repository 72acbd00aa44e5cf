//! The one error of this crate: params that do not fit their method's type.

/// The params of a known method could not be decoded into its type.
///
/// Unknown methods never fail: they decode as the `Unknown` variant.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode the params of `{method}`")]
#[non_exhaustive]
pub struct DecodeError {
    /// The wire method name.
    pub method: String,
    /// What serde found wrong, with the path into the params.
    #[source]
    pub source: serde_json::Error,
}
