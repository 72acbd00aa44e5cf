//! The approval loop: [`HookSet::serve`] (and [`HookSet::serve_scoped`])
//! answers core's server requests through the hooks and dynamic tools,
//! off the router, with bounded concurrency.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use codexrt_core::{
    EventFilter, EventReceiver, PendingServerRequest, RequestDecider, Runtime, RuntimeEvent,
    ServerRequestHandle, ServerRequestReceiver, SettledSignal,
};
use codexrt_protocol::ServerRequestParams;
use codexrt_protocol::types::DynamicToolCallParams;
use codexrt_protocol::types::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse, FileChangeApprovalDecision,
    FileChangeRequestApprovalParams, FileChangeRequestApprovalResponse, GrantedPermissionProfile,
    McpServerElicitationAction, McpServerElicitationRequestParams,
    McpServerElicitationRequestParamsKind, McpServerElicitationRequestResponse,
    PermissionGrantScope, PermissionsRequestApprovalParams, PermissionsRequestApprovalResponse,
    ThreadItemKind, ToolRequestUserInputAnswer, ToolRequestUserInputParams,
    ToolRequestUserInputResponse,
};
use codexrt_protocol::{ServerNotification, methods};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::builtin::{AuditEntry, AuditRecord};
use crate::context::post_tool_context;
use crate::scope::{self, Scope};
use crate::set::ToolHook;
use crate::tools::{call_tool_scoped, find_tool};
use crate::{
    Decision, ElicitationAnswer, HookContext, HookError, HookReport, HookSet, Phase, TOOL_COMMAND,
    TOOL_FILE_CHANGE, TOOL_PERMISSIONS, TOOL_USER_INPUT, ThreadHooks, ToolCall, mcp_tool_name,
};

/// How many file-change items the loop remembers the paths of, between
/// their `item/started` and `item/completed`. Beyond that a file change's
/// paths are unknown, so path matchers do not match it: fail closed.
const TRACKED_FILE_CHANGES: usize = 1024;

/// The running approval loop made by [`HookSet::serve`].
///
/// Dropping it stops the loop: the request stream is dropped, so every
/// later request, and every one being decided, gets its safe answer.
#[derive(Debug)]
pub struct ApprovalLoop {
    task: JoinHandle<()>,
    report: HookReport,
    control: mpsc::Sender<Control>,
}

/// How many control messages (barriers, scope releases) wait for the loop.
const CONTROL_QUEUE: usize = 256;

/// What the loop is asked besides answering requests. Both are handled
/// only when no event is waiting, so they come after every event the
/// runtime had queued when they were sent.
#[derive(Debug)]
pub(crate) enum Control {
    /// Answer once the observers saw every event queued so far.
    Barrier(oneshot::Sender<()>),
    /// Remove a thread's scope once the observers saw every event queued
    /// so far (see [`ScopeGuard`](crate::ScopeGuard)).
    Release { thread_id: String, generation: u64 },
}

/// What the observer task works through, in order.
enum Work {
    Event(Arc<RuntimeEvent>),
    Barrier(oneshot::Sender<()>),
    Release { thread_id: String, generation: u64 },
}

impl ApprovalLoop {
    /// The report the hooks' failures go to.
    pub fn report(&self) -> HookReport {
        self.report.clone()
    }

    /// A future that ends once the observers and post-tool hooks have seen
    /// every event the runtime had received when it was made (or were cut
    /// off by their timeouts), or at once when the loop does not observe
    /// events or has ended. Made now, awaited whenever: for example after
    /// a turn's `wait`, so that the post-tool hooks have seen its items.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping it changes nothing.
    pub fn barrier(&self) -> impl Future<Output = ()> + Send + 'static {
        let control = self.control.clone();
        async move {
            let (done, waited) = oneshot::channel();
            if control.send(Control::Barrier(done)).await.is_ok() {
                // An error means the loop ended: nothing left to wait for.
                let _ = waited.await;
            }
        }
    }

    /// Waits until the loop ends: when the last [`Runtime`] handle is
    /// dropped (shutting down is not enough: the request stream lives as
    /// long as the runtime), after every event taken was shown to the
    /// observers. Requests still being decided are answered by their own
    /// tasks.
    ///
    /// # Cancel safety
    /// Dropping the future stops the loop, as dropping the loop does.
    pub async fn finished(mut self) {
        // The task never panics on its own (hooks run in tasks of their
        // own), so a join error means it was aborted: finished either way.
        let _ = (&mut self.task).await;
    }
}

