//! [`StdioTransport`]: a child process spoken to over its stdin and stdout, one
//! frame per line; its builder and what `spawn` hands back.

mod driver;
mod env;
mod gate;
mod process;
mod stderr;
mod stdin;
mod stdout;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::net::unix::pipe;
use tokio::process::Command;

use crate::framing::{DEFAULT_MAX_FRAME_LEN, LineReader};
use crate::{Connection, DEFAULT_CHANNEL_CAPACITY, TransportError};

pub use env::EnvPolicy;
use process::ProcessGroup;
use stderr::StderrForwarding;

/// How many trailing bytes of the child's stderr the close report keeps when
/// the builder does not say otherwise.
const DEFAULT_STDERR_RING_SIZE: usize = 64 * 1024;

/// A transport to a child process: frames are written to its stdin and read
/// from its stdout, one per line.
///
/// - The child runs in a process group of its own.
///   [`Closer::shutdown`](crate::Closer::shutdown) writes the frames already
///   queued, closes the child's stdin and gives it `grace` to exit, then
///   sends SIGTERM to the whole group, and SIGKILL after another `grace`; the
///   child is always reaped. Whenever the child is reaped, what is left of
///   its group is killed, so no grandchild that stayed in the group
///   outlives it.
/// - On Linux the child is spawned with a parent-death signal (SIGKILL): if
///   this process dies, even by SIGKILL, the child is killed too.
/// - What cannot be caught: a grandchild that leaves the group (`setsid`,
///   `setpgid`) survives a shutdown; when this process is SIGKILLed, the
///   child's own children survive it (only the child gets the signal),
///   and so does anything that double-forked or was reparented; and on
///   Linux the parent-death signal follows the *thread* that spawned the
///   child, so spawn from a thread that lives as long as the connection
///   (a Tokio worker or the `#[tokio::main]` thread, not a short-lived
///   thread's `block_on`).
/// - Its stderr is drained continuously on a task of its own, so that no
///   amount of it can stall stdout; the last bytes are kept for the
///   [`CloseReport`](crate::CloseReport), and lines can be forwarded to
///   `tracing`.
/// - Dropping every [`Closer`](crate::Closer) without a shutdown kills the
///   group and reaps the child; dropping every
///   [`FrameSender`](crate::FrameSender) closes the child's stdin.
/// - A frame containing `\n` would reach the child as two; it fails the
///   connection instead ([`CloseReason::Io`](crate::CloseReason::Io), kind
///   `InvalidInput`).
///
/// The close report says [`ProcessExited`](crate::CloseReason::ProcessExited)
/// (with the exit status) when the child ends on its own,
/// [`PeerClosed`](crate::CloseReason::PeerClosed) when it closes its stdout
/// but keeps running (it is then stopped in the background),
/// [`Shutdown`](crate::CloseReason::Shutdown),
/// [`Dropped`](crate::CloseReason::Dropped) or
/// [`Io`](crate::CloseReason::Io). The frames the child wrote before it ended
/// are delivered first, and the report is published before the receiver
/// yields `None`, so a reader that sees the end finds the report at once. For
/// a reading receiver that takes milliseconds after the child's death, a few
/// hundred when a process outside the group keeps stdout or stderr open, and
/// at most about a second while such a process keeps writing to stdout.
///
/// ```no_run
/// use std::time::Duration;
/// use codexrt_transport::{EnvPolicy, StdioTransport};
///
/// # async fn run() -> Result<(), codexrt_transport::TransportError> {
/// let spawned = StdioTransport::new("codex")
///     .arg("app-server")
///     .env_policy(EnvPolicy::allow(["PATH", "HOME"]))
///     .env("CODEX_HOME", "/tmp/codex-home")
///     .forward_stderr_to_tracing()
///     .spawn()
///     .await?;
/// println!("codex app-server runs as pid {}", spawned.pid);
/// let report = spawned.connection.closer.shutdown(Duration::from_secs(2)).await?;
/// println!("closed: {report}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a transport does nothing until it is spawned"]
pub struct StdioTransport {
    program: OsString,
    args: Vec<OsString>,
    current_dir: Option<PathBuf>,
    env_policy: EnvPolicy,
    /// Explicit additions (`Some`) and removals (`None`); the last call for a
    /// name wins.
    env_overrides: BTreeMap<OsString, Option<OsString>>,
    max_frame_len: usize,
    channel_capacity: usize,
    stderr_ring_size: usize,
    stderr_forwarding: StderrForwarding,
}

/// A running child process and the connection to it, returned by
/// [`StdioTransport::spawn`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Spawned {
    /// The connection to the child: what the layers above consume.
    pub connection: Connection,
    /// The child's process id, which is also the id of its process group.
    pub pid: u32,
}

