//! Drive OpenAI Codex from Rust through `codex app-server`: one-shot
//! prompts, multi-turn sessions with streamed answers, and thread
//! management, on top of the [`codexrt_core`] runtime.
//!
//! ```no_run
//! use codexrt::{Client, SessionConfig, SessionEvent};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect_default().await?;
//! let answer = client.run(".", "Summarize this repository in one line").await?;
//! println!("{}", answer.text());
//!
//! let session = client.start_session(SessionConfig::new(".")).await?;
//! session.ask("Which crates does it have?").await?;
//! let mut stream = session.ask_stream("And which one is the facade?").await?;
//! while let Some(event) = stream.next().await {
//!     match event {
//!         SessionEvent::TextDelta { delta, .. } => print!("{delta}"),
//!         SessionEvent::Finished(outcome) => println!("\n({:?})", outcome?.usage),
//!         _ => {}
//!     }
//! }
//! client.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # The pieces
//!
//! - [`Client`] — [`connect_default`](Client::connect_default),
//!   [`connect`](Client::connect) with a [`ClientConfig`] (which starts
//!   codex, or connects to a running app-server over a
//!   [`WebSocketTransport`] given to [`ClientConfig::websocket`], with
//!   [`WebSocketAuth`] credentials), [`connect_url`](Client::connect_url)
//!   for a `ws://` or `unix://` URL, or
//!   [`connect_with`](Client::connect_with) over any transport
//!   [`Connection`]; [`run`](Client::run),
//!   [`run_with_profile`](Client::run_with_profile) and
//!   [`run_with`](Client::run_with) for one prompt in a new thread;
//!   [`start_session`](Client::start_session) and
//!   [`resume_session`](Client::resume_session);
//!   [`threads`](Client::threads) to list, read, archive, unarchive and
//!   rename stored threads; the rest of the protocol through typed
//!   handles (below); [`runtime`](Client::runtime) for everything else
//!   (any typed call, the server's requests, all notifications);
//!   [`shutdown`](Client::shutdown).
//! - The protocol's other calls, each a handle borrowed from the client:
//!   [`account`](Client::account) ([`Account`]: read it, log in with an
//!   API key or through ChatGPT, cancel a login, log out, rate limits);
//!   [`models`](Client::models) ([`Models`]: a page, or all of them within
//!   a page limit); [`exec`](Client::exec) ([`Exec`]: an
//!   [`ExecCommand`] run by codex in a read-only sandbox unless it says
//!   otherwise, buffered or as an [`ExecStream`] of [`ExecEvent`]s with
//!   stdin, resize and terminate); [`fs`](Client::fs) ([`Fs`]: files on
//!   codex's machine); [`review`](Client::review) ([`Review`]: a review
//!   as a [`TurnHandle`] of a thread); [`codex_config`](Client::codex_config)
//!   ([`CodexConfig`]: codex's own configuration, read and written);
//!   [`mcp`](Client::mcp) ([`Mcp`]: MCP servers' status, reload). Bad
//!   input (an empty command, a relative path, a blank key) and fields the
//!   connected codex is too old for are refused before anything is sent.
//! - [`RunProfile`] — model, reasoning effort, sandbox, approval policy,
//!   timeout, output schema (see [Structured output](#structured-output)),
//!   images and other inputs of a prompt.
//! - [`Session`] — [`ask`](Session::ask), [`ask_stream`](Session::ask_stream)
//!   (an [`AskStream`] of [`SessionEvent`]s ending in the outcome, read
//!   with its `next` or as a [`futures_core::Stream`]),
//!   [`interrupt`](Session::interrupt), [`steer`](Session::steer),
//!   [`fork`](Session::fork), [`read`](Session::read),
//!   [`close`](Session::close), and [`schedule`](Session::schedule) for
//!   a prompt sent again every period ([`automation`]).
//!
//! - [`Pool`] — runs and sessions over several app-servers
//!   ([`PoolEndpoint`]s in a [`PoolConfig`]): each new one on the least
//!   loaded healthy endpoint, a bounded number per endpoint with fair
//!   waiting, lost endpoints retried with [`Backoff`], figures in
//!   [`Pool::stats`]; sessions are [`PooledSession`]s.
//!
//! # Streams
//!
//! Everything that arrives over time is a [`futures_core::Stream`] as well
//! as having an inherent `next`/`recv`: [`AskStream`], [`ExecStream`],
//! [`ConnectionEvents`], and the runtime's turn events
//! ([`TurnEvents`]), server requests
//! ([`ServerRequestReceiver`]) and
//! observers ([`EventReceiver`]). So the
//! adapters of `futures`' `StreamExt` (or `tokio-stream`) and
//! `tokio::select!` over several streams work on them directly. Every
//! poll is cancel safe: an item leaves its queue only in the poll that
//! returns it, so a `select!` branch that loses takes nothing with it.
//! The `streams` example reads two sessions side by side.
//!
//! # Cancellation
//!
//! Dropping a call never leaves a turn behind. A [`Session::ask`] future,
//! an [`AskStream`] dropped before [`SessionEvent::Finished`], or a
//! [`Client::run_with`] future dropped while its turn runs interrupts that
//! turn from a task on the runtime (`turn/interrupt`, at most 10 s, a
//! warning in the log if it fails). The session keeps the turn as its
//! running one until codex ended it, so [`Session::interrupt`] still
//! applies to it; and since codex would fold a new `turn/start` into a
//! running turn, a session runs one turn at a time: a new ask waits until
//! the running turn ended, and waiting asks go in order. Should codex
//! answer a `turn/start` with a turn that is already running anyway (one
//! started by another client), the ask fails with
//! [`CoreError::TurnAlreadyStarted`] instead of joining it. Every async
//! method says what dropping it does in its `# Cancel safety` section.
//!
//! # Results and errors
//!
//! A prompt returns `Ok(`[`PromptRunResult`]`)` only when its turn
//! completed. A turn that ended `failed` or `interrupted` is an `Err`
//! ([`PromptRunError::Failed`], [`PromptRunError::Interrupted`]) that still
//! carries the whole result, with codex's error and its `codexErrorInfo` in
//! [`PromptRunResult::error`]; a turn past its timeout is
//! [`PromptRunError::TimedOut`]. Connecting and calls fail with
//! [`ClientError`], whose handshake variants say why codex was refused
//! ([`ClientError::IncompatibleCodexVersion`] names the detected and
//! required versions) and whose [`ClientError::Runtime`] keeps the
//! runtime's kinds apart: the server said no, the connection is gone (with
//! codex's exit status and stderr), a timeout, an answer that cannot be read.
//!
//! What a turn did is in [`PromptRunResult::items`];
//! [`commands`](PromptRunResult::commands),
//! [`file_changes`](PromptRunResult::file_changes),
//! [`messages`](PromptRunResult::messages) and
//! [`tool_calls`](PromptRunResult::tool_calls) read them as borrowed,
//! typed [`views`], without a match on the item kinds.
//!
//! # Defaults
//!
//! What the facade does when you say nothing, all in one place:
//!
//! - **Sandbox: read-only.** Every thread it starts, resumes or forks is
//!   sent `sandbox: "read-only"` unless the [`RunProfile`] or
//!   [`SessionConfig`] sets another [`SandboxMode`](protocol::types::SandboxMode),
//!   whatever codex's own configuration says.
//! - **Approvals: declined unless you answer.** The approval policy is left
//!   to codex's configuration unless set, or unless PreToolUse hooks apply
//!   (then `untrusted`, see [Hooks](#hooks)). The facade answers the server's
//!   requests only through hooks you registered (see [Hooks](#hooks)): an
//!   approval, permission request, question or tool call no hook answers
//!   gets the runtime's safe answer (decline, grant nothing, no input, a
//!   failed call), at once when nobody took [`Runtime::server_requests`],
//!   else when it is not answered within the server-request deadline.
//! - **Finite time limits:** a turn 10 minutes
//!   ([`ClientConfig::DEFAULT_TURN_TIMEOUT`], then it is interrupted and
//!   reported as [`PromptRunError::TimedOut`]); a turn's inactivity
//!   watchdog 30 s ([`ClientConfig::DEFAULT_TURN_INACTIVITY`]: after a
//!   quiet period the client asks codex with `thread/read` whether the
//!   turn ended, so a lost `turn/completed` costs one to two periods, not
//!   the whole timeout); a request 60 s; a server
//!   request's answer 60 s; each step of the shutdown ladder 5 s; opening
//!   a WebSocket (connect and upgrade) 10 s.
//! - **codex:** `CODEX_BIN`, else `codex` on `PATH`, started as
//!   `codex app-server` with the caller's environment; client info
//!   `codexrt` and this crate's version; the stable API (experimental
//!   methods and fields are refused locally); versions accepted from
//!   [`CompatibilityGuard::default`] up, and one newer than
//!   [`newest_known_version`] with a warning (see
//!   [`ServerInfo::newer_than_known`]).
//! - **Connection loss ends the client.** Without a [`RestartPolicy`]
//!   ([`ClientConfig::restart`]) or [`ReconnectPolicy`]
//!   ([`ClientConfig::reconnect`]) nothing is reopened; with one, up to
//!   10 attempts with waits from 125–250 ms doubling to at most 30 s.
//!   Nothing in flight is ever sent again. A WebSocket pings the server
//!   every 30 s and closes when it is silent for 20 s after a ping.
//! - **Everything else** (model, reasoning effort, output format) is left
//!   to codex's configuration.
//!
//! # Hooks
//!
//! Policy and integrations go in [`HookSet`]s from the [`hooks`] crate:
//! lifecycle hooks, tool-use hooks, user-input and elicitation hooks,
//! event observers and dynamic tools. There are three places for them:
//!
//! - [`ClientConfig::hooks`] — for everything the client runs;
//! - [`RunProfile::hooks`] — for the thread of each run with that profile;
//! - [`SessionConfig::hooks`] — for the session's thread (and its forks).
//!
//! Where both apply, the client's hooks come first: a chain is the
//! client's matching hooks in registration order, then the profile's or
//! session's, and the first hook that blocks or decides wins.
//!
//! **Lifecycle.** [`Client::run_with`] runs PreRun, then (after
//! `thread/start`) PreTurn, and once the turn ended PostTurn and PostRun;
//! [`Client::start_session`], [`Client::resume_session`] and
//! [`Session::fork`] run PreSessionStart and PostSessionStart; every
//! [`Session::ask`] and [`Session::ask_stream`] runs PreTurn and PostTurn.
//! A pre hook sees the [`Plan`](hooks::Plan) — prompt (none before a
//! session starts), model, reasoning effort, working directory, sandbox,
//! approval policy, output schema, extra context — and may change it or
//! block; a block, or a pre hook that fails, ends the call with
//! [`PromptRunError::Blocked`] or [`ClientError::Blocked`] before the step
//! is sent. What PreRun and PreSessionStart change goes into
//! `thread/start`; what PreTurn changes goes into that `turn/start`, where
//! codex keeps a new model, working directory, approval policy or sandbox
//! for the thread's later turns. Extra context is sent as text after the
//! prompt. Post hooks see the outcome; PostTurn runs after the post-tool
//! hooks saw the turn's last items, and before the call returns.
//!
//! **Approval loop.** When some hook answers server requests (PreToolUse,
//! user input, elicitation), declares a tool, or watches events, the
//! client takes [`Runtime::server_requests`] once and answers them through
//! the hooks for as long as it lives: at connect time for the client's own
//! hooks, else at the first run or session whose hooks need it. From then
//! on, requests nobody's hook decides get their safe answer, as before;
//! taking the server requests yourself as well fails with
//! [`ClientError::Hooks`].
//!
//! **When codex asks.** codex sends an approval request only when its
//! approval policy says so; under `never`, or under a policy in its
//! configuration that trusts the sandbox, PreToolUse hooks would never be
//! asked. So when PreToolUse hooks apply to a new, resumed or forked thread
//! (the client's, or the profile's or session's) and the
//! [`RunProfile::approval_policy`] / [`SessionConfig::approval_policy`] is
//! not set, the facade starts the thread with `approvalPolicy: "untrusted"`:
//! codex then asks before every command that is not on its list of
//! known-safe read-only ones, and before writes the sandbox does not allow,
//! and the hooks decide. That is the only thing it changes, and a pre hook
//! sees it in the plan (and may change it). A policy you set explicitly is
//! sent as it is, `never` included: then codex asks nothing and the hooks
//! decide nothing.
//!
//! **Dynamic tools.** The tools of the client's and the profile's or
//! session's hooks are declared in `thread/start` (`dynamicTools`, an
//! experimental field: the client needs
//! [`ClientConfig::enable_experimental_api`], or the start is refused
//! locally with [`CoreError::ExperimentalApiRequired`]). Resumed threads
//! keep what codex stored; their calls are still answered.
//!
//! Hook failures (errors, timeouts, panics) never approve anything; they
//! are collected in [`Client::hook_report`] (the client's hooks) and in
//! each [`HookSet::report`] of a profile or session.
//!
//! # Observability
//!
//! The crates report through `tracing`, with spans that show which work
//! belongs to which connection, thread, turn and request:
//! `codexrt.connection` > `codexrt.thread` (each run's and session's
//! thread; [`Session::span`]) > `codexrt.turn` ([`TurnHandle::span`]) >
//! `codexrt.request` (each call, with its `outcome` and `duration_ms`) and
//! `codexrt.server_request` (with the `decision` and the deciding `hook`).
//! Without a subscriber they cost nothing worth measuring; peer text in
//! their fields and in log lines is redacted and bounded. The repository's
//! `docs/observability.md` lists every span and field, the log lines, and
//! how to show them with `tracing-subscriber` or export them to
//! OpenTelemetry; the `tracing` example runs one prompt and prints its
//! spans.
//!
//! # Boundaries
//!
//! The facade adds ergonomics, not behaviour: every wire decision is the
//! runtime's ([`codexrt_core`]) or a hook's ([`hooks`]), and its own defaults
//! are the ones under [Defaults](#defaults). It re-exports what most programs need
//! ([`protocol`], [`hooks`], [`transport`], the runtime's [`Runtime`],
//! [`RuntimeConfig`], [`CoreError`], [`CompatibilityGuard`], turns
//! ([`TurnHandle`], [`TurnEvent`]), server requests
//! ([`PendingServerRequest`]), observers ([`RuntimeEvent`]), the
//! transport's [`Connection`] and [`CloseReport`], and the crates
//! [`semver`], [`serde_json`] and [`async_trait`](macro@async_trait)), so
//! that `codexrt` and `tokio` are the only dependencies a program needs
//! (besides what it brings itself, such as `serde`'s derive or a stream
//! library's `StreamExt`); for anything else, [`Client::runtime`] is the
//! runtime itself. The repository's `docs/` folder has guides on hooks,
//! compatibility, testing and observability.
//!
//! # Without an async runtime
//!
//! With the `blocking` feature, [`blocking::Client`] and
//! [`blocking::Session`] mirror [`Client`] and [`Session`] with methods
//! that block the calling thread, in the manner of `reqwest::blocking`:
//! the client owns a small multi-thread tokio runtime where the connection,
//! the approval loop and the hooks keep running between calls, and an
//! ask's stream is an [`Iterator`] ([`blocking::AskStream`]). Results and
//! errors are the async API's; called inside a tokio runtime, a blocking
//! method returns [`ClientError::InsideAsyncRuntime`] instead of blocking
//! it. The `blocking` example is a whole program.
//!
//! # Structured output
//!
//! [`RunProfile::output_schema`] (or [`SessionConfig::output_schema`])
//! asks for a final answer that follows a JSON Schema, and
//! [`PromptRunResult::parse`] reads that answer into any
//! `serde::de::DeserializeOwned` type; an answer that does not fit is an
//! [`OutputError`] that keeps it whole. The schema is checked before
//! anything is sent with it: one that is not a valid JSON Schema fails the
//! run, session or ask with [`ClientError::InvalidOutputSchema`], and no
//! `$ref` is ever fetched. With the `schemars` feature the schema can come
//! from a Rust type: `RunProfile::output_type::<T>()`,
//! `Client::run_json::<T>()` and `Session::ask_json::<T>()` send the schema
//! schemars derives for `T`, closed as OpenAI's strict structured outputs
//! want (`output_schema_for::<T>()` shows it), and the last two return the
//! answer as a `T`. The `structured_output` example uses them.
//!
//! # Feature flags
//!
//! - `blocking` (off by default): the [`blocking`] module. It turns on
//!   tokio's `rt-multi-thread`, which the async API leaves to the program
//!   (a program using `#[tokio::main]` enables it already); off, an async
//!   program builds nothing it does not use.
//! - `schema-check` (on by default): output schemas are checked as JSON
//!   Schema (with the `jsonschema` crate, built without HTTP or file
//!   retrieval) before they are sent. Without it they are sent as they
//!   are.
//! - `schemars` (off by default): typed structured output, as above.

