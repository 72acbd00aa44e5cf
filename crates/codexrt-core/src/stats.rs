//! Counters of what a runtime did with unusual traffic, and their snapshot.

use codexrt_rpc::RpcStats;

/// A snapshot of a runtime's counters, from
/// [`Runtime::stats`](crate::Runtime::stats). Counts are totals since the
/// connection started, except where a field says it is a gauge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeStats {
    /// The counters of the JSON-RPC connection underneath.
    pub rpc: RpcStats,
    /// Server requests dropped without being handed to the user and
    /// without a reply, because their id was that of a request still
    /// waiting for its answer (see the crate docs).
    pub duplicate_server_requests: u64,
    /// Threads the runtime keeps turn state for now: those with a turn
    /// running or starting, or with notifications kept for a turn nobody
    /// has claimed yet (a few, bounded). Not a total but a gauge: a thread
    /// whose turns all ended is forgotten, so it goes back to 0 when no
    /// turn runs.
    pub turn_threads: usize,
}
