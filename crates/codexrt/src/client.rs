//! [`Client`]: connect to codex, run prompts, start and resume sessions,
//! and shut down.

use std::path::Path;
use std::sync::Arc;

use codexrt_core::Runtime;
use codexrt_transport::{CloseReport, Connection};

use crate::profile::absolute_dir;
use crate::run::{conclude, start_turn};
use crate::{
    ClientConfig, ClientError, PromptRunError, PromptRunParams, PromptRunResult, RunProfile,
    Session, SessionConfig, Threads,
};

/// A connection to one `codex app-server`. Cheap to clone; every clone
/// talks to the same server.
///
/// When every clone (and every [`Session`]) is dropped, the server is torn
/// down without the graceful ladder; call [`Client::shutdown`] for an
/// orderly, bounded stop.
#[derive(Debug, Clone)]
pub struct Client {
    runtime: Runtime,
    config: Arc<ClientConfig>,
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

    /// Starts `codex app-server` as `config` describes, runs the handshake
    /// and checks codex's version.
    ///
    /// # Errors
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
        let runtime = Runtime::spawn(config.runtime_config()).await?;
        Ok(Client::from_parts(runtime, config))
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
    pub async fn connect_with(
        connection: Connection,
        config: ClientConfig,
    ) -> Result<Client, ClientError> {
        let runtime = Runtime::connect(connection, config.runtime_config()).await?;
        Ok(Client::from_parts(runtime, config))
    }

    fn from_parts(runtime: Runtime, config: ClientConfig) -> Client {
        Client {
            runtime,
            config: Arc::new(config),
        }
    }

    /// The runtime underneath: typed calls of any method, the server's
    /// requests (approvals, questions) and the notification stream.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The settings the client was connected with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Thread management: list, read, archive, unarchive, rename.
    pub fn threads(&self) -> Threads<'_> {
        Threads::new(self)
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
    /// # Errors
    /// [`PromptRunError::EmptyPrompt`] (nothing sent);
    /// [`PromptRunError::Failed`] and [`PromptRunError::Interrupted`] with
    /// what the turn produced; [`PromptRunError::TimedOut`] after the
    /// profile's timeout (the turn is asked to stop);
    /// [`PromptRunError::Client`] when a call fails or the connection dies.
    ///
    /// # Cancel safety
    /// Not cancel safe: a turn already started keeps running on the
    /// server when the future is dropped.
    pub async fn run_with(
        &self,
        params: PromptRunParams,
    ) -> Result<PromptRunResult, PromptRunError> {
        let (cwd, prompt, profile) = params.into_parts();
        let input = profile.input(prompt)?;
        let cwd = absolute_dir(&cwd)?;
        let thread = self
            .runtime
            .call(profile.thread_start(cwd))
            .await
            .map_err(ClientError::from)?;
        let timeout = profile.timeout_or(self.config.turn_timeout_limit());
        let params = profile.turn_start(thread.thread.id, input);
        let turn = start_turn(&self.runtime, params, timeout).await?;
        conclude(turn.handle.wait().await, turn.sent_at)
    }

    /// Starts a new thread (`thread/start`) for a conversation of several
    /// prompts.
    ///
    /// # Errors
    /// [`ClientError::CurrentDir`] when a relative `cwd` cannot be
    /// resolved; [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Not cancel safe: the thread may have started on the server.
    pub async fn start_session(&self, config: SessionConfig) -> Result<Session, ClientError> {
        let cwd = absolute_dir(config.cwd())?;
        let started = self
            .runtime
            .call(config.profile().thread_start(cwd))
            .await?;
        Ok(Session::new(self.clone(), started.thread.id, config))
    }

    /// Resumes a stored thread (`thread/resume`) with the settings of
    /// `config`; the conversation so far stays the model's context.
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
        let cwd = absolute_dir(config.cwd())?;
        let params = config.profile().thread_resume(thread_id.into(), cwd);
        let resumed = self.runtime.call(params).await?;
        Ok(Session::new(self.clone(), resumed.thread.id, config))
    }

    /// Shuts codex down: server requests still waiting are declined, then
    /// the connection closes through the shutdown ladder. Idempotent: later
    /// calls return the first outcome.
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
        self.runtime.shutdown().await.map_err(ClientError::from)
    }
}
