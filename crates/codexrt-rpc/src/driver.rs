//! The rpc loop: the single owner of the pending-call table, and the router of
//! every inbound frame.

use std::mem;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use codexrt_transport::{CloseReason, CloseReport, Closer, FrameReceiver, Inbound};
use serde_json::value::RawValue;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::call::Shared;
use crate::envelope::{self, Message, Rejected};
use crate::incoming::IncomingRequest;
use crate::pending::{Delivery, Outcome, Pending};
use crate::responder::Replies;
use crate::stats::bump;
use crate::{ErrorObject, Incoming, LagReport, MalformedFrame, RequestId};

/// How long the loop waits for the transport's close report once the peer is
/// gone, before it makes do with what it has: pending calls must fail
/// promptly even if a transport is slow to report.
const REPORT_WAIT: Duration = Duration::from_millis(500);

/// A call announcing itself to the loop before its request is written.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) id: RequestId,
    pub(crate) reply: oneshot::Sender<Outcome>,
}

pub(crate) struct Driver {
    pub(crate) receiver: FrameReceiver,
    pub(crate) closer: Closer,
    pub(crate) registrations: mpsc::Receiver<Registration>,
    pub(crate) cancels: mpsc::Receiver<RequestId>,
    pub(crate) incoming: mpsc::Sender<Incoming>,
    pub(crate) replies: Replies,
    pub(crate) pending: Pending,
    /// What was dropped since the last `Lagged` item was delivered.
    pub(crate) lag: LagReport,
    pub(crate) shared: Arc<Shared>,
    pub(crate) closed: watch::Sender<Option<Arc<CloseReport>>>,
}