impl Drop for ApprovalLoop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HookSet {
    /// Starts the approval loop on `runtime`: takes its
    /// [`server_requests`](Runtime::server_requests) stream and answers
    /// command-execution, file-change, permissions and MCP-elicitation
    /// requests with the hooks' [`decide`](HookSet::decide), dynamic tool
    /// calls with the registered tools, and user-input requests with the
    /// user-input hooks, at most [`concurrency`](HookSet::concurrency) at
    /// once (a request that no hook matches takes no slot and is answered
    /// at once), each in a task of its own, except one whose matching hooks
    /// all run in place ([`ToolUseHook::runs_in_place`](crate::ToolUseHook::runs_in_place)),
    /// which is decided and answered without a task. Command and permissions
    /// approvals are decided as soon as the runtime reads them, on the task
    /// that reads the connection
    /// ([`ServerRequestReceiver::decide_first`](codexrt_core::ServerRequestReceiver::decide_first)),
    /// so that an answer by the built-in rules crosses no other task; the
    /// other kinds go through the loop (file changes need the paths of the
    /// events before them). Every other request is dropped unanswered,
    /// which gives it core's safe answer.
    ///
    /// The loop also opens an observer stream of its own
    /// ([`events_with`](Runtime::events_with)): approval requests for file
    /// changes do not carry the paths, which come in the item's
    /// `item/started`. When the set has observers, post-tool hooks or an
    /// audit log, the stream has every event and feeds them too (see the
    /// crate docs); otherwise it has only the `item/started` and
    /// `item/completed` of file changes, so deltas and the other
    /// notifications cost the loop nothing, until a thread scope with any of those is inserted:
    /// from then on the stream takes every event. Other observers of the
    /// runtime are not affected.
    ///
    /// How a [`Decision`] is sent, per kind:
    ///
    /// | Decision | command / file change | permissions | MCP elicitation |
    /// |---|---|---|---|
    /// | `Accept` | `accept` | the requested permissions, scope `turn` | `accept` |
    /// | `AcceptForSession` | `acceptForSession` | the requested permissions, scope `session` | `accept` |
    /// | `Decline` | `decline` | nothing granted | `decline` |
    /// | `Cancel` | `cancel` | nothing granted | `cancel` |
    ///
    /// An elicitation accepted by the PreToolUse chain carries empty
    /// content (`{}`), or none in `url` mode: filling in forms is not a
    /// tool-use decision, but an [`ElicitationHook`](crate::ElicitationHook)'s
    /// answer can carry content.
    ///
    /// Codex only asks when its approval policy says so; see
    /// [`ask_before_commands`](crate::ask_before_commands) to make it ask.
    ///
    /// Dynamic tool calls (`item/tool/call`) run the registered tool (see
    /// [`call_tool`](HookSet::call_tool)); user-input requests
    /// (`item/tool/requestUserInput`) go to the
    /// [`UserInputHook`](crate::UserInputHook)s, and are left unanswered
    /// (no input) unless one answers; an elicitation goes to the
    /// [`ElicitationHook`](crate::ElicitationHook)s before the PreToolUse
    /// chain, which decides (by the table above) only when all of them
    /// defer.
    ///
    /// # Errors
    /// [`HookError::RequestsTaken`] when the request stream was already
    /// taken.
    pub fn serve(self, runtime: &Runtime) -> Result<ApprovalLoop, HookError> {
        self.serve_scoped(runtime, ThreadHooks::default())
    }

