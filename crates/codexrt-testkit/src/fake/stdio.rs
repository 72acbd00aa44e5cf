//! The fake as a process: [`run_stdio`] plays a script over this process's
//! stdin and stdout, writes floods and failures to stderr, and exits (or
//! dies) as scripted.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use codexrt_transport::framing::{DEFAULT_MAX_FRAME_LEN, LineDecoder};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::journal::Journal;
use super::run::{Ending, Gone, Next, Runner, Wire};
use super::{FAILURE_EXIT_CODE, FakeScript};

/// Plays `script` over stdin and stdout and returns the exit code to end the
/// process with; see [`StdioFake`] for the details.
///
/// Meant to end the `main` of a small binary that loads the script (see
/// the [module documentation](super) for one).
pub fn run_stdio(script: FakeScript) -> ExitCode {
    StdioFake::new(script).run()
}

/// A fake app-server that speaks over this process's stdio: one JSON
/// message per line on stdin and stdout, diagnostics on stderr.
///
/// - The script ends as scripted: `exit` returns that code, `kill` sends
///   SIGKILL to this process, `truncated` writes a partial line and returns
///   0, and a script that ran to the end returns 0 once stdin ends.
/// - A failed step writes `fake app-server: step N (...): why` to stderr and
///   returns [`FAILURE_EXIT_CODE`] (70), so a test sees the reason in the
///   close report's stderr tail.
/// - With [`record`](StdioFake::record), every frame the client sends is
///   appended to a JSONL file as a transcript line (`{"dir":"out","msg":..}`),
///   written at once so that it survives `kill`.
///
/// It blocks the calling thread and runs its own single-threaded Tokio
/// runtime, so call it from a plain `main`, not from async code.
#[derive(Debug, Clone)]
#[must_use = "a fake does nothing until it runs"]
pub struct StdioFake {
    script: FakeScript,
    record: Option<PathBuf>,
}

impl StdioFake {
    /// A fake that will play `script`.
    pub fn new(script: FakeScript) -> StdioFake {
        StdioFake {
            script,
            record: None,
        }
    }

    /// Appends every frame the client sends to this JSONL file, created or
    /// truncated when the run starts. Default: no record.
    pub fn record(mut self, path: impl Into<PathBuf>) -> StdioFake {
        self.record = Some(path.into());
        self
    }

    /// Plays the script and returns the exit code; `kill` does not return.
    pub fn run(self) -> ExitCode {
        match self.try_run() {
            Ok(code) => code,
            Err(err) => {
                let _ = writeln!(io::stderr(), "fake app-server: {err}");
                ExitCode::from(FAILURE_EXIT_CODE)
            }
        }
    }

    fn try_run(self) -> io::Result<ExitCode> {
        let record = match &self.record {
            Some(path) => Some(File::create(path).map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!("cannot create `{}`: {err}", path.display()),
                )
            })?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let (frames_tx, frames_rx) = mpsc::channel(64);
        spawn_reader(frames_tx)?;
        let journal = Journal::new(&self.script, record);
        let wire = StdioWire {
            frames: frames_rx,
            eof: false,
        };
        let (wire, ending) = runtime
            .block_on(Runner::new(wire, &journal, &self.script).run(self.script.step_list()));
        // The reader thread may be blocked on stdin for good; it must not
        // hold up the exit, and a runtime shut down in the background does
        // not wait for it.
        runtime.shutdown_background();
        Ok(wire.finish(ending))
    }
}

/// Reads stdin on a thread of its own (a blocking read cannot be cancelled,
/// so it must not sit in the runtime) and passes each line on.
fn spawn_reader(frames: mpsc::Sender<Bytes>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("fake-stdin".to_owned())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut decoder = LineDecoder::new(DEFAULT_MAX_FRAME_LEN);
            let mut buf = BytesMut::new();
            let mut chunk = vec![0_u8; 64 * 1024];
            loop {
                let read = match stdin.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => read,
                };
                buf.extend_from_slice(&chunk[..read]);
                while let Some(item) = decoder.decode(&mut buf) {
                    if frames.blocking_send(frame_bytes(item)).is_err() {
                        return;
                    }
                }
            }
            while let Some(item) = decoder.decode_eof(&mut buf) {
                if frames.blocking_send(frame_bytes(item)).is_err() {
                    return;
                }
            }
            // Dropping `frames` tells the runner that stdin ended.
        })
        .map(drop)
}

