//! The router: the rpc loop's inbound handler. It decodes everything the
//! server sends unasked, right on the loop, routes notifications to their
//! turns and to the observers, hands server requests to the user (or
//! answers them safely), and never waits.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use codexrt_protocol::types::RequestId as WireRequestId;
use codexrt_protocol::{DecodeError, ServerNotification, ServerRequest};
use codexrt_rpc::{
    ClosedSignal, ErrorObject, InboundHandler, IncomingRequest, MalformedFrame, RequestId,
    Responder, UncheckedRequest,
};
use codexrt_transport::CloseReport;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::StreamKind;
use crate::deadlines::Deadlines;
use crate::delta::WireDelta;
use crate::events::{EventHub, RuntimeEvent};
use crate::outcome::{LEND_FROM, LargeTexts};
use crate::safe_answer::SafeAnswer;
use crate::server_request::{
    Closing, PendingServerRequest, RequestDecider, ServerRequestHandle, ServerRequestReceiver,
    Settled, Slot, lock_decider,
};
use crate::spans::ShownId;
use crate::turn_table::{RawIds, Route, TurnShared, TurnTable};

/// How many server requests wait in the hand-off queue for the user. Beyond
/// it a request gets its safe answer at once: the router never waits.
pub(crate) const SERVER_REQUEST_QUEUE: usize = 64;

/// What the runtime and the router share.
pub(crate) struct RouterShared {
    /// Requests handed to the user and not yet answered. Entries are weak so
    /// an answered request costs nothing but its key until the next prune;
    /// the map is bounded by the rpc layer's limit of unanswered requests
    /// (256 by default), because each live slot holds one of its responders.
    registry: Mutex<HashMap<RequestId, Weak<Slot>>>,
    requests_tx: mpsc::Sender<PendingServerRequest>,
    requests_rx: Mutex<Option<mpsc::Receiver<PendingServerRequest>>>,
    /// Set when the user took the request stream; until then every request
    /// gets its safe answer at once instead of waiting for its deadline.
    taken: AtomicBool,
    /// The receiver's first look at each request, on the loop (see
    /// `ServerRequestReceiver::decide_first`).
    decider: Arc<Mutex<Option<Arc<RequestDecider>>>>,
    pub(crate) events: EventHub,
    pub(crate) turns: Arc<TurnTable>,
    deadlines: Arc<Deadlines>,
    /// Requests dropped because their id was live (see `route_request`).
    duplicates: AtomicU64,
}

impl std::fmt::Debug for RouterShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterShared")
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Locks are held for a few assignments only and never across user code,
    // so a poisoned lock still guards consistent data.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl RouterShared {
    pub(crate) fn new(deadline: Duration) -> Arc<RouterShared> {
        let (requests_tx, requests_rx) = mpsc::channel(SERVER_REQUEST_QUEUE);
        Arc::new(RouterShared {
            registry: Mutex::new(HashMap::new()),
            requests_tx,
            requests_rx: Mutex::new(Some(requests_rx)),
            taken: AtomicBool::new(false),
            decider: Arc::default(),
            events: EventHub::default(),
            turns: Arc::default(),
            deadlines: Deadlines::start(deadline),
            duplicates: AtomicU64::new(0),
        })
    }

    /// The user's stream of server requests, once.
    pub(crate) fn take_requests(&self, closed: ClosedSignal) -> Option<ServerRequestReceiver> {
        let rx = lock(&self.requests_rx).take()?;
        self.taken.store(true, Ordering::SeqCst);
        Some(ServerRequestReceiver {
            rx,
            decider: Arc::clone(&self.decider),
            closed,
            closing: Closing::NotWaiting,
        })
    }

    /// Sends the safe answer to every request still waiting; returns how
    /// many there were.
    pub(crate) fn settle_all(&self, reason: Settled) -> usize {
        let slots: Vec<Arc<Slot>> = lock(&self.registry)
            .drain()
            .filter_map(|(_, slot)| slot.upgrade())
            .collect();
        slots.iter().filter(|slot| slot.settle(reason)).count()
    }

    fn settle_one(&self, id: &RequestId, reason: Settled) {
        let slot = lock(&self.registry)
            .remove(id)
            .and_then(|slot| slot.upgrade());
        if let Some(slot) = slot {
            slot.settle(reason);
        }
    }

    pub(crate) fn duplicate_requests(&self) -> u64 {
        // A statistic that orders nothing.
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Whether a request with this id was handed out and still waits for
    /// its answer.
    fn is_live(&self, id: &RequestId) -> bool {
        lock(&self.registry)
            .get(id)
            .and_then(Weak::upgrade)
            .is_some_and(|slot| slot.is_waiting())
    }

    fn register(&self, slot: &Arc<Slot>) {
        let mut registry = lock(&self.registry);
        registry.retain(|_, slot| slot.upgrade().is_some_and(|slot| slot.is_waiting()));
        registry.insert(slot.id().clone(), Arc::downgrade(slot));
    }
}