    /// Starts the approval loop as [`serve`](HookSet::serve) does, with
    /// the thread scopes in `scopes`: for a request or event of a thread
    /// that has a scope, the hooks run in this order:
    ///
    /// - PreToolUse (and elicitation, and user-input) hooks: this set's
    ///   matching hooks, then the scope's, as one chain under
    ///   [`combine`](crate::combine);
    /// - dynamic tools: the scope's tool of that name, else this set's;
    /// - post-tool hooks: this set's, then the scope's;
    /// - observers: this set's see every event; a scope's see only the
    ///   notifications whose params name its thread (`threadId`), and no
    ///   `Lagged` reports.
    ///
    /// Hooks of a thread with a scope see the scope's model in
    /// [`HookContext::model`]. Each set's failures go to its own report.
    /// Scopes may be added and removed while the loop runs.
    ///
    /// # Errors
    /// [`HookError::RequestsTaken`] when the request stream was already
    /// taken.
    pub fn serve_scoped(
        self,
        runtime: &Runtime,
        scopes: ThreadHooks,
    ) -> Result<ApprovalLoop, HookError> {
        let requests = runtime.server_requests().ok_or(HookError::RequestsTaken)?;
        // Observers and post-tool hooks see every event. Otherwise only the
        // items starting and completing are read, for the paths of file
        // changes: deltas, the bulk of every turn, cost the loop nothing,
        // and so do the other notifications. A scope that observes, when
        // it comes, widens the stream to every event.
        let (control, commands) = mpsc::channel(CONTROL_QUEUE);
        let events = if self.observes() {
            scopes.attach(control.clone(), None);
            runtime.events()
        } else {
            let items = [methods::ITEM_STARTED, methods::ITEM_COMPLETED];
            let filter = EventFilter::all().methods(items).matching(is_file_change);
            let events = runtime.events_with(filter);
            if scopes.attach(control.clone(), Some(events.widener())) {
                events.widener().widen();
            }
            events
        };
        let report = self.report();
        let hooks = Arc::new(self);
        let permits = Arc::new(Semaphore::new(hooks.concurrency_limit()));
        requests.decide_first(decider(&hooks, &scopes, &permits));
        let task = tokio::spawn(run(
            hooks,
            scopes,
            permits,
            requests,
            Some(events),
            commands,
        ));
        Ok(ApprovalLoop {
            task,
            report,
            control,
        })
    }
}

/// The loop's first look at each request, on the task that reads the
/// connection: a command or permissions approval is decided right there,
/// and with hooks that all run in place (the built-in rules) answered
/// without a hop to the loop's task or any other; with a hook that does
/// not, or when every slot is busy, its work goes on in a task of its own,
/// as in the loop. File-change approvals go through the loop, which knows
/// their paths from the events before them; the other kinds too.
fn decider(
    hooks: &Arc<HookSet>,
    scopes: &ThreadHooks,
    permits: &Arc<Semaphore>,
) -> Arc<RequestDecider> {
    let hooks = Arc::clone(hooks);
    let scopes = scopes.clone();
    let permits = Arc::clone(permits);
    Arc::new(move |request: PendingServerRequest| {
        let decided_here = matches!(
            request,
            PendingServerRequest::CommandExecutionApproval(_)
                | PendingServerRequest::PermissionsApproval(_)
        );
        if !decided_here {
            return Some(request);
        }
        let hooks = Arc::clone(&hooks);
        let scopes = scopes.clone();
        let permits = Arc::clone(&permits);
        let span = request.span().clone();
        let work = async move {
            answer(&hooks, &scopes, &permits, request, Vec::new()).await;
        };
        decide_here_or_spawn(Box::pin(work.instrument(span)));
        None
    })
}

async fn run(
    hooks: Arc<HookSet>,
    scopes: ThreadHooks,
    permits: Arc<Semaphore>,
    mut requests: ServerRequestReceiver,
    events: Option<EventReceiver>,
    mut commands: mpsc::Receiver<Control>,
) {
    let mut paths = FilePaths::default();
    let mut events = events;
    // However the loop ends (the runtime gone, or aborted with its
    // `ApprovalLoop`), releases it can no longer carry out happen here.
    let _detach = Detach(scopes.clone());
    // The observer task starts with the loop when this set observes, or
    // else once a scope that observes arrives (which widened the stream).
    let mut observers = (events.is_some() && (hooks.observes() || scopes.widened()))
        .then(|| Observers::start(&hooks, scopes.clone()));
    loop {
        let request = tokio::select! {
            // Events first: the router queues an item's `item/started`
            // before it hands over the approval request that follows it
            // on the wire, so the paths are known when the request is read.
            biased;
            event = recv_event(&mut events) => {
                match event {
                    Some(event) => {
                        paths.observe(&event);
                        if observers.is_none() && scopes.widened() {
                            observers = Some(Observers::start(&hooks, scopes.clone()));
                        }
                        if let Some(observers) = &mut observers {
                            observers.push(event);
                        }
                    }
                    None => events = None,
                }
                continue;
            }
            request = requests.recv() => request,
            Some(command) = commands.recv() => {
                let work = match command {
                    Control::Barrier(done) => Work::Barrier(done),
                    Control::Release { thread_id, generation } => {
                        Work::Release { thread_id, generation }
                    }
                };
                match &observers {
                    Some(observers) => observers.push_control(work),
                    None => run_control(&scopes, work),
                }
                continue;
            }
        };
        let Some(request) = request else { break };
        // The loop never waits for a slot: a request takes one only once
        // some hook will run for it (see `slot_for`), in its own task, so a
        // request that no hook matches is answered at once, behind none.
        let hooks = Arc::clone(&hooks);
        let scopes = scopes.clone();
        let permits = Arc::clone(&permits);
        let file_paths = match &request {
            PendingServerRequest::FileChangeApproval(handle) => paths.get(&handle.params().item_id),
            _ => Vec::new(),
        };
        // The hooks' work, and what they log, nests under the request.
        let span = request.span().clone();
        let work = async move {
            answer(&hooks, &scopes, &permits, request, file_paths).await;
        };
        decide_here_or_spawn(Box::pin(work.instrument(span)));
    }
    if let Some(observers) = observers {
        observers.finish().await;
    }
}

