//! What the peer sends unasked: notifications, server requests and reports
//! of malformed frames, either on one ordered queue ([`IncomingReceiver`]) or
//! handed to an [`InboundHandler`] on the connection's loop.

use std::sync::Arc;

use codexrt_transport::CloseReport;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::{MalformedFrame, RequestId, Responder};

/// Takes what the peer sends unasked, on the connection's loop itself, in
/// arrival order: the way for a layer above to route traffic without a
/// queue and a task in between. Given to
/// [`RpcClient::start_with_handler`](crate::RpcClient::start_with_handler).
///
/// Every method runs on the loop, between two frames: while it runs, no
/// answer reaches its call. So a handler must return promptly and never
/// block; whatever it cannot finish at once it hands to a queue or a task
/// of its own. The handler lives as long as the loop: until the connection
/// closes (then [`closed`](InboundHandler::closed) is called, after every
/// pending call failed) or every [`RpcClient`](crate::RpcClient) is dropped,
/// whichever comes first; then it is dropped.
pub trait InboundHandler: Send + 'static {
    /// A notification. `params` borrows the frame; `None` when the member
    /// was absent or `null`.
    fn notification(&mut self, method: &str, params: Option<&RawValue>);

    /// A notification offered before its frame is parsed in full, to a
    /// handler that decodes the params anyway and so checks them as it
    /// does: this layer then reads each frame once rather than twice.
    ///
    /// Only frames framed as codex frames notifications are offered:
    /// `{"method":"…","params":…}`, with nothing after the params but
    /// plain members before them. `params` is the frame's bytes from the
    /// params member's value to the object's closing brace, trimmed,
    /// checked neither as UTF-8 nor as JSON. In a valid frame it is the
    /// params' value; in any other, it is not one JSON value (or not UTF-8).
    ///
    /// Return `true` only once `params` was read as exactly one JSON value,
    /// in UTF-8, and the notification handled as [`notification`](InboundHandler::notification)
    /// would have handled it. Return `false` having done nothing else, and
    /// the frame is parsed in full and goes its usual way (so a frame that
    /// is not valid is still reported through
    /// [`malformed`](InboundHandler::malformed)). The default returns
    /// `false`.
    fn unchecked_notification(&mut self, method: &str, params: &[u8]) -> bool {
        let _ = (method, params);
        false
    }

    /// A request from the peer, to be answered through its [`Responder`]
    /// (dropping it unanswered sends an internal error).
    fn request(&mut self, request: IncomingRequest);

    /// A request offered before its frame is parsed in full, as
    /// [`unchecked_notification`](InboundHandler::unchecked_notification)
    /// offers a notification: framed `{"id":…,"method":"…","params":…}`,
    /// with an integer or plain string id, plain members before the params
    /// and nothing after them, and [`UncheckedRequest::params`] the rest of
    /// the frame, trimmed, checked neither as UTF-8 nor as JSON.
    ///
    /// Take it (return `None`) only once the params were read as exactly
    /// one JSON value, in UTF-8, and the request handled as
    /// [`request`](InboundHandler::request) would have handled it: its
    /// responder, from [`UncheckedRequest::into_responder`], is then this
    /// request's one answer. Otherwise give it back unanswered, having done
    /// nothing else: the loop lets its responder go without a reply, parses
    /// the frame in full, and the request goes its usual way (or the frame
    /// is reported as malformed). The default gives every request back.
    fn unchecked_request<'a>(
        &mut self,
        request: UncheckedRequest<'a>,
    ) -> Option<UncheckedRequest<'a>> {
        Some(request)
    }

    /// A frame that is not a valid message, or one the transport skipped.
    fn malformed(&mut self, frame: MalformedFrame);

    /// The connection closed; `report` says why. Called once, after every
    /// pending call failed with the same report.
    fn closed(&mut self, report: &Arc<CloseReport>);

    /// Every frame that was ready has been handled, and the loop is about
    /// to wait for more: the moment to wake whoever waits for what the
    /// handler queued, once for the whole batch rather than once per
    /// message. The default does nothing.
    fn idle(&mut self) {}
}

