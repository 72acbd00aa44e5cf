//! The router's side of turns: each turn's queue of events, which never
//! drops anything and merges deltas when its reader falls behind; the
//! table of turns by thread, which keeps what arrives for a turn before
//! `turn/start` has answered; and the outcome each turn builds as it goes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::Turn;
use codexrt_transport::CloseReport;
use serde::Deserialize;
use tokio::sync::watch;
use tracing::Span;

use crate::outcome::{Accumulator, FinishedTurn, LargeTexts, TurnOutcome};
use crate::turn::TurnEvent;
use crate::{CoreError, StreamDelta, StreamKind};

/// How many transient events (deltas, progress) a turn's queue holds before
/// it merges each new delta into the latest queued one of its stream.
/// Lifecycle events, and progress that cannot be merged, are always queued.
pub const TURN_EVENT_CAPACITY: usize = 256;
/// How far back from the end of a full queue a delta looks for a piece of
/// its own stream to join. Deltas of one item nearly always come in a run;
/// a few interleaved streams (reasoning beside a message) fit as well.
const MERGE_REACH: usize = 16;
/// How many turns nobody is starting may have early notifications kept at
/// once; the oldest is forgotten first. A turn this runtime starts is never
/// forgotten: its notifications are kept until `turn/start` answers.
pub(crate) const UNCLAIMED_TURNS: usize = 16;
/// How many notifications are kept for a turn nobody is starting.
pub(crate) const UNCLAIMED_EVENTS: usize = 1024;
/// How many ended turns the table remembers (of all threads together), so
/// that stragglers for them are recognized and ignored, and a start
/// answered with one of them is refused. Stragglers follow the end within
/// moments; the memory is bounded so that a runtime that runs many
/// threads, one after the other, does not keep something of each.
const ENDED_MEMORY: usize = 256;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Held for a few assignments only and never across user code or an
    // await; a poisoned lock still guards consistent data.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// The thread and turn a notification of a method this version does not
/// know is about, read from its raw params: the typed params answer this
/// for every known method.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawIds {
    #[serde(rename = "threadId")]
    thread_id: Option<String>,
    #[serde(rename = "turnId")]
    turn_id: Option<String>,
    turn: Option<RawTurn>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTurn {
    id: Option<String>,
}

impl RawIds {
    /// The ids in `notification` when it is of an unknown method; nothing
    /// otherwise.
    pub(crate) fn of_unknown(notification: &ServerNotification) -> RawIds {
        match notification {
            ServerNotification::Unknown {
                params: Some(params),
                ..
            } => serde_json::from_str(params.get()).unwrap_or_default(),
            _ => RawIds::default(),
        }
    }

    fn turn(&self) -> Option<&str> {
        self.turn_id
            .as_deref()
            .or_else(|| self.turn.as_ref().and_then(|turn| turn.id.as_deref()))
    }
}

/// Lifecycle events are always queued: there are a bounded number per item
/// (started, completed) and per turn (started, completed, errors, resolved
/// requests), and the outcome keeps every completed item anyway.
fn is_lifecycle(notification: &ServerNotification) -> bool {
    matches!(
        notification,
        ServerNotification::TurnStarted(_)
            | ServerNotification::TurnCompleted(_)
            | ServerNotification::ItemStarted(_)
            | ServerNotification::ItemCompleted(_)
            | ServerNotification::Error(_)
            | ServerNotification::ServerRequestResolved(_)
    )
}

fn is_transient(event: &TurnEvent) -> bool {
    match event {
        TurnEvent::Delta(_) => true,
        TurnEvent::Notification(notification) => !is_lifecycle(notification),
    }
}

/// What delivering to a turn did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Queued (or merged) behind other queued events; the turn goes on.
    Queued,
    /// Queued into an empty queue, whose reader may be waiting: it needs a
    /// [`TurnShared::wake`], which the router gives once per batch.
    First,
    /// It ended the turn.
    Ended,
    /// The turn had already ended: ignored.
    Ignored,
}

