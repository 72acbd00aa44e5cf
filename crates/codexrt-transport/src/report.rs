//! Why a connection closed: the report every transport publishes exactly once.

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::sync::Arc;

/// What ended a connection.
///
/// A transport publishes one [`CloseReport`] when it closes; every later
/// operation on the connection, and every layer above it, can retrieve the same
/// report to explain why it failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side of the medium (end of file on its output;
    /// for a WebSocket, the stream ended without a close frame).
    PeerClosed,
    /// The WebSocket peer sent a close frame.
    PeerCloseFrame {
        /// The close code (1000 for a normal close; 1005 when the frame
        /// carried none).
        code: u16,
        /// The reason the peer gave, at most 123 bytes by the WebSocket
        /// protocol, control characters replaced.
        reason: String,
    },
    /// The WebSocket peer sent a message longer than the frame size limit.
    /// Its payload is never read, so the connection cannot go on: it is
    /// closed with code 1009 (message too big).
    MessageTooLong {
        /// The configured maximum frame length in bytes.
        max_len: usize,
        /// The length the peer announced for the message (or for the part
        /// of it received so far), in bytes.
        size: usize,
    },
    /// The WebSocket peer did not answer one of our pings: nothing at all
    /// was read from it within `timeout` after the ping was sent (see
    /// [`WebSocketTransport::pong_timeout`](crate::WebSocketTransport::pong_timeout)).
    /// The connection is closed with code 1001 (going away).
    Unresponsive {
        /// How long the peer had to answer.
        timeout: std::time::Duration,
    },
    /// The child process exited; [`CloseReport::exit`] holds its status.
    ProcessExited,
    /// [`Closer::shutdown`](crate::Closer::shutdown) was called.
    Shutdown,
    /// Every handle of the connection was dropped without a shutdown, so the
    /// transport tore the medium down on its own.
    Dropped,
    /// Reading from or writing to the medium failed.
    Io(Arc<io::Error>),
    /// The transport stopped without publishing a report. This points at a bug
    /// in that transport; the built-in ones always publish one.
    Unreported,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("the peer closed the connection"),
            CloseReason::PeerCloseFrame { code, reason } if reason.is_empty() => {
                write!(f, "the peer closed the connection with code {code}")
            }
            CloseReason::PeerCloseFrame { code, reason } => {
                write!(
                    f,
                    "the peer closed the connection with code {code}: {}",
                    crate::redact::peer_text(reason)
                )
            }
            CloseReason::MessageTooLong { max_len, size } => write!(
                f,
                "the peer sent a message of {size} bytes, over the limit of {max_len} bytes"
            ),
            CloseReason::Unresponsive { timeout } => write!(
                f,
                "the peer did not answer a ping within {} ms",
                timeout.as_millis()
            ),
            CloseReason::ProcessExited => f.write_str("the process exited"),
            CloseReason::Shutdown => f.write_str("the connection was shut down"),
            CloseReason::Dropped => f.write_str("the connection was dropped"),
            CloseReason::Io(err) => write!(f, "i/o error: {err}"),
            CloseReason::Unreported => f.write_str("the transport ended without a report"),
        }
    }
}

/// The close report of a connection: why it closed, how the process ended (for
/// process transports) and the last bytes the process wrote to stderr.
///
/// Reports are shared as `Arc<CloseReport>` so that every pending operation can
/// carry the same one.
///
/// The stderr tail comes from the peer: secret-shaped strings in it are
/// redacted when the report is built (see [`redact`](crate::redact)), and
/// `Display` and `Debug` show at most [`MAX_PEER_TEXT`](crate::redact::MAX_PEER_TEXT)
/// bytes of it.
#[derive(Clone)]
#[non_exhaustive]
pub struct CloseReport {
    /// Why the connection closed.
    pub reason: CloseReason,
    /// The exit status of the child process, when there is one and it had
    /// exited by the time the report was published.
    pub exit: Option<ExitStatus>,
    /// The tail of the child's stderr (lossily decoded as UTF-8), bounded by the
    /// transport's stderr ring size, secrets redacted. Empty for transports
    /// without stderr.
    pub stderr_tail: String,
}

impl CloseReport {
    /// A report with the given reason, no exit status and no stderr.
    pub fn new(reason: CloseReason) -> Self {
        CloseReport {
            reason,
            exit: None,
            stderr_tail: String::new(),
        }
    }

    /// Sets the exit status.
    #[must_use]
    pub fn with_exit(mut self, exit: Option<ExitStatus>) -> Self {
        self.exit = exit;
        self
    }

    /// Sets the stderr tail, with its secrets redacted.
    #[must_use]
    pub fn with_stderr_tail(mut self, tail: String) -> Self {
        self.stderr_tail = crate::redact::redacted(&tail);
        self
    }
}

impl fmt::Debug for CloseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseReport")
            .field("reason", &self.reason)
            .field("exit", &self.exit)
            .field("stderr_tail", &crate::redact::peer_text(&self.stderr_tail))
            .finish()
    }
}

impl fmt::Display for CloseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.reason, f)?;
        if let Some(exit) = self.exit {
            write!(f, " ({exit})")?;
        }
        let tail = self.stderr_tail.trim_end();
        if !tail.is_empty() {
            // Only the last line goes into the one-line message; the whole tail
            // stays available in the field.
            let last = tail.rsplit('\n').next().unwrap_or(tail);
            write!(f, "; last stderr line: {}", crate::redact::peer_text(last))?;
        }
        Ok(())
    }
}
