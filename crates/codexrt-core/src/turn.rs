//! Turns as the user sees them: [`Runtime::start_turn`] returns a
//! [`TurnHandle`] with the turn's ordered event stream, its outcome, and
//! interrupt and steer; an optional deadline and inactivity watchdog keep
//! [`TurnHandle::wait`] from hanging.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use std::collections::VecDeque;

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{
    ThreadReadParams, TurnInterruptParams, TurnInterruptResponse, TurnStartParams, TurnStatus,
    TurnSteerParams, TurnSteerResponse, UserInput,
};
use tokio::time::Instant;
use tracing::{Instrument, Span};

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{ReviewStartParams, ReviewStartResponse, TurnStartResponse};
use codexrt_rpc::OnAnswer;

use crate::spans::{self, Bounded};
use crate::turn_table::{AbandonedStart, StartGuard, TurnShared, TurnTable};
use crate::{CoreError, Runtime, StreamDelta, TurnOutcome};

/// One item of a turn's event stream. Nothing is ever left out: every
/// notification about the turn is here, in arrival order, with deltas as
/// [`StreamDelta`]s that may join several when the reader falls behind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TurnEvent {
    /// A notification about this turn (or about its thread only, such as
    /// `serverRequest/resolved`), other than a delta. Shared: the same
    /// copy goes to the runtime's observers, and a completed item goes
    /// into the turn's outcome without being copied when the reader has
    /// dropped its event by the time the outcome is taken.
    Notification(Arc<ServerNotification>),
    /// A piece of an item's streamed text (`item/agentMessage/delta`,
    /// reasoning, command output, file-change output, plan).
    Delta(StreamDelta),
}

/// How long a turn past its deadline waits for the answer to its
/// `turn/interrupt` before `wait` returns: the most `wait` overshoots a
/// deadline, whatever the call timeout. Long enough for a live server to
/// answer on loopback, short next to any deadline worth setting.
const INTERRUPT_GRACE: Duration = Duration::from_millis(500);

/// Limits of a turn's [`TurnHandle::wait`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnOptions {
    deadline: Option<Duration>,
    inactivity: Option<Duration>,
}

impl TurnOptions {
    /// No deadline and no watchdog.
    pub fn new() -> Self {
        TurnOptions::default()
    }

    /// When the turn has not ended this long after it started, `wait`
    /// interrupts it (best effort) and fails with
    /// [`CoreError::TurnDeadline`]. Longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`. The
    /// default is no deadline.
    ///
    /// `wait` returns at most 500 ms after the deadline: that is how long it
    /// waits for the answer to `turn/interrupt` (a server that never answers
    /// does not hold it for the call timeout), and a pending question of the
    /// [inactivity watchdog](Self::inactivity_watchdog) is given up at the
    /// deadline.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline.min(codexrt_transport::MAX_WAIT));
        self
    }

    /// When nothing arrived for the turn for a whole period of this length,
    /// `wait` asks the server (`thread/read` with turns) and ends the turn
    /// from that answer if the server considers it finished, in case
    /// `turn/completed` was lost. Silence is checked once per period, so
    /// the question goes out between one and two periods after the last
    /// notification. Longer than [`MAX_WAIT`](codexrt_transport::MAX_WAIT)
    /// counts as `MAX_WAIT`. The default is no watchdog.
    #[must_use]
    pub fn inactivity_watchdog(mut self, quiet: Duration) -> Self {
        self.inactivity = Some(quiet.min(codexrt_transport::MAX_WAIT));
        self
    }
}

/// A running turn.
///
/// Notifications for it are routed here from the moment `turn/start` is
/// sent: those that name the turn and arrive before its answer are kept,
/// all of them, and handed over. From the answer on (in the order of the
/// wire, whenever the caller's task runs), those about its thread only are
/// the turn's as well, such as the `thread/status/changed` codex sends
/// right after the answer. Dropping the handle does not stop the turn on the server.
#[derive(Debug)]
pub struct TurnHandle {
    runtime: Runtime,
    shared: Arc<TurnShared>,
    options: TurnOptions,
    started: Instant,
    events_taken: bool,
    outcome_taken: bool,
    /// The turn's `codexrt.turn` span.
    span: Span,
}

