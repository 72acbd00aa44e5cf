//! Server requests handed to the user: [`PendingServerRequest`], one typed
//! [`ServerRequestHandle`] per kind that answers exactly once, and the
//! [`ServerRequestReceiver`] they arrive on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use codexrt_protocol::ServerRequestParams;
use codexrt_protocol::types::{
    ApplyPatchApprovalParams, AttestationGenerateParams, ChatgptAuthTokensRefreshParams,
    CommandExecutionRequestApprovalParams, DynamicToolCallParams, ExecCommandApprovalParams,
    FileChangeRequestApprovalParams, McpServerElicitationRequestParams,
    PermissionsRequestApprovalParams, ToolRequestUserInputParams,
};
use codexrt_rpc::{ClosedSignal, RequestId, Responder};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};
use tracing::Span;

use crate::CoreError;
use crate::safe_answer::SafeAnswer;
use crate::sync;

/// How the runtime settled a server request before the user answered it:
/// with the safe answer of the request's kind (see the crate docs), or, for
/// a request the server resolved itself, with no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// The deadline ([`RuntimeConfig::server_request_deadline`](crate::RuntimeConfig::server_request_deadline))
    /// elapsed.
    DeadlineElapsed,
    /// The server sent `serverRequest/resolved` for it: it no longer waits
    /// for an answer, and none is sent.
    Resolved,
    /// The runtime was shut down.
    Shutdown,
    /// The connection to the server closed.
    ConnectionClosed,
}

impl Settled {
    /// The `decision` a request's span records when it is settled so.
    fn decision(self) -> &'static str {
        match self {
            Settled::DeadlineElapsed => "safe:deadline",
            Settled::Resolved => "resolved",
            Settled::Shutdown => "safe:shutdown",
            Settled::ConnectionClosed => "safe:closed",
        }
    }
}

impl fmt::Display for Settled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Settled::DeadlineElapsed => "its deadline elapsed",
            Settled::Resolved => "the server resolved it",
            Settled::Shutdown => "the runtime shut down",
            Settled::ConnectionClosed => "the connection closed",
        })
    }
}

/// What a [`Slot`] answers through: the rpc layer's [`Responder`], or a
/// loom model's stand-in that records what would go on the wire.
pub(crate) trait Reply {
    /// The method of the request.
    fn method(&self) -> &str;
    /// The id of the request.
    fn id(&self) -> &RequestId;
    /// Answers with `safe`.
    fn send_safe(self, safe: &SafeAnswer);
    /// Sends nothing: the server withdrew the request.
    fn abandon(self);
}

impl Reply for Responder {
    fn method(&self) -> &str {
        Responder::method(self)
    }

    fn id(&self) -> &RequestId {
        Responder::id(self)
    }

    fn send_safe(self, safe: &SafeAnswer) {
        safe.send(self);
    }

    fn abandon(self) {
        Responder::abandon(self);
    }
}

enum SlotState<R> {
    Waiting(R),
    Answered,
    Settled(Settled),
}

/// The one place a server request's responder lives, shared by the user's
/// handle, the deadline timer and the router; whoever takes the responder
/// out answers, so the request is answered exactly once.
pub(crate) struct Slot<R = Responder> {
    method: String,
    id: RequestId,
    safe: SafeAnswer,
    state: sync::Mutex<SlotState<R>>,
    /// The request's `codexrt.server_request` span; its `decision` is
    /// recorded by whoever answers.
    span: Span,
    /// Wakes the [`SettledSignal`]s when the request stops waiting.
    done: Notify,
    /// Whether a [`SettledSignal`] ever waited: only then does an answer
    /// through the handle wake anyone, so the common answer, given before
    /// anything waits, takes no extra lock.
    watched: AtomicBool,
}

impl<R: Reply> Slot<R> {
    pub(crate) fn new(responder: R, span: Span) -> Arc<Slot<R>> {
        Arc::new(Slot {
            method: responder.method().to_owned(),
            id: responder.id().clone(),
            safe: SafeAnswer::for_method(responder.method()),
            state: sync::Mutex::new(SlotState::Waiting(responder)),
            span,
            done: Notify::new(),
            watched: AtomicBool::new(false),
        })
    }

