//! [`Exec`]: one command run by codex on its machine (`command/exec`),
//! without a thread or a model: buffered ([`Exec::run`]) or with its output
//! streamed ([`Exec::start`], an [`ExecStream`] that can also write to the
//! command's stdin, resize its terminal and terminate it).
//!
//! ```no_run
//! use codexrt::{Client, ExecCommand, ExecEvent};
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! let output = client.exec().run(ExecCommand::new(["git", "status"]).cwd("/srv/repo")).await?;
//! println!("exit {}: {}", output.exit_code, output.stdout);
//!
//! let mut stream = client.exec().start(ExecCommand::new(["cargo", "test"]).cwd("/srv/repo")).await?;
//! while let Some(event) = stream.next().await {
//!     match event {
//!         ExecEvent::Output { data, .. } => print!("{}", String::from_utf8_lossy(&data)),
//!         ExecEvent::Finished(result) => println!("exit {}", result?.exit_code),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Sandbox
//!
//! codex runs the command in its sandbox (on Linux, bubblewrap: the
//! system's, or the one codex bundles), with the policy the call names.
//! The facade names one always: **read-only, without network**, unless
//! [`ExecCommand::sandbox`] says otherwise, whatever codex's configuration
//! says — the same default as the threads the facade starts. No approval
//! is asked for a `command/exec`: the policy is the only guard, so widen it
//! (`workspaceWrite`, `dangerFullAccess`) only for commands you trust.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use codexrt_core::{CallOptions, EventFilter, EventReceiver, Runtime, RuntimeEvent};
use codexrt_protocol::types::{
    CommandExecOutputStream, CommandExecParams, CommandExecResizeParams, CommandExecResponse,
    CommandExecTerminalSize, CommandExecTerminateParams, CommandExecWriteParams, SandboxPolicy,
};
use codexrt_protocol::{ClientRequest, ServerNotification, methods};
use data_encoding::BASE64;
use tokio::sync::{mpsc, oneshot};

use crate::args::{absolute_path, not_blank};
use crate::{Client, ClientError};

/// How many notifications the observer behind an [`ExecStream`] holds
/// before the router drops some: its task empties it as they come, so
/// only a task starved for that long loses any (and says so).
const OBSERVER_CAPACITY: usize = 4096;

/// A command for codex to run, for [`Exec::run`] or [`Exec::start`].
///
/// ```
/// use std::time::Duration;
/// use codexrt::ExecCommand;
///
/// let command = ExecCommand::new(["ls", "-la"])
///     .cwd("/srv/repo")
///     .env("LC_ALL", "C")
///     .timeout(Duration::from_secs(30));
/// # let _ = command;
/// ```
#[derive(Debug, Clone)]
pub struct ExecCommand {
    argv: Vec<String>,
    cwd: Option<PathBuf>,
    env: BTreeMap<String, Option<String>>,
    sandbox: SandboxPolicy,
    timeout: Option<Duration>,
    no_timeout: bool,
    output_cap: Option<u64>,
    no_output_cap: bool,
    tty: Option<CommandExecTerminalSize>,
    stdin: bool,
    process_id: Option<String>,
}