/// Whether `notification` is a file change starting or completing: all
/// the approval loop reads when nothing observes.
fn is_file_change(notification: &ServerNotification) -> bool {
    let item = match notification {
        ServerNotification::ItemStarted(started) => &started.item,
        ServerNotification::ItemCompleted(completed) => &completed.item,
        _ => return false,
    };
    matches!(item.kind, ThreadItemKind::FileChange { .. })
}

/// Polls `work` once, here: a request whose hooks all run in place (the
/// built-in rules) is decided and answered without a task of its own and
/// the wake-up that would take. Otherwise `work` is waiting for a hook's
/// task, a timer or room in a queue, and goes on in a task of its own,
/// whose first poll registers the wakers that the one here could not (it
/// had a no-op waker).
fn decide_here_or_spawn(mut work: Pin<Box<impl Future<Output = ()> + Send + 'static>>) {
    let mut cx = Context::from_waker(Waker::noop());
    if work.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(work);
    }
}

/// How many events wait for the observers and post-tool hooks; beyond
/// that they are dropped and the observers see a `Lagged` report, so a
/// slow observer never delays an approval.
const OBSERVER_QUEUE: usize = 1024;

/// The task that shows events to observers and completed tool items to
/// post-tool hooks, in order, off the approval loop.
struct Observers {
    tx: mpsc::Sender<Work>,
    task: JoinHandle<()>,
    dropped: u64,
}

/// Detaches the scopes from the loop when dropped.
struct Detach(ThreadHooks);

impl Drop for Detach {
    fn drop(&mut self) {
        self.0.detach();
    }
}

/// Carries out a barrier or a release that no event queue stands before.
fn run_control(scopes: &ThreadHooks, work: Work) {
    match work {
        Work::Barrier(done) => {
            let _ = done.send(());
        }
        Work::Release {
            thread_id,
            generation,
        } => scopes.release(&thread_id, generation),
        Work::Event(_) => {}
    }
}

impl Observers {
    fn start(hooks: &Arc<HookSet>, scopes: ThreadHooks) -> Observers {
        let (tx, mut rx) = mpsc::channel::<Work>(OBSERVER_QUEUE);
        let hooks = Arc::clone(hooks);
        let task = tokio::spawn(async move {
            let mut outputs = StreamedOutputs::default();
            while let Some(work) = rx.recv().await {
                let event = match work {
                    Work::Event(event) => event,
                    control => {
                        run_control(&scopes, control);
                        continue;
                    }
                };
                hooks.observe(&event).await;
                // Finding an event's thread means encoding it: only done
                // when some scope has observers to show it to.
                if scopes.any_observers() {
                    if let Some(scope) = event_thread(&event).and_then(|id| scopes.get(&id)) {
                        scope.hooks.observe(&event).await;
                    }
                }
                let notification = match &*event {
                    RuntimeEvent::Notification(notification) => Some(&**notification),
                    _ => None,
                };
                if let Some(ServerNotification::ItemCommandExecutionOutputDelta(delta)) =
                    notification
                {
                    outputs.append(&delta.item_id, &delta.delta);
                }
                if let Some(ServerNotification::ItemCompleted(completed)) = notification {
                    if let Some(mut ctx) = post_tool_context(completed) {
                        let streamed = outputs.take(&ctx.correlation_id);
                        if let Some(result) = ctx.result.as_mut().filter(|r| r.output.is_none()) {
                            result.output = streamed;
                        }
                        let scope = scopes.get(&completed.thread_id);
                        ctx.model = scope
                            .as_ref()
                            .and_then(|scope| scope.model.as_deref().map(str::to_owned));
                        hooks.after_tool_use(&ctx).await;
                        if let Some(scope) = scope {
                            scope.hooks.after_tool_use(&ctx).await;
                        }
                    }
                }
            }
        });
        Observers {
            tx,
            task,
            dropped: 0,
        }
    }

