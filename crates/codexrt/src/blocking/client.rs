//! The blocking [`Client`] and its [`Threads`].

use std::path::Path;
use std::sync::Arc;

use codexrt_core::ServerInfo;
use codexrt_hooks::HookReport;
use codexrt_protocol::types::{Thread, ThreadListParams, ThreadListResponse};
use codexrt_transport::CloseReport;

use super::{Owner, Session};
use crate::{
    ClientConfig, ClientError, PromptRunError, PromptRunParams, PromptRunResult, RunProfile,
    SessionConfig,
};

/// A connection to one `codex app-server` that blocks the calling thread,
/// over the async [`Client`](crate::Client) and a tokio runtime it owns
/// (see the [module docs](crate::blocking)). Cheap to clone; every clone
/// talks to the same server.
///
/// Every method fails with [`ClientError::InsideAsyncRuntime`] (as
/// [`PromptRunError::Client`] where it returns a [`PromptRunError`]) when
/// called inside a tokio runtime; the other errors are those of the async
/// method it mirrors.
///
/// When the last clone, [`Session`] and [`AskStream`](super::AskStream)
/// is dropped, codex is shut down as [`Client::shutdown`] does, bounded by
/// [`DROP_SHUTDOWN_LIMIT`](super::DROP_SHUTDOWN_LIMIT), and the runtime
/// stops.
#[derive(Debug, Clone)]
pub struct Client {
    owner: Arc<Owner>,
}

impl Client {
    /// Starts `codex app-server` with [`ClientConfig::new`]: `codex` from
    /// `CODEX_BIN` or `PATH`. See [`crate::Client::connect_default`].
    ///
    /// # Errors
    /// As for [`Client::connect`].
    pub fn connect_default() -> Result<Client, ClientError> {
        Client::connect(ClientConfig::new())
    }

    /// Starts the runtime, then `codex app-server` as `config` describes
    /// (or connects to a running one, when [`ClientConfig::websocket`] is
    /// set), runs the handshake and checks codex's version. The client's
    /// hooks ([`ClientConfig::hooks`]) run on the client's runtime. See
    /// [`crate::Client::connect`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime;
    /// [`ClientError::BlockingRuntime`] when the runtime cannot start;
    /// otherwise as for [`crate::Client::connect`].
    pub fn connect(config: ClientConfig) -> Result<Client, ClientError> {
        Client::start(crate::Client::connect(config))
    }

    /// Connects to a running app-server at `url` (`ws://HOST:PORT` or
    /// `unix:///PATH`) without credentials. See
    /// [`crate::Client::connect_url`].
    ///
    /// # Errors
    /// As for [`Client::connect`], and [`ClientError::Connect`] when `url`
    /// is not a WebSocket URL.
    pub fn connect_url(url: &str, config: ClientConfig) -> Result<Client, ClientError> {
        Client::start(crate::Client::connect_url(url, config))
    }

