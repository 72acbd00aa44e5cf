//! [`ScenarioError`]: why a scenario run failed, keeping apart setting up,
//! talking to codex, protocol drift and an expectation that did not hold.

use std::sync::Arc;
use std::time::Duration;

use codexrt_protocol::DecodeError;
use codexrt_rpc::RpcError;
use codexrt_testkit::{ReplayMismatch, TestkitError};
use codexrt_transport::CloseReport;

/// Why a scenario run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// Installing codex, starting the model server or preparing folders
    /// failed, or a recording could not be finished.
    #[error("setting up the scenario failed")]
    Setup(#[source] TestkitError),
    /// `codex app-server` could not be spawned.
    #[error("cannot spawn `codex app-server` {version}")]
    Spawn {
        /// The codex version.
        version: String,
        /// The transport's error.
        #[source]
        source: codexrt_transport::TransportError,
    },
    /// `codex app-server --listen ..` could not be started, or did not
    /// listen.
    #[error("cannot start `codex app-server` {version} listening: {why}")]
    Listen {
        /// The codex version.
        version: String,
        /// What went wrong.
        why: String,
    },
    /// Shutting the connection down failed.
    #[error("shutting codex down failed")]
    Shutdown(#[source] codexrt_transport::TransportError),
    /// A call, notification or answer to codex failed.
    #[error("talking to codex failed")]
    Rpc(#[source] RpcError),
    /// The params of a method this version knows did not decode into their
    /// type: the schema and the server disagree.
    #[error("protocol drift: a message did not decode")]
    Decode(#[source] DecodeError),
    /// Codex sent a method the typed protocol does not know, or one the
    /// method table says this version does not have.
    #[error("protocol drift: codex {version} sent the {kind} `{method}`, {why}")]
    Drift {
        /// The version of the server.
        version: String,
        /// `notification` or `request`.
        kind: &'static str,
        /// The wire method name.
        method: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Codex sent nothing for too long.
    #[error("codex sent nothing for {0:?}")]
    Silent(Duration),
    /// A step that should take moments did not end.
    #[error("{step} did not end within {after:?}")]
    Hung {
        /// What was being done.
        step: &'static str,
        /// How long it was given.
        after: Duration,
    },
    /// The connection ended before the scenario did.
    #[error("codex closed the connection: {0}")]
    Closed(Arc<CloseReport>),
    /// The client did not follow the recorded transcript.
    #[error("the replay differs from the transcript")]
    Replay(#[source] ReplayMismatch),
    /// Something the scenario checks did not hold: what was expected, and
    /// what happened.
    #[error("expected {expected}, got {actual}")]
    Unexpected {
        /// What the scenario expected.
        expected: String,
        /// What it saw instead.
        actual: String,
    },
}

impl ScenarioError {
    /// An [`Unexpected`](ScenarioError::Unexpected) failure.
    pub fn unexpected(expected: impl Into<String>, actual: impl std::fmt::Debug) -> ScenarioError {
        ScenarioError::Unexpected {
            expected: expected.into(),
            actual: format!("{actual:?}"),
        }
    }
}

/// Fails with [`ScenarioError::Unexpected`] unless `actual == expected`.
///
/// # Errors
/// When the two values differ.
pub fn check_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    actual: T,
    expected: T,
) -> Result<(), ScenarioError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ScenarioError::unexpected(
            format!("{what} to be {expected:?}"),
            actual,
        ))
    }
}

/// Fails with [`ScenarioError::Unexpected`] unless `holds`.
///
/// # Errors
/// When `holds` is false.
pub fn check(what: &str, holds: bool, seen: impl std::fmt::Debug) -> Result<(), ScenarioError> {
    if holds {
        Ok(())
    } else {
        Err(ScenarioError::unexpected(what, seen))
    }
}
