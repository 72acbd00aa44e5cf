//! The task that serves a child process's [`Endpoint`]: it pumps frames both
//! ways, obeys the connection's [`Closer`](crate::Closer)s, and decides and
//! publishes how the connection ended.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::gate::Gate;
use super::process::ProcessGroup;
use super::stderr::StderrTail;
use super::stdin;
use super::stdout::{Delivery, StdoutPump};
use crate::{CloseReason, CloseReport, Control, Endpoint, Inbound, ShutdownDone, TransportError};

/// How long a child that closed its stdout has to exit before the connection
/// reports that the peer closed it rather than that the process exited.
const EXIT_AFTER_EOF: Duration = Duration::from_millis(250);

/// How long the end of stderr may take once the child is gone; runs
/// alongside the stdout drain.
const STDERR_DRAIN: Duration = Duration::from_millis(100);

/// The grace at each step of the ladder for a child that closed its stdout
/// but kept running. Nobody waits for it: the report is already out.
const ABANDONED_GRACE: Duration = Duration::from_secs(1);

/// What the driver takes over from `spawn`.
#[derive(Debug)]
pub(super) struct Parts {
    pub(super) group: ProcessGroup,
    pub(super) stdin: Arc<Gate>,
    pub(super) stdout: StdoutPump,
    pub(super) stderr: StderrTail,
}

/// The stdin writer, boxed so that dropping it (which closes stdin) can happen
/// at any point of the driver.
type Writer = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// Why the main loop ended.
enum Ending {
    Shutdown { grace: Duration, done: ShutdownDone },
    Dropped,
    Exited(ExitStatus),
    StdoutClosed,
    Failed(io::Error),
}

