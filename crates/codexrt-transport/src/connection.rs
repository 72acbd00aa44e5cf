//! The two halves of a connection: the [`Connection`] its user holds and the
//! [`Endpoint`] a transport implementation drives.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{CloseReason, CloseReport, FrameError, TransportError};

/// How many frames each direction buffers when a transport does not say
/// otherwise.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 256;

/// One item read from the medium: a complete frame, or a problem with a frame
/// that the transport skipped.
pub type Inbound = Result<Bytes, FrameError>;

/// A connection to a peer: a bounded sender of outbound frames, a bounded
/// receiver of inbound frames, and a [`Closer`] that shuts the medium down and
/// always knows why it closed.
///
/// Build one with a transport ([`StdioTransport`](crate::StdioTransport),
/// [`memory::pair`](crate::memory::pair)) or, to write a transport of your
/// own, with [`Connection::channel`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Connection {
    /// Sends frames to the peer.
    pub sender: FrameSender,
    /// Receives frames from the peer.
    pub receiver: FrameReceiver,
    /// Shuts the connection down and reports why it closed.
    pub closer: Closer,
}

impl Connection {
    /// Creates a connection and the [`Endpoint`] that a transport
    /// implementation drives to serve it. `capacity` bounds each direction's
    /// queue, in frames (at least 1).
    ///
    /// This is how a transport is written outside this crate: move the
    /// endpoint into a task that writes `endpoint.outbound` frames to the
    /// medium, pushes frames read from it into `endpoint.inbound`, obeys
    /// `endpoint.control`, and publishes a [`CloseReport`] when it ends.
    ///
    /// A transport over any byte stream with newline framing (for example a
    /// Unix socket), in one task:
    ///
    /// ```
    /// use codexrt_transport::framing::LineReader;
    /// use codexrt_transport::{CloseReason, CloseReport, Connection, Control};
    /// use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
    ///
    /// fn connect<R, W>(reader: R, mut writer: W) -> Connection
    /// where
    ///     R: AsyncRead + Unpin + Send + 'static,
    ///     W: AsyncWrite + Unpin + Send + 'static,
    /// {
    ///     let (connection, mut endpoint) = Connection::channel(64);
    ///     tokio::spawn(async move {
    ///         let mut lines = LineReader::new(reader, 1 << 20);
    ///         let reason = loop {
    ///             tokio::select! {
    ///                 frame = endpoint.outbound.recv() => {
    ///                     let Some(frame) = frame else { break CloseReason::Dropped };
    ///                     let written = async {
    ///                         writer.write_all(&frame).await?;
    ///                         writer.write_all(b"\n").await?;
    ///                         writer.flush().await
    ///                     };
    ///                     if let Err(err) = written.await {
    ///                         break CloseReason::Io(err.into());
    ///                     }
    ///                 }
    ///                 read = lines.next_frame() => match read {
    ///                     Ok(Some(item)) => {
    ///                         if endpoint.inbound.send(item).await.is_err() {
    ///                             break CloseReason::Dropped;
    ///                         }
    ///                     }
    ///                     Ok(None) => break CloseReason::PeerClosed,
    ///                     Err(err) => break CloseReason::Io(err.into()),
    ///                 },
    ///                 request = endpoint.control.recv() => match request {
    ///                     Some(Control::Shutdown { done, .. }) => {
    ///                         let _ = writer.shutdown().await;
    ///                         endpoint.report.publish(CloseReport::new(CloseReason::Shutdown));
    ///                         done.finish(Ok(()));
    ///                         return;
    ///                     }
    ///                     Some(_) => {}
    ///                     None => break CloseReason::Dropped,
    ///                 },
    ///             }
    ///         };
    ///         // Published before `endpoint.inbound` is dropped with the task.
    ///         endpoint.report.publish(CloseReport::new(reason));
    ///     });
    ///     connection
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (ours, theirs) = tokio::io::duplex(1024);
    /// let (read, write) = tokio::io::split(ours);
    /// let mut connection = connect(read, write);
    /// let (peer_read, mut peer_write) = tokio::io::split(theirs);
    /// peer_write.write_all(b"hello\n").await.unwrap();
    /// drop((peer_read, peer_write));
    /// assert_eq!(connection.receiver.recv().await.unwrap().unwrap(), "hello");
    /// assert!(connection.receiver.recv().await.is_none());
    /// let report = connection.closer.closed().await;
    /// assert!(matches!(report.reason, CloseReason::PeerClosed));
    /// # }
    /// ```
    pub fn channel(capacity: usize) -> (Connection, Endpoint) {
        // Tokio's limit for a bounded queue; memory runs out long before.
        let capacity = capacity.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        let (out_tx, out_rx) = mpsc::channel(capacity);
        let (in_tx, in_rx) = mpsc::channel(capacity);
        // Control messages are rare (a shutdown request or two); a small queue
        // is plenty and keeps `shutdown` from blocking on a busy transport.
        let (ctl_tx, ctl_rx) = mpsc::channel(4);
        let (report_tx, report_rx) = watch::channel(None);
        let connection = Connection {
            sender: FrameSender {
                tx: out_tx,
                now: None,
            },
            receiver: FrameReceiver { rx: in_rx },
            closer: Closer {
                control: ctl_tx,
                report: report_rx,
            },
        };
        let endpoint = Endpoint {
            outbound: out_rx,
            inbound: in_tx,
            control: ctl_rx,
            report: ReportPublisher { tx: report_tx },
        };
        (connection, endpoint)
    }
}

