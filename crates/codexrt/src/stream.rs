//! [`AskStream`]: the events of one ask as they arrive, ending with its
//! outcome ([`SessionEvent::Finished`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use codexrt_core::{CoreError, StreamDelta, StreamKind, TurnEvent, TurnEvents, TurnOutcome};

use codexrt_protocol::ServerNotification;

use crate::cancel::TurnGuard;
use crate::policy::PostTurn;
use crate::run::conclude;
use crate::{PromptRunError, PromptRunResult};

/// One item of an [`AskStream`]. Nothing is left out: every notification
/// about the turn comes, in order; when the stream is read slowly, the
/// pieces of a streamed text come joined into fewer, bigger ones.
// `Finished` is large and comes once; boxing it would make every user
// unwrap a box to reach the one result they wait for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A piece of an agent message (`item/agentMessage/delta`, or several
    /// joined). The pieces of the last message joined are the final text.
    TextDelta {
        /// The agent message item the piece belongs to.
        item_id: Arc<str>,
        /// The piece.
        delta: String,
    },
    /// A piece of another streamed text: reasoning, a reasoning summary,
    /// command output, file-change output or a plan.
    Delta(StreamDelta),
    /// Any other notification about the turn, in arrival order. Shared
    /// with the runtime's observers and the turn's outcome rather than
    /// copied.
    Notification(Arc<ServerNotification>),
    /// The turn ended: always the last item, as [`Session::ask`](crate::Session::ask)
    /// would have returned it.
    Finished(Result<PromptRunResult, PromptRunError>),
}

type Wait = Pin<Box<dyn Future<Output = Result<TurnOutcome, CoreError>> + Send>>;

/// The events of one ask, from [`Session::ask_stream`](crate::Session::ask_stream).
///
/// Read it within the tokio runtime the client runs on (in a task, or
/// where `Handle::enter` put you): its time limits are tokio timers and
/// its PostTurn hooks run in a task of that runtime, so another executor
/// polling it outside any runtime panics, as with any tokio-based stream.
///
/// Dropping the stream before [`SessionEvent::Finished`] interrupts the
/// turn in the background, as dropping a [`Session::ask`](crate::Session::ask)
/// does (see its `# Cancel safety`): the session keeps the turn as its
/// running one until codex ended it, and the next ask waits for that.
pub struct AskStream {
    thread_id: String,
    turn_id: String,
    /// Always present for a fresh turn handle; kept optional rather than
    /// assumed.
    events: Option<TurnEvents>,
    events_done: bool,
    /// The turn's outcome, with its time limit; polled beside the events.
    /// It owns the turn's guard: dropped before the outcome came, it
    /// interrupts the turn.
    wait: Wait,
    waited: Option<Result<TurnOutcome, CoreError>>,
    sent_at: Instant,
    /// The PostTurn hooks, until the turn ends; then their task, and the
    /// result waiting for them.
    post: Option<PostTurn>,
    post_task: Option<tokio::task::JoinHandle<()>>,
    result: Option<Result<PromptRunResult, PromptRunError>>,
    finished: bool,
}

impl fmt::Debug for AskStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AskStream")
            .field("thread_id", &self.thread_id)
            .field("turn_id", &self.turn_id)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl AskStream {
    pub(crate) fn new(
        mut guard: TurnGuard,
        events: Option<TurnEvents>,
        sent_at: Instant,
        post: PostTurn,
    ) -> AskStream {
        let thread_id = guard.thread_id().to_owned();
        let turn_id = guard.turn_id().to_owned();
        AskStream {
            thread_id,
            turn_id,
            events_done: events.is_none(),
            events,
            // The guard ends with the future: when the outcome came, or
            // when the stream is dropped first.
            wait: Box::pin(async move { guard.outcome().await }),
            waited: None,
            sent_at,
            post: Some(post),
            post_task: None,
            result: None,
            finished: false,
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

    /// The next event; after [`SessionEvent::Finished`], `None`. The
    /// PostTurn hooks have run when `Finished` comes. The same as the
    /// [`Stream`](futures_core::Stream) implementation.
    ///
    /// # Cancel safety
    /// Cancel safe: events are taken only when returned, and the turn's
    /// outcome is kept across calls; PostTurn hooks run in a task of their
    /// own, which a dropped call leaves running.
    pub async fn next(&mut self) -> Option<SessionEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        if self.finished {
            return Poll::Ready(None);
        }
        loop {
            if self.result.is_some() {
                if let Some(task) = &mut self.post_task {
                    // The hooks' own failures are in their report; a join
                    // error only means the task was aborted.
                    let _ = std::task::ready!(Pin::new(task).poll(cx));
                    self.post_task = None;
                }
                self.finished = true;
                return Poll::Ready(self.result.take().map(SessionEvent::Finished));
            }
            match &self.waited {
                // A turn that ended closes its event queue soon after:
                // drain it first, so the outcome comes last.
                Some(Ok(_)) if !self.events_done => {}
                // A timeout or a dead connection may leave the queue open
                // for good, so the outcome is reported at once.
                Some(_) => {
                    let Some(waited) = self.waited.take() else {
                        continue;
                    };
                    let result = conclude(waited, self.sent_at);
                    if let Some(post) = self.post.take() {
                        let outcome = post.outcome(&result);
                        self.post_task = Some(tokio::spawn(post.run(outcome)));
                    }
                    self.result = Some(result);
                    continue;
                }
                None => {}
            }
            // Events first: whatever was queued before the turn ended is
            // delivered before the outcome. An event taken from the queue
            // is returned in the same poll, so a pending poll loses none.
            if !self.events_done {
                match self.events.as_mut().map(|events| events.poll_recv(cx)) {
                    Some(Poll::Ready(Some(event))) => {
                        if let Some(event) = SessionEvent::from_turn_event(event) {
                            return Poll::Ready(Some(event));
                        }
                        continue;
                    }
                    Some(Poll::Ready(None)) | None => {
                        self.events_done = true;
                        continue;
                    }
                    Some(Poll::Pending) => {}
                }
            }
            if self.waited.is_none()
                && let Poll::Ready(outcome) = self.wait.as_mut().poll(cx)
            {
                self.waited = Some(outcome);
                continue;
            }
            return Poll::Pending;
        }
    }
}

/// The same events as [`AskStream::next`], for `StreamExt`, `select!` over
/// streams and the like: every event of the turn in order, then
/// [`SessionEvent::Finished`], then the end.
///
/// # Cancel safety
/// A pending poll takes nothing: an event leaves the turn's queue only in
/// the poll that returns it.
impl futures_core::Stream for AskStream {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.get_mut().poll_event(cx)
    }
}

impl SessionEvent {
    fn from_turn_event(event: TurnEvent) -> Option<SessionEvent> {
        match event {
            TurnEvent::Delta(delta) if delta.kind == StreamKind::AgentMessage => {
                Some(SessionEvent::TextDelta {
                    item_id: delta.item_id,
                    delta: delta.text,
                })
            }
            TurnEvent::Delta(delta) => Some(SessionEvent::Delta(delta)),
            TurnEvent::Notification(notification) => Some(SessionEvent::Notification(notification)),
            // A kind of event a later core adds is not one this facade can
            // describe; skipping it loses nothing of the outcome.
            _ => None,
        }
    }
}