impl Runtime {
    /// Starts a turn with no deadline and no watchdog.
    ///
    /// While a `turn/start` of the same thread that its caller gave up on
    /// is being settled (see below), this one waits before it is sent.
    ///
    /// # Errors
    /// As for [`Runtime::call`] with `turn/start`.
    ///
    /// # Cancel safety
    /// Dropping the future before codex answered leaves no turn running
    /// unseen: the call goes on in a task on the runtime, and the turn the
    /// answer names is interrupted (`turn/interrupt`, with a warning in
    /// the log) and forgotten once it ended. Until then, at most the call
    /// timeout and 20 s, the next start on the thread waits, so that
    /// codex does not add its input to that turn.
    pub async fn start_turn(&self, params: TurnStartParams) -> Result<TurnHandle, CoreError> {
        self.start_turn_with(params, TurnOptions::new()).await
    }

    /// Starts a turn with the given limits.
    ///
    /// # Errors
    /// As for [`Runtime::call`] with `turn/start`.
    ///
    /// # Cancel safety
    /// As for [`start_turn`](Runtime::start_turn).
    pub async fn start_turn_with(
        &self,
        params: TurnStartParams,
        options: TurnOptions,
    ) -> Result<TurnHandle, CoreError> {
        let thread_id = params.thread_id.clone();
        let model = params.model.clone();
        self.start_turn_of(params, thread_id, model, options).await
    }

    /// Starts a review of the thread `params` names (`review/start`), as a
    /// turn of that thread with the given limits: the returned handle has
    /// the review turn's events and outcome, as for
    /// [`start_turn_with`](Runtime::start_turn_with). The stable API
    /// delivers a review inline, in the thread asked for; the
    /// `reviewThreadId` of the answer is that thread.
    ///
    /// # Errors
    /// As for [`Runtime::call`] with `review/start`, and
    /// [`CoreError::ReviewDetached`] when codex answers with another
    /// thread than the one asked for (the review cannot be followed as a
    /// turn of it).
    ///
    /// # Cancel safety
    /// As for [`start_turn`](Runtime::start_turn): a review abandoned
    /// before its answer is interrupted.
    pub async fn start_review_with(
        &self,
        params: ReviewStartParams,
        options: TurnOptions,
    ) -> Result<TurnHandle, CoreError> {
        let thread_id = params.thread_id.clone();
        self.start_turn_of(params, thread_id, None, options).await
    }

    /// Sends a request whose answer starts a turn of `thread_id` (its
    /// `turn` member), running `model` when it says, and registers that
    /// turn.
    async fn start_turn_of<P>(
        &self,
        params: P,
        thread_id: String,
        model: Option<String>,
        options: TurnOptions,
    ) -> Result<TurnHandle, CoreError>
    where
        P: ClientRequest + Send + Sync + 'static,
        P::Response: StartsTurn + Send + 'static,
    {
        self.admit(&params)?;
        // The turn of a start whose caller gave up may still run; a start
        // sent now would only add its input to that turn.
        self.turns().abandoned_settled(&thread_id).await;
        let span = spans::turn(&self.parent_span(), &thread_id, model.as_deref());
        let started = Instant::now();
        // Until the turn is registered, whatever arrives for a new turn of
        // this thread is kept whole for it; the guard ends that on every
        // path, a dropped future included.
        let starting = self.turns().starting(&thread_id);
        // The turn is registered on the rpc loop as the answer is read, so
        // that every notification after the answer on the wire (codex's
        // `thread/status/changed` first) finds it, however late this task
        // runs; what came before the answer is the turn's only if it names
        // the turn.
        let claim = Claim::new(self, &thread_id, &span);
        let on_answer = claim.on_answer();
        let runtime = self.clone();
        let call_span = span.clone();
        let call: StartCall<P::Response> = Box::pin(async move {
            runtime
                .traced_call(P::METHOD, &params, Some(on_answer), &call_span)
                .await
        });
        let mut pending = PendingStart {
            call,
            done: false,
            claim: Some(claim),
            starting: Some(starting),
            runtime: self.clone(),
            thread_id: thread_id.clone(),
            span: span.clone(),
        };
        let response = pending.answer().await?;
        if let Some(other) = response.other_thread(&thread_id) {
            return Err(CoreError::ReviewDetached {
                thread_id,
                review_thread_id: other.to_owned(),
            });
        }
        let shared = match pending.claim.as_ref().and_then(Claim::take) {
            Some(registered) => registered?,
            None => self
                .turns()
                .register(&thread_id, response.turn_id(), &span)?,
        };
        drop(pending);
        span.record("turn_id", tracing::field::display(Bounded(&shared.turn_id)));
        Ok(TurnHandle {
            runtime: self.clone(),
            shared,
            options,
            started,
            events_taken: false,
            outcome_taken: false,
            span,
        })
    }
}

