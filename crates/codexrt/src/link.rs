//! The client's hold on its runtime: the current one behind a swap, how a
//! new one is opened, and the task that replaces a dropped one as the
//! client's [`ReconnectPolicy`](crate::ReconnectPolicy) or
//! [`RestartPolicy`](crate::RestartPolicy) says.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use codexrt_core::{Runtime, RuntimeState};
use codexrt_transport::{CloseReason, CloseReport, TransportError, WebSocketTransport};
use tokio::sync::{broadcast, watch};

use crate::policy::ClientHooks;
use crate::reconnect::{Backoff, ConnectionEvent, Connector, EVENT_CAPACITY, entropy};
use crate::{ClientConfig, ClientError};

/// Where new runtimes come from.
pub(crate) enum Endpoint {
    /// `codex app-server` started over stdio.
    Spawn,
    /// A running app-server over a WebSocket or a Unix socket.
    WebSocket(Box<WebSocketTransport>),
    /// The user's own transport.
    Connector(Arc<dyn Connector>),
    /// One connection handed in; there is no second.
    Once,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Spawn => f.write_str("Spawn"),
            Endpoint::WebSocket(transport) => f.debug_tuple("WebSocket").field(transport).finish(),
            Endpoint::Connector(_) => f.write_str("Connector"),
            Endpoint::Once => f.write_str("Once"),
        }
    }
}

impl Endpoint {
    /// Opens a new runtime: a connection and the handshake.
    pub(crate) async fn open(&self, config: &ClientConfig) -> Result<Runtime, ClientError> {
        let runtime_config = config.runtime_config();
        let (connection, runtime_config) = match self {
            Endpoint::Spawn => return Ok(Runtime::spawn(runtime_config).await?),
            Endpoint::WebSocket(transport) => (
                transport.connect().await,
                // The URL without its query: credentials never go in it.
                runtime_config.endpoint_name(transport.endpoint()),
            ),
            Endpoint::Connector(connector) => (
                connector.connect().await,
                runtime_config.endpoint_name("connector"),
            ),
            // No policy applies to it, so it is never reopened.
            Endpoint::Once => {
                return Err(ClientError::Connect(TransportError::InvalidUrl {
                    reason: "a connection handed to `Client::connect_with` cannot be reopened",
                }));
            }
        };
        let connection = connection.map_err(ClientError::Connect)?;
        Ok(Runtime::connect(connection, runtime_config).await?)
    }

    /// The backoff of the policy that applies to this endpoint, if one is
    /// set: the restart policy for a started codex, the reconnect policy
    /// for a running server.
    fn backoff(&self, config: &ClientConfig) -> Option<Backoff> {
        match self {
            Endpoint::Spawn => config.restart_policy().map(|policy| policy.backoff()),
            Endpoint::WebSocket(_) | Endpoint::Connector(_) => {
                config.reconnect_policy().map(|policy| policy.backoff())
            }
            Endpoint::Once => None,
        }
    }
}

/// Where the client stands.
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    /// The runtime is the one to use (it may have just closed; then the
    /// watcher is about to say so).
    Up,
    /// The runtime closed and a new one is being opened.
    Reconnecting,
    /// The runtime closed and no new one will come: after `attempts`
    /// attempts, the last failed with `last`.
    GaveUp {
        attempts: u32,
        last: Arc<ClientError>,
    },
    /// The client was shut down or dropped.
    Stopped,
}

/// The current runtime: the one calls go to, with its generation (which
/// runtime of the client it is, from 0) and the phase.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub(crate) runtime: Runtime,
    pub(crate) generation: u64,
    pub(crate) phase: Phase,
}

/// What the client's clones and its watcher task share.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) hooks: Arc<ClientHooks>,
    endpoint: Endpoint,
    backoff: Option<Backoff>,
    current: watch::Sender<Current>,
    events: broadcast::Sender<ConnectionEvent>,
    /// Set once by a shutdown or when the last clone is dropped: no more
    /// runtimes are opened.
    stopping: watch::Sender<bool>,
    shut_down: AtomicBool,
}

impl Link {
    /// The link of a client whose first runtime is `runtime`; with a policy
    /// for `endpoint`, the watcher task that replaces it is started.
    pub(crate) fn start(
        runtime: Runtime,
        endpoint: Endpoint,
        config: Arc<ClientConfig>,
        hooks: Arc<ClientHooks>,
    ) -> Arc<Link> {
        let backoff = endpoint.backoff(&config);
        let (current, _) = watch::channel(Current {
            runtime,
            generation: 0,
            phase: Phase::Up,
        });
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (stopping, _) = watch::channel(false);
        let link = Arc::new(Link {
            config,
            hooks,
            endpoint,
            backoff,
            current,
            events,
            stopping,
            shut_down: AtomicBool::new(false),
        });
        if let Some(backoff) = backoff {
            tokio::spawn(watch_over(Arc::clone(&link), backoff));
        }
        link
    }

    /// Where the working directory of a run or session is checked.
    pub(crate) fn cwd_check(&self) -> crate::cwd::CwdCheck {
        use crate::cwd::CwdCheck;
        match self.endpoint {
            Endpoint::Spawn => CwdCheck::Local,
            Endpoint::WebSocket(_) => CwdCheck::Server,
            Endpoint::Connector(_) | Endpoint::Once => CwdCheck::Unchecked,
        }
    }

