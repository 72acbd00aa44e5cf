//! The deadlines of server requests handed to the user: one timer task per
//! runtime for all of them, instead of a task and a timer each. Every
//! request gets the same allowance, so deadlines fall in the order requests
//! arrive and a queue in arrival order is already sorted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::server_request::{Settled, Slot};

/// Past this many waiting entries, answered ones are swept out of the
/// middle of the queue too, so that it stays bounded by the requests still
/// waiting (at most the rpc layer's limit of unanswered requests) rather
/// than by how many arrived within one allowance.
const SWEEP_AT: usize = 1024;

#[derive(Default)]
struct Queue {
    entries: VecDeque<(Instant, Weak<Slot>)>,
    closed: bool,
    /// The timer waits with no deadline and needs a wake for a new entry.
    /// While it sleeps until an earlier entry's deadline it needs none: a
    /// new deadline is never earlier, and the timer finds the entry when it
    /// wakes. So a request answered before the next one arrives costs the
    /// timer nothing, where a wake per request would cost a task switch.
    timer_idle: bool,
}

/// The queue the router adds to and the timer task works through.
pub(crate) struct Deadlines {
    allowance: Duration,
    queue: Mutex<Queue>,
    /// Wakes the timer when it waits for no deadline, or when it closes.
    changed: Notify,
}

fn waiting(slot: &Weak<Slot>) -> bool {
    slot.upgrade().is_some_and(|slot| slot.is_waiting())
}

impl Deadlines {
    /// The deadlines, and their timer task (spawned here).
    pub(crate) fn start(allowance: Duration) -> Arc<Deadlines> {
        let deadlines = Arc::new(Deadlines {
            allowance,
            queue: Mutex::new(Queue::default()),
            changed: Notify::new(),
        });
        tokio::spawn(Arc::clone(&deadlines).run());
        deadlines
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Held for queue operations only; a poisoned lock guards consistent
        // data.
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Arms the deadline of `slot`: the allowance from now.
    pub(crate) fn arm(&self, slot: &Arc<Slot>) {
        let at = Instant::now() + self.allowance;
        let mut queue = self.lock();
        if queue.closed {
            return;
        }
        while queue
            .entries
            .front()
            .is_some_and(|(_, slot)| !waiting(slot))
        {
            queue.entries.pop_front();
        }
        if queue.entries.len() >= SWEEP_AT {
            queue.entries.retain(|(_, slot)| waiting(slot));
        }
        queue.entries.push_back((at, Arc::downgrade(slot)));
        let wake = std::mem::take(&mut queue.timer_idle);
        drop(queue);
        if wake {
            self.changed.notify_one();
        }
    }

    /// Ends the timer task; requests still waiting are settled by whoever
    /// closes (shutdown or the closed connection).
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.entries.clear();
        drop(queue);
        self.changed.notify_one();
    }

    async fn run(self: Arc<Self>) {
        loop {
            let next = {
                let mut queue = self.lock();
                if queue.closed {
                    return;
                }
                let now = Instant::now();
                while let Some((at, _)) = queue.entries.front() {
                    if *at > now {
                        break;
                    }
                    if let Some((_, slot)) = queue.entries.pop_front()
                        && let Some(slot) = slot.upgrade()
                    {
                        slot.settle(Settled::DeadlineElapsed);
                    }
                }
                let next = queue.entries.front().map(|(at, _)| *at);
                queue.timer_idle = next.is_none();
                next
            };
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        // An earlier deadline cannot come (they are in
                        // order), but a close can.
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}