/// How long the turn of an abandoned `turn/start` is given, once its
/// answer came, for the answer to `turn/interrupt` and again for its end:
/// until then the next start on its thread waits. codex answers and ends
/// an interrupted turn at once while the connection is healthy; the bound
/// is for one that is not.
const ABANDONED_GRACE: Duration = Duration::from_secs(10);

/// The call of a request that starts a turn, owned so that it can go on
/// without its caller.
type StartCall<R> = Pin<Box<dyn Future<Output = Result<R, CoreError>> + Send>>;

/// A request that starts a turn, in flight. Dropped before its answer (the
/// caller gave up), it does not forget the call: a task on the runtime
/// waits for the answer and interrupts the turn it started, so that no
/// turn runs on the server that nobody follows, and the thread's next
/// start waits until that is done (at most the call timeout and twice
/// [`ABANDONED_GRACE`]).
struct PendingStart<R: Send + 'static> {
    call: StartCall<R>,
    /// Whether the call returned.
    done: bool,
    claim: Option<Claim>,
    starting: Option<StartGuard>,
    runtime: Runtime,
    thread_id: String,
    span: Span,
}

impl<R: Send + 'static> PendingStart<R> {
    /// Waits for the answer.
    ///
    /// # Cancel safety
    /// Cancel safe in the sense above: a dropped `PendingStart` settles
    /// the call in the background.
    async fn answer(&mut self) -> Result<R, CoreError> {
        let result = (&mut self.call).await;
        self.done = true;
        result
    }
}

impl<R: Send + 'static> Drop for PendingStart<R> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(claim) = self.claim.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // No runtime to wait on (the program is shutting down): the
            // call is dropped, and the rpc loop forgets it.
            tracing::warn!(
                thread_id = %Bounded(&self.thread_id),
                "a `turn/start` abandoned outside a tokio runtime cannot be followed; its turn, if any, is let go"
            );
            return;
        };
        // `Drop` cannot wait: the call, already on the wire, goes on in a
        // task. Its pending future is a zero-sized placeholder.
        let call = std::mem::replace(&mut self.call, Box::pin(std::future::pending()));
        let abandoned = self.runtime.turns().abandoned(&self.thread_id);
        let settle = settle_abandoned(
            call,
            claim,
            self.starting.take(),
            abandoned,
            self.runtime.clone(),
        );
        handle.spawn(settle.instrument(self.span.clone()));
    }
}

