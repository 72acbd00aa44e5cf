//! What a [`Client`](crate::Client) does when its connection dies: the
//! opt-in [`ReconnectPolicy`] (a running app-server over a WebSocket, a Unix
//! socket or a [`Connector`]) and [`RestartPolicy`] (a codex the client
//! started), their backoff, and the [`ConnectionEvent`]s that tell what
//! happened.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use codexrt_core::ServerInfo;
use codexrt_transport::{CloseReport, Connection, TransportError};
use tokio::sync::broadcast;

use crate::ClientError;

/// Exponential backoff with jitter and a bound on attempts, shared by both
/// policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    max_attempts: u32,
}

impl Backoff {
    const DEFAULT: Backoff = Backoff {
        initial: Duration::from_millis(250),
        max: Duration::from_secs(30),
        max_attempts: 10,
    };

    /// The upper bound of the wait before attempt `attempt` (1-based):
    /// `initial * 2^(attempt-1)`, at most `max`.
    fn bound(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The shortest and longest wait before attempt `attempt`.
    pub(crate) fn range(&self, attempt: u32) -> (Duration, Duration) {
        let bound = self.bound(attempt);
        (bound / 2, bound)
    }

    /// The wait before attempt `attempt`: a point of `[bound/2, bound]`
    /// chosen by `entropy` ("equal jitter": clients that lost the same
    /// server spread out, and none retries at once).
    pub(crate) fn delay(&self, attempt: u32, entropy: u64) -> Duration {
        let bound = self.bound(attempt);
        let half = bound / 2;
        let span = u64::try_from((bound - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(entropy % span.saturating_add(1))
    }

    pub(crate) fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

/// A random number for the jitter, without a random number crate: the
/// standard library seeds every `RandomState` with fresh randomness.
pub(crate) fn entropy() -> u64 {
    RandomState::new().hash_one(0u8)
}

macro_rules! backoff_setters {
    ($policy:ident) => {
        impl $policy {
            /// The upper bound of the wait before the first attempt; each
            /// later attempt's bound doubles. The default is 250 ms.
            #[must_use]
            pub fn initial_delay(mut self, delay: Duration) -> Self {
                self.backoff.initial = delay.min(codexrt_transport::MAX_WAIT);
                self
            }

            /// The largest bound of a wait; longer than
            /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as
            /// `MAX_WAIT`. The default is 30 s.
            #[must_use]
            pub fn max_delay(mut self, delay: Duration) -> Self {
                self.backoff.max = delay.min(codexrt_transport::MAX_WAIT);
                self
            }

            /// How many attempts are made before the client gives up (at
            /// least 1). The default is 10.
            #[must_use]
            pub fn max_attempts(mut self, attempts: u32) -> Self {
                self.backoff.max_attempts = attempts.max(1);
                self
            }

            /// The attempts made before giving up.
            pub fn attempts(&self) -> u32 {
                self.backoff.max_attempts
            }

            /// The shortest and longest wait before attempt `attempt`
            /// (1-based): the wait is a random point between half the
            /// exponential bound and the bound, `initial * 2^(attempt-1)`
            /// at most the maximum.
            pub fn delay_range(&self, attempt: u32) -> (Duration, Duration) {
                self.backoff.range(attempt)
            }

            pub(crate) fn backoff(&self) -> Backoff {
                self.backoff
            }
        }

        impl Default for $policy {
            fn default() -> Self {
                $policy::new()
            }
        }
    };
}

/// Reconnect to a running app-server (over
/// [`ClientConfig::websocket`](crate::ClientConfig::websocket),
/// [`Client::connect_url`](crate::Client::connect_url) or
/// [`Client::connect_with_connector`](crate::Client::connect_with_connector))
/// when the connection drops. Off by default; set it with
/// [`ClientConfig::reconnect`](crate::ClientConfig::reconnect).
///
/// See [`RestartPolicy`] for what happens on a drop: the two policies
/// behave alike, one opening a new connection, the other starting a new
/// codex.
///
/// ```
/// use std::time::Duration;
/// use codexrt::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::new()
///     .initial_delay(Duration::from_millis(100))
///     .max_attempts(5);
/// assert_eq!(
///     policy.delay_range(2),
///     (Duration::from_millis(100), Duration::from_millis(200))
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    backoff: Backoff,
}

impl ReconnectPolicy {
    /// The default policy: up to 10 attempts, waits bounded by 250 ms,
    /// 500 ms, 1 s, ... (doubling, at most 30 s).
    pub fn new() -> Self {
        ReconnectPolicy {
            backoff: Backoff::DEFAULT,
        }
    }
}

backoff_setters!(ReconnectPolicy);

/// Start a new codex when the one the client started (over stdio) exits or
/// its pipes break. Off by default; set it with
/// [`ClientConfig::restart`](crate::ClientConfig::restart).
///
/// When the connection drops, whatever was in flight fails with the close
/// report ([`CoreError::Closed`](codexrt_core::CoreError::Closed)): a call,
/// a turn, a server request's answer. Nothing is sent again, since the
/// client cannot know what the old server did with it. Then, in a
/// background task, the client waits (exponential backoff with jitter, see
/// [`delay_range`](Self::delay_range)), starts codex again, runs the
/// handshake and checks the version with the same
/// [`CompatibilityGuard`](crate::CompatibilityGuard), up to
/// [`max_attempts`](Self::max_attempts) times. A version the guard refuses
/// ends the attempts at once. On success the client's hooks take the new
/// server's requests before anyone can call it, and each
/// [`Session`](crate::Session) resumes its thread (`thread/resume`) on its
/// next ask, so the conversation goes on where it was.
///
/// The work is eager: the client reconnects as soon as the drop is seen,
/// not on the next call, so a server that comes back is ready when the
/// user is, and the [`ConnectionEvent`]s arrive when things happen. A run,
/// an ask or a session started while the client reconnects waits for the
/// outcome; after the last failed attempt they fail with
/// [`ClientError::GaveUp`].
///
/// The policies take over once the client is connected: a first
/// connection that fails is not retried, and
/// [`Client::connect`](crate::Client::connect) returns its error.
///
/// Only a codex started with the same settings sees the old threads: a
/// restarted codex must use the same `CODEX_HOME` (the default when the
/// environment is unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    backoff: Backoff,
}

impl RestartPolicy {
    /// The default policy: up to 10 attempts, waits bounded by 250 ms,
    /// 500 ms, 1 s, ... (doubling, at most 30 s).
    pub fn new() -> Self {
        RestartPolicy {
            backoff: Backoff::DEFAULT,
        }
    }
}

backoff_setters!(RestartPolicy);

/// What happened to a client's connection, from
/// [`Client::connection_events`](crate::Client::connection_events). Only a
/// client with a [`ReconnectPolicy`] or a [`RestartPolicy`] reports them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The connection closed; the report says why. Reconnecting starts.
    Disconnected {
        /// Why the connection closed.
        report: Arc<CloseReport>,
    },
    /// Attempt `attempt` (1-based) starts after waiting `delay`.
    Attempt {
        /// The attempt's number.
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
    },
    /// Attempt `attempt` failed; the next one follows unless it was the
    /// last.
    AttemptFailed {
        /// The attempt's number.
        attempt: u32,
        /// Why it failed.
        error: Arc<ClientError>,
    },
    /// The client is connected again, to the server `server` describes.
    Reconnected {
        /// The attempt that succeeded.
        attempt: u32,
        /// The new server, as its handshake described it.
        server: ServerInfo,
    },
    /// The client stopped trying; every later run, ask or session fails
    /// with this error ([`ClientError::GaveUp`]).
    GaveUp {
        /// The error.
        error: Arc<ClientError>,
    },
    /// This stream fell behind and missed this many events.
    Lagged {
        /// How many events were missed.
        missed: u64,
    },
}

/// The stream of [`ConnectionEvent`]s of a client, from the moment it was
/// asked for. It keeps the 64 latest events; a reader that falls further
/// behind is told how many it missed ([`ConnectionEvent::Lagged`]).
///
/// Besides [`recv`](ConnectionEvents::recv) it is a
/// [`Stream`](futures_core::Stream) of the same events.
pub struct ConnectionEvents {
    state: Receiving,
}

/// The broadcast receiver, or while a poll waits, the future that owns it
/// (a broadcast receiver has no poll method of its own).
enum Receiving {
    Idle(broadcast::Receiver<ConnectionEvent>),
    Waiting(Pin<Box<dyn Future<Output = Received> + Send + Sync>>),
    Done,
}

type Received = (
    Result<ConnectionEvent, broadcast::error::RecvError>,
    broadcast::Receiver<ConnectionEvent>,
);

impl fmt::Debug for ConnectionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionEvents").finish_non_exhaustive()
    }
}