    pub(crate) fn id(&self) -> &RequestId {
        &self.id
    }

    fn lock(&self) -> sync::MutexGuard<'_, SlotState<R>> {
        // The lock is never held across user code or an await, so a poisoned
        // lock only means another thread panicked between two assignments;
        // the state is still one of the three values.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn take(&self, next: SlotState<R>) -> Result<R, Option<Settled>> {
        let mut state = self.lock();
        let settles = matches!(next, SlotState::Settled(_));
        match std::mem::replace(&mut *state, next) {
            SlotState::Waiting(responder) => {
                drop(state);
                // The state changed under the lock, and a waiting signal
                // sets `watched` before it reads the state under the lock:
                // either it read the new state, or its flag is seen here.
                if settles || self.watched.load(Ordering::SeqCst) {
                    self.done.notify_waiters();
                }
                Ok(responder)
            }
            previous => {
                let settled = match &previous {
                    SlotState::Settled(settled) => Some(*settled),
                    _ => None,
                };
                *state = previous;
                Err(settled)
            }
        }
    }

    /// Sends the safe answer unless the request was already answered;
    /// returns whether it did.
    pub(crate) fn settle(&self, reason: Settled) -> bool {
        let taken = self.take(SlotState::Settled(reason));
        if taken.is_ok() {
            self.span
                .record("decision", tracing::field::display(reason.decision()));
        }
        match taken {
            Ok(responder) if reason == Settled::Resolved => {
                responder.abandon();
                true
            }
            Ok(responder) => {
                responder.send_safe(&self.safe);
                true
            }
            Err(_) => false,
        }
    }

    /// Sends the safe answer unless the request was already answered, for
    /// a handle dropped unanswered or a request nobody can take.
    pub(crate) fn answer_safely(&self) {
        if let Ok(responder) = self.take(SlotState::Answered) {
            self.span
                .record("decision", tracing::field::display("safe"));
            responder.send_safe(&self.safe);
        }
    }

    fn answer(
        &self,
        decision: impl FnOnce() -> Option<String>,
        respond: impl FnOnce(R) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        match self.take(SlotState::Answered) {
            Ok(responder) => {
                if !self.span.is_disabled()
                    && let Some(decision) = decision()
                {
                    self.span
                        .record("decision", tracing::field::display(decision));
                }
                respond(responder)
            }
            Err(settled) => Err(CoreError::ServerRequestSettled {
                method: self.method.clone(),
                // A handle answers at most once (it is consumed), so a slot
                // that is not waiting was settled by the runtime.
                settled: settled.unwrap_or(Settled::Shutdown),
            }),
        }
    }

    /// Whether the request is still waiting for an answer.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(*self.lock(), SlotState::Waiting(_))
    }

    /// Where the request stands: `None` while it waits, else how it ended
    /// (`Some(None)` when answered through its handle).
    fn ended(&self) -> Option<Option<Settled>> {
        match *self.lock() {
            SlotState::Waiting(_) => None,
            SlotState::Answered => Some(None),
            SlotState::Settled(settled) => Some(Some(settled)),
        }
    }
}

/// Tells whoever works on a server request's answer when the runtime
/// settled the request instead (its deadline elapsed, the server resolved
/// it, the runtime shut down or the connection closed), so that the work
/// can stop: its answer can no longer be sent. Made by
/// [`ServerRequestHandle::settled`]; cheap to clone, and it does not keep
/// the request from being answered or dropped.
#[derive(Clone)]
pub struct SettledSignal {
    slot: Arc<Slot>,
}

impl SettledSignal {
    /// How the runtime settled the request, if it did, without waiting:
    /// `None` while the request waits and once it was answered through
    /// its handle.
    pub fn get(&self) -> Option<Settled> {
        self.slot.ended().flatten()
    }

