//! [`ClientConfig`]: which codex to start and how, what to negotiate in the
//! handshake, and every time limit of a [`Client`](crate::Client).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use codexrt_core::{CompatibilityGuard, RuntimeConfig};
use codexrt_hooks::HookSet;
use codexrt_transport::{EnvPolicy, WebSocketTransport};

use crate::{ReconnectPolicy, RestartPolicy};

/// Settings of a [`Client`](crate::Client).
///
/// Every setter states its default; the defaults are also listed in one
/// place, the crate's [Defaults](crate#defaults) section.
///
/// ```
/// use std::time::Duration;
/// use codexrt::ClientConfig;
///
/// let config = ClientConfig::new()
///     .program("/opt/codex/bin/codex")
///     .env("CODEX_HOME", "/tmp/codex-home")
///     .turn_timeout(Duration::from_secs(120));
/// assert_eq!(config.turn_timeout_limit(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    // Everything the runtime needs lives in one place, with core's defaults;
    // the facade adds only what is its own.
    runtime: RuntimeConfig,
    turn_timeout: Duration,
    turn_inactivity: Duration,
    hooks: HookSet,
    websocket: Option<WebSocketTransport>,
    reconnect: Option<ReconnectPolicy>,
    restart: Option<RestartPolicy>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig::new()
    }
}

impl ClientConfig {
    /// The default limit of one turn (a [`run`](crate::Client::run) or an
    /// [`ask`](crate::Session::ask)): 10 minutes.
    pub const DEFAULT_TURN_TIMEOUT: Duration = Duration::from_secs(600);

    /// The default period of a turn's inactivity watchdog: 30 s. A turn
    /// whose `turn/completed` was lost ends between one and two periods
    /// after the last notification for it, instead of at its timeout.
    pub const DEFAULT_TURN_INACTIVITY: Duration = Duration::from_secs(30);

    /// The default settings: a client named `codexrt` at this crate's
    /// version, `codex` from `CODEX_BIN` or `PATH`, the stable API, the
    /// default [`CompatibilityGuard`] and the limits of the crate's
    /// [Defaults](crate#defaults) section.
    pub fn new() -> Self {
        ClientConfig {
            runtime: RuntimeConfig::new("codexrt", env!("CARGO_PKG_VERSION")),
            turn_timeout: Self::DEFAULT_TURN_TIMEOUT,
            turn_inactivity: Self::DEFAULT_TURN_INACTIVITY,
            hooks: HookSet::new(),
            websocket: None,
            reconnect: None,
            restart: None,
        }
    }