/// Waits for the answer to a `turn/start` its caller gave up on, and
/// interrupts the turn it started; the guards are released when done.
async fn settle_abandoned<R>(
    call: StartCall<R>,
    claim: Claim,
    starting: Option<StartGuard>,
    abandoned: AbandonedStart,
    runtime: Runtime,
) {
    let answer = call.await;
    drop(starting);
    let turn = match (answer, claim.take()) {
        (Ok(_), Some(Ok(turn))) => turn,
        (Ok(_), Some(Err(error))) => {
            // The answer named a turn already known (codex added the
            // input to a running turn): not this start's to stop.
            tracing::warn!(%error, "an abandoned `turn/start` started no new turn");
            return;
        }
        // An answer without a turn id fails to decode, so `Ok` comes
        // with a registration; no turn to stop either way.
        (Ok(_), None) => return,
        (Err(error), _) => {
            tracing::debug!(%error, "an abandoned `turn/start` failed; no turn started");
            return;
        }
    };
    let thread_id = turn.thread_id.clone();
    let turn_id = turn.turn_id.clone();
    tracing::warn!(
        thread_id = %Bounded(&thread_id),
        turn_id = %Bounded(&turn_id),
        "`turn/start` was abandoned before its answer; interrupting the turn it started"
    );
    let params = TurnInterruptParams {
        thread_id: thread_id.clone(),
        turn_id: turn_id.clone(),
    };
    match tokio::time::timeout(ABANDONED_GRACE, runtime.call(params)).await {
        Ok(Ok(_)) => {
            let mut ended = turn.subscribe_end();
            // The sender lives in `turn`, held here.
            if tokio::time::timeout(ABANDONED_GRACE, ended.wait_for(|ended| *ended))
                .await
                .is_err()
            {
                tracing::warn!(
                    turn_id = %Bounded(&turn_id),
                    grace = ?ABANDONED_GRACE,
                    "the interrupted turn of an abandoned `turn/start` did not end in time"
                );
            }
        }
        Ok(Err(error)) => tracing::warn!(
            turn_id = %Bounded(&turn_id),
            %error,
            "interrupting the turn of an abandoned `turn/start` failed"
        ),
        Err(_) => tracing::warn!(
            turn_id = %Bounded(&turn_id),
            grace = ?ABANDONED_GRACE,
            "interrupting the turn of an abandoned `turn/start` got no answer in time"
        ),
    }
    runtime.turns().remove(&thread_id, &turn_id);
    drop(abandoned);
}

/// The answer of a request that starts a turn.
trait StartsTurn {
    /// The id of the turn started.
    fn turn_id(&self) -> &str;
    /// The thread the turn runs in, when it is not the one asked for.
    fn other_thread(&self, _asked: &str) -> Option<&str> {
        None
    }
}

impl StartsTurn for TurnStartResponse {
    fn turn_id(&self) -> &str {
        &self.turn.id
    }
}

impl StartsTurn for ReviewStartResponse {
    fn turn_id(&self) -> &str {
        &self.turn.id
    }

    fn other_thread(&self, asked: &str) -> Option<&str> {
        (self.review_thread_id != asked).then_some(self.review_thread_id.as_str())
    }
}

/// The turn registered by the answer to `turn/start`, until the caller
/// takes it; dropped untaken (the call's future dropped, or its answer
/// unreadable as a whole), it unregisters the turn nobody will read.
struct Claim {
    turns: Arc<TurnTable>,
    thread_id: String,
    span: Span,
    slot: Arc<std::sync::Mutex<Option<Registered>>>,
}

/// The turn the answer registered, or why it could not.
type Registered = Result<Arc<TurnShared>, CoreError>;

/// The turn id in an answer to `turn/start`: all the loop reads of it.
#[derive(serde::Deserialize)]
struct StartedTurnId {
    turn: TurnId,
}

#[derive(serde::Deserialize)]
struct TurnId {
    id: String,
}

impl Claim {
    fn new(runtime: &Runtime, thread_id: &str, span: &Span) -> Claim {
        Claim {
            turns: Arc::clone(runtime.turns()),
            thread_id: thread_id.to_owned(),
            span: span.clone(),
            slot: Arc::default(),
        }
    }

    /// Registers the turn the answer names, on the rpc loop.
    fn on_answer(&self) -> OnAnswer {
        let turns = Arc::clone(&self.turns);
        let thread_id = self.thread_id.clone();
        let slot = Arc::clone(&self.slot);
        let span = self.span.clone();
        Box::new(move |answer| {
            let Ok(raw) = answer else { return };
            // An answer without a readable turn id fails the call when the
            // caller decodes it.
            let Ok(started) = serde_json::from_str::<StartedTurnId>(raw.get()) else {
                return;
            };
            let registered = turns.register(&thread_id, &started.turn.id, &span);
            *lock_slot(&slot) = Some(registered);
        })
    }

    /// The registration the answer made, once.
    fn take(&self) -> Option<Registered> {
        lock_slot(&self.slot).take()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(Ok(turn)) = self.take() {
            self.turns.remove(&turn.thread_id, &turn.turn_id);
        }
    }
}

