//! Answers to server requests: the [`Responder`] that replies exactly once,
//! and the bounded reply path that lets it reply from `Drop`.

use bytes::Bytes;
use codexrt_transport::{FrameSender, TrySendError};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::sync::oneshot;

use crate::encode::Encoder;
use crate::{ErrorObject, RequestId, RpcError};

/// Reply slots kept free of responders, for the error replies the loop sends
/// itself (overload, no receiver). Responders may use every other slot.
const LOOP_REPLY_SLOTS: usize = 32;

/// Answers one server request, exactly once.
///
/// Every way of answering consumes the responder. A responder dropped without
/// an answer replies with [`ErrorObject::INTERNAL_ERROR`] ("request dropped
/// without a reply"), so the peer never waits for an answer that will not
/// come.
///
/// Replying never waits: the reply goes straight to the transport when its
/// queue has room, and otherwise into a slot of the bounded reply queue,
/// reserved when the request was handed out, which a small task writes out
/// in order. If the connection is closed, the reply is discarded.
#[derive(Debug)]
pub struct Responder {
    id: RequestId,
    method: String,
    encoder: Encoder,
    // `None` once the reply was queued (or the request abandoned).
    permit: Option<OwnedPermit<Reply>>,
    /// The transport's own queue, for the direct way.
    direct: FrameSender,
}

/// An item of the reply queue.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A reply frame to write.
    Frame(Bytes),
    /// Answered once every reply queued before it was handed to the
    /// transport.
    Flush(oneshot::Sender<()>),
}

impl Responder {
    /// The method of the request being answered.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The id of the request being answered; the reply echoes it exactly.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// Answers with `result`.
    ///
    /// # Errors
    /// [`RpcError::Encode`] when `result` cannot be serialized; the peer is
    /// then answered with [`ErrorObject::INTERNAL_ERROR`] instead.
    pub fn respond(mut self, result: impl Serialize) -> Result<(), RpcError> {
        match self.encoder.result(&self.id, &result) {
            Ok(frame) => {
                self.send(frame);
                Ok(())
            }
            Err(source) => {
                let error =
                    ErrorObject::new(ErrorObject::INTERNAL_ERROR, "failed to encode the reply");
                let frame = self.encoder.error(&self.id, &error);
                self.send(frame);
                Err(RpcError::Encode {
                    method: std::mem::take(&mut self.method),
                    source,
                })
            }
        }
    }

    /// Answers with a result that is already JSON.
    pub fn respond_raw(mut self, result: &RawValue) {
        // Serializing a `RawValue` cannot fail; if it ever did, the peer
        // would still get exactly one answer.
        let frame = match self.encoder.result(&self.id, &result) {
            Ok(frame) => frame,
            Err(_) => self.encoder.error(
                &self.id,
                &ErrorObject::new(ErrorObject::INTERNAL_ERROR, "failed to encode the reply"),
            ),
        };
        self.send(frame);
    }

    /// Answers with an error.
    pub fn respond_error(mut self, error: ErrorObject) {
        let frame = self.encoder.error(&self.id, &error);
        self.send(frame);
    }

    /// Sends no answer at all, for a request the peer itself withdrew (for
    /// example one it told us it resolved otherwise). The reply slot is
    /// freed. Answering a request the peer still waits for is what the other
    /// methods, and dropping, are for.
    pub fn abandon(mut self) {
        self.permit = None;
    }

    fn send(&mut self, frame: Bytes) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        // Straight to the transport saves the reply a hop through the
        // writer task, the common case; the reserved slot is the fallback
        // that keeps replying from ever waiting. Replies to different
        // requests may so overtake each other, which JSON-RPC allows, and a
        // flush still waits for every reply given before it: a direct one is
        // with the transport already.
        match self.direct.try_send(frame) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(frame)) => {
                permit.send(Reply::Frame(frame));
            }
            Err(_) => {}
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.permit.is_some() {
            let error = ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "request dropped without a reply",
            );
            let frame = self.encoder.error(&self.id, &error);
            self.send(frame);
        }
    }
}

/// The loop's side of the reply queue: it hands out responders and sends its
/// own error replies.
///
/// The queue holds `max_unanswered + LOOP_REPLY_SLOTS` frames. A responder is
/// only handed out while more than `LOOP_REPLY_SLOTS` slots are free, so
/// responders never take the last slots; the loop's own replies use
/// `try_send`, which cannot block the loop, and the slots they take are freed
/// as soon as the writer passes them on. They can only run out when the peer
/// stops reading while still sending requests; such replies are counted and
/// dropped rather than queued without bound.
#[derive(Debug)]
pub(crate) struct Replies {
    tx: mpsc::Sender<Reply>,
    encoder: Encoder,
    direct: FrameSender,
}

impl Replies {
    /// Creates the reply queue and spawns its writer task.
    pub(crate) fn spawn(sender: FrameSender, max_unanswered: usize, encoder: Encoder) -> Self {
        let (tx, rx) = mpsc::channel(
            max_unanswered
                .saturating_add(LOOP_REPLY_SLOTS)
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        );
        let direct = sender.clone();
        tokio::spawn(tracing::Instrument::in_current_span(write_replies(
            rx, sender,
        )));
        Replies {
            tx,
            encoder,
            direct,
        }
    }

    /// A responder for a request, or the request's id and method back when
    /// too many server requests are unanswered.
    pub(crate) fn responder(
        &self,
        id: RequestId,
        method: String,
    ) -> Result<Responder, (RequestId, String)> {
        // Only the loop reserves slots, and everyone else only frees them, so
        // the check cannot be invalidated before the reservation.
        if self.tx.capacity() <= LOOP_REPLY_SLOTS {
            return Err((id, method));
        }
        match self.tx.clone().try_reserve_owned() {
            Ok(permit) => Ok(Responder {
                id,
                method,
                encoder: self.encoder,
                permit: Some(permit),
                direct: self.direct.clone(),
            }),
            Err(_) => Err((id, method)),
        }
    }

    /// Sends an error reply from the loop without waiting. Returns `false`
    /// when the queue is full or closed and the reply was dropped.
    pub(crate) fn reject(&self, id: &RequestId, error: &ErrorObject) -> bool {
        self.tx
            .try_send(Reply::Frame(self.encoder.error(id, error)))
            .is_ok()
    }

    /// A handle that waits until the replies queued so far reached the
    /// transport.
    pub(crate) fn flusher(&self) -> ReplyFlusher {
        ReplyFlusher {
            tx: self.tx.clone(),
        }
    }
}

/// Waits for the reply queue to be written out; held by the handles, so that
/// a shutdown does not cut off answers queued just before it.
#[derive(Debug, Clone)]
pub(crate) struct ReplyFlusher {
    tx: mpsc::Sender<Reply>,
}

impl ReplyFlusher {
    /// Returns once every reply queued before the call was handed to the
    /// transport, or at once when the connection is closed.
    pub(crate) async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(Reply::Flush(done)).await.is_ok() {
            // An error means the writer stopped: nothing is left to wait for.
            let _ = flushed.await;
        }
    }
}

/// Forwards replies to the connection, in the order they were queued.
async fn write_replies(mut replies: mpsc::Receiver<Reply>, sender: FrameSender) {
    while let Some(reply) = replies.recv().await {
        match reply {
            Reply::Frame(frame) => {
                if sender.send(frame).await.is_err() {
                    // The connection is closed: later replies have nowhere to
                    // go, and dropping the receiver discards them (a waiting
                    // flush sees its sender dropped and returns).
                    break;
                }
            }
            // Everything before it was handed over; whoever asked may have
            // stopped waiting.
            Reply::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}
