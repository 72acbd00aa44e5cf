//! [`replay`]: a transport that plays the server's side of a recorded
//! [`Transcript`] and checks that the client sends what was recorded.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use codexrt_transport::{
    CloseReason, CloseReport, Connection, Control, DEFAULT_CHANNEL_CAPACITY, Endpoint, ShutdownDone,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::transcript::Matcher;
use crate::{Direction, Frame, Line, Normalizer, ReplayMismatch, Transcript};

/// Replays `transcript` with the default [`Normalizer`]; see [`Replay`].
///
/// # Panics
/// When called outside a Tokio runtime.
pub fn replay(transcript: Transcript) -> (Connection, ReplayHandle) {
    Replay::new(transcript).start()
}

/// A replay of a transcript: the returned connection behaves like the
/// recorded server, as long as the client behaves like the recorded client.
///
/// - Before each `out` line, the replay waits for the client's next frame
///   and compares it with the line as parsed JSON, after normalizing both
///   (see [`Normalizer`]).
/// - `in` lines are sent as soon as every `out` line before them matched.
/// - Request ids may differ from the recording: each recorded `out` request
///   maps its id to the one the client used, and the recorded responses to
///   it are sent with the client's id. Requests of the server's own keep
///   their recorded ids, so the client's answers to them are compared as
///   they are.
/// - On the first difference the connection closes at once, with
///   [`CloseReason::Io`] of kind [`io::ErrorKind::InvalidData`] whose message
///   is the mismatch, and whose inner error
///   ([`get_ref`](io::Error::get_ref)) is the [`ReplayMismatch`] itself;
///   [`ReplayHandle::finish`] returns it too.
/// - When the client closes (or [`finish`](ReplayHandle::finish) is called),
///   the frames it queued are still compared, and an `out` line it never
///   sent is a mismatch. `in` lines after the last `out` line may go
///   unread. The close report says [`CloseReason::Shutdown`] or
///   [`CloseReason::Dropped`] for a client that closed, and
///   [`CloseReason::PeerClosed`] when `finish` (or the end of the client's
///   input) ended the replay.
///
/// ```
/// use codexrt_rpc::{RpcClient, RpcConfig};
/// use codexrt_testkit::{Transcript, replay};
/// use serde_json::{Value, json};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let transcript = Transcript::parse(concat!(
///     r#"{"dir":"out","msg":{"id":"a","method":"thread/start","params":{"cwd":"/tmp/x"}}}"#, "\n",
///     r#"{"dir":"in","msg":{"id":"a","result":{"thread":{"id":"t1"}}}}"#, "\n",
/// ))?;
/// let (connection, replay) = replay(transcript);
/// let (client, _incoming) = RpcClient::start(connection, RpcConfig::new());
/// // A different id (1) and cwd than recorded: both are normalized away.
/// let result: Value = client.call("thread/start", json!({"cwd": "/tmp/y"})).await?;
/// assert_eq!(result["thread"]["id"], "t1");
/// replay.finish().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a replay does nothing until it is started"]
pub struct Replay {
    transcript: Transcript,
    normalizer: Normalizer,
    channel_capacity: usize,
}

