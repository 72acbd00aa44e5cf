//! [`PoolStats`] and [`EndpointStats`]: what a [`Pool`](crate::Pool) shows
//! of each endpoint (its state, sessions, turns and failures).

use std::sync::Arc;

use codexrt_transport::CloseReport;

/// Where an endpoint of a [`Pool`](crate::Pool) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointState {
    /// The first connection is being made.
    Connecting,
    /// Connected and taking sessions.
    Healthy,
    /// Connected, but its `GET /readyz` failed the last periodic probe
    /// ([`PoolConfig::probe_interval`](crate::PoolConfig::probe_interval)):
    /// takes no new sessions until a probe succeeds again; the sessions it
    /// holds go on.
    NotReady {
        /// What the probe saw, on one bounded line.
        detail: String,
    },
    /// Lost, or never reached: waiting for (or making) the next attempt.
    /// Takes no sessions.
    Retrying {
        /// Failed attempts in a row since it was last healthy (the loss
        /// itself not counted).
        failures: u32,
    },
    /// Given up on after [`Backoff::max_retries`](crate::Backoff::max_retries)
    /// failed attempts in a row. Takes no sessions.
    Down,
    /// The pool was shut down.
    ShutDown,
}

/// The figures of one endpoint, from [`Pool::stats`](crate::Pool::stats).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint's name.
    pub name: String,
    /// Its state.
    pub state: EndpointState,
    /// Sessions and runs it holds now, on its current connection.
    pub sessions: usize,
    /// Its limit of sessions at once.
    pub max_sessions: usize,
    /// Sessions and runs it was given since the pool started.
    pub sessions_total: u64,
    /// Turns started on it through the pool (runs and asks).
    pub turns: u64,
    /// Runs and asks that ended in an error, and sessions that failed to
    /// open.
    pub failures: u64,
    /// Successful connections (handshakes), the first one included.
    pub connects: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
    /// Times the connection was lost.
    pub losses: u64,
    /// Why the connection was last lost.
    pub last_close: Option<Arc<CloseReport>>,
    /// The last failed attempt's error, on one bounded line.
    pub last_error: Option<String>,
}

/// The figures of a whole [`Pool`](crate::Pool).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolStats {
    /// Each endpoint, in the order of the configuration.
    pub endpoints: Vec<EndpointStats>,
    /// Callers waiting for room.
    pub waiting: usize,
}

impl PoolStats {
    /// The endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointStats> {
        self.endpoints.iter().find(|endpoint| endpoint.name == name)
    }

    /// Sessions and runs held now, over every endpoint.
    pub fn sessions(&self) -> usize {
        self.endpoints
            .iter()
            .map(|endpoint| endpoint.sessions)
            .sum()
    }
}
