//! [`PoolError`] and [`EndpointError`]: why a [`Pool`](crate::Pool) could
//! not start, place, or finish something.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use codexrt_transport::CloseReport;

use crate::{ClientError, PromptRunError};

/// Why an endpoint could not be connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Connecting or the handshake failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `GET /readyz` did not answer 200 in time.
    #[error("the app-server is not ready: {detail}")]
    NotReady {
        /// What the probe saw, on one bounded line.
        detail: String,
    },
}

/// One endpoint's failure, with its name.
#[derive(Debug)]
#[non_exhaustive]
pub struct EndpointFailure {
    /// The endpoint.
    pub endpoint: String,
    /// What went wrong.
    pub error: EndpointError,
}

impl fmt::Display for EndpointFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.endpoint, self.error)
    }
}

/// Everything that can go wrong in a [`Pool`](crate::Pool).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The configuration names no endpoint.
    #[error("the pool has no endpoint")]
    NoEndpoints,
    /// Two endpoints have the same name.
    #[error("two endpoints are called {name:?}")]
    DuplicateEndpoint {
        /// The name.
        name: String,
    },
    /// No endpoint is called this.
    #[error("the pool has no endpoint called {name:?}")]
    UnknownEndpoint {
        /// The name asked for.
        name: String,
    },
    /// None of the endpoints could be connected when the pool started; it
    /// was shut down.
    #[error("no endpoint of the pool could be connected ({} tried)", failures.len())]
    NoEndpointUp {
        /// Each endpoint's failure.
        failures: Vec<EndpointFailure>,
    },
    /// No healthy endpoint had room within the pool's
    /// [`acquire_timeout`](crate::PoolConfig::acquire_timeout).
    #[error("no endpoint had room within {waited:?}")]
    AcquireTimeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The endpoint asked for is [`Down`](crate::EndpointState::Down) for
    /// good, or every endpoint is.
    #[error("endpoint {endpoint} is down")]
    EndpointDown {
        /// The endpoint.
        endpoint: String,
        /// Why its connection was last lost, if it ever had one.
        last_close: Option<Arc<CloseReport>>,
    },
    /// The pool was shut down (or dropped).
    #[error("the pool is shut down")]
    ShutDown,
    /// Opening a session failed on the endpoint.
    #[error("on endpoint {endpoint}")]
    Client {
        /// The endpoint.
        endpoint: String,
        /// The client's error.
        #[source]
        source: Box<ClientError>,
    },
    /// A run did not complete on the endpoint.
    #[error("on endpoint {endpoint}")]
    Run {
        /// The endpoint.
        endpoint: String,
        /// The run's error, with what the turn produced.
        #[source]
        source: Box<PromptRunError>,
    },
    /// Some endpoints could not be shut down cleanly; they are closed from
    /// this side all the same.
    #[error("{} endpoints could not be shut down cleanly", failures.len())]
    Shutdown {
        /// Each endpoint's failure.
        failures: Vec<EndpointFailure>,
    },
}

impl PoolError {
    /// The run's error, when a run did not complete.
    pub fn as_run(&self) -> Option<&PromptRunError> {
        match self {
            PoolError::Run { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The client's error, when opening a session failed.
    pub fn as_client(&self) -> Option<&ClientError> {
        match self {
            PoolError::Client { source, .. } => Some(source),
            PoolError::Run { source, .. } => match source.as_ref() {
                PromptRunError::Client(source) => Some(source),
                _ => None,
            },
            _ => None,
        }
    }
}