    fn start(
        connect: impl Future<Output = Result<crate::Client, ClientError>>,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            owner: Arc::new(Owner::connect(connect)?),
        })
    }

    /// The async client underneath.
    fn inner(&self) -> &crate::Client {
        &self.owner.client
    }

    /// The codex this client talks to now, as the handshake described it.
    /// See [`crate::Client::server_info`].
    pub fn server_info(&self) -> ServerInfo {
        self.inner().server_info()
    }

    /// The report of the client's hooks: their errors, timeouts and
    /// panics. See [`crate::Client::hook_report`].
    pub fn hook_report(&self) -> HookReport {
        self.inner().hook_report()
    }

    /// The settings the client was connected with.
    pub fn config(&self) -> &ClientConfig {
        self.inner().config()
    }

    /// Thread management: list, read, archive, unarchive, rename.
    pub fn threads(&self) -> Threads<'_> {
        Threads { client: self }
    }

    /// Runs `prompt` in a new thread working in `cwd` with the defaults of
    /// [`RunProfile::new`], and waits for the turn to end. See
    /// [`crate::Client::run`].
    ///
    /// # Errors
    /// As for [`Client::run_with`].
    pub fn run(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
    ) -> Result<PromptRunResult, PromptRunError> {
        self.run_with(PromptRunParams::new(cwd.as_ref(), prompt))
    }

    /// Runs `prompt` in a new thread working in `cwd` as `profile` says;
    /// the profile's hooks ([`RunProfile::hooks`]) run on the client's
    /// runtime. See [`crate::Client::run_with_profile`].
    ///
    /// # Errors
    /// As for [`Client::run_with`].
    pub fn run_with_profile(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
        profile: RunProfile,
    ) -> Result<PromptRunResult, PromptRunError> {
        self.run_with(PromptRunParams::new(cwd.as_ref(), prompt).profile(profile))
    }

    /// Starts a thread, runs one turn and waits for it to end; `Ok` means
    /// the turn completed. See [`crate::Client::run_with`].
    ///
    /// # Errors
    /// [`PromptRunError::Client`] with [`ClientError::InsideAsyncRuntime`]
    /// inside a tokio runtime (nothing sent); otherwise as for
    /// [`crate::Client::run_with`].
    pub fn run_with(&self, params: PromptRunParams) -> Result<PromptRunResult, PromptRunError> {
        self.owner.block_on(self.inner().run_with(params))?
    }

    /// Starts a new thread for a conversation of several prompts; the
    /// session's hooks ([`SessionConfig::hooks`]) run on the client's
    /// runtime. See [`crate::Client::start_session`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Client::start_session`].
    pub fn start_session(&self, config: SessionConfig) -> Result<Session, ClientError> {
        let session = self.owner.block_on(self.inner().start_session(config))??;
        Ok(Session::new(session, Arc::clone(&self.owner)))
    }

    /// Resumes a stored thread with the settings of `config`. See
    /// [`crate::Client::resume_session`].
    ///
    /// # Errors
    /// As for [`Client::start_session`].
    pub fn resume_session(
        &self,
        thread_id: impl Into<String>,
        config: SessionConfig,
    ) -> Result<Session, ClientError> {
        let resume = self.inner().resume_session(thread_id, config);
        let session = self.owner.block_on(resume)??;
        Ok(Session::new(session, Arc::clone(&self.owner)))
    }

    /// Shuts codex down through the shutdown ladder. Idempotent: later
    /// calls return the first outcome. The runtime keeps running until the
    /// last clone, session and stream is dropped. See
    /// [`crate::Client::shutdown`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// done); otherwise as for [`crate::Client::shutdown`].
    pub fn shutdown(&self) -> Result<Arc<CloseReport>, ClientError> {
        self.owner.block_on(self.inner().shutdown())?
    }
}

/// Thread management that blocks, from [`Client::threads`]: the methods
/// of [`crate::Threads`].
///
/// Every method fails with [`ClientError::InsideAsyncRuntime`] inside a
/// tokio runtime (nothing sent), and otherwise with
/// [`ClientError::Runtime`] when its call fails.
#[derive(Debug, Clone, Copy)]
pub struct Threads<'a> {
    client: &'a Client,
}

impl Threads<'_> {
    fn block_on<T>(
        &self,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        self.client.owner.block_on(call)?
    }

    /// One page of stored threads (`thread/list`). See
    /// [`crate::Threads::list`].
    ///
    /// # Errors
    /// See [`Threads`].
    pub fn list(&self, params: ThreadListParams) -> Result<ThreadListResponse, ClientError> {
        self.block_on(self.client.inner().threads().list(params))
    }

    /// A thread with its turns (`thread/read` with `includeTurns`).
    ///
    /// # Errors
    /// See [`Threads`].
    pub fn read(&self, thread_id: impl Into<String>) -> Result<Thread, ClientError> {
        self.block_on(self.client.inner().threads().read(thread_id))
    }

    /// Archives a thread (`thread/archive`).
    ///
    /// # Errors
    /// See [`Threads`].
    pub fn archive(&self, thread_id: impl Into<String>) -> Result<(), ClientError> {
        self.block_on(self.client.inner().threads().archive(thread_id))
    }

    /// Restores an archived thread (`thread/unarchive`) and returns it.
    ///
    /// # Errors
    /// See [`Threads`].
    pub fn unarchive(&self, thread_id: impl Into<String>) -> Result<Thread, ClientError> {
        self.block_on(self.client.inner().threads().unarchive(thread_id))
    }

    /// Renames a thread (`thread/name/set`).
    ///
    /// # Errors
    /// See [`Threads`].
    pub fn set_name(
        &self,
        thread_id: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<(), ClientError> {
        self.block_on(self.client.inner().threads().set_name(thread_id, name))
    }
}
