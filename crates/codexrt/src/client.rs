//! [`Client`]: connect to codex, run prompts, start and resume sessions,
//! and shut down.

use std::path::Path;
use std::sync::Arc;

use codexrt_core::{Runtime, ServerInfo};
use codexrt_hooks::{HookReport, Phase};
use codexrt_protocol::types::ThreadStartParams;
use codexrt_transport::{CloseReport, Connection, WebSocketTransport};
use tracing::Instrument;

use crate::cancel::TurnGuard;
use crate::link::{Current, Endpoint, Link};
use crate::policy::{ClientHooks, PostTurn, correlation_id, lifecycle_context, run_outcome};
use crate::profile::{absolute_dir, turn_start};
use crate::run::{conclude, record_thread, start_turn, thread_span};
use crate::session::SessionKind;
use crate::{
    Account, ClientConfig, ClientError, CodexConfig, ConnectionEvents, Connector, Exec, Fs, Mcp,
    Models, PromptRunError, PromptRunParams, PromptRunResult, Review, RunProfile, Session,
    SessionConfig, Threads,
};

/// A connection to one `codex app-server`. Cheap to clone; every clone
/// talks to the same server.
///
/// When every clone (and every [`Session`]) is dropped, the server is torn
/// down without the graceful ladder; call [`Client::shutdown`] for an
/// orderly, bounded stop.
///
/// When the connection drops, calls and turns in flight fail with the
/// close report, and by default the client is done. With a
/// [`RestartPolicy`](crate::RestartPolicy) or a
/// [`ReconnectPolicy`](crate::ReconnectPolicy) it gets a new server in the
/// background and goes on with it; see those types and
/// [`Client::connection_events`].
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    link: Arc<Link>,
}

impl Drop for Inner {
    // The last clone is gone: the reconnecting task, if any, lets go of the
    // runtime, which tears the server down.
    fn drop(&mut self) {
        self.link.stop();
    }
}

impl Client {
    /// Starts `codex app-server` with [`ClientConfig::new`]: `codex` from
    /// `CODEX_BIN` or `PATH`.
    ///
    /// # Errors
    /// As for [`Client::connect`].
    ///
    /// # Cancel safety
    /// As for [`Client::connect`].
    pub async fn connect_default() -> Result<Client, ClientError> {
        Client::connect(ClientConfig::new()).await
    }

    /// Starts `codex app-server` as `config` describes (or connects to a
    /// running one, when [`ClientConfig::websocket`] is set), runs the
    /// handshake and checks codex's version.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the WebSocket cannot be opened (the
    /// server is unreachable, or refused the credentials:
    /// [`TransportError::Unauthorized`](codexrt_transport::TransportError::Unauthorized));
    /// [`ClientError::MissingInitializeUserAgent`],
    /// [`ClientError::InvalidInitializeUserAgent`] and
    /// [`ClientError::IncompatibleCodexVersion`] when the handshake cannot
    /// vouch for the server (it is shut down first;
    /// [`ClientError::CompatibilityValidationWithShutdown`] when that fails
    /// too); [`ClientError::Runtime`] when codex cannot be started or the
    /// handshake fails otherwise.
    ///
    /// # Cancel safety
    /// Not cancel safe: a codex started before the future is dropped is
    /// killed, not shut down gracefully.
    pub async fn connect(config: ClientConfig) -> Result<Client, ClientError> {
        let endpoint = match config.websocket_transport() {
            Some(transport) => Endpoint::WebSocket(Box::new(transport.clone())),
            None => Endpoint::Spawn,
        };
        let runtime = endpoint.open(&config).await?;
        Client::from_parts(runtime, endpoint, config)
    }

    /// Connects to a running app-server at `url` (`ws://HOST:PORT`,
    /// `unix:///PATH`, or `wss://` with the transport's `wss` feature)
    /// without credentials; for credentials or transport settings, give a
    /// [`WebSocketTransport`] to [`ClientConfig::websocket`] and call
    /// [`Client::connect`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), codexrt::ClientError> {
    /// let client = codexrt::Client::connect_url(
    ///     "unix:///run/codex/app-server.sock",
    ///     codexrt::ClientConfig::new(),
    /// )
    /// .await?;
    /// println!("connected to codex {}", client.server_info().version);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Connect`] when `url` is not a WebSocket URL or the
    /// connection cannot be opened; otherwise as for [`Client::connect`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the connection.
    pub async fn connect_url(url: &str, config: ClientConfig) -> Result<Client, ClientError> {
        let transport = WebSocketTransport::new(url).map_err(ClientError::Connect)?;
        Client::connect(config.websocket(transport)).await
    }