mod account;
mod args;
pub mod automation;
#[cfg(feature = "blocking")]
pub mod blocking;
mod cancel;
mod client;
mod codex_config;
mod config;
mod cwd;
mod daemon;
mod error;
pub mod exec;
mod fs;
mod link;
mod mcp;
mod models;
mod output;
mod policy;
mod pool;
mod profile;
mod reconnect;
mod review;
mod run;
mod session;
mod stream;
mod threads;
pub mod views;

pub use account::{Account, ChatgptLogin, DeviceCodeLogin};
pub use client::Client;
pub use codex_config::CodexConfig;
pub use config::ClientConfig;
pub use daemon::daemon_socket_path;
pub use error::{ClientError, PromptRunError};
pub use exec::{Exec, ExecCommand, ExecEvent, ExecStream};
pub use fs::Fs;
pub use mcp::Mcp;
pub use models::Models;
pub use output::OutputError;
#[cfg(feature = "schemars")]
pub use output::output_schema_for;
pub use pool::{
    Backoff, EndpointError, EndpointFailure, EndpointState, EndpointStats, Pool, PoolConfig,
    PoolEndpoint, PoolError, PoolStats, PooledSession,
};
pub use profile::{RunProfile, SessionConfig};
pub use reconnect::{
    ConnectFuture, ConnectionEvent, ConnectionEvents, Connector, ReconnectPolicy, RestartPolicy,
};
pub use review::Review;
pub use run::{PromptRunParams, PromptRunResult};
pub use session::Session;
pub use stream::{AskStream, SessionEvent};
pub use threads::Threads;