/// Serves `endpoint` until the connection closes, then publishes its report.
///
/// One task owns the child from start to end, so one place decides how the
/// connection ended; the stdout and stdin pumps are futures it polls side by
/// side, and stderr has a task of its own (see [`StderrTail`]). If this
/// future is dropped before it finishes, the [`ProcessGroup`]'s `Drop` kills
/// the group.
pub(super) async fn drive(endpoint: Endpoint, parts: Parts) {
    let Endpoint {
        outbound,
        inbound,
        mut control,
        report,
    } = endpoint;
    let Parts {
        mut group,
        stdin,
        mut stdout,
        stderr,
    } = parts;
    let pid = group.pid();
    let (stop_stdin, stop) = oneshot::channel();
    let mut writer: Option<Writer> = Some(Box::pin(stdin::write_frames(stdin, outbound, stop)));

    // The user's side is gone once every closer, every sender and the
    // receiver are dropped; only then is the child torn down, so that a user
    // who keeps reading and writing without a closer keeps the connection.
    let mut closers_gone = false;
    let mut senders_gone = false;
    let mut receiver_gone = false;
    let ending = loop {
        if closers_gone && senders_gone && receiver_gone {
            break Ending::Dropped;
        }
        // No `biased`: the pumps only complete when their pipe does, so a
        // fixed polling order would let one starve the other under load.
        tokio::select! {
            request = control.recv(), if !closers_gone => match request {
                Some(Control::Shutdown { grace, done }) => break Ending::Shutdown { grace, done },
                None => closers_gone = true,
            },
            () = inbound.closed(), if !receiver_gone => receiver_gone = true,
            status = group.wait() => match status {
                Ok(status) => break Ending::Exited(status),
                Err(err) => break Ending::Failed(err),
            },
            end = stdout.run(&inbound, Delivery::Wait) => match end {
                Ok(()) => break Ending::StdoutClosed,
                Err(err) => break Ending::Failed(err),
            },
            end = run_writer(&mut writer) => match end {
                Ok(()) => {
                    senders_gone = true;
                    tracing::debug!(pid, "every frame sender is gone; closed the child's stdin");
                }
                // The child stopped reading; how it ends shows on stdout.
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                    // Senders can no longer reach the child, so they no
                    // longer keep the connection open.
                    senders_gone = true;
                    tracing::debug!(pid, "the child closed its stdin");
                }
                Err(err) => break Ending::Failed(err),
            },
        }
    };

    let mut done = None;
    let mut abandoned = false;
    let (reason, stopped) = match ending {
        Ending::Shutdown {
            grace,
            done: answer,
        } => {
            done = Some(answer);
            // The first step of the ladder: the writer gets `grace` to write
            // what was queued before the shutdown and close stdin, while the
            // child gets `grace` to exit.
            let _ = stop_stdin.send(());
            let close_stdin = Instant::now() + grace;
            let stopped = settle(
                group.stop(grace),
                &mut stdout,
                &inbound,
                &mut writer,
                close_stdin,
            )
            .await;
            (CloseReason::Shutdown, stopped.map(Some))
        }
        Ending::Dropped => {
            writer = None;
            let killed = settle(
                group.kill(),
                &mut stdout,
                &inbound,
                &mut writer,
                Instant::now(),
            );
            (CloseReason::Dropped, killed.await.map(Some))
        }
        Ending::Exited(status) => (CloseReason::ProcessExited, Ok(Some(status))),
        Ending::StdoutClosed => {
            writer = None;
            match group.wait_for(EXIT_AFTER_EOF).await {
                Ok(Some(status)) => (CloseReason::ProcessExited, Ok(Some(status))),
                Ok(None) => {
                    abandoned = true;
                    (CloseReason::PeerClosed, Ok(None))
                }
                Err(err) => (CloseReason::Io(Arc::new(err)), group.kill().await.map(Some)),
            }
        }
        Ending::Failed(err) => {
            writer = None;
            let killed = settle(
                group.kill(),
                &mut stdout,
                &inbound,
                &mut writer,
                Instant::now(),
            );
            (CloseReason::Io(Arc::new(err)), killed.await.map(Some))
        }
    };
    drop(writer);

    let exit = stopped.as_ref().ok().copied().flatten();
    let ((), stderr_tail) = tokio::join!(stdout.drain(&inbound), stderr.finish(STDERR_DRAIN));
    report.publish(
        CloseReport::new(reason)
            .with_exit(exit)
            .with_stderr_tail(stderr_tail),
    );
    // Only now: a reader that sees the end of the frames finds the report.
    drop(inbound);
    drop(stdout);

    if abandoned {
        // stdin is closed already, so the ladder starts with the wait.
        if let Err(err) = group.stop(ABANDONED_GRACE).await {
            tracing::warn!(pid, %err, "failed to stop a child that closed its stdout");
        }
    }
    // Reaped and every pipe closed before a waiting shutdown returns.
    drop(group);
    match (done, stopped) {
        (Some(done), stopped) => {
            done.finish(
                stopped
                    .map(drop)
                    .map_err(|source| TransportError::Stop { pid, source }),
            );
        }
        (None, Err(err)) => tracing::warn!(pid, %err, "failed to stop the child process"),
        (None, Ok(_)) => {}
    }
}

/// Runs `step` (stopping or killing the child) while stdout keeps flowing, so
/// that a child blocked on a full stdout pipe can still exit, and while the
/// writer finishes; the writer is dropped, closing stdin, at `close_stdin`.
async fn settle<T>(
    step: impl Future<Output = T>,
    stdout: &mut StdoutPump,
    inbound: &mpsc::Sender<Inbound>,
    writer: &mut Option<Writer>,
    close_stdin: Instant,
) -> T {
    let mut step = pin!(step);
    let mut close_stdin = pin!(tokio::time::sleep_until(close_stdin));
    loop {
        tokio::select! {
            output = &mut step => return output,
            () = &mut close_stdin, if writer.is_some() => *writer = None,
            end = run_writer(writer) => {
                if let Err(err) = end {
                    tracing::debug!(%err, "writing the child's stdin failed while stopping it");
                }
            }
            end = stdout.run(inbound, Delivery::DropWhenFull), if stdout.is_open() => {
                if let Err(err) = end {
                    tracing::debug!(%err, "reading the child's stdout failed while stopping it");
                }
            }
        }
    }
}

/// Runs the writer in `slot` to its end and empties the slot; never completes
/// while the slot is empty.
///
/// # Cancel safety
/// Cancel safe: the writer stays in the slot, mid-frame if need be.
async fn run_writer(slot: &mut Option<Writer>) -> io::Result<()> {
    let Some(writer) = slot else {
        return std::future::pending().await;
    };
    let end = writer.as_mut().await;
    *slot = None;
    end
}