fn lock_slot<T>(slot: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only a store and a take happen under it; a poisoned lock still holds
    // a consistent value.
    slot.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl TurnHandle {
    /// The thread of the turn.
    pub fn thread_id(&self) -> &str {
        &self.shared.thread_id
    }

    /// The turn's id.
    pub fn turn_id(&self) -> &str {
        &self.shared.turn_id
    }

    /// The turn's `codexrt.turn` span (see `docs/observability.md`): the
    /// parent of the turn's calls and server requests, for work of yours
    /// that belongs to the turn.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Calls `params` under the turn's span.
    async fn call<P: ClientRequest>(&self, params: P) -> Result<P::Response, CoreError> {
        self.runtime.admit(&params)?;
        self.runtime
            .traced_call(P::METHOD, &params, None, &self.span)
            .await
    }

    /// The turn's event stream, the first time it is asked for; `None`
    /// afterwards. Events since the turn started are queued for it.
    pub fn events(&mut self) -> Option<TurnEvents> {
        if std::mem::replace(&mut self.events_taken, true) {
            return None;
        }
        Some(TurnEvents {
            shared: Arc::clone(&self.shared),
            batch: VecDeque::new(),
        })
    }

    /// Asks the server to interrupt the turn (`turn/interrupt`); the turn
    /// then ends with status `interrupted`.
    ///
    /// # Errors
    /// As for [`Runtime::call`].
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn interrupt(&self) -> Result<TurnInterruptResponse, CoreError> {
        let params = TurnInterruptParams {
            thread_id: self.shared.thread_id.clone(),
            turn_id: self.shared.turn_id.clone(),
        };
        self.call(params).await
    }

    /// Adds input to the running turn (`turn/steer`).
    ///
    /// # Errors
    /// As for [`Runtime::call`].
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn steer(&self, input: Vec<UserInput>) -> Result<TurnSteerResponse, CoreError> {
        let params = TurnSteerParams {
            thread_id: self.shared.thread_id.clone(),
            expected_turn_id: self.shared.turn_id.clone(),
            input,
            ..TurnSteerParams::default()
        };
        self.call(params).await
    }

    /// Waits for the turn to end and returns its outcome.
    ///
    /// # Errors
    /// [`CoreError::Closed`] when the connection closed first (with the exit
    /// status and stderr tail); [`CoreError::TurnDeadline`] when the deadline
    /// passed; the error of `thread/read` when the watchdog could not ask.
    ///
    /// # Cancel safety
    /// Cancel safe until the outcome is returned: the handle is consumed, so
    /// a dropped `wait` loses only the handle, not the turn on the server.
    pub async fn wait(mut self) -> Result<TurnOutcome, CoreError> {
        self.outcome().await
    }

    /// Waits for the turn to end and returns its outcome, as
    /// [`wait`](TurnHandle::wait) does, but keeps the handle: a caller
    /// that may stop waiting can still interrupt the turn, or wait again.
    ///
    /// # Errors
    /// As for [`wait`](TurnHandle::wait), and
    /// [`CoreError::OutcomeTaken`] once an earlier call returned.
    ///
    /// # Cancel safety
    /// Cancel safe: the outcome stays in the handle until a call returns
    /// it, and the deadline counts from the start of the turn, not from
    /// the call.
    pub async fn outcome(&mut self) -> Result<TurnOutcome, CoreError> {
        if self.outcome_taken {
            return Err(CoreError::OutcomeTaken {
                thread_id: self.shared.thread_id.clone(),
                turn_id: self.shared.turn_id.clone(),
            });
        }
        // The watchdog's `thread/read` and the deadline's interrupt nest
        // under the turn.
        let result = self.outcome_once().instrument(self.span.clone()).await;
        // A watchdog that could not ask leaves the turn running: it can be
        // waited for again.
        self.outcome_taken = result.is_ok() || self.shared.has_ended();
        result
    }

    async fn outcome_once(&self) -> Result<TurnOutcome, CoreError> {
        let mut ended = self.shared.subscribe_end();
        // A limit too far to be a point in time is no limit.
        let deadline_at = self
            .options
            .deadline
            .and_then(|limit| self.started.checked_add(limit));
        let mut heard = self.shared.activity();
        loop {
            if let Some(outcome) = self.shared.take_outcome() {
                return outcome;
            }
            let quiet_at = self
                .options
                .inactivity
                .and_then(|quiet| Instant::now().checked_add(quiet));
            tokio::select! {
                // The sender lives in the shared state this handle holds, so
                // the channel cannot close; it changes once, when the turn
                // ends, after the outcome is in place.
                _ = ended.changed() => {}
                () = sleep_until(deadline_at) => {
                    let error = || CoreError::TurnDeadline {
                        thread_id: self.shared.thread_id.clone(),
                        turn_id: self.shared.turn_id.clone(),
                        deadline: self.options.deadline.unwrap_or_default(),
                    };
                    // Best effort, and bounded: the deadline is what the
                    // caller asked for, so the interrupt may not hold the
                    // answer back past a short grace.
                    let _ = tokio::time::timeout(INTERRUPT_GRACE, self.interrupt()).await;
                    self.runtime.turns().remove(&self.shared.thread_id, &self.shared.turn_id);
                    self.shared.fail(error());
                    return Err(error());
                }
                () = sleep_until(quiet_at) => {
                    let now = self.shared.activity();
                    if now == heard {
                        // The question holds `wait` neither past the
                        // deadline (the next turn of the loop then
                        // interrupts) nor past the turn's own end.
                        tokio::select! {
                            read = self.reconcile() => read?,
                            _ = ended.changed() => {}
                            () = sleep_until(deadline_at) => {}
                        }
                    }
                    heard = now;
                }
            }
        }
    }

    /// Asks the server whether the turn ended and, if so, ends it here.
    async fn reconcile(&self) -> Result<(), CoreError> {
        let params = ThreadReadParams {
            include_turns: Some(true),
            thread_id: self.shared.thread_id.clone(),
        };
        let read = self.call(params).await?;
        let turn = read
            .thread
            .turns
            .iter()
            .find(|turn| turn.id == self.shared.turn_id);
        // `reconcile` ends the turn unless it ended already, or the router
        // is handing it a frame right now: then it was not quiet, and the
        // next quiet spell asks again.
        if let Some(turn) = turn
            && turn.status != TurnStatus::InProgress
            && self.shared.reconcile(turn)
        {
            tracing::warn!(turn_id = %turn.id, "turn ended without `turn/completed`; reconciled with `thread/read`");
            self.runtime
                .turns()
                .remove(&self.shared.thread_id, &self.shared.turn_id);
        }
        Ok(())
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A turn's events, in order. Ends after the turn ended and every queued
/// event was read.
#[derive(Debug)]
pub struct TurnEvents {
    shared: Arc<TurnShared>,
    /// Events taken from the turn's queue in one go and not yet returned.
    batch: VecDeque<TurnEvent>,
}

impl TurnEvents {
    /// The next event, or `None` once the turn ended and the queue is empty.
    ///
    /// # Cancel safety
    /// Cancel safe: events are taken from the queue only when returned.
    pub async fn recv(&mut self) -> Option<TurnEvent> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next event: `Ready(None)` once the turn ended and the
    /// queue is empty. The same as [`recv`](TurnEvents::recv) and the
    /// [`Stream`](futures_core::Stream) implementation, for code that
    /// polls by hand.
    ///
    /// # Cancel safety
    /// Cancel safe: an event is taken from the queue only in the poll that
    /// returns it; a `Pending` poll takes nothing.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        loop {
            if let Some(event) = self.batch.pop_front() {
                return Poll::Ready(Some(event));
            }
            match self.shared.poll_events(cx, &mut self.batch) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next event if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<TurnEvent> {
        if self.batch.is_empty() {
            self.shared.try_take_events(&mut self.batch);
        }
        self.batch.pop_front()
    }
}

/// The same events as [`TurnEvents::recv`], for `StreamExt` and the like.
/// Ends (and stays ended) after the turn ended and every event was read.
impl futures_core::Stream for TurnEvents {
    type Item = TurnEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.batch.len(), None)
    }
}