/// Sends frames to the peer. Cheap to clone; the queue is bounded, so `send`
/// waits while it is full.
#[derive(Debug, Clone)]
pub struct FrameSender {
    tx: mpsc::Sender<Bytes>,
    /// The medium's way to take a frame at once, past an idle writer.
    now: Option<Arc<dyn WriteNow>>,
}

/// What [`WriteNow::write_now`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Written to the medium; nothing more to do.
    Written,
    /// Not written; its place after the frames before it is reserved, and
    /// it must now be queued, or the reservation given back
    /// ([`WriteNow::unqueue`]).
    Queue,
}

/// A medium that can write a frame from the sender's own task when its
/// writer is idle (the stdio transport's stdin), saving the writer task a
/// wake-up per frame. It keeps the frames in the order they were sent.
pub(crate) trait WriteNow: Send + Sync + std::fmt::Debug {
    fn write_now(&self, frame: &Bytes) -> Attempt;
    /// Gives back the place a [`Attempt::Queue`] reserved, for a frame the
    /// queue did not take.
    fn unqueue(&self);
}

/// A place reserved by [`WriteNow::write_now`], given back when dropped
/// before the frame was queued.
struct Reservation<'a> {
    now: Option<&'a dyn WriteNow>,
}

impl Reservation<'_> {
    fn keep(mut self) {
        self.now = None;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(now) = self.now {
            now.unqueue();
        }
    }
}

/// The frame could not be sent because the connection is closed. The frame is
/// handed back; [`Closer::closed`] says why the connection closed.
#[derive(Debug, thiserror::Error)]
#[error("connection closed")]
pub struct SendError(pub Bytes);

impl FrameSender {
    /// Queues one frame for the peer, waiting while the queue is full.
    ///
    /// A frame is an opaque byte string; line-framed media (such as
    /// [`StdioTransport`](crate::StdioTransport)) add the delimiter themselves
    /// and require that the frame contains no newline.
    ///
    /// The stdio transport writes a frame of less than 4 KiB to the pipe at
    /// once, from the caller's task, when its writer is idle and nothing is
    /// queued before it: the frame then skips the queue and the writer
    /// task's wake-up. Frames keep the order they were sent in either way.
    ///
    /// # Errors
    /// [`SendError`] when the connection is closed.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, the frame was
    /// not queued.
    pub async fn send(&self, frame: Bytes) -> Result<(), SendError> {
        let Some(reservation) = self.write_now(&frame) else {
            return Ok(());
        };
        let sent = self.tx.send(frame).await.map_err(|err| SendError(err.0));
        if sent.is_ok() {
            reservation.keep();
        }
        sent
    }