struct TurnState {
    queue: VecDeque<TurnEvent>,
    /// Transient events in `queue`.
    transient: usize,
    accumulator: Accumulator,
    outcome: Option<Result<FinishedTurn, CoreError>>,
    ended: bool,
    /// Counts every delivery, for the inactivity watchdog.
    activity: u64,
    /// Notifications not queued because the turn was unclaimed and its
    /// queue held [`UNCLAIMED_EVENTS`] already.
    unclaimed_dropped: u64,
    /// The reader of the events, when it found the queue empty and waits.
    reader: Option<Waker>,
}

/// One turn, shared by the router and the user's handle.
pub(crate) struct TurnShared {
    pub(crate) thread_id: String,
    pub(crate) turn_id: String,
    state: Mutex<TurnState>,
    /// Becomes true once, when the turn ends.
    ended: watch::Sender<bool>,
    /// The turn's `codexrt.turn` span, once its start registered it: the
    /// parent of the server requests about it.
    span: OnceLock<Span>,
}

impl TurnShared {
    fn new(thread_id: &str, turn_id: &str) -> Arc<TurnShared> {
        Arc::new(TurnShared {
            thread_id: thread_id.to_owned(),
            turn_id: turn_id.to_owned(),
            state: Mutex::new(TurnState {
                queue: VecDeque::new(),
                transient: 0,
                accumulator: Accumulator::default(),
                outcome: None,
                ended: false,
                activity: 0,
                unclaimed_dropped: 0,
                reader: None,
            }),
            ended: watch::channel(false).0,
            span: OnceLock::new(),
        })
    }

    pub(crate) fn is(&self, thread_id: &str, turn_id: &str) -> bool {
        self.turn_id == turn_id && self.thread_id == thread_id
    }

    /// Records a delta and queues it, merged into the latest queued piece of
    /// its stream when the queue is full.
    pub(crate) fn deliver_delta(
        &self,
        kind: StreamKind,
        index: i64,
        item_id: &str,
        text: &str,
    ) -> Delivered {
        let mut state = lock(&self.state);
        if state.ended {
            return Delivered::Ignored;
        }
        state.activity += 1;
        let item_id = state.accumulator.delta(item_id, kind, text);
        if state.transient >= TURN_EVENT_CAPACITY && merge(&mut state, kind, index, &item_id, text)
        {
            return Delivered::Queued;
        }
        state.transient += 1;
        let was_empty = state.queue.is_empty();
        state.queue.push_back(TurnEvent::Delta(StreamDelta {
            item_id,
            kind,
            index,
            text: text.to_owned(),
            parts: 1,
        }));
        // The reader waits only after it found the queue empty, and takes
        // all of it at once: only the first event after that needs a wake.
        if was_empty {
            Delivered::First
        } else {
            Delivered::Queued
        }
    }

    /// Records and queues a notification other than a delta.
    pub(crate) fn deliver(&self, notification: Arc<ServerNotification>) -> Delivered {
        self.deliver_lent(notification, None)
    }

    /// Frees the texts of the turn that the large frame read into `texts`
    /// carries too, before it is decoded; returns whether it freed any.
    /// They are taken back by [`TurnShared::deliver_lent`] with the
    /// decoded notification, or else by [`TurnShared::restore`].
    pub(crate) fn lend(&self, texts: &LargeTexts<'_>) -> bool {
        let mut state = lock(&self.state);
        !state.ended && state.accumulator.lend(texts)
    }

    /// Takes lent texts back from the frame, which did not decode into a
    /// notification for this turn.
    pub(crate) fn restore(&self, texts: &LargeTexts<'_>) {
        lock(&self.state).accumulator.restore(texts);
    }