/// A line, or a note standing in for a line too long to keep (recorded as a
/// raw frame, which no `expect` accepts).
fn frame_bytes(item: codexrt_transport::Inbound) -> Bytes {
    item.unwrap_or_else(|err| Bytes::from(format!("<skipped frame: {err}>")))
}

struct StdioWire {
    frames: mpsc::Receiver<Bytes>,
    eof: bool,
}

impl StdioWire {
    fn finish(self, ending: Ending) -> ExitCode {
        match ending {
            Ending::Closed(_) => ExitCode::SUCCESS,
            Ending::Exit(code) => ExitCode::from(code),
            Ending::Kill => kill_self(),
            Ending::Truncated(partial) => {
                let mut stdout = io::stdout().lock();
                let _ = stdout.write_all(&partial).and_then(|()| stdout.flush());
                ExitCode::SUCCESS
            }
            Ending::Failed { failure, .. } => {
                let _ = writeln!(io::stderr(), "fake app-server: {failure}");
                ExitCode::from(FAILURE_EXIT_CODE)
            }
        }
    }
}

// Writes go straight to the standard streams with blocking calls: the
// runtime runs nothing but the script, so blocking it is what a real server
// stuck on a full pipe would do, and every line is flushed in order.
impl Wire for StdioWire {
    async fn next(&mut self, deadline: Option<Instant>) -> Next {
        if self.eof {
            return Next::Gone(Gone::Eof);
        }
        let received = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, self.frames.recv()).await {
                Ok(received) => received,
                Err(_) => return Next::TimedOut,
            },
            None => self.frames.recv().await,
        };
        match received {
            Some(frame) => Next::Frame(frame),
            None => {
                self.eof = true;
                Next::Gone(Gone::Eof)
            }
        }
    }

    async fn send(&mut self, frame: Bytes) -> Result<(), Gone> {
        let mut stdout = io::stdout().lock();
        let written = stdout
            .write_all(&frame)
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush());
        // A failed write means the reader of our stdout is gone.
        written.map_err(|_| Gone::Dropped)
    }

    async fn sleep(&mut self, duration: Duration) -> Result<(), Gone> {
        tokio::time::sleep(duration).await;
        Ok(())
    }

    async fn torn_down(&mut self) -> Gone {
        // Only a signal ends a process that hangs after its input ended.
        std::future::pending().await
    }

    fn stderr(&mut self, text: &[u8]) {
        // Nobody reading our stderr is no reason to stop the script.
        let _ = io::stderr().lock().write_all(text);
    }

    fn ignore_sigterm(&mut self) {
        if let Err(err) = ignore_sigterm() {
            let _ = writeln!(
                io::stderr(),
                "fake app-server: cannot ignore SIGTERM: {err}"
            );
        }
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn ignore_sigterm() -> io::Result<()> {
    // SAFETY: installing SIG_IGN runs no code of ours in a signal handler.
    let previous = unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(not(unix))]
fn ignore_sigterm() -> io::Result<()> {
    Ok(())
}

/// Dies of SIGKILL, like a server killed in the middle of a turn.
#[cfg(unix)]
#[allow(unsafe_code)]
fn kill_self() -> ExitCode {
    let _ = io::stdout().lock().flush();
    // SAFETY: kill(2) with our own pid only sends a signal.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    // SIGKILL cannot be caught; should the call fail, exit the way a shell
    // reports a killed process.
    ExitCode::from(137)
}

#[cfg(not(unix))]
fn kill_self() -> ExitCode {
    std::process::abort()
}
