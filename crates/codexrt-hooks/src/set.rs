//! [`HookSet`]: the registry of tool-use hooks and the chain that runs
//! them, each in a task of its own, with a timeout.

use std::any::Any;
use std::error::Error as _;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use std::future::Future;

use codexrt_core::{RuntimeEvent, Settled, SettledSignal};
use codexrt_transport::MAX_WAIT;

use crate::builtin::{AuditEntry, AuditRecord};
use crate::tools::ToolEntry;
use crate::{
    AuditLog, Blocked, Decision, ElicitationHook, EventObserver, HookContext, HookError, HookIssue,
    HookReport, IssueKind, LifecycleHook, Matcher, Phase, Plan, PostToolHook, ToolUseHook,
    UserInputHook, Verdict,
};

/// How long a hook may take by default before it counts as failed.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How many server requests the approval loop decides at once by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Clone)]
pub(crate) enum ToolHook {
    Pre(Arc<dyn ToolUseHook>),
    Post(Arc<dyn PostToolHook>),
    UserInput(Arc<dyn UserInputHook>),
    Elicitation(Arc<dyn ElicitationHook>),
    Lifecycle(Arc<dyn LifecycleHook>),
}

/// A tool hook with its name, [`Matcher`] and timeout, ready to register.
///
/// A hook deciding a server request (PreToolUse, user input, elicitation)
/// is also stopped when core settles the request first: its deadline
/// ([`RuntimeConfig::server_request_deadline`](codexrt_core::RuntimeConfig::server_request_deadline),
/// 60 s by default) elapses, the server resolves it, or the runtime shuts
/// down; see [`IssueKind::Stopped`]. A timeout longer than that deadline
/// therefore never comes into play for those hooks.
#[derive(Clone)]
pub struct HookEntry {
    pub(crate) name: String,
    pub(crate) matcher: Matcher,
    pub(crate) timeout: Duration,
    pub(crate) hook: ToolHook,
}

impl std::fmt::Debug for HookEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookEntry")
            .field("name", &self.name)
            .field("matcher", &self.matcher)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HookEntry {
    /// The PreToolUse `hook` under `name` (used in the [`HookReport`] and
    /// logs).
    pub fn new(name: impl Into<String>, hook: impl ToolUseHook) -> Self {
        HookEntry::with(name.into(), ToolHook::Pre(Arc::new(hook)))
    }

    /// The post-tool `hook` under `name`: it runs for
    /// [`Phase::PostToolUse`] and [`Phase::PostToolUseFailure`] unless its
    /// matcher names one phase.
    pub fn post_tool_use(name: impl Into<String>, hook: impl PostToolHook) -> Self {
        HookEntry::with(name.into(), ToolHook::Post(Arc::new(hook)))
    }

    /// The user-input `hook` under `name`: it answers codex's questions in
    /// [`Phase::OnUserInput`] (see [`UserInputHook`]).
    pub fn user_input(name: impl Into<String>, hook: impl UserInputHook) -> Self {
        HookEntry::with(name.into(), ToolHook::UserInput(Arc::new(hook)))
    }

    /// The elicitation `hook` under `name`: it answers MCP servers'
    /// elicitations in [`Phase::OnElicitation`], before the PreToolUse
    /// hooks (see [`ElicitationHook`]).
    pub fn elicitation(name: impl Into<String>, hook: impl ElicitationHook) -> Self {
        HookEntry::with(name.into(), ToolHook::Elicitation(Arc::new(hook)))
    }

    /// The lifecycle `hook` under `name`: it runs in the six lifecycle
    /// phases ([`Phase::PreRun`] to [`Phase::PostTurn`]) whose contexts its
    /// matcher matches; use [`Matcher::phase`] to pick one. Lifecycle
    /// contexts have an empty tool name, so a tool matcher excludes them.
    pub fn lifecycle(name: impl Into<String>, hook: impl LifecycleHook) -> Self {
        HookEntry::with(name.into(), ToolHook::Lifecycle(Arc::new(hook)))
    }

    fn with(name: String, hook: ToolHook) -> Self {
        HookEntry {
            name,
            matcher: Matcher::any(),
            timeout: DEFAULT_HOOK_TIMEOUT,
            hook,
        }
    }

    /// Which tool uses the hook is asked about (default: [`Matcher::any`]).
    pub fn matcher(mut self, matcher: Matcher) -> Self {
        self.matcher = matcher;
        self
    }

    /// How long one run may take before it is stopped and counts as
    /// failed ([`IssueKind::Timeout`]; a request it decides gets its safe
    /// answer). The default is [`DEFAULT_HOOK_TIMEOUT`], 10 s. Longer than
    /// [`MAX_WAIT`] counts as `MAX_WAIT` (`Duration::MAX` means no limit
    /// of the hook's own). Zero gives the hook no time: it is not started,
    /// and each run fails at once as a timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_WAIT);
        self
    }

    /// The name it was registered under.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An [`EventObserver`] with its name and timeout, ready to register.
