//! [`PooledSession`]: a [`Session`] that holds its place on one endpoint
//! of a [`Pool`](crate::Pool) until it is closed or dropped.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use codexrt_protocol::types::ThreadUnsubscribeStatus;

use super::PoolError;
use super::slots::{Shared, Slot, Target};
use crate::{AskStream, ClientError, PromptRunError, PromptRunResult, Session};

/// A session placed by a [`Pool`](crate::Pool): it stays on its endpoint
/// for its whole life, and holds one of the endpoint's places until it is
/// [closed](PooledSession::close) or dropped. The place goes with the
/// session itself: a clone of its [`Session`] kept elsewhere keeps it
/// taken, and so does the turn of a dropped ask until codex ended it (see
/// [`Session::ask`]'s cancel safety), so the endpoint never runs more
/// turns than it has places.
///
/// It derefs to the [`Session`] for everything else
/// ([`interrupt`](Session::interrupt), [`steer`](Session::steer),
/// [`read`](Session::read), [`thread_id`](Session::thread_id), ...);
/// [`ask`](PooledSession::ask) and [`ask_stream`](PooledSession::ask_stream)
/// are its own so that the pool counts the turns, and
/// [`fork`](PooledSession::fork) so that the copy takes a place of its own.
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
    /// The pool's state, for the figures and [`PooledSession::fork`].
    shared: Arc<Shared>,
    /// The endpoint's index.
    index: usize,
    /// The pool's wait for a place, for [`PooledSession::fork`].
    acquire_timeout: Duration,
}

impl PooledSession {
    pub(crate) fn new(
        session: Session,
        endpoint: String,
        slot: Slot,
        acquire_timeout: Duration,
    ) -> PooledSession {
        let shared = Arc::clone(slot.shared());
        let index = slot.endpoint();
        // The place goes with the session: a dropped ask's turn being
        // interrupted keeps it taken until codex ended that turn.
        session.hold(slot);
        PooledSession {
            session,
            endpoint,
            shared,
            index,
            acquire_timeout,
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
        self.shared.count_turn(self.index, result.is_err());
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
        self.shared.count_turn(self.index, stream.is_err());
        stream
    }

    /// Copies the thread into a new one on the same endpoint, as
    /// [`Session::fork`] does, in a session that takes a place of its own
    /// there: it waits for room like [`Pool::start_session`](crate::Pool::start_session)
    /// (the copy cannot live on another endpoint, which does not have the
    /// thread).
    ///
    /// # Errors
    /// [`PoolError::AcquireTimeout`] when the endpoint had no room in time;
    /// [`PoolError::EndpointDown`]; [`PoolError::ShutDown`];
    /// [`PoolError::Client`] with [`Session::fork`]'s error.
    ///
    /// # Cancel safety
    /// Cancel safe while it waits for a place; after that as for
    /// [`Session::fork`].
    pub async fn fork(&self) -> Result<PooledSession, PoolError> {
        let (shared, index) = (&self.shared, self.index);
        let slot = shared
            .acquire(Target::One(index), self.acquire_timeout)
            .await?;
        match self.session.fork().await {
            Ok(session) => Ok(PooledSession::new(
                session,
                self.endpoint.clone(),
                slot,
                self.acquire_timeout,
            )),
            Err(source) => {
                shared.count_failure(index);
                Err(PoolError::Client {
                    endpoint: self.endpoint.clone(),
                    source: Box::new(source),
                })
            }
        }
    }

    /// Closes the session ([`Session::close`]) and gives its place back,
    /// whatever the call's outcome (once the session is gone, see the
    /// type's docs).
    ///
    /// # Errors
    /// As for [`Session::close`].
    ///
    /// # Cancel safety
    /// As for [`Session::close`]; the place is given back either way.
    pub async fn close(self) -> Result<ThreadUnsubscribeStatus, ClientError> {
        self.session.close().await
    }
}

impl Deref for PooledSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}
