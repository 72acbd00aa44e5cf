//! [`ClientConfig`]: which codex to start and how, what to negotiate in the
//! handshake, and every time limit of a [`Client`](crate::Client).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use codexrt_core::{CompatibilityGuard, RuntimeConfig};
use codexrt_transport::EnvPolicy;

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
    client_name: String,
    client_version: String,
    program: Option<OsString>,
    extra_args: Vec<OsString>,
    env_policy: EnvPolicy,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    experimental_api: bool,
    opt_out_notifications: Vec<String>,
    compatibility: CompatibilityGuard,
    call_timeout: Duration,
    turn_timeout: Duration,
    server_request_deadline: Duration,
    shutdown_grace: Duration,
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

    /// The default settings: a client named `codexrt` at this crate's
    /// version, `codex` from `CODEX_BIN` or `PATH`, the stable API, the
    /// default [`CompatibilityGuard`] and the limits of the crate's
    /// [Defaults](crate#defaults) section.
    pub fn new() -> Self {
        ClientConfig {
            client_name: "codexrt".to_owned(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            program: None,
            extra_args: Vec::new(),
            env_policy: EnvPolicy::Inherit,
            env: Vec::new(),
            current_dir: None,
            experimental_api: false,
            opt_out_notifications: Vec::new(),
            compatibility: CompatibilityGuard::default(),
            call_timeout: RuntimeConfig::DEFAULT_CALL_TIMEOUT,
            turn_timeout: Self::DEFAULT_TURN_TIMEOUT,
            server_request_deadline: RuntimeConfig::DEFAULT_SERVER_REQUEST_DEADLINE,
            shutdown_grace: RuntimeConfig::DEFAULT_SHUTDOWN_GRACE,
        }
    }

    /// The name and version sent as `clientInfo` in `initialize` (codex
    /// puts them in its user agent). The default is `codexrt` and this
    /// crate's version.
    #[must_use]
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.client_name = name.into();
        self.client_version = version.into();
        self
    }

    /// The codex program [`Client::connect`](crate::Client::connect) starts
    /// as `<program> app-server`. The default is the value of `CODEX_BIN`
    /// when it is set, else `codex` found through `PATH`.
    #[must_use]
    pub fn program(mut self, program: impl Into<OsString>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Appends an argument after `app-server`. The default is none.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Which environment variables codex inherits. The default is
    /// [`EnvPolicy::Inherit`].
    #[must_use]
    pub fn env_policy(mut self, policy: EnvPolicy) -> Self {
        self.env_policy = policy;
        self
    }

    /// Sets an environment variable of codex, on top of the policy (for
    /// example `CODEX_HOME`). The default is none.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The working directory of the codex process. The default is the
    /// current one. Threads name their own working directory.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Initializes with `capabilities.experimentalApi: true`. The default is
    /// the stable API, under which experimental methods and fields are
    /// refused locally.
    #[must_use]
    pub fn enable_experimental_api(mut self) -> Self {
        self.experimental_api = true;
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
        self.opt_out_notifications
            .extend(methods.into_iter().map(Into::into));
        self
    }

    /// Which codex versions are accepted. The default is
    /// [`CompatibilityGuard::default`]: the oldest supported version and newer.
    #[must_use]
    pub fn compatibility(mut self, guard: CompatibilityGuard) -> Self {
        self.compatibility = guard;
        self
    }

    /// How long one request waits for its answer. The default is 60 s.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long a turn may run before it is interrupted and reported as
    /// [`PromptRunError::TimedOut`](crate::PromptRunError::TimedOut), unless
    /// a [`RunProfile`](crate::RunProfile) or
    /// [`SessionConfig`](crate::SessionConfig) sets its own. The default is
    /// [`ClientConfig::DEFAULT_TURN_TIMEOUT`] (10 minutes).
    #[must_use]
    pub fn turn_timeout(mut self, timeout: Duration) -> Self {
        self.turn_timeout = timeout;
        self
    }

    /// How long a server request (an approval, a question) taken from
    /// [`Runtime::server_requests`](codexrt_core::Runtime::server_requests)
    /// waits for an answer before it is declined. The default is 60 s.
    #[must_use]
    pub fn server_request_deadline(mut self, deadline: Duration) -> Self {
        self.server_request_deadline = deadline;
        self
    }

    /// The grace at each step of the shutdown ladder (close stdin, SIGTERM,
    /// SIGKILL). The default is 5 s.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The client name sent in `initialize`.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// The client version sent in `initialize`.
    pub fn client_version(&self) -> &str {
        &self.client_version
    }

    /// The codex program, when one was set.
    pub fn codex_program(&self) -> Option<&OsString> {
        self.program.as_ref()
    }

    /// Whether the experimental API is requested.
    pub fn uses_experimental_api(&self) -> bool {
        self.experimental_api
    }

    /// The accepted codex versions.
    pub fn compatibility_guard(&self) -> &CompatibilityGuard {
        &self.compatibility
    }

    /// The limit of one request.
    pub fn call_timeout_limit(&self) -> Duration {
        self.call_timeout
    }

    /// The default limit of one turn.
    pub fn turn_timeout_limit(&self) -> Duration {
        self.turn_timeout
    }

    /// The runtime settings this config stands for.
    pub fn runtime_config(&self) -> RuntimeConfig {
        let mut config = RuntimeConfig::new(&self.client_name, &self.client_version)
            .env_policy(self.env_policy.clone())
            .opt_out_notification_methods(self.opt_out_notifications.iter().cloned())
            .compatibility(self.compatibility.clone())
            .call_timeout(self.call_timeout)
            .server_request_deadline(self.server_request_deadline)
            .shutdown_grace(self.shutdown_grace);
        if let Some(program) = &self.program {
            config = config.program(program.clone());
        }
        for arg in &self.extra_args {
            config = config.arg(arg.clone());
        }
        for (key, value) in &self.env {
            config = config.env(key.clone(), value.clone());
        }
        if let Some(dir) = &self.current_dir {
            config = config.current_dir(dir.clone());
        }
        if self.experimental_api {
            config = config.enable_experimental_api();
        }
        config
    }
}