#[derive(Clone)]
pub struct ObserverEntry {
    name: String,
    timeout: Duration,
    observer: Arc<dyn EventObserver>,
}

impl std::fmt::Debug for ObserverEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverEntry")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ObserverEntry {
    /// `observer` under `name` (used in the [`HookReport`] and logs).
    pub fn new(name: impl Into<String>, observer: impl EventObserver) -> Self {
        ObserverEntry {
            name: name.into(),
            timeout: DEFAULT_HOOK_TIMEOUT,
            observer: Arc::new(observer),
        }
    }

    /// How long one event may take before the observer is stopped and
    /// it counts as failed ([`IssueKind::Timeout`]). The default is
    /// [`DEFAULT_HOOK_TIMEOUT`], 10 s. Longer than [`MAX_WAIT`] counts as
    /// `MAX_WAIT` (`Duration::MAX` means no limit). Zero gives the
    /// observer no time: it is not started, and each event fails at once
    /// as a timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_WAIT);
        self
    }
}

/// An ordered set of tool-use hooks and the [`HookReport`] of their
/// failures.
///
/// For a PreToolUse context, [`decide`](HookSet::decide) runs the matching
/// hooks in registration order until one returns something other than
/// [`Decision::Defer`]; that decision is the answer. A hook that fails
/// (error, timeout, panic) stops the chain with a decline, and when every
/// hook defers the answer is a decline too: nothing is approved unless a
/// hook said so. The rule itself is [`combine`](crate::combine).
///
/// The same set holds lifecycle hooks, run by [`before`](HookSet::before)
/// and [`after`](HookSet::after), and may record what it decides in an
/// [`AuditLog`] ([`audit`](HookSet::audit)).
#[derive(Debug, Clone)]
pub struct HookSet {
    pub(crate) hooks: Vec<HookEntry>,
    pub(crate) tools: Vec<ToolEntry>,
    pub(crate) observers: Vec<ObserverEntry>,
    report: HookReport,
    concurrency: usize,
    audit: Option<AuditLog>,
}

impl Default for HookSet {
    fn default() -> Self {
        HookSet::new()
    }
}

impl HookSet {
    /// An empty set: every request gets its safe answer.
    pub fn new() -> Self {
        HookSet {
            hooks: Vec::new(),
            tools: Vec::new(),
            observers: Vec::new(),
            report: HookReport::default(),
            concurrency: DEFAULT_CONCURRENCY,
            audit: None,
        }
    }

    /// Registers `entry` after those already registered.
    pub fn hook(mut self, entry: HookEntry) -> Self {
        self.hooks.push(entry);
        self
    }

    /// Registers `entry` after the observers already registered.
    pub fn observer(mut self, entry: ObserverEntry) -> Self {
        self.observers.push(entry);
        self
    }

