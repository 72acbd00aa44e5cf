//! Errors of the transport layer.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::CloseReport;

/// A problem with one inbound frame. The connection stays usable: the transport
/// reports the problem once and goes on with the next frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
}
