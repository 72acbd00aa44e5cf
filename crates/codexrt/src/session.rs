//! [`Session`]: one thread, asked several prompts in turn, with interrupt,
//! steer, fork, read and close.

use std::sync::{Arc, Mutex, PoisonError};

use codexrt_protocol::types::{
    Thread, ThreadReadParams, ThreadUnsubscribeParams, ThreadUnsubscribeStatus,
    TurnInterruptParams, TurnSteerParams,
};

use crate::profile::{absolute_dir, text_input};
use crate::run::{StartedTurn, conclude, start_turn};
use crate::{AskStream, Client, ClientError, PromptRunError, PromptRunResult, SessionConfig};

/// A conversation on one thread, from [`Client::start_session`],
/// [`Client::resume_session`] or [`Session::fork`]. Every ask is a turn of
/// the same thread, so codex keeps the earlier exchanges as context.
///
/// Cheap to clone; clones share the thread and its running turn, so one
/// task can [`interrupt`](Session::interrupt) what another is waiting for.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    thread_id: String,
    config: SessionConfig,
    /// The turn an ask is waiting for, if any.
    running: Mutex<Option<String>>,
}

/// Marks a turn as the session's running one until dropped, so that a
/// dropped ask leaves nothing behind.
#[derive(Debug)]
pub(crate) struct RunningTurn {
    session: Arc<Inner>,
    turn_id: String,
}

impl Drop for RunningTurn {
    fn drop(&mut self) {
        let mut running = self
            .session
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A later ask may have replaced it already.
        if running.as_deref() == Some(self.turn_id.as_str()) {
            *running = None;
        }
    }
}

impl Session {
    pub(crate) fn new(client: Client, thread_id: String, config: SessionConfig) -> Session {
        Session {
            inner: Arc::new(Inner {
                client,
                thread_id,
                config,
                running: Mutex::new(None),
            }),
        }
    }

    /// The session's thread.
    pub fn thread_id(&self) -> &str {
        &self.inner.thread_id
    }

    /// The settings the session was started with.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The turn an ask is waiting for, if any.
    pub fn running_turn(&self) -> Option<String> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `prompt` as a new turn and waits for it to end. `Ok` means
    /// the turn completed.
    ///
    /// # Errors
    /// As for [`Client::run_with`](crate::Client::run_with).
    ///
    /// # Cancel safety
    /// Not cancel safe: a turn already started keeps running on the server
    /// when the future is dropped; [`Session::running_turn`] forgets it.
    pub async fn ask(&self, prompt: impl Into<String>) -> Result<PromptRunResult, PromptRunError> {
        let (turn, running) = self.start(prompt.into()).await?;
        let waited = turn.handle.wait().await;
        drop(running);
        conclude(waited, turn.sent_at)
    }

    /// Sends `prompt` as a new turn and streams its events: text deltas,
    /// the other notifications, and last the outcome
    /// ([`SessionEvent::Finished`](crate::SessionEvent::Finished)).
    ///
    /// # Errors
    /// [`PromptRunError::EmptyPrompt`], or [`PromptRunError::Client`] when
    /// `turn/start` fails; how the turn ended comes through the stream.
    ///
    /// # Cancel safety
    /// As for [`Session::ask`].
    pub async fn ask_stream(&self, prompt: impl Into<String>) -> Result<AskStream, PromptRunError> {
        let (turn, running) = self.start(prompt.into()).await?;
        Ok(AskStream::new(turn, running))
    }

    async fn start(&self, prompt: String) -> Result<(StartedTurn, RunningTurn), PromptRunError> {
        let profile = self.inner.config.profile();
        let input = profile.input(prompt)?;
        let timeout = profile.timeout_or(self.inner.client.config().turn_timeout_limit());
        let params = profile.turn_start(self.inner.thread_id.clone(), input);
        let turn = start_turn(self.inner.client.runtime(), params, timeout).await?;
        let turn_id = turn.handle.turn_id().to_owned();
        *self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(turn_id.clone());
        let running = RunningTurn {
            session: Arc::clone(&self.inner),
            turn_id,
        };
        Ok((turn, running))
    }

    fn running_or_err(&self) -> Result<String, ClientError> {
        self.running_turn()
            .ok_or_else(|| ClientError::NoTurnRunning {
                thread_id: self.inner.thread_id.clone(),
            })
    }

    /// Asks codex to stop the running turn (`turn/interrupt`); the waiting
    /// ask then ends with [`PromptRunError::Interrupted`].
    ///
    /// # Errors
    /// [`ClientError::NoTurnRunning`] when no ask is waiting (nothing
    /// sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call; codex may have acted.
    pub async fn interrupt(&self) -> Result<(), ClientError> {
        let params = TurnInterruptParams {
            thread_id: self.inner.thread_id.clone(),
            turn_id: self.running_or_err()?,
        };
        self.inner.client.runtime().call(params).await?;
        Ok(())
    }

    /// Adds `prompt` to the running turn (`turn/steer`).
    ///
    /// # Errors
    /// [`ClientError::NoTurnRunning`] when no ask is waiting (nothing
    /// sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn steer(&self, prompt: impl Into<String>) -> Result<(), ClientError> {
        let params = TurnSteerParams {
            thread_id: self.inner.thread_id.clone(),
            expected_turn_id: self.running_or_err()?,
            input: vec![text_input(prompt.into())],
            ..TurnSteerParams::default()
        };
        self.inner.client.runtime().call(params).await?;
        Ok(())
    }

    /// Copies the thread into a new one (`thread/fork`) with this session's
    /// settings, and returns a session on the copy.
    ///
    /// # Errors
    /// [`ClientError::CurrentDir`] when a relative working directory
    /// cannot be resolved; [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn fork(&self) -> Result<Session, ClientError> {
        let config = self.inner.config.clone();
        let cwd = absolute_dir(config.cwd())?;
        let params = config
            .profile()
            .thread_fork(self.inner.thread_id.clone(), cwd);
        let forked = self.inner.client.runtime().call(params).await?;
        Ok(Session::new(
            self.inner.client.clone(),
            forked.thread.id,
            config,
        ))
    }

    /// The thread with its turns (`thread/read`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing changes on the server.
    pub async fn read(&self) -> Result<Thread, ClientError> {
        let params = ThreadReadParams {
            thread_id: self.inner.thread_id.clone(),
            include_turns: Some(true),
        };
        Ok(self.inner.client.runtime().call(params).await?.thread)
    }

    /// Stops following the thread (`thread/unsubscribe`); codex unloads it
    /// once no client follows it. The thread stays stored and can be
    /// resumed.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn close(self) -> Result<ThreadUnsubscribeStatus, ClientError> {
        let params = ThreadUnsubscribeParams {
            thread_id: self.inner.thread_id.clone(),
        };
        Ok(self.inner.client.runtime().call(params).await?.status)
    }
}
