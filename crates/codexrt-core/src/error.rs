//! The one error of the runtime, [`CoreError`], and how rpc errors map onto
//! it.

use std::sync::Arc;
use std::time::Duration;

use codexrt_rpc::{ErrorObject, MalformedFrame, RpcError, TimeoutCause};
use codexrt_transport::redact::peer_text;
use codexrt_transport::{CloseReport, TransportError};
use semver::Version;

use crate::server_request::Settled;

/// Everything that can go wrong in the runtime.
///
/// The kinds stay apart so that callers can react to each: the server said
/// no ([`Peer`](CoreError::Peer), [`Overloaded`](CoreError::Overloaded)),
/// the connection is gone ([`Closed`](CoreError::Closed)), it took too long
/// ([`Timeout`](CoreError::Timeout)), an answer could not be read
/// ([`Decode`](CoreError::Decode), [`MalformedResponse`](CoreError::MalformedResponse),
/// [`FrameTooLarge`](CoreError::FrameTooLarge)),
/// or the runtime refused locally before sending anything
/// ([`MethodUnavailable`](CoreError::MethodUnavailable),
/// [`ExperimentalApiRequired`](CoreError::ExperimentalApiRequired),
/// [`AlreadyInitialized`](CoreError::AlreadyInitialized)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The app-server process could not be started.
    #[error("failed to start the app-server")]
    Spawn(#[source] TransportError),
    /// The `initialize` answer has no `userAgent`, so the server's version
    /// cannot be checked.
    #[error("the `initialize` answer has no `userAgent`")]
    MissingUserAgent,
    /// The `userAgent` has no semantic version right after its first `/`.
    #[error("cannot read a version from the user agent {user_agent:?}")]
    InvalidUserAgent {
        /// The user agent as the server sent it.
        user_agent: String,
    },
    /// The server is older than the [`CompatibilityGuard`](crate::CompatibilityGuard)
    /// allows; the runtime shut it down.
    #[error(
        "codex {detected} is too old: at least {required} is required (user agent {user_agent:?}); \
         install a newer codex or point `CODEX_BIN` at one"
    )]
    IncompatibleVersion {
        /// The version the server reported.
        detected: Version,
        /// The oldest version the guard accepts.
        required: Version,
        /// The user agent as the server sent it.
        user_agent: String,
    },
    /// The server is newer than any version this crate knows, and the
    /// [`CompatibilityGuard`](crate::CompatibilityGuard) was set to refuse
    /// that ([`CompatibilityGuard::refuse_newer_than_known`](crate::CompatibilityGuard::refuse_newer_than_known));
    /// the runtime shut it down.
    #[error(
        "codex {detected} is newer than {newest_known}, the newest version this SDK knows \
         (user agent {user_agent:?}), and the compatibility guard refuses newer versions"
    )]
    NewerThanKnown {
        /// The version the server reported.
        detected: Version,
        /// The newest version this crate's protocol tables describe.
        newest_known: Version,
        /// The user agent as the server sent it.
        user_agent: String,
    },
    /// The handshake failed and so did shutting the server down afterwards.
    #[error("{compatibility}; shutting the server down failed as well: {shutdown}")]
    CompatibilityValidationWithShutdown {
        /// Why the handshake failed.
        compatibility: Box<CoreError>,
        /// Why the shutdown failed.
        shutdown: Arc<TransportError>,
    },
    /// The server's version does not have this method; nothing was sent.
    #[error("`{method}` is not available in codex {version}")]
    MethodUnavailable {
        /// The method.
        method: &'static str,
        /// The server's version.
        version: Version,
    },
    /// The method, or some fields that are set, exist only in the
    /// experimental API, which the runtime did not opt into; nothing was
    /// sent. See [`RuntimeConfig::enable_experimental_api`](crate::RuntimeConfig::enable_experimental_api).
    #[error("`{method}` needs the experimental API (fields: {fields:?})")]
    ExperimentalApiRequired {
        /// The method.
        method: &'static str,
        /// The experimental fields that are set; empty when the whole method
        /// is experimental.
        fields: Vec<&'static str>,
    },
    /// `initialize` was asked for through a typed call, but the runtime
    /// ran the handshake when it connected and a connection is initialized
    /// once; nothing was sent. (codex answers a second `initialize` with
    /// error -32600, "Already initialized".)
    #[error("`initialize` is refused: the runtime's handshake already initialized the connection")]
    AlreadyInitialized,
    /// The server answered with a JSON-RPC error.
    #[error("`{method}` failed: error {code}: {message}")]
    Peer {
        /// The method that was called.
        method: String,
        /// The error code.
        code: i64,
        /// The error message, at most
        /// [`MAX_PEER_TEXT`](codexrt_transport::redact::MAX_PEER_TEXT) bytes,
        /// secret-shaped strings redacted.
        message: String,
        /// The error data, if any; data longer than `MAX_PEER_TEXT` bytes or
        /// holding a secret-shaped string becomes its bounded, redacted text
        /// as a JSON string.
        data: Option<serde_json::Value>,
    },
    /// The server is overloaded (error -32001); the call may succeed later.
    /// [`CoreError::is_retryable`] is true for it.
    #[error("`{method}` was refused because the server is overloaded: {message}")]
    Overloaded {
        /// The method that was called.
        method: String,
        /// The error message, bounded and redacted as for
        /// [`Peer`](CoreError::Peer).
        message: String,
    },
    /// The connection closed before the call was answered; the report says
    /// why (exit status, stderr tail).
    #[error("`{method}` failed: {report}")]
    Closed {
        /// The method that was called.
        method: String,
        /// Why the connection closed.
        report: Arc<CloseReport>,
    },
    /// No answer arrived in time; the cause says whether the request was
    /// sent at all (see [`RpcConfig::max_in_flight_calls`](codexrt_rpc::RpcConfig::max_in_flight_calls)).
    #[error("{}", RpcError::Timeout { method: method.clone(), timeout: *timeout, cause: *cause })]
    Timeout {
        /// The method that was called.
        method: String,
        /// The timeout that elapsed.
        timeout: Duration,
        /// What the call was waiting for when it expired.
        cause: TimeoutCause,
    },
    /// The server's answer did not decode into the expected type.
    #[error("failed to decode the result of `{method}`")]
    Decode {
        /// The method that was called.
        method: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The server's answer was not a valid JSON-RPC response.
    #[error("the answer to `{method}` could not be read: {frame}")]
    MalformedResponse {
        /// The method that was called.
        method: String,
        /// What is wrong with the answer.
        frame: MalformedFrame,
    },
    /// The server's answer was longer than the transport's frame size limit
    /// (64 MiB unless the transport was configured otherwise), so it was
    /// discarded unread. The call fails as soon as the transport reports the
    /// frame, not at its timeout; whether the server carried the request out
    /// is unknown. See
    /// [`RpcError::FrameTooLarge`](codexrt_rpc::RpcError::FrameTooLarge).
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
    /// The params or a reply could not be encoded; nothing was sent.
    #[error("failed to encode a message for `{method}`")]
    Encode {
        /// The method.
        method: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A turn did not end within its deadline
    /// ([`TurnOptions::deadline`](crate::TurnOptions::deadline)); it was asked
    /// to stop.
    #[error("turn {turn_id} of thread {thread_id} did not end within {deadline:?}")]
    TurnDeadline {
        /// The thread.
        thread_id: String,
        /// The turn.
        turn_id: String,
        /// The deadline that passed.
        deadline: Duration,
    },
    /// `turn/start` answered with a turn that had already ended while
    /// nobody was starting a turn on its thread, and whose notifications
    /// were let go since (more than 16 such turns came after it), so its
    /// outcome cannot be built.
    #[error("turn {turn_id} of thread {thread_id} ended before it was claimed and was forgotten")]
    TurnForgotten {
        /// The thread.
        thread_id: String,
        /// The turn.
        turn_id: String,
    },
    /// `turn/start` answered with a turn this runtime already knows, still
    /// running or recently ended, instead of a new one: codex adds the
    /// input of a `turn/start` sent while a turn runs to that turn. The
    /// turn is not joined; its own handle (if any) still follows it.
    #[error(
        "`turn/start` on thread {thread_id} answered with turn {turn_id}, which was already started"
    )]
    TurnAlreadyStarted {
        /// The thread.
        thread_id: String,
        /// The turn the answer named.
        turn_id: String,
    },
    /// `review/start` answered with a review in another thread than the
    /// one asked for (a detached review), which cannot be followed as a
    /// turn of the thread asked for.
    #[error("`review/start` on thread {thread_id} started its review in thread {review_thread_id}")]
    ReviewDetached {
        /// The thread asked for.
        thread_id: String,
        /// The thread codex runs the review in.
        review_thread_id: String,
    },
    /// The turn's outcome was already returned by an earlier
    /// [`TurnHandle::outcome`](crate::TurnHandle::outcome).
    #[error("the outcome of turn {turn_id} of thread {thread_id} was already taken")]
    OutcomeTaken {
        /// The thread.
        thread_id: String,
        /// The turn.
        turn_id: String,
    },
    /// Stopping the app-server failed; the connection is closed from this
    /// side all the same.
    #[error("failed to shut the app-server down")]
    Shutdown(#[source] Arc<TransportError>),
    /// An rpc failure of a kind this version of the runtime does not know.
    #[error(transparent)]
    Rpc(RpcError),
    /// A server request was already settled by the runtime (deadline,
    /// `serverRequest/resolved`, shutdown, connection gone), so this answer
    /// was not sent.
    #[error("the `{method}` request was already settled: {settled}")]
    ServerRequestSettled {
        /// The method of the server request.
        method: String,
        /// How it was settled.
        settled: Settled,
    },
}