/// One item from the peer, in arrival order. See the crate documentation for
/// the buffering policy.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// A request from the peer; answer it through its [`Responder`].
    Request(IncomingRequest),
    /// A notification from the peer.
    Notification(Notification),
    /// A frame that is not a valid message, or one the transport skipped.
    /// Delivered also when the frame is an unreadable answer that failed a
    /// call with [`RpcError::MalformedResponse`](crate::RpcError::MalformedResponse)
    /// or [`RpcError::FrameTooLarge`](crate::RpcError::FrameTooLarge).
    Malformed(MalformedFrame),
}

/// A notification: a message from the peer that expects no answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Notification {
    /// The method name, as sent.
    pub method: String,
    /// The params as raw JSON, or `None` when the member was absent or `null`.
    pub params: Option<Box<RawValue>>,
}

/// A request from the peer, to be answered exactly once through its
/// [`Responder`].
#[derive(Debug)]
pub struct IncomingRequest {
    pub(crate) params: Option<Box<RawValue>>,
    pub(crate) responder: Responder,
}

impl IncomingRequest {
    /// The method name, as sent.
    pub fn method(&self) -> &str {
        self.responder.method()
    }

    /// The request id, as sent.
    pub fn id(&self) -> &RequestId {
        self.responder.id()
    }

    /// The params as raw JSON, or `None` when the member was absent or `null`.
    pub fn params(&self) -> Option<&RawValue> {
        self.params.as_deref()
    }

    /// Splits the request into its params and its responder, which also knows
    /// the method and the id.
    pub fn into_parts(self) -> (Option<Box<RawValue>>, Responder) {
        (self.params, self.responder)
    }
}

/// A request whose params are not read yet: see
/// [`InboundHandler::unchecked_request`].
#[derive(Debug)]
pub struct UncheckedRequest<'a> {
    pub(crate) params: &'a [u8],
    pub(crate) responder: Responder,
}

impl<'a> UncheckedRequest<'a> {
    /// The method name, as sent.
    pub fn method(&self) -> &str {
        self.responder.method()
    }

    /// The request id, as sent.
    pub fn id(&self) -> &RequestId {
        self.responder.id()
    }

    /// The rest of the frame from the params' value, trimmed: in a valid
    /// frame the params' JSON text, and otherwise not one JSON value (or
    /// not UTF-8).
    pub fn params(&self) -> &'a [u8] {
        self.params
    }

    /// The responder that answers the request, once it is taken.
    pub fn into_responder(self) -> Responder {
        self.responder
    }
}

/// Receives [`Incoming`] items in arrival order.
///
/// Its queue is bounded ([`RpcConfig::incoming_capacity`](crate::RpcConfig::incoming_capacity)).
/// When it is full, the connection stops reading until there is room: the
/// peer is held back and nothing is dropped, but answers to calls that
/// arrive behind the unread items wait too. A layer that must never hold
/// answers back routes with an [`InboundHandler`] instead.
///
/// Dropping it tells the connection that nobody handles traffic from the
/// peer anymore: later server requests are answered with
/// [`ErrorObject::METHOD_NOT_FOUND`](crate::ErrorObject::METHOD_NOT_FOUND) and
/// later notifications are discarded (both counted in [`RpcStats`](crate::RpcStats)).
#[derive(Debug)]
pub struct IncomingReceiver {
    pub(crate) rx: mpsc::Receiver<Incoming>,
}

impl IncomingReceiver {
    /// The next item, or `None` once the connection is closed and every item
    /// received before that was taken.
    ///
    /// # Cancel safety
    /// Cancel safe: no item is lost if the future is dropped.
    pub async fn recv(&mut self) -> Option<Incoming> {
        self.rx.recv().await
    }

    /// The next item if one is queued, without waiting. `None` when the queue
    /// is empty or the connection is closed and drained.
    pub fn try_recv(&mut self) -> Option<Incoming> {
        self.rx.try_recv().ok()
    }
}