    /// Writes `frame` at once when the medium can (`None`), or reserves
    /// its place in the queue.
    fn write_now(&self, frame: &Bytes) -> Option<Reservation<'_>> {
        let Some(now) = self.now.as_deref() else {
            return Some(Reservation { now: None });
        };
        match now.write_now(frame) {
            Attempt::Written => None,
            Attempt::Queue => Some(Reservation { now: Some(now) }),
        }
    }

    /// Has frames go past the queue when `now` can write them at once.
    pub(crate) fn with_write_now(mut self, now: Arc<dyn WriteNow>) -> FrameSender {
        self.now = Some(now);
        self
    }

    /// Queues one frame for the peer if there is room now, without waiting.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the queue is full and
    /// [`TrySendError::Closed`] when the connection is closed; either hands
    /// the frame back.
    pub fn try_send(&self, frame: Bytes) -> Result<(), TrySendError> {
        let Some(reservation) = self.write_now(&frame) else {
            return Ok(());
        };
        self.tx.try_send(frame).map_err(|err| match err {
            mpsc::error::TrySendError::Full(frame) => TrySendError::Full(frame),
            mpsc::error::TrySendError::Closed(frame) => TrySendError::Closed(frame),
        })?;
        reservation.keep();
        Ok(())
    }

    /// Whether the transport stopped taking frames.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Why [`FrameSender::try_send`] did not queue a frame; the frame is handed
/// back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError {
    /// The queue is full; [`FrameSender::send`] would wait for room.
    #[error("the outbound queue is full")]
    Full(Bytes),
    /// The connection is closed; [`Closer::closed`] says why.
    #[error("connection closed")]
    Closed(Bytes),
}

/// Receives frames from the peer, in the order the medium delivered them.
#[derive(Debug)]
pub struct FrameReceiver {
    rx: mpsc::Receiver<Inbound>,
}

impl FrameReceiver {
    /// The next inbound frame, a [`FrameError`] for a frame the transport had
    /// to skip, or `None` once the connection is closed and every frame read
    /// before that has been received.
    ///
    /// # Cancel safety
    /// Cancel safe: no frame is lost if the future is dropped.
    pub async fn recv(&mut self) -> Option<Inbound> {
        self.rx.recv().await
    }

    /// The next inbound frame (or frame error) if one is ready, without
    /// waiting; `None` when none is ready now or the connection is closed
    /// (then [`recv`](FrameReceiver::recv) says which).
    pub fn try_recv(&mut self) -> Option<Inbound> {
        self.rx.try_recv().ok()
    }
}

/// Shuts a connection down and tells why it closed. Cheap to clone.
///
/// A connection lives as long as any of its handles: when every `Closer`,
/// every [`FrameSender`] and the [`FrameReceiver`] are dropped without a
/// shutdown, the transport tears the medium down on its own (for a child
/// process: the process group is killed and the child reaped) and reports
/// [`CloseReason::Dropped`]. Dropping only the closers (for example by
/// destructuring a [`Connection`] with `..`) leaves the connection working.
#[derive(Debug, Clone)]
pub struct Closer {
    control: mpsc::Sender<Control>,
    report: watch::Receiver<Option<Arc<CloseReport>>>,
}

