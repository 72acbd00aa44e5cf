//! The task that serves a WebSocket connection's [`Endpoint`]: it pumps
//! frames both ways, obeys the connection's [`Closer`](crate::Closer)s, and
//! decides and publishes how the connection ended.

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{TryRecvError, TrySendError};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::Io;
use super::upgrade::one_line;
use crate::{CloseReason, CloseReport, Control, Endpoint, Inbound, ShutdownDone};

/// A WebSocket over any of the media.
pub(super) type Ws = WebSocketStream<Box<dyn Io>>;
type WsSink = SplitSink<Ws, Message>;
type WsStream = SplitStream<Ws>;

/// How long a close frame of ours may take to go out when nobody waits for
/// it (every handle dropped, an over-long message), and how long the end of
/// a closing handshake the peer started may take.
const CLOSE_PATIENCE: Duration = Duration::from_secs(1);

/// The most of a peer's close reason kept: a control frame's payload is at
/// most 125 bytes, two of which are the code.
const MAX_CLOSE_REASON: usize = 123;

/// Our own pings: how often, and how long the peer has to show it is
/// alive after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Keepalive {
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
}

/// The keepalive's clock, shared by the writer (which sends the pings), the
/// reader (which hears the peer) and the main loop (which watches the
/// deadline). All three are polled by the one driver task; the instants are
/// atomics (nanoseconds since `base`) only because the task must be `Send`.
struct PingClock {
    keepalive: Option<Keepalive>,
    base: Instant,
    /// When the next ping is due.
    next_ping: AtomicU64,
    /// When the peer must have been heard from, after a ping it has not
    /// answered yet; [`NONE`](Self::NONE) when no ping waits.
    answer_by: AtomicU64,
}

impl PingClock {
    const NONE: u64 = u64::MAX;

    fn new(keepalive: Option<Keepalive>) -> PingClock {
        let clock = PingClock {
            keepalive,
            base: Instant::now(),
            next_ping: AtomicU64::new(0),
            answer_by: AtomicU64::new(Self::NONE),
        };
        if let Some(keepalive) = keepalive {
            clock.store(&clock.next_ping, clock.base + keepalive.interval);
        }
        clock
    }

    fn store(&self, cell: &AtomicU64, at: Instant) {
        let nanos = u64::try_from((at - self.base).as_nanos()).unwrap_or(Self::NONE - 1);
        cell.store(nanos.min(Self::NONE - 1), Ordering::Relaxed);
    }

    fn load(&self, cell: &AtomicU64) -> Option<Instant> {
        match cell.load(Ordering::Relaxed) {
            Self::NONE => None,
            nanos => Some(self.base + Duration::from_nanos(nanos)),
        }
    }

    /// When the writer should send a ping, if pings are on.
    fn next_ping(&self) -> Option<Instant> {
        self.keepalive.and_then(|_| self.load(&self.next_ping))
    }

    /// When the peer must have been heard from, if a ping waits.
    fn answer_by(&self) -> Option<Instant> {
        self.load(&self.answer_by)
    }

    /// A ping went out now.
    fn sent(&self) {
        if let Some(keepalive) = self.keepalive {
            let now = Instant::now();
            self.store(&self.next_ping, now + keepalive.interval);
            // An earlier ping still unanswered keeps its deadline.
            if self.answer_by().is_none() {
                self.store(&self.answer_by, now + keepalive.timeout);
            }
        }
    }

    /// Something came from the peer: a pong, or anything else, which
    /// shows as well that it is alive (a busy peer's pong may queue behind
    /// its messages).
    fn heard(&self) {
        self.answer_by.store(Self::NONE, Ordering::Relaxed);
    }

    /// Completes once a ping has waited longer than the timeout for the
    /// peer to be heard from; never without a keepalive. The writer may
    /// send a ping while this waits, so when none is out it wakes when the
    /// next one would be late.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads the clock.
    async fn unanswered(&self) {
        let Some(keepalive) = self.keepalive else {
            return std::future::pending().await;
        };
        loop {
            let at = match (self.answer_by(), self.next_ping()) {
                (Some(at), _) => at,
                (None, Some(next)) => next + keepalive.timeout,
                (None, None) => return std::future::pending().await,
            };
            tokio::time::sleep_until(at).await;
            if self.answer_by().is_some_and(|at| at <= Instant::now()) {
                return;
            }
        }
    }

    /// Our side held the peer's messages back (the receiver's queue was
    /// full), so its silence says nothing: it gets a new deadline.
    fn excuse(&self) {
        if let Some(keepalive) = self.keepalive {
            self.store(&self.answer_by, Instant::now() + keepalive.timeout);
        }
    }
}

