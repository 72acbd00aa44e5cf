//! The codexrt runtime: one conversation with `codex app-server`, from
//! spawn or connect through the handshake and version check to shutdown,
//! with typed calls and fail-closed answers to the server's requests.
//!
//! ```no_run
//! use codexrt_core::{PendingServerRequest, Runtime, RuntimeConfig};
//! use codexrt_protocol::types::ThreadStartParams;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), codexrt_core::CoreError> {
//! // `codex` from `CODEX_BIN` or `PATH`, `codex app-server`, handshake,
//! // version check (0.150.0 or newer by default).
//! let runtime = Runtime::spawn(RuntimeConfig::new("my-app", "1.0.0")).await?;
//! println!("connected to codex {}", runtime.server_info().version);
//!
//! let mut requests = runtime.server_requests().expect("taken once");
//! tokio::spawn(async move {
//!     while let Some(request) = requests.recv().await {
//!         // Anything not answered (here: everything but commands) gets the
//!         // safe answer when the handle is dropped.
//!         if let PendingServerRequest::CommandExecutionApproval(approval) = request {
//!             println!("declining {:?}", approval.params().command);
//!             let _ = approval.decline();
//!         }
//!     }
//! });
//!
//! let thread = runtime.call(ThreadStartParams::default()).await?;
//! println!("thread {}", thread.thread.id);
//! runtime.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Handshake and versions
//!
//! [`Runtime::spawn`] starts `<program> app-server` (the program is
//! [`RuntimeConfig::program`], else `CODEX_BIN`, else `codex` on `PATH`);
//! [`Runtime::connect`] takes a connection of any transport. Both send
//! `initialize` (client info, `experimentalApi` when opted in,
//! `optOutNotificationMethods`), read the version right after the first `/`
//! of the `userAgent` ([`parse_user_agent`]), check it against the
//! [`CompatibilityGuard`], and send `initialized`. A server that fails the
//! check is shut down before the error is returned. A server newer than
//! [`newest_known_version`] is accepted with one `tracing` warning and
//! [`ServerInfo::newer_than_known`] set: the newest known method table
//! applies, and whatever this crate does not know arrives raw in `Unknown`
//! arms ([`CompatibilityGuard::refuse_newer_than_known`] refuses it
//! instead).
//!
//! [`Runtime::call`] refuses, without sending anything, a method the
//! server's version does not have ([`CoreError::MethodUnavailable`]) and an
//! experimental method or field when the runtime did not opt into the
//! experimental API ([`CoreError::ExperimentalApiRequired`]).
//!
//! # Errors
//!
//! [`CoreError`] keeps apart the server saying no ([`CoreError::Peer`];
//! [`CoreError::Overloaded`] for -32001, the one [retryable](CoreError::is_retryable)
//! kind), the connection being gone ([`CoreError::Closed`], with the exit
//! status and stderr tail), a timeout ([`CoreError::Timeout`]) and answers
//! that cannot be read ([`CoreError::Decode`], [`CoreError::MalformedResponse`],
//! [`CoreError::FrameTooLarge`] for one over the transport's frame size
//! limit).
//!
//! # Server requests fail closed
//!
//! The router reads everything the server sends unasked, on the rpc loop
//! itself (an [`InboundHandler`](codexrt_rpc::InboundHandler)), and never
//! waits on user code. Each server request is decoded and handed to the user
//! through [`Runtime::server_requests`] (a queue of 64; a full queue means
//! the safe answer at once) as a [`PendingServerRequest`] whose
//! [`ServerRequestHandle`] answers exactly once with the response type of
//! its kind. The runtime sends the **safe answer** of the kind instead when
//! nobody took the stream (at once), the handle is dropped unanswered (at
//! once), the deadline elapses ([`RuntimeConfig::server_request_deadline`],
//! 60 s by default), or the runtime shuts down:
//!
//! | Server request | Safe answer |
//! |---|---|
//! | `item/commandExecution/requestApproval` | `{"decision":"decline"}` |
//! | `item/fileChange/requestApproval` | `{"decision":"decline"}` |
//! | `item/permissions/requestApproval` | `{"permissions":{}}`: nothing granted |
//! | `item/tool/call` | `{"contentItems":[],"success":false}` |
//! | `item/tool/requestUserInput` | `{"answers":{}}`: no input |
//! | `mcpServer/elicitation/request` | `{"action":"decline"}` |
//! | `execCommandApproval` (legacy) | `{"decision":{"denied":{"rejection":..}}}` |
//! | `applyPatchApproval` (legacy) | `{"decision":{"denied":{"rejection":..}}}` |
//! | `account/chatgptAuthTokens/refresh` | error -32603: no tokens are made up |
//! | `attestation/generate` | error -32603: no attestation is made up |
//! | any other method | error -32601 (method not found) |
//!
//! A request whose params do not decode gets the safe answer of its kind.
//! After `serverRequest/resolved` the server no longer waits for an answer:
//! none is sent, and the user's handle can no longer answer
//! ([`CoreError::ServerRequestSettled`]).
//! When the connection dies, waiting handles report
//! [`Settled::ConnectionClosed`]. Work that decides an answer can learn
//! that the runtime settled its request, and stop, from the handle's
//! [`settled`](ServerRequestHandle::settled) signal.
//!
//! A request that repeats the id of one still waiting for its answer is
//! dropped, with a warning and a count in [`RuntimeStats`]: it is not
//! handed to the user and gets no reply, since a reply to it could not be
//! told from the reply to the first, which still gets exactly one. An id
//! whose request was answered or settled may come again: that is a new
//! request.
//!
//! # Turns and events
//!
//! The router decodes every notification and routes it by its `threadId`
//! and `turnId` (or `turn.id`) to the turn's ordered queue; a notification
//! with only a thread id goes to every running turn of that thread.
//! [`Runtime::start_turn`] returns a [`TurnHandle`]:
//! [`events`](TurnHandle::events) streams the turn's [`TurnEvent`]s,
//! [`wait`](TurnHandle::wait) returns the [`TurnOutcome`] (status, final
//! assistant text, completed items, reassembled deltas, token usage, error
//! with `codexErrorInfo`, timings), and [`interrupt`](TurnHandle::interrupt)
//! and [`steer`](TurnHandle::steer) act on it. [`TurnOptions`] add a
//! deadline and an inactivity watchdog that asks `thread/read` whether the
//! turn ended when `turn/completed` does not come.
//!
//! **Nothing about a turn is ever dropped**, however slowly its events are
//! read, or whether they are read at all:
//!
//! - Deltas (agent message, reasoning, reasoning summary, command output,
//!   file-change output, plan) arrive as [`StreamDelta`]s. Once a turn's
//!   queue holds [`TURN_EVENT_CAPACITY`] (256) transient events, each new
//!   delta is joined to the latest queued piece of its own stream instead
//!   of being queued: the reader gets fewer, bigger pieces
//!   ([`StreamDelta::parts`] says how many), and each stream's text joined
//!   is exactly what the server sent. A piece is never joined across a
//!   lifecycle event, so the order of lifecycle events and text is kept.
//! - Every other notification is always queued. Lifecycle events
//!   (`turn/started`, `turn/completed`, `item/started`, `item/completed`,
//!   `error`, `serverRequest/resolved`) come a fixed few per item and per
//!   turn; the rest (token usage, diffs, plans, progress) are few as well.
//!   So a queue's memory is bounded by the turn's own content, not by how
//!   many events the server sent.
//! - Deltas are also reassembled per item for the outcome, which is
//!   complete whatever the reader did. A long answer is not held by the
//!   turn more than once: once its item completes with that very text, the
//!   item holds it alone until the outcome is handed out, and while a
//!   large `item/completed` or `turn/completed` that carries it again is
//!   decoded, the turn lends its own copy to the decoded notification.
//! - Notifications that name the turn and arrive while `turn/start` has
//!   not answered yet are all kept for it and handed to its handle; from the
//!   answer on, in wire order, those about its thread only are the turn's
//!   too (the turn is registered on the rpc loop as the answer is read). For turns nobody is
//!   starting (a turn another client started, a raw `turn/start`), up to 16
//!   turns of 1024 notifications are kept, in case a later `turn/start`
//!   returns one of them.
//! - A turn's reader never holds up anything else: the router does not
//!   wait for any queue, so answers to calls, server requests and other
//!   turns' events go on while one reader sleeps.
//!
//! [`Runtime::events`] (and [`Runtime::events_with`], with an
//! [`EventFilter`]) opens an observer stream of every decoded
//! notification; any number can be open, each with its own queue
//! ([`EVENT_QUEUE_CAPACITY`], 1024, by default). Observers are the one place
//! where events can be lost: one that falls behind gets a
//! [`RuntimeEvent::Lagged`] with the count before its next event, and
//! nothing else is affected. With no observer, nothing is copied for them.
//!
//! When the server process dies, every pending call fails with
//! [`CoreError::Closed`], every running turn's `wait` returns it, and every
//! waiting server request is settled; the error carries the
//! [`CloseReport`](codexrt_transport::CloseReport) with the exit status and
//! the stderr tail.
//!
//! # Retries
//!
//! Opt in with [`Runtime::call_with_retry`] and a [`RetryPolicy`]:
//! exponential backoff with full jitter, only after [`CoreError::Overloaded`]
//! (-32001), and only for methods [`is_idempotent`] calls read-only (last
//! path segment `read` or `list`); `turn/start` and every other method are
//! sent once.
//!
//! # Shutdown
//!
//! [`Runtime::shutdown`] is explicit, bounded by the transport's ladder
//! ([`RuntimeConfig::shutdown_grace`] per step) and idempotent. Dropping the
//! last [`Runtime`] handle (a [`TurnHandle`] holds one) sends the safe answer
//! to every waiting server request and tears the connection down without
//! the ladder.
//!
//! # Tracing
//!
//! The runtime makes `tracing` spans, at `INFO`: `codexrt.connection`
//! ([`Runtime::span`]; `endpoint`, `pid`, `codex_version`), `codexrt.turn`
//! ([`TurnHandle::span`]; `thread_id`, `turn_id`, `model`),
//! `codexrt.request` for each call (`method`, `id`, `outcome`,
//! `duration_ms`) and `codexrt.server_request`
//! ([`ServerRequestHandle::span`]; `kind`, `id`, `decision`, `hook`). A call
//! or a turn is a child of the caller's current span, else of the
//! connection's; a turn's own calls and server requests are the turn's
//! children. There is no span per notification, and without a subscriber
//! nothing is formatted or timed. The repository's `docs/observability.md`
//! describes every field and when it is recorded.
//!
//! # Boundaries
//!
//! The runtime decides nothing for you beyond documented, fail-closed
//! defaults: it never approves a request, and it has no policy of its own.
//! Deciding approvals, answering questions and serving tools through rules is
//! `codexrt-hooks`'s job, and ergonomic entry points (one-shot runs,
//! sessions, defaults such as a read-only sandbox) are the `codexrt` facade's.
//! Below it, `codexrt-rpc` correlates messages and `codexrt-transport` owns
//! the process; the runtime only consumes a
//! [`Connection`](codexrt_transport::Connection).
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features.

mod config;
mod deadlines;
mod delta;
mod error;
mod events;
mod outcome;
mod retry;
mod router;
mod runtime;
mod safe_answer;
mod server_request;
mod spans;
mod stats;
mod sync;
mod turn;
mod turn_table;
mod version;

pub use codexrt_rpc::{CallOptions, TimeoutCause};
pub use config::{CODEX_BIN_ENV, RuntimeConfig};
pub use delta::StreamDelta;
pub use error::CoreError;
pub use events::{EVENT_QUEUE_CAPACITY, EventFilter, EventReceiver, EventWidener, RuntimeEvent};
pub use outcome::{StreamKind, StreamedText, TurnOutcome, TurnTimings, final_text};
pub use retry::{RetryPolicy, is_idempotent};
pub use runtime::{Runtime, RuntimeState};
pub use server_request::{
    PendingServerRequest, RequestDecider, ServerRequestHandle, ServerRequestReceiver, Settled,
    SettledSignal,
};
pub use stats::RuntimeStats;
pub use turn::{TurnEvent, TurnEvents, TurnHandle, TurnOptions};
pub use turn_table::TURN_EVENT_CAPACITY;
pub use version::{CompatibilityGuard, ServerInfo, newest_known_version, parse_user_agent};
