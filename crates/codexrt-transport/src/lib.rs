//! Byte frames over a medium: the bottom layer of codexrt.
//!
//! A [`Connection`] is a bounded [`FrameSender`], a bounded [`FrameReceiver`]
//! and a [`Closer`] that shuts the medium down and always knows why it closed
//! (a [`CloseReport`]: the reason, the exit status of a child process, the tail
//! of its stderr). Frames are opaque [`Bytes`](bytes::Bytes): this crate knows
//! nothing of JSON.
//!
//! Transports:
//! - [`StdioTransport`]: a child process spoken to over its stdin and stdout,
//!   one frame per line, with a bounded stderr ring, its own process group and
//!   a shutdown ladder (close stdin, SIGTERM, SIGKILL, always reap).
//! - [`memory::pair`]: two connected in-memory connections, for tests.
//! - Your own: [`Connection::channel`] hands you the [`Endpoint`] to drive.
//!
//! ```
//! use bytes::Bytes;
//! use codexrt_transport::memory;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (client, mut server) = memory::pair(16);
//! client.sender.send(Bytes::from_static(b"ping")).await?;
//! let frame = server.receiver.recv().await.ok_or("closed")??;
//! assert_eq!(frame, "ping");
//! let report = client.closer.shutdown(std::time::Duration::from_secs(1)).await?;
//! println!("closed: {report}");
//! # Ok(())
//! # }
//! ```
//!
//! # Boundaries
//!
//! This crate moves bytes and owns the medium: frame size limits, buffering,
//! the child process and its shutdown. It does not parse JSON, match answers
//! to requests or know any method: that is `codexrt-rpc`, on top of it. It
//! does not start `codex` by itself either: `codexrt-core` decides the program
//! and arguments and hands them to [`StdioTransport`].
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features. [`StdioTransport`] (and
//! [`EnvPolicy`], [`Spawned`]) exist on Unix only, because the shutdown ladder
//! relies on process groups and signals; the memory and channel transports
//! exist everywhere.

mod connection;
mod error;
pub mod framing;
pub mod memory;
mod report;
#[cfg(unix)]
mod stdio;

pub use connection::{
    Closer, Connection, Control, DEFAULT_CHANNEL_CAPACITY, Endpoint, FrameReceiver, FrameSender,
    Inbound, ReportPublisher, SendError, ShutdownDone,
};
pub use error::{FrameError, TransportError};
pub use report::{CloseReason, CloseReport};
#[cfg(unix)]
pub use stdio::{EnvPolicy, Spawned, StdioTransport};