    /// [`TurnShared::deliver`], for the notification decoded from a frame
    /// that texts were lent to (read into `lent`).
    pub(crate) fn deliver_lent(
        &self,
        notification: Arc<ServerNotification>,
        lent: Option<&LargeTexts<'_>>,
    ) -> Delivered {
        let mut state = lock(&self.state);
        if state.ended {
            // Failed meanwhile: nobody reads the texts.
            return Delivered::Ignored;
        }
        state.activity += 1;
        match lent {
            Some(texts) => state.accumulator.observe_lent(&notification, texts),
            None => state.accumulator.observe(&notification),
        }
        // The outcome is built from the notification before it is queued,
        // so the turn it carries (with every item's text) is not copied.
        let ended = if let ServerNotification::TurnCompleted(done) = &*notification {
            Self::finish_locked(&mut state, &self.thread_id, &done.turn, Some(&notification));
            true
        } else {
            false
        };
        let event = TurnEvent::Notification(notification);
        if is_transient(&event) {
            state.transient += 1;
        }
        let was_empty = state.queue.is_empty();
        state.queue.push_back(event);
        let delivered = if ended {
            Delivered::Ended
        } else if was_empty {
            Delivered::First
        } else {
            Delivered::Queued
        };
        drop(state);
        if delivered == Delivered::Ended {
            self.wake_ended();
        }
        delivered
    }

    fn finish_locked(
        state: &mut TurnState,
        thread_id: &str,
        turn: &Turn,
        ending: Option<&Arc<ServerNotification>>,
    ) {
        let accumulator = std::mem::take(&mut state.accumulator);
        state.outcome = Some(Ok(accumulator.finish(thread_id, turn, ending)));
        state.ended = true;
    }

    /// Ends the turn from a `thread/read` answer, when `turn/completed`
    /// never came. Returns whether it did: not when the turn had ended
    /// already, nor while the router is delivering a large frame to it
    /// (the turn is not quiet then, and its texts are lent to the frame).
    pub(crate) fn reconcile(&self, turn: &Turn) -> bool {
        let mut state = lock(&self.state);
        if state.ended || state.accumulator.is_lending() {
            return false;
        }
        Self::finish_locked(&mut state, &self.thread_id, turn, None);
        drop(state);
        self.wake_ended();
        true
    }

    /// Ends the turn with an error, unless it already ended.
    pub(crate) fn fail(&self, error: CoreError) {
        let mut state = lock(&self.state);
        if state.ended {
            return;
        }
        state.outcome = Some(Err(error));
        state.ended = true;
        drop(state);
        self.wake_ended();
    }

