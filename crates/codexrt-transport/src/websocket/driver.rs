//! The task that serves a WebSocket connection's [`Endpoint`]: it pumps
//! frames both ways, obeys the connection's [`Closer`](crate::Closer)s, and
//! decides and publishes how the connection ended.

use std::future::poll_fn;
use std::io;
use std::pin::pin;
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
pub(super) async fn drive(endpoint: Endpoint, ws: Ws) {
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
    let ending = {
        let mut writer = pin!(write_frames(&mut sink, &mut outbound, &mut in_hand));
        loop {
            if closers_gone && senders_gone && receiver_gone {
                break Ending::Dropped;
            }
            // No `biased`: reading and writing only complete when the socket
            // does, so a fixed order would let one starve the other.
            tokio::select! {
                request = control.recv(), if !closers_gone => match request {
                    Some(Control::Shutdown { grace, done }) => break Ending::Shutdown { grace, done },
                    None => closers_gone = true,
                },
                () = inbound.closed(), if !receiver_gone => receiver_gone = true,
                end = reader.run(&inbound, Delivery::Wait) => break Ending::Read(end),
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
            match tokio::time::timeout(CLOSE_PATIENCE, reader.run(&inbound, Delivery::Wait)).await {
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
                tokio::join!(closing, reader.run(&inbound, Delivery::DropWhenFull))
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
    async fn run(&mut self, inbound: &mpsc::Sender<Inbound>, delivery: Delivery) -> ReadEnd {
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
            match self.stream.next().await {
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
/// frames share writes, while a lone frame goes out at once.
///
/// # Cancel safety
/// Cancel safe: a frame taken from the queue waits in `in_hand` until
/// tungstenite takes it whole, and tungstenite writes whole frames, so the
/// wire stays consistent.
async fn write_frames(
    sink: &mut WsSink,
    outbound: &mut mpsc::Receiver<Bytes>,
    in_hand: &mut Option<Bytes>,
) -> WriteEnd {
    loop {
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
                    match outbound.recv().await {
                        Some(frame) => *in_hand = Some(frame),
                        None => return WriteEnd::SendersGone,
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
