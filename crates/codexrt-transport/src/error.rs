//! Errors of the transport layer.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::CloseReport;

/// A problem with one inbound frame. The connection stays usable: the transport
/// reports the problem once and goes on with the next frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame grew past the maximum length; its bytes up to the next delimiter
    /// were discarded.
    #[error("inbound frame exceeds the limit of {max_len} bytes and was discarded")]
    TooLong {
        /// The configured maximum frame length in bytes.
        max_len: usize,
    },
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