/// The inbound handler the rpc loop calls: see the module docs.
pub(crate) struct Router {
    shared: Arc<RouterShared>,
    route: Route,
}

impl Router {
    pub(crate) fn new(shared: Arc<RouterShared>) -> Router {
        Router {
            shared,
            route: Route::default(),
        }
    }

    /// A delta on the fast path: read from the frame without building the
    /// whole notification, routed without allocating; `false` when its
    /// params (JSON text, checked as it is read) do not fit, and the
    /// generic path then says why.
    fn delta(&mut self, kind: StreamKind, method: &str, params: &str) -> bool {
        let Some((delta, index)) = WireDelta::read(kind, params) else {
            return false;
        };
        let shared = &*self.shared;
        if shared.events.wants_delta(method)
            && let Ok(notification) = ServerNotification::decode_text(method, Some(params))
        {
            let event = RuntimeEvent::Notification(Arc::new(notification));
            shared.events.push(method, event);
        }
        shared.turns.route_delta(
            &mut self.route,
            &delta.thread_id,
            &delta.turn_id,
            (kind, index, &delta.item_id, &delta.delta),
        );
        true
    }

    /// Decodes a notification and hands it to the observers; `None` when
    /// it did not decode, which the observers are told instead.
    fn decode(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Option<Arc<ServerNotification>> {
        let decoded = match ServerNotification::decode(method, params) {
            Ok(decoded) => decoded,
            Err(error) => {
                let event = RuntimeEvent::Undecodable {
                    method: method.to_owned(),
                    error: error.source.to_string(),
                };
                self.shared.events.push(method, event);
                return None;
            }
        };
        Some(self.share(method, decoded))
    }

    /// Acts on a decoded notification's own meaning, and hands it to the
    /// observers.
    fn share(&mut self, method: &str, decoded: ServerNotification) -> Arc<ServerNotification> {
        let shared = &*self.shared;
        if let ServerNotification::ServerRequestResolved(resolved) = &decoded
            && let Some(id) = rpc_id(&resolved.request_id)
        {
            shared.settle_one(&id, Settled::Resolved);
        }
        // One copy, shared by the observers, the turn's reader and its
        // outcome.
        let decoded = Arc::new(decoded);
        if shared.events.takes(method, &decoded) {
            let event = RuntimeEvent::Notification(Arc::clone(&decoded));
            shared.events.push(method, event);
        }
        decoded
    }

    /// Routes a decoded notification to its turn.
    fn route(&mut self, decoded: Arc<ServerNotification>) {
        let fallback = RawIds::of_unknown(&decoded);
        self.shared.turns.route(&mut self.route, decoded, &fallback);
    }

    /// A large frame that `turn` lent texts to (see [`LargeTexts`]):
    /// decoded, and delivered to `turn` to take them back; or, when it is
    /// not a notification for that turn after all, the texts are taken
    /// back from the frame and it goes the usual way.
    fn lent(
        &mut self,
        method: &str,
        params: &RawValue,
        texts: &LargeTexts<'_>,
        turn: &Arc<TurnShared>,
    ) {
        let decoded = self.decode(method, Some(params));
        let for_turn = decoded.as_ref().is_some_and(|decoded| {
            decoded.thread_id() == Some(&*texts.thread_id)
                && decoded.turn_id() == Some(&*texts.turn_id)
        });
        match decoded {
            Some(decoded) if for_turn => {
                let turns = &self.shared.turns;
                turns.deliver_lent(&mut self.route, turn, decoded, texts);
            }
            decoded => {
                turn.restore(texts);
                if let Some(decoded) = decoded {
                    self.route(decoded);
                }
            }
        }
    }
}

impl InboundHandler for Router {
    /// Every notification is decoded here anyway, which checks its params:
    /// taken unchecked, its frame is read once. A frame whose params do
    /// not decode is left to the full parse, and then to [`notification`]
    /// (which reports it). So is one large enough to lend texts to, before
    /// anything of it is read: what the turn would take back from it must
    /// come from checked text.
    ///
    /// [`notification`]: InboundHandler::notification
    fn unchecked_notification(&mut self, method: &str, params: &[u8]) -> bool {
        if params.len() >= LEND_FROM {
            return false;
        }
        let Ok(params) = std::str::from_utf8(params) else {
            return false;
        };
        if let Some(kind) = StreamKind::of_method(method) {
            return self.delta(kind, method, params);
        }
        match ServerNotification::decode_text(method, Some(params)) {
            Ok(decoded) => {
                let decoded = self.share(method, decoded);
                self.route(decoded);
                true
            }
            Err(_) => false,
        }
    }

