//! [`Pool`]: runs and sessions spread over several app-servers, each new
//! one on the least loaded healthy endpoint, with bounded places, fair
//! waiting, and lost endpoints retried with backoff.
//!
//! Built on [`Client`]'s public API: each endpoint is one client at a
//! time, replaced by a fresh one when its connection is lost.

mod config;
mod error;
mod probe;
mod session;
mod slots;
mod stats;
mod supervisor;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use config::{Backoff, PoolConfig, PoolEndpoint};
pub use error::{EndpointError, EndpointFailure, PoolError};
pub use session::PooledSession;
pub use stats::{EndpointState, EndpointStats, PoolStats};

use slots::{Shared, Slot, Target};
use supervisor::Supervisor;

use crate::{Client, PromptRunParams, PromptRunResult, SessionConfig};

/// Runs and sessions over several `codex app-server`s.
///
/// Each endpoint ([`PoolEndpoint`]) is a codex the pool starts (over stdio,
/// typically with a `CODEX_HOME` of its own) or a running app-server
/// reached over a WebSocket or a Unix socket. Every new
/// [run](Pool::run_with) or [session](Pool::start_session) goes to the
/// healthy endpoint holding the fewest sessions and runs (ties: the one
/// given the fewest so far, then the first configured), and a session
/// stays there for its whole life.
///
/// ```no_run
/// use codexrt::{ClientConfig, Pool, PoolConfig, PoolEndpoint, SessionConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::connect(PoolConfig::new([
///     PoolEndpoint::with_home("a", ClientConfig::new(), "/var/lib/codex/a"),
///     PoolEndpoint::with_home("b", ClientConfig::new(), "/var/lib/codex/b"),
/// ]))
/// .await?;
/// let answer = pool.run(".", "Summarize this repository in one line").await?;
/// println!("{}", answer.text());
///
/// let session = pool.start_session(SessionConfig::new(".")).await?;
/// let answer = session.ask("Which crates does it have?").await?;
/// println!("{} (from {})", answer.text(), session.endpoint());
/// let (endpoint, thread_id) = (session.endpoint().to_owned(), session.thread_id().to_owned());
/// session.close().await?;
/// // The thread is stored under that endpoint's `CODEX_HOME`.
/// let again = pool.resume_session(&endpoint, thread_id, SessionConfig::new(".")).await?;
/// again.ask("And which one is the facade?").await?;
/// drop(again);
/// pool.shutdown().await?;
/// # Ok(())
/// # }
/// ```
///
/// # Places and waiting
///
/// An endpoint holds at most [`PoolConfig::max_sessions_per_endpoint`]
/// sessions and runs at once (or its own [`PoolEndpoint::max_sessions`]).
/// A run holds its place until it returns, a session until it is
/// [closed](PooledSession::close) or dropped. When no healthy endpoint has
/// room, callers wait in a queue, first come first served, for at most
/// [`PoolConfig::acquire_timeout`], then fail with
/// [`PoolError::AcquireTimeout`].
///
/// # Health and retries
///
/// An endpoint is healthy once its handshake succeeded (for a `ws://`
/// endpoint, after `GET /readyz` on its port answered 200; over a Unix
/// socket there is no `/readyz` and the handshake is the check) and for as
/// long as its connection is open. A connected `ws://` endpoint is asked
/// `/readyz` again every [`PoolConfig::probe_interval`] (10 s by default);
/// while it fails, the endpoint is [`EndpointState::NotReady`]: it takes no
/// new sessions, and those it holds go on. When the connection closes (the process
/// died, the socket dropped), the endpoint takes no new work: its sessions'
/// calls fail at once with the close report, and their places stop
/// counting. The pool then connects it again (starting a new codex for a
/// spawned endpoint) after a delay of [`Backoff`] with jitter, doubling at
/// each failed attempt, and puts it back to work once it is healthy.
/// [`Pool::stats`] shows each endpoint's state and figures.
///
/// # Threads and codex homes
///
/// A thread is stored (its rollout) under the `CODEX_HOME` of the
/// app-server that started it. It can be resumed only by an app-server
/// that reads the same home: the same endpoint, or another endpoint whose
/// home is the same folder (shared storage). So the pool never resumes a
/// thread on an endpoint of its own choosing: [`Pool::resume_session`]
/// names the endpoint, and [`PooledSession::endpoint`] tells where a
/// session's thread lives. A thread whose endpoint is retrying can be
/// resumed there once it is back, since a restarted codex reads the same
/// home.
///
/// # Shutdown
///
/// [`Pool::shutdown`] stops the retries, fails the waiting callers with
/// [`PoolError::ShutDown`], and shuts every connected endpoint down
/// ([`Client::shutdown`]). Dropping the last clone of the pool does the
/// same without waiting: the codex processes are killed once no session
/// holds their client any more.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    names: Vec<String>,
    acquire_timeout: std::time::Duration,
    stop: watch::Sender<bool>,
    supervisors: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for task in self
            .supervisors
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
        // The clients go when this returns; a session still holding one
        // keeps its process until it is dropped.
        drop(self.shared.shut_down());
    }
}