    /// Runs the handshake over a connection of any transport (a WebSocket,
    /// a Unix socket, an in-process fake). The program, arguments,
    /// environment and working directory of `config` are not used.
    ///
    /// # Errors
    /// As for [`Client::connect`], without the failure to start codex.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the connection.
    ///
    /// The connection cannot be opened again, so no
    /// [`ReconnectPolicy`](crate::ReconnectPolicy) applies; use
    /// [`Client::connect_with_connector`] for that.
    pub async fn connect_with(
        connection: Connection,
        config: ClientConfig,
    ) -> Result<Client, ClientError> {
        let runtime = Runtime::connect(connection, config.runtime_config()).await?;
        Client::from_parts(runtime, Endpoint::Once, config)
    }

    /// Connects through `connector`, a transport of your own (or a
    /// closure returning a connection), and runs the handshake; with a
    /// [`ReconnectPolicy`](crate::ReconnectPolicy) in `config`, the
    /// connector is asked again for every reconnection attempt. The
    /// program, arguments, environment and working directory of `config`
    /// are not used.
    ///
    /// ```no_run
    /// use codexrt::{Client, ClientConfig, ReconnectPolicy, WebSocketTransport};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let transport = WebSocketTransport::new("ws://127.0.0.1:4500")?;
    /// let client = Client::connect_with_connector(
    ///     move || {
    ///         let transport = transport.clone();
    ///         async move { transport.connect().await }
    ///     },
    ///     ClientConfig::new().reconnect(ReconnectPolicy::new()),
    /// )
    /// .await?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Connect`] with the connector's error; otherwise as
    /// for [`Client::connect`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the connection.
    pub async fn connect_with_connector(
        connector: impl Connector,
        config: ClientConfig,
    ) -> Result<Client, ClientError> {
        let endpoint = Endpoint::Connector(Arc::new(connector));
        let runtime = endpoint.open(&config).await?;
        Client::from_parts(runtime, endpoint, config)
    }

    fn from_parts(
        runtime: Runtime,
        endpoint: Endpoint,
        config: ClientConfig,
    ) -> Result<Client, ClientError> {
        let hooks = ClientHooks::new(config.hook_set().clone());
        // The client's own hooks start the approval loop at once, so
        // nothing codex asks before the first run escapes them.
        hooks.start(&runtime, None)?;
        let link = Link::start(runtime, endpoint, Arc::new(config), Arc::new(hooks));
        Ok(Client {
            inner: Arc::new(Inner { link }),
        })
    }

    pub(crate) fn hooks(&self) -> &ClientHooks {
        &self.inner.link.hooks
    }

    /// Where the working directory of a run or session is checked.
    pub(crate) fn cwd_check(&self) -> crate::cwd::CwdCheck {
        self.inner.link.cwd_check()
    }

    /// The runtime to call now with its generation, waiting while the
    /// client reconnects.
    pub(crate) async fn current(&self) -> Result<Current, ClientError> {
        self.inner.link.current().await
    }

    /// The runtime to call now, waiting while the client reconnects.
    pub(crate) async fn live_runtime(&self) -> Result<Runtime, ClientError> {
        Ok(self.current().await?.runtime)
    }

    /// The report of the client's hooks
    /// ([`ClientConfig::hooks`](crate::ClientConfig::hooks)): their errors,
    /// timeouts and panics. Hooks of a profile or session report to their
    /// own [`HookSet::report`](codexrt_hooks::HookSet::report).
    pub fn hook_report(&self) -> HookReport {
        self.hooks().report()
    }

    /// The runtime underneath, as it is now: typed calls of any method,
    /// the server's requests (approvals, questions) and the notification
    /// stream. A handle (cheap to clone) rather than a reference, since a
    /// client that reconnects changes its runtime: one taken before a
    /// reconnect keeps talking to the old, closed connection, whose calls
    /// fail with its close report. While the client reconnects this is
    /// the closed one.
    pub fn runtime(&self) -> Runtime {
        self.inner.link.runtime()
    }