    /// Wakes the reader of the events, if it waits.
    pub(crate) fn wake(&self) {
        let reader = lock(&self.state).reader.take();
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    fn wake_ended(&self) {
        self.wake();
        self.ended.send_replace(true);
    }

    /// Moves every queued event into `into` (`Ready(true)`), or says the
    /// turn ended and nothing is queued (`Ready(false)`); otherwise
    /// registers `cx`'s waker for the next queued event or the end.
    ///
    /// The check and the registration happen under the lock the router
    /// queues under, so no event can slip between them unwoken.
    pub(crate) fn poll_events(
        &self,
        cx: &mut Context<'_>,
        into: &mut VecDeque<TurnEvent>,
    ) -> Poll<bool> {
        let mut state = lock(&self.state);
        if state.queue.is_empty() {
            if state.ended {
                return Poll::Ready(false);
            }
            match &mut state.reader {
                Some(reader) => reader.clone_from(cx.waker()),
                None => state.reader = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        // Swapping whole queues takes the lock once per batch rather than
        // once per event, and leaves the router an empty queue to fill.
        std::mem::swap(&mut state.queue, into);
        state.transient = 0;
        Poll::Ready(true)
    }

    /// Moves every queued event into `into`, without waiting; whether there
    /// were any.
    pub(crate) fn try_take_events(&self, into: &mut VecDeque<TurnEvent>) -> bool {
        let mut state = lock(&self.state);
        if state.queue.is_empty() {
            return false;
        }
        std::mem::swap(&mut state.queue, into);
        state.transient = 0;
        true
    }

    /// A receiver that sees `true` once the turn ended.
    pub(crate) fn subscribe_end(&self) -> watch::Receiver<bool> {
        self.ended.subscribe()
    }

    /// The outcome, once, after the turn ended.
    pub(crate) fn take_outcome(&self) -> Option<Result<TurnOutcome, CoreError>> {
        let finished = lock(&self.state).outcome.take();
        // Texts held by their items are copied back outside the lock.
        finished.map(|finished| finished.map(FinishedTurn::into_outcome))
    }

    pub(crate) fn has_ended(&self) -> bool {
        lock(&self.state).ended
    }

    /// How many notifications the turn received so far.
    pub(crate) fn activity(&self) -> u64 {
        lock(&self.state).activity
    }

    /// Queues a notification for a turn nobody is starting yet, up to
    /// [`UNCLAIMED_EVENTS`].
    fn deliver_unclaimed(&self, notification: Arc<ServerNotification>) -> Delivered {
        let full = {
            let state = lock(&self.state);
            state.queue.len() >= UNCLAIMED_EVENTS
        };
        if full {
            lock(&self.state).unclaimed_dropped += 1;
            return Delivered::Queued;
        }
        self.deliver(notification)
    }
}

/// Joins `text` to the latest queued piece of the same stream, searching
/// back from the end of the queue no further than [`MERGE_REACH`] events
/// and never past a lifecycle event, so that the order of every stream and
/// of every lifecycle event stays as it was sent. Returns whether it did.
fn merge(
    state: &mut TurnState,
    kind: StreamKind,
    index: i64,
    item_id: &Arc<str>,
    text: &str,
) -> bool {
    for event in state.queue.iter_mut().rev().take(MERGE_REACH) {
        match event {
            TurnEvent::Delta(queued)
                if queued.kind == kind
                    && queued.index == index
                    && Arc::ptr_eq(&queued.item_id, item_id) =>
            {
                queued.text.push_str(text);
                queued.parts = queued.parts.saturating_add(1);
                return true;
            }
            TurnEvent::Delta(_) => {}
            TurnEvent::Notification(notification) if !is_lifecycle(notification) => {}
            TurnEvent::Notification(_) => return false,
        }
    }
    false
}

impl std::fmt::Debug for TurnShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnShared")
            .field("thread_id", &self.thread_id)
            .field("turn_id", &self.turn_id)
            .finish_non_exhaustive()
    }
}

/// The turns of one thread. A thread is in the table only while it has
/// one of these; an idle one is removed at once (see
/// [`TableState::drop_if_idle`]), so the table holds the threads with
/// something going on, not every thread the runtime ever saw.
#[derive(Default)]
struct ThreadTurns {
    /// Turns registered by `start_turn` and not ended.
    active: Vec<Arc<TurnShared>>,
    /// Turns the server spoke of before anyone registered them.
    early: Vec<Arc<TurnShared>>,
    /// How many `turn/start` calls on this thread have not finished
    /// registering; while any has not, early turns are kept whole.
    starting: usize,
}

impl ThreadTurns {
    fn is_idle(&self) -> bool {
        self.active.is_empty() && self.early.is_empty() && self.starting == 0
    }
}

/// The last [`ENDED_MEMORY`] turns that ended, as (thread, turn), oldest
/// first.
#[derive(Default)]
struct EndedTurns {
    order: VecDeque<(String, String)>,
}

impl EndedTurns {
    fn remember(&mut self, thread_id: &str, turn_id: &str) {
        if self.order.len() >= ENDED_MEMORY {
            self.order.pop_front();
        }
        self.order
            .push_back((thread_id.to_owned(), turn_id.to_owned()));
    }

    fn contains(&self, thread_id: &str, turn_id: &str) -> bool {
        // Newest first: a straggler is about a turn that just ended.
        self.order
            .iter()
            .rev()
            .any(|(thread, turn)| turn == turn_id && thread == thread_id)
    }
}

#[derive(Default)]
struct TableState {
    threads: HashMap<String, ThreadTurns>,
    /// By thread, how many `turn/start` calls their callers gave up on
    /// are not settled yet (see [`TurnTable::abandoned`]).
    abandoned: HashMap<String, usize>,
    /// Early turns of threads nobody is starting a turn on, oldest first.
    unclaimed: VecDeque<Arc<TurnShared>>,
    ended: EndedTurns,
    closed: Option<Arc<CloseReport>>,
}

impl TableState {
    /// Removes `thread_id` when nothing of it is kept any more.
    fn drop_if_idle(&mut self, thread_id: &str) {
        if self
            .threads
            .get(thread_id)
            .is_some_and(ThreadTurns::is_idle)
        {
            self.threads.remove(thread_id);
        }
    }

