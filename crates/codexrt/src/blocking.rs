//! A blocking API over the async one, for programs without an async
//! runtime of their own: [`Client`], [`Session`] and [`AskStream`] (an
//! [`Iterator`] of [`SessionEvent`](crate::SessionEvent)s), behind the
//! `blocking` cargo feature.
//!
//! ```no_run
//! use codexrt::blocking::Client;
//! use codexrt::{SessionConfig, SessionEvent};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect_default()?;
//! let answer = client.run(".", "Summarize this repository in one line")?;
//! println!("{}", answer.text());
//!
//! let session = client.start_session(SessionConfig::new("."))?;
//! session.ask("Which crates does it have?")?;
//! for event in session.ask_stream("And which one is the facade?")? {
//!     match event {
//!         SessionEvent::TextDelta { delta, .. } => print!("{delta}"),
//!         SessionEvent::Finished(outcome) => println!("\n({:?})", outcome?.usage),
//!         _ => {}
//!     }
//! }
//! client.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it runs
//!
//! A [`Client`] owns a tokio runtime with two worker threads named
//! `codexrt-blocking`. Everything that goes on between your calls runs
//! there: reading and writing the connection, the approval loop, hooks,
//! the watchdog and the interrupts of dropped asks. Each method blocks the
//! calling thread until the async method it mirrors is done, so results,
//! errors and hooks are those of the async API ([`PromptRunResult`],
//! [`PromptRunError`], [`ClientError`]); the async methods' `# Cancel
//! safety` notes do not apply, since a blocking call always runs to its
//! end.
//!
//! Clones of a client, its sessions and their streams share the runtime;
//! it stops when the last of them is dropped. That last drop shuts codex
//! down as [`Client::shutdown`] does, at most for [`DROP_SHUTDOWN_LIMIT`],
//! then stops the runtime; an explicit [`Client::shutdown`] first makes
//! the drop quick.
//!
//! # Inside an async runtime
//!
//! Blocking a thread of an async runtime stalls that runtime (tokio refuses
//! it with a panic). So every method checks first, with
//! [`tokio::runtime::Handle::try_current`], and inside a tokio runtime
//! (including its `spawn_blocking` threads, and the client's own, where
//! hooks run) returns [`ClientError::InsideAsyncRuntime`] without doing
//! anything. Use the async [`Client`](crate::Client) there. Dropping blocking
//! values inside a runtime does not panic either: the last drop then tears
//! codex down without the graceful ladder, as dropping an async client
//! does.
//!
//! [`PromptRunResult`]: crate::PromptRunResult
//! [`PromptRunError`]: crate::PromptRunError

mod client;
mod session;

use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::ClientError;

pub use client::{Client, Threads};
pub use session::{AskStream, Session};

/// How long dropping the last blocking value waits for codex to shut down
/// (the shutdown ladder of [`Client::shutdown`]) before the runtime stops
/// and codex is killed: 15 s, the ladder's three steps at their default
/// grace of 5 s.
pub const DROP_SHUTDOWN_LIMIT: Duration = Duration::from_secs(15);

/// The worker threads of the owned runtime: the connection's tasks and the
/// hooks keep going while one of them runs a slow hook.
const WORKERS: usize = 2;

/// How long stopping the runtime waits for its blocking threads (a hook in
/// `spawn_blocking`) after codex is down; they are left running past it.
const RUNTIME_STOP: Duration = Duration::from_secs(1);

/// The runtime and the async client, shared by a blocking client's clones,
/// sessions and streams; dropped with the last of them.
#[derive(Debug)]
struct Owner {
    handle: Handle,
    /// Taken when dropped, to stop it with a bound.
    runtime: Option<Runtime>,
    client: crate::Client,
}

impl Owner {
    /// Starts the runtime and `connect` on it.
    fn connect<F>(connect: F) -> Result<Owner, ClientError>
    where
        F: Future<Output = Result<crate::Client, ClientError>>,
    {
        outside_async()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("codexrt-blocking")
            .enable_all()
            .build()
            .map_err(ClientError::BlockingRuntime)?;
        let client = match runtime.block_on(connect) {
            Ok(client) => client,
            Err(error) => {
                runtime.shutdown_timeout(RUNTIME_STOP);
                return Err(error);
            }
        };
        Ok(Owner {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            client,
        })
    }

    /// Runs `future` on the runtime and waits for it on this thread.
    ///
    /// # Errors
    /// [`ClientError::InsideAsyncRuntime`] inside a tokio runtime.
    fn block_on<F: Future>(&self, future: F) -> Result<F::Output, ClientError> {
        outside_async()?;
        Ok(self.handle.block_on(future))
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if Handle::try_current().is_ok() {
            // Waiting here would block (or panic in) the async runtime this
            // thread belongs to: the tasks go, and with them the
            // connection, which kills codex.
            runtime.shutdown_background();
            return;
        }
        let client = self.client.clone();
        let stopped = runtime.block_on(async move {
            tokio::time::timeout(DROP_SHUTDOWN_LIMIT, client.shutdown()).await
        });
        match stopped {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "shutting codex down as the blocking client was dropped failed");
            }
            Err(_) => tracing::warn!(
                limit = ?DROP_SHUTDOWN_LIMIT,
                "codex did not shut down in time as the blocking client was dropped; it is killed"
            ),
        }
        runtime.shutdown_timeout(RUNTIME_STOP);
    }
}

/// `Ok` when this thread is not in a tokio runtime, so it may block.
fn outside_async() -> Result<(), ClientError> {
    match Handle::try_current() {
        Ok(_) => Err(ClientError::InsideAsyncRuntime),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