    fn push(&mut self, event: RuntimeEvent) {
        if self.dropped > 0 {
            let lagged = RuntimeEvent::Lagged {
                dropped: self.dropped,
            };
            if self.tx.try_send(Work::Event(Arc::new(lagged))).is_err() {
                self.dropped += 1;
                return;
            }
            self.dropped = 0;
        }
        if self.tx.try_send(Work::Event(Arc::new(event))).is_err() {
            self.dropped += 1;
        }
    }

    /// Queues a barrier or a release behind the events queued so far. It
    /// must not be lost, so when the queue is full a task of its own waits
    /// for room (later events may then overtake it, which only makes it
    /// wait longer); the loop itself never waits.
    fn push_control(&self, work: Work) {
        match self.tx.try_send(work) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(work)) => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    // A closed queue drops the barrier's sender, which ends
                    // its wait; a lost release leaves a scope only until
                    // its ThreadHooks is dropped.
                    let _ = tx.send(work).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    async fn finish(self) {
        drop(self.tx);
        // Observer tasks catch their hooks' panics, so a join error only
        // means the task was aborted.
        let _ = self.task.await;
    }
}

/// How many commands' streamed output the observer task keeps at once, and
/// how much of each: the fallback for a completed command whose item
/// carries no aggregated output (codex 0.150 sometimes sends none).
const STREAMED_COMMANDS: usize = 256;
const STREAMED_OUTPUT_CAP: usize = 1024 * 1024;

/// The output of running commands as streamed in
/// `item/commandExecution/outputDelta`, by item id, bounded.
#[derive(Default)]
struct StreamedOutputs {
    items: HashMap<String, String>,
}

impl StreamedOutputs {
    fn append(&mut self, item_id: &str, delta: &str) {
        if !self.items.contains_key(item_id) && self.items.len() >= STREAMED_COMMANDS {
            return;
        }
        let output = self.items.entry(item_id.to_owned()).or_default();
        let room = STREAMED_OUTPUT_CAP.saturating_sub(output.len());
        let mut end = delta.len().min(room);
        while !delta.is_char_boundary(end) {
            end -= 1;
        }
        output.push_str(&delta[..end]);
    }

    /// The output streamed for `item_id`, forgetting it.
    fn take(&mut self, item_id: &str) -> Option<String> {
        self.items.remove(item_id)
    }
}

/// The `threadId` in a notification's params, if any.
fn event_thread(event: &RuntimeEvent) -> Option<String> {
    let RuntimeEvent::Notification(notification) = event else {
        return None;
    };
    // A notification encodes as `{"method": .., "params": ..}`.
    let encoded = serde_json::to_value(&**notification).ok()?;
    match encoded.get("params")?.get("threadId")? {
        Value::String(thread) => Some(thread.clone()),
        _ => None,
    }
}

async fn recv_event(events: &mut Option<EventReceiver>) -> Option<RuntimeEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// The paths of file changes that started and have not completed.
#[derive(Default)]
struct FilePaths {
    items: HashMap<String, Vec<String>>,
}

impl FilePaths {
    fn observe(&mut self, event: &RuntimeEvent) {
        let RuntimeEvent::Notification(notification) = event else {
            return;
        };
        match &**notification {
            ServerNotification::ItemStarted(started) => {
                if let ThreadItemKind::FileChange { changes, id, .. } = &started.item.kind {
                    if self.items.len() < TRACKED_FILE_CHANGES {
                        let paths = changes.iter().map(|change| change.path.clone()).collect();
                        self.items.insert(id.clone(), paths);
                    }
                }
            }
            ServerNotification::ItemCompleted(completed) => {
                if let ThreadItemKind::FileChange { id, .. } = &completed.item.kind {
                    self.items.remove(id);
                }
            }
            _ => {}
        }
    }

    fn get(&self, item_id: &str) -> Vec<String> {
        self.items.get(item_id).cloned().unwrap_or_default()
    }
}

/// The scope of `thread_id`, if any, with its model put in `ctx`.
fn scope_of(scopes: &ThreadHooks, thread_id: &str, ctx: &mut HookContext) -> Option<Scope> {
    let scope = scopes.get(thread_id)?;
    ctx.model = scope.model.as_deref().map(str::to_owned);
    Some(scope)
}

