//! Whole-runtime observers: any number of subscribers, each with its own
//! bounded queue and method filter, fed by the router without waiting. An
//! observer that falls behind loses events, and is told how many with
//! [`RuntimeEvent::Lagged`]; the turns' own streams never lose anything.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use codexrt_protocol::{ServerNotification, methods};
use tokio::sync::mpsc;

/// How many events an observer's queue holds unless its [`EventFilter`]
/// says otherwise.
pub const EVENT_QUEUE_CAPACITY: usize = 1024;

/// One item of an observer stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RuntimeEvent {
    /// A notification from the server, shared by every observer that takes
    /// it.
    Notification(Arc<ServerNotification>),
    /// A notification of a known method whose params did not decode.
    Undecodable {
        /// The wire method.
        method: String,
        /// What the decoder found wrong.
        error: String,
    },
    /// This observer's queue was full, and this many events meant for it
    /// were dropped since the previous report; it comes before the next
    /// event that fitted.
    Lagged {
        /// How many events were dropped.
        dropped: u64,
    },
}

/// Which events an observer takes, and how many it may fall behind.
///
/// ```
/// use codexrt_core::EventFilter;
///
/// // Only items starting and completing, with room for 64 of them.
/// let filter = EventFilter::all()
///     .methods(["item/started", "item/completed"])
///     .capacity(64);
/// assert!(filter.wants("item/started"));
/// assert!(!filter.wants("item/agentMessage/delta"));
/// ```
#[derive(Debug, Clone)]
pub struct EventFilter {
    methods: Option<Vec<String>>,
    matching: Option<fn(&ServerNotification) -> bool>,
    capacity: usize,
}

impl EventFilter {
    /// Every notification, with a queue of [`EVENT_QUEUE_CAPACITY`].
    pub fn all() -> EventFilter {
        EventFilter {
            methods: None,
            matching: None,
            capacity: EVENT_QUEUE_CAPACITY,
        }
    }

    /// Only notifications of these methods (and undecodable ones of these
    /// methods). The default is every method.
    #[must_use]
    pub fn methods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.methods = Some(methods.into_iter().map(Into::into).collect());
        self
    }

    /// Of the notifications the methods let through, only those `predicate`
    /// holds for, checked on the decoded notification before the router
    /// copies it for the observer. Undecodable notifications are not
    /// checked: they pass on their method. The default takes all.
    ///
    /// ```
    /// use codexrt_core::EventFilter;
    /// use codexrt_protocol::ServerNotification;
    /// use codexrt_protocol::types::ThreadItemKind;
    ///
    /// // File changes starting, and nothing else.
    /// let filter = EventFilter::all()
    ///     .methods(["item/started"])
    ///     .matching(|notification| {
    ///         matches!(notification, ServerNotification::ItemStarted(started)
    ///             if matches!(started.item.kind, ThreadItemKind::FileChange { .. }))
    ///     });
    /// ```
    #[must_use]
    pub fn matching(mut self, predicate: fn(&ServerNotification) -> bool) -> Self {
        self.matching = Some(predicate);
        self
    }

    /// How many events the observer's queue holds (at least 1). The
    /// default is [`EVENT_QUEUE_CAPACITY`].
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Whether notifications of `method` pass the filter's methods.
    pub fn wants(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == method))
    }

    /// Whether `notification` passes the filter: its method and, if set,
    /// the [`matching`](EventFilter::matching) predicate.
    pub fn takes(&self, notification: &ServerNotification) -> bool {
        self.wants(notification.method()) && self.matching.is_none_or(|holds| holds(notification))
    }

    /// Whether `event`, of `method`, passes the filter.
    fn passes(&self, method: &str, event: &RuntimeEvent) -> bool {
        self.wants(method)
            && match (self.matching, event) {
                (Some(holds), RuntimeEvent::Notification(notification)) => holds(notification),
                _ => true,
            }
    }
}

impl Default for EventFilter {
    fn default() -> Self {
        EventFilter::all()
    }
}

struct Subscriber {
    /// Tells subscribers apart for their [`EventWidener`].
    id: u64,
    filter: EventFilter,
    tx: mpsc::Sender<RuntimeEvent>,
    dropped: u64,
}