impl ExecCommand {
    /// The program and its arguments, run as they are (no shell: for
    /// pipes or globs, run `["bash", "-lc", "..."]`).
    pub fn new<I, S>(argv: I) -> ExecCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecCommand {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: BTreeMap::new(),
            sandbox: SandboxPolicy::ReadOnly {
                network_access: Some(false),
            },
            timeout: None,
            no_timeout: false,
            output_cap: None,
            no_output_cap: false,
            tty: None,
            stdin: false,
            process_id: None,
        }
    }

    /// The process id of a streamed command ([`Exec::start`]), which
    /// codex's notifications and the stream's `write`, `resize` and
    /// `terminate` name; it must differ from every other running command's
    /// of the connection. Default: a unique id made by the client.
    #[must_use]
    pub fn process_id(mut self, id: impl Into<String>) -> Self {
        self.process_id = Some(id.into());
        self
    }

    /// The working directory, absolute, on codex's machine. Default:
    /// codex's own working directory.
    #[must_use]
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets a variable in the command's environment. Default: codex's
    /// environment for commands, unchanged.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes a variable from the command's environment.
    #[must_use]
    pub fn env_remove(mut self, key: impl Into<String>) -> Self {
        self.env.insert(key.into(), None);
        self
    }

    /// The sandbox the command runs in. Default: read-only without network
    /// (see [Sandbox](crate::exec#sandbox)).
    #[must_use]
    pub fn sandbox(mut self, policy: SandboxPolicy) -> Self {
        self.sandbox = policy;
        self
    }

    /// How long the command may run before codex kills it. Default:
    /// codex's limit for commands.
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self.no_timeout = false;
        self
    }

    /// No time limit: the command runs until it ends or is terminated.
    #[must_use]
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self.no_timeout = true;
        self
    }

    /// How many bytes of output codex keeps (buffered) or sends (streamed)
    /// per stream. Default: codex's cap.
    #[must_use]
    pub fn output_cap(mut self, bytes: u64) -> Self {
        self.output_cap = Some(bytes);
        self.no_output_cap = false;
        self
    }

    /// No output cap. A streamed command's output the reader leaves
    /// unread is still bounded by [`ExecStream::MAX_BUFFERED_OUTPUT`].
    #[must_use]
    pub fn no_output_cap(mut self) -> Self {
        self.output_cap = None;
        self.no_output_cap = true;
        self
    }

    /// Runs the command in a pseudo-terminal of this size (stdout and
    /// stderr then come as one stream); [`Exec::start`] only. Default: no
    /// terminal.
    #[must_use]
    pub fn tty(mut self, size: CommandExecTerminalSize) -> Self {
        self.tty = Some(size);
        self
    }

    /// Keeps the command's stdin open for [`ExecStream::write`];
    /// [`Exec::start`] only. Default: stdin is closed.
    #[must_use]
    pub fn stdin(mut self) -> Self {
        self.stdin = true;
        self
    }

    /// The wire params, checked; streamed when `process_id` is set.
    fn params(self, process_id: Option<String>) -> Result<CommandExecParams, ClientError> {
        let method = CommandExecParams::METHOD;
        let refuse = |argument, problem| ClientError::InvalidArgument {
            method,
            argument,
            problem,
        };
        match self.argv.first() {
            None => return Err(refuse("command", "is empty")),
            Some(program) if program.trim().is_empty() => {
                return Err(refuse("command", "has a blank program"));
            }
            Some(_) => {}
        }
        let streaming = process_id.is_some();
        if !streaming && self.tty.is_some() {
            return Err(refuse("tty", "needs `Exec::start`"));
        }
        if !streaming && self.stdin {
            return Err(refuse("streamStdin", "needs `Exec::start`"));
        }
        let cwd = match &self.cwd {
            Some(dir) => Some(absolute_path(method, dir)?),
            None => None,
        };
        let timeout_ms = self
            .timeout
            .map(|limit| i64::try_from(limit.as_millis()).unwrap_or(i64::MAX));
        let tty = self.tty.is_some().then_some(true);
        Ok(CommandExecParams {
            command: self.argv,
            cwd,
            disable_output_cap: self.no_output_cap.then_some(true),
            disable_timeout: self.no_timeout.then_some(true),
            env: (!self.env.is_empty()).then_some(self.env),
            output_bytes_cap: self.output_cap,
            permission_profile: None,
            process_id,
            sandbox_policy: Some(self.sandbox),
            size: self.tty,
            stream_stdin: self.stdin.then_some(true),
            stream_stdout_stderr: streaming.then_some(true),
            timeout_ms,
            tty,
        })
    }
}

/// Commands run by codex, from [`Client::exec`].
///
/// See the [module docs](crate::exec) for the sandbox they run in.
#[derive(Debug, Clone, Copy)]
pub struct Exec<'a> {
    client: &'a Client,
}