    /// Waits until the request stops waiting for an answer and returns
    /// how the runtime settled it, or `None` when it was answered (or its
    /// handle dropped) instead.
    ///
    /// # Cancel safety
    /// Cancel safe: it only waits.
    pub async fn wait(&self) -> Option<Settled> {
        self.slot.watched.store(true, Ordering::SeqCst);
        loop {
            let done = self.slot.done.notified();
            let mut done = std::pin::pin!(done);
            // Registered before the state is read, so a change after the
            // read wakes it.
            done.as_mut().enable();
            if let Some(ended) = self.slot.ended() {
                return ended;
            }
            done.await;
        }
    }
}

impl fmt::Debug for SettledSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettledSignal")
            .field("id", &self.slot.id)
            .field("settled", &self.get())
            .finish()
    }
}

/// One server request of kind `P`: its typed params and the right to answer
/// it once with `P::Response`.
///
/// Dropping the handle unanswered sends the safe answer of its kind at once.
pub struct ServerRequestHandle<P> {
    params: P,
    slot: Arc<Slot>,
}

impl<P: ServerRequestParams> ServerRequestHandle<P> {
    pub(crate) fn new(params: P, slot: Arc<Slot>) -> Self {
        ServerRequestHandle { params, slot }
    }

    /// The request's params.
    pub fn params(&self) -> &P {
        &self.params
    }

    /// The request's id, as the server sent it.
    pub fn id(&self) -> &RequestId {
        &self.slot.id
    }

    /// The request's `codexrt.server_request` span (see
    /// `docs/observability.md`), for work of yours that decides it. Its
    /// `decision` is recorded when the request is answered; record its
    /// `hook` field to name what decided.
    pub fn span(&self) -> &Span {
        &self.slot.span
    }

    /// A signal of the runtime settling this request before it is
    /// answered (see [`SettledSignal`]), for work that decides the answer
    /// and should stop, rather than run on, once the answer is no longer
    /// wanted.
    pub fn settled(&self) -> SettledSignal {
        SettledSignal {
            slot: Arc::clone(&self.slot),
        }
    }

    /// Answers the request with `response`. Never waits.
    ///
    /// # Errors
    /// [`CoreError::ServerRequestSettled`] when the runtime already sent the
    /// safe answer (deadline, `serverRequest/resolved`, shutdown, connection
    /// closed); [`CoreError::Encode`] when `response` cannot be encoded (the
    /// server then gets an internal error).
    pub fn respond(self, response: P::Response) -> Result<(), CoreError> {
        self.slot.answer(
            || decision_of(&response),
            |responder| responder.respond(&response).map_err(CoreError::from),
        )
    }

    /// Answers with the safe answer of this kind (see the crate docs), as
    /// dropping the handle does, but says whether it was still possible.
    ///
    /// # Errors
    /// [`CoreError::ServerRequestSettled`] when the runtime already settled
    /// the request.
    pub fn decline(self) -> Result<(), CoreError> {
        let safe = self.slot.safe.clone();
        self.slot.answer(
            || Some("safe".to_owned()),
            |responder| {
                safe.send(responder);
                Ok(())
            },
        )
    }
}

impl<P> Drop for ServerRequestHandle<P> {
    fn drop(&mut self) {
        self.slot.answer_safely();
    }
}

impl<P: fmt::Debug> fmt::Debug for ServerRequestHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerRequestHandle")
            .field("id", &self.slot.id)
            .field("params", &self.params)
            .finish()
    }
}