/// Waits until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Why the main loop ended.
enum Ending {
    Shutdown {
        grace: Duration,
        done: ShutdownDone,
    },
    Dropped,
    Read(ReadEnd),
    /// Writing found the connection closing: the reader is about to say why.
    WriterClosed,
    Failed(io::Error),
    /// A ping went unanswered for the keepalive's timeout.
    Unresponsive(Duration),
}

/// How reading ended.
enum ReadEnd {
    CloseFrame { code: u16, reason: String },
    Eof,
    TooLong { max_len: usize, size: usize },
    Failed(io::Error),
}

/// How writing ended.
enum WriteEnd {
    SendersGone,
    Closing,
    Failed(io::Error),
}

/// What to do with a frame while the receiver's queue is full.
#[derive(Clone, Copy)]
enum Delivery {
    /// Wait for room: the peer is slowed down to the receiver's pace.
    Wait,
    /// Drop the frame: used while closing, when the receiver may have
    /// stopped reading.
    DropWhenFull,
}

/// Serves `endpoint` over `ws` until the connection closes, then publishes
/// its report.
///
/// One task owns the socket from start to end, so one place decides how the
/// connection ended. Reading and writing are futures it polls side by side,
/// so that a peer that stops reading cannot keep frames from being read,
/// and the reverse.
///
/// With a `keepalive`, a ping goes out every interval while the writer is
/// idle or between frames, and the connection is closed
/// ([`CloseReason::Unresponsive`]) when nothing at all is read from the
/// peer within the timeout after a ping.
pub(super) async fn drive(endpoint: Endpoint, ws: Ws, keepalive: Option<Keepalive>) {
    let Endpoint {
        mut outbound,
        inbound,
        mut control,
        report,
    } = endpoint;
    let (mut sink, stream) = ws.split();
    let mut reader = Reader {
        stream,
        pending: None,
        dropped: 0,
    };

    // The user's side is gone once every closer, every sender and the
    // receiver are dropped; only then is the socket closed, so that a user
    // who keeps reading and writing without a closer keeps the connection.
    let mut closers_gone = false;
    let mut senders_gone = false;
    let mut receiver_gone = false;
    // The frame the writer took from the queue and has not handed to
    // tungstenite yet; kept out here so that a shutdown still sends it.
    let mut in_hand = None;
    let clock = PingClock::new(keepalive);
    let ending = {
        let mut writer = pin!(write_frames(&mut sink, &mut outbound, &mut in_hand, &clock));
        loop {
            if closers_gone && senders_gone && receiver_gone {
                break Ending::Dropped;
            }
            tokio::select! {
                request = control.recv(), if !closers_gone => match request {
                    Some(Control::Shutdown { grace, done }) => break Ending::Shutdown { grace, done },
                    None => closers_gone = true,
                },
                () = inbound.closed(), if !receiver_gone => receiver_gone = true,
                end = reader.run(&inbound, &clock, Delivery::Wait) => break Ending::Read(end),
                () = clock.unanswered() => {
                    if reader.pending.is_some() {
                        clock.excuse();
                        continue;
                    }
                    break Ending::Unresponsive(keepalive.map_or(Duration::ZERO, |k| k.timeout));
                }
                end = &mut writer, if !senders_gone => match end {
                    WriteEnd::SendersGone => senders_gone = true,
                    WriteEnd::Closing => break Ending::WriterClosed,
                    WriteEnd::Failed(err) => break Ending::Failed(err),
                },
            }
        }
    };
    let ending = match ending {
        // The peer's close frame was read in the same turn; let the reader
        // report it rather than the write that found the socket closing.
        Ending::WriterClosed => {
            match tokio::time::timeout(CLOSE_PATIENCE, reader.run(&inbound, &clock, Delivery::Wait))
                .await
            {
                Ok(end) => Ending::Read(end),
                Err(_elapsed) => Ending::Failed(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the WebSocket closed for writing",
                )),
            }
        }
        ending => ending,
    };

    // What is left to do once the report is out.
    enum After {
        Nothing,
        SendClose(CloseCode),
        FinishPeerClose,
    }
    let mut done = None;
    let (reason, after) = match ending {
        Ending::Shutdown {
            grace,
            done: answer,
        } => {
            done = Some(answer);
            let deadline = Instant::now() + grace;
            outbound.close();
            let closing = async {
                // What was queued before the shutdown goes out first.
                loop {
                    if in_hand.is_none() {
                        match outbound.try_recv() {
                            Ok(frame) => in_hand = Some(frame),
                            Err(_) => break,
                        }
                    }
                    if send_in_hand(&mut sink, &mut in_hand).await.is_err() {
                        return;
                    }
                }
                if let Err(err) = sink.send(close_message(CloseCode::Normal)).await {
                    tracing::debug!(%err, "sending the WebSocket close frame failed");
                }
            };
            // Reading goes on meanwhile, for the peer's answers and its own
            // close frame, which ends the reader.
            let closed = tokio::time::timeout_at(deadline, async {
                tokio::join!(
                    closing,
                    reader.run(&inbound, &clock, Delivery::DropWhenFull)
                )
            })
            .await;
            if closed.is_err() {
                tracing::debug!("the WebSocket peer did not answer the close within the grace");
            }
            (CloseReason::Shutdown, After::Nothing)
        }
        Ending::Dropped => (CloseReason::Dropped, After::SendClose(CloseCode::Normal)),
        Ending::Read(ReadEnd::CloseFrame { code, reason }) => (
            CloseReason::PeerCloseFrame { code, reason },
            After::FinishPeerClose,
        ),
        Ending::Read(ReadEnd::Eof) => (CloseReason::PeerClosed, After::Nothing),
        Ending::Read(ReadEnd::TooLong { max_len, size }) => (
            CloseReason::MessageTooLong { max_len, size },
            After::SendClose(CloseCode::Size),
        ),
        Ending::Read(ReadEnd::Failed(err)) | Ending::Failed(err) => {
            (CloseReason::Io(err.into()), After::Nothing)
        }
        Ending::WriterClosed => (
            CloseReason::Io(io::Error::from(io::ErrorKind::BrokenPipe).into()),
            After::Nothing,
        ),
        // A peer that is only slow may still read this and learn why.
        Ending::Unresponsive(timeout) => (
            CloseReason::Unresponsive { timeout },
            After::SendClose(CloseCode::Away),
        ),
    };
    if reader.dropped > 0 {
        tracing::warn!(
            frames = reader.dropped,
            "dropped inbound WebSocket frames while closing: the receiver's queue was full"
        );
    }
    report.publish(CloseReport::new(reason));
    // Only now: a reader that sees the end of the frames finds the report.
    drop(inbound);
    drop(outbound);

    match after {
        After::Nothing => {}
        After::SendClose(code) => {
            let sent = tokio::time::timeout(CLOSE_PATIENCE, sink.send(close_message(code))).await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::debug!("the WebSocket close frame could not be sent");
            }
        }
        // tungstenite queued the answer to the peer's close frame; reading
        // on writes it and waits for the peer to close the socket.
        After::FinishPeerClose => {
            let _ = tokio::time::timeout(CLOSE_PATIENCE, async {
                while reader.stream.next().await.is_some() {}
            })
            .await;
        }
    }
    if let Some(done) = done {
        done.finish(Ok(()));
    }
}

