//! One call's round trip, run in the caller's task: register the id with the
//! loop, write the request, wait for the outcome, and forget the id if the
//! caller gives up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{CloseReason, CloseReport, Closer, FrameSender};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::OnAnswer;
use crate::RequestId;
use crate::driver::Registration;
use crate::encode::Encoder;
use crate::pending::Outcome;
use crate::responder::ReplyFlusher;
use crate::stats::Counters;

/// How many registrations may wait for the loop before callers wait too.
pub(crate) const REGISTRATION_QUEUE: usize = 1024;
/// How many cancellations of dropped calls may wait for the loop; beyond it
/// the loop sweeps (see [`CallGuard`]).
pub(crate) const CANCEL_QUEUE: usize = 1024;
/// How long a call that found the connection closed waits for the loop to
/// publish the close report (the loop itself waits at most 500 ms for the
/// transport's) before it makes do without.
const REPORT_WAIT: Duration = Duration::from_secs(1);

/// State the loop and every handle share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    /// Set when a cancellation could not be queued; see [`CallGuard`].
    pub(crate) sweep_requested: AtomicBool,
}

/// What every clone of an [`RpcClient`](crate::RpcClient) shares.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) next_id: AtomicI64,
    pub(crate) encoder: Encoder,
    pub(crate) call_timeout: Option<Duration>,
    /// One permit per call on the wire; Tokio's semaphore hands permits out
    /// in the order they were asked for.
    pub(crate) in_flight: Semaphore,
    pub(crate) max_in_flight: usize,
    pub(crate) sender: FrameSender,
    pub(crate) closer: Closer,
    pub(crate) registrations: mpsc::Sender<Registration>,
    pub(crate) cancels: mpsc::Sender<RequestId>,
    /// The close report, published by the loop once it has failed every
    /// pending call.
    pub(crate) closed: watch::Receiver<Option<Arc<CloseReport>>>,
    pub(crate) shared: Arc<Shared>,
    /// Lets a shutdown wait until replies already given reach the transport.
    pub(crate) reply_flusher: ReplyFlusher,
}

impl Caller {
    pub(crate) fn report(&self) -> Option<Arc<CloseReport>> {
        self.closed.borrow().clone()
    }

    /// Registers the call, writes its frame and waits for the outcome.
    pub(crate) async fn exchange(
        &self,
        id: RequestId,
        frame: Bytes,
        on_answer: Option<OnAnswer>,
    ) -> Outcome {
        if let Some(report) = self.report() {
            return Outcome::Closed(report);
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let mut guard = CallGuard {
            id: id.clone(),
            reply: reply_rx,
            cancels: &self.cancels,
            shared: &self.shared,
            armed: true,
        };
        // Registering strictly before writing is what lets the loop match
        // the answer: see `Driver::run`.
        if self
            .registrations
            .send(Registration {
                id,
                reply: reply_tx,
                on_answer,
            })
            .await
            .is_err()
        {
            guard.armed = false;
            return Outcome::Closed(self.final_report().await);
        }
        if self.sender.send(frame).await.is_err() {
            // The guard forgets the call when it drops.
            return Outcome::Closed(self.final_report().await);
        }
        let outcome = match (&mut guard.reply).await {
            Ok(outcome) => outcome,
            // The loop ended without answering: it had published the report.
            Err(_) => Outcome::Closed(self.final_report().await),
        };
        guard.armed = false;
        outcome
    }

    /// The close report for a call that found the connection closed.
    pub(crate) async fn final_report(&self) -> Arc<CloseReport> {
        let mut closed = self.closed.clone();
        if let Ok(Ok(report)) =
            tokio::time::timeout(REPORT_WAIT, closed.wait_for(Option::is_some)).await
        {
            if let Some(report) = report.as_ref() {
                return Arc::clone(report);
            }
        }
        self.closer
            .report()
            .unwrap_or_else(|| Arc::new(CloseReport::new(CloseReason::Unreported)))
    }
}

/// Forgets a call whose future is dropped before it got its outcome.
///
/// `Drop` cannot wait, so the cancellation goes through a bounded queue with
/// `try_send`. When that queue is full, the guard sets `sweep_requested`
/// instead, and the loop drops every entry whose caller is gone at its next
/// wake-up. That wake-up is sure to come soon, because a full queue means the
/// loop has cancellations to read, so abandoned entries never linger, and
/// neither the queue nor the table grows without bound however many calls
/// are dropped at once.
struct CallGuard<'a> {
    id: RequestId,
    reply: oneshot::Receiver<Outcome>,
    cancels: &'a mpsc::Sender<RequestId>,
    shared: &'a Shared,
    armed: bool,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Closing first lets the loop see the call as abandoned even before
        // it reads the cancellation: at registration and in a sweep.
        self.reply.close();
        match self.cancels.try_send(self.id.clone()) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.sweep_requested.store(true, Ordering::Release)
            }
        }
    }
}
