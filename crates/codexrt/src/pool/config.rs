//! [`PoolConfig`], [`PoolEndpoint`] and [`Backoff`]: which app-servers a
//! [`Pool`](crate::Pool) spreads its work over, how many sessions each
//! takes, how long a caller waits for room, and how a lost endpoint is
//! retried.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codexrt_transport::{TransportError, WebSocketTransport};

use crate::{ClientConfig, Connector};

/// Opens a fresh connection for an endpoint, every time the pool
/// (re)connects it.
type SharedConnector = Arc<dyn Connector>;

/// One app-server of a [`Pool`](crate::Pool): a codex the pool starts
/// itself (over stdio, typically with a `CODEX_HOME` of its own), a running
/// app-server reached over a WebSocket or a Unix socket, or any transport
/// through a connector.
///
/// ```
/// use codexrt::{ClientConfig, PoolEndpoint};
///
/// # fn main() -> Result<(), codexrt::transport::TransportError> {
/// let local = PoolEndpoint::with_home("local-a", ClientConfig::new(), "/var/lib/codex/a");
/// let remote = PoolEndpoint::url("remote", "ws://127.0.0.1:4500", ClientConfig::new())?
///     .max_sessions(8);
/// assert_eq!(local.codex_home(), Some(std::path::Path::new("/var/lib/codex/a")));
/// assert_eq!(remote.name(), "remote");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PoolEndpoint {
    name: String,
    config: ClientConfig,
    connector: Option<SharedConnector>,
    home: Option<PathBuf>,
    max_sessions: Option<usize>,
}

impl fmt::Debug for PoolEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolEndpoint")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("connector", &self.connector.as_ref().map(|_| "..."))
            .field("home", &self.home)
            .field("max_sessions", &self.max_sessions)
            .finish()
    }
}

impl PoolEndpoint {
    /// An endpoint connected as [`Client::connect`](crate::Client::connect)
    /// does with `config`: codex started over stdio (restarted by the pool
    /// when it dies), or a running app-server when
    /// [`ClientConfig::websocket`] is set. `name` identifies it in the
    /// pool's figures and in [`Pool::resume_session`](crate::Pool::resume_session).
    ///
    /// A [`ReconnectPolicy`](crate::ReconnectPolicy) or
    /// [`RestartPolicy`](crate::RestartPolicy) in `config` is left out: the
    /// pool reconnects its endpoints itself, with its [`Backoff`], and
    /// [`Pool::client`](crate::Pool::client) gives a client without them.
    pub fn new(name: impl Into<String>, config: ClientConfig) -> PoolEndpoint {
        PoolEndpoint {
            name: name.into(),
            config,
            connector: None,
            home: None,
            max_sessions: None,
        }
    }

    /// A codex the pool starts with `CODEX_HOME` set to `home`: its own
    /// configuration, credentials and stored threads (see the pool's
    /// [threads and homes](crate::Pool#threads-and-codex-homes)).
    pub fn with_home(
        name: impl Into<String>,
        config: ClientConfig,
        home: impl Into<PathBuf>,
    ) -> PoolEndpoint {
        let home = home.into();
        let mut endpoint = PoolEndpoint::new(name, config.env("CODEX_HOME", home.as_os_str()));
        endpoint.home = Some(home);
        endpoint
    }

    /// A running app-server at `url` (`ws://HOST:PORT`, `unix:///PATH`, or
    /// `wss://` with the transport's `wss` feature), without credentials;
    /// for credentials, give a [`WebSocketTransport`] to
    /// [`ClientConfig::websocket`] and use [`PoolEndpoint::new`].
    ///
    /// # Errors
    /// [`TransportError`] when `url` is not a WebSocket URL.
    pub fn url(
        name: impl Into<String>,
        url: &str,
        config: ClientConfig,
    ) -> Result<PoolEndpoint, TransportError> {
        let transport = WebSocketTransport::new(url)?;
        Ok(PoolEndpoint::new(name, config.websocket(transport)))
    }

    /// An endpoint reached through `connect`, called for every
    /// (re)connection, over which the handshake of `config` runs (as
    /// [`Client::connect_with`](crate::Client::connect_with)): a transport
    /// of your own, or an in-process fake in tests.
    pub fn connector(
        name: impl Into<String>,
        config: ClientConfig,
        connector: impl Connector,
    ) -> PoolEndpoint {
        let mut endpoint = PoolEndpoint::new(name, config);
        endpoint.connector = Some(Arc::new(connector));
        endpoint
    }

    /// How many sessions (and runs) this endpoint holds at once. The
    /// default is the pool's [`PoolConfig::max_sessions_per_endpoint`].
    #[must_use]
    pub fn max_sessions(mut self, sessions: usize) -> PoolEndpoint {
        self.max_sessions = Some(sessions);
        self
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `CODEX_HOME` given to [`PoolEndpoint::with_home`], if any.
    pub fn codex_home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The client settings of the endpoint.
    pub fn client_config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn session_limit(&self) -> Option<usize> {
        self.max_sessions
    }

    pub(crate) fn connector_fn(&self) -> Option<&SharedConnector> {
        self.connector.as_ref()
    }
}

/// How a lost endpoint is retried: exponential backoff with jitter.
///
/// The `n`-th retry in a row (from 0) waits a delay drawn evenly between
/// half and all of `min(initial × 2ⁿ, max)`, so endpoints lost together
/// do not come back in lockstep. A successful connection resets the count.
///
/// ```
/// use std::time::Duration;
/// use codexrt::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).max_retries(20);
/// assert_eq!(backoff.initial_delay(), Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    max_retries: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
    }
}