    /// The name and version sent as `clientInfo` in `initialize` (codex
    /// puts them in its user agent). The default is `codexrt` and this
    /// crate's version.
    #[must_use]
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.runtime = self.runtime.client_info(name, version);
        self
    }

    /// The codex program [`Client::connect`](crate::Client::connect) starts
    /// as `<program> app-server`. The default is the value of `CODEX_BIN`
    /// when it is set, else `codex` found through `PATH`.
    #[must_use]
    pub fn program(mut self, program: impl Into<OsString>) -> Self {
        self.runtime = self.runtime.program(program);
        self
    }

    /// Appends an argument after `app-server`. The default is none.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.runtime = self.runtime.arg(arg);
        self
    }

    /// How many calls may be sent to codex and unanswered at once (see
    /// [`RuntimeConfig::max_in_flight_calls`]). The default is 256.
    #[must_use]
    pub fn max_in_flight_calls(mut self, limit: usize) -> Self {
        self.runtime = self.runtime.max_in_flight_calls(limit);
        self
    }

    /// Which environment variables of this process codex inherits. The
    /// default is [`EnvPolicy::essential`], what codex needs and no other
    /// secret of this process (see [`RuntimeConfig::env_policy`]).
    #[must_use]
    pub fn env_policy(mut self, policy: EnvPolicy) -> Self {
        self.runtime = self.runtime.env_policy(policy);
        self
    }

    /// Sets an environment variable of codex, on top of the policy (for
    /// example `CODEX_HOME`). The default is none.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.runtime = self.runtime.env(key, value);
        self
    }

    /// The working directory of the codex process. The default is the
    /// current one. Threads name their own working directory.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime = self.runtime.current_dir(dir);
        self
    }

    /// Connects to a running app-server over a WebSocket (TCP or a Unix
    /// socket, with the transport's credentials) instead of starting codex:
    /// [`Client::connect`](crate::Client::connect) opens `transport`, and
    /// the program, arguments, environment and working directory set here
    /// are not used. The default is to start codex.
    ///
    /// ```
    /// use codexrt::{ClientConfig, WebSocketAuth, WebSocketTransport};
    ///
    /// # fn main() -> Result<(), codexrt::transport::TransportError> {
    /// let config = ClientConfig::new().websocket(
    ///     WebSocketTransport::new("ws://127.0.0.1:4500")?
    ///         .auth(WebSocketAuth::capability_token("my-token")?),
    /// );
    /// assert_eq!(config.websocket_endpoint(), Some("ws://127.0.0.1:4500/"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn websocket(mut self, transport: WebSocketTransport) -> Self {
        self.websocket = Some(transport);
        self
    }

    /// Reconnects to the running app-server when the connection drops
    /// (see [`RestartPolicy`] for how). It applies to
    /// [`websocket`](Self::websocket),
    /// [`Client::connect_url`](crate::Client::connect_url) and
    /// [`Client::connect_with_connector`](crate::Client::connect_with_connector);
    /// a connection handed to
    /// [`Client::connect_with`](crate::Client::connect_with) cannot be
    /// opened again. The default is none: a dropped connection ends the
    /// client.
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Starts codex again when the codex the client started exits or its
    /// pipes break. It applies when the client starts codex (no
    /// [`websocket`](Self::websocket)). The default is none: a dead codex
    /// ends the client.
    #[must_use]
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = Some(policy);
        self
    }

    /// The same configuration without a reconnect or restart policy: a
    /// [`Pool`](crate::Pool) recovers its endpoints itself.
    pub(crate) fn without_recovery(mut self) -> Self {
        self.reconnect = None;
        self.restart = None;
        self
    }

    /// The reconnect policy, when one is set.
    pub fn reconnect_policy(&self) -> Option<&ReconnectPolicy> {
        self.reconnect.as_ref()
    }

    /// The restart policy, when one is set.
    pub fn restart_policy(&self) -> Option<&RestartPolicy> {
        self.restart.as_ref()
    }

    /// Initializes with `capabilities.experimentalApi: true`. The default is
    /// the stable API, under which experimental methods and fields are
    /// refused locally.
    #[must_use]
    pub fn enable_experimental_api(mut self) -> Self {
        self.runtime = self.runtime.enable_experimental_api();
        self
    }

    /// Asks codex not to send these notification methods
    /// (`capabilities.optOutNotificationMethods`). The default is none.
    #[must_use]
    pub fn opt_out_notification_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.runtime = self.runtime.opt_out_notification_methods(methods);
        self
    }

    /// Which codex versions are accepted. The default is
    /// [`CompatibilityGuard::default`]: the oldest supported version and newer.
    #[must_use]
    pub fn compatibility(mut self, guard: CompatibilityGuard) -> Self {
        self.runtime = self.runtime.compatibility(guard);
        self
    }

    /// How long one request waits for its answer. The default is 60 s.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.runtime = self.runtime.call_timeout(timeout);
        self
    }

    /// How long a turn may run before it is interrupted and reported as
    /// [`PromptRunError::TimedOut`](crate::PromptRunError::TimedOut), unless
    /// a [`RunProfile`](crate::RunProfile) or
    /// [`SessionConfig`](crate::SessionConfig) sets its own. The default is
    /// [`ClientConfig::DEFAULT_TURN_TIMEOUT`] (10 minutes). Longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`, as
    /// for every duration setting here.
    #[must_use]
    pub fn turn_timeout(mut self, timeout: Duration) -> Self {
        self.turn_timeout = timeout.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// The period of every turn's inactivity watchdog, unless a
    /// [`RunProfile`](crate::RunProfile) or
    /// [`SessionConfig`](crate::SessionConfig) sets its own. When nothing
    /// arrived for a turn for a whole period, the client asks codex
    /// (`thread/read` with the thread's turns) whether the turn ended;
    /// if it did, the turn ends here from that answer, as if
    /// `turn/completed` had come. Silence is checked once per period, so
    /// a lost `turn/completed` costs between one and two periods. A turn
    /// codex reports as still running goes on, up to its timeout; the
    /// only cost of a short period is a `thread/read` per quiet period.
    /// The default is [`ClientConfig::DEFAULT_TURN_INACTIVITY`] (30 s).
    #[must_use]
    pub fn turn_inactivity(mut self, period: Duration) -> Self {
        self.turn_inactivity = period;
        self
    }

    /// How long a server request (an approval, a question) taken from
    /// [`Runtime::server_requests`](codexrt_core::Runtime::server_requests)
    /// waits for an answer before it is declined. The default is 60 s.
    #[must_use]
    pub fn server_request_deadline(mut self, deadline: Duration) -> Self {
        self.runtime = self.runtime.server_request_deadline(deadline);
        self
    }

    /// The grace at each step of the shutdown ladder (close stdin, SIGTERM,
    /// SIGKILL); over a WebSocket, how long the peer has to answer the
    /// close frame. The default is 5 s.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.runtime = self.runtime.shutdown_grace(grace);
        self
    }

    /// The client's hooks: they apply to every run and session, before
    /// the hooks of a [`RunProfile`](crate::RunProfile) or
    /// [`SessionConfig`](crate::SessionConfig). When they answer server
    /// requests, declare tools or watch events, the client starts its
    /// approval loop as it connects (see the crate's [Hooks](crate#hooks)).
    /// The default is none.
    #[must_use]
    pub fn hooks(mut self, hooks: HookSet) -> Self {
        self.hooks = hooks;
        self
    }

    /// The client's hooks.
    pub fn hook_set(&self) -> &HookSet {
        &self.hooks
    }

    /// The client name sent in `initialize`.
    pub fn client_name(&self) -> &str {
        self.runtime.client_name()
    }

    /// The client version sent in `initialize`.
    pub fn client_version(&self) -> &str {
        self.runtime.client_version()
    }

    /// The codex program, when one was set.
    pub fn codex_program(&self) -> Option<&OsString> {
        self.runtime.codex_program()
    }

    /// Whether the experimental API is requested.
    pub fn uses_experimental_api(&self) -> bool {
        self.runtime.uses_experimental_api()
    }

    /// The accepted codex versions.
    pub fn compatibility_guard(&self) -> &CompatibilityGuard {
        self.runtime.compatibility_guard()
    }

    /// The limit of one request.
    pub fn call_timeout_limit(&self) -> Duration {
        self.runtime.call_timeout_limit()
    }

    /// The default limit of one turn.
    pub fn turn_timeout_limit(&self) -> Duration {
        self.turn_timeout
    }

    /// The default period of a turn's inactivity watchdog.
    pub fn turn_inactivity_period(&self) -> Duration {
        self.turn_inactivity
    }

    /// Where [`websocket`](Self::websocket) connects, when it was set.
    pub fn websocket_endpoint(&self) -> Option<&str> {
        self.websocket.as_ref().map(WebSocketTransport::endpoint)
    }

    pub(crate) fn websocket_transport(&self) -> Option<&WebSocketTransport> {
        self.websocket.as_ref()
    }

    /// The runtime settings this config stands for.
    pub fn runtime_config(&self) -> RuntimeConfig {
        self.runtime.clone()
    }
}
