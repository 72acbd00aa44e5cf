//! The facade's errors: [`ClientError`] for connecting and for calls, and
//! [`PromptRunError`] for a prompt that did not complete.

use std::sync::Arc;
use std::time::Duration;

use codexrt_core::CoreError;
use codexrt_hooks::{Blocked, HookError};
use codexrt_protocol::types::{CodexErrorInfo, TurnError};
use codexrt_transport::{CloseReport, TransportError};
use semver::Version;

use crate::{OutputError, PromptRunResult};

/// Everything that can go wrong between the client and codex.
///
/// The handshake's failures have their own variants; every other failure of
/// the runtime (the server said no, the connection is gone, a timeout, an
/// answer that cannot be read) is [`ClientError::Runtime`], whose
/// [`CoreError`] keeps those kinds apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A relative working directory could not be made absolute because the
    /// current directory is unknown, or the path is empty.
    #[error("cannot make the working directory absolute")]
    CurrentDir(#[source] std::io::Error),
    /// The working directory of a run or session is not a directory where
    /// codex runs: it does not exist, is a file, or cannot be read. Checked
    /// before the thread is started, so nothing was started. For a spawned
    /// codex the check is made on this machine; for one reached over a
    /// WebSocket or a Unix socket codex is asked (`fs/getMetadata`); over a
    /// transport of your own nothing is checked.
    #[error("the working directory {} {problem}", cwd.display())]
    InvalidCwd {
        /// The directory, made absolute.
        cwd: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The output schema of a run, session or ask
    /// ([`RunProfile::output_schema`](crate::RunProfile::output_schema),
    /// [`SessionConfig::output_schema`](crate::SessionConfig::output_schema),
    /// or one a hook put in the plan) is not a valid JSON Schema: it does
    /// not follow the meta-schema of its draft (2020-12 unless its
    /// `$schema` names another), a `$ref` does not resolve inside it, or a
    /// `pattern` is not a regular expression. Checked before the
    /// `thread/start` or `turn/start` it was meant for, so nothing was sent
    /// with it. References are never fetched: one to another document is
    /// refused. Checked with the `schema-check` feature (on by default);
    /// without it schemas are sent as they are.
    #[error("the output schema is not a valid JSON Schema: {problem}")]
    InvalidOutputSchema {
        /// What is wrong and where (a JSON pointer into the schema), at
        /// most 300 bytes.
        problem: String,
    },
    /// The `initialize` answer has no `userAgent`, so codex's version cannot
    /// be checked; the server was shut down.
    #[error("the `initialize` answer has no `userAgent`")]
    MissingInitializeUserAgent,
    /// The `userAgent` has no semantic version right after its first `/`;
    /// the server was shut down.
    #[error("cannot read a codex version from the user agent {user_agent:?}")]
    InvalidInitializeUserAgent {
        /// The user agent as codex sent it.
        user_agent: String,
    },
    /// codex is older than the [`CompatibilityGuard`](crate::CompatibilityGuard)
    /// allows; the server was shut down.
    #[error(
        "codex {detected} is too old: at least {required} is required (user agent {user_agent:?}); \
         install a newer codex or point `CODEX_BIN` at one"
    )]
    IncompatibleCodexVersion {
        /// The version codex reported.
        detected: Version,
        /// The oldest version accepted.
        required: Version,
        /// The user agent as codex sent it.
        user_agent: String,
    },
    /// codex is newer than any version this SDK knows, and the
    /// [`CompatibilityGuard`](crate::CompatibilityGuard) refuses that
    /// ([`CompatibilityGuard::refuse_newer_than_known`](crate::CompatibilityGuard::refuse_newer_than_known));
    /// codex was shut down.
    #[error(
        "codex {detected} is newer than {newest_known}, the newest version this SDK knows \
         (user agent {user_agent:?}), and the compatibility guard refuses newer versions"
    )]
    CodexNewerThanKnown {
        /// The version codex reported.
        detected: Version,
        /// The newest version this SDK's protocol tables describe.
        newest_known: Version,
        /// The user agent as codex sent it.
        user_agent: String,
    },
    /// The handshake failed and so did shutting the server down afterwards.
    #[error("{compatibility}; shutting the server down failed as well: {shutdown}")]
    CompatibilityValidationWithShutdown {
        /// Why the handshake failed.
        compatibility: Box<ClientError>,
        /// Why the shutdown failed.
        shutdown: Arc<TransportError>,
    },
    /// A session's thread has no turn running, so there is nothing to
    /// interrupt or steer.
    #[error("thread {thread_id} has no turn running")]
    NoTurnRunning {
        /// The session's thread.
        thread_id: String,
    },
    /// A pre hook (PreSessionStart, or PreRun / PreTurn reached through a
    /// call that returns this type) blocked what was asked, or failed; the
    /// reason is the hook's, or names the failure.
    #[error(transparent)]
    Blocked(#[from] Blocked),
    /// The hooks could not start: someone else took the runtime's server
    /// requests ([`HookError::RequestsTaken`]).
    #[error("the hooks cannot start")]
    Hooks(#[source] HookError),
    /// The WebSocket to a running app-server could not be opened: a bad
    /// URL, an unreachable server, a refused upgrade
    /// ([`TransportError::Unauthorized`] for rejected credentials) or a
    /// timeout.
    #[error("failed to connect to the app-server")]
    Connect(#[source] TransportError),
    /// The connection was lost and the client's
    /// [`ReconnectPolicy`](crate::ReconnectPolicy) or
    /// [`RestartPolicy`](crate::RestartPolicy) gave up getting it back:
    /// every attempt failed, or the new server's version was refused
    /// ([`ClientError::is_version_refusal`] on `last`). Every run, ask and
    /// session after that fails with it.
    #[error("gave up reconnecting to codex after {attempts} attempts")]
    GaveUp {
        /// The attempts made.
        attempts: u32,
        /// Why the last one failed.
        #[source]
        last: Arc<ClientError>,
    },
    /// The task that reconnects the client ended before it finished: a
    /// [`Connector`](crate::Connector) panicked, or the tokio runtime the
    /// client was started on shut down. It comes as the `last` error of
    /// [`ClientError::GaveUp`].
    #[error(
        "the reconnecting task ended before it finished (a connector panicked, or its tokio runtime shut down)"
    )]
    ReconnectAborted,
    /// A call that starts background work (such as
    /// [`Session::schedule`](crate::Session::schedule)) was made outside a
    /// tokio runtime.
    #[error("this call must be made inside a tokio runtime")]
    NoRuntime,
    /// A method of the [`blocking`](crate::blocking) API was called inside
    /// a tokio runtime, where waiting would stall the runtime's thread
    /// (tokio refuses it with a panic); nothing was done. Use the async
    /// [`Client`](crate::Client) there, or call from a thread outside the
    /// runtime.
    #[cfg(feature = "blocking")]
    #[error("the blocking API cannot wait inside an async runtime; use the async client there")]
    InsideAsyncRuntime,
    /// The tokio runtime of a
    /// [`blocking::Client`](crate::blocking::Client) could not be started:
    /// the system refused its threads.
    #[cfg(feature = "blocking")]
    #[error("cannot start the blocking client's runtime")]
    BlockingRuntime(#[source] std::io::Error),
    /// An argument of a call was refused before anything was sent: an
    /// empty command, a blank API key or key path, and the like.
    #[error("`{method}`: {argument} {problem}")]
    InvalidArgument {
        /// The wire method the call would have sent.
        method: &'static str,
        /// The argument, as the wire names it.
        argument: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A path was refused before anything was sent: codex takes paths
    /// that are absolute and UTF-8 (it reads them on its own machine, so
    /// the client does not resolve relative ones).
    #[error("`{method}`: the path {path:?} {problem}")]
    InvalidPath {
        /// The wire method the call would have sent.
        method: &'static str,
        /// The path as given.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A field is set that the connected codex does not know; refused
    /// before anything was sent, since codex ignores fields it does not
    /// know and would answer as if it were not set.
    #[error(
        "`{method}`: the field `{field}` needs codex {since} or newer, and the server is {version}"
    )]
    FieldUnavailable {
        /// The wire method.
        method: &'static str,
        /// The field, as the wire names it.
        field: &'static str,
        /// The first version that has it.
        since: Version,
        /// The server's version.
        version: Version,
    },
    /// Following a listing's cursors, more pages remained after the limit
    /// the caller set.
    #[error("`{method}` had more pages after {pages}")]
    TooManyPages {
        /// The wire method.
        method: &'static str,
        /// The pages read.
        pages: usize,
    },
    /// The output of a [`command/exec`](crate::Exec::start) that the
    /// caller did not read yet went past
    /// [`MAX_BUFFERED_OUTPUT`](crate::ExecStream::MAX_BUFFERED_OUTPUT);
    /// the process was asked to terminate.
    #[error("process {process_id} wrote more than {limit} bytes that were not read")]
    ExecOutputOverflow {
        /// The process id of the command.
        process_id: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// codex answered with data that should be base64 and is not.
    #[error("`{method}`: the answer's data is not base64")]
    UndecodableBase64 {
        /// The wire method.
        method: &'static str,
    },
    /// The task that follows a streamed command ended before the
    /// command's result: its tokio runtime shut down.
    #[error("the task following process {process_id} ended before its result")]
    ExecFollowerEnded {
        /// The process id of the command.
        process_id: String,
    },
    /// codex answered a login of one kind with a login of another.
    #[error("asked for a {requested:?} login, codex started one of type {answered:?}")]
    UnexpectedLogin {
        /// The type asked for.
        requested: &'static str,
        /// The type codex answered with (empty when it has none).
        answered: String,
    },
    /// Any other failure of the runtime.
    #[error(transparent)]
    Runtime(CoreError),
}

impl From<HookError> for ClientError {
    fn from(error: HookError) -> Self {
        ClientError::Hooks(error)
    }
}

impl ClientError {
    /// Whether the handshake could not vouch for the server: its version
    /// is refused by the [`CompatibilityGuard`](crate::CompatibilityGuard)
    /// or cannot be read. A reconnecting client stops at such an error.
    pub fn is_version_refusal(&self) -> bool {
        match self {
            ClientError::MissingInitializeUserAgent
            | ClientError::InvalidInitializeUserAgent { .. }
            | ClientError::IncompatibleCodexVersion { .. }
            | ClientError::CodexNewerThanKnown { .. } => true,
            ClientError::CompatibilityValidationWithShutdown { compatibility, .. } => {
                compatibility.is_version_refusal()
            }
            _ => false,
        }
    }

    /// The runtime's error, when this is one.
    pub fn as_runtime(&self) -> Option<&CoreError> {
        match self {
            ClientError::Runtime(error) => Some(error),
            _ => None,
        }
    }

    /// Why the connection closed, when the error is that it is gone: codex's
    /// exit status and stderr tail, or the WebSocket's close frame. For
    /// [`ClientError::GaveUp`], the report of the last attempt, if it has
    /// one.
    pub fn close_report(&self) -> Option<&Arc<CloseReport>> {
        match self {
            ClientError::Runtime(error) => error.close_report(),
            ClientError::Connect(TransportError::Closed(report)) => Some(report),
            ClientError::GaveUp { last, .. } => last.close_report(),
            _ => None,
        }
    }

    /// Whether the same call may succeed if tried again later, knowing
    /// that nothing was done: the server refused the request because it
    /// was overloaded ([`CoreError::Overloaded`]), or the connection could
    /// not be opened (the server could not be reached, or not in time).
    /// Everything else is `false`: a refusal, a version or credentials
    /// problem, a lost connection or a timeout (the server may have acted
    /// on the request), a client that gave up.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Runtime(error) => error.is_retryable(),
            ClientError::Connect(error) => matches!(
                error,
                TransportError::Connect { .. } | TransportError::ConnectTimeout { .. }
            ),
            _ => false,
        }
    }
}