impl Replay {
    /// A replay of `transcript`.
    pub fn new(transcript: Transcript) -> Replay {
        Replay {
            transcript,
            normalizer: Normalizer::default(),
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }

    /// The normalizer applied to both sides before comparing. Default:
    /// [`Normalizer::default`].
    pub fn normalizer(mut self, normalizer: Normalizer) -> Replay {
        self.normalizer = normalizer;
        self
    }

    /// How many frames each direction of the connection buffers (at least
    /// 1). Default: [`DEFAULT_CHANNEL_CAPACITY`].
    pub fn channel_capacity(mut self, frames: usize) -> Replay {
        self.channel_capacity = frames;
        self
    }

    /// Starts serving the transcript on a new connection.
    ///
    /// # Panics
    /// When called outside a Tokio runtime: the replay runs on a spawned
    /// task.
    pub fn start(self) -> (Connection, ReplayHandle) {
        let (connection, endpoint) = Connection::channel(self.channel_capacity);
        let (finish_tx, finish_rx) = mpsc::channel(1);
        let task = tokio::spawn(serve(self.transcript, self.normalizer, endpoint, finish_rx));
        (
            connection,
            ReplayHandle {
                finish: finish_tx,
                task,
            },
        )
    }
}

/// Ends a replay and tells whether the client followed the transcript.
#[derive(Debug)]
pub struct ReplayHandle {
    finish: mpsc::Sender<()>,
    task: JoinHandle<Result<(), ReplayMismatch>>,
}

impl ReplayHandle {
    /// Ends the replay, if the client has not closed yet, and returns the
    /// verdict. The frames the client queued before the call are compared;
    /// an `out` line it has not sent is a mismatch.
    ///
    /// # Errors
    /// The first [`ReplayMismatch`].
    ///
    /// # Panics
    /// When the replay task panicked (the panic is passed on).
    ///
    /// # Cancel safety
    /// Cancel safe in that the replay still ends; its verdict is lost with
    /// the handle.
    pub async fn finish(self) -> Result<(), ReplayMismatch> {
        // A full queue holds a request already; a closed one means the
        // replay has ended.
        let _ = self.finish.try_send(());
        match self.task.await {
            Ok(verdict) => verdict,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Only a runtime shutting down cancels the task, and then this
            // future is never polled again.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Why the serving loop stopped.
enum End {
    Mismatch(ReplayMismatch),
    /// `finish` was called, or the client's input ended.
    Finished,
    Shutdown(ShutdownDone),
    Dropped,
}

struct Cursor<'a> {
    lines: &'a [Line],
    next: usize,
    matcher: Matcher<'a>,
}

impl Cursor<'_> {
    /// Compares a frame from the client with the next line.
    fn check(&mut self, frame: &Bytes) -> Result<(), ReplayMismatch> {
        let actual = Line::new(Direction::Out, Frame::from_bytes(frame));
        self.matcher
            .check_line(self.next + 1, self.lines.get(self.next), Some(&actual))?;
        self.next += 1;
        Ok(())
    }

    fn next_line(&self) -> Option<&Line> {
        self.lines.get(self.next)
    }
}

async fn serve(
    transcript: Transcript,
    normalizer: Normalizer,
    mut endpoint: Endpoint,
    mut finish: mpsc::Receiver<()>,
) -> Result<(), ReplayMismatch> {
    let mut cursor = Cursor {
        lines: transcript.lines(),
        next: 0,
        matcher: Matcher::new(&normalizer),
    };
    let mut finish_open = true;
    let end = loop {
        match cursor.next_line() {
            Some(line) if line.dir == Direction::In => {
                let item = cursor.matcher.rewrite_in(line).frame.to_inbound();
                tokio::select! {
                    permit = endpoint.inbound.reserve() => match permit {
                        Ok(permit) => {
                            permit.send(item);
                            cursor.next += 1;
                        }
                        Err(_) => break End::Dropped,
                    },
                    request = endpoint.control.recv() => break closing(request),
                    request = finish.recv(), if finish_open => match request {
                        Some(()) => break End::Finished,
                        None => finish_open = false,
                    },
                }
            }
            _ => {
                tokio::select! {
                    frame = endpoint.outbound.recv() => match frame {
                        Some(frame) => {
                            if let Err(mismatch) = cursor.check(&frame) {
                                break End::Mismatch(mismatch);
                            }
                        }
                        None => break End::Finished,
                    },
                    request = endpoint.control.recv() => break closing(request),
                    request = finish.recv(), if finish_open => match request {
                        Some(()) => break End::Finished,
                        None => finish_open = false,
                    },
                }
            }
        }
    };
    let (reason, done, verdict) = match end {
        End::Mismatch(mismatch) => {
            let error = io::Error::new(io::ErrorKind::InvalidData, mismatch.clone());
            (CloseReason::Io(Arc::new(error)), None, Err(mismatch))
        }
        End::Finished => (
            CloseReason::PeerClosed,
            None,
            settle(&mut cursor, &mut endpoint),
        ),
        End::Shutdown(done) => (
            CloseReason::Shutdown,
            Some(done),
            settle(&mut cursor, &mut endpoint),
        ),
        End::Dropped => (
            CloseReason::Dropped,
            None,
            settle(&mut cursor, &mut endpoint),
        ),
    };
    endpoint.report.publish(CloseReport::new(reason));
    if let Some(done) = done {
        done.finish(Ok(()));
    }
    verdict
}

fn closing(request: Option<Control>) -> End {
    match request {
        Some(Control::Shutdown { done, .. }) => End::Shutdown(done),
        // `Control` may grow requests that close nothing; none exists yet, and
        // treating one as a close is the conservative choice for a replay.
        Some(_) | None => End::Dropped,
    }
}

/// The end of a replay: compares the frames the client queued, sending the
/// `in` lines between them where there is room, then requires that no `out`
/// line is left.
fn settle(cursor: &mut Cursor<'_>, endpoint: &mut Endpoint) -> Result<(), ReplayMismatch> {
    let skip_in = |cursor: &mut Cursor<'_>| {
        while let Some(line) = cursor.next_line().filter(|line| line.dir == Direction::In) {
            // The client is going away: an answer it has no room for is an
            // answer it will not read.
            let _ = endpoint
                .inbound
                .try_send(cursor.matcher.rewrite_in(line).frame.to_inbound());
            cursor.next += 1;
        }
    };
    loop {
        skip_in(cursor);
        match endpoint.outbound.try_recv() {
            Ok(frame) => cursor.check(&frame)?,
            Err(_) => break,
        }
    }
    let number = cursor.next + 1;
    let missing = cursor.next_line().cloned();
    cursor.matcher.check_line(number, missing.as_ref(), None)
}
