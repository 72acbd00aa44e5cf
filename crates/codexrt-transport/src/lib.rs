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
//! - [`WebSocketTransport`]: a WebSocket server such as `codex app-server
//!   --listen ws://...`, over TCP (`ws://`, or `wss://` with the `wss`
//!   feature) or a Unix socket (`unix://PATH`), one frame per message, with
//!   credentials for the upgrade ([`WebSocketAuth`]: a capability token, or
//!   HS256 tokens minted from a shared secret by [`SignedBearer`]) and a
//!   typed error for a refused upgrade.
//! - [`memory::pair`]: two connected in-memory connections, for tests
//!   ([`memory::pair_with_max_frame_len`] with a frame size limit).
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
//! # Frame size limit
//!
//! Transports accept frames up to a maximum length
//! ([`StdioTransport::max_frame_len`],
//! [`WebSocketTransport::max_frame_len`], 64 MiB by default). On a
//! line-framed transport a longer frame is
//! not delivered: the receiver gets one [`FrameError::TooLong`] as soon as the
//! limit is passed, without waiting for the frame's end, and the frames after
//! it as usual. The report carries the limit, how many bytes had arrived and
//! the frame's first [`FrameError::PREFIX_LEN`] bytes (1 KiB), so that the
//! layer above can tell what the frame was (for `codexrt-rpc`: which call it
//! answered); its message leaves the peer's bytes out. The rest of the frame
//! is read and thrown away. While reading, a connection holds at most the
//! limit plus 64 KiB for a frame, and gives that memory back once the frame
//! is delivered or reported. A WebSocket message over the limit is refused
//! from its header on, before its payload is read; as the stream cannot be
//! resynchronised after that, the connection is closed instead, with code
//! 1009 and [`CloseReason::MessageTooLong`] in its report.
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
//! - `wss` (off by default): `wss://` URLs for [`WebSocketTransport`], with
//!   TLS by rustls (ring provider) trusting the Mozilla roots of
//!   `webpki-roots`, or a client configuration of your own
//!   (`WebSocketTransport::tls_config`; rustls is re-exported as
//!   `codexrt_transport::rustls`). Without it, a `wss://` URL is refused as
//!   invalid.
//!
//! [`StdioTransport`] (and [`EnvPolicy`], [`Spawned`]) exist on Unix only,
//! because the shutdown ladder relies on process groups and signals, and so
//! do `unix://` URLs; the WebSocket transport over TCP, the memory and the
//! channel transports exist everywhere.
//!
//! # Secrets
//!
//! Tokens and shared secrets never appear in `Debug` or `Display` output,
//! errors or logs: [`BearerToken`] and [`SignedBearer`] redact them, and the
//! WebSocket upgrade request is written by this crate rather than by
//! tungstenite's client handshake, which logs requests whole at trace
//! level.

mod connection;
mod error;
pub mod framing;
pub mod memory;
pub mod redact;
mod report;
#[cfg(unix)]
mod stdio;
mod websocket;

/// The longest wait any codexrt setting takes: 30 years, which in practice
/// means never. Every duration setting (a timeout, a grace, an interval, a
/// deadline) of the codexrt crates is lowered to it, so that adding it to
/// the current time can never overflow; `Duration::MAX` is a fine way to
/// say "no limit" wherever a setting has no `no_...` form of its own.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 60 * 60);

pub use connection::{
    Closer, Connection, Control, DEFAULT_CHANNEL_CAPACITY, Endpoint, FrameReceiver, FrameSender,
    Inbound, ReportPublisher, SendError, ShutdownDone, TrySendError,
};
pub use error::{FrameError, TransportError};
pub use report::{CloseReason, CloseReport};
#[cfg(unix)]
pub use stdio::{EnvPolicy, Spawned, StdioTransport};
/// The rustls crate the `wss` feature builds on, for
/// [`WebSocketTransport::tls_config`].
#[cfg(feature = "wss")]
pub use tokio_rustls::rustls;
pub use websocket::{
    BearerToken, DEFAULT_PING_INTERVAL, DEFAULT_PONG_TIMEOUT, SignedBearer, WebSocketAuth,
    WebSocketTransport,
};
