//! The table of calls waiting for their answer, owned by the rpc loop alone.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use codexrt_transport::CloseReport;
use serde_json::value::RawValue;

use crate::driver::Registration;
use crate::sync::{AtomicUsize, oneshot};
use crate::{ErrorObject, MalformedFrame, RequestId};

/// What [`RpcClient::call_raw_observed`](crate::RpcClient::call_raw_observed)
/// runs on the connection's loop when the answer is read: the result's raw
/// JSON, or the peer's error.
pub type OnAnswer = Box<dyn FnOnce(&Result<Box<RawValue>, ErrorObject>) + Send + 'static>;

/// How many abandoned call ids are remembered so that their late answers are
/// counted as late rather than unmatched. Older ones are forgotten; the
/// memory is bounded however many calls time out.
const ABANDONED_MEMORY: usize = 1024;

/// How a call ended, as the loop tells its caller.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The peer answered with a result or an error.
    Answer(Result<Box<RawValue>, ErrorObject>),
    /// The peer answered with a frame that names the call but cannot be read.
    Malformed(MalformedFrame),
    /// The connection closed first.
    Closed(Arc<CloseReport>),
}

/// What became of an answer handed to [`Pending::answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The caller got it.
    Delivered,
    /// The caller had given up on the call.
    Late,
    /// No call has this id (or no longer remembers it).
    Unmatched,
}

/// A call waiting for its answer.
struct Waiting {
    reply: oneshot::Sender<Outcome>,
    on_answer: Option<OnAnswer>,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("on_answer", &self.on_answer.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    calls: HashMap<RequestId, Waiting>,
    abandoned: Abandoned,
    /// The number of waiting calls, as [`RpcStats`](crate::RpcStats) shows it.
    /// Updated by every change to `calls`, before an outcome is sent, so a
    /// caller that got its outcome already sees itself gone from the count.
    gauge: Arc<AtomicUsize>,
}

impl Pending {
    /// A table that keeps `gauge` equal to its number of waiting calls.
    pub(crate) fn with_gauge(gauge: Arc<AtomicUsize>) -> Self {
        Pending {
            gauge,
            ..Pending::default()
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }

    fn update_gauge(&self) {
        // Relaxed is enough: the oneshot send that follows orders this store
        // before the caller's wake-up.
        self.gauge.store(self.calls.len(), Ordering::Relaxed);
    }

    /// Adds a call, unless its caller already gave up (its cancellation can
    /// overtake its registration, as they travel on different queues).
    pub(crate) fn register(&mut self, registration: Registration) {
        let Registration {
            id,
            reply,
            on_answer,
        } = registration;
        if reply.is_closed() {
            self.abandoned.remember(id);
        } else {
            self.calls.insert(id, Waiting { reply, on_answer });
            self.update_gauge();
        }
    }

    /// Forgets a call whose caller gave up.
    pub(crate) fn cancel(&mut self, id: &RequestId) {
        if self.calls.remove(id).is_some() {
            self.update_gauge();
            self.abandoned.remember(id.clone());
        }
    }

    /// Whether an answer with this id would find its call.
    pub(crate) fn is_waiting(&self, id: &RequestId) -> bool {
        self.calls.contains_key(id)
    }

    /// Hands an answer to the call with this id.
    pub(crate) fn answer(
        &mut self,
        id: &RequestId,
        answer: Result<Box<RawValue>, ErrorObject>,
    ) -> Delivery {
        self.settle(id, |waiting| {
            if let Some(on_answer) = waiting.on_answer.take()
                && !waiting.reply.is_closed()
            {
                on_answer(&answer);
            }
            Outcome::Answer(answer)
        })
    }

    /// Fails the call with this id: its answer could not be read. The report
    /// is copied only when a call is waiting for it.
    pub(crate) fn reject(&mut self, id: &RequestId, frame: &MalformedFrame) -> Delivery {
        self.settle(id, |_| Outcome::Malformed(frame.clone()))
    }

    /// Ends the call with this id, which any answer does, readable or not: a
    /// second answer for the same id is unmatched either way.
    fn settle(
        &mut self,
        id: &RequestId,
        outcome: impl FnOnce(&mut Waiting) -> Outcome,
    ) -> Delivery {
        if let Some(mut waiting) = self.calls.remove(id) {
            self.update_gauge();
            let outcome = outcome(&mut waiting);
            return match waiting.reply.send(outcome) {
                Ok(()) => Delivery::Delivered,
                // The caller gave up and its cancellation is still queued.
                Err(_) => Delivery::Late,
            };
        }
        // Removing it makes a second answer for the same id unmatched.
        if self.abandoned.forget(id) {
            Delivery::Late
        } else {
            Delivery::Unmatched
        }
    }

    /// Forgets every call whose caller gave up, for when cancellations could
    /// not be queued.
    pub(crate) fn sweep(&mut self) {
        let Pending {
            calls, abandoned, ..
        } = self;
        calls.retain(|id, call| {
            let waiting = !call.reply.is_closed();
            if !waiting {
                abandoned.remember(id.clone());
            }
            waiting
        });
        self.update_gauge();
    }

    /// Fails every call: the connection closed.
    pub(crate) fn close(&mut self, report: &Arc<CloseReport>) {
        let calls = std::mem::take(&mut self.calls);
        self.update_gauge();
        for (_, Waiting { reply, .. }) in calls {
            // A caller that gave up no longer needs to know.
            let _ = reply.send(Outcome::Closed(Arc::clone(report)));
        }
    }
}

/// The ids of the last [`ABANDONED_MEMORY`] calls whose callers gave up.
#[derive(Debug, Default)]
struct Abandoned {
    ids: HashSet<RequestId>,
    order: VecDeque<RequestId>,
}

impl Abandoned {
    fn remember(&mut self, id: RequestId) {
        if self.order.len() == ABANDONED_MEMORY {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        self.ids.insert(id.clone());
        self.order.push_back(id);
    }

    /// Forgets an id; returns whether it was remembered.
    fn forget(&mut self, id: &RequestId) -> bool {
        // Its entry in `order` stays until it comes first; removing it from
        // `ids` alone is enough for it to be forgotten.
        self.ids.remove(id)
    }
}

// Two attributes, not `all(..)`: clippy takes only a plain `cfg(test)`
// for test code.
#[cfg(test)]
#[cfg(codexrt_loom)]
mod loom_models;
#[cfg(test)]
mod tests;