/// The `decision` a request's span records for `response`: what an
/// approval decided (`accept`, `decline`, ..., or the one key of a
/// decision with data), an elicitation's action, a grant's scope, whether a
/// tool call succeeded, else `answered`. Only made when a subscriber
/// records the span.
fn decision_of(response: &impl serde::Serialize) -> Option<String> {
    let value = serde_json::to_value(response).ok()?;
    let named = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) if map.len() == 1 => map.keys().next().cloned(),
        _ => None,
    };
    let decision = ["decision", "action", "scope"]
        .iter()
        .find_map(|key| value.get(key).and_then(named))
        .or_else(|| match value.get("success") {
            Some(Value::Bool(true)) => Some("success".to_owned()),
            Some(Value::Bool(false)) => Some("failure".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "answered".to_owned());
    Some(decision)
}

/// A server request waiting for the user's answer, one variant per kind.
///
/// Match on the kind, look at its params and answer through its
/// [`ServerRequestHandle`]; whatever is not answered within the deadline,
/// or dropped, gets the safe answer (see the crate docs).
// Boxing would make matching on the kind clumsier for a value that is moved
// once, from the router into the hand-off queue.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[non_exhaustive]
pub enum PendingServerRequest {
    /// `item/commandExecution/requestApproval`.
    CommandExecutionApproval(ServerRequestHandle<CommandExecutionRequestApprovalParams>),
    /// `item/fileChange/requestApproval`.
    FileChangeApproval(ServerRequestHandle<FileChangeRequestApprovalParams>),
    /// `item/permissions/requestApproval`.
    PermissionsApproval(ServerRequestHandle<PermissionsRequestApprovalParams>),
    /// `item/tool/call`: a dynamic (client-side) tool call.
    DynamicToolCall(ServerRequestHandle<DynamicToolCallParams>),
    /// `item/tool/requestUserInput`.
    UserInput(ServerRequestHandle<ToolRequestUserInputParams>),
    /// `mcpServer/elicitation/request`.
    McpElicitation(ServerRequestHandle<McpServerElicitationRequestParams>),
    /// `execCommandApproval` (legacy API).
    ExecCommandApproval(ServerRequestHandle<ExecCommandApprovalParams>),
    /// `applyPatchApproval` (legacy API).
    ApplyPatchApproval(ServerRequestHandle<ApplyPatchApprovalParams>),
    /// `account/chatgptAuthTokens/refresh`.
    ChatgptAuthTokensRefresh(ServerRequestHandle<ChatgptAuthTokensRefreshParams>),
    /// `attestation/generate`.
    AttestationGenerate(ServerRequestHandle<AttestationGenerateParams>),
}

impl PendingServerRequest {
    /// The request's `codexrt.server_request` span: see
    /// [`ServerRequestHandle::span`].
    pub fn span(&self) -> &Span {
        match self {
            Self::CommandExecutionApproval(handle) => handle.span(),
            Self::FileChangeApproval(handle) => handle.span(),
            Self::PermissionsApproval(handle) => handle.span(),
            Self::DynamicToolCall(handle) => handle.span(),
            Self::UserInput(handle) => handle.span(),
            Self::McpElicitation(handle) => handle.span(),
            Self::ExecCommandApproval(handle) => handle.span(),
            Self::ApplyPatchApproval(handle) => handle.span(),
            Self::ChatgptAuthTokensRefresh(handle) => handle.span(),
            Self::AttestationGenerate(handle) => handle.span(),
        }
    }

    /// The wire method of the request.
    pub fn method(&self) -> &'static str {
        match self {
            Self::CommandExecutionApproval(_) => CommandExecutionRequestApprovalParams::METHOD,
            Self::FileChangeApproval(_) => FileChangeRequestApprovalParams::METHOD,
            Self::PermissionsApproval(_) => PermissionsRequestApprovalParams::METHOD,
            Self::DynamicToolCall(_) => DynamicToolCallParams::METHOD,
            Self::UserInput(_) => ToolRequestUserInputParams::METHOD,
            Self::McpElicitation(_) => McpServerElicitationRequestParams::METHOD,
            Self::ExecCommandApproval(_) => ExecCommandApprovalParams::METHOD,
            Self::ApplyPatchApproval(_) => ApplyPatchApprovalParams::METHOD,
            Self::ChatgptAuthTokensRefresh(_) => ChatgptAuthTokensRefreshParams::METHOD,
            Self::AttestationGenerate(_) => AttestationGenerateParams::METHOD,
        }
    }
}

/// A receiver's first look at each server request: see
/// [`ServerRequestReceiver::decide_first`].
pub type RequestDecider =
    dyn Fn(PendingServerRequest) -> Option<PendingServerRequest> + Send + Sync + 'static;

/// Receives the server requests the runtime hands to the user, in arrival
/// order. Dropping it makes every later request get its safe answer at once.
pub struct ServerRequestReceiver {
    pub(crate) rx: mpsc::Receiver<PendingServerRequest>,
    pub(crate) decider: Arc<Mutex<Option<Arc<RequestDecider>>>>,
    /// Ends the stream once the connection is closed, even while handles
    /// of the runtime (which hold the queue's sender) live on.
    pub(crate) closed: ClosedSignal,
    /// The wait for the close while polled: made at the first poll that
    /// finds the queue empty, kept until the connection closed.
    pub(crate) closing: Closing,
}

