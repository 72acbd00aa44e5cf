//! [`record`]: a transport between the client and any other transport that
//! writes every frame, both ways, to a [`Transcript`](crate::Transcript) in
//! memory or a JSONL
//! file.

mod sink;

use std::sync::Arc;

use bytes::Bytes;
use codexrt_transport::{
    CloseReason, CloseReport, Closer, Connection, Control, DEFAULT_CHANNEL_CAPACITY, FrameReceiver,
    FrameSender, Inbound, ReportPublisher, SendError,
};
use tokio::sync::{mpsc, oneshot, watch};

pub use sink::{RecordSink, Recording};

use crate::{Direction, Frame, TestkitError};
use sink::Shared;

/// Records the conversation on `connection`: returns the connection to give
/// the client instead, and the handle that ends the recording.
///
/// Every frame is recorded as it passes, before it is handed on, as one
/// transcript line: `{"dir":"out","msg":..}` for what the client sends,
/// `{"dir":"in","msg":..}` for what it receives, `raw` for frames that are
/// not JSON and `too_long` for frames the transport skipped. The order of
/// lines is the order the recorder saw them, so an answer is never recorded
/// before its request.
///
/// The wrapper is a transport of its own: a shutdown first passes on the
/// frames the client queued, then shuts `connection` down, and the close
/// report is `connection`'s; dropping every handle of the returned
/// connection drops `connection`.
///
/// # Panics
/// When called outside a Tokio runtime: the recorder runs on spawned tasks.
pub fn record(connection: Connection, sink: RecordSink) -> (Connection, RecordingHandle) {
    let Connection {
        sender,
        receiver,
        closer,
        ..
    } = connection;
    let (outer, endpoint) = Connection::channel(DEFAULT_CHANNEL_CAPACITY);
    let shared = Arc::new(Shared::new(sink));
    let (drain_tx, drain_rx) = mpsc::channel(4);
    let (published_tx, published_rx) = watch::channel(false);
    let (in_ended_tx, in_ended_rx) = watch::channel(false);
    let (finishing_tx, finishing_rx) = watch::channel(false);
    tokio::spawn(pump_out(
        endpoint.outbound,
        sender,
        Arc::clone(&shared),
        drain_rx,
        published_rx.clone(),
    ));
    tokio::spawn(pump_in(
        receiver,
        endpoint.inbound,
        Arc::clone(&shared),
        finishing_rx,
        published_rx.clone(),
        in_ended_tx,
    ));
    tokio::spawn(supervise(
        endpoint.control,
        closer,
        endpoint.report,
        drain_tx.clone(),
        published_tx,
        Arc::clone(&shared),
    ));
    let handle = RecordingHandle {
        shared,
        drain: drain_tx,
        published: published_rx,
        in_ended: in_ended_rx,
        finishing: finishing_tx,
    };
    (outer, handle)
}

/// Ends a recording and hands it over.
#[derive(Debug)]
pub struct RecordingHandle {
    shared: Arc<Shared>,
    drain: mpsc::Sender<oneshot::Sender<()>>,
    published: watch::Receiver<bool>,
    in_ended: watch::Receiver<bool>,
    finishing: watch::Sender<bool>,
}

impl RecordingHandle {
    /// How many lines were recorded so far.
    pub fn lines(&self) -> u64 {
        self.shared.log().lines
    }

    /// Ends the recording and returns it.
    ///
    /// Frames the client queued before the call are recorded. If the
    /// connection is closed, every frame the peer sent before the close is
    /// recorded too (frames the client no longer reads are then dropped
    /// rather than waited for); if it is still open, it keeps working, but
    /// nothing more is recorded.
    ///
    /// # Errors
    /// [`TestkitError::RecordingOverflow`] when a memory sink ran out of
    /// room, [`TestkitError::Io`] when writing the file failed.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future may leave the recording
    /// running, and the handle is gone.
    pub async fn finish(mut self) -> Result<Recording, TestkitError> {
        drain(&self.drain).await;
        if *self.published.borrow() {
            self.finishing.send_replace(true);
            // The in pump ends once the peer's last frame is read; it no
            // longer waits for the client to take frames.
            raised(&mut self.in_ended).await;
        }
        let mut log = self.shared.log();
        log.stopped = true;
        log.take()
    }
}

