//! Test support for codexrt: run a real `codex app-server` offline, against a
//! scripted model, from an ordinary `cargo test`.
//!
//! - [`ModelServer`]: an HTTP server on `127.0.0.1` that speaks the OpenAI
//!   Responses API the way codex reads it (`POST /v1/responses` answered with
//!   a `text/event-stream`). Each model request takes the next [`Reply`] of a
//!   [`Script`]: a streamed message, a tool call (`exec_command` or any
//!   function tool), an HTTP failure, a stall, or raw events; or a
//!   [`Script::from_fn`] closure decides from the [`ModelRequest`] codex sent.
//!   Every request is recorded for assertions, and a script that runs out
//!   answers HTTP 500 and records a [`ScriptError`] instead of hanging.
//! - [`CodexInstall`]: finds a codex version in a shared cache
//!   (`<target>/codex/<version>` by default, or [`CODEX_CACHE_ENV`]) or
//!   installs it there with npm, safely under concurrency.
//! - [`Codex`]: that binary with an isolated [`CodexHome`] whose
//!   `config.toml` ([`mock_config_toml`]) points at the model server, an empty
//!   workspace folder, and the
//!   [`StdioTransport`](codexrt_transport::StdioTransport) (or the plain
//!   [`CodexCommand`]) that starts `codex app-server`.
//! - [`fake`]: a scripted app-server for the behaviours the real binary will
//!   not produce on demand: garbage lines, truncated frames, reordered or
//!   duplicate answers, notification and stderr floods, dying mid-turn,
//!   ignoring SIGTERM. It runs in-process over the memory transport
//!   ([`fake::FakeServer`]) or as a child process ([`fake::run_stdio`] from a
//!   small binary of your own, with the script as a JSON file).
//! - [`record`] and [`replay`]: transports that wrap or stand in for another.
//!   The recorder writes every frame as a JSONL [`Transcript`] line
//!   (`{"dir":"out"|"in","msg":{...}}`, from the client's side); the replay
//!   serves the recorded `in` lines and fails on the first `out` line that
//!   differs, mapping request ids and ignoring volatile values (timestamps,
//!   generated ids, temporary paths) through a rule-based [`Normalizer`].
//! - [`Golden`]: golden transcript files, compared normalized; with
//!   [`UPDATE_GOLDEN_ENV`] set a differing file is rewritten and the check
//!   still fails, so an update is never silently green.
//! - [`TempDir`]: a folder removed on drop.
//!
//! # A test of your own
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use codexrt_rpc::{Incoming, RpcClient, RpcConfig};
//! use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
//! use serde_json::{Value, json};
//!
//! // Mark it `#[tokio::test]` in your integration tests (the attribute is left
//! // out here only because doctests drop `#[test]` functions uncompiled).
//! async fn codex_runs_an_approved_command() -> Result<(), Box<dyn std::error::Error>> {
//!     // The model asks for a command, then answers once it has run.
//!     let model = ModelServer::start(Script::replies([
//!         Reply::exec_command("touch made-by-codex.txt"),
//!         Reply::message("Done."),
//!     ]))
//!     .await?;
//!     let codex = Codex::new(CodexInstall::new("0.169.0").install().await?, &model)?;
//!     let spawned = codex.app_server().spawn().await?;
//!     let (client, mut incoming) = RpcClient::start(spawned.connection, RpcConfig::new());
//!
//!     let client_info = json!({"clientInfo": {"name": "my-tests", "version": "1.0.0"}});
//!     let _: Value = client.call("initialize", client_info).await?;
//!     client.notify("initialized", ()).await?;
//!     // A writable workspace: under the default read-only sandbox even an
//!     // approved command may fail to write.
//!     let thread_params = json!({"cwd": codex.workspace(), "sandbox": "workspace-write"});
//!     let thread: Value = client.call("thread/start", thread_params).await?;
//!     let _: Value = client
//!         .call(
//!             "turn/start",
//!             json!({
//!                 "threadId": thread["thread"]["id"],
//!                 "input": [{"type": "text", "text": "make a file"}],
//!                 "approvalPolicy": "untrusted",
//!             }),
//!         )
//!         .await?;
//!
//!     while let Some(item) = incoming.recv().await {
//!         match item {
//!             // `item/commandExecution/requestApproval`: let it run.
//!             Incoming::Request(request) => {
//!                 let (_params, responder) = request.into_parts();
//!                 responder.respond(json!({"decision": "accept"}))?;
//!             }
//!             Incoming::Notification(note) if note.method == "turn/completed" => break,
//!             _ => {}
//!         }
//!     }
//!
//!     assert!(codex.workspace().join("made-by-codex.txt").is_file());
//!     // What codex told the model about the command.
//!     let outputs = model.last_request().ok_or("no request")?.function_call_outputs();
//!     assert!(outputs[0].text.contains("Process exited with code 0"));
//!     assert_eq!(model.script_errors(), []);
//!     client.shutdown(Duration::from_secs(5)).await?;
//!     Ok(())
//! }
//! # let _ = codex_runs_an_approved_command;
//! ```
//!
//! # What codex expects
//!
//! Verified with codex 0.169.0: the model provider in [`mock_config_toml`]
//! uses the Responses API without retries or WebSockets; the approval policy
//! goes into `thread/start` or `turn/start` (`"approvalPolicy":
//! "untrusted"`), not into `config.toml`. Commands are calls of the
//! `exec_command` tool with a `cmd` string ([`Reply::exec_command`]); an
//! approved command still runs in the thread's sandbox, which is read-only
//! unless `thread/start` asks for `"sandbox": "workspace-write"`. After
//! a tool call codex sends a second model request whose `input` ends with
//! the `function_call_output` ([`ModelRequest::function_call_outputs`]); a
//! declined command's output says `rejected by user`. An HTTP failure fails
//! the turn (`turn/completed` with status `failed`, after an `error`
//! notification); `turn/interrupt` during a stalled stream ends the turn as
//! `interrupted`.
//!
//! # Boundaries
//!
//! This crate is for tests: use it as a dev-dependency (or in a test-only
//! binary such as a fake app-server). Nothing in the library crates depends on
//! it. It does not replace codex: the scripted model stands in for the
//! OpenAI API, not for the app-server, and the fake app-server only plays what
//! its script says. Decoding and driving the conversation stays with the
//! crates under test.
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features. Installing codex
//! ([`CodexInstall`]) needs `npm` on `PATH` the first time a version is used.

mod codex;
mod error;
pub mod fake;
mod golden;
mod model;
mod normalize;
mod record;
mod replay;
mod tempdir;
mod transcript;

pub use codex::{
    CODEX_CACHE_ENV, Codex, CodexBinary, CodexCommand, CodexHome, CodexInstall, mock_config_toml,
};
pub use error::TestkitError;
pub use golden::{Golden, GoldenMode, UPDATE_GOLDEN_ENV};
pub use model::{FunctionCallOutput, ModelRequest, ModelServer, Reply, Script, ScriptError};
pub use normalize::{KeyPattern, Normalizer, Rule, ValuePattern};
pub use record::{RecordSink, Recording, RecordingHandle, record};
pub use replay::{Replay, ReplayHandle, replay};
pub use tempdir::TempDir;
pub use transcript::{Direction, Frame, Line, ReplayMismatch, Transcript};