/// A slot of the hooks' concurrency for a request that some hook (or
/// tool) will run for, once one is free, in the order requests asked (the
/// semaphore is fair); none, without waiting, for a request no hook
/// matches, whose answer is then the safe one, at once.
async fn slot_for(permits: &Arc<Semaphore>, matched: bool) -> Option<OwnedSemaphorePermit> {
    if !matched {
        return None;
    }
    // A free slot is taken without waiting: the semaphore hands released
    // permits to those already queued first, so this jumps no queue. It
    // also spends none of the task's cooperative budget, which `acquire`
    // does: on the rpc loop, with the budget used up by the frames before,
    // `acquire` would say "not yet" to a request with a slot free, and
    // its work would go to a task of its own for nothing.
    match Arc::clone(permits).try_acquire_owned() {
        Ok(permit) => Some(permit),
        // The semaphore is never closed; if it were, the hooks would run
        // without a slot rather than not at all.
        Err(TryAcquireError::Closed) => None,
        Err(TryAcquireError::NoPermits) => Arc::clone(permits).acquire_owned().await.ok(),
    }
}

/// [`slot_for`], unless core settles the request first (`stop`): then
/// `None`, and no hook runs, as the request has its answer already.
async fn slot_until_settled(
    permits: &Arc<Semaphore>,
    matched: bool,
    stop: &SettledSignal,
) -> Option<Option<OwnedSemaphorePermit>> {
    tokio::select! {
        // A free slot first: only a request still waiting for one looks
        // at the signal.
        biased;
        slot = slot_for(permits, matched) => Some(slot),
        Some(_) = stop.wait() => None,
    }
}

/// Whether a hook of the chain matching `ctx` is one that `runs` picks.
fn chain_runs(
    hooks: &HookSet,
    scope: &Option<Scope>,
    ctx: &HookContext,
    runs: fn(&ToolHook) -> bool,
) -> bool {
    scope::chain(hooks, scoped(scope), ctx).any(|(_, entry)| runs(&entry.hook))
}

fn is_pre(hook: &ToolHook) -> bool {
    matches!(hook, ToolHook::Pre(_))
}

