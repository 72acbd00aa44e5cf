//! [`WebSocketTransport`]: a connection to a WebSocket server such as
//! `codex app-server --listen ws://...` or `--listen unix://...`, one frame
//! per message; its builder, credentials and connect step.

mod auth;
mod driver;
mod jwt;
mod target;
mod upgrade;

use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::framing::DEFAULT_MAX_FRAME_LEN;
use crate::{Connection, DEFAULT_CHANNEL_CAPACITY, TransportError};
use driver::Keepalive;

pub use auth::{BearerToken, WebSocketAuth};
pub use jwt::SignedBearer;
use target::{Medium, Target};

/// How long opening the socket and the upgrade may take when the builder
/// does not say otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a connection pings its peer when the builder does not say
/// otherwise: often enough to keep idle-timeout proxies and NAT entries open
/// (they commonly drop a connection after 60 s of silence), rarely enough to
/// cost nothing.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);

/// How long the peer has to show it is alive after a ping when the builder
/// does not say otherwise.
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(20);

/// The byte streams a WebSocket runs over (TCP, a Unix socket, TLS), boxed
/// so that one driver serves them all.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A transport to a WebSocket server: each frame is sent as one text
/// message, and each text or binary message received is one frame.
///
/// URLs:
/// - `ws://HOST:PORT/PATH` over TCP;
/// - `wss://HOST:PORT/PATH` over TLS (with the `wss` cargo feature);
/// - `unix:///PATH/TO/SOCKET` over a Unix socket (on Unix), with the
///   upgrade request sent as `GET /` to host `localhost`, which is what
///   `codex app-server --listen unix://PATH` expects.
///
/// The connection keeps the contract of the other transports:
/// - Frames are message payloads without line terminators: a trailing `\n`
///   (or `\r\n`) of a received message is removed and empty messages are
///   skipped, like blank lines on stdio. A frame to send must be UTF-8
///   (JSON is); one that is not fails the connection
///   ([`CloseReason::Io`](crate::CloseReason::Io), kind `InvalidInput`).
/// - Messages longer than [`max_frame_len`](Self::max_frame_len) are
///   refused by tungstenite from their header on, before their payload is
///   read. The stream cannot be resynchronised after that, so unlike stdio
///   the connection does not go on: it is closed with code 1009 (message
///   too big) and reports
///   [`CloseReason::MessageTooLong`](crate::CloseReason::MessageTooLong)
///   with the limit and the announced size. Reading holds at most the limit
///   plus tungstenite's 128 KiB read buffer.
/// - Pings are answered with pongs by tungstenite as they are read; they
///   are not frames.
/// - Keepalive: the connection sends a ping of its own every
///   [`ping_interval`](Self::ping_interval) (30 s by default). When nothing
///   at all (a pong or any message) is read from the peer within
///   [`pong_timeout`](Self::pong_timeout) (20 s) after a ping, the peer is
///   taken for dead: the connection closes with code 1001 and reports
///   [`CloseReason::Unresponsive`](crate::CloseReason::Unresponsive), so
///   that a silent half-open TCP connection ends instead of hanging every
///   call until its own timeout. While the receiver's queue is full the
///   peer is not read, and its silence does not count.
/// - [`Closer::shutdown`](crate::Closer::shutdown) writes the frames
///   already queued, sends a close frame (code 1000) and waits up to
///   `grace` for the peer's, then drops the socket. Dropping every handle
///   sends a close frame without waiting for the answer.
///
/// The close report says
/// [`PeerCloseFrame`](crate::CloseReason::PeerCloseFrame) with the peer's
/// code and reason, [`PeerClosed`](crate::CloseReason::PeerClosed) when the
/// stream ended without a close frame,
/// [`Shutdown`](crate::CloseReason::Shutdown),
/// [`Dropped`](crate::CloseReason::Dropped),
/// [`MessageTooLong`](crate::CloseReason::MessageTooLong) or
/// [`Io`](crate::CloseReason::Io) for a network or protocol error. The
/// frames read before the end are delivered first.
///
/// ```no_run
/// use std::time::Duration;
/// use codexrt_transport::{WebSocketAuth, WebSocketTransport};
///
/// # async fn run() -> Result<(), codexrt_transport::TransportError> {
/// let connection = WebSocketTransport::new("ws://127.0.0.1:4500")?
///     .auth(WebSocketAuth::capability_token_file("/run/secrets/codex-ws-token")?)
///     .connect_timeout(Duration::from_secs(5))
///     .connect()
///     .await?;
/// // `connection` speaks JSON-RPC: one message per frame.
/// let report = connection.closer.shutdown(Duration::from_secs(2)).await?;
/// println!("closed: {report}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a transport does nothing until it connects"]
pub struct WebSocketTransport {
    target: Target,
    auth: Option<WebSocketAuth>,
    max_frame_len: usize,
    channel_capacity: usize,
    connect_timeout: Duration,
    keepalive: Option<Keepalive>,
    #[cfg(feature = "wss")]
    tls_config: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl WebSocketTransport {
    /// A transport to `url` (`ws://`, `wss://` or `unix://`), without
    /// credentials.
    ///
    /// # Errors
    /// [`TransportError::InvalidUrl`] when the URL cannot be parsed, has
    /// another scheme, carries user credentials, or is `wss://` without the
    /// `wss` feature or `unix://` off Unix.
    pub fn new(url: &str) -> Result<Self, TransportError> {
        WebSocketTransport::to(Target::parse(url)?)
    }

    /// A transport to the Unix socket at `path`, without credentials: the
    /// same as `unix://PATH`, for a path that is not UTF-8 or is easier to
    /// pass as a path.
    ///
    /// # Errors
    /// [`TransportError::InvalidUrl`] off Unix, or when `path` is empty.
    pub fn unix_socket(path: impl Into<std::path::PathBuf>) -> Result<Self, TransportError> {
        let path = path.into();
        if path.as_os_str().is_empty() {
            return Err(TransportError::InvalidUrl {
                reason: "a Unix socket needs a path",
            });
        }
        WebSocketTransport::to(Target::unix(path))
    }

    fn to(target: Target) -> Result<Self, TransportError> {
        match &target.medium {
            Medium::Tcp { tls: true, .. } if !cfg!(feature = "wss") => {
                return Err(TransportError::InvalidUrl {
                    reason: "`wss://` needs the `wss` cargo feature of codexrt-transport",
                });
            }
            Medium::Unix { .. } if !cfg!(unix) => {
                return Err(TransportError::InvalidUrl {
                    reason: "`unix://` sockets exist on Unix only",
                });
            }
            _ => {}
        }
        Ok(WebSocketTransport {
            target,
            auth: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            keepalive: Some(Keepalive {
                interval: DEFAULT_PING_INTERVAL,
                timeout: DEFAULT_PONG_TIMEOUT,
            }),
            #[cfg(feature = "wss")]
            tls_config: None,
        })
    }

    /// The credentials sent with the upgrade request. Default: none.
    pub fn auth(mut self, auth: WebSocketAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The longest message accepted, in bytes; a longer one closes the
    /// connection (see the type's documentation). Default:
    /// [`DEFAULT_MAX_FRAME_LEN`] (64 MiB).
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// How many frames each direction of the connection buffers (at least 1).
    /// Default: [`DEFAULT_CHANNEL_CAPACITY`].
    pub fn channel_capacity(mut self, frames: usize) -> Self {
        self.channel_capacity = frames;
        self
    }

    /// How long resolving the host, opening the socket, TLS and the upgrade
    /// may take together. Longer than [`MAX_WAIT`](crate::MAX_WAIT) counts
    /// as `MAX_WAIT`. Default: 10 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.min(crate::MAX_WAIT);
        self
    }

    /// How often the connection pings the peer (see the type's
    /// documentation); turns the keepalive on again after
    /// [`disable_keepalive`](Self::disable_keepalive). A zero interval is
    /// taken as 1 ms, one longer than [`MAX_WAIT`](crate::MAX_WAIT) as
    /// `MAX_WAIT`. Default: [`DEFAULT_PING_INTERVAL`] (30 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        let timeout = self.keepalive.map_or(DEFAULT_PONG_TIMEOUT, |k| k.timeout);
        self.keepalive = Some(Keepalive {
            interval: interval.clamp(Duration::from_millis(1), crate::MAX_WAIT),
            timeout,
        });
        self
    }