impl<'a> Exec<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Exec { client }
    }

    /// Runs `command` and returns its exit code and output once it ended
    /// (`command/exec`), up to codex's output cap per stream.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for an empty command, or a
    /// terminal or stdin (those need [`start`](Exec::start));
    /// [`ClientError::InvalidPath`] for a relative working directory
    /// (nothing is sent in either case); [`ClientError::Runtime`] when the
    /// call fails: codex refuses a command it cannot start, or no answer
    /// came in time. The call waits the command's
    /// [`timeout`](ExecCommand::timeout) plus the client's call timeout, or
    /// without a limit after [`no_timeout`](ExecCommand::no_timeout), else
    /// the client's call timeout (60 s by default) — so a command that may
    /// run longer under codex's own limit should set its timeout.
    ///
    /// # Cancel safety
    /// Dropping it abandons the call; the command runs on to its end.
    pub async fn run(&self, command: ExecCommand) -> Result<CommandExecResponse, ClientError> {
        // codex answers when the command ends: a command with a limit of
        // its own gets that limit plus the call timeout, one without any
        // gets none, and one under codex's default limit the call timeout.
        let call_timeout = self.client.config().call_timeout_limit();
        let options = match (command.timeout, command.no_timeout) {
            (Some(limit), _) => CallOptions::new().timeout(limit.saturating_add(call_timeout)),
            (None, true) => CallOptions::new().no_timeout(),
            (None, false) => CallOptions::new(),
        };
        let params = command.params(None)?;
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call_with(params, options).await?)
    }

    /// Starts `command` with its output streamed: the [`ExecStream`] yields
    /// the output as it comes, then the exit code. codex sends the result
    /// after all the output, so nothing comes after [`ExecEvent::Finished`].
    /// The call has no time limit of its own: it ends when the command
    /// does (by itself, at its [`timeout`](ExecCommand::timeout) or codex's,
    /// or [`terminate`](ExecStream::terminate)d), or when the connection
    /// closes.
    ///
    /// # Errors
    /// As for [`run`](Exec::run), without the refusal of a terminal or
    /// stdin; the command's own failure comes in [`ExecEvent::Finished`].
    ///
    /// # Cancel safety
    /// Nothing is sent before it returns: dropping it starts nothing.
    pub async fn start(&self, command: ExecCommand) -> Result<ExecStream, ClientError> {
        let process_id = match &command.process_id {
            Some(id) => not_blank(CommandExecParams::METHOD, "processId", id.clone())?,
            None => process_id(),
        };
        let params = command.params(Some(process_id.clone()))?;
        let runtime = self.client.live_runtime().await?;
        runtime.admit(&params)?;
        // The observer exists before the request is sent, so it sees every
        // delta of the command.
        let events = runtime.events_with(
            EventFilter::all()
                .methods([methods::COMMAND_EXEC_OUTPUT_DELTA])
                .capacity(OBSERVER_CAPACITY),
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let (closer, closed) = oneshot::channel();
        let buffered = Arc::new(AtomicUsize::new(0));
        let follower = Follower {
            runtime: runtime.clone(),
            process_id: process_id.clone(),
            tx,
            buffered: Arc::clone(&buffered),
            overflowed: false,
        };
        tokio::spawn(follower.run(params, events, closed));
        Ok(ExecStream {
            process_id,
            runtime,
            rx,
            held: None,
            buffered,
            _closer: closer,
            finished: false,
        })
    }
}

/// A process id no other command of this process has.
fn process_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "codexrt-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One item of an [`ExecStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecEvent {
    /// Bytes the command wrote (`command/exec/outputDelta`, or several
    /// joined when the stream is read slowly), exactly as written.
    Output {
        /// Which stream (with a terminal, everything is `stdout`).
        stream: CommandExecOutputStream,
        /// The bytes.
        data: Vec<u8>,
        /// codex's output cap was reached: it sends nothing more of this
        /// stream.
        cap_reached: bool,
    },
    /// Output notifications were lost before this point: the observer's
    /// queue overflowed (this many notifications of any `command/exec`
    /// were dropped), or a chunk could not be decoded. The output is
    /// incomplete; the result still comes.
    OutputLost {
        /// How many notifications were lost.
        notifications: u64,
    },
    /// The command ended: its exit code (its `stdout` and `stderr` are
    /// empty, the output having been streamed), or why it could not be
    /// followed. Always the last item.
    Finished(Result<CommandExecResponse, ClientError>),
}

/// What the follower task hands to the stream.
#[derive(Debug)]
enum Piece {
    Output {
        stream: CommandExecOutputStream,
        data: Vec<u8>,
        cap_reached: bool,
    },
    Lost(u64),
    Done(Result<CommandExecResponse, ClientError>),
}