    /// Whether anything here answers server requests: a PreToolUse,
    /// user-input or elicitation hook, or a dynamic tool.
    pub fn serves_requests(&self) -> bool {
        self.has_tools()
            || self.hooks.iter().any(|entry| {
                matches!(
                    entry.hook,
                    ToolHook::Pre(_) | ToolHook::UserInput(_) | ToolHook::Elicitation(_)
                )
            })
    }

    /// Records what the set decides in `log` (default: nothing is
    /// recorded): every PreToolUse answer of [`decide`](HookSet::decide),
    /// every post-tool result the approval loop sees, and every lifecycle
    /// verdict or outcome of [`before`](HookSet::before) and
    /// [`after`](HookSet::after). See [`AuditLog`] for the lines.
    ///
    /// Post-tool results come from the event stream, so, like post-tool
    /// hooks, they are recorded only when the approval loop could take it
    /// (see [`serve`](HookSet::serve)); with a log set, the loop takes it.
    pub fn audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// Queues an audit line, when an [`AuditLog`] is set; never waits.
    /// Without a log the line is not even built.
    pub(crate) fn record_audit(&self, record: impl FnOnce() -> AuditRecord) {
        if let Some(log) = &self.audit {
            log.record(record());
        }
    }

    /// Whether any PreToolUse hook is registered.
    pub fn has_tool_use_hooks(&self) -> bool {
        self.hooks
            .iter()
            .any(|entry| matches!(entry.hook, ToolHook::Pre(_)))
    }

    /// Whether any lifecycle hook is registered.
    pub fn has_lifecycle_hooks(&self) -> bool {
        self.hooks
            .iter()
            .any(|entry| matches!(entry.hook, ToolHook::Lifecycle(_)))
    }

    /// Whether anything here wants the event stream: post-tool hooks,
    /// observers, or an audit log (for post-tool results).
    pub fn observes(&self) -> bool {
        self.audit.is_some()
            || !self.observers.is_empty()
            || self
                .hooks
                .iter()
                .any(|entry| matches!(entry.hook, ToolHook::Post(_)))
    }

    /// Where failures are recorded (default: a new [`HookReport`] of
    /// [`DEFAULT_REPORT_CAPACITY`](crate::DEFAULT_REPORT_CAPACITY) issues).
    pub fn report_to(mut self, report: HookReport) -> Self {
        self.report = report;
        self
    }

    /// How many requests the approval loop decides at once, at least one
    /// (default: [`DEFAULT_CONCURRENCY`], 8). Only requests that some hook
    /// or tool runs for count: one that no hook matches is answered at once.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// The report failures (and the PreToolUse hooks' decisions) go to; a
    /// clone sees the same issues.
    pub fn report(&self) -> HookReport {
        self.report.clone()
    }

    /// The report, borrowed.
    pub(crate) fn report_ref(&self) -> &HookReport {
        &self.report
    }

    pub(crate) fn concurrency_limit(&self) -> usize {
        self.concurrency
    }

    /// Runs the chain for `ctx` and returns its decision, never
    /// [`Decision::Defer`]. Each hook runs in a task of its own (or in
    /// place, when [`ToolUseHook::runs_in_place`] says so), so a panic is
    /// caught; failures go to the [`HookReport`], and the answer
    /// to the [`AuditLog`] when one is set.
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the hook that is running; nothing is
    /// answered, as nothing is answered by this function.
    pub async fn decide(&self, ctx: &HookContext) -> Decision {
        let (decision, hook) = self.decide_by(ctx).await;
        self.record_audit(|| AuditRecord::new(ctx, AuditEntry::tool_decision(&decision, hook)));
        decision
    }

    /// [`decide`](HookSet::decide) without the audit line, with the name
    /// of the hook whose decision (or failure) is the answer, `None` when
    /// no hook decided.
    pub(crate) async fn decide_by(&self, ctx: &HookContext) -> (Decision, Option<&str>) {
        crate::scope::decide_chain(crate::scope::chain(self, None, ctx), ctx, None).await
    }

