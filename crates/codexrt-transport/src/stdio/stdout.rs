//! The child's stdout: frames read with the [`LineReader`] and handed to the
//! connection's receiver, in a form the driver can poll again and again.

use std::io;
use std::time::Duration;

use tokio::process::ChildStdout;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use crate::Inbound;
use crate::framing::LineReader;

/// How long the drain may wait for stdout to yield more bytes or end, in
/// total, once the child is gone.
const DRAIN_READ_BUDGET: Duration = Duration::from_millis(200);

/// How long the drain waits for room for one frame in the receiver's queue.
const DRAIN_DELIVERY_PATIENCE: Duration = Duration::from_secs(1);

/// The drain stops after this long even if stdout keeps producing frames
/// (something outside the process group holds it and writes).
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// What to do with a frame while the receiver's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Wait for room: the child is slowed down to the receiver's pace.
    Wait,
    /// Drop the frame. Used while the child is being stopped, so that a full
    /// queue nobody reads any more cannot keep it blocked on a full pipe.
    DropWhenFull,
}

/// Reads frames from the child's stdout and delivers them.
///
/// The frame in hand is kept here between calls, so that [`run`](Self::run)
/// can be dropped at any await point (it is one branch of the driver's
/// `select!`) without losing a frame.
#[derive(Debug)]
pub(super) struct StdoutPump {
    lines: LineReader<ChildStdout>,
    pending: Option<Inbound>,
    open: bool,
    dropped: u64,
}

impl StdoutPump {
    pub(super) fn new(lines: LineReader<ChildStdout>) -> Self {
        StdoutPump {
            lines,
            pending: None,
            open: true,
            dropped: 0,
        }
    }

    /// Whether stdout may still yield frames: it neither ended nor failed.
    pub(super) fn is_open(&self) -> bool {
        self.open
    }

    /// Reads and delivers frames until stdout ends (`Ok`) or fails. Frames
    /// are discarded once the receiver is gone: the child must still be able
    /// to write.
    ///
    /// # Cancel safety
    /// Cancel safe: a frame read but not delivered stays for the next call.
    pub(super) async fn run(
        &mut self,
        inbound: &mpsc::Sender<Inbound>,
        delivery: Delivery,
    ) -> io::Result<()> {
        loop {
            let Some(frame) = self.pending.take() else {
                if !self.open {
                    return Ok(());
                }
                match self.lines.next_frame().await {
                    Ok(Some(frame)) => self.pending = Some(frame),
                    Ok(None) => {
                        self.open = false;
                        return Ok(());
                    }
                    Err(err) => {
                        self.open = false;
                        return Err(err);
                    }
                }
                continue;
            };
            match delivery {
                Delivery::Wait => {
                    // Put back before waiting, so a cancelled wait keeps it.
                    self.pending = Some(frame);
                    let permit = inbound.reserve().await;
                    let frame = self.pending.take();
                    if let (Ok(permit), Some(frame)) = (permit, frame) {
                        permit.send(frame);
                    }
                }
                Delivery::DropWhenFull => match inbound.try_reserve() {
                    Ok(permit) => permit.send(frame),
                    Err(TrySendError::Full(())) => self.dropped += 1,
                    Err(TrySendError::Closed(())) => {}
                },
            }
        }
    }

    /// Delivers what stdout still holds once the child is gone, within
    /// bounds: a grandchild that left the process group may keep stdout open
    /// (or flood it) forever, and the receiver may have stopped reading.
    ///
    /// Time spent waiting for the pipe and time spent waiting for the
    /// receiver are bounded apart, so that a receiver that is slow but
    /// reading still gets every frame a child wrote before it exited.
    pub(super) async fn drain(&mut self, inbound: &mpsc::Sender<Inbound>) {
        let started = Instant::now();
        let mut read_budget = DRAIN_READ_BUDGET;
        let stopped = loop {
            if let Some(frame) = self.pending.take() {
                match tokio::time::timeout(DRAIN_DELIVERY_PATIENCE, inbound.reserve()).await {
                    Ok(Ok(permit)) => permit.send(frame),
                    // Nobody reads any more; the frames can go.
                    Ok(Err(_closed)) => break None,
                    Err(_elapsed) => break Some("the receiver stopped taking frames"),
                }
                continue;
            }
            if !self.open {
                break None;
            }
            if started.elapsed() >= DRAIN_LIMIT {
                break Some("stdout kept producing frames");
            }
            let reading = Instant::now();
            let frame = tokio::time::timeout(read_budget, self.lines.next_frame()).await;
            read_budget = read_budget.saturating_sub(reading.elapsed());
            match frame {
                Ok(Ok(Some(frame))) => self.pending = Some(frame),
                Ok(Ok(None)) => self.open = false,
                Ok(Err(err)) => {
                    self.open = false;
                    tracing::debug!(%err, "reading the child's stdout failed while closing");
                }
                Err(_elapsed) => break Some("stdout stayed open after the child was gone"),
            }
        };
        if let Some(why) = stopped {
            tracing::debug!("stopped draining the child's stdout: {why}");
        }
        if self.dropped > 0 {
            tracing::warn!(
                frames = self.dropped,
                "dropped frames from the child's stdout while stopping it: the receiver's queue was full"
            );
        }
    }
}