    /// Takes the turn off its thread's running turns, if it was one, and
    /// remembers that it ended.
    fn end(&mut self, thread_id: &str, turn_id: &str) {
        if let Some(thread) = self.threads.get_mut(thread_id) {
            thread.active.retain(|turn| turn.turn_id != turn_id);
        }
        self.drop_if_idle(thread_id);
        self.ended.remember(thread_id, turn_id);
    }

    /// Forgets the oldest unclaimed turns beyond [`UNCLAIMED_TURNS`].
    fn trim_unclaimed(&mut self) {
        while self.unclaimed.len() > UNCLAIMED_TURNS {
            let Some(oldest) = self.unclaimed.pop_front() else {
                return;
            };
            if let Some(thread) = self.threads.get_mut(&oldest.thread_id) {
                thread.early.retain(|turn| !Arc::ptr_eq(turn, &oldest));
            }
            self.drop_if_idle(&oldest.thread_id);
        }
    }
}

/// Every turn by thread. The router looks up the turn of each notification
/// here unless it is the same turn as the one before (see [`Route`]).
#[derive(Default)]
pub(crate) struct TurnTable {
    state: Mutex<TableState>,
    /// Woken whenever an abandoned start settles.
    settled: tokio::sync::Notify,
}

/// The router's memory of the last turn it delivered to: a stream of deltas
/// for one turn finds it without taking the table's lock.
#[derive(Default)]
pub(crate) struct Route {
    last: Option<Arc<TurnShared>>,
    /// Turns whose readers get a wake at the end of the batch.
    wake: Vec<Arc<TurnShared>>,
}

impl Route {
    fn after(&mut self, turn: &Arc<TurnShared>, delivered: Delivered) {
        match delivered {
            Delivered::First => {
                if !self.wake.iter().any(|waiting| Arc::ptr_eq(waiting, turn)) {
                    self.wake.push(Arc::clone(turn));
                }
            }
            Delivered::Queued => {}
            Delivered::Ended | Delivered::Ignored => self.last = None,
        }
    }

    /// Wakes the readers of every turn that got its first queued event
    /// since the last batch ended.
    pub(crate) fn wake_readers(&mut self) {
        for turn in self.wake.drain(..) {
            turn.wake();
        }
    }
}

impl TurnTable {
    /// Records that a `turn/start` on `thread_id` is under way, until the
    /// guard is dropped (after the turn is registered, or the call failed).
    pub(crate) fn starting(self: &Arc<Self>, thread_id: &str) -> StartGuard {
        let mut table = lock(&self.state);
        table
            .threads
            .entry(thread_id.to_owned())
            .or_default()
            .starting += 1;
        StartGuard {
            table: Arc::clone(self),
            thread_id: thread_id.to_owned(),
        }
    }

    /// Records that the caller of a `turn/start` on `thread_id` gave up
    /// before its answer, until the guard is dropped: once the answer came
    /// and the turn it started, if any, was interrupted.
    pub(crate) fn abandoned(self: &Arc<Self>, thread_id: &str) -> AbandonedStart {
        *lock(&self.state)
            .abandoned
            .entry(thread_id.to_owned())
            .or_default() += 1;
        AbandonedStart {
            table: Arc::clone(self),
            thread_id: thread_id.to_owned(),
        }
    }