/// A command codex runs with its output streamed, from [`Exec::start`].
///
/// Dropping it before [`ExecEvent::Finished`] asks codex to terminate the
/// command (`command/exec/terminate`, from a task).
#[derive(Debug)]
pub struct ExecStream {
    process_id: String,
    runtime: Runtime,
    rx: mpsc::UnboundedReceiver<Piece>,
    /// A piece read ahead while joining output, not joined.
    held: Option<Piece>,
    buffered: Arc<AtomicUsize>,
    /// Dropped with the stream: the follower then terminates the command.
    _closer: oneshot::Sender<()>,
    finished: bool,
}

impl ExecStream {
    /// The most output bytes that may wait for the reader; past it the
    /// command is terminated and the stream ends with
    /// [`ClientError::ExecOutputOverflow`]. codex's output cap keeps most
    /// commands far below it.
    pub const MAX_BUFFERED_OUTPUT: usize = 64 * 1024 * 1024;

    /// The command's process id (`processId`), chosen by the client.
    pub fn process_id(&self) -> &str {
        &self.process_id
    }

    /// The next event; `None` after [`ExecEvent::Finished`]. The same as
    /// the [`Stream`](futures_core::Stream) implementation.
    ///
    /// # Cancel safety
    /// Cancel safe: an event is taken only in the poll that returns it.
    pub async fn next(&mut self) -> Option<ExecEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Writes bytes to the command's stdin (`command/exec/write`); the
    /// command must have been started with [`ExecCommand::stdin`].
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails (codex refuses it for a
    /// command without stdin, or one that ended).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`]: the bytes may have been written.
    pub async fn write(&self, data: impl AsRef<[u8]>) -> Result<(), ClientError> {
        self.send_stdin(Some(BASE64.encode(data.as_ref())), None)
            .await
    }

    /// Closes the command's stdin (`command/exec/write` with
    /// `closeStdin`).
    ///
    /// # Errors
    /// As for [`write`](ExecStream::write).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn close_stdin(&self) -> Result<(), ClientError> {
        self.send_stdin(None, Some(true)).await
    }

    async fn send_stdin(
        &self,
        delta_base64: Option<String>,
        close_stdin: Option<bool>,
    ) -> Result<(), ClientError> {
        let params = CommandExecWriteParams {
            close_stdin,
            delta_base64,
            process_id: self.process_id.clone(),
        };
        self.runtime.call(params).await?;
        Ok(())
    }

    /// Resizes the command's terminal (`command/exec/resize`); the command
    /// must have been started with [`ExecCommand::tty`].
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn resize(&self, size: CommandExecTerminalSize) -> Result<(), ClientError> {
        let params = CommandExecResizeParams {
            process_id: self.process_id.clone(),
            size,
        };
        self.runtime.call(params).await?;
        Ok(())
    }

    /// Asks codex to terminate the command (`command/exec/terminate`); the
    /// stream then ends with its result.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails (the command may have
    /// ended already).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn terminate(&self) -> Result<(), ClientError> {
        let params = CommandExecTerminateParams {
            process_id: self.process_id.clone(),
        };
        self.runtime.call(params).await?;
        Ok(())
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<ExecEvent>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let piece = match self.held.take() {
            Some(piece) => piece,
            None => match std::task::ready!(self.rx.poll_recv(cx)) {
                Some(piece) => piece,
                None => {
                    self.finished = true;
                    let ended = ClientError::ExecFollowerEnded {
                        process_id: self.process_id.clone(),
                    };
                    return Poll::Ready(Some(ExecEvent::Finished(Err(ended))));
                }
            },
        };
        let event = match piece {
            Piece::Output {
                stream,
                mut data,
                mut cap_reached,
            } => {
                // Join what is queued behind it of the same stream, so a
                // slow reader gets fewer, bigger pieces.
                while let Ok(next) = self.rx.try_recv() {
                    match next {
                        Piece::Output {
                            stream: next_stream,
                            data: more,
                            cap_reached: capped,
                        } if next_stream == stream => {
                            data.extend_from_slice(&more);
                            cap_reached |= capped;
                        }
                        other => {
                            self.held = Some(other);
                            break;
                        }
                    }
                }
                self.buffered.fetch_sub(data.len(), Ordering::AcqRel);
                ExecEvent::Output {
                    stream,
                    data,
                    cap_reached,
                }
            }
            Piece::Lost(notifications) => ExecEvent::OutputLost { notifications },
            Piece::Done(result) => {
                self.finished = true;
                ExecEvent::Finished(result)
            }
        };
        Poll::Ready(Some(event))
    }
}

