//! The router's side of turns: notifications demultiplexed by thread and
//! turn id into per-turn queues, an early buffer for notifications that
//! arrive before `turn/start` has answered, and the outcome of each turn.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::Turn;
use codexrt_transport::CloseReport;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::CoreError;
use crate::outcome::{Accumulator, TurnOutcome};
use crate::turn::TurnEvent;

/// How many transient events (deltas and other progress) a turn's queue
/// holds; beyond it they are dropped and counted in a [`TurnEvent::Lagged`].
pub const TURN_EVENT_CAPACITY: usize = 256;
/// How many turns not yet registered may have early notifications kept;
/// the oldest is forgotten first.
pub(crate) const EARLY_TURNS: usize = 16;
/// How many early notifications are kept per turn not yet registered.
pub(crate) const EARLY_PER_TURN: usize = 1024;

type TurnKey = (String, String);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Held for a few assignments only and never across user code or an
    // await; a poisoned lock still guards consistent data.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// The thread and turn a notification is about, read from its raw params.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ids {
    #[serde(rename = "threadId")]
    thread_id: Option<String>,
    #[serde(rename = "turnId")]
    turn_id: Option<String>,
    turn: Option<TurnRef>,
}

#[derive(Debug, Deserialize)]
struct TurnRef {
    id: Option<String>,
}

impl Ids {
    pub(crate) fn read(params: Option<&RawValue>) -> Ids {
        params
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    fn turn(&self) -> Option<&str> {
        self.turn_id
            .as_deref()
            .or_else(|| self.turn.as_ref().and_then(|turn| turn.id.as_deref()))
    }
}

/// Lifecycle events are never dropped: there are a bounded number per item
/// (started, completed) and per turn (started, completed, errors, resolved
/// requests), and the outcome keeps every completed item anyway, so a queue
/// holding them is no bigger than the outcome itself.
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

struct TurnState {
    queue: VecDeque<TurnEvent>,
    transient: usize,
    lagged: u64,
    accumulator: Accumulator,
    outcome: Option<Result<TurnOutcome, CoreError>>,
    ended: bool,
    last_activity: Instant,
}

/// One registered turn, shared by the router and the user's handle.
pub(crate) struct TurnShared {
    pub(crate) thread_id: String,
    pub(crate) turn_id: String,
    state: Mutex<TurnState>,
    changed: watch::Sender<u64>,
}

impl TurnShared {
    fn new(thread_id: String, turn_id: String) -> Arc<TurnShared> {
        Arc::new(TurnShared {
            thread_id,
            turn_id,
            state: Mutex::new(TurnState {
                queue: VecDeque::new(),
                transient: 0,
                lagged: 0,
                accumulator: Accumulator::default(),
                outcome: None,
                ended: false,
                last_activity: Instant::now(),
            }),
            changed: watch::channel(0).0,
        })
    }

