//! A scripted fake `codex app-server`, for behaviours the real one will not
//! produce on demand: garbage lines, truncated frames, answers out of order
//! or twice, floods, a death in the middle of a turn, a process that ignores
//! SIGTERM.
//!
//! A [`FakeScript`] is a list of [`Step`]s: wait for the client's next
//! request, answer it, send notifications and requests of the server's own,
//! misbehave. The same script runs two ways:
//!
//! - **In process**: [`FakeServer::connect`] serves it on a transport
//!   [`Connection`] (no process, no pipes), and its [`FakeHandle`] shows what
//!   the client sent. The connection closes with the report a process ending
//!   the same way would leave: `exit` and a failed step say
//!   [`ProcessExited`](codexrt_transport::CloseReason::ProcessExited) with
//!   that exit status, `kill` with signal 9, and a failure's message is in
//!   the stderr tail.
//! - **As a child process**: [`run_stdio`] plays it over the process's own
//!   stdio, for faults only real pipes and signals show (stderr floods,
//!   SIGKILL in the middle of a call, SIGTERM ignored). It needs a binary;
//!   the workspace's tests package has `fake-app-server`, and a workspace of
//!   your own needs a dozen lines:
//!
//! ```no_run
//! // src/bin/fake-app-server.rs, and in Cargo.toml:
//! //   [[bin]]
//! //   name = "fake-app-server"
//! //   path = "src/bin/fake-app-server.rs"
//! // with codexrt-testkit as a normal dependency of that package.
//! use std::process::ExitCode;
//!
//! use codexrt_testkit::fake::{FakeScript, StdioFake};
//!
//! /// `fake-app-server <script.json> [--record <out.jsonl>]`
//! fn main() -> ExitCode {
//!     let args: Vec<String> = std::env::args().skip(1).collect();
//!     let (script, record) = match args.as_slice() {
//!         [script] => (script, None),
//!         [script, flag, record] if flag == "--record" => (script, Some(record)),
//!         _ => {
//!             eprintln!("usage: fake-app-server <script.json> [--record <out.jsonl>]");
//!             return ExitCode::from(2);
//!         }
//!     };
//!     let script = match FakeScript::load(script) {
//!         Ok(script) => script,
//!         Err(err) => {
//!             eprintln!("fake-app-server: {err}");
//!             return ExitCode::from(2);
//!         }
//!     };
//!     let fake = StdioFake::new(script);
//!     match record {
//!         Some(path) => fake.record(path).run(),
//!         None => fake.run(),
//!     }
//! }
//! ```
//!
//! Tests write the script to a file ([`FakeScript::save`]) and spawn the
//! binary with [`StdioTransport`](codexrt_transport::StdioTransport) (in a
//! Cargo integration test, `env!("CARGO_BIN_EXE_fake-app-server")` names
//! it).
//!
//! For load rather than faults, [`Traffic`] plays the same codex-shaped
//! turn (a long stream of deltas, or a run of command approvals) for every
//! `turn/start`, at the speed of the pipe; `fake-app-server --traffic ..`
//! serves it over stdio, and `cargo xtask bench` measures clients against
//! it.
//!
//! In process, with codexrt-rpc:
//!
//! ```
//! use codexrt_rpc::{RpcClient, RpcConfig};
//! use codexrt_testkit::fake::{FakeScript, FakeServer, Handshake, Step};
//! use serde_json::{Value, json};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let script = FakeScript::new()
//!     .handshake(Handshake::new())
//!     .step(Step::respond_to("thread/start", json!({"thread": {"id": "t1"}})));
//! let (connection, fake) = FakeServer::new(script).connect();
//! let (client, _incoming) = RpcClient::start(connection, RpcConfig::new());
//! let init: Value = client.call("initialize", json!({"clientInfo": {"name": "t", "version": "1"}})).await?;
//! assert_eq!(init["userAgent"], "fake/0.169.0 (Linux; x86_64)");
//! client.notify("initialized", ()).await?;
//! let started: Value = client.call("thread/start", json!({})).await?;
//! assert_eq!(started["thread"]["id"], "t1");
//! client.shutdown(std::time::Duration::from_secs(1)).await?;
//! let log = fake.finished().await;
//! assert!(log.completed(), "{:?}", log.failure);
//! assert_eq!(log.methods(), ["initialize", "initialized", "thread/start"]);
//! # Ok(())
//! # }
//! ```

mod handshake;
mod journal;
mod memory;
mod run;
mod script;
mod stdio;
#[cfg(test)]
mod tests;
mod traffic;

use std::fmt;
use std::sync::Arc;

use codexrt_transport::{Connection, DEFAULT_CHANNEL_CAPACITY};
use serde_json::Value;