/// The same events as [`ExecStream::next`]: the output in order, then
/// [`ExecEvent::Finished`], then the end.
///
/// # Cancel safety
/// A pending poll takes nothing.
impl futures_core::Stream for ExecStream {
    type Item = ExecEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ExecEvent>> {
        self.get_mut().poll_event(cx)
    }
}

/// The task behind an [`ExecStream`]: sends the call, moves the command's
/// output from the observer to the stream as it comes (so a slow reader
/// costs memory, bounded, rather than output), and terminates the command
/// when the stream is dropped.
struct Follower {
    runtime: Runtime,
    process_id: String,
    tx: mpsc::UnboundedSender<Piece>,
    buffered: Arc<AtomicUsize>,
    overflowed: bool,
}

impl Follower {
    async fn run(
        mut self,
        params: CommandExecParams,
        mut events: EventReceiver,
        mut closed: oneshot::Receiver<()>,
    ) {
        let runtime = self.runtime.clone();
        let call = runtime.call_with(params, CallOptions::new().no_timeout());
        tokio::pin!(call);
        let mut events_open = true;
        let result = loop {
            // The stream's end first (nothing else matters then), then the
            // output, then the answer: whatever output is still queued when
            // the answer wins is drained below.
            tokio::select! {
                biased;
                _ = &mut closed => {
                    self.terminate().await;
                    return;
                }
                event = events.recv(), if events_open => match event {
                    Some(event) => self.forward(event).await,
                    None => events_open = false,
                },
                result = &mut call => break result,
            }
        };
        // codex answers after the command's last output, and the router
        // queues notifications as it reads them, so every delta is queued
        // by now.
        while let Some(event) = events.try_recv() {
            self.forward(event).await;
        }
        let result = if self.overflowed {
            Err(ClientError::ExecOutputOverflow {
                process_id: self.process_id.clone(),
                limit: ExecStream::MAX_BUFFERED_OUTPUT,
            })
        } else {
            result.map_err(ClientError::from)
        };
        // A stream dropped by now has nobody to tell.
        let _ = self.tx.send(Piece::Done(result));
    }

    async fn forward(&mut self, event: RuntimeEvent) {
        let piece = match event {
            RuntimeEvent::Notification(notification) => match &*notification {
                ServerNotification::CommandExecOutputDelta(delta)
                    if delta.process_id == self.process_id =>
                {
                    match BASE64.decode(delta.delta_base64.as_bytes()) {
                        Ok(data) => Piece::Output {
                            stream: delta.stream.clone(),
                            data,
                            cap_reached: delta.cap_reached,
                        },
                        Err(_) => Piece::Lost(1),
                    }
                }
                _ => return,
            },
            // Another command's, or ours: which cannot be told.
            RuntimeEvent::Undecodable { .. } => Piece::Lost(1),
            RuntimeEvent::Lagged { dropped } => Piece::Lost(dropped),
            _ => return,
        };
        if self.overflowed {
            return;
        }
        if let Piece::Output { data, .. } = &piece {
            let waiting = self.buffered.fetch_add(data.len(), Ordering::AcqRel) + data.len();
            if waiting > ExecStream::MAX_BUFFERED_OUTPUT {
                self.overflowed = true;
                self.terminate().await;
                return;
            }
        }
        let _ = self.tx.send(piece);
    }

    /// Asks codex to terminate the command; a failure (it ended already,
    /// the connection is gone) leaves nothing to do.
    async fn terminate(&self) {
        let params = CommandExecTerminateParams {
            process_id: self.process_id.clone(),
        };
        if let Err(error) = self.runtime.call(params).await {
            tracing::debug!(process_id = %self.process_id, %error, "terminating a command failed");
        }
    }
}
