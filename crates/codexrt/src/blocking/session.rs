//! The blocking [`Session`] and its [`AskStream`].

use std::sync::Arc;

use codexrt_protocol::types::{Thread, ThreadUnsubscribeStatus};

use super::Owner;
use crate::{ClientError, PromptRunError, PromptRunResult, SessionConfig, SessionEvent};

/// A conversation on one thread that blocks the calling thread, from
/// [`Client::start_session`](super::Client::start_session),
/// [`Client::resume_session`](super::Client::resume_session) or
/// [`Session::fork`]: the async [`Session`](crate::Session) on the
/// client's runtime. Cheap to clone; clones share the thread and its
/// running turn, so one thread can [`interrupt`](Session::interrupt) what
/// another waits for.
///
/// One turn runs at a time, as for the async session: an ask made while
/// another's turn runs waits for it to end.
///
/// Every method fails with [`ClientError::InsideAsyncRuntime`] (as
/// [`PromptRunError::Client`] where it returns a [`PromptRunError`]) when
/// called inside a tokio runtime; the other errors are those of the async
/// method it mirrors.
#[derive(Debug, Clone)]
pub struct Session {
    inner: crate::Session,
    owner: Arc<Owner>,
}

impl Session {
    pub(super) fn new(inner: crate::Session, owner: Arc<Owner>) -> Session {
        Session { inner, owner }
    }

    /// The session's thread.
    pub fn thread_id(&self) -> &str {
        self.inner.thread_id()
    }

    /// The settings the session was started with.
    pub fn config(&self) -> &SessionConfig {
        self.inner.config()
    }

    /// The session's running turn, if any. See
    /// [`crate::Session::running_turn`].
    pub fn running_turn(&self) -> Option<String> {
        self.inner.running_turn()
    }

    /// Sends `prompt` as a new turn and waits for it to end; `Ok` means
    /// the turn completed. The session's hooks run on the client's
    /// runtime. See [`crate::Session::ask`].
    ///
    /// # Errors
    /// [`PromptRunError::Client`] with [`ClientError::InsideAsyncRuntime`]
    /// inside a tokio runtime (nothing sent); otherwise as for
    /// [`crate::Session::ask`].
    pub fn ask(&self, prompt: impl Into<String>) -> Result<PromptRunResult, PromptRunError> {
        self.owner.block_on(self.inner.ask(prompt))?
    }

    /// Sends `prompt` as a new turn and returns its events as an
    /// [`AskStream`], an [`Iterator`] that ends with
    /// [`SessionEvent::Finished`]. Waits for a running turn first, as
    /// [`Session::ask`] does. See [`crate::Session::ask_stream`].
    ///
    /// # Errors
    /// [`PromptRunError::Client`] with [`ClientError::InsideAsyncRuntime`]
    /// inside a tokio runtime (nothing sent); otherwise as for
    /// [`crate::Session::ask_stream`].
    pub fn ask_stream(&self, prompt: impl Into<String>) -> Result<AskStream, PromptRunError> {
        let stream = self.owner.block_on(self.inner.ask_stream(prompt))??;
        Ok(AskStream::new(stream, Arc::clone(&self.owner)))
    }

    /// Asks codex to stop the running turn (`turn/interrupt`); the waiting
    /// ask then ends with [`PromptRunError::Interrupted`]. See
    /// [`crate::Session::interrupt`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Session::interrupt`].
    pub fn interrupt(&self) -> Result<(), ClientError> {
        self.owner.block_on(self.inner.interrupt())?
    }

    /// Adds `prompt` to the running turn (`turn/steer`). See
    /// [`crate::Session::steer`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Session::steer`].
    pub fn steer(&self, prompt: impl Into<String>) -> Result<(), ClientError> {
        self.owner.block_on(self.inner.steer(prompt))?
    }

    /// Copies the thread into a new one (`thread/fork`) and returns a
    /// session on the copy, with this session's settings and hooks. See
    /// [`crate::Session::fork`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Session::fork`].
    pub fn fork(&self) -> Result<Session, ClientError> {
        let forked = self.owner.block_on(self.inner.fork())??;
        Ok(Session::new(forked, Arc::clone(&self.owner)))
    }

    /// The thread with its turns (`thread/read`). See
    /// [`crate::Session::read`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Session::read`].
    pub fn read(&self) -> Result<Thread, ClientError> {
        self.owner.block_on(self.inner.read())?
    }

    /// Stops following the thread (`thread/unsubscribe`); it stays stored
    /// and can be resumed. See [`crate::Session::close`].
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime (nothing
    /// sent); otherwise as for [`crate::Session::close`].
    pub fn close(self) -> Result<ThreadUnsubscribeStatus, ClientError> {
        let Session { inner, owner } = self;
        owner.block_on(inner.close())?
    }
}

/// The events of one ask, from [`Session::ask_stream`]: every event of the
/// turn in order, then [`SessionEvent::Finished`] with what
/// [`Session::ask`] would have returned, then the end. Each
/// [`next`](Iterator::next) blocks until the next event.
///
/// Dropping the stream before `Finished` interrupts the turn in the
/// background, as dropping an async [`AskStream`](crate::AskStream) does:
/// the session keeps the turn as its running one until codex ended it, and
/// the next ask waits for that.
///
/// Inside a tokio runtime, [`next`](Iterator::next) cannot wait: it
/// returns `Finished` with [`ClientError::InsideAsyncRuntime`] (as
/// [`PromptRunError::Client`]), the turn is interrupted as for a dropped
/// stream, and the stream ends.
#[derive(Debug)]
pub struct AskStream {
    thread_id: String,
    turn_id: String,
    /// Until the stream ends.
    inner: Option<crate::AskStream>,
    owner: Arc<Owner>,
}

impl AskStream {
    fn new(inner: crate::AskStream, owner: Arc<Owner>) -> AskStream {
        AskStream {
            thread_id: inner.thread_id().to_owned(),
            turn_id: inner.turn_id().to_owned(),
            inner: Some(inner),
            owner,
        }
    }

    /// The thread.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The turn.
    pub fn turn_id(&self) -> &str {
        &self.turn_id
    }

    /// Drops the async stream where it can interrupt its turn: a dropped
    /// turn is interrupted by a task on the current runtime, which must be
    /// the client's.
    fn end(&mut self) {
        let _runtime = self.owner.handle.enter();
        self.inner = None;
    }
}

impl Iterator for AskStream {
    type Item = SessionEvent;

    fn next(&mut self) -> Option<SessionEvent> {
        let stream = self.inner.as_mut()?;
        match self.owner.block_on(stream.next()) {
            Ok(Some(event)) => Some(event),
            Ok(None) => {
                self.end();
                None
            }
            Err(error) => {
                self.end();
                Some(SessionEvent::Finished(Err(PromptRunError::Client(error))))
            }
        }
    }
}

impl Drop for AskStream {
    fn drop(&mut self) {
        self.end();
    }
}
