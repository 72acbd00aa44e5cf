//! [`RuntimeConfig`]: who the client is, which program to start and how,
//! what to negotiate, and the runtime's time limits.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use codexrt_protocol::Api;
use codexrt_rpc::RpcConfig;
use codexrt_transport::{EnvPolicy, StdioTransport};

use crate::CompatibilityGuard;

/// The environment variable naming the codex program when
/// [`RuntimeConfig::program`] is not set.
pub const CODEX_BIN_ENV: &str = "CODEX_BIN";

/// Settings of a [`Runtime`](crate::Runtime).
///
/// ```
/// use std::time::Duration;
/// use codexrt_core::RuntimeConfig;
///
/// let config = RuntimeConfig::new("my-app", "1.0.0")
///     .program("/opt/codex/bin/codex")
///     .call_timeout(Duration::from_secs(30))
///     .opt_out_notification_methods(["item/reasoning/textDelta"]);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub(crate) client_name: String,
    pub(crate) client_version: String,
    pub(crate) program: Option<OsString>,
    pub(crate) extra_args: Vec<OsString>,
    pub(crate) env_policy: EnvPolicy,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) current_dir: Option<PathBuf>,
    pub(crate) api: Api,
    pub(crate) opt_out_notifications: Vec<String>,
    pub(crate) compatibility: CompatibilityGuard,
    pub(crate) call_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) server_request_deadline: Duration,
    pub(crate) max_in_flight_calls: usize,
    pub(crate) endpoint: Option<String>,
}

impl RuntimeConfig {
    /// The default time a call waits for its answer: 60 s.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default grace at each step of the shutdown ladder: 5 s.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
    /// The default time a server request waits for the user's answer
    /// before the safe answer is sent: 60 s.
    pub const DEFAULT_SERVER_REQUEST_DEADLINE: Duration = Duration::from_secs(60);

    /// Settings for a client named `client_name` at `client_version` (sent
    /// as `clientInfo` in `initialize`; codex puts them in its user agent).
    pub fn new(client_name: impl Into<String>, client_version: impl Into<String>) -> Self {
        RuntimeConfig {
            client_name: client_name.into(),
            client_version: client_version.into(),
            program: None,
            extra_args: Vec::new(),
            env_policy: EnvPolicy::default(),
            env: Vec::new(),
            current_dir: None,
            api: Api::Stable,
            opt_out_notifications: Vec::new(),
            compatibility: CompatibilityGuard::default(),
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
            server_request_deadline: Self::DEFAULT_SERVER_REQUEST_DEADLINE,
            max_in_flight_calls: RpcConfig::DEFAULT_MAX_IN_FLIGHT_CALLS,
            endpoint: None,
        }
    }

    /// Replaces the name and version sent as `clientInfo` in `initialize`.
    /// The default is what [`RuntimeConfig::new`] was given.
    #[must_use]
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.client_name = name.into();
        self.client_version = version.into();
        self
    }

    /// The codex program [`Runtime::spawn`](crate::Runtime::spawn) starts.
    /// The default is the value of [`CODEX_BIN_ENV`] (`CODEX_BIN`) when it is
    /// set, else `codex` found through `PATH`.
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

    /// Which environment variables of this process the child inherits. The
    /// default is [`EnvPolicy::essential`]: what codex needs (`PATH`, `HOME`,
    /// the locale, `TMPDIR`, proxies, certificates, `CODEX_*`, `OPENAI_*`,
    /// ...) and nothing else, so that other secrets of this process do not
    /// reach codex and the commands it runs. Name more with
    /// [`EnvPolicy::essential_and`], set them with [`env`](Self::env), or
    /// pass [`EnvPolicy::Inherit`].
    #[must_use]
    pub fn env_policy(mut self, policy: EnvPolicy) -> Self {
        self.env_policy = policy;
        self
    }

    /// Sets an environment variable of the child, on top of the policy.
    /// The default is none.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The child's working directory. The default is the current one.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Initializes with `capabilities.experimentalApi: true`, so that
    /// experimental methods and fields may be sent. The default is the
    /// stable API: the runtime then refuses them locally with
    /// [`CoreError::ExperimentalApiRequired`](crate::CoreError::ExperimentalApiRequired).
    #[must_use]
    pub fn enable_experimental_api(mut self) -> Self {
        self.api = Api::Experimental;
        self
    }

    /// Asks the server not to send these notification methods
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

    /// Which server versions are accepted. The default is
    /// [`CompatibilityGuard::default`]: 0.150.0 and newer.
    #[must_use]
    pub fn compatibility(mut self, guard: CompatibilityGuard) -> Self {
        self.compatibility = guard;
        self
    }

    /// How long a call waits for its answer; longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`. The
    /// default is [`RuntimeConfig::DEFAULT_CALL_TIMEOUT`] (60 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// The grace at each step of the shutdown ladder (close stdin, SIGTERM,
    /// SIGKILL); longer than [`MAX_WAIT`](codexrt_transport::MAX_WAIT)
    /// counts as `MAX_WAIT`. The default is
    /// [`RuntimeConfig::DEFAULT_SHUTDOWN_GRACE`] (5 s).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// How long a server request handed to the user waits for an answer
    /// before the runtime sends the safe answer; longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`. The
    /// default is [`RuntimeConfig::DEFAULT_SERVER_REQUEST_DEADLINE`] (60 s).
    #[must_use]
    pub fn server_request_deadline(mut self, deadline: Duration) -> Self {
        self.server_request_deadline = deadline.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// How many calls may be sent to codex and unanswered at once; later
    /// calls wait for a slot, first come first served, within their
    /// timeout (see [`RpcConfig::max_in_flight_calls`], which this sets).
    /// The default is [`RpcConfig::DEFAULT_MAX_IN_FLIGHT_CALLS`] (256).
    #[must_use]
    pub fn max_in_flight_calls(mut self, limit: usize) -> Self {
        self.max_in_flight_calls = limit;
        self
    }

    /// How the connection's `codexrt.connection` span names its endpoint
    /// (the span's `endpoint` field; see `docs/observability.md`), such
    /// as a WebSocket URL without its query. It must not hold credentials.
    /// The default is `stdio:PROGRAM` for
    /// [`Runtime::spawn`](crate::Runtime::spawn) and `connection` for
    /// [`Runtime::connect`](crate::Runtime::connect).
    #[must_use]
    pub fn endpoint_name(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
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
        self.api == Api::Experimental
    }

    /// The accepted codex versions.
    pub fn compatibility_guard(&self) -> &CompatibilityGuard {
        &self.compatibility
    }

    /// The limit of one call.
    pub fn call_timeout_limit(&self) -> Duration {
        self.call_timeout
    }

    /// The transport [`Runtime::spawn`](crate::Runtime::spawn) uses:
    /// `<program> app-server <extra args>` with the environment and working
    /// directory of this config.
    pub fn transport(&self) -> StdioTransport {
        let mut transport = StdioTransport::new(self.resolved_program())
            .arg("app-server")
            .args(&self.extra_args)
            .env_policy(self.env_policy.clone());
        for (key, value) in &self.env {
            transport = transport.env(key, value);
        }
        if let Some(dir) = &self.current_dir {
            transport = transport.current_dir(dir.clone());
        }
        transport
    }

    /// The program [`RuntimeConfig::transport`] starts.
    pub(crate) fn resolved_program(&self) -> OsString {
        match &self.program {
            Some(program) => program.clone(),
            None => std::env::var_os(CODEX_BIN_ENV).unwrap_or_else(|| OsString::from("codex")),
        }
    }
}
