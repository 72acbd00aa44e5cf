//! [`TurnGuard`]: a turn that outlives its caller. When an ask, an
//! [`AskStream`](crate::AskStream) or a run is dropped before its turn
//! ended, the guard interrupts the turn in the background and keeps it
//! counted as running until codex says it ended.

use std::time::Duration;

use codexrt_core::{CoreError, TurnHandle, TurnOutcome};

/// How long the background `turn/interrupt` of a dropped ask may take.
/// codex answers it at once while the connection is healthy; the bound is
/// for one that is not.
pub(crate) const INTERRUPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do once the turn is over, whoever saw it end: the session
/// stops counting it as running and lets the next ask start.
pub(crate) type OnEnd = Box<dyn FnOnce() + Send>;

/// Owns a started turn until its outcome was taken. Dropped before that,
/// it spawns a task that interrupts the turn (bounded by
/// [`INTERRUPT_TIMEOUT`], a warning when it fails), waits for the turn to
/// end (bounded by the turn's deadline and inactivity watchdog), and only
/// then runs its [`OnEnd`].
pub(crate) struct TurnGuard {
    thread_id: String,
    turn_id: String,
    /// Until the turn is over.
    handle: Option<TurnHandle>,
    on_end: Option<OnEnd>,
}

impl std::fmt::Debug for TurnGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnGuard")
            .field("thread_id", &self.thread_id)
            .field("turn_id", &self.turn_id)
            .field("over", &self.handle.is_none())
            .finish_non_exhaustive()
    }
}

impl TurnGuard {
    pub(crate) fn new(handle: TurnHandle, on_end: Option<OnEnd>) -> TurnGuard {
        TurnGuard {
            thread_id: handle.thread_id().to_owned(),
            turn_id: handle.turn_id().to_owned(),
            handle: Some(handle),
            on_end,
        }
    }

    /// The thread.
    pub(crate) fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The turn.
    pub(crate) fn turn_id(&self) -> &str {
        &self.turn_id
    }

    /// Waits for the turn's outcome. Once it is returned the turn is over
    /// (it ended, passed its deadline, or its connection closed), and the
    /// guard lets go of it; after an error that leaves the turn running
    /// (the watchdog could not ask), dropping the guard still interrupts
    /// it.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future leaves the turn in the guard.
    pub(crate) async fn outcome(&mut self) -> Result<TurnOutcome, CoreError> {
        let Some(handle) = &mut self.handle else {
            return Err(CoreError::OutcomeTaken {
                thread_id: self.thread_id.clone(),
                turn_id: self.turn_id.clone(),
            });
        };
        let result = handle.outcome().await;
        let over = match &result {
            Ok(_) => true,
            Err(error) => matches!(
                error,
                CoreError::TurnDeadline { .. }
                    | CoreError::Closed { .. }
                    | CoreError::TurnForgotten { .. }
            ),
        };
        if over {
            self.handle = None;
        }
        result
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let on_end = self.on_end.take();
        let Some(handle) = self.handle.take() else {
            if let Some(on_end) = on_end {
                on_end();
            }
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to interrupt from (the program is shutting down):
            // the turn is let go as it is.
            tracing::warn!(
                thread_id = handle.thread_id(),
                turn_id = handle.turn_id(),
                "a dropped ask's turn cannot be interrupted outside a tokio runtime"
            );
            if let Some(on_end) = on_end {
                on_end();
            }
            return;
        };
        // The task outlives the ask: it nests under the turn explicitly.
        let span = handle.span().clone();
        runtime.spawn(tracing::Instrument::instrument(
            interrupt_dropped(handle, on_end),
            span,
        ));
    }
}

/// Interrupts the turn of a dropped ask and waits for it to end.
async fn interrupt_dropped(mut handle: TurnHandle, on_end: Option<OnEnd>) {
    match tokio::time::timeout(INTERRUPT_TIMEOUT, handle.interrupt()).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::warn!(
            thread_id = handle.thread_id(),
            turn_id = handle.turn_id(),
            %error,
            "interrupting the turn of a dropped ask failed"
        ),
        Err(_) => tracing::warn!(
            thread_id = handle.thread_id(),
            turn_id = handle.turn_id(),
            timeout = ?INTERRUPT_TIMEOUT,
            "interrupting the turn of a dropped ask got no answer in time"
        ),
    }
    // Whatever the interrupt did, codex says when the turn is over; the
    // deadline and the watchdog bound the wait.
    let _ = handle.outcome().await;
    if let Some(on_end) = on_end {
        on_end();
    }
}