    /// Waits until no abandoned `turn/start` of `thread_id` is left
    /// unsettled, so that a new start does not reach codex while the
    /// turn of an abandoned one may still run (codex would add the new
    /// input to that turn).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub(crate) async fn abandoned_settled(&self, thread_id: &str) {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            // Registered before the check, so that a settling in between
            // still wakes this waiter.
            settled.as_mut().enable();
            if !lock(&self.state).abandoned.contains_key(thread_id) {
                return;
            }
            settled.await;
        }
    }

    /// The turn `(thread_id, turn_id)` that notifications go to, if anyone
    /// wants them: a registered turn, or an early one kept for a start
    /// under way (or, within limits, for nobody in particular).
    fn find(&self, route: &mut Route, thread_id: &str, turn_id: &str) -> Target {
        if let Some(last) = &route.last
            && last.is(thread_id, turn_id)
        {
            return Target::Turn(Arc::clone(last));
        }
        let mut table = lock(&self.state);
        if let Some(known) = Self::known(&table, route, thread_id, turn_id) {
            return known;
        }
        if table.ended.contains(thread_id, turn_id) {
            return Target::Nobody;
        }
        let turn = TurnShared::new(thread_id, turn_id);
        let thread = table.threads.entry(thread_id.to_owned()).or_default();
        thread.early.push(Arc::clone(&turn));
        if thread.starting > 0 {
            route.last = Some(Arc::clone(&turn));
            return Target::Turn(turn);
        }
        table.unclaimed.push_back(Arc::clone(&turn));
        table.trim_unclaimed();
        Target::Unclaimed(turn)
    }

    /// The turn `(thread_id, turn_id)` if the table has it, or `Nobody`
    /// once the table closed; `None` for a turn it does not know.
    fn known(
        table: &TableState,
        route: &mut Route,
        thread_id: &str,
        turn_id: &str,
    ) -> Option<Target> {
        if table.closed.is_some() {
            return Some(Target::Nobody);
        }
        let thread = table.threads.get(thread_id)?;
        let turn = thread
            .active
            .iter()
            .chain(&thread.early)
            .find(|turn| turn.turn_id == turn_id)?;
        let turn = Arc::clone(turn);
        route.last = Some(Arc::clone(&turn));
        let claimed = thread.starting > 0 || thread.active.iter().any(|t| Arc::ptr_eq(t, &turn));
        Some(if claimed {
            Target::Turn(turn)
        } else {
            Target::Unclaimed(turn)
        })
    }

    /// Lends the texts that the large frame read into `texts` carries to
    /// the frame, from the turn it is for, if that turn is known and
    /// wanted; returns the turn if it lent any. The decoded notification
    /// then goes to [`TurnTable::deliver_lent`] (or the texts back with
    /// [`TurnShared::restore`]).
    pub(crate) fn lend(
        &self,
        route: &mut Route,
        texts: &LargeTexts<'_>,
    ) -> Option<Arc<TurnShared>> {
        let (thread_id, turn_id) = (&*texts.thread_id, &*texts.turn_id);
        let turn = match &route.last {
            Some(last) if last.is(thread_id, turn_id) => Arc::clone(last),
            _ => match Self::known(&lock(&self.state), route, thread_id, turn_id)? {
                Target::Turn(turn) => turn,
                Target::Unclaimed(_) | Target::Nobody => return None,
            },
        };
        turn.lend(texts).then_some(turn)
    }

    /// Delivers to `turn`, which lent texts to the frame read into
    /// `texts`, the notification decoded from it.
    pub(crate) fn deliver_lent(
        &self,
        route: &mut Route,
        turn: &Arc<TurnShared>,
        notification: Arc<ServerNotification>,
        texts: &LargeTexts<'_>,
    ) {
        let delivered = turn.deliver_lent(notification, Some(texts));
        self.delivered(route, turn, delivered);
    }

    fn delivered(&self, route: &mut Route, turn: &Arc<TurnShared>, delivered: Delivered) {
        route.after(turn, delivered);
        if matches!(delivered, Delivered::Ended | Delivered::Ignored) {
            self.forget(&turn.thread_id, &turn.turn_id);
        }
    }

    /// Routes a delta to its turn, if anyone wants it.
    pub(crate) fn route_delta(
        &self,
        route: &mut Route,
        thread_id: &str,
        turn_id: &str,
        delta: (StreamKind, i64, &str, &str),
    ) {
        let (kind, index, item_id, text) = delta;
        match self.find(route, thread_id, turn_id) {
            Target::Turn(turn) | Target::Unclaimed(turn) => {
                let delivered = turn.deliver_delta(kind, index, item_id, text);
                route.after(&turn, delivered);
            }
            Target::Nobody => {}
        }
    }

    /// Routes a notification to its turn, or with a thread id only, to
    /// every turn of the thread. The ids come from the typed params, or
    /// for a method this version does not know, from `fallback`.
    pub(crate) fn route(
        &self,
        route: &mut Route,
        notification: Arc<ServerNotification>,
        fallback: &RawIds,
    ) {
        let target = {
            let thread_id = notification.thread_id().or(fallback.thread_id.as_deref());
            let Some(thread_id) = thread_id else { return };
            let turn_id = notification.turn_id().or_else(|| fallback.turn());
            match turn_id {
                Some(turn_id) => self.find(route, thread_id, turn_id),
                None => {
                    let thread_id = thread_id.to_owned();
                    return self.route_to_thread(&thread_id, notification);
                }
            }
        };
        let (turn, delivered) = match target {
            Target::Turn(turn) => {
                let delivered = turn.deliver(notification);
                (turn, delivered)
            }
            Target::Unclaimed(turn) => {
                let delivered = turn.deliver_unclaimed(notification);
                (turn, delivered)
            }
            Target::Nobody => return,
        };
        self.delivered(route, &turn, delivered);
    }

    fn route_to_thread(&self, thread_id: &str, notification: Arc<ServerNotification>) {
        let turns: Vec<Arc<TurnShared>> = {
            let table = lock(&self.state);
            let Some(thread) = table.threads.get(thread_id) else {
                return;
            };
            thread.active.iter().chain(&thread.early).cloned().collect()
        };
        let Some((last, others)) = turns.split_last() else {
            return;
        };
        // Rare enough to wake at once.
        for turn in others {
            if turn.deliver(Arc::clone(&notification)) == Delivered::First {
                turn.wake();
            }
        }
        if last.deliver(notification) == Delivered::First {
            last.wake();
        }
    }

    /// Forgets a registered turn that ended, remembering its id for
    /// stragglers, and its thread when nothing else of it is kept. An early
    /// turn that ended stays where it is until it is claimed, or forgotten
    /// as unclaimed: its outcome waits for its handle.
    fn forget(&self, thread_id: &str, turn_id: &str) {
        let mut table = lock(&self.state);
        let registered = table
            .threads
            .get(thread_id)
            .is_some_and(|thread| thread.active.iter().any(|turn| turn.turn_id == turn_id));
        if registered {
            table.end(thread_id, turn_id);
        }
    }

    /// Registers a turn that `turn/start` just answered for, taking over
    /// what arrived for it before.
    ///
    /// # Errors
    /// [`CoreError::TurnAlreadyStarted`] when the answer names a turn of
    /// the thread that is registered already, or ended recently: codex
    /// answers so when a turn is running, having added the input to it.
    pub(crate) fn register(
        &self,
        thread_id: &str,
        turn_id: &str,
        span: &Span,
    ) -> Result<Arc<TurnShared>, CoreError> {
        let mut table = lock(&self.state);
        if let Some(report) = table.closed.clone() {
            let turn = TurnShared::new(thread_id, turn_id);
            turn.fail(closed_error(report));
            return Ok(turn);
        }
        table.unclaimed.retain(|turn| !turn.is(thread_id, turn_id));
        let ended = table.ended.contains(thread_id, turn_id);
        let thread = table.threads.entry(thread_id.to_owned()).or_default();
        let early = thread
            .early
            .iter()
            .position(|turn| turn.turn_id == turn_id)
            .map(|at| thread.early.remove(at));
        let known = ended || thread.active.iter().any(|turn| turn.turn_id == turn_id);
        if early.is_none() && known {
            table.drop_if_idle(thread_id);
            return Err(CoreError::TurnAlreadyStarted {
                thread_id: thread_id.to_owned(),
                turn_id: turn_id.to_owned(),
            });
        }
        let turn = early.unwrap_or_else(|| TurnShared::new(thread_id, turn_id));
        // Registered once: a second start of the same turn was refused above.
        let _ = turn.span.set(span.clone());
        let dropped = lock(&turn.state).unclaimed_dropped;
        if dropped > 0 {
            tracing::warn!(
                thread_id,
                turn_id,
                dropped,
                "a turn claimed late lost notifications that came while nobody was starting it"
            );
        }
        if turn.has_ended() {
            table.end(thread_id, turn_id);
        } else if ended {
            // The turn ended (its `turn/completed` came and went) before
            // anyone claimed it, which only happens when it was forgotten
            // as unclaimed: its outcome cannot be rebuilt.
            turn.fail(CoreError::TurnForgotten {
                thread_id: thread_id.to_owned(),
                turn_id: turn_id.to_owned(),
            });
            table.drop_if_idle(thread_id);
        } else {
            thread.active.push(Arc::clone(&turn));
        }
        Ok(turn)
    }

    /// The span of the running turn `(thread_id, turn_id)`, when one was
    /// registered.
    pub(crate) fn span_of(&self, thread_id: &str, turn_id: &str) -> Option<Span> {
        let table = lock(&self.state);
        let thread = table.threads.get(thread_id)?;
        let turn = thread.active.iter().find(|turn| turn.turn_id == turn_id)?;
        turn.span.get().cloned()
    }

    /// Forgets a turn whose handle ended it some other way.
    pub(crate) fn remove(&self, thread_id: &str, turn_id: &str) {
        lock(&self.state).end(thread_id, turn_id);
    }

    /// How many threads the table keeps turns of: those with a turn
    /// running or starting, or with an early turn kept.
    pub(crate) fn threads(&self) -> usize {
        lock(&self.state).threads.len()
    }

    /// Ends every turn: the connection is gone.
    pub(crate) fn close(&self, report: &Arc<CloseReport>) {
        let mut table = lock(&self.state);
        table.closed = Some(Arc::clone(report));
        table.unclaimed.clear();
        table.ended = EndedTurns::default();
        for (_, thread) in table.threads.drain() {
            for turn in thread.active.iter().chain(&thread.early) {
                turn.fail(closed_error(Arc::clone(report)));
            }
        }
    }
}