    fn notification(&mut self, method: &str, params: Option<&RawValue>) {
        if let (Some(kind), Some(raw)) = (StreamKind::of_method(method), params)
            && self.delta(kind, method, raw.get())
        {
            return;
        }
        if let Some(raw) = params
            && let Some(texts) = LargeTexts::read(method, raw)
            && let Some(turn) = self.shared.turns.lend(&mut self.route, &texts)
        {
            return self.lent(method, raw, &texts, &turn);
        }
        if let Some(decoded) = self.decode(method, params) {
            self.route(decoded);
        }
    }

    fn request(&mut self, request: IncomingRequest) {
        let (params, responder) = request.into_parts();
        let decoded = ServerRequest::decode(responder.method(), params.as_deref());
        let params = params.as_deref().map(RawValue::get);
        route_request(&self.shared, responder, decoded, params);
    }

    /// Every request is decoded here anyway, which checks its params: taken
    /// unchecked, its frame is read once. One whose params do not decode is
    /// given back, parsed in full, and then refused in its kind's terms by
    /// [`request`](InboundHandler::request), as before.
    fn unchecked_request<'a>(
        &mut self,
        request: UncheckedRequest<'a>,
    ) -> Option<UncheckedRequest<'a>> {
        let Ok(params) = std::str::from_utf8(request.params()) else {
            return Some(request);
        };
        match ServerRequest::decode_text(request.method(), Some(params)) {
            Ok(decoded) => {
                route_request(
                    &self.shared,
                    request.into_responder(),
                    Ok(decoded),
                    Some(params),
                );
                None
            }
            Err(_) => Some(request),
        }
    }

    fn idle(&mut self) {
        self.route.wake_readers();
    }

    fn malformed(&mut self, frame: MalformedFrame) {
        // The frame is the peer's content: its problem and length only (the
        // rpc layer's debug log names it by hash too).
        tracing::warn!(problem = %frame.problem, len = frame.len, "the server sent a malformed frame");
    }

    fn closed(&mut self, report: &Arc<CloseReport>) {
        self.shared.deadlines.close();
        self.shared.settle_all(Settled::ConnectionClosed);
        self.shared.turns.close(report);
        self.shared.events.close();
    }
}

impl Drop for Router {
    /// The loop ended: the connection closed (and `closed` ran), or every
    /// runtime handle is gone, and then nobody can read what is left.
    fn drop(&mut self) {
        self.shared.deadlines.close();
        self.shared.settle_all(Settled::Shutdown);
        self.shared.events.close();
    }
}

fn rpc_id(id: &WireRequestId) -> Option<RequestId> {
    match id {
        WireRequestId::Integer(id) => Some(RequestId::Integer(*id)),
        WireRequestId::String(id) => Some(RequestId::String(id.clone())),
        // An id of a shape this version does not know names no request it
        // handed out.
        _ => None,
    }
}