/// Where a polled [`ServerRequestReceiver`] is in waiting for the close.
pub(crate) enum Closing {
    /// No poll has waited yet.
    NotWaiting,
    /// A poll waits; the future owns a clone of the close signal.
    Waiting(Pin<Box<dyn Future<Output = ()> + Send + Sync>>),
    /// The connection closed.
    Closed,
}

impl fmt::Debug for ServerRequestReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerRequestReceiver")
            .field("decides_first", &self.decides_first())
            .finish_non_exhaustive()
    }
}

impl Drop for ServerRequestReceiver {
    /// The decider goes with the receiver: no request is decided for a
    /// receiver that is gone.
    fn drop(&mut self) {
        *lock_decider(&self.decider) = None;
    }
}

pub(crate) fn lock_decider(
    decider: &Mutex<Option<Arc<RequestDecider>>>,
) -> MutexGuard<'_, Option<Arc<RequestDecider>>> {
    // Only ever held to swap or clone an `Arc`: a poisoned lock still
    // holds a consistent value.
    decider.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl ServerRequestReceiver {
    /// Has `decider` look at every later server request first, on the
    /// task that reads the connection, before it is queued for this
    /// receiver. It either takes the request (returns `None`), and then
    /// answers it or makes sure something will (a task of its own; a
    /// dropped handle is the safe answer), or hands it back (returns
    /// `Some`), and it is queued as usual. A request it takes and leaves
    /// unanswered still gets its safe answer at the deadline.
    ///
    /// It is for deciders that answer without waiting, such as fixed
    /// rules: answering right on the reading task saves the request a hop
    /// to the receiver's task, and its answer goes out without another
    /// wake-up. It runs for every request the connection reads, so it must
    /// not block, and anything slow belongs in a task it spawns. Setting a
    /// decider replaces the one before; dropping the receiver removes it.
    /// A panic in it is caught: the request it had gets its safe answer.
    pub fn decide_first(&self, decider: Arc<RequestDecider>) {
        *lock_decider(&self.decider) = Some(decider);
    }

    /// Whether a decider set with [`decide_first`](Self::decide_first)
    /// looks at requests first.
    pub fn decides_first(&self) -> bool {
        lock_decider(&self.decider).is_some()
    }

    /// The next server request, or `None` once the connection is closed
    /// and the requests it queued before were received (they were given
    /// their safe answer at the close; answering them again fails), or the
    /// runtime is gone.
    ///
    /// # Cancel safety
    /// Cancel safe: no request is lost if the future is dropped.
    pub async fn recv(&mut self) -> Option<PendingServerRequest> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next server request, as [`recv`](Self::recv) waits
    /// for it.
    ///
    /// # Cancel safety
    /// Cancel safe: a request is taken only in the poll that returns it.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<PendingServerRequest>> {
        // Queued requests first: those queued before the close are still
        // handed out.
        if let Poll::Ready(request) = self.rx.poll_recv(cx) {
            return Poll::Ready(request);
        }
        if let Closing::NotWaiting = self.closing {
            let mut closed = self.closed.clone();
            self.closing = Closing::Waiting(Box::pin(async move { closed.wait().await }));
        }
        if let Closing::Waiting(wait) = &mut self.closing {
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.closing = Closing::Closed;
        }
        Poll::Ready(self.rx.try_recv().ok())
    }
}

/// The same requests as [`ServerRequestReceiver::recv`], for `StreamExt`
/// and the like.
impl futures_core::Stream for ServerRequestReceiver {
    type Item = PendingServerRequest;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PendingServerRequest>> {
        self.get_mut().poll_recv(cx)
    }
}

// Two attributes, not `all(..)`: clippy takes only a plain `cfg(test)`
// for test code.
#[cfg(test)]
#[cfg(codexrt_loom)]
mod loom_models;
#[cfg(test)]
mod tests;