    /// How long the peer has after a ping to show it is alive before the
    /// connection closes as
    /// [`Unresponsive`](crate::CloseReason::Unresponsive); turns the
    /// keepalive on again after [`disable_keepalive`](Self::disable_keepalive).
    /// Longer than [`MAX_WAIT`](crate::MAX_WAIT) counts as `MAX_WAIT`.
    /// Default: [`DEFAULT_PONG_TIMEOUT`] (20 s).
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        let interval = self.keepalive.map_or(DEFAULT_PING_INTERVAL, |k| k.interval);
        self.keepalive = Some(Keepalive {
            interval,
            timeout: timeout.min(crate::MAX_WAIT),
        });
        self
    }

    /// Sends no pings of our own, so a dead peer is noticed only when the
    /// operating system gives up on the socket. Default: pings on.
    pub fn disable_keepalive(mut self) -> Self {
        self.keepalive = None;
        self
    }

    /// The keepalive's ping interval and pong timeout, or `None` when it
    /// is disabled.
    pub fn keepalive(&self) -> Option<(Duration, Duration)> {
        self.keepalive.map(|k| (k.interval, k.timeout))
    }

    /// The TLS client configuration for `wss://` URLs, for instance to
    /// trust a private certificate authority. It must not offer ALPN
    /// protocols other than `http/1.1`. Default: rustls with the ring
    /// provider, its safe default protocol versions and the Mozilla roots
    /// of `webpki-roots`.
    #[cfg(feature = "wss")]
    pub fn tls_config(
        mut self,
        config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Where the transport connects, as errors name it: the URL without its
    /// query, or `unix://` and the socket's path.
    pub fn endpoint(&self) -> &str {
        &self.target.endpoint
    }

    /// Opens the socket, performs the upgrade with the credentials, and
    /// starts the task that serves the connection. Each call opens a new
    /// connection; a [`SignedBearer`] mints a fresh token when the one in
    /// use is near its expiry.
    ///
    /// # Errors
    /// - [`TransportError::InvalidCredentials`] when no token can be made.
    /// - [`TransportError::Connect`] when the host does not resolve, the
    ///   connection is refused, or the socket does not exist.
    /// - [`TransportError::Unauthorized`] when the server answers 401, and
    ///   [`TransportError::UpgradeRefused`] for any other refusal.
    /// - [`TransportError::Handshake`] when TLS or the upgrade fails
    ///   otherwise.
    /// - [`TransportError::ConnectTimeout`] when all of it takes longer
    ///   than the [connect timeout](Self::connect_timeout).
    ///
    /// # Panics
    /// When polled outside a Tokio runtime with I/O and time enabled: the
    /// connection is served by a spawned task.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future before it completes closes the
    /// socket, if one was opened, and starts nothing.
    pub async fn connect(&self) -> Result<Connection, TransportError> {
        let token = self
            .auth
            .as_ref()
            .map(|auth| auth.token_at(SystemTime::now()))
            .transpose()?;
        let attempt = async {
            let mut stream = self.open().await?;
            let rest = upgrade::upgrade(&mut stream, &self.target, token.as_ref()).await?;
            Ok::<_, TransportError>((stream, rest))
        };
        let (stream, rest) = tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_elapsed| TransportError::ConnectTimeout {
                endpoint: self.target.endpoint.clone(),
                timeout: self.connect_timeout,
            })??;
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.max_frame_len))
            .max_frame_size(Some(self.max_frame_len));
        let ws =
            WebSocketStream::from_partially_read(stream, rest, Role::Client, Some(config)).await;
        let (connection, endpoint) = Connection::channel(self.channel_capacity);
        tokio::spawn(tracing::Instrument::in_current_span(driver::drive(
            endpoint,
            ws,
            self.keepalive,
        )));
        Ok(connection)
    }

    async fn open(&self) -> Result<Box<dyn Io>, TransportError> {
        let failed = |source| TransportError::Connect {
            endpoint: self.target.endpoint.clone(),
            source,
        };
        match &self.target.medium {
            Medium::Tcp { host, port, tls } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(failed)?;
                // Frames are whole messages already; Nagle would only
                // delay them.
                tcp.set_nodelay(true).map_err(failed)?;
                if *tls {
                    return self.tls(tcp, host).await;
                }
                Ok(Box::new(tcp))
            }
            #[cfg(unix)]
            Medium::Unix { path } => {
                let unix = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(failed)?;
                Ok(Box::new(unix))
            }
            #[cfg(not(unix))]
            Medium::Unix { .. } => Err(TransportError::InvalidUrl {
                reason: "`unix://` sockets exist on Unix only",
            }),
        }
    }

    #[cfg(not(feature = "wss"))]
    async fn tls(
        &self,
        _tcp: tokio::net::TcpStream,
        _host: &str,
    ) -> Result<Box<dyn Io>, TransportError> {
        // `new` refuses `wss://` without the feature.
        Err(TransportError::InvalidUrl {
            reason: "`wss://` needs the `wss` cargo feature of codexrt-transport",
        })
    }
}

#[cfg(feature = "wss")]
impl WebSocketTransport {
    async fn tls(
        &self,
        tcp: tokio::net::TcpStream,
        host: &str,
    ) -> Result<Box<dyn Io>, TransportError> {
        use tokio_rustls::rustls;

        let failed = |source| TransportError::Handshake {
            endpoint: self.target.endpoint.clone(),
            source,
        };
        let config = match &self.tls_config {
            Some(config) => std::sync::Arc::clone(config),
            None => {
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|err| failed(std::io::Error::other(err)))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                std::sync::Arc::new(config)
            }
        };
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
            TransportError::InvalidUrl {
                reason: "the host is not a valid TLS server name",
            }
        })?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(failed)?;
        Ok(Box::new(stream))
    }
}

#[cfg(test)]
mod tests;
