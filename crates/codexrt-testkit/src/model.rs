//! [`ModelServer`]: a scripted stand-in for the OpenAI Responses API on
//! 127.0.0.1, so that a real codex binary runs turns offline.

mod reply;
mod request;
mod script;
mod serve;
mod stream;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use reply::Reply;
pub use request::{FunctionCallOutput, ModelRequest};
pub use script::{Script, ScriptError};

use crate::TestkitError;
use serve::Shared;

/// An HTTP/1.1 server on `127.0.0.1` (an ephemeral port) that answers
/// codex's model requests from a [`Script`] and records every request.
///
/// - `POST /v1/responses` takes the script's next [`Reply`]: a
///   `text/event-stream` of Responses-API events, or an HTTP failure. When
///   the script is exhausted the answer is HTTP 500 and a [`ScriptError`] is
///   recorded.
/// - Any other method or path is answered with 404 and recorded in
///   [`other_requests`](ModelServer::other_requests).
///
/// Point codex at [`base_url`](ModelServer::base_url) (a [`Codex`](crate::Codex)
/// does that in its `config.toml`).
///
/// Dropping the server stops it at once: the listener closes and every
/// connection, streaming or stalled, is aborted. [`shutdown`](ModelServer::shutdown)
/// does the same and waits until all of it is gone.
///
/// ```
/// use codexrt_testkit::{ModelServer, Reply, Script};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let model = ModelServer::start(Script::replies([Reply::message("hi")])).await?;
/// assert!(model.base_url().starts_with("http://127.0.0.1:"));
/// // ... run codex against it ...
/// assert!(model.requests().is_empty());
/// assert_eq!(model.script_errors(), []);
/// model.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ModelServer {
    /// Binds `127.0.0.1:0` and starts serving `script`.
    ///
    /// # Errors
    /// [`TestkitError::Bind`] when the socket cannot be bound.
    ///
    /// # Panics
    /// When called outside a Tokio runtime with I/O and time enabled.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes leaves nothing running.
    pub async fn start(script: Script) -> Result<ModelServer, TestkitError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(TestkitError::Bind)?;
        let addr = listener.local_addr().map_err(TestkitError::Bind)?;
        let shared = Arc::new(Shared::new(script));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve::accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(ModelServer {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`: the `base_url` of a codex model provider
    /// served by this server.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Appends a reply to the script's queue; it is used after the replies
    /// queued before it and before the script's responder function.
    pub fn push(&self, reply: Reply) {
        self.shared.state().script.push(reply);
    }

    /// How many queued replies are still unused (a responder function is not
    /// counted).
    pub fn remaining_replies(&self) -> usize {
        self.shared.state().script.queued()
    }

    /// Every model request (`POST /v1/responses`) so far, in arrival order;
    /// the index in this list is the request's index in ids and errors
    /// (counting from the requests let go by
    /// [`ModelServer::forget_requests`], if any).
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.shared.state().requests.clone()
    }

    /// Lets go of the model requests kept so far (for a long run, such as a
    /// soak, whose requests would otherwise pile up); later requests keep
    /// counting from them, and [`ModelServer::requests`] starts empty again.
    /// Returns how many were let go.
    pub fn forget_requests(&self) -> usize {
        let mut state = self.shared.state();
        let forgotten = state.requests.len();
        state.forgotten += forgotten;
        state.requests = Vec::new();
        forgotten
    }

    /// The latest model request, if any.
    pub fn last_request(&self) -> Option<ModelRequest> {
        self.shared.state().requests.last().cloned()
    }

    /// Every other request (answered with 404), in arrival order.
    pub fn other_requests(&self) -> Vec<ModelRequest> {
        self.shared.state().other_requests.clone()
    }

    /// Everything that went wrong while following the script, in order. A
    /// test that expects its script to be followed exactly asserts that this
    /// is empty.
    pub fn script_errors(&self) -> Vec<ScriptError> {
        self.shared.state().errors.clone()
    }

    /// Waits until at least `count` model requests have been received (their
    /// answers may still be streaming). Wrap it in a timeout: codex may
    /// never send them.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future has no effect.
    pub async fn wait_for_requests(&self, count: usize) {
        let mut served = self.shared.served.subscribe();
        // The sender lives in `self.shared`, which outlives this borrow, so
        // the wait ends only when the count is reached.
        let _ = served.wait_for(|served| *served >= count).await;
    }

    /// Stops the server and waits until its listener and every connection
    /// (including streams in the middle of a reply) are closed.
    ///
    /// # Cancel safety
    /// Dropping the future still stops the server (it is dropped with it).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The loop cannot fail; a panic in it is already reported by the
            // runtime and leaves nothing to clean up here.
            let _ = task.await;
        }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            // Aborting drops the accept loop, whose task set aborts every
            // connection in turn: nothing is left behind, nothing is spawned.
            task.abort();
        }
    }
}