impl Backoff {
    /// Delays from `initial` doubling up to `max`, retried for as long as
    /// the pool lives. Either longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.min(codexrt_transport::MAX_WAIT);
        Backoff {
            initial,
            max: max.clamp(initial, codexrt_transport::MAX_WAIT),
            max_retries: None,
        }
    }

    /// Gives up after `retries` failed attempts in a row: the endpoint is
    /// then [`EndpointState::Down`](crate::EndpointState::Down) for good.
    /// The default is to retry for as long as the pool lives.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Backoff {
        self.max_retries = Some(retries);
        self
    }

    /// The first delay.
    pub fn initial_delay(&self) -> Duration {
        self.initial
    }

    /// The longest delay.
    pub fn max_delay(&self) -> Duration {
        self.max
    }

    /// The number of retries in a row before giving up, if limited.
    pub fn retry_limit(&self) -> Option<u32> {
        self.max_retries
    }

    /// The delay before retry `attempt` (from 0), for `unit` drawn
    /// evenly from `[0, 1)`.
    pub(crate) fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        let ceiling = self.initial.saturating_mul(factor).min(self.max);
        let half = ceiling / 2;
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        half.saturating_add(half.mul_f64(unit))
    }
}

/// Settings of a [`Pool`](crate::Pool).
///
/// ```
/// use std::time::Duration;
/// use codexrt::{ClientConfig, PoolConfig, PoolEndpoint};
///
/// let config = PoolConfig::new([
///     PoolEndpoint::with_home("a", ClientConfig::new(), "/var/lib/codex/a"),
///     PoolEndpoint::with_home("b", ClientConfig::new(), "/var/lib/codex/b"),
/// ])
/// .max_sessions_per_endpoint(16)
/// .acquire_timeout(Duration::from_secs(5));
/// assert_eq!(config.endpoints().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfig {
    endpoints: Vec<PoolEndpoint>,
    max_sessions: usize,
    acquire_timeout: Duration,
    backoff: Backoff,
    probe_timeout: Duration,
    probe_interval: Option<Duration>,
}

impl PoolConfig {
    /// The default number of sessions per endpoint: 32.
    pub const DEFAULT_MAX_SESSIONS: usize = 32;
    /// The default wait for room: 30 s.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default limit of a `/readyz` probe: 5 s.
    pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default period of the `/readyz` probe of a connected endpoint:
    /// 10 s.
    pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(10);

    /// A pool over `endpoints`, with the defaults of every setter.
    pub fn new(endpoints: impl IntoIterator<Item = PoolEndpoint>) -> PoolConfig {
        PoolConfig {
            endpoints: endpoints.into_iter().collect(),
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            backoff: Backoff::default(),
            probe_timeout: Self::DEFAULT_PROBE_TIMEOUT,
            probe_interval: Some(Self::DEFAULT_PROBE_INTERVAL),
        }
    }

    /// How many sessions (and runs) each endpoint holds at once, unless
    /// the endpoint sets its own ([`PoolEndpoint::max_sessions`]). The
    /// default is [`PoolConfig::DEFAULT_MAX_SESSIONS`].
    #[must_use]
    pub fn max_sessions_per_endpoint(mut self, sessions: usize) -> PoolConfig {
        self.max_sessions = sessions;
        self
    }

    /// How long a run or a new session waits for room on a healthy
    /// endpoint before it fails with
    /// [`PoolError::AcquireTimeout`](crate::PoolError::AcquireTimeout).
    /// Waiters are served first come, first served. The default is
    /// [`PoolConfig::DEFAULT_ACQUIRE_TIMEOUT`]. Longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> PoolConfig {
        self.acquire_timeout = timeout.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// How a lost endpoint is retried. The default is
    /// [`Backoff::default`]: from 250 ms up to 30 s, without end.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> PoolConfig {
        self.backoff = backoff;
        self
    }

    /// How long the `GET /readyz` probe of a `ws://` endpoint may take.
    /// The default is [`PoolConfig::DEFAULT_PROBE_TIMEOUT`]. Longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`.
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> PoolConfig {
        self.probe_timeout = timeout.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// How often a connected `ws://` endpoint is asked `GET /readyz`
    /// again; `None` asks only before each connection. An endpoint whose
    /// probe fails is [`EndpointState::NotReady`](crate::EndpointState::NotReady):
    /// it takes no new sessions, keeps those it holds, and is placed again
    /// once a probe succeeds; a closed connection is noticed at once
    /// either way. The default is [`PoolConfig::DEFAULT_PROBE_INTERVAL`].
    #[must_use]
    pub fn probe_interval(mut self, interval: Option<Duration>) -> PoolConfig {
        self.probe_interval = interval;
        self
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[PoolEndpoint] {
        &self.endpoints
    }

    /// The sessions per endpoint.
    pub fn sessions_per_endpoint(&self) -> usize {
        self.max_sessions
    }

    /// The wait for room.
    pub fn acquire_timeout_limit(&self) -> Duration {
        self.acquire_timeout
    }

    /// The retry policy.
    pub fn backoff_policy(&self) -> Backoff {
        self.backoff
    }

    /// The limit of a `/readyz` probe.
    pub fn probe_timeout_limit(&self) -> Duration {
        self.probe_timeout
    }

    /// The period of the `/readyz` probe of a connected endpoint.
    pub fn probe_period(&self) -> Option<Duration> {
        self.probe_interval
    }
}