    /// The codex this client talks to now, as the handshake described it:
    /// its version, user agent and home, and whether it is newer than
    /// every version this SDK knows ([`ServerInfo::newer_than_known`]).
    /// After a reconnect, the new server's.
    pub fn server_info(&self) -> ServerInfo {
        self.inner.link.runtime().server_info().clone()
    }

    /// What happens to the connection from now on: disconnected,
    /// attempts, reconnected, gave up. Only a client with a
    /// [`ReconnectPolicy`](crate::ReconnectPolicy) or
    /// [`RestartPolicy`](crate::RestartPolicy) reports anything.
    pub fn connection_events(&self) -> ConnectionEvents {
        ConnectionEvents::new(self.inner.link.subscribe())
    }

    /// The settings the client was connected with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.link.config
    }

    /// Thread management: list, read, archive, unarchive, rename.
    pub fn threads(&self) -> Threads<'_> {
        Threads::new(self)
    }

    /// The account codex works as: read it, log in with an API key or
    /// through ChatGPT, cancel a login, log out, read the rate limits.
    pub fn account(&self) -> Account<'_> {
        Account::new(self)
    }

    /// The models codex offers (`model/list`), a page or all of them.
    pub fn models(&self) -> Models<'_> {
        Models::new(self)
    }

    /// Commands run by codex on its machine, in a sandbox
    /// (`command/exec`), buffered or streamed.
    pub fn exec(&self) -> Exec<'_> {
        Exec::new(self)
    }

    /// Files on codex's machine (`fs/*`): read, write, list, inspect,
    /// create directories, remove, copy.
    pub fn fs(&self) -> Fs<'_> {
        Fs::new(self)
    }

    /// Code reviews as turns of a thread (`review/start`).
    pub fn review(&self) -> Review<'_> {
        Review::new(self)
    }

    /// codex's own configuration (`config/*`, `configRequirements/read`);
    /// not to be confused with [`config`](Client::config), this client's.
    pub fn codex_config(&self) -> CodexConfig<'_> {
        CodexConfig::new(self)
    }

    /// codex's MCP servers: their status, and reloading their
    /// configuration.
    pub fn mcp(&self) -> Mcp<'_> {
        Mcp::new(self)
    }

    /// Runs `prompt` in a new thread working in `cwd` with the defaults of
    /// [`RunProfile::new`], and waits for the turn to end.
    ///
    /// # Errors
    /// As for [`Client::run_with`].
    ///
    /// # Cancel safety
    /// As for [`Client::run_with`].
    pub async fn run(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
    ) -> Result<PromptRunResult, PromptRunError> {
        self.run_with(PromptRunParams::new(cwd.as_ref(), prompt))
            .await
    }

    /// Runs `prompt` in a new thread working in `cwd` as `profile` says.
    ///
    /// # Errors
    /// As for [`Client::run_with`].
    ///
    /// # Cancel safety
    /// As for [`Client::run_with`].
    pub async fn run_with_profile(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
        profile: RunProfile,
    ) -> Result<PromptRunResult, PromptRunError> {
        self.run_with(PromptRunParams::new(cwd.as_ref(), prompt).profile(profile))
            .await
    }

    /// Starts a thread (`thread/start`), runs one turn (`turn/start`) and
    /// waits for it to end. `Ok` means the turn completed.
    ///
    /// Hooks run around it (see the crate's [Hooks](crate#hooks)): PreRun
    /// before the thread starts, PreTurn before the turn, PostTurn and
    /// PostRun after it ended.
    ///
    /// # Errors
    /// [`PromptRunError::EmptyPrompt`] (nothing sent);
    /// [`PromptRunError::Client`] with [`ClientError::InvalidOutputSchema`]
    /// when the output schema is not a valid JSON Schema, or with
    /// [`ClientError::InvalidCwd`] when the working directory is not a
    /// directory (nothing sent; a schema a PreTurn hook set is checked
    /// before `turn/start`);
    /// [`PromptRunError::Blocked`] when a PreRun or PreTurn hook blocked
    /// the run (PreRun: nothing sent);
    /// [`PromptRunError::Failed`] and [`PromptRunError::Interrupted`] with
    /// what the turn produced; [`PromptRunError::TimedOut`] after the
    /// profile's timeout (the turn is asked to stop);
    /// [`PromptRunError::Client`] when a call fails or the connection dies,
    /// or the hooks cannot start (the server's requests were taken).
    ///
    /// # Cancel safety
    /// Dropping the future before the turn ended interrupts the turn in
    /// the background (a task on the runtime sends `turn/interrupt`, at
    /// most 10 s, a warning in the log when it fails), as for a dropped
    /// [`Session::ask`]; the thread stays, and the post hooks do not run.
    /// Dropped before codex answered `turn/start`, the turn is not
    /// interrupted.
    pub async fn run_with(
        &self,
        params: PromptRunParams,
    ) -> Result<PromptRunResult, PromptRunError> {
        let (cwd, prompt, mut profile) = params.into_parts();
        let extra = profile.shared_hooks();
        let runtime = self.live_runtime().await?;
        let hooks = self.hooks();
        hooks.start(&runtime, extra.as_deref())?;
        let id = correlation_id("run");
        let plan = profile.plan(Some(prompt), absolute_dir(&cwd)?);
        let plan = hooks.thread_plan(extra.as_deref(), plan);
        let ctx = lifecycle_context(Phase::PreRun, "", &id, &plan);
        let plan = hooks.before(extra.as_deref(), ctx).await?;
        profile.apply(&plan);
        let cwd = absolute_dir(plan.cwd.as_deref().map_or(cwd.as_path(), Path::new))?;
        // Blank prompts, invalid output schemas and missing directories
        // fail before anything is started.
        profile.input(plan.prompt.clone().unwrap_or_default(), &[])?;
        crate::output::check(plan.output_schema.as_ref())?;
        crate::cwd::check(self.cwd_check(), &runtime, &cwd).await?;

        let start = ThreadStartParams {
            dynamic_tools: hooks.tool_specs(extra.as_deref()),
            ..profile.thread_start(cwd)
        };
        // The thread's calls, its turn and its hooks nest under its span.
        let span = thread_span(&runtime, None);
        async {
            let thread = runtime.call(start).await.map_err(ClientError::from)?;
            let thread_id = thread.thread.id;
            record_thread(&span, &thread_id);
            let _scope = hooks.scope(&thread_id, extra.clone(), thread.model);
            let result = self
                .run_turn(&runtime, &thread_id, &profile, &plan, extra.clone())
                .await;

            if hooks.has_lifecycle(extra.as_deref()) {
                let mut ctx = lifecycle_context(Phase::PostRun, &thread_id, &id, &plan);
                ctx.turn_id = result.as_ref().ok().map(|result| result.turn_id.clone());
                let ctx = ctx.with_outcome(run_outcome(&result));
                hooks.after(extra.as_deref(), &ctx).await;
            }
            result
        }
        .instrument(span.clone())
        .await
    }

    /// Runs `prompt` in a new thread working in `cwd`, asking for an
    /// answer shaped as `T` ([`RunProfile::output_type`]), and reads the
    /// answer into `T` ([`PromptRunResult::parse`]). For other settings,
    /// [`Client::run_with_profile`] with a profile's `output_type::<T>()`
    /// and `parse::<T>()` on its result do the same.
    ///
    /// ```no_run
    /// # async fn demo(client: codexrt::Client) -> Result<(), codexrt::PromptRunError> {
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Crates {
    ///     names: Vec<String>,
    /// }
    ///
    /// let crates: Crates = client.run_json(".", "Which crates does this workspace have?").await?;
    /// println!("{:?}", crates.names);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As for [`Client::run_with`], and [`PromptRunError::InvalidOutput`]
    /// when the turn completed with an answer that is not JSON `T`
    /// deserializes from.
    ///
    /// # Cancel safety
    /// As for [`Client::run_with`].
    #[cfg(feature = "schemars")]
    pub async fn run_json<T>(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
    ) -> Result<T, PromptRunError>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        let profile = RunProfile::new().output_type::<T>();
        let result = self.run_with_profile(cwd, prompt, profile).await?;
        Ok(result.parse()?)
    }

    /// The turn of a run, between its PreTurn and PostTurn hooks.
    async fn run_turn(
        &self,
        runtime: &Runtime,
        thread_id: &str,
        profile: &RunProfile,
        thread_plan: &codexrt_hooks::Plan,
        extra: Option<Arc<codexrt_hooks::HookSet>>,
    ) -> Result<PromptRunResult, PromptRunError> {
        let turn_id = correlation_id("turn");
        let ctx = lifecycle_context(Phase::PreTurn, thread_id, &turn_id, thread_plan);
        let plan = self.hooks().before(extra.as_deref(), ctx).await?;
        let input = profile.input(plan.prompt.clone().unwrap_or_default(), &plan.extra_context)?;
        if plan.output_schema != thread_plan.output_schema {
            crate::output::check(plan.output_schema.as_ref())?;
        }
        let options = profile.turn_options(self.config());
        let params = turn_start(thread_id.to_owned(), input, thread_plan, &plan);
        // The thread's hooks see the model the turn runs; this scope
        // replaces the run's until the turn is over.
        let _scope = plan
            .model
            .as_ref()
            .filter(|_| plan.model != thread_plan.model)
            .and_then(|model| self.hooks().scope(thread_id, extra.clone(), model.clone()));
        let turn = start_turn(runtime, params, options).await?;
        let mut ctx = lifecycle_context(Phase::PostTurn, thread_id, &turn_id, &plan);
        ctx.turn_id = Some(turn.handle.turn_id().to_owned());
        let post = PostTurn::new(self.clone(), extra, ctx);
        // Dropped before the turn ended, the guard interrupts it.
        let mut guard = TurnGuard::new(turn.handle, None);
        let waited = guard.outcome().await;
        drop(guard);
        let result = conclude(waited, turn.sent_at);
        let outcome = post.outcome(&result);
        post.run(outcome).await;
        result
    }

    /// Starts a new thread (`thread/start`) for a conversation of several
    /// prompts. PreSessionStart hooks run before (they may change the
    /// session's settings or block it), PostSessionStart hooks after.
    ///
    /// # Errors
    /// [`ClientError::CurrentDir`] when a relative `cwd` cannot be
    /// resolved; [`ClientError::InvalidOutputSchema`] when the output
    /// schema is not a valid JSON Schema and [`ClientError::InvalidCwd`]
    /// when the working directory is not a directory (nothing sent);
    /// [`ClientError::Blocked`] when a PreSessionStart hook
    /// blocked the session (nothing sent); [`ClientError::Hooks`] when the
    /// hooks cannot start; [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Not cancel safe: the thread may have started on the server.
    pub async fn start_session(&self, config: SessionConfig) -> Result<Session, ClientError> {
        Session::open(self.clone(), SessionKind::Start, config).await
    }

    /// Resumes a stored thread (`thread/resume`) with the settings of
    /// `config`; the conversation so far stays the model's context. The
    /// session hooks run as for [`Client::start_session`]. Dynamic tools
    /// are declared when a thread starts, not when it resumes.
    ///
    /// # Errors
    /// As for [`Client::start_session`].
    ///
    /// # Cancel safety
    /// As for [`Client::start_session`].
    pub async fn resume_session(
        &self,
        thread_id: impl Into<String>,
        config: SessionConfig,
    ) -> Result<Session, ClientError> {
        Session::open(self.clone(), SessionKind::Resume(thread_id.into()), config).await
    }

    /// Shuts codex down: server requests still waiting are declined, then
    /// the connection closes through the shutdown ladder. Idempotent: later
    /// calls return the first outcome. A client that reconnects stops
    /// doing so (a codex being started at that moment is killed).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] with
    /// [`CoreError::Shutdown`](codexrt_core::CoreError::Shutdown) when the
    /// server could not be stopped; the connection is closed from this side
    /// all the same.
    ///
    /// # Cancel safety
    /// Dropping the future does not undo a shutdown already requested; a
    /// later call finishes it.
    pub async fn shutdown(&self) -> Result<Arc<CloseReport>, ClientError> {
        self.inner.link.shutdown().await
    }
}
