//! The whole-runtime observer stream: every decoded server notification, in
//! arrival order, through a bounded queue that reports overflow as
//! [`RuntimeEvent::Lagged`] instead of dropping silently.

use std::sync::{Mutex, MutexGuard};

use codexrt_protocol::ServerNotification;
use tokio::sync::mpsc;

/// How many events the observer queue holds.
pub const EVENT_QUEUE_CAPACITY: usize = 1024;

/// One item of the observer stream.
// The protocol's notification enum is large; boxing it would cost an
// allocation per notification to save a copy, and the queue allocates its
// slots in blocks on demand, not for its whole capacity.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[non_exhaustive]
pub enum RuntimeEvent {
    /// A notification from the server.
    Notification(ServerNotification),
    /// A notification of a known method whose params did not decode.
    Undecodable {
        /// The wire method.
        method: String,
        /// What the decoder found wrong.
        error: String,
    },
    /// Notifications were dropped because the queue was full (here or in
    /// the rpc layer); this report comes before the next event that fitted.
    Lagged {
        /// How many notifications were dropped since the previous report.
        dropped: u64,
    },
}

struct SinkState {
    tx: Option<mpsc::Sender<RuntimeEvent>>,
    rx: Option<mpsc::Receiver<RuntimeEvent>>,
    taken: bool,
    dropped: u64,
}

/// The router's side of the observer queue. Pushing never waits.
pub(crate) struct EventSink {
    state: Mutex<SinkState>,
}

impl EventSink {
    pub(crate) fn new() -> EventSink {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE_CAPACITY);
        EventSink {
            state: Mutex::new(SinkState {
                tx: Some(tx),
                rx: Some(rx),
                taken: false,
                dropped: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SinkState> {
        // Held for a few assignments only; a poisoned lock guards consistent
        // data.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The observer stream, once.
    pub(crate) fn take(&self) -> Option<EventReceiver> {
        let mut state = self.lock();
        let rx = state.rx.take()?;
        state.taken = true;
        Some(EventReceiver { rx })
    }

    /// Queues `event`, or counts it as dropped when the queue is full.
    /// Before anyone takes the stream, events are discarded: nobody asked.
    pub(crate) fn push(&self, event: RuntimeEvent) {
        let mut state = self.lock();
        if !state.taken {
            return;
        }
        let Some(tx) = state.tx.clone() else { return };
        if state.dropped > 0 {
            match tx.try_send(RuntimeEvent::Lagged {
                dropped: state.dropped,
            }) {
                Ok(()) => state.dropped = 0,
                Err(_) => {
                    state.dropped += 1;
                    return;
                }
            }
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event) {
            state.dropped += 1;
        }
    }

    /// Counts notifications the rpc layer dropped.
    pub(crate) fn push_lag(&self, dropped: u64) {
        let mut state = self.lock();
        if state.taken {
            state.dropped += dropped;
        }
    }

    /// Ends the stream once the queued events are read.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        if let (Some(tx), dropped) = (state.tx.take(), state.dropped)
            && dropped > 0
        {
            let _ = tx.try_send(RuntimeEvent::Lagged { dropped });
        }
    }
}

/// Receives [`RuntimeEvent`]s in arrival order.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<RuntimeEvent>,
}

impl EventReceiver {
    /// The next event, or `None` once the connection is closed and every
    /// queued event was read.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<RuntimeEvent> {
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests;