impl StdioTransport {
    /// A transport that will run `program`, found through `PATH` like
    /// [`std::process::Command::new`] does, without arguments.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        StdioTransport {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            current_dir: None,
            env_policy: EnvPolicy::default(),
            env_overrides: BTreeMap::new(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            stderr_ring_size: DEFAULT_STDERR_RING_SIZE,
            stderr_forwarding: StderrForwarding::Off,
        }
    }

    /// Appends one argument. Default: no arguments.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends several arguments. Default: no arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_os_string()));
        self
    }

    /// The child's working directory, checked when spawning. Default: the
    /// current directory of this process.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Which variables of this process's environment the child starts with.
    /// Default: [`EnvPolicy::essential`], what `codex` needs and nothing
    /// else (see [`EnvPolicy`]).
    pub fn env_policy(mut self, policy: EnvPolicy) -> Self {
        self.env_policy = policy;
        self
    }

    /// Sets a variable in the child's environment, whatever the policy.
    /// Default: none set. A later [`env_remove`](Self::env_remove) of the same
    /// name undoes it.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env_overrides.insert(
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        );
        self
    }

    /// Removes a variable from the child's environment, whatever the policy.
    /// Default: none removed. A later [`env`](Self::env) of the same name
    /// undoes it.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_overrides.insert(key.as_ref().to_os_string(), None);
        self
    }

    /// The longest line accepted from the child's stdout, in bytes; longer
    /// ones are reported once as [`FrameError::TooLong`](crate::FrameError),
    /// with their first bytes, as soon as they pass the limit, and skipped.
    /// Reading a line holds at most this much plus 64 KiB. Default:
    /// [`DEFAULT_MAX_FRAME_LEN`] (64 MiB).
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// How many frames each direction of the connection buffers (at least 1).
    /// Default: [`DEFAULT_CHANNEL_CAPACITY`].
    pub fn channel_capacity(mut self, frames: usize) -> Self {
        self.channel_capacity = frames;
        self
    }

    /// How many trailing bytes of the child's stderr are kept for the close
    /// report; 0 keeps none. Default: 64 KiB.
    pub fn stderr_ring_size(mut self, bytes: usize) -> Self {
        self.stderr_ring_size = bytes;
        self
    }

    /// Forwards each line the child writes to stderr as an `INFO` event with
    /// target `codexrt_transport::stderr` and a `pid` field; lines longer than
    /// 4 KiB are cut and marked `truncated`, and secret-shaped strings are
    /// redacted (see [`redact`](crate::redact)). Default: stderr is only kept in
    /// the ring, not forwarded.
    pub fn forward_stderr_to_tracing(mut self) -> Self {
        self.stderr_forwarding = StderrForwarding::Tracing;
        self
    }

    /// Starts the child and the tasks that serve its connection.
    ///
    /// # Errors
    /// - [`TransportError::WorkingDir`] when the working directory is not a
    ///   directory.
    /// - [`TransportError::Spawn`] when the program cannot be started (not
    ///   found, not executable, ...).
    ///
    /// # Panics
    /// When polled outside a Tokio runtime with I/O and time enabled: the
    /// connection is served by spawned tasks.
    ///
    /// # Cancel safety
    /// Nothing awaits inside; the future completes on its first poll.
    pub async fn spawn(self) -> Result<Spawned, TransportError> {
        let mut command = self.command()?;
        let spawn_error = |source: io::Error| TransportError::Spawn {
            program: self.program.to_string_lossy().into_owned(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        // From here on the guard owns the child: an early return kills its
        // whole group.
        let group = ProcessGroup::new(child).map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            return Err(spawn_error(io::Error::other(
                "the child's stdio pipes were not created",
            )));
        };
        let pid = group.pid();
        let stderr =
            stderr::StderrTail::spawn(stderr, self.stderr_ring_size, self.stderr_forwarding, pid);
        let stdout = stdout::StdoutPump::new(LineReader::new(stdout, self.max_frame_len));
        // The pipe as tokio's pipe sender, whose non-blocking `try_write`
        // lets a frame sender write a frame itself when the writer is idle.
        let stdin = stdin
            .into_owned_fd()
            .and_then(pipe::Sender::from_owned_fd)
            .map_err(spawn_error)?;
        let gate = gate::Gate::new(stdin);
        let (mut connection, endpoint) = Connection::channel(self.channel_capacity);
        connection.sender = connection.sender.with_write_now(gate.clone());
        // The driver's logs belong to the span the child was started in.
        let drive = driver::drive(
            endpoint,
            driver::Parts {
                group,
                stdin: gate,
                stdout,
                stderr,
            },
        );
        tokio::spawn(tracing::Instrument::in_current_span(drive));
        Ok(Spawned { connection, pid })
    }

    fn command(&self) -> Result<Command, TransportError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own lets shutdown reach the child's children too,
            // and keeps a Ctrl-C meant for this process's group away from it.
            .process_group(0)
            // The last resort when the driver never got to reap the child.
            .kill_on_drop(true);
        #[cfg(target_os = "linux")]
        process::die_with_parent(&mut command);
        if let Some(dir) = &self.current_dir {
            // Checked here because a bad directory would otherwise surface as
            // a spawn error that names the program, not the directory.
            if !dir.is_dir() {
                return Err(TransportError::WorkingDir { path: dir.clone() });
            }
            command.current_dir(dir);
        }
        self.env_policy.apply(&mut command);
        for (key, value) in &self.env_overrides {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        Ok(command)
    }
}

#[cfg(test)]
mod tests;
