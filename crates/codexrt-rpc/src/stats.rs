//! Counters of what the rpc loop did with unusual traffic, and their snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sync::AtomicUsize;

/// A snapshot of a connection's counters, from [`RpcClient::stats`](crate::RpcClient::stats).
///
/// Counts are totals since the connection started, except `pending_calls`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpcStats {
    /// Calls waiting for their answer. A call that has returned is no longer
    /// counted; a call whose future was dropped or timed out is counted until
    /// the loop has processed its cancellation.
    pub pending_calls: usize,
    /// Answers to calls whose caller had given up (timed out or dropped the
    /// call) by the time the answer arrived. Dropped. Includes answers that
    /// could not be read, which are also counted in `malformed_frames`.
    pub late_responses: u64,
    /// Well-formed answers with an id that matches no call: never issued,
    /// already answered (a duplicate), or abandoned too long ago to be
    /// remembered. Dropped. An answer that cannot be read and matches no call
    /// is counted in `malformed_frames` only.
    pub unmatched_responses: u64,
    /// Notifications discarded because the incoming receiver was gone.
    pub dropped_notifications: u64,
    /// Server requests answered at once with
    /// [`ErrorObject::OVERLOADED`](crate::ErrorObject::OVERLOADED) because
    /// too many server requests were unanswered.
    pub overloaded_requests: u64,
    /// Server requests answered with
    /// [`ErrorObject::METHOD_NOT_FOUND`](crate::ErrorObject::METHOD_NOT_FOUND)
    /// because the incoming receiver was gone.
    pub unhandled_requests: u64,
    /// Malformed frames received, including frames the transport skipped
    /// (whether or not their report fitted into the incoming queue) and
    /// answers that could not be read (whether or not they failed a call).
    pub malformed_frames: u64,
    /// Malformed-frame reports discarded because the incoming receiver was
    /// gone.
    pub dropped_malformed: u64,
    /// Error replies the loop could not queue because the peer stopped reading
    /// and every reply slot was taken; those server requests stay unanswered.
    pub unsent_replies: u64,
}

/// The live counters, written by the loop and read by any handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pending_calls: Arc<AtomicUsize>,
    pub(crate) late_responses: AtomicU64,
    pub(crate) unmatched_responses: AtomicU64,
    pub(crate) dropped_notifications: AtomicU64,
    pub(crate) overloaded_requests: AtomicU64,
    pub(crate) unhandled_requests: AtomicU64,
    pub(crate) malformed_frames: AtomicU64,
    pub(crate) dropped_malformed: AtomicU64,
    pub(crate) unsent_replies: AtomicU64,
}

/// Adds one to a counter. Counters are statistics that order nothing, so
/// relaxed ordering is enough.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> RpcStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RpcStats {
            pending_calls: self.pending_calls.load(Ordering::Relaxed),
            late_responses: load(&self.late_responses),
            unmatched_responses: load(&self.unmatched_responses),
            dropped_notifications: load(&self.dropped_notifications),
            overloaded_requests: load(&self.overloaded_requests),
            unhandled_requests: load(&self.unhandled_requests),
            malformed_frames: load(&self.malformed_frames),
            dropped_malformed: load(&self.dropped_malformed),
            unsent_replies: load(&self.unsent_replies),
        }
    }
}