impl Closer {
    /// Closes the connection, giving the peer `grace` to finish on its own at
    /// each step of the transport's shutdown ladder, and returns the close
    /// report. Idempotent: once the connection is closed, every call returns
    /// the same report at once. A grace longer than
    /// [`MAX_WAIT`](crate::MAX_WAIT) counts as `MAX_WAIT`, so the transport
    /// always receives one it can add to the current time.
    ///
    /// # Errors
    /// [`TransportError::Stop`] when the transport could not stop the peer
    /// (for a child process: signalling or reaping it failed). The connection
    /// is still closed from this side.
    ///
    /// # Cancel safety
    /// Dropping the future does not undo a shutdown that has been requested;
    /// the transport completes it in the background.
    pub async fn shutdown(&self, grace: Duration) -> Result<Arc<CloseReport>, TransportError> {
        if let Some(report) = self.report() {
            return Ok(report);
        }
        let (done_tx, done_rx) = oneshot::channel();
        let request = Control::Shutdown {
            grace: grace.min(crate::MAX_WAIT),
            done: ShutdownDone { tx: done_tx },
        };
        if self.control.send(request).await.is_ok() {
            // The transport answers once its ladder is done; if it drops the
            // request instead, it is closing for another reason and the report
            // below tells which.
            if let Ok(Err(err)) = done_rx.await {
                return Err(err);
            }
        }
        Ok(self.closed().await)
    }

    /// Waits until the connection is closed and returns its report.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) -> Arc<CloseReport> {
        let mut report = self.report.clone();
        let published = match report.wait_for(Option::is_some).await {
            Ok(published) => published.clone(),
            // The transport dropped its publisher without publishing.
            Err(_) => None,
        };
        published.unwrap_or_else(unreported)
    }

    /// The close report, if the connection is closed.
    pub fn report(&self) -> Option<Arc<CloseReport>> {
        if let Some(report) = self.report.borrow().clone() {
            return Some(report);
        }
        if self.report.has_changed().is_err() {
            return Some(unreported());
        }
        None
    }
}

fn unreported() -> Arc<CloseReport> {
    Arc::new(CloseReport::new(CloseReason::Unreported))
}

/// The transport implementation's half of a connection, created by
/// [`Connection::channel`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Endpoint {
    /// Frames the user wants written to the medium. `None` from `recv` means
    /// every [`FrameSender`] was dropped.
    pub outbound: mpsc::Receiver<Bytes>,
    /// Where frames read from the medium go. Dropping it ends the user's
    /// [`FrameReceiver`] once the frames already queued are received.
    pub inbound: mpsc::Sender<Inbound>,
    /// Requests from the user's [`Closer`]s. `None` from `recv` means every
    /// `Closer` was dropped; once the senders (`outbound` yields `None`) and
    /// the receiver (`inbound` is closed) are gone too, tear the medium down
    /// and report [`CloseReason::Dropped`].
    pub control: mpsc::Receiver<Control>,
    /// Publishes the close report, exactly once.
    pub report: ReportPublisher,
}

/// A request from a [`Closer`] to its transport.
#[derive(Debug)]
#[non_exhaustive]
pub enum Control {
    /// Close the connection, allowing `grace` at each step, then answer `done`.
    Shutdown {
        /// How long to wait for the peer at each step of the shutdown ladder.
        grace: Duration,
        /// Answer this once the connection is closed and its report published.
        done: ShutdownDone,
    },
}

/// The answer to a [`Control::Shutdown`] request.
#[derive(Debug)]
pub struct ShutdownDone {
    tx: oneshot::Sender<Result<(), TransportError>>,
}

impl ShutdownDone {
    /// Tells the waiting [`Closer::shutdown`] how the shutdown went. Publish
    /// the close report before calling this.
    pub fn finish(self, result: Result<(), TransportError>) {
        // The caller may have stopped waiting; the report is published either way.
        let _ = self.tx.send(result);
    }
}

/// Publishes a connection's close report.
#[derive(Debug)]
pub struct ReportPublisher {
    tx: watch::Sender<Option<Arc<CloseReport>>>,
}

impl ReportPublisher {
    /// Publishes `report` unless one was published already, and returns the
    /// report in force.
    pub fn publish(&self, report: CloseReport) -> Arc<CloseReport> {
        let mut report = Some(Arc::new(report));
        self.tx.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = report.take();
            true
        });
        self.current().unwrap_or_else(unreported)
    }

    /// The report published so far, if any.
    pub fn current(&self) -> Option<Arc<CloseReport>> {
        self.tx.borrow().clone()
    }
}