pub use handshake::Handshake;
pub use script::{DEFAULT_EXPECT_TIMEOUT, FakeScript, Step};
pub use stdio::{StdioFake, run_stdio};
pub use traffic::{Traffic, TrafficArgsError, TrafficReport};

use crate::{Direction, Frame, Line, Transcript};
use journal::Journal;

/// The exit status of a fake whose script failed (`EX_SOFTWARE`), in process
/// and over stdio.
pub const FAILURE_EXIT_CODE: u8 = 70;

/// An in-process fake app-server: plays a [`FakeScript`] on a transport
/// [`Connection`].
#[derive(Debug, Clone)]
#[must_use = "a fake server does nothing until it is connected"]
pub struct FakeServer {
    script: FakeScript,
    channel_capacity: usize,
}

impl FakeServer {
    /// A fake that will play `script`.
    pub fn new(script: FakeScript) -> FakeServer {
        FakeServer {
            script,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }

    /// How many frames each direction of the connection buffers (at least
    /// 1). Default: [`DEFAULT_CHANNEL_CAPACITY`].
    pub fn channel_capacity(mut self, frames: usize) -> FakeServer {
        self.channel_capacity = frames;
        self
    }

    /// Starts playing the script on a new connection; hand the connection
    /// to the client under test and keep the handle to see what it sent.
    ///
    /// Queued client frames are served before a shutdown request, as over
    /// a pipe. The run ends when the script ends it (`exit`, `kill`,
    /// `truncated`, a failure) or the client closes; a client that shuts
    /// the connection down gets [`CloseReason::Shutdown`](codexrt_transport::CloseReason::Shutdown),
    /// one that only drops its senders (end of input) the report of a
    /// process that exited with status 0.
    ///
    /// # Panics
    /// When called outside a Tokio runtime with time enabled: the fake runs
    /// on a spawned task.
    pub fn connect(self) -> (Connection, FakeHandle) {
        let journal = Arc::new(Journal::new(&self.script, None));
        let connection = memory::spawn(self.script, Arc::clone(&journal), self.channel_capacity);
        (connection, FakeHandle { journal })
    }
}

/// Watches an in-process fake: what the client sent so far, and the outcome
/// once the run has ended. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FakeHandle {
    journal: Arc<Journal>,
}

impl FakeHandle {
    /// A snapshot of the log so far.
    pub fn log(&self) -> FakeLog {
        self.journal.log().clone()
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        *self.journal.finished.borrow()
    }

    /// Waits until the client has sent at least `count` frames (in total,
    /// since the start). Wrap it in a timeout: the client may never send
    /// them.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait_received(&self, count: usize) {
        let mut received = self.journal.received.subscribe();
        // The sender lives in the journal, which `self` keeps alive.
        let _ = received.wait_for(|received| *received >= count).await;
    }

    /// Waits until the run has ended (and the close report is published),
    /// and returns the final log.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn finished(&self) -> FakeLog {
        let mut finished = self.journal.finished.subscribe();
        let _ = finished.wait_for(|finished| *finished).await;
        self.log()
    }
}

/// What a fake saw: every frame the client sent, in order, and how far the
/// script got.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct FakeLog {
    /// Every frame the client sent, in the order the fake read them.
    pub received: Vec<Frame>,
    /// How many steps ran to completion.
    pub steps_completed: usize,
    /// How many steps the script has.
    pub steps_total: usize,
    /// The step that failed, which ended the run.
    pub failure: Option<StepFailure>,
}

impl FakeLog {
    /// Whether every step ran and none failed.
    pub fn completed(&self) -> bool {
        self.failure.is_none() && self.steps_completed == self.steps_total
    }

    /// The JSON messages the client sent, in order.
    pub fn messages(&self) -> impl Iterator<Item = &Value> + '_ {
        self.received.iter().filter_map(Frame::json)
    }

    /// The methods of the client's requests and notifications, in order.
    pub fn methods(&self) -> Vec<&str> {
        self.messages()
            .filter_map(|message| message.get("method")?.as_str())
            .collect()
    }

    /// The client's answer to the server request with this id: the whole
    /// message (`{"id":..,"result":..}` or `{"id":..,"error":..}`).
    pub fn response_to(&self, id: &Value) -> Option<&Value> {
        self.messages()
            .find(|message| message.get("method").is_none() && message.get("id") == Some(id))
    }

    /// What the client sent, as a transcript of `out` lines.
    pub fn transcript(&self) -> Transcript {
        self.received
            .iter()
            .map(|frame| Line::new(Direction::Out, frame.clone()))
            .collect()
    }
}

/// A step that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepFailure {
    /// The 1-based number of the step; one past the last step when the
    /// client sent something after the end of the script.
    pub step: usize,
    /// The step, briefly: `expect \`thread/start\``.
    pub description: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} ({}): {}",
            self.step, self.description, self.message
        )
    }
}