/// Waits until the flag is set, or its sender is gone. The borrow
/// `wait_for` returns is dropped here, so that it is never held across an
/// await.
async fn raised(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|raised| *raised).await;
}

/// Asks the out pump to pass on every frame already queued, and waits until
/// it has; returns at once when the pump has ended.
async fn drain(requests: &mpsc::Sender<oneshot::Sender<()>>) {
    let (ack_tx, ack_rx) = oneshot::channel();
    if requests.send(ack_tx).await.is_ok() {
        let _ = ack_rx.await;
    }
}

/// Client → peer: record, then pass on.
async fn pump_out(
    mut outbound: mpsc::Receiver<Bytes>,
    sender: FrameSender,
    shared: Arc<Shared>,
    mut drains: mpsc::Receiver<oneshot::Sender<()>>,
    mut published: watch::Receiver<bool>,
) {
    loop {
        // Frames first, so that a drain request finds the queue as short as
        // possible.
        tokio::select! {
            biased;
            frame = outbound.recv() => match frame {
                Some(frame) => {
                    if forward(&shared, &sender, frame).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            request = drains.recv() => {
                let Some(ack) = request else { continue };
                while let Ok(frame) = outbound.try_recv() {
                    if forward(&shared, &sender, frame).await.is_err() {
                        return;
                    }
                }
                let _ = ack.send(());
            }
            // Once the connection is closed nothing more can pass; dropping
            // `outbound` makes the client's sends fail.
            () = raised(&mut published) => return,
        }
    }
}

async fn forward(shared: &Shared, sender: &FrameSender, frame: Bytes) -> Result<(), SendError> {
    shared.record(Direction::Out, Frame::from_bytes(&frame));
    sender.send(frame).await
}

/// Peer → client: record, then pass on; the client's receiver ends only
/// after the close report is published.
async fn pump_in(
    mut receiver: FrameReceiver,
    inbound: mpsc::Sender<Inbound>,
    shared: Arc<Shared>,
    mut finishing: watch::Receiver<bool>,
    mut published: watch::Receiver<bool>,
    ended: watch::Sender<bool>,
) {
    let mut forwarding = true;
    while let Some(item) = receiver.recv().await {
        shared.record(Direction::In, Frame::from_inbound(&item));
        if !forwarding {
            continue;
        }
        tokio::select! {
            sent = inbound.send(item) => forwarding = sent.is_ok(),
            // A finished recording of a closed connection stops waiting
            // for a client that no longer reads.
            () = raised(&mut finishing) => forwarding = false,
        }
    }
    shared.flush();
    ended.send_replace(true);
    raised(&mut published).await;
}

/// Obeys the client's closers, and publishes the close report when the
/// connection closes either way.
async fn supervise(
    mut control: mpsc::Receiver<Control>,
    closer: Closer,
    publisher: ReportPublisher,
    drains: mpsc::Sender<oneshot::Sender<()>>,
    published: watch::Sender<bool>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            request = control.recv() => match request {
                Some(Control::Shutdown { grace, done }) => {
                    // Queued frames go first, as the stdio transport writes
                    // its queue before closing stdin; a peer that no longer
                    // reads gets no more than `grace` for them.
                    let _ = tokio::time::timeout(grace, drain(&drains)).await;
                    let result = closer.shutdown(grace).await;
                    let report = closer.closed().await;
                    publisher.publish(CloseReport::clone(&report));
                    published.send_replace(true);
                    shared.flush();
                    done.finish(result.map(drop));
                    return;
                }
                // `Control` may grow requests that close nothing.
                Some(_) => {}
                None => {
                    publisher.publish(CloseReport::new(CloseReason::Dropped));
                    published.send_replace(true);
                    shared.flush();
                    // Dropping the last closer tears `connection` down.
                    drop(closer);
                    return;
                }
            },
            report = closer.closed() => {
                publisher.publish(CloseReport::clone(&report));
                published.send_replace(true);
                shared.flush();
                return;
            }
        }
    }
}