impl ConnectionEvents {
    pub(crate) fn new(receiver: broadcast::Receiver<ConnectionEvent>) -> Self {
        ConnectionEvents {
            state: Receiving::Idle(receiver),
        }
    }

    /// The next event; `None` once the client and its reconnecting task
    /// are gone (every clone dropped, or the client shut down or gave up
    /// and every event was read).
    ///
    /// # Cancel safety
    /// Cancel safe: an event is only taken when it is returned.
    pub async fn recv(&mut self) -> Option<ConnectionEvent> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<ConnectionEvent>> {
        loop {
            match std::mem::replace(&mut self.state, Receiving::Done) {
                Receiving::Idle(mut receiver) => {
                    // Whatever is already there is taken without a wait.
                    match receiver.try_recv() {
                        Err(broadcast::error::TryRecvError::Empty) => {
                            self.state = Receiving::Waiting(Box::pin(async move {
                                let received = receiver.recv().await;
                                (received, receiver)
                            }));
                        }
                        Ok(event) => return self.received(Ok(event), receiver),
                        Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                            let lagged = broadcast::error::RecvError::Lagged(missed);
                            return self.received(Err(lagged), receiver);
                        }
                        Err(broadcast::error::TryRecvError::Closed) => {
                            return Poll::Ready(None);
                        }
                    }
                }
                Receiving::Waiting(mut waiting) => match waiting.as_mut().poll(cx) {
                    Poll::Ready((received, receiver)) => return self.received(received, receiver),
                    Poll::Pending => {
                        self.state = Receiving::Waiting(waiting);
                        return Poll::Pending;
                    }
                },
                Receiving::Done => return Poll::Ready(None),
            }
        }
    }

    fn received(
        &mut self,
        received: Result<ConnectionEvent, broadcast::error::RecvError>,
        receiver: broadcast::Receiver<ConnectionEvent>,
    ) -> Poll<Option<ConnectionEvent>> {
        let event = match received {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => ConnectionEvent::Lagged { missed },
            Err(broadcast::error::RecvError::Closed) => return Poll::Ready(None),
        };
        self.state = Receiving::Idle(receiver);
        Poll::Ready(Some(event))
    }
}