    /// The runtime now, whatever its state.
    pub(crate) fn runtime(&self) -> Runtime {
        self.current.borrow().runtime.clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    /// The runtime to use, waiting while a new one is being opened.
    ///
    /// # Errors
    /// [`ClientError::GaveUp`] after the policy gave up.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub(crate) async fn current(&self) -> Result<Current, ClientError> {
        let mut current = self.current.subscribe();
        let reconnects = self.backoff.is_some();
        // A runtime that closed is replaced soon when there is a policy:
        // wait for the watcher to take it up rather than hand it out.
        let ready = |current: &Current| match current.phase {
            Phase::Up => !reconnects || matches!(current.runtime.state(), RuntimeState::Running),
            Phase::Reconnecting => false,
            Phase::GaveUp { .. } | Phase::Stopped => true,
        };
        let current = match current.wait_for(ready).await {
            Ok(current) => current.clone(),
            // The sender lives in `self`.
            Err(_) => self.current.borrow().clone(),
        };
        match current.phase {
            Phase::GaveUp { attempts, last } => Err(ClientError::GaveUp { attempts, last }),
            _ => Ok(current),
        }
    }

    /// Stops opening runtimes; the watcher ends.
    pub(crate) fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Shuts the current runtime down, and with it the reconnecting.
    pub(crate) async fn shutdown(&self) -> Result<Arc<CloseReport>, ClientError> {
        self.shut_down.store(true, Ordering::SeqCst);
        self.stop();
        Ok(self.runtime().shutdown().await?)
    }

    fn emit(&self, event: ConnectionEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    fn set_phase(&self, phase: Phase) {
        self.current.send_modify(|current| current.phase = phase);
    }
}

/// Ends a reconnection that the watcher task left unfinished: when the task
/// unwinds from a panic (a [`Connector`](crate::Connector) of the user's)
/// or is dropped with its tokio runtime, the clients waiting for the new
/// runtime would wait forever. They get [`ClientError::GaveUp`] instead.
struct Unfinished<'a> {
    link: &'a Link,
    /// The attempts of the reconnection in progress.
    attempts: AtomicU32,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        let reconnecting = matches!(self.link.current.borrow().phase, Phase::Reconnecting);
        if reconnecting {
            let attempts = self.attempts.load(Ordering::SeqCst);
            give_up(self.link, attempts, ClientError::ReconnectAborted);
        }
    }
}

/// Waits for the runtime to close and replaces it, until the client stops
/// or the policy gives up.
async fn watch_over(link: Arc<Link>, backoff: Backoff) {
    let unfinished = Unfinished {
        link: &link,
        attempts: AtomicU32::new(0),
    };
    let mut stopping = link.stopping.subscribe();
    loop {
        let runtime = link.runtime();
        let report = tokio::select! {
            report = runtime.closed() => report,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        drop(runtime);
        let by_us = matches!(report.reason, CloseReason::Shutdown | CloseReason::Dropped);
        if by_us || link.shut_down.load(Ordering::SeqCst) {
            break;
        }
        link.set_phase(Phase::Reconnecting);
        tracing::warn!(%report, "the connection to codex closed; reconnecting");
        link.emit(ConnectionEvent::Disconnected { report });
        unfinished.attempts.store(0, Ordering::SeqCst);
        let reopened = tokio::select! {
            reopened = reopen(&link, backoff, &unfinished.attempts) => reopened,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        match reopened {
            Ok((runtime, attempt)) => {
                // The hooks take the new server's requests before anyone
                // can call it; until then it answers them safely itself.
                if let Err(error) = link.hooks.reattach(&runtime) {
                    let _ = runtime.shutdown().await;
                    give_up(&link, attempt, error);
                    return;
                }
                let server = runtime.server_info().clone();
                link.current.send_modify(|current| {
                    current.runtime = runtime;
                    current.generation += 1;
                    current.phase = Phase::Up;
                });
                tracing::info!(attempt, version = %server.version, "reconnected to codex");
                link.emit(ConnectionEvent::Reconnected { attempt, server });
            }
            Err((attempts, error)) => {
                give_up(&link, attempts, error);
                return;
            }
        }
    }
    link.set_phase(Phase::Stopped);
}

fn give_up(link: &Link, attempts: u32, last: ClientError) {
    tracing::warn!(attempts, error = %last, "gave up reconnecting to codex");
    let last = Arc::new(last);
    link.set_phase(Phase::GaveUp {
        attempts,
        last: Arc::clone(&last),
    });
    let error = Arc::new(ClientError::GaveUp { attempts, last });
    link.emit(ConnectionEvent::GaveUp { error });
}

/// The attempts of one reconnection: the new runtime and the attempt that
/// opened it, or the attempts made and the last one's error.
///
/// # Cancel safety
/// Not cancel safe: a codex being started is killed, not shut down.
async fn reopen(
    link: &Link,
    backoff: Backoff,
    made: &AtomicU32,
) -> Result<(Runtime, u32), (u32, ClientError)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        made.store(attempt, Ordering::SeqCst);
        let delay = backoff.delay(attempt, entropy());
        link.emit(ConnectionEvent::Attempt { attempt, delay });
        tokio::time::sleep(delay).await;
        let error = match link.endpoint.open(&link.config).await {
            Ok(runtime) => return Ok((runtime, attempt)),
            Err(error) => error,
        };
        // A server whose version the guard refuses will not change by
        // asking again.
        if error.is_version_refusal() || attempt >= backoff.max_attempts() {
            return Err((attempt, error));
        }
        tracing::debug!(attempt, %error, "reconnecting to codex failed");
        link.emit(ConnectionEvent::AttemptFailed {
            attempt,
            error: Arc::new(error),
        });
    }
}
