//! The rpc loop: the single owner of the pending-call table, and the router of
//! every inbound frame.

use std::sync::Arc;
use std::time::Duration;

use codexrt_transport::redact::FrameDigest;
use codexrt_transport::{CloseReason, CloseReport, Closer, FrameError, FrameReceiver, Inbound};
use serde_json::value::RawValue;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use crate::OnAnswer;
use crate::call::Shared;
use crate::envelope::{self, Message, Rejected};
use crate::incoming::IncomingRequest;
use crate::pending::{Delivery, Outcome, Pending};
use crate::responder::Replies;
use crate::stats::bump;
use crate::sync::oneshot;
use crate::{
    ErrorObject, InboundHandler, Incoming, MalformedFrame, Notification, RequestId,
    UncheckedRequest,
};

/// How long the loop waits for the transport's close report once the peer is
/// gone, before it makes do with what it has: pending calls must fail
/// promptly even if a transport is slow to report.
const REPORT_WAIT: Duration = Duration::from_millis(500);

/// How many ready frames the loop handles in one go before it tells a
/// handler the batch is over and looks at its other queues again: enough to
/// wake a reader once per read from the pipe rather than once per message,
/// few enough that a flood never keeps a reader waiting long.
const BATCH: usize = 128;

/// A call announcing itself to the loop before its request is written.
pub(crate) struct Registration {
    pub(crate) id: RequestId,
    pub(crate) reply: oneshot::Sender<Outcome>,
    pub(crate) on_answer: Option<OnAnswer>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("on_answer", &self.on_answer.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Driver {
    pub(crate) receiver: FrameReceiver,
    pub(crate) closer: Closer,
    pub(crate) registrations: mpsc::Receiver<Registration>,
    pub(crate) cancels: mpsc::Receiver<RequestId>,
    pub(crate) sink: Sink,
    pub(crate) replies: Replies,
    pub(crate) pending: Pending,
    pub(crate) shared: Arc<Shared>,
    pub(crate) closed: watch::Sender<Option<Arc<CloseReport>>>,
}

/// Where traffic the peer sends unasked goes.
pub(crate) enum Sink {
    /// The queue of an [`IncomingReceiver`](crate::IncomingReceiver). When
    /// it is full the loop stops reading frames until there is room: the
    /// reader holds the peer back, and nothing is dropped.
    Channel(mpsc::Sender<Incoming>),
    /// A handler called on the loop itself, which never waits.
    Handler(Box<dyn InboundHandler>),
}

impl Sink {
    /// Whether someone still takes inbound traffic.
    fn is_open(&self) -> bool {
        match self {
            Sink::Channel(tx) => !tx.is_closed(),
            Sink::Handler(_) => true,
        }
    }

    /// Whether the loop must wait for room before it reads the next frame.
    fn is_full(&self) -> bool {
        matches!(self, Sink::Channel(tx) if tx.capacity() == 0 && !tx.is_closed())
    }

    /// The queue of a channel sink.
    fn channel(&self) -> Option<&mpsc::Sender<Incoming>> {
        match self {
            Sink::Channel(tx) => Some(tx),
            Sink::Handler(_) => None,
        }
    }
}

/// Resolves once a full channel has room again (or closed); the permit is
/// given back at once, and since only the loop sends, the room stays.
async fn room(channel: Option<&mpsc::Sender<Incoming>>) {
    if let Some(tx) = channel {
        drop(tx.reserve().await);
    }
}

/// Resolves when the receiver of a channel sink is dropped; never for a
/// handler, which lives as long as the loop.
async fn gone(channel: Option<&mpsc::Sender<Incoming>>) {
    match channel {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

enum Event {
    Register(Option<Registration>),
    Cancel(Option<RequestId>),
    Frame(Option<Inbound>),
    Room,
    IncomingGone,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut handles_alive = true;
        let mut cancels_open = true;
        loop {
            if self.shared.take_sweep_request() {
                self.pending.sweep();
            }
            let listening = self.sink.channel().is_some_and(|tx| !tx.is_closed());
            if !handles_alive && !listening {
                // Nobody can call anymore, and no receiver listens (a
                // handler belongs to whoever held the handles). Dropping the
                // closer and the receiver lets the transport tear the medium
                // down.
                return;
            }
            // A caller registers its id before it writes its request, so a
            // registration is queued before the answer can exist. Polling the
            // registration queue first (`biased`) means that by the time a
            // frame is taken, every registration queued before it was seen
            // has been processed. The one gap left, a registration queued in
            // the instant between the two polls of one `select!` whose answer
            // already arrived, is closed in `catch_up`, which drains the
            // queue before an answer's id is called unmatched. The loop never
            // awaits a write. With a channel sink it waits for the receiver's
            // room before it reads a frame (each frame yields at most one
            // item), so nothing is ever dropped; a handler sink is called in
            // place and never waits.
            let full = self.sink.is_full();
            let channel = self.sink.channel();
            let event = tokio::select! {
                biased;
                registration = self.registrations.recv(), if handles_alive => Event::Register(registration),
                id = self.cancels.recv(), if cancels_open => Event::Cancel(id),
                () = room(channel), if full => Event::Room,
                frame = self.receiver.recv(), if !full => Event::Frame(frame),
                () = gone(channel), if listening => Event::IncomingGone,
            };
            match event {
                Event::Register(Some(registration)) => self.pending.register(registration),
                Event::Register(None) => handles_alive = false,
                Event::Cancel(Some(id)) => self.pending.cancel(&id),
                Event::Cancel(None) => cancels_open = false,
                Event::Frame(Some(frame)) => {
                    self.on_frame(frame);
                    self.drain();
                }
                Event::Frame(None) => return self.peer_gone().await,
                Event::Room | Event::IncomingGone => {}
            }
        }
    }

    /// Handles the frames that are ready now, as long as the sink can take
    /// them, then tells a handler that the batch is over. Registrations
    /// queued meanwhile are taken in `catch_up` before an answer is called
    /// unmatched, so the batch cannot misroute one.
    fn drain(&mut self) {
        for _ in 0..BATCH {
            if self.sink.is_full() {
                break;
            }
            match self.receiver.try_recv() {
                Some(frame) => self.on_frame(frame),
                None => break,
            }
        }
        if let Sink::Handler(handler) = &mut self.sink {
            handler.idle();
        }
    }

    fn on_frame(&mut self, frame: Inbound) {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                let digest = match &err {
                    FrameError::TooLong { prefix, .. } => FrameDigest::of(prefix),
                    _ => FrameDigest::of(&[]),
                };
                return self.on_rejected(Rejected::skipped(err), digest);
            }
        };
        if let Sink::Handler(handler) = &mut self.sink
            && let Some(unchecked) = envelope::unchecked(&frame)
        {
            match unchecked.id {
                None => {
                    if handler.unchecked_notification(unchecked.method, unchecked.params) {
                        return;
                    }
                }
                // Refused here (too many unanswered), it is refused again,
                // and counted, on the usual way.
                Some(id) => {
                    if let Ok(responder) = self.replies.responder(id, unchecked.method.to_owned()) {
                        let request = UncheckedRequest {
                            params: unchecked.params,
                            responder,
                        };
                        match handler.unchecked_request(request) {
                            None => return,
                            Some(declined) => declined.responder.abandon(),
                        }
                    }
                }
            }
        }
        match envelope::parse(&frame) {
            Ok(Message::Response { id, outcome }) => {
                self.on_response(&id, outcome.map(ToOwned::to_owned));
            }
            Ok(Message::Request { id, method, params }) => {
                self.on_request(id, method.into_owned(), params.map(ToOwned::to_owned));
            }
            Ok(Message::Notification { method, params }) => self.on_notification(&method, params),
            Err(rejected) => self.on_rejected(rejected, FrameDigest::of(&frame)),
        }
    }

    fn on_notification(&mut self, method: &str, params: Option<&RawValue>) {
        match &mut self.sink {
            Sink::Handler(handler) => handler.notification(method, params),
            Sink::Channel(_) => self.deliver(Incoming::Notification(Notification {
                method: method.to_owned(),
                params: params.map(ToOwned::to_owned),
            })),
        }
    }

    /// `digest` names the frame in the log: its content is the peer's.
    fn on_rejected(&mut self, Rejected { frame, answer_to }: Rejected, digest: FrameDigest) {
        bump(&self.shared.counters.malformed_frames);
        tracing::debug!(problem = %frame.problem, frame = %digest, "malformed frame");
        if let Some(id) = answer_to {
            self.on_malformed_response(&id, &frame);
        }
        // Reported even when a call got it: the report stream is where
        // every protocol violation can be seen, whoever else learns of it.
        match &mut self.sink {
            Sink::Handler(handler) => handler.malformed(frame),
            Sink::Channel(_) => self.deliver(Incoming::Malformed(frame)),
        }
    }

    fn on_response(&mut self, id: &RequestId, outcome: Result<Box<RawValue>, ErrorObject>) {
        self.catch_up(id);
        match self.pending.answer(id, outcome) {
            Delivery::Delivered => {}
            Delivery::Late => {
                bump(&self.shared.counters.late_responses);
                tracing::debug!(%id, "dropped an answer to an abandoned call");
            }
            Delivery::Unmatched => {
                bump(&self.shared.counters.unmatched_responses);
                tracing::warn!(%id, "dropped an answer that matches no call");
            }
        }
    }

    /// Fails the call a malformed answer names. It is already counted as a
    /// malformed frame; only its lateness is counted besides, so that
    /// `late_responses` covers every answer to an abandoned call, readable or
    /// not, while `unmatched_responses` stays a count of well-formed answers.
    fn on_malformed_response(&mut self, id: &RequestId, frame: &MalformedFrame) {
        self.catch_up(id);
        match self.pending.reject(id, frame) {
            Delivery::Delivered => {
                tracing::debug!(%id, "failed a call whose answer could not be read");
            }
            Delivery::Late => bump(&self.shared.counters.late_responses),
            Delivery::Unmatched => {}
        }
    }

    /// Processes the registrations queued so far when an answer finds no
    /// call, which closes the gap described in `run`.
    fn catch_up(&mut self, id: &RequestId) {
        if !self.pending.is_waiting(id) {
            while let Ok(registration) = self.registrations.try_recv() {
                self.pending.register(registration);
            }
        }
    }

    fn on_request(&mut self, id: RequestId, method: String, params: Option<Box<RawValue>>) {
        if !self.sink.is_open() {
            bump(&self.shared.counters.unhandled_requests);
            tracing::debug!(%id, method, "server request while nobody receives incoming traffic");
            self.reject(&id, ErrorObject::METHOD_NOT_FOUND, "method not found");
            return;
        }
        match self.replies.responder(id, method) {
            Ok(responder) => {
                let request = IncomingRequest { params, responder };
                match &mut self.sink {
                    Sink::Handler(handler) => handler.request(request),
                    Sink::Channel(_) => self.deliver(Incoming::Request(request)),
                }
            }
            Err((id, method)) => {
                bump(&self.shared.counters.overloaded_requests);
                tracing::warn!(%id, method, "too many unanswered server requests; refused");
                self.reject(&id, ErrorObject::OVERLOADED, "client overloaded");
            }
        }
    }

    fn reject(&self, id: &RequestId, code: i64, message: &str) {
        if !self.replies.reject(id, &ErrorObject::new(code, message)) {
            bump(&self.shared.counters.unsent_replies);
            tracing::warn!(%id, code, "could not queue an error reply; the peer is not reading");
        }
    }

    /// Queues an item on the channel sink. The loop made room before it
    /// read the frame this item came from, and only the loop sends, so the
    /// queue cannot be full; it can only be closed, and then the item is
    /// discarded (a server request answered) and counted.
    fn deliver(&mut self, item: Incoming) {
        let Sink::Channel(tx) = &self.sink else {
            return;
        };
        if let Err(TrySendError::Full(item) | TrySendError::Closed(item)) = tx.try_send(item) {
            self.discard(item);
        }
    }

    /// Drops an item because the incoming receiver is gone.
    fn discard(&mut self, item: Incoming) {
        let counters = &self.shared.counters;
        match item {
            Incoming::Notification(_) => bump(&counters.dropped_notifications),
            Incoming::Request(request) => {
                bump(&counters.unhandled_requests);
                let (_, responder) = request.into_parts();
                responder.respond_error(ErrorObject::new(
                    ErrorObject::METHOD_NOT_FOUND,
                    "method not found",
                ));
            }
            Incoming::Malformed(_) => bump(&counters.dropped_malformed),
        }
    }

    /// The peer is gone: fail every pending call with the close report.
    async fn peer_gone(mut self) {
        let report = match tokio::time::timeout(REPORT_WAIT, self.closer.closed()).await {
            Ok(report) => report,
            Err(_) => self
                .closer
                .report()
                .unwrap_or_else(|| Arc::new(CloseReport::new(CloseReason::PeerClosed))),
        };
        tracing::debug!(%report, "connection closed");
        // Published before the calls are failed, so that a call that finds
        // its registration refused also finds the report.
        self.closed.send_replace(Some(Arc::clone(&report)));
        self.registrations.close();
        while let Ok(registration) = self.registrations.try_recv() {
            self.pending.register(registration);
        }
        self.pending.close(&report);
        if let Sink::Handler(handler) = &mut self.sink {
            handler.closed(&report);
        }
    }
}