impl Subscriber {
    /// Queues `event`, or counts it as dropped; false once the receiver is
    /// gone.
    fn push(&mut self, event: RuntimeEvent) -> bool {
        if self.dropped > 0 {
            let lagged = RuntimeEvent::Lagged {
                dropped: self.dropped,
            };
            match self.tx.try_send(lagged) {
                Ok(()) => self.dropped = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped += 1;
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match self.tx.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The router's side of the observers. With none, the router's only cost
/// is one atomic load per notification; with none that takes deltas, a
/// delta costs one atomic load too.
#[derive(Default)]
pub(crate) struct EventHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    subscribers: Mutex<Vec<Subscriber>>,
    count: AtomicUsize,
    /// How many observers take some kind of delta.
    delta_count: AtomicUsize,
    closed: AtomicBool,
    next_id: AtomicU64,
}

/// The methods of the delta notifications, which the router reads on a
/// fast path of their own.
const DELTA_METHODS: &[&str] = &[
    methods::ITEM_AGENT_MESSAGE_DELTA,
    methods::ITEM_REASONING_TEXT_DELTA,
    methods::ITEM_REASONING_SUMMARY_TEXT_DELTA,
    methods::ITEM_COMMAND_EXECUTION_OUTPUT_DELTA,
    methods::ITEM_FILE_CHANGE_OUTPUT_DELTA,
    methods::ITEM_PLAN_DELTA,
];

impl EventFilter {
    fn wants_deltas(&self) -> bool {
        DELTA_METHODS.iter().any(|method| self.wants(method))
    }
}

impl HubInner {
    fn lock(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        // Held for a few queue operations only, never across user code; a
        // poisoned lock guards consistent data.
        self.subscribers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn recount(&self, subscribers: &[Subscriber]) {
        let deltas = subscribers
            .iter()
            .filter(|s| s.filter.wants_deltas())
            .count();
        self.delta_count.store(deltas, Ordering::Release);
        self.count.store(subscribers.len(), Ordering::Release);
    }
}

impl EventHub {
    fn lock(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.inner.lock()
    }

    /// A new observer stream. After the connection closed it ends at once.
    pub(crate) fn subscribe(&self, filter: EventFilter) -> EventReceiver {
        let (tx, rx) = mpsc::channel(filter.capacity);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut subscribers = self.lock();
        if !self.inner.closed.load(Ordering::Acquire) {
            subscribers.push(Subscriber {
                id,
                filter,
                tx,
                dropped: 0,
            });
            self.inner.recount(&subscribers);
        }
        EventReceiver {
            rx,
            widener: EventWidener {
                hub: Arc::downgrade(&self.inner),
                id,
            },
        }
    }

    /// Whether any observer takes `notification` (of `method`), before
    /// the router copies it.
    pub(crate) fn takes(&self, method: &str, notification: &ServerNotification) -> bool {
        self.inner.count.load(Ordering::Acquire) > 0
            && self.lock().iter().any(|s| {
                s.filter.wants(method) && s.filter.matching.is_none_or(|holds| holds(notification))
            })
    }

    /// Whether any observer takes notifications of `method`.
    pub(crate) fn wants(&self, method: &str) -> bool {
        self.inner.count.load(Ordering::Acquire) > 0
            && self.lock().iter().any(|s| s.filter.wants(method))
    }

    /// Whether any observer takes notifications of `method`, a delta
    /// method: a single atomic load when no observer takes deltas at all.
    pub(crate) fn wants_delta(&self, method: &str) -> bool {
        self.inner.delta_count.load(Ordering::Acquire) > 0 && self.wants(method)
    }

    /// Hands `event` to every observer whose filter takes `method`.
    pub(crate) fn push(&self, method: &str, event: RuntimeEvent) {
        if self.inner.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut subscribers = self.lock();
        let before = subscribers.len();
        subscribers.retain_mut(|s| !s.filter.passes(method, &event) || s.push(event.clone()));
        if subscribers.len() != before {
            self.inner.recount(&subscribers);
        }
    }

    /// Ends every stream once its queued events are read; a last lag report
    /// goes out if there is room for it.
    pub(crate) fn close(&self) {
        let mut subscribers = self.lock();
        self.inner.closed.store(true, Ordering::Release);
        for subscriber in subscribers.drain(..) {
            if subscriber.dropped > 0 {
                let _ = subscriber.tx.try_send(RuntimeEvent::Lagged {
                    dropped: subscriber.dropped,
                });
            }
        }
        self.inner.recount(&subscribers);
    }
}

/// Receives [`RuntimeEvent`]s in arrival order, from
/// [`Runtime::events`](crate::Runtime::events) or
/// [`Runtime::events_with`](crate::Runtime::events_with).
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<RuntimeEvent>,
    widener: EventWidener,
}

impl EventReceiver {
    /// The next event, or `None` once the connection is closed and every
    /// queued event was read.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<RuntimeEvent> {
        self.rx.recv().await
    }

    /// Polls for the next event, as [`recv`](EventReceiver::recv) waits
    /// for it.
    ///
    /// # Cancel safety
    /// Cancel safe: an event is taken only in the poll that returns it.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<RuntimeEvent>> {
        self.rx.poll_recv(cx)
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<RuntimeEvent> {
        self.rx.try_recv().ok()
    }

    /// A handle that makes this stream take every notification from then
    /// on, whatever its [`EventFilter`] said: for an observer that starts
    /// narrow and may later need everything, and must not miss what comes
    /// after the moment it knows. It can be kept and used from anywhere.
    pub fn widener(&self) -> EventWidener {
        self.widener.clone()
    }
}

/// The same events as [`EventReceiver::recv`], for `StreamExt` and the
/// like.
impl futures_core::Stream for EventReceiver {
    type Item = RuntimeEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RuntimeEvent>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

/// Widens an [`EventReceiver`]'s filter to every method; see
/// [`EventReceiver::widener`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventWidener {
    hub: Weak<HubInner>,
    id: u64,
}

impl EventWidener {
    /// From now on the stream takes every notification (its methods and
    /// [`matching`](EventFilter::matching) predicate are dropped): each one the
    /// router handles after this returns. Its queue size stays. Does
    /// nothing once the stream, or the runtime, is gone.
    pub fn widen(&self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let mut subscribers = hub.lock();
        if let Some(subscriber) = subscribers.iter_mut().find(|s| s.id == self.id) {
            subscriber.filter.methods = None;
            subscriber.filter.matching = None;
            hub.recount(&subscribers);
        }
    }
}

impl std::fmt::Debug for HubInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventHub")
    }
}

#[cfg(test)]
mod tests;
