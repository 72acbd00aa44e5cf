//! Errors of the transport layer.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::CloseReport;

/// A problem with one inbound frame. The connection stays usable: the transport
/// reports the problem once and goes on with the next frame.
///
/// `Debug` shows the kept prefix as its length and hash only (see
/// [`FrameDigest`](crate::redact::FrameDigest)): it is the peer's content.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame grew past the maximum length. It is reported as soon as the
    /// limit is passed, before the rest of it has arrived; its bytes up to the
    /// next delimiter are discarded.
    ///
    /// The message names the sizes only: the frame's content comes from the
    /// peer and stays out of it. The first bytes are kept in `prefix` for the
    /// layer above, which may read them (for instance to tell which call an
    /// over-long answer was for).
    #[error(
        "inbound frame exceeds the limit of {max_len} bytes (at least {seen} bytes) and was discarded"
    )]
    TooLong {
        /// The configured maximum frame length in bytes.
        max_len: usize,
        /// How many bytes of the frame had arrived when it was reported: more
        /// than `max_len`, and a lower bound of the frame's length (its end may
        /// not have arrived yet).
        seen: usize,
        /// The first bytes of the frame, at most [`FrameError::PREFIX_LEN`];
        /// a copy, so keeping it does not keep the frame's buffer alive.
        prefix: Bytes,
    },
}

impl std::fmt::Debug for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLong {
                max_len,
                seen,
                prefix,
            } => f
                .debug_struct("TooLong")
                .field("max_len", max_len)
                .field("seen", seen)
                .field("prefix", &crate::redact::FrameDigest::of(prefix))
                .finish(),
        }
    }
}

impl FrameError {
    /// How many bytes of an over-long frame [`FrameError::TooLong`] keeps in
    /// its `prefix`: enough for the envelope members that open a message.
    pub const PREFIX_LEN: usize = 1024;

    /// [`FrameError::TooLong`] for a frame that starts with `start` (of which
    /// at most [`PREFIX_LEN`](Self::PREFIX_LEN) bytes are copied) and of which
    /// `seen` bytes had arrived.
    pub(crate) fn too_long(start: &[u8], seen: usize, max_len: usize) -> Self {
        let prefix = start.get(..Self::PREFIX_LEN).unwrap_or(start);
        FrameError::TooLong {
            max_len,
            seen,
            prefix: Bytes::copy_from_slice(prefix),
        }
    }
}

/// Errors of the transport layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The child process could not be started.
    #[error("failed to spawn `{program}`")]
    Spawn {
        /// The program that was to be started.
        program: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The working directory given for the child does not exist or is not a
    /// directory.
    #[error("working directory `{}` is not a directory", path.display())]
    WorkingDir {
        /// The directory that was given.
        path: PathBuf,
    },
    /// The connection is closed; the report says why.
    #[error("connection closed: {0}")]
    Closed(Arc<CloseReport>),
    /// Signalling or waiting for the child process failed during shutdown.
    #[error("failed to stop the child process (pid {pid})")]
    Stop {
        /// The child's process id.
        pid: u32,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A WebSocket URL could not be used; nothing was sent.
    #[error("invalid WebSocket URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The socket could not be opened: the host name did not resolve, the
    /// peer refused the connection, the Unix socket does not exist, ...
    #[error("failed to connect to {endpoint}")]
    Connect {
        /// Where the connection was to go: scheme, host, port and path of the
        /// URL (never its query), or the Unix socket's path.
        endpoint: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Opening the socket, TLS and the WebSocket upgrade together took longer
    /// than the connect timeout.
    #[error("connecting to {endpoint} timed out after {timeout:?}")]
    ConnectTimeout {
        /// Where the connection was to go.
        endpoint: String,
        /// The connect timeout in force.
        timeout: Duration,
    },
    /// The server refused the WebSocket upgrade with HTTP 401: the token was
    /// missing, wrong or expired. Nothing else was sent.
    #[error(
        "{endpoint} refused the WebSocket upgrade as unauthorized (HTTP 401{})",
        detail_suffix(detail)
    )]
    Unauthorized {
        /// Where the connection was to go.
        endpoint: String,
        /// The start of the response body, when the server sent one (for
        /// codex, what was wrong: "expired websocket jwt", ...): at most 256
        /// characters, control characters replaced. Never the token.
        detail: String,
    },
    /// The server answered the WebSocket upgrade with an HTTP status other
    /// than 101 and 401.
    #[error(
        "{endpoint} refused the WebSocket upgrade with HTTP {status}{}",
        detail_suffix(detail)
    )]
    UpgradeRefused {
        /// Where the connection was to go.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, as for
        /// [`Unauthorized`](TransportError::Unauthorized).
        detail: String,
    },
    /// The WebSocket upgrade failed otherwise: TLS failed, the connection
    /// closed before an answer, or the answer was not a valid upgrade.
    #[error("the WebSocket upgrade with {endpoint} failed")]
    Handshake {
        /// Where the connection was to go.
        endpoint: String,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// A token or secret file could not be read, or holds nothing but
    /// whitespace.
    #[error("failed to read the credentials file `{}`", path.display())]
    CredentialsFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error, or `InvalidData` for an empty file.
        #[source]
        source: io::Error,
    },
    /// A token or secret cannot be used (its content stays out of the
    /// message).
    #[error("invalid credentials: {reason}")]
    InvalidCredentials {
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}
