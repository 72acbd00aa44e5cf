//! The pool's shared state: each endpoint's client and figures, the places
//! sessions hold, and the queue of callers waiting for one.
//!
//! One lock guards it all, and every change that can make room (a place
//! given back, an endpoint connected) hands the room to the queue before
//! the lock is let go. So a caller that finds a free place never passes
//! one that waits for it: whoever waits could not have used it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use codexrt_core::RuntimeState;
use codexrt_transport::CloseReport;
use tokio::sync::oneshot;

use super::{EndpointState, EndpointStats, PoolError, PoolStats};
use crate::Client;

/// Which endpoints a caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The least loaded healthy one.
    Any,
    /// This one.
    One(usize),
}

type Grant = Result<Slot, PoolError>;

#[derive(Debug)]
struct Waiter {
    id: u64,
    target: Target,
    grant: oneshot::Sender<Grant>,
}

/// One endpoint as the pool keeps it.
#[derive(Debug)]
pub(crate) struct Place {
    pub(crate) stats: EndpointStats,
    client: Option<Client>,
    /// Bumped at every connection and loss; places taken under an older
    /// generation no longer count.
    generation: u64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) places: Vec<Place>,
    waiters: VecDeque<Waiter>,
    next_waiter: u64,
    pub(crate) shut_down: bool,
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(endpoints: impl IntoIterator<Item = (String, usize)>) -> Shared {
        let places = endpoints
            .into_iter()
            .map(|(name, max_sessions)| Place {
                stats: EndpointStats {
                    name,
                    state: EndpointState::Connecting,
                    sessions: 0,
                    max_sessions,
                    sessions_total: 0,
                    turns: 0,
                    failures: 0,
                    connects: 0,
                    connect_failures: 0,
                    losses: 0,
                    last_close: None,
                    last_error: None,
                },
                client: None,
                generation: 0,
            })
            .collect();
        Shared {
            state: Mutex::new(State {
                places,
                waiters: VecDeque::new(),
                next_waiter: 0,
                shut_down: false,
            }),
        }
    }

    /// The lock. A panic while it was held cannot leave the figures
    /// half-updated in a way that matters more than stopping would, so a
    /// poisoned lock is taken as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let state = self.lock();
        PoolStats {
            endpoints: state
                .places
                .iter()
                .map(|place| place.stats.clone())
                .collect(),
            waiting: state.waiters.len(),
        }
    }

    /// A place on `target`, at once when there is room, else first come,
    /// first served within `timeout`.
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped caller leaves the queue, and a place handed
    /// to it meanwhile goes back.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        target: Target,
        timeout: Duration,
    ) -> Result<Slot, PoolError> {
        let (id, granted) = {
            let mut state = self.lock();
            if state.shut_down {
                return Err(PoolError::ShutDown);
            }
            if let Some(error) = state.unreachable(target) {
                return Err(error);
            }
            if let Some((endpoint, client)) = state.pick(target) {
                return Ok(self.take(&mut state, endpoint, client));
            }
            let id = state.next_waiter;
            state.next_waiter += 1;
            let (grant, granted) = oneshot::channel();
            state.waiters.push_back(Waiter { id, target, grant });
            (id, granted)
        };
        let _queued = Queued { shared: self, id };
        match tokio::time::timeout(timeout, granted).await {
            Ok(Ok(grant)) => grant,
            // The queue is only ever emptied with an answer, except when
            // the shared state itself goes away with the pool.
            Ok(Err(_)) => Err(PoolError::ShutDown),
            Err(_) => Err(PoolError::AcquireTimeout { waited: timeout }),
        }
    }

    /// Takes a place on `endpoint`, which has room.
    fn take(self: &Arc<Self>, state: &mut State, endpoint: usize, client: Client) -> Slot {
        let place = &mut state.places[endpoint];
        place.stats.sessions += 1;
        place.stats.sessions_total += 1;
        Slot {
            shared: Arc::clone(self),
            endpoint,
            generation: place.generation,
            client,
            armed: true,
        }
    }

    /// Hands free places to the queue, in order: each waiter gets one if
    /// an endpoint it accepts has room, and fails if it can never get one.
    pub(crate) fn dispatch(self: &Arc<Self>, state: &mut State) {
        let mut index = 0;
        while index < state.waiters.len() {
            let target = state.waiters[index].target;
            let grant = if let Some(error) = state.unreachable(target) {
                Err(error)
            } else if let Some((endpoint, client)) = state.pick(target) {
                Ok(self.take(state, endpoint, client))
            } else {
                index += 1;
                continue;
            };
            let Some(waiter) = state.waiters.remove(index) else {
                break;
            };
            if let Err(Ok(mut slot)) = waiter.grant.send(grant) {
                // The waiter is gone: the place was never used.
                slot.armed = false;
                let place = &mut state.places[slot.endpoint];
                place.stats.sessions = place.stats.sessions.saturating_sub(1);
                place.stats.sessions_total = place.stats.sessions_total.saturating_sub(1);
            }
        }
    }

    /// Installs a new connection of `endpoint` and serves the queue.
    /// Returns the client back when the pool was shut down meanwhile.
    pub(crate) fn connected(self: &Arc<Self>, endpoint: usize, client: Client) -> Option<Client> {
        let mut state = self.lock();
        if state.shut_down {
            return Some(client);
        }
        let place = &mut state.places[endpoint];
        place.generation += 1;
        place.client = Some(client);
        place.stats.sessions = 0;
        place.stats.state = EndpointState::Healthy;
        place.stats.connects += 1;
        place.stats.last_error = None;
        self.dispatch(&mut state);
        None
    }

    /// Takes `endpoint` out after its connection closed.
    pub(crate) fn lost(&self, endpoint: usize, report: Arc<CloseReport>) -> Option<Client> {
        let mut state = self.lock();
        let shut_down = state.shut_down;
        let place = &mut state.places[endpoint];
        place.generation += 1;
        place.stats.sessions = 0;
        place.stats.losses += 1;
        place.stats.last_close = Some(report);
        if !shut_down {
            place.stats.state = EndpointState::Retrying { failures: 0 };
        }
        place.client.take()
    }

    /// Takes `endpoint` out of placement while its `/readyz` fails, keeping
    /// its connection and the sessions it holds; `detail` says what the
    /// probe saw.
    pub(crate) fn not_ready(&self, endpoint: usize, detail: String) {
        let mut state = self.lock();
        let place = &mut state.places[endpoint];
        if matches!(
            place.stats.state,
            EndpointState::Healthy | EndpointState::NotReady { .. }
        ) {
            place.stats.state = EndpointState::NotReady { detail };
        }
    }

    /// Puts `endpoint` back into placement once its `/readyz` answers
    /// again, and serves whoever waits.
    pub(crate) fn ready_again(self: &Arc<Self>, endpoint: usize) {
        let mut state = self.lock();
        let place = &mut state.places[endpoint];
        if matches!(place.stats.state, EndpointState::NotReady { .. }) {
            place.stats.state = EndpointState::Healthy;
            self.dispatch(&mut state);
        }
    }

    /// Notes a failed attempt.
    pub(crate) fn attempt_failed(&self, endpoint: usize, failures: u32, error: String) {
        let mut state = self.lock();
        let shut_down = state.shut_down;
        let place = &mut state.places[endpoint];
        place.stats.connect_failures += 1;
        place.stats.last_error = Some(error);
        if !shut_down {
            place.stats.state = EndpointState::Retrying { failures };
        }
    }

    /// Gives up on `endpoint`; whoever waits for it alone fails.
    pub(crate) fn given_up(self: &Arc<Self>, endpoint: usize) {
        let mut state = self.lock();
        if state.shut_down {
            return;
        }
        state.places[endpoint].stats.state = EndpointState::Down;
        self.dispatch(&mut state);
    }

    /// Marks the pool shut down: every waiter fails, and the clients are
    /// handed out to be shut down.
    pub(crate) fn shut_down(&self) -> Vec<(usize, Client)> {
        let mut state = self.lock();
        state.shut_down = true;
        for waiter in state.waiters.drain(..) {
            let _ = waiter.grant.send(Err(PoolError::ShutDown));
        }
        let mut clients = Vec::new();
        for (endpoint, place) in state.places.iter_mut().enumerate() {
            place.stats.state = EndpointState::ShutDown;
            place.stats.sessions = 0;
            place.generation += 1;
            if let Some(client) = place.client.take() {
                clients.push((endpoint, client));
            }
        }
        clients
    }

    /// Counts a turn started on `endpoint`, and whether it failed.
    pub(crate) fn count_turn(&self, endpoint: usize, failed: bool) {
        let mut state = self.lock();
        let stats = &mut state.places[endpoint].stats;
        stats.turns += 1;
        stats.failures += u64::from(failed);
    }

    /// Counts a failure that was not a turn (a session that did not open).
    pub(crate) fn count_failure(&self, endpoint: usize) {
        self.lock().places[endpoint].stats.failures += 1;
    }

    fn release(self: &Arc<Self>, endpoint: usize, generation: u64) {
        let mut state = self.lock();
        let place = &mut state.places[endpoint];
        if place.generation == generation {
            place.stats.sessions = place.stats.sessions.saturating_sub(1);
            self.dispatch(&mut state);
        }
    }
}