/// Routes a server request, `decoded` from its `params`.
fn route_request(
    shared: &Arc<RouterShared>,
    responder: Responder,
    decoded: Result<ServerRequest, DecodeError>,
    params: Option<&str>,
) {
    // A second request with the id of one still waiting cannot be answered
    // apart from the first: the server would take its reply for the first
    // one's answer, or get two. So it is dropped, once, and the first keeps
    // its one reply. Only ids handed out can be live: every other request
    // is answered right here.
    if shared.is_live(responder.id()) {
        shared.duplicates.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            id = %ShownId(responder.id()),
            "a server request repeats the id of one still waiting for its answer; dropped without a reply"
        );
        responder.abandon();
        return;
    }
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(error) => {
            // A known kind whose params do not decode is still refused in its
            // own kind's terms; nobody could have answered it sensibly.
            // The decoder's message quotes the params: peer text.
            let error = codexrt_transport::redact::peer_text(&error.to_string());
            tracing::warn!(method = responder.method(), %error, "undecodable server request answered safely");
            SafeAnswer::for_method(responder.method()).send(responder);
            return;
        }
    };
    if let ServerRequest::Unknown { method, .. } = &decoded {
        let error = ErrorObject::new(
            ErrorObject::METHOD_NOT_FOUND,
            format!("unknown server request `{method}`"),
        );
        responder.respond_error(error);
        return;
    }
    let span = request_span(shared, &responder, params);
    let slot = Slot::new(responder, span);
    let Some(pending) = typed(decoded, Arc::clone(&slot)) else {
        // A kind the protocol crate added after this runtime was written:
        // the slot's safe answer for an unknown method is method-not-found.
        slot.answer_safely();
        return;
    };
    if !shared.taken.load(Ordering::SeqCst) {
        // Dropping the handle sends the safe answer.
        drop(pending);
        return;
    }
    shared.register(&slot);
    // The receiver's decider, if it set one, looks first: it answers here
    // and now what it can (no hop to the receiver's task), starts a task of
    // its own for what it cannot, or hands the request back to be queued.
    let decider = lock_decider(&shared.decider).clone();
    let pending = match decider {
        Some(decide) => {
            // A panic drops the request it had, which answers it safely.
            let decided = std::panic::catch_unwind(AssertUnwindSafe(|| decide(pending)));
            match decided {
                Ok(Some(pending)) => pending,
                Ok(None) | Err(_) => {
                    if decided.is_err() {
                        tracing::warn!("a server request decider panicked; answered safely");
                    }
                    if slot.is_waiting() {
                        shared.deadlines.arm(&slot);
                    }
                    return;
                }
            }
        }
        None => pending,
    };
    // A full or closed queue hands the request back; dropping it answers
    // safely, so the router never waits for the user.
    if shared.requests_tx.try_send(pending).is_err() {
        return;
    }
    shared.deadlines.arm(&slot);
}

/// The `codexrt.server_request` span of a request the runtime handles: a
/// child of its turn's span when it names a turn started here, else of
/// the connection's (the loop's own span). The params are read for the
/// ids only when a subscriber may take the span.
fn request_span(
    shared: &RouterShared,
    responder: &codexrt_rpc::Responder,
    params: Option<&str>,
) -> tracing::Span {
    if !tracing::level_enabled!(tracing::Level::INFO) {
        return tracing::Span::none();
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TurnOf {
        thread_id: Option<String>,
        turn_id: Option<String>,
    }
    let turn = params
        .and_then(|params| serde_json::from_str::<TurnOf>(params).ok())
        .and_then(|ids| {
            shared
                .turns
                .span_of(ids.thread_id.as_deref()?, ids.turn_id.as_deref()?)
        });
    let parent = turn.unwrap_or_else(tracing::Span::current);
    crate::spans::server_request(&parent, responder.method(), responder.id())
}

fn typed(request: ServerRequest, slot: Arc<Slot>) -> Option<PendingServerRequest> {
    use PendingServerRequest as P;
    use ServerRequestHandle as H;
    Some(match request {
        ServerRequest::ItemCommandExecutionRequestApproval(p) => {
            P::CommandExecutionApproval(H::new(p, slot))
        }
        ServerRequest::ItemFileChangeRequestApproval(p) => P::FileChangeApproval(H::new(p, slot)),
        ServerRequest::ItemPermissionsRequestApproval(p) => P::PermissionsApproval(H::new(p, slot)),
        ServerRequest::ItemToolCall(p) => P::DynamicToolCall(H::new(p, slot)),
        ServerRequest::ItemToolRequestUserInput(p) => P::UserInput(H::new(p, slot)),
        ServerRequest::McpServerElicitationRequest(p) => P::McpElicitation(H::new(p, slot)),
        ServerRequest::ExecCommandApproval(p) => P::ExecCommandApproval(H::new(p, slot)),
        ServerRequest::ApplyPatchApproval(p) => P::ApplyPatchApproval(H::new(p, slot)),
        ServerRequest::AccountChatgptAuthTokensRefresh(p) => {
            P::ChatgptAuthTokensRefresh(H::new(p, slot))
        }
        ServerRequest::AttestationGenerate(p) => P::AttestationGenerate(H::new(p, slot)),
        _ => return None,
    })
}