/// Reads messages and delivers their payloads as frames.
///
/// The frame in hand is kept here between calls, so that
/// [`run`](Self::run) can be dropped at any await point (it is one branch of
/// the driver's `select!`) without losing a frame.
struct Reader {
    stream: WsStream,
    pending: Option<Bytes>,
    dropped: u64,
}

impl Reader {
    /// Reads and delivers frames until the connection ends. Frames are
    /// discarded once the receiver is gone: the peer must still be read, or
    /// its close frame would never be seen. Pings are answered by
    /// tungstenite on the next read, which follows at once.
    ///
    /// # Cancel safety
    /// Cancel safe: a frame read but not delivered stays for the next call.
    async fn run(
        &mut self,
        inbound: &mpsc::Sender<Inbound>,
        clock: &PingClock,
        delivery: Delivery,
    ) -> ReadEnd {
        loop {
            if let Some(frame) = self.pending.take() {
                match delivery {
                    Delivery::Wait => {
                        // Put back before waiting, so a cancelled wait keeps it.
                        self.pending = Some(frame);
                        let permit = inbound.reserve().await;
                        let frame = self.pending.take();
                        if let (Ok(permit), Some(frame)) = (permit, frame) {
                            permit.send(Ok(frame));
                        }
                    }
                    Delivery::DropWhenFull => match inbound.try_reserve() {
                        Ok(permit) => permit.send(Ok(frame)),
                        Err(TrySendError::Full(())) => self.dropped += 1,
                        Err(TrySendError::Closed(())) => {}
                    },
                }
                continue;
            }
            let message = self.stream.next().await;
            clock.heard();
            match message {
                None => return ReadEnd::Eof,
                Some(Ok(Message::Text(text))) => self.pending = as_frame(Bytes::from(text)),
                Some(Ok(Message::Binary(bytes))) => self.pending = as_frame(bytes),
                Some(Ok(Message::Close(frame))) => return close_end(frame),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(err)) => return read_error(err),
            }
        }
    }
}