enum Target {
    /// A turn someone registered or is about to.
    Turn(Arc<TurnShared>),
    /// A turn nobody is starting: kept within limits.
    Unclaimed(Arc<TurnShared>),
    /// Nobody wants it.
    Nobody,
}

/// Marks a `turn/start` under way on a thread; see [`TurnTable::starting`].
pub(crate) struct StartGuard {
    table: Arc<TurnTable>,
    thread_id: String,
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        let mut table = lock(&self.table.state);
        let table = &mut *table;
        let Some(thread) = table.threads.get_mut(&self.thread_id) else {
            return;
        };
        thread.starting = thread.starting.saturating_sub(1);
        if thread.starting == 0 {
            // What is left early on this thread now waits for nobody.
            table.unclaimed.extend(thread.early.iter().cloned());
            table.trim_unclaimed();
            table.drop_if_idle(&self.thread_id);
        }
    }
}

/// Marks an abandoned `turn/start` on a thread; see
/// [`TurnTable::abandoned`].
pub(crate) struct AbandonedStart {
    table: Arc<TurnTable>,
    thread_id: String,
}

impl Drop for AbandonedStart {
    fn drop(&mut self) {
        {
            let mut table = lock(&self.table.state);
            if let Some(count) = table.abandoned.get_mut(&self.thread_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    table.abandoned.remove(&self.thread_id);
                }
            }
        }
        self.table.settled.notify_waiters();
    }
}

fn closed_error(report: Arc<CloseReport>) -> CoreError {
    CoreError::Closed {
        method: "turn/start".to_owned(),
        report,
    }
}

#[cfg(test)]
mod tests;
