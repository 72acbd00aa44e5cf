//! [`Review`]: codex reviews changes as a turn of a thread
//! (`review/start`): uncommitted changes, a branch, a commit, or what your
//! own instructions say.
//!
//! ```no_run
//! use codexrt::{Client, SessionConfig};
//! use codexrt::protocol::types::ReviewTarget;
//!
//! # async fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
//! let session = client.start_session(SessionConfig::new("/srv/repo")).await?;
//! let review = client
//!     .review()
//!     .start(session.thread_id(), ReviewTarget::UncommittedChanges)
//!     .await?;
//! let outcome = review.wait().await?;
//! println!("{:?}: {:?}", outcome.status, outcome.final_text());
//! # Ok(())
//! # }
//! ```

use codexrt_core::{TurnHandle, TurnOptions};
use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{ReviewDelivery, ReviewStartParams, ReviewTarget};

use crate::args::not_blank;
use crate::{Client, ClientError};

/// Code reviews, from [`Client::review`].
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    client: &'a Client,
}

impl<'a> Review<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Review { client }
    }

    /// Starts a review of `target` in the thread `thread_id`
    /// (`review/start`, delivered inline): the review is a turn of that
    /// thread, and the returned [`TurnHandle`] follows it as for any turn
    /// (its events, [`wait`](TurnHandle::wait) for the outcome,
    /// [`interrupt`](TurnHandle::interrupt)), within the client's turn
    /// timeout and inactivity watchdog. The thread must be loaded on this
    /// connection (started, resumed or forked by this client, such as a
    /// [`Session`](crate::Session)'s), and should not be running another
    /// turn: codex would fold the review into it.
    ///
    /// The review runs with the thread's sandbox and approval policy, so
    /// a session started with the facade's defaults reviews read-only.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a blank thread id (nothing is
    /// sent); [`ClientError::Runtime`] when the call fails, and with
    /// [`CoreError::ReviewDetached`](codexrt_core::CoreError::ReviewDetached)
    /// when codex runs the review in another thread.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call): the review may
    /// have started on the server. Dropping the returned handle does not
    /// stop it.
    pub async fn start(
        &self,
        thread_id: impl Into<String>,
        target: ReviewTarget,
    ) -> Result<TurnHandle, ClientError> {
        let thread_id = not_blank(ReviewStartParams::METHOD, "threadId", thread_id.into())?;
        let params = ReviewStartParams {
            delivery: Some(ReviewDelivery::Inline),
            target,
            thread_id,
        };
        let config = self.client.config();
        let options = TurnOptions::new()
            .deadline(config.turn_timeout_limit())
            .inactivity_watchdog(config.turn_inactivity_period());
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.start_review_with(params, options).await?)
    }
}