async fn answer(
    hooks: &HookSet,
    scopes: &ThreadHooks,
    permits: &Arc<Semaphore>,
    request: PendingServerRequest,
    file_paths: Vec<String>,
) {
    match request {
        PendingServerRequest::CommandExecutionApproval(handle) => {
            let params = handle.params();
            let mut ctx = bare_context(&handle, TOOL_COMMAND, &params.thread_id);
            ctx.turn_id = Some(params.turn_id.clone());
            ctx.cwd.clone_from(&params.cwd);
            ctx.command.clone_from(&params.command);
            let scope = scope_of(scopes, &params.thread_id, &mut ctx);
            with_input(&mut ctx, hooks, &scope, &handle);
            let stop = handle.settled();
            let matched = chain_runs(hooks, &scope, &ctx, is_pre);
            let Some(_slot) = slot_until_settled(permits, matched, &stop).await else {
                return;
            };
            let (decided, hook) = scope::decide(hooks, scoped(&scope), &ctx, Some(&stop)).await;
            record_hook(handle.span(), hook);
            let decision = match decided {
                Decision::Accept => CommandExecutionApprovalDecision::Accept,
                Decision::AcceptForSession => CommandExecutionApprovalDecision::AcceptForSession,
                Decision::Cancel { .. } => CommandExecutionApprovalDecision::Cancel,
                _ => CommandExecutionApprovalDecision::Decline,
            };
            send::<CommandExecutionRequestApprovalParams>(
                handle,
                CommandExecutionRequestApprovalResponse { decision },
            );
        }
        PendingServerRequest::FileChangeApproval(handle) => {
            let params = handle.params();
            let mut ctx = bare_context(&handle, TOOL_FILE_CHANGE, &params.thread_id);
            ctx.turn_id = Some(params.turn_id.clone());
            ctx.paths = file_paths;
            let scope = scope_of(scopes, &params.thread_id, &mut ctx);
            with_input(&mut ctx, hooks, &scope, &handle);
            let stop = handle.settled();
            let matched = chain_runs(hooks, &scope, &ctx, is_pre);
            let Some(_slot) = slot_until_settled(permits, matched, &stop).await else {
                return;
            };
            let (decided, hook) = scope::decide(hooks, scoped(&scope), &ctx, Some(&stop)).await;
            record_hook(handle.span(), hook);
            let decision = match decided {
                Decision::Accept => FileChangeApprovalDecision::Accept,
                Decision::AcceptForSession => FileChangeApprovalDecision::AcceptForSession,
                Decision::Cancel { .. } => FileChangeApprovalDecision::Cancel,
                _ => FileChangeApprovalDecision::Decline,
            };
            send::<FileChangeRequestApprovalParams>(
                handle,
                FileChangeRequestApprovalResponse { decision },
            );
        }
        PendingServerRequest::PermissionsApproval(handle) => {
            let params = handle.params();
            let mut ctx = bare_context(&handle, TOOL_PERMISSIONS, &params.thread_id);
            ctx.turn_id = Some(params.turn_id.clone());
            ctx.cwd = Some(params.cwd.clone());
            let scope = scope_of(scopes, &params.thread_id, &mut ctx);
            with_input(&mut ctx, hooks, &scope, &handle);
            let stop = handle.settled();
            let matched = chain_runs(hooks, &scope, &ctx, is_pre);
            let Some(_slot) = slot_until_settled(permits, matched, &stop).await else {
                return;
            };
            let (decided, hook) = scope::decide(hooks, scoped(&scope), &ctx, Some(&stop)).await;
            record_hook(handle.span(), hook);
            let scope = match decided {
                Decision::Accept => PermissionGrantScope::Turn,
                Decision::AcceptForSession => PermissionGrantScope::Session,
                // Dropping the handle grants nothing.
                _ => return,
            };
            let requested = &handle.params().permissions;
            let response = PermissionsRequestApprovalResponse {
                permissions: GrantedPermissionProfile {
                    file_system: requested.file_system.clone(),
                    network: requested.network.clone(),
                },
                scope: Some(scope),
                strict_auto_review: None,
            };
            send::<PermissionsRequestApprovalParams>(handle, response);
        }
        PendingServerRequest::McpElicitation(handle) => {
            let params = handle.params();
            let approval = tool_call_approval(params);
            let tool = mcp_tool_name(&params.server_name, approval.flatten());
            let mut ctx = context(&handle, &tool, &params.thread_id);
            ctx.turn_id.clone_from(&params.turn_id);
            let scope = scope_of(scopes, &params.thread_id, &mut ctx);
            let url_mode = matches!(
                params.kind,
                McpServerElicitationRequestParamsKind::Url { .. }
            );
            let runs =
                |hook: &ToolHook| matches!(hook, ToolHook::Pre(_) | ToolHook::Elicitation(_));
            let stop = handle.settled();
            let matched = chain_runs(hooks, &scope, &ctx, runs);
            let Some(_slot) = slot_until_settled(permits, matched, &stop).await else {
                return;
            };
            // codex's own question before an MCP tool call is a tool use:
            // only the PreToolUse chain decides it.
            let answered = if approval.is_some() {
                None
            } else {
                ctx.phase = Phase::OnElicitation;
                let (answered, hook) =
                    scope::answer_elicitation(hooks, scoped(&scope), &ctx, Some(&stop)).await;
                record_hook(handle.span(), hook);
                answered
            };
            let (action, content) = match answered {
                Some(ElicitationAnswer::Accept { content }) => {
                    (McpServerElicitationAction::Accept, content)
                }
                Some(ElicitationAnswer::Cancel) => (McpServerElicitationAction::Cancel, None),
                Some(_) => (McpServerElicitationAction::Decline, None),
                None => {
                    ctx.phase = Phase::PreToolUse;
                    let (decided, hook) =
                        scope::decide(hooks, scoped(&scope), &ctx, Some(&stop)).await;
                    record_hook(handle.span(), hook);
                    let action = match decided {
                        Decision::Accept | Decision::AcceptForSession => {
                            McpServerElicitationAction::Accept
                        }
                        Decision::Cancel { .. } => McpServerElicitationAction::Cancel,
                        _ => McpServerElicitationAction::Decline,
                    };
                    (action, None)
                }
            };
            // A form accepted without content gets an empty one; a URL
            // request's answer never carries content.
            let content = match (action == McpServerElicitationAction::Accept, url_mode) {
                (true, false) => {
                    Some(content.unwrap_or_else(|| Value::Object(serde_json::Map::new())))
                }
                _ => None,
            };
            send::<McpServerElicitationRequestParams>(
                handle,
                McpServerElicitationRequestResponse {
                    meta: None,
                    action,
                    content,
                },
            );
        }
        PendingServerRequest::DynamicToolCall(handle) => {
            let call = ToolCall::from_params(handle.params());
            let scope = scopes.get(&call.thread_id);
            let found = find_tool(hooks, scoped(&scope), &call.tool);
            record_hook(handle.span(), found.map(|(_, tool)| tool.name.as_str()));
            let stop = handle.settled();
            let Some(_slot) = slot_until_settled(permits, found.is_some(), &stop).await else {
                return;
            };
            let response = call_tool_scoped(hooks, scoped(&scope), &call, Some(&stop)).await;
            send::<DynamicToolCallParams>(handle, response);
        }
        PendingServerRequest::UserInput(handle) => {
            let params = handle.params();
            let mut ctx = context(&handle, TOOL_USER_INPUT, &params.thread_id);
            ctx.phase = Phase::OnUserInput;
            ctx.turn_id = Some(params.turn_id.clone());
            let scope = scope_of(scopes, &params.thread_id, &mut ctx);
            let runs = |hook: &ToolHook| matches!(hook, ToolHook::UserInput(_));
            let stop = handle.settled();
            let matched = chain_runs(hooks, &scope, &ctx, runs);
            let Some(_slot) = slot_until_settled(permits, matched, &stop).await else {
                return;
            };
            let (answered, hook) = scope::answer_user_input(
                hooks,
                scoped(&scope),
                &ctx,
                &params.questions,
                Some(&stop),
            )
            .await;
            record_hook(handle.span(), hook);
            let verdict = if answered.is_some() {
                "answered"
            } else {
                "unanswered"
            };
            for set in [Some(hooks), scoped(&scope)].into_iter().flatten() {
                set.record_audit(|| {
                    AuditRecord::new(&ctx, AuditEntry::decision(verdict, None, None))
                });
            }
            // Nothing answered: dropping the handle sends no input.
            let Some(answers) = answered else { return };
            let answers = answers
                .into_iter()
                .map(|(id, answers)| (id, ToolRequestUserInputAnswer { answers }))
                .collect();
            send::<ToolRequestUserInputParams>(handle, ToolRequestUserInputResponse { answers });
        }
        // Dropping any other kind sends its safe answer.
        _ => {}
    }
}