impl Pool {
    /// Starts (or connects to) every endpoint of `config`, and returns once
    /// each one's first attempt has ended. Endpoints that failed are
    /// retried in the background as [`PoolConfig::backoff`] says.
    ///
    /// # Errors
    /// [`PoolError::NoEndpoints`] and [`PoolError::DuplicateEndpoint`] for
    /// a configuration that names no endpoint or one twice;
    /// [`PoolError::NoEndpointUp`], with each endpoint's error, when none
    /// could be connected (the pool is shut down).
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the pool, which kills
    /// what it started.
    pub async fn connect(config: PoolConfig) -> Result<Pool, PoolError> {
        if config.endpoints().is_empty() {
            return Err(PoolError::NoEndpoints);
        }
        let mut names: Vec<String> = Vec::with_capacity(config.endpoints().len());
        for endpoint in config.endpoints() {
            if names.iter().any(|name| name == endpoint.name()) {
                return Err(PoolError::DuplicateEndpoint {
                    name: endpoint.name().to_owned(),
                });
            }
            names.push(endpoint.name().to_owned());
        }
        let shared = Arc::new(Shared::new(config.endpoints().iter().map(|endpoint| {
            let limit = endpoint
                .session_limit()
                .unwrap_or(config.sessions_per_endpoint());
            (endpoint.name().to_owned(), limit)
        })));
        let (stop, _) = watch::channel(false);
        let mut supervisors = Vec::with_capacity(names.len());
        let mut firsts = Vec::with_capacity(names.len());
        for (index, endpoint) in config.endpoints().iter().enumerate() {
            let (first, outcome) = oneshot::channel();
            firsts.push((endpoint.name().to_owned(), outcome));
            let supervisor = Supervisor {
                index,
                endpoint: endpoint.clone(),
                shared: Arc::clone(&shared),
                backoff: config.backoff_policy(),
                probe_timeout: config.probe_timeout_limit(),
                probe_interval: config.probe_period(),
                stop: stop.subscribe(),
                first: Some(first),
            };
            supervisors.push(tokio::spawn(supervisor.run()));
        }
        let pool = Pool {
            inner: Arc::new(Inner {
                shared,
                names,
                acquire_timeout: config.acquire_timeout_limit(),
                stop,
                supervisors: Mutex::new(supervisors),
            }),
        };
        let mut failures = Vec::new();
        let mut up = false;
        for (endpoint, outcome) in firsts {
            match outcome.await {
                Ok(Ok(())) => up = true,
                Ok(Err(error)) => failures.push(EndpointFailure { endpoint, error }),
                // The task ended without an answer: the pool is stopping.
                Err(_) => {}
            }
        }
        if !up {
            // Nothing is connected, so there is nothing to shut down
            // gracefully; the retries must not outlive the error.
            drop(pool);
            return Err(PoolError::NoEndpointUp { failures });
        }
        Ok(pool)
    }

    /// The endpoints' names, in the order of the configuration.
    pub fn endpoints(&self) -> &[String] {
        &self.inner.names
    }

    /// Each endpoint's state and figures, and how many callers wait.
    pub fn stats(&self) -> PoolStats {
        self.inner.shared.stats()
    }

    /// The current client of the endpoint called `name`, when it is
    /// connected: for what the pool does not wrap (thread listing, raw
    /// calls). Work done through it is not placed nor counted by the pool.
    pub fn client(&self, name: &str) -> Option<Client> {
        let index = self.index(name).ok()?;
        let slot = self.inner.shared.lock();
        slot.places
            .get(index)
            .and_then(|place| place.client().cloned())
    }

    fn index(&self, name: &str) -> Result<usize, PoolError> {
        self.inner
            .names
            .iter()
            .position(|known| known == name)
            .ok_or_else(|| PoolError::UnknownEndpoint {
                name: name.to_owned(),
            })
    }

    async fn acquire(&self, target: Target) -> Result<Slot, PoolError> {
        self.inner
            .shared
            .acquire(target, self.inner.acquire_timeout)
            .await
    }

    /// Runs `prompt` in a new thread working in `cwd`, on the least loaded
    /// healthy endpoint, as [`Client::run`] does.
    ///
    /// # Errors
    /// As for [`Pool::run_with`].
    ///
    /// # Cancel safety
    /// As for [`Pool::run_with`].
    pub async fn run(
        &self,
        cwd: impl AsRef<Path>,
        prompt: impl Into<String>,
    ) -> Result<PromptRunResult, PoolError> {
        self.run_with(PromptRunParams::new(cwd.as_ref(), prompt))
            .await
    }