enum Event {
    Register(Option<Registration>),
    Cancel(Option<RequestId>),
    Frame(Option<Inbound>),
    IncomingGone,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut handles_alive = true;
        let mut cancels_open = true;
        let mut incoming_alive = true;
        loop {
            if self.shared.sweep_requested.swap(false, Ordering::Acquire) {
                self.pending.sweep();
            }
            if !handles_alive && !incoming_alive {
                // Nobody can call or listen anymore. Dropping the closer and
                // the receiver lets the transport tear the medium down.
                return;
            }
            // A caller registers its id before it writes its request, so a
            // registration is queued before the answer can exist. Polling the
            // registration queue first (`biased`) means that by the time a
            // frame is taken, every registration queued before it was seen
            // has been processed. The one gap left, a registration queued in
            // the instant between the two polls of one `select!` whose answer
            // already arrived, is closed in `catch_up`, which drains the
            // queue before an answer's id is called unmatched. The loop never awaits a
            // write or the incoming queue, so answers are never stuck behind
            // unread notifications or a full outbound queue.
            let event = tokio::select! {
                biased;
                registration = self.registrations.recv(), if handles_alive => Event::Register(registration),
                id = self.cancels.recv(), if cancels_open => Event::Cancel(id),
                frame = self.receiver.recv() => Event::Frame(frame),
                () = self.incoming.closed(), if incoming_alive => Event::IncomingGone,
            };
            match event {
                Event::Register(Some(Registration { id, reply })) => {
                    self.pending.register(id, reply)
                }
                Event::Register(None) => handles_alive = false,
                Event::Cancel(Some(id)) => self.pending.cancel(&id),
                Event::Cancel(None) => cancels_open = false,
                Event::Frame(Some(frame)) => self.on_frame(frame),
                Event::Frame(None) => return self.peer_gone().await,
                Event::IncomingGone => incoming_alive = false,
            }
        }
    }

    fn on_frame(&mut self, frame: Inbound) {
        let message = match frame {
            Ok(frame) => envelope::parse(&frame),
            Err(err) => Err(Rejected::skipped(err)),
        };
        match message {
            Ok(Message::Response { id, outcome }) => self.on_response(&id, outcome),
            Ok(Message::Request { id, method, params }) => self.on_request(id, method, params),
            Ok(Message::Notification(notification)) => {
                self.deliver(Incoming::Notification(notification));
            }
            Err(Rejected { frame, answer_to }) => {
                bump(&self.shared.counters.malformed_frames);
                tracing::debug!(malformed = %frame, "malformed frame");
                if let Some(id) = answer_to {
                    self.on_malformed_response(&id, &frame);
                }
                // Reported even when a call got it: the report stream is
                // where every protocol violation can be seen, whoever else
                // learns of it.
                self.deliver(Incoming::Malformed(frame));
            }
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
            while let Ok(Registration { id, reply }) = self.registrations.try_recv() {
                self.pending.register(id, reply);
            }
        }
    }

    fn on_request(&mut self, id: RequestId, method: String, params: Option<Box<RawValue>>) {
        if self.incoming.is_closed() {
            bump(&self.shared.counters.unhandled_requests);
            tracing::debug!(%id, method, "server request while nobody receives incoming traffic");
            self.reject(&id, ErrorObject::METHOD_NOT_FOUND, "method not found");
            return;
        }
        match self.replies.responder(id, method) {
            Ok(responder) => self.deliver(Incoming::Request(IncomingRequest { params, responder })),
            Err((id, method)) => {
                bump(&self.shared.counters.overloaded_requests);
                self.lag.requests += 1;
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

    /// Queues an item for the user without waiting. On overflow the item is
    /// dropped (a server request is refused) and counted in `lag`, which is
    /// delivered first once there is room for it and the next item.
    fn deliver(&mut self, item: Incoming) {
        if self.incoming.is_closed() {
            return self.discard(item);
        }
        if !self.lag.is_empty() {
            // Only the loop sends, so the room can only grow after this check.
            if self.incoming.capacity() < 2 {
                return self.overflow(item);
            }
            let lag = mem::take(&mut self.lag);
            if let Err(TrySendError::Full(lag) | TrySendError::Closed(lag)) =
                self.incoming.try_send(Incoming::Lagged(lag))
            {
                self.overflow(lag);
            }
        }
        match self.incoming.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(item)) => self.overflow(item),
            Err(TrySendError::Closed(item)) => self.discard(item),
        }
    }

    /// Drops an item that did not fit into the incoming queue.
    fn overflow(&mut self, item: Incoming) {
        let counters = &self.shared.counters;
        match item {
            Incoming::Notification(notification) => {
                bump(&counters.dropped_notifications);
                self.lag.notifications += 1;
                tracing::debug!(
                    method = notification.method,
                    "incoming queue full; notification dropped"
                );
            }
            Incoming::Request(request) => {
                bump(&counters.overloaded_requests);
                self.lag.requests += 1;
                tracing::warn!(id = %request.id(), method = request.method(), "incoming queue full; server request refused");
                let (_, responder) = request.into_parts();
                responder.respond_error(ErrorObject::new(
                    ErrorObject::OVERLOADED,
                    "client overloaded",
                ));
            }
            Incoming::Malformed(_) => {
                bump(&counters.dropped_malformed);
                self.lag.malformed += 1;
            }
            Incoming::Lagged(lag) => {
                self.lag.notifications += lag.notifications;
                self.lag.requests += lag.requests;
                self.lag.malformed += lag.malformed;
            }
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
            Incoming::Lagged(_) => {}
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
        while let Ok(Registration { id, reply }) = self.registrations.try_recv() {
            self.pending.register(id, reply);
        }
        self.pending.close(&report);
        if !self.lag.is_empty() {
            let lag = mem::take(&mut self.lag);
            // There is no later item for the report to precede, but a full
            // queue must not swallow it: wait a bounded moment for room. The
            // calls have already failed, so nothing else waits on the loop.
            let _ =
                tokio::time::timeout(REPORT_WAIT, self.incoming.send(Incoming::Lagged(lag))).await;
        }
    }
}