/// Whether an elicitation is codex asking to approve an MCP tool call
/// (`_meta.codex_approval_kind: "mcp_tool_call"`), and then the tool's
/// name when codex gives it (`_meta.tool_name`, from 0.169 on).
fn tool_call_approval(params: &McpServerElicitationRequestParams) -> Option<Option<&str>> {
    let McpServerElicitationRequestParamsKind::Form {
        meta: Some(meta), ..
    } = &params.kind
    else {
        return None;
    };
    if meta.get("codex_approval_kind").and_then(Value::as_str) != Some("mcp_tool_call") {
        return None;
    }
    Some(meta.get("tool_name").and_then(Value::as_str))
}

fn scoped(scope: &Option<Scope>) -> Option<&HookSet> {
    scope.as_ref().map(|scope| &*scope.hooks)
}

fn context<P: ServerRequestParams>(
    handle: &ServerRequestHandle<P>,
    tool_name: &str,
    thread_id: &str,
) -> HookContext {
    let mut ctx = bare_context(handle, tool_name, thread_id);
    ctx.tool_input = tool_input(handle);
    ctx
}

/// The context without the request's params as JSON, which only a hook
/// that will run needs: see [`with_input`].
fn bare_context<P: ServerRequestParams>(
    handle: &ServerRequestHandle<P>,
    tool_name: &str,
    thread_id: &str,
) -> HookContext {
    // `new` stamps the context with the time.
    let mut ctx = HookContext::new(Phase::PreToolUse, thread_id, tool_name);
    ctx.correlation_id = handle.id().to_string();
    ctx
}

fn tool_input<P: ServerRequestParams>(handle: &ServerRequestHandle<P>) -> Value {
    // Encoding a decoded request cannot fail (its fields are plain JSON
    // data); if it ever did, hooks see `null` and the chain still decides.
    serde_json::to_value(handle.params()).unwrap_or(Value::Null)
}

/// Puts the request's params into `ctx` when some hook of the chain
/// matches it (matchers never read them), so that a request no hook
/// looks at is not encoded.
fn with_input<P: ServerRequestParams>(
    ctx: &mut HookContext,
    hooks: &HookSet,
    scope: &Option<Scope>,
    handle: &ServerRequestHandle<P>,
) {
    let reads_input = scope::chain(hooks, scoped(scope), ctx)
        .any(|(_, entry)| matches!(&entry.hook, ToolHook::Pre(hook) if hook.reads_input()));
    if reads_input {
        ctx.tool_input = tool_input(handle);
    }
}

/// Names the hook whose answer a request gets in the request's span.
fn record_hook(span: &tracing::Span, hook: Option<&str>) {
    if let Some(hook) = hook {
        span.record("hook", tracing::field::display(hook));
    }
}

fn send<P: ServerRequestParams>(handle: ServerRequestHandle<P>, response: P::Response) {
    let method = P::METHOD;
    if let Err(error) = handle.respond(response) {
        // The runtime settled the request first (deadline, resolved,
        // shutdown); it already sent the safe answer or none is needed.
        tracing::debug!(method, %error, "approval not sent");
    }
}
