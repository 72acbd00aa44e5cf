//! [`PooledSession`]: a [`Session`] that holds its place on one endpoint
//! of a [`Pool`](crate::Pool) until it is closed or dropped.

use std::ops::Deref;

use codexrt_protocol::types::ThreadUnsubscribeStatus;

use super::slots::Slot;
use crate::{AskStream, ClientError, PromptRunError, PromptRunResult, Session};

/// A session placed by a [`Pool`](crate::Pool): it stays on its endpoint
/// for its whole life, and holds one of the endpoint's places until it is
/// [closed](PooledSession::close) or dropped.
///
/// It derefs to the [`Session`] for everything else
/// ([`interrupt`](Session::interrupt), [`steer`](Session::steer),
/// [`read`](Session::read), [`thread_id`](Session::thread_id), ...);
/// [`ask`](PooledSession::ask) and [`ask_stream`](PooledSession::ask_stream)
/// are its own so that the pool counts the turns.
///
/// When the endpoint's connection is lost, every call of the session fails
/// at once with the connection's close report
/// ([`CoreError::Closed`](codexrt_core::CoreError::Closed)); the session
/// does not move to another endpoint (its thread lives where it was
/// started), but its thread can be resumed where its rollout is stored
/// (see [threads and homes](crate::Pool#threads-and-codex-homes)).
#[derive(Debug)]
pub struct PooledSession {
    session: Session,
    endpoint: String,
    slot: Slot,
}

impl PooledSession {
    pub(crate) fn new(session: Session, endpoint: String, slot: Slot) -> PooledSession {
        PooledSession {
            session,
            endpoint,
            slot,
        }
    }

    /// The name of the endpoint the session lives on.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The session itself.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// As [`Session::ask`], counted in the endpoint's figures.
    ///
    /// # Errors
    /// As for [`Session::ask`].
    ///
    /// # Cancel safety
    /// As for [`Session::ask`].
    pub async fn ask(&self, prompt: impl Into<String>) -> Result<PromptRunResult, PromptRunError> {
        let result = self.session.ask(prompt).await;
        let shared = self.slot.shared();
        shared.count_turn(self.slot.endpoint(), result.is_err());
        result
    }

    /// As [`Session::ask_stream`]; the turn is counted in the endpoint's
    /// figures when it starts (a failure only when it cannot start).
    ///
    /// # Errors
    /// As for [`Session::ask_stream`].
    ///
    /// # Cancel safety
    /// As for [`Session::ask_stream`].
    pub async fn ask_stream(&self, prompt: impl Into<String>) -> Result<AskStream, PromptRunError> {
        let stream = self.session.ask_stream(prompt).await;
        let shared = self.slot.shared();
        shared.count_turn(self.slot.endpoint(), stream.is_err());
        stream
    }

    /// Closes the session ([`Session::close`]) and gives its place back,
    /// whatever the call's outcome.
    ///
    /// # Errors
    /// As for [`Session::close`].
    ///
    /// # Cancel safety
    /// As for [`Session::close`]; the place is given back either way.
    pub async fn close(self) -> Result<ThreadUnsubscribeStatus, ClientError> {
        let PooledSession { session, slot, .. } = self;
        let _slot = slot;
        session.close().await
    }
}

impl Deref for PooledSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}
