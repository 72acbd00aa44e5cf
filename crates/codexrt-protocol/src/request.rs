//! The traits that tie a params type to its method: what the client sends
//! (requests and notifications) and what the server asks the client.
//!
//! The generated code implements them for every params type, so callers
//! never spell a method name: `client.call(params)` knows the method and the
//! response type from the params' type.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Params of a request the client sends; implemented for every client
/// request's params type.
///
/// Methods without params have a made-up unit params type (for example
/// `AccountLogoutParams`) that serializes as `null`; the rpc layer leaves
/// `null` params out of the message.
pub trait ClientRequest: Serialize {
    /// The wire method name.
    const METHOD: &'static str;
    /// The type of the result the server answers with.
    type Response: DeserializeOwned;
    /// The method exists only in the experimental API: the server refuses it
    /// unless the client initialized with `capabilities.experimentalApi`.
    const EXPERIMENTAL: bool;

    /// The experimental-only fields that are set in this value, as dotted
    /// wire paths (`dynamicTools`, `deferOutput.commandExecution`), so that a
    /// connection without the experimental API can refuse to send them
    /// instead of having the server reject the request.
    ///
    /// Empty for experimental methods (the whole method is experimental) and
    /// for params types without experimental fields.
    fn experimental_fields(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// Params of a notification the client sends (`initialized`).
pub trait ClientNotification: Serialize {
    /// The wire method name.
    const METHOD: &'static str;
    /// The method exists only in the experimental API.
    const EXPERIMENTAL: bool;
}

/// Params of a request the server sends to the client (approvals, tool
/// calls, …), tying it to the answer the client owes.
pub trait ServerRequestParams: Serialize + DeserializeOwned {
    /// The wire method name.
    const METHOD: &'static str;
    /// The type of the client's answer.
    type Response: Serialize + DeserializeOwned;
    /// The method exists only in the experimental API.
    const EXPERIMENTAL: bool;
}