/// The attribute a [`ToolUseHook`](hooks::ToolUseHook) (or any hook trait)
/// implementation needs on its `impl` block.
pub use async_trait::async_trait;
pub use codexrt_core::{
    CompatibilityGuard, CoreError, EventFilter, EventReceiver, PendingServerRequest, Runtime,
    RuntimeConfig, RuntimeEvent, ServerInfo, ServerRequestHandle, ServerRequestReceiver,
    StreamDelta, StreamKind, StreamedText, TimeoutCause, TurnEvent, TurnEvents, TurnHandle,
    TurnOptions, TurnOutcome, TurnTimings, newest_known_version,
};
/// Hooks: lifecycle and tool-use hooks, matchers, built-in policies and
/// dynamic tools.
pub use codexrt_hooks as hooks;
pub use codexrt_hooks::{Blocked, HookSet};
/// The typed wire protocol: params, responses, items and notifications.
pub use codexrt_protocol as protocol;
/// The transport layer: connections, close reports, WebSocket credentials
/// and [`TransportError`](transport::TransportError).
pub use codexrt_transport as transport;
pub use codexrt_transport::{
    CloseReport, Connection, EnvPolicy, SignedBearer, WebSocketAuth, WebSocketTransport,
};
/// Versions, for [`CompatibilityGuard::minimum`] and
/// [`ServerInfo::version`].
pub use semver;
/// JSON values, for output schemas, dynamic tools' schemas and raw params.
pub use serde_json;

/// The README's Rust code, compiled as doctests so the quickstart cannot
/// drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