    /// Runs the lifecycle hooks matching `ctx`, a context of
    /// [`Phase::PreRun`], [`Phase::PreSessionStart`] or [`Phase::PreTurn`]
    /// whose [`plan`](HookContext::plan) is what is about to start, and
    /// returns the plan to start with.
    ///
    /// The hooks run in registration order, each in a task of its own with
    /// its timeout, and each sees in `ctx.plan` the plan as the hooks
    /// before it left it (and `cwd`/`model` taken from it, see
    /// [`HookContext::with_plan`]). [`Verdict::Mutate`] replaces the plan;
    /// the first [`Verdict::Block`] ends the chain. A missing plan counts
    /// as [`Plan::new`]. The verdict goes to the [`AuditLog`] when one is
    /// set: `block`, `mutate` (naming the last hook that changed the plan)
    /// or `continue`.
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`Blocked`], naming the hook and its reason, when a hook blocks;
    /// when a hook fails (error, timeout or panic: the reason names which,
    /// the details go to the [`HookReport`]) — a failure never lets the
    /// step start; when a hook sets a prompt in a plan that had none (a
    /// session start has no prompt to change); and when `ctx` is not in a
    /// pre lifecycle phase (with an empty hook name).
    ///
    /// # Cancel safety
    /// Dropping the future aborts the hook that is running; nothing
    /// starts, as nothing is started by this function.
    pub async fn before(&self, ctx: &HookContext) -> Result<Plan, Blocked> {
        let result = self.run_before(ctx).await;
        let entry = match &result {
            Ok((_, None)) => AuditEntry::decision("continue", None, None),
            Ok((_, Some(hook))) => AuditEntry::decision("mutate", None, Some(hook)),
            Err(blocked) => {
                let hook = (!blocked.hook.is_empty()).then_some(blocked.hook.as_str());
                AuditEntry::decision("block", Some(&blocked.reason), hook)
            }
        };
        self.record_audit(|| AuditRecord::new(ctx, entry));
        result.map(|(plan, _)| plan)
    }

    /// The chain of [`before`](HookSet::before): the final plan and the
    /// last hook that changed it.
    async fn run_before(&self, ctx: &HookContext) -> Result<(Plan, Option<&str>), Blocked> {
        let blocked = |hook: &str, reason: String| Blocked {
            phase: ctx.phase,
            hook: hook.to_owned(),
            reason,
        };
        if !ctx.phase.is_pre_lifecycle() {
            return Err(blocked(
                "",
                format!("{} is not a phase before a run, session or turn", ctx.phase),
            ));
        }
        let had_prompt = ctx.plan.as_ref().is_some_and(|plan| plan.prompt.is_some());
        let mut current = ctx.clone();
        current.set_plan(ctx.plan.clone().unwrap_or_default());
        let mut mutated_by = None;
        for entry in &self.hooks {
            let ToolHook::Lifecycle(hook) = &entry.hook else {
                continue;
            };
            if !entry.matcher.matches(&current) {
                continue;
            }
            let hook = Arc::clone(hook);
            let owned = current.clone();
            let run = async move { hook.on(&owned).await };
            match self
                .guarded(&entry.name, entry.timeout, &current, None, run)
                .await
            {
                Ok(Verdict::Continue) => {}
                Ok(Verdict::Mutate(plan)) => {
                    if !had_prompt && plan.prompt.is_some() {
                        return Err(blocked(
                            &entry.name,
                            "set a prompt where there is none to change (a session start \
                             has no prompt)"
                                .to_owned(),
                        ));
                    }
                    current.set_plan(plan);
                    mutated_by = Some(entry.name.as_str());
                }
                Ok(Verdict::Block { reason }) => return Err(blocked(&entry.name, reason)),
                Err(kind) => {
                    return Err(blocked(&entry.name, format!("the hook failed ({kind})")));
                }
            }
        }
        Ok((current.plan.unwrap_or_default(), mutated_by))
    }

    /// Runs the lifecycle hooks matching `ctx`, a context of
    /// [`Phase::PostRun`], [`Phase::PostSessionStart`] or
    /// [`Phase::PostTurn`] with its [`outcome`](HookContext::outcome), in
    /// registration order; their verdicts are ignored and their failures
    /// go to the [`HookReport`]. The outcome goes to the [`AuditLog`] when
    /// one is set (status `unknown` without one). A context of another
    /// phase runs nothing.
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the hook that is running.
    pub async fn after(&self, ctx: &HookContext) {
        if !ctx.phase.is_post_lifecycle() {
            tracing::debug!(phase = %ctx.phase, "not a post lifecycle phase; no hook runs");
            return;
        }
        let status = ctx
            .outcome
            .as_ref()
            .map_or("unknown", |outcome| outcome.status.as_str());
        self.record_audit(|| {
            AuditRecord::new(
                ctx,
                AuditEntry::Result {
                    status: status.to_owned(),
                    exit_code: None,
                    success: status == "completed",
                },
            )
        });
        for entry in self.hooks.iter().filter(|entry| entry.matcher.matches(ctx)) {
            let ToolHook::Lifecycle(hook) = &entry.hook else {
                continue;
            };
            let hook = Arc::clone(hook);
            let owned = ctx.clone();
            let run = async move { hook.on(&owned).await };
            let _ = self
                .guarded(&entry.name, entry.timeout, ctx, None, run)
                .await;
        }
    }

    /// Runs the post-tool hooks matching `ctx` in registration order;
    /// failures go to the report, the result to the audit log.
    pub(crate) async fn after_tool_use(&self, ctx: &HookContext) {
        if let Some(result) = &ctx.result {
            self.record_audit(|| {
                AuditRecord::new(
                    ctx,
                    AuditEntry::Result {
                        status: result.status.clone(),
                        exit_code: result.exit_code,
                        success: result.success,
                    },
                )
            });
        }
        for entry in self.hooks.iter().filter(|entry| entry.matcher.matches(ctx)) {
            let ToolHook::Post(hook) = &entry.hook else {
                continue;
            };
            let hook = Arc::clone(hook);
            let owned = ctx.clone();
            let run = async move { hook.after(&owned).await };
            let _ = self
                .guarded(&entry.name, entry.timeout, ctx, None, run)
                .await;
        }
    }

    /// Shows `event` to every observer in registration order; failures go
    /// to the report.
    pub(crate) async fn observe(&self, event: &Arc<RuntimeEvent>) {
        let mut ctx = HookContext::new(Phase::OnEvent, "", "");
        ctx.correlation_id = match &**event {
            RuntimeEvent::Notification(notification) => notification.method().to_owned(),
            _ => String::new(),
        };
        for entry in &self.observers {
            let observer = Arc::clone(&entry.observer);
            let event = Arc::clone(event);
            let run = async move { observer.on_event(&event).await };
            let _ = self
                .guarded(&entry.name, entry.timeout, &ctx, None, run)
                .await;
        }
    }

    /// Runs one hook in a task of its own with `timeout`, so a panic is
    /// caught and a hang is cut off; a failure is recorded and returned as
    /// its kind. With `stop`, the signal of the server request the hook
    /// decides, the hook is also stopped when core settles the request.
    /// A zero timeout fails at once, without starting the hook.
    pub(crate) async fn guarded<T: Send + 'static>(
        &self,
        name: &str,
        timeout: Duration,
        ctx: &HookContext,
        stop: Option<&SettledSignal>,
        run: impl Future<Output = Result<T, HookError>> + Send + 'static,
    ) -> Result<T, IssueKind> {
        if timeout.is_zero() {
            return Err(self.failed(name, ctx, timed_out(timeout)));
        }
        // Aborts the task when this future is dropped, times out or is
        // stopped, so a hook never outlives the decision it was asked for.
        // What the hook logs belongs to the request it decides.
        let mut task = AbortOnDrop(tokio::spawn(tracing::Instrument::in_current_span(run)));
        let failure = tokio::select! {
            // The hook's end first: an answer that is ready when the
            // request settles is still the hook's.
            biased;
            ended = tokio::time::timeout(timeout, &mut task.0) => match ended {
                Ok(Ok(Ok(value))) => return Ok(value),
                Ok(Ok(Err(error))) => (IssueKind::Error, error_chain(&error)),
                Ok(Err(join)) if join.is_panic() => {
                    (IssueKind::Panic, panic_message(join.into_panic().as_ref()))
                }
                Ok(Err(_)) => (IssueKind::Error, "the hook's task was cancelled".to_owned()),
                Err(_) => timed_out(timeout),
            },
            Some(settled) = settled(stop) => stopped(settled),
        };
        Err(self.failed(name, ctx, failure))
    }

    /// Like [`guarded`](HookSet::guarded), for a hook that only computes
    /// (see [`ToolUseHook::runs_in_place`]): polled in the caller's task,
    /// which saves a task and a wake-up per hook, with a panic caught all
    /// the same.
    pub(crate) async fn guarded_in_place<T>(
        &self,
        name: &str,
        timeout: Duration,
        ctx: &HookContext,
        stop: Option<&SettledSignal>,
        run: impl Future<Output = Result<T, HookError>>,
    ) -> Result<T, IssueKind> {
        if timeout.is_zero() {
            return Err(self.failed(name, ctx, timed_out(timeout)));
        }
        // The deadline counts from here, but its timer is only set when the
        // hook did not answer in its first poll: a rule that only computes
        // (the common case) costs no timer at all. A timeout too long to be
        // a point in time is none.
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        let mut run = std::pin::pin!(catch_unwind(run));
        let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
        let finished = match first {
            Poll::Ready(finished) => Ok(finished),
            Poll::Pending => tokio::select! {
                biased;
                ended = until(deadline, run) => ended,
                Some(settled) = settled(stop) => {
                    return Err(self.failed(name, ctx, stopped(settled)));
                }
            },
        };
        let failure = match finished {
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(error))) => (IssueKind::Error, error_chain(&error)),
            Ok(Err(panic)) => (IssueKind::Panic, panic_message(panic.as_ref())),
            Err(_) => timed_out(timeout),
        };
        Err(self.failed(name, ctx, failure))
    }

    /// Records a hook's failure in the report and returns its kind.
    fn failed(
        &self,
        name: &str,
        ctx: &HookContext,
        (kind, message): (IssueKind, String),
    ) -> IssueKind {
        self.report.record(HookIssue {
            hook: name.to_owned(),
            phase: ctx.phase,
            kind,
            message,
            correlation_id: ctx.correlation_id.clone(),
        });
        kind
    }
}

/// How the request behind `stop` was settled, once it is; never without
/// one. `None` when the request was answered instead.
async fn settled(stop: Option<&SettledSignal>) -> Option<Settled> {
    match stop {
        Some(stop) => stop.wait().await,
        None => std::future::pending().await,
    }
}

/// `run` until `deadline`, or to its end without one.
async fn until<F: Future>(
    deadline: Option<tokio::time::Instant>,
    run: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, run).await,
        None => Ok(run.await),
    }
}

fn timed_out(timeout: Duration) -> (IssueKind, String) {
    (IssueKind::Timeout, format!("timed out after {timeout:?}"))
}

fn stopped(settled: Settled) -> (IssueKind, String) {
    (IssueKind::Stopped, format!("stopped: {settled}"))
}

/// An error with its causes, `: `-separated.
fn error_chain(error: &HookError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Polls `future` in place; a panic while polling it becomes an `Err` with
/// the payload, as a task's `JoinError` would carry it.
async fn catch_unwind<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        format!("panicked: {text}")
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("panicked: {text}")
    } else {
        "panicked".to_owned()
    }
}

#[cfg(test)]
mod tests;