impl From<CoreError> for ClientError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::MissingUserAgent => ClientError::MissingInitializeUserAgent,
            CoreError::InvalidUserAgent { user_agent } => {
                ClientError::InvalidInitializeUserAgent { user_agent }
            }
            CoreError::IncompatibleVersion {
                detected,
                required,
                user_agent,
            } => ClientError::IncompatibleCodexVersion {
                detected,
                required,
                user_agent,
            },
            CoreError::NewerThanKnown {
                detected,
                newest_known,
                user_agent,
            } => ClientError::CodexNewerThanKnown {
                detected,
                newest_known,
                user_agent,
            },
            CoreError::CompatibilityValidationWithShutdown {
                compatibility,
                shutdown,
            } => ClientError::CompatibilityValidationWithShutdown {
                compatibility: Box::new(ClientError::from(*compatibility)),
                shutdown,
            },
            other => ClientError::Runtime(other),
        }
    }
}

/// Why a prompt (a [`run`](crate::Client::run) or an
/// [`ask`](crate::Session::ask)) did not complete.
///
/// A turn that ended `failed` or `interrupted` is an error: `Ok` always
/// means the turn completed. The error keeps the whole
/// [`PromptRunResult`] (items, usage, partial text, the error info) for
/// inspection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptRunError {
    /// The prompt is blank and carries no attachment; nothing was sent.
    #[error("the prompt is empty")]
    EmptyPrompt,
    /// The turn ended with status `failed`; [`PromptRunResult::error`] holds
    /// codex's error with its `codexErrorInfo`.
    #[error("turn {} of thread {} failed: {}", result.turn_id, result.thread_id, failure_message(result))]
    Failed {
        /// What the turn produced.
        result: Box<PromptRunResult>,
    },
    /// The turn ended with status `interrupted`.
    #[error("turn {} of thread {} was interrupted", result.turn_id, result.thread_id)]
    Interrupted {
        /// What the turn produced before it stopped.
        result: Box<PromptRunResult>,
    },
    /// The turn did not end within its timeout; it was asked to stop.
    #[error("turn {turn_id} of thread {thread_id} did not end within {timeout:?}")]
    TimedOut {
        /// The thread.
        thread_id: String,
        /// The turn.
        turn_id: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// The turn ended with a status this version does not know.
    #[error("turn {} of thread {} ended with the unexpected status {}", result.turn_id, result.thread_id, result.status)]
    UnexpectedStatus {
        /// What the turn produced.
        result: Box<PromptRunResult>,
    },
    /// A PreRun or PreTurn hook blocked the prompt, or failed; nothing of
    /// the blocked step was sent.
    #[error(transparent)]
    Blocked(#[from] Blocked),
    /// The turn completed, but its final answer is not the JSON value
    /// asked for (`Client::run_json` and `Session::ask_json`, with the
    /// `schemars` feature); the error keeps the whole answer.
    #[error(transparent)]
    InvalidOutput(#[from] OutputError),
    /// Starting the thread or the turn, or waiting for it, failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl PromptRunError {
    /// What the turn produced, when it ended.
    pub fn result(&self) -> Option<&PromptRunResult> {
        match self {
            PromptRunError::Failed { result }
            | PromptRunError::Interrupted { result }
            | PromptRunError::UnexpectedStatus { result } => Some(result),
            _ => None,
        }
    }

    /// codex's error of a failed turn, with its `codexErrorInfo`.
    pub fn turn_error(&self) -> Option<&TurnError> {
        self.result()?.error.as_ref()
    }

    /// Why the connection closed, when the prompt failed because it is
    /// gone (see [`ClientError::close_report`]).
    pub fn close_report(&self) -> Option<&Arc<CloseReport>> {
        match self {
            PromptRunError::Client(error) => error.close_report(),
            _ => None,
        }
    }

    /// Whether asking again later may succeed: when
    /// [`ClientError::is_retryable`] holds (nothing was sent, or the
    /// server refused it as overloaded), or when the turn failed because
    /// of the model's service in a way that passes: codex reports it
    /// overloaded, rate limited or failing (`serverOverloaded`,
    /// `rateLimitExceeded`, `internalServerError`), or the connection to
    /// it failed or dropped (`httpConnectionFailed`,
    /// `responseStreamConnectionFailed`, `responseStreamDisconnected`).
    /// A retried turn is a new turn: whatever the model did in the failed
    /// one (commands, file changes) is not undone. A timeout, an
    /// interrupt, a block, a usage limit or a policy refusal is `false`.
    pub fn is_retryable(&self) -> bool {
        match self {
            PromptRunError::Client(error) => error.is_retryable(),
            PromptRunError::Failed { result } => result
                .error
                .as_ref()
                .and_then(|error| error.codex_error_info.as_ref())
                .is_some_and(passes),
            _ => false,
        }
    }
}

/// Whether a turn failure of this kind may pass.
fn passes(info: &CodexErrorInfo) -> bool {
    matches!(
        info,
        CodexErrorInfo::ServerOverloaded
            | CodexErrorInfo::RateLimitExceeded
            | CodexErrorInfo::InternalServerError
            | CodexErrorInfo::HttpConnectionFailed { .. }
            | CodexErrorInfo::ResponseStreamConnectionFailed { .. }
            | CodexErrorInfo::ResponseStreamDisconnected { .. }
    )
}

impl From<CoreError> for PromptRunError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::TurnDeadline {
                thread_id,
                turn_id,
                deadline,
            } => PromptRunError::TimedOut {
                thread_id,
                turn_id,
                timeout: deadline,
            },
            other => PromptRunError::Client(ClientError::from(other)),
        }
    }
}

fn failure_message(result: &PromptRunResult) -> &str {
    result
        .error
        .as_ref()
        .map_or("codex gave no reason", |error| error.message.as_str())
}

#[cfg(test)]
mod tests;