impl Place {
    /// The endpoint's client, when it is connected.
    pub(crate) fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }
}

impl State {
    /// The least loaded healthy endpoint `target` accepts that has room:
    /// fewest places held, then fewest given so far, then the first.
    fn pick(&self, target: Target) -> Option<(usize, Client)> {
        let usable = |(index, place): &(usize, &Place)| {
            (target == Target::Any || target == Target::One(*index))
                && place.stats.state == EndpointState::Healthy
                && place.stats.sessions < place.stats.max_sessions
                && place
                    .client
                    .as_ref()
                    .is_some_and(|client| matches!(client.runtime().state(), RuntimeState::Running))
        };
        let (index, place) =
            self.places
                .iter()
                .enumerate()
                .filter(usable)
                .min_by_key(|(index, place)| {
                    (place.stats.sessions, place.stats.sessions_total, *index)
                })?;
        Some((index, place.client.clone()?))
    }

    /// Why `target` can never be served, if so.
    fn unreachable(&self, target: Target) -> Option<PoolError> {
        let down = |place: &Place| place.stats.state == EndpointState::Down;
        match target {
            Target::One(index) => {
                let place = self.places.get(index)?;
                down(place).then(|| PoolError::EndpointDown {
                    endpoint: place.stats.name.clone(),
                    last_close: place.stats.last_close.clone(),
                })
            }
            Target::Any => {
                let last = self.places.last()?;
                self.places
                    .iter()
                    .all(down)
                    .then(|| PoolError::EndpointDown {
                        endpoint: last.stats.name.clone(),
                        last_close: last.stats.last_close.clone(),
                    })
            }
        }
    }
}

/// Takes a caller out of the queue when it stops waiting.
struct Queued<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.waiters.retain(|waiter| waiter.id != self.id);
    }
}

/// A place held on one endpoint, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    shared: Arc<Shared>,
    endpoint: usize,
    generation: u64,
    client: Client,
    armed: bool,
}

impl Slot {
    pub(crate) fn endpoint(&self) -> usize {
        self.endpoint
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The endpoint's client when the place was taken.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.armed {
            self.shared.release(self.endpoint, self.generation);
        }
    }
}