impl CoreError {
    /// Whether trying again later may succeed: only for an overloaded server.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CoreError::Overloaded { .. })
    }

    /// The close report, when the error is that the connection is gone.
    pub fn close_report(&self) -> Option<&Arc<CloseReport>> {
        match self {
            CoreError::Closed { report, .. } => Some(report),
            _ => None,
        }
    }
}

impl From<RpcError> for CoreError {
    fn from(error: RpcError) -> Self {
        match error {
            RpcError::Peer { method, error } if error.code == ErrorObject::OVERLOADED => {
                CoreError::Overloaded {
                    method,
                    message: peer_text(&error.message),
                }
            }
            RpcError::Peer { method, error } => CoreError::Peer {
                method,
                code: error.code,
                message: peer_text(&error.message),
                data: error.data.and_then(|raw| {
                    let shown = peer_text(raw.get());
                    if shown == raw.get() {
                        // Raw JSON that already parsed once, so reading it as
                        // a value cannot fail; `ok()` keeps that invariant
                        // from becoming a panic.
                        serde_json::from_str(raw.get()).ok()
                    } else {
                        Some(serde_json::Value::String(shown))
                    }
                }),
            },
            RpcError::MalformedResponse { method, frame } => {
                CoreError::MalformedResponse { method, frame }
            }
            RpcError::FrameTooLarge {
                method,
                seen,
                max_len,
            } => CoreError::FrameTooLarge {
                method,
                seen,
                max_len,
            },
            RpcError::Closed { method, report } => CoreError::Closed { method, report },
            RpcError::Timeout {
                method,
                timeout,
                cause,
            } => CoreError::Timeout {
                method,
                timeout,
                cause,
            },
            RpcError::Decode { method, source } => CoreError::Decode { method, source },
            RpcError::Encode { method, source } => CoreError::Encode { method, source },
            // `RpcError` is non-exhaustive: a kind added later is passed on
            // as it is rather than filed under a kind it may not be.
            other => CoreError::Rpc(other),
        }
    }
}

#[cfg(test)]
mod tests;