/// The same events as [`ConnectionEvents::recv`], for `StreamExt` and the
/// like.
///
/// # Cancel safety
/// A pending poll takes nothing: the wait owns the receiver, and an event
/// leaves it only in the poll that returns it.
impl futures_core::Stream for ConnectionEvents {
    type Item = ConnectionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ConnectionEvent>> {
        self.get_mut().poll_recv(cx)
    }
}

/// How many events a [`ConnectionEvents`] stream keeps.
pub(crate) const EVENT_CAPACITY: usize = 64;

/// The future a [`Connector`] returns.
pub type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Connection, TransportError>> + Send + 'a>>;

/// Opens a new connection to the same app-server, each time it is asked:
/// what [`Client::connect_with_connector`](crate::Client::connect_with_connector)
/// uses to connect and, with a [`ReconnectPolicy`], to reconnect over a
/// transport of your own. Any `Fn() -> impl Future<Output =
/// Result<Connection, TransportError>>` closure is one.
pub trait Connector: Send + Sync + 'static {
    /// Opens a connection.
    ///
    /// # Errors
    /// The transport's, when the server cannot be reached.
    fn connect(&self) -> ConnectFuture<'_>;
}

impl<F, Fut> Connector for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Connection, TransportError>> + Send + 'static,
{
    fn connect(&self) -> ConnectFuture<'_> {
        Box::pin(self())
    }
}

#[cfg(test)]
mod tests;
