//! The error type of the rpc layer and the JSON-RPC error object.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use codexrt_transport::redact::peer_text;
use codexrt_transport::{CloseReport, FrameError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{Malformation, MalformedFrame};

/// How a call, a notification or a reply failed.
///
/// The kinds are kept apart so that callers can react to each: the peer
/// answered with an error ([`Peer`](RpcError::Peer)), the peer's answer could
/// not be read ([`MalformedResponse`](RpcError::MalformedResponse),
/// [`FrameTooLarge`](RpcError::FrameTooLarge)), the connection is gone ([`Closed`](RpcError::Closed)), the answer took too
/// long ([`Timeout`](RpcError::Timeout)), or a value could not be converted
/// ([`Decode`](RpcError::Decode), [`Encode`](RpcError::Encode)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The peer answered the call with a JSON-RPC error.
    #[error("`{method}` failed: {error}")]
    Peer {
        /// The method that was called.
        method: String,
        /// The error object the peer sent.
        error: ErrorObject,
    },
    /// The peer answered the call, but the answer could not be read: it has
    /// the call's id and no method, yet it is not a valid response (both a
    /// `result` and an `error`, neither of them, an `error` that is not an
    /// error object, …).
    ///
    /// Unlike [`Peer`](RpcError::Peer), nothing says whether the call
    /// succeeded; unlike [`Decode`](RpcError::Decode), the fault is in the
    /// message, not in a result of the wrong type. The call fails as soon as
    /// the answer arrives, with or without a timeout. The same report is also
    /// delivered as [`Incoming::Malformed`](crate::Incoming::Malformed) and
    /// counted in [`RpcStats::malformed_frames`](crate::RpcStats::malformed_frames).
    #[error("the answer to `{method}` could not be read: {frame}")]
    MalformedResponse {
        /// The method that was called.
        method: String,
        /// What is wrong with the answer, with an excerpt of it.
        frame: MalformedFrame,
    },
    /// The peer's answer to the call was longer than the transport's frame
    /// size limit, so it was discarded unread.
    ///
    /// The answer is recognised by the id among its first bytes (see
    /// [Messages](crate#messages)), and the call fails as soon as the
    /// transport reports the frame, which it does once the limit is passed,
    /// before the rest of the frame has arrived. The transport's report is
    /// also delivered as [`Incoming::Malformed`](crate::Incoming::Malformed)
    /// (a [`Malformation::Transport`](crate::Malformation::Transport)) and
    /// counted in [`RpcStats::malformed_frames`](crate::RpcStats::malformed_frames).
    /// Raising the transport's limit (`StdioTransport::max_frame_len` for a
    /// child process) is the remedy when such answers are expected.
    #[error(
        "the answer to `{method}` exceeds the frame limit of {max_len} bytes (at least {seen} bytes)"
    )]
    FrameTooLarge {
        /// The method that was called.
        method: String,
        /// How many bytes of the answer had arrived when the transport gave
        /// up on it: a lower bound of its length.
        seen: usize,
        /// The transport's frame size limit in bytes.
        max_len: usize,
    },
    /// The connection closed before the call was answered, or was already
    /// closed. The report says why.
    #[error("`{method}` failed: {report}")]
    Closed {
        /// The method that was called, or whose notification or reply was sent.
        method: String,
        /// Why the connection closed.
        report: Arc<CloseReport>,
    },
    /// No answer arrived within the call's timeout. The call is forgotten: an
    /// answer arriving later is counted as late and dropped. The cause says
    /// whether the request was sent at all.
    #[error("{}", timeout_message(method, *timeout, *cause))]
    Timeout {
        /// The method that was called.
        method: String,
        /// The timeout that elapsed.
        timeout: Duration,
        /// What the call was waiting for when it expired.
        cause: TimeoutCause,
    },
    /// The peer's result could not be decoded into the requested type.
    #[error("failed to decode the result of `{method}`")]
    Decode {
        /// The method that was called.
        method: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The params of a call or notification, or the result of a reply, could
    /// not be encoded as JSON. Nothing was sent.
    #[error("failed to encode a message for `{method}`")]
    Encode {
        /// The method of the call, notification or answered request.
        method: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

impl RpcError {
    /// The method of the call, notification or request the error is about.
    pub fn method(&self) -> &str {
        match self {
            RpcError::Peer { method, .. }
            | RpcError::MalformedResponse { method, .. }
            | RpcError::FrameTooLarge { method, .. }
            | RpcError::Closed { method, .. }
            | RpcError::Timeout { method, .. }
            | RpcError::Decode { method, .. }
            | RpcError::Encode { method, .. } => method,
        }
    }

    /// The error of a call whose answer could not be read: an over-long
    /// answer the transport skipped gets a kind of its own.
    pub(crate) fn unreadable_answer(method: &str, frame: MalformedFrame) -> Self {
        match frame.problem {
            Malformation::Transport(FrameError::TooLong { seen, max_len, .. }) => {
                RpcError::FrameTooLarge {
                    method: method.to_owned(),
                    seen,
                    max_len,
                }
            }
            _ => RpcError::MalformedResponse {
                method: method.to_owned(),
                frame,
            },
        }
    }
}

/// What a call that timed out was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutCause {
    /// Its answer: the request was sent (or was being written).
    NoAnswer,
    /// A slot among the calls on the wire: `limit` calls (the connection's
    /// [`RpcConfig::max_in_flight_calls`](crate::RpcConfig::max_in_flight_calls))
    /// were waiting for their answers the whole time, and the request was
    /// never sent.
    InFlightLimit {
        /// The connection's limit of calls on the wire.
        limit: usize,
    },
}

fn timeout_message(method: &str, timeout: Duration, cause: TimeoutCause) -> String {
    match cause {
        TimeoutCause::NoAnswer => format!("`{method}` got no answer within {timeout:?}"),
        TimeoutCause::InFlightLimit { limit } => format!(
            "`{method}` was not sent within {timeout:?}: the {limit} calls the in-flight limit allows were all awaiting their answers"
        ),
    }
}

/// A JSON-RPC error object: what a peer sends instead of a result, and what
/// [`Responder::respond_error`](crate::Responder::respond_error) sends back.
///
/// The fields hold what the peer sent; `Display` and `Debug` show the
/// message and data bounded to [`MAX_PEER_TEXT`](codexrt_transport::redact::MAX_PEER_TEXT)
/// bytes with secret-shaped strings redacted, and so do the errors that
/// carry an error object.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description of the error.
    pub message: String,
    /// Additional information, as the raw JSON the peer sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

impl ErrorObject {
    /// Invalid JSON was received (JSON-RPC).
    pub const PARSE_ERROR: i64 = -32700;
    /// The message is not a valid request (JSON-RPC).
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not handled (JSON-RPC). Sent for
    /// server requests that arrive after the incoming receiver was dropped.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params are invalid (JSON-RPC).
    pub const INVALID_PARAMS: i64 = -32602;
    /// An internal error (JSON-RPC). Sent for a server request whose
    /// [`Responder`](crate::Responder) was dropped without a reply.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The client has too many server requests outstanding or its incoming
    /// queue is full (from the range JSON-RPC leaves to implementations).
    pub const OVERLOADED: i64 = -32001;

    /// An error object with the given code and message and no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches data. The default is none.
    #[must_use]
    pub fn with_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, peer_text(&self.message))
    }
}

impl fmt::Debug for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorObject")
            .field("code", &self.code)
            .field("message", &peer_text(&self.message))
            .field(
                "data",
                &self.data.as_deref().map(|data| peer_text(data.get())),
            )
            .finish()
    }
}

// `RawValue` has no `PartialEq`; two error objects are equal when their data
// is the same text.
impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_deref().map(RawValue::get) == other.data.as_deref().map(RawValue::get)
    }
}

impl Eq for ErrorObject {}

#[cfg(test)]
mod tests;
