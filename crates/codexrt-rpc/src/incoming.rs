//! What the peer sends unasked: notifications, server requests, and reports
//! of what could not be delivered, all on one ordered queue.

use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::{MalformedFrame, RequestId, Responder};

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
    /// Items were dropped because the queue was full; this report comes
    /// before the next item that fitted.
    Lagged(LagReport),
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

/// How many items were dropped since the previous report because the
/// incoming queue was full.
///
/// Dropped server requests were answered with
/// [`ErrorObject::OVERLOADED`](crate::ErrorObject::OVERLOADED), whether the
/// queue was full or too many server requests were unanswered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LagReport {
    /// Notifications dropped.
    pub notifications: u64,
    /// Server requests answered with an overload error instead of delivered.
    pub requests: u64,
    /// Malformed-frame reports dropped.
    pub malformed: u64,
}

impl LagReport {
    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        *self == LagReport::default()
    }
}

/// Receives [`Incoming`] items in arrival order.
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