/// A message's payload as a frame: without a trailing line terminator, as
/// the line-framed transports deliver them; `None` for an empty one, which
/// they skip.
fn as_frame(mut payload: Bytes) -> Option<Bytes> {
    if payload.last() == Some(&b'\n') {
        payload.truncate(payload.len() - 1);
        if payload.last() == Some(&b'\r') {
            payload.truncate(payload.len() - 1);
        }
    }
    (!payload.is_empty()).then_some(payload)
}

fn close_end(frame: Option<CloseFrame>) -> ReadEnd {
    match frame {
        Some(frame) => ReadEnd::CloseFrame {
            code: frame.code.into(),
            reason: one_line(&frame.reason, MAX_CLOSE_REASON),
        },
        None => ReadEnd::CloseFrame {
            code: CloseCode::Status.into(),
            reason: String::new(),
        },
    }
}

fn read_error(err: WsError) -> ReadEnd {
    match err {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ReadEnd::Eof,
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => ReadEnd::TooLong {
            max_len: max_size,
            size,
        },
        WsError::Io(err) => ReadEnd::Failed(err),
        other => ReadEnd::Failed(io::Error::new(io::ErrorKind::InvalidData, other)),
    }
}

/// Writes frames as text messages until every sender is gone or the socket
/// fails, flushing whenever the queue is momentarily empty: under load
/// frames share writes, while a lone frame goes out at once. Pings go out
/// when due, between frames or while waiting for one.
///
/// # Cancel safety
/// Cancel safe: a frame taken from the queue waits in `in_hand` until
/// tungstenite takes it whole, and tungstenite writes whole frames, so the
/// wire stays consistent.
async fn write_frames(
    sink: &mut WsSink,
    outbound: &mut mpsc::Receiver<Bytes>,
    in_hand: &mut Option<Bytes>,
    clock: &PingClock,
) -> WriteEnd {
    loop {
        if clock.next_ping().is_some_and(|due| due <= Instant::now()) {
            if let Err(end) = send_ping(sink).await {
                return end;
            }
            clock.sent();
        }
        if in_hand.is_none() {
            match outbound.try_recv() {
                Ok(frame) => *in_hand = Some(frame),
                Err(TryRecvError::Disconnected) => {
                    return match sink.flush().await {
                        Ok(()) => WriteEnd::SendersGone,
                        Err(err) => write_error(err),
                    };
                }
                Err(TryRecvError::Empty) => {
                    if let Err(err) = sink.flush().await {
                        return write_error(err);
                    }
                    let next_ping = clock.next_ping();
                    tokio::select! {
                        frame = outbound.recv() => match frame {
                            Some(frame) => *in_hand = Some(frame),
                            None => return WriteEnd::SendersGone,
                        },
                        // The loop's top sends it.
                        () = sleep_until_some(next_ping), if next_ping.is_some() => continue,
                    }
                }
            }
        }
        if let Err(end) = send_in_hand(sink, in_hand).await {
            return end;
        }
    }
}

/// Hands the frame in hand to tungstenite as a text message, once it has
/// room; the frame leaves `in_hand` only then.
///
/// # Cancel safety
/// Cancel safe: nothing awaits between taking the frame and handing it over.
async fn send_in_hand(sink: &mut WsSink, in_hand: &mut Option<Bytes>) -> Result<(), WriteEnd> {
    poll_fn(|cx| sink.poll_ready_unpin(cx))
        .await
        .map_err(write_error)?;
    let Some(frame) = in_hand.take() else {
        return Ok(());
    };
    let len = frame.len();
    let text = Utf8Bytes::try_from(frame).map_err(|_| {
        WriteEnd::Failed(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "an outbound frame of {len} bytes is not UTF-8, so it cannot be a text message"
            ),
        ))
    })?;
    sink.start_send_unpin(Message::Text(text))
        .map_err(write_error)
}

/// Sends a ping and flushes it.
///
/// # Cancel safety
/// Cancel safe as [`send_in_hand`] is: the ping is handed over whole or not
/// at all, and a flush can be repeated.
async fn send_ping(sink: &mut WsSink) -> Result<(), WriteEnd> {
    poll_fn(|cx| sink.poll_ready_unpin(cx))
        .await
        .map_err(write_error)?;
    sink.start_send_unpin(Message::Ping(Bytes::new()))
        .map_err(write_error)?;
    sink.flush().await.map_err(write_error)
}

fn write_error(err: WsError) -> WriteEnd {
    match err {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::SendAfterClosing) => WriteEnd::Closing,
        WsError::Io(err) => WriteEnd::Failed(err),
        other => WriteEnd::Failed(io::Error::other(other)),
    }
}

fn close_message(code: CloseCode) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(""),
    }))
}