    fn bump(&self) {
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Records and queues a notification; returns whether it ended the turn.
    fn deliver(&self, notification: ServerNotification) -> bool {
        let mut state = lock(&self.state);
        if state.ended {
            return false;
        }
        state.last_activity = Instant::now();
        state.accumulator.observe(&notification);
        let completed = match &notification {
            ServerNotification::TurnCompleted(done) => Some(done.turn.clone()),
            _ => None,
        };
        let lifecycle = is_lifecycle(&notification);
        if lifecycle || state.transient < TURN_EVENT_CAPACITY {
            // The lag report goes before the next event that is queued, so
            // the consumer learns of the gap where it is.
            if state.lagged > 0 {
                let dropped = std::mem::take(&mut state.lagged);
                state.queue.push_back(TurnEvent::Lagged { dropped });
            }
            if !lifecycle {
                state.transient += 1;
            }
            state.queue.push_back(TurnEvent::Notification(notification));
        } else {
            state.lagged += 1;
        }
        if let Some(turn) = &completed {
            Self::finish_locked(&mut state, &self.thread_id, turn);
        }
        drop(state);
        self.bump();
        completed.is_some()
    }

    fn finish_locked(state: &mut TurnState, thread_id: &str, turn: &Turn) {
        let accumulator = std::mem::take(&mut state.accumulator);
        state.outcome = Some(Ok(accumulator.finish(thread_id, turn)));
        state.ended = true;
        if state.lagged > 0 {
            let dropped = std::mem::take(&mut state.lagged);
            state.queue.push_back(TurnEvent::Lagged { dropped });
        }
    }

    /// Ends the turn from a `thread/read` answer, when `turn/completed`
    /// never came. Returns whether the turn had not ended yet.
    pub(crate) fn reconcile(&self, turn: &Turn) -> bool {
        let mut state = lock(&self.state);
        if state.ended {
            return false;
        }
        Self::finish_locked(&mut state, &self.thread_id, turn);
        drop(state);
        self.bump();
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
        self.bump();
    }

    /// The next queued event; `Err(true)` when the turn ended and the queue
    /// is drained, `Err(false)` when more may come.
    pub(crate) fn pop_event(&self) -> Result<TurnEvent, bool> {
        let mut state = lock(&self.state);
        match state.queue.pop_front() {
            Some(event) => {
                if let TurnEvent::Notification(note) = &event
                    && !is_lifecycle(note)
                {
                    state.transient -= 1;
                }
                Ok(event)
            }
            None => Err(state.ended),
        }
    }

    /// The outcome, once, after the turn ended.
    pub(crate) fn take_outcome(&self) -> Option<Result<TurnOutcome, CoreError>> {
        lock(&self.state).outcome.take()
    }

    pub(crate) fn has_ended(&self) -> bool {
        lock(&self.state).ended
    }

    pub(crate) fn last_activity(&self) -> Instant {
        lock(&self.state).last_activity
    }

    pub(crate) fn touch(&self) {
        lock(&self.state).last_activity = Instant::now();
    }
}

impl std::fmt::Debug for TurnShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnShared")
            .field("thread_id", &self.thread_id)
            .field("turn_id", &self.turn_id)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct EarlyTurn {
    notifications: Vec<ServerNotification>,
    dropped: u64,
}

#[derive(Default)]
struct TableState {
    active: HashMap<TurnKey, Arc<TurnShared>>,
    early: HashMap<TurnKey, EarlyTurn>,
    early_order: VecDeque<TurnKey>,
    closed: Option<Arc<CloseReport>>,
}

/// Every registered turn and the early buffer.
#[derive(Default)]
pub(crate) struct TurnTable {
    state: Mutex<TableState>,
}

impl TurnTable {
    /// Routes a notification to its turn (or, with a thread id only, to
    /// every registered turn of the thread), or keeps it for a turn not yet
    /// registered.
    pub(crate) fn route(&self, ids: &Ids, notification: &ServerNotification) {
        let Some(thread_id) = ids.thread_id.as_deref() else {
            return;
        };
        let mut table = lock(&self.state);
        match ids.turn() {
            Some(turn_id) => {
                let key = (thread_id.to_owned(), turn_id.to_owned());
                if let Some(turn) = table.active.get(&key).cloned() {
                    if turn.deliver(notification.clone()) {
                        table.active.remove(&key);
                    }
                    return;
                }
                if table.closed.is_some() {
                    return;
                }
                if !table.early.contains_key(&key) {
                    if table.early_order.len() >= EARLY_TURNS
                        && let Some(oldest) = table.early_order.pop_front()
                    {
                        table.early.remove(&oldest);
                    }
                    table.early_order.push_back(key.clone());
                }
                let early = table.early.entry(key).or_default();
                if early.notifications.len() < EARLY_PER_TURN {
                    early.notifications.push(notification.clone());
                } else {
                    early.dropped += 1;
                }
            }
            None => {
                for turn in table
                    .active
                    .values()
                    .filter(|turn| turn.thread_id == thread_id)
                {
                    turn.deliver(notification.clone());
                }
            }
        }
    }

    /// Registers a turn that `turn/start` just answered for and replays
    /// what arrived for it before.
    pub(crate) fn register(&self, thread_id: &str, turn_id: &str) -> Arc<TurnShared> {
        let turn = TurnShared::new(thread_id.to_owned(), turn_id.to_owned());
        let key = (thread_id.to_owned(), turn_id.to_owned());
        let mut table = lock(&self.state);
        if let Some(report) = table.closed.clone() {
            turn.fail(closed_error(report));
            return turn;
        }
        let early = table.early.remove(&key).unwrap_or_default();
        table.early_order.retain(|k| k != &key);
        if early.dropped > 0 {
            lock(&turn.state).lagged += early.dropped;
        }
        let mut ended = false;
        for notification in early.notifications {
            ended |= turn.deliver(notification);
        }
        if !ended {
            table.active.insert(key, Arc::clone(&turn));
        }
        turn
    }

    /// Forgets a turn whose handle ended it some other way.
    pub(crate) fn remove(&self, thread_id: &str, turn_id: &str) {
        lock(&self.state)
            .active
            .remove(&(thread_id.to_owned(), turn_id.to_owned()));
    }

    /// Ends every registered turn: the connection is gone.
    pub(crate) fn close(&self, report: Arc<CloseReport>) {
        let mut table = lock(&self.state);
        table.closed = Some(Arc::clone(&report));
        table.early.clear();
        table.early_order.clear();
        for (_, turn) in table.active.drain() {
            turn.fail(closed_error(Arc::clone(&report)));
        }
    }
}

fn closed_error(report: Arc<CloseReport>) -> CoreError {
    CoreError::Closed {
        method: "turn/start".to_owned(),
        report,
    }
}
