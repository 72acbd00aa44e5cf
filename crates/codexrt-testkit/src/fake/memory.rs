//! The in-process wire: a script played on the [`Endpoint`] of a
//! [`Connection`], ending with the close report a real process would leave.

use std::collections::VecDeque;
use std::future::pending;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{CloseReason, CloseReport, Connection, Control, Endpoint, ShutdownDone};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::journal::Journal;
use super::run::{Ending, Gone, Next, Runner, Wire};
use super::{FAILURE_EXIT_CODE, FakeScript};

/// How much of the fake's stderr the close report keeps: the same as the
/// stdio transport's default ring.
const STDERR_TAIL: usize = 64 * 1024;

/// Serves `script` on a new connection until the run ends, then publishes
/// the close report and marks the journal finished.
pub(crate) fn spawn(script: FakeScript, journal: Arc<Journal>, capacity: usize) -> Connection {
    let (connection, endpoint) = Connection::channel(capacity);
    tokio::spawn(async move {
        let wire = MemoryWire {
            endpoint,
            shutdown: None,
            stderr: VecDeque::new(),
            eof: false,
        };
        let (wire, ending) = Runner::new(wire, &journal, &script)
            .run(script.step_list())
            .await;
        wire.finish(ending).await;
        journal.finished.send_replace(true);
    });
    connection
}

struct MemoryWire {
    endpoint: Endpoint,
    /// A shutdown request, answered once the report is published.
    shutdown: Option<ShutdownDone>,
    stderr: VecDeque<u8>,
    /// Every frame sender of the client is gone.
    eof: bool,
}

/// Waits for the next control request that closes the connection; a
/// shutdown's answer is kept in `shutdown` until the report is published.
async fn closing(
    control: &mut mpsc::Receiver<Control>,
    shutdown: &mut Option<ShutdownDone>,
) -> Gone {
    loop {
        match control.recv().await {
            Some(Control::Shutdown { done, .. }) => {
                *shutdown = Some(done);
                return Gone::Shutdown;
            }
            // `Control` may grow requests that do not close anything.
            Some(_) => {}
            None => return Gone::Dropped,
        }
    }
}

impl MemoryWire {
    /// Publishes the report that a process ending this way would leave,
    /// then answers a pending shutdown. The endpoint is dropped afterwards,
    /// which ends the client's receiver after the frames already queued.
    async fn finish(mut self, ending: Ending) {
        let (reason, exit) = match ending {
            Ending::Closed(Gone::Shutdown) => (CloseReason::Shutdown, None),
            Ending::Closed(Gone::Dropped) => (CloseReason::Dropped, None),
            // A server whose input ended exits normally.
            Ending::Closed(Gone::Eof) => (CloseReason::ProcessExited, exit_status(0)),
            Ending::Exit(code) => (CloseReason::ProcessExited, exit_status(code)),
            Ending::Kill => (CloseReason::ProcessExited, killed()),
            Ending::Truncated(partial) => {
                // The client may be gone already; the report says the same
                // either way.
                let _ = self.send(partial).await;
                (CloseReason::ProcessExited, exit_status(0))
            }
            Ending::Failed { failure, gone } => {
                let line = format!("fake app-server: {failure}\n");
                self.stderr(line.as_bytes());
                match gone {
                    Some(Gone::Shutdown) => (CloseReason::Shutdown, None),
                    Some(Gone::Dropped) => (CloseReason::Dropped, None),
                    Some(Gone::Eof) | None => {
                        (CloseReason::ProcessExited, exit_status(FAILURE_EXIT_CODE))
                    }
                }
            }
        };
        let tail = String::from_utf8_lossy(self.stderr.make_contiguous()).into_owned();
        let report = CloseReport::new(reason)
            .with_exit(exit)
            .with_stderr_tail(tail);
        self.endpoint.report.publish(report);
        if let Some(done) = self.shutdown.take() {
            done.finish(Ok(()));
        }
    }
}

impl Wire for MemoryWire {
    async fn next(&mut self, deadline: Option<Instant>) -> Next {
        let timer = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => pending().await,
            }
        };
        let MemoryWire {
            endpoint,
            shutdown,
            eof,
            ..
        } = self;
        // Frames the client queued before it shut down come first, as the
        // stdio transport writes them before it closes the child's stdin.
        tokio::select! {
            biased;
            frame = endpoint.outbound.recv(), if !*eof => match frame {
                Some(frame) => Next::Frame(frame),
                None => {
                    *eof = true;
                    Next::Gone(Gone::Eof)
                }
            },
            gone = closing(&mut endpoint.control, shutdown) => Next::Gone(gone),
            () = timer => Next::TimedOut,
        }
    }

    async fn send(&mut self, frame: Bytes) -> Result<(), Gone> {
        let MemoryWire {
            endpoint, shutdown, ..
        } = self;
        tokio::select! {
            gone = closing(&mut endpoint.control, shutdown) => Err(gone),
            permit = endpoint.inbound.reserve() => match permit {
                Ok(permit) => {
                    permit.send(Ok(frame));
                    Ok(())
                }
                // The client dropped its receiver.
                Err(_) => Err(Gone::Dropped),
            },
        }
    }

    async fn sleep(&mut self, duration: Duration) -> Result<(), Gone> {
        tokio::select! {
            gone = closing(&mut self.endpoint.control, &mut self.shutdown) => Err(gone),
            () = tokio::time::sleep(duration) => Ok(()),
        }
    }

    async fn torn_down(&mut self) -> Gone {
        closing(&mut self.endpoint.control, &mut self.shutdown).await
    }

    fn stderr(&mut self, text: &[u8]) {
        self.stderr.extend(text);
        let excess = self.stderr.len().saturating_sub(STDERR_TAIL);
        self.stderr.drain(..excess);
    }

    fn ignore_sigterm(&mut self) {
        // There is no signal to ignore in process; a shutdown closes the
        // connection at once.
    }
}

#[cfg(unix)]
fn exit_status(code: u8) -> Option<ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // A wait status holds the exit code in its second byte.
    Some(ExitStatus::from_raw(i32::from(code) << 8))
}

#[cfg(unix)]
fn killed() -> Option<ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // A wait status of a process killed by a signal is the signal number.
    Some(ExitStatus::from_raw(libc::SIGKILL))
}

#[cfg(not(unix))]
fn exit_status(_code: u8) -> Option<ExitStatus> {
    None
}

#[cfg(not(unix))]
fn killed() -> Option<ExitStatus> {
    None
}
