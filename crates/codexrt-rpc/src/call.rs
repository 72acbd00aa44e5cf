//! One call's round trip, run in the caller's task: register the id with the
//! loop, write the request, wait for the outcome, and forget the id if the
//! caller gives up.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{CloseReason, CloseReport, Closer, FrameSender};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::OnAnswer;
use crate::RequestId;
use crate::driver::Registration;
use crate::encode::Encoder;
use crate::pending::Outcome;
use crate::responder::ReplyFlusher;
use crate::stats::Counters;
use crate::sync::{AtomicBool, oneshot};

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

impl Shared {
    /// Whether a sweep was asked for since the last call; clears the request.
    pub(crate) fn take_sweep_request(&self) -> bool {
        self.sweep_requested.swap(false, Ordering::Acquire)
    }
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

    /// A call with this id, not yet registered, and the sender its outcome
    /// goes through.
    pub(crate) fn call(&self, id: RequestId) -> (CallGuard<'_>, oneshot::Sender<Outcome>) {
        let (reply_tx, reply_rx) = oneshot::channel();
        let call = CallGuard::new(id, reply_rx, &self.cancels, &self.shared);
        (call, reply_tx)
    }

    /// Registers the call, writes its frame and waits for the outcome.
    /// Should the caller give up meanwhile, `call` is left to settle it (see
    /// [`CallGuard::give_up`]).
    pub(crate) async fn exchange(
        &self,
        call: &mut CallGuard<'_>,
        reply: oneshot::Sender<Outcome>,
        frame: Bytes,
        on_answer: Option<OnAnswer>,
    ) -> Outcome {
        if let Some(report) = self.report() {
            return Outcome::Closed(report);
        }
        // Registering strictly before writing is what lets the loop match
        // the answer: see `Driver::run`.
        let registration = Registration {
            id: call.id.clone(),
            reply,
            on_answer,
        };
        if self.registrations.send(registration).await.is_err() {
            return Outcome::Closed(self.final_report().await);
        }
        call.armed = true;
        if self.sender.send(frame).await.is_err() {
            // The guard forgets the call when it drops.
            return Outcome::Closed(self.final_report().await);
        }
        let outcome = match (&mut call.reply).await {
            Ok(outcome) => outcome,
            // The loop ended without answering: it had published the report.
            Err(_) => Outcome::Closed(self.final_report().await),
        };
        call.armed = false;
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

/// A caller's end of one call: forgets the call when the caller gives up
/// before it got its outcome, its timeout elapsed or its future dropped.
///
/// Whether the answer or the give-up wins is decided by the one-shot channel
/// the outcome comes through: the give-up closes it, and an outcome sent
/// before the close is the call's, one sent after fails and the loop counts
/// the answer late. So the loop's count and the caller's result agree.
///
/// `Drop` cannot wait, so the cancellation goes through a bounded queue with
/// `try_send`. When that queue is full, the guard sets `sweep_requested`
/// instead, and the loop drops every entry whose caller is gone at its next
/// wake-up. That wake-up is sure to come soon, because a full queue means the
/// loop has cancellations to read, so abandoned entries never linger, and
/// neither the queue nor the table grows without bound however many calls
/// are dropped at once.
pub(crate) struct CallGuard<'a> {
    id: RequestId,
    reply: oneshot::Receiver<Outcome>,
    cancels: &'a mpsc::Sender<RequestId>,
    shared: &'a Shared,
    /// Whether the call is registered and has no outcome yet.
    armed: bool,
}

impl<'a> CallGuard<'a> {
    /// The caller's end of call `id`, whose outcome comes through `reply`;
    /// armed once its registration is queued.
    pub(crate) fn new(
        id: RequestId,
        reply: oneshot::Receiver<Outcome>,
        cancels: &'a mpsc::Sender<RequestId>,
        shared: &'a Shared,
    ) -> Self {
        CallGuard {
            id,
            reply,
            cancels,
            shared,
            armed: false,
        }
    }

    /// Marks the call registered, for a registration queued by other means
    /// than [`Caller::exchange`].
    #[cfg(test)]
    pub(crate) fn arm(&mut self) {
        self.armed = true;
    }

    /// Gives the call up. Returns its outcome if the loop sent it before
    /// the give-up, which the call then ends with; otherwise the loop is
    /// told to forget the call, and an answer that comes later is late.
    pub(crate) fn give_up(&mut self) -> Option<Outcome> {
        if !std::mem::take(&mut self.armed) {
            return None;
        }
        // Closing first lets the loop see the call as abandoned even before
        // it reads the cancellation: at registration, when it answers, and
        // in a sweep.
        self.reply.close();
        if let Ok(outcome) = self.reply.try_recv() {
            // The loop has already removed the call.
            return Some(outcome);
        }
        match self.cancels.try_send(self.id.clone()) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.sweep_requested.store(true, Ordering::Release)
            }
        }
        None
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        // An outcome that came just before the drop has nobody to go to.
        drop(self.give_up());
    }
}