    /// Runs a prompt in a new thread on the least loaded healthy endpoint,
    /// as [`Client::run_with`] does; the run holds a place there until it
    /// returns.
    ///
    /// # Errors
    /// [`PoolError::AcquireTimeout`] when no endpoint had room in time;
    /// [`PoolError::EndpointDown`] when every endpoint is down for good;
    /// [`PoolError::ShutDown`]; [`PoolError::Run`] with the endpoint's
    /// name and [`Client::run_with`]'s error (a lost connection is
    /// [`CoreError::Closed`](codexrt_core::CoreError::Closed) with its
    /// report).
    ///
    /// # Cancel safety
    /// Cancel safe while waiting for a place; after that, as for
    /// [`Client::run_with`]. The place is given back either way.
    pub async fn run_with(&self, params: PromptRunParams) -> Result<PromptRunResult, PoolError> {
        let slot = self.acquire(Target::Any).await?;
        let result = slot.client().run_with(params).await;
        let endpoint = slot.endpoint();
        self.inner.shared.count_turn(endpoint, result.is_err());
        result.map_err(|source| PoolError::Run {
            endpoint: self.inner.names[endpoint].clone(),
            source: Box::new(source),
        })
    }

    /// Starts a session on the least loaded healthy endpoint, as
    /// [`Client::start_session`] does. It stays there, holding a place,
    /// until it is closed or dropped.
    ///
    /// # Errors
    /// [`PoolError::AcquireTimeout`], [`PoolError::EndpointDown`] and
    /// [`PoolError::ShutDown`] as for [`Pool::run_with`];
    /// [`PoolError::Client`] with the endpoint's name and
    /// [`Client::start_session`]'s error.
    ///
    /// # Cancel safety
    /// Cancel safe while waiting for a place; after that, as for
    /// [`Client::start_session`].
    pub async fn start_session(&self, config: SessionConfig) -> Result<PooledSession, PoolError> {
        let slot = self.acquire(Target::Any).await?;
        let opened = slot.client().start_session(config).await;
        self.open(slot, opened)
    }

    /// Resumes the stored thread `thread_id` on the endpoint called
    /// `endpoint`, as [`Client::resume_session`] does, waiting for a place
    /// there. Only an endpoint that reads the thread's `CODEX_HOME` can
    /// resume it (see [threads and homes](Pool#threads-and-codex-homes)).
    ///
    /// # Errors
    /// [`PoolError::UnknownEndpoint`]; [`PoolError::EndpointDown`] when
    /// that endpoint is down for good; [`PoolError::AcquireTimeout`] when
    /// it had no room (or was not healthy) in time; [`PoolError::ShutDown`];
    /// [`PoolError::Client`] with [`Client::resume_session`]'s error.
    ///
    /// # Cancel safety
    /// As for [`Pool::start_session`].
    pub async fn resume_session(
        &self,
        endpoint: &str,
        thread_id: impl Into<String>,
        config: SessionConfig,
    ) -> Result<PooledSession, PoolError> {
        let index = self.index(endpoint)?;
        let slot = self.acquire(Target::One(index)).await?;
        let opened = slot.client().resume_session(thread_id, config).await;
        self.open(slot, opened)
    }

    fn open(
        &self,
        slot: Slot,
        opened: Result<crate::Session, crate::ClientError>,
    ) -> Result<PooledSession, PoolError> {
        let endpoint = self.inner.names[slot.endpoint()].clone();
        match opened {
            Ok(session) => Ok(PooledSession::new(
                session,
                endpoint,
                slot,
                self.inner.acquire_timeout,
            )),
            Err(source) => {
                self.inner.shared.count_failure(slot.endpoint());
                Err(PoolError::Client {
                    endpoint,
                    source: Box::new(source),
                })
            }
        }
    }

    /// Shuts the pool down: no more retries, waiting callers fail with
    /// [`PoolError::ShutDown`], and every connected endpoint is shut down
    /// ([`Client::shutdown`]) side by side. Sessions still open fail from
    /// then on. Idempotent.
    ///
    /// # Errors
    /// [`PoolError::Shutdown`] with the endpoints that could not be shut
    /// down cleanly; they are closed from this side all the same.
    ///
    /// # Cancel safety
    /// Dropping the future kills the endpoints not shut down yet instead of
    /// stopping them gracefully.
    pub async fn shutdown(&self) -> Result<(), PoolError> {
        self.inner.stop.send_replace(true);
        let clients = self.inner.shared.shut_down();
        let mut stopping = JoinSet::new();
        for (index, client) in clients {
            stopping.spawn(async move { (index, client.shutdown().await) });
        }
        let supervisors: Vec<JoinHandle<()>> = self
            .inner
            .supervisors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        let mut failures = Vec::new();
        while let Some(joined) = stopping.join_next().await {
            if let Ok((index, Err(error))) = joined {
                failures.push(EndpointFailure {
                    endpoint: self.inner.names[index].clone(),
                    error: EndpointError::Client(error),
                });
            }
        }
        // A task stops at its next await; one that was connecting drops
        // the half-made client, which kills its process.
        for supervisor in supervisors {
            let _ = supervisor.await;
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PoolError::Shutdown { failures })
        }
    }
}
