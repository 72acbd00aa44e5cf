//! [`HookSet`]: the registry of tool-use hooks and the chain that runs
//! them, each in a task of its own, with a timeout.

use std::any::Any;
use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use codexrt_core::RuntimeEvent;

use crate::tools::ToolEntry;
use crate::{
    Decision, ElicitationHook, EventObserver, HookContext, HookError, HookIssue, HookOutcome,
    HookReport, IssueKind, Matcher, Phase, PostToolHook, ToolUseHook, UserInputHook, combine,
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
}

/// A tool hook with its name, [`Matcher`] and timeout, ready to register.
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

    /// How long one run may take before it counts as failed (default:
    /// [`DEFAULT_HOOK_TIMEOUT`], 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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

    /// How long one event may take before it counts as failed (default:
    /// [`DEFAULT_HOOK_TIMEOUT`], 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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
/// hook said so. The rule itself is [`combine`].
#[derive(Debug, Clone)]
pub struct HookSet {
    pub(crate) hooks: Vec<HookEntry>,
    pub(crate) tools: Vec<ToolEntry>,
    pub(crate) observers: Vec<ObserverEntry>,
    report: HookReport,
    concurrency: usize,
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
            || self
                .hooks
                .iter()
                .any(|entry| !matches!(entry.hook, ToolHook::Post(_)))
    }

    /// Whether anything here wants the event stream: post-tool hooks or
    /// observers.
    pub fn observes(&self) -> bool {
        !self.observers.is_empty()
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
    /// (default: [`DEFAULT_CONCURRENCY`], 8).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// The report failures go to; a clone sees the same issues.
    pub fn report(&self) -> HookReport {
        self.report.clone()
    }

    pub(crate) fn concurrency_limit(&self) -> usize {
        self.concurrency
    }

    /// Runs the chain for `ctx` and returns its decision, never
    /// [`Decision::Defer`]. Each hook runs in a task of its own, so a
    /// panic is caught; failures go to the [`HookReport`].
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the hook that is running; nothing is
    /// answered, as nothing is answered by this function.
    pub async fn decide(&self, ctx: &HookContext) -> Decision {
        let mut outcomes = Vec::new();
        for entry in self.hooks.iter().filter(|entry| entry.matcher.matches(ctx)) {
            let ToolHook::Pre(hook) = &entry.hook else {
                continue;
            };
            let hook = Arc::clone(hook);
            let owned = ctx.clone();
            let run = async move { hook.decide(&owned).await };
            let outcome = match self.guarded(&entry.name, entry.timeout, ctx, run).await {
                Ok(decision) => HookOutcome::Decided(decision),
                Err(kind) => HookOutcome::Failed(kind),
            };
            let decided = !matches!(outcome, HookOutcome::Decided(Decision::Defer));
            outcomes.push(outcome);
            if decided {
                break;
            }
        }
        let decision = combine(outcomes);
        tracing::debug!(
            tool = %ctx.tool_name,
            id = %ctx.correlation_id,
            ?decision,
            "hooks decided"
        );
        decision
    }

    /// Runs the post-tool hooks matching `ctx` in registration order;
    /// failures go to the report.
    pub(crate) async fn after_tool_use(&self, ctx: &HookContext) {
        for entry in self.hooks.iter().filter(|entry| entry.matcher.matches(ctx)) {
            let ToolHook::Post(hook) = &entry.hook else {
                continue;
            };
            let hook = Arc::clone(hook);
            let owned = ctx.clone();
            let run = async move { hook.after(&owned).await };
            let _ = self.guarded(&entry.name, entry.timeout, ctx, run).await;
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
            let _ = self.guarded(&entry.name, entry.timeout, &ctx, run).await;
        }
    }

    /// Runs one hook in a task of its own with `timeout`, so a panic is
    /// caught and a hang is cut off; a failure is recorded and returned as
    /// its kind.
    pub(crate) async fn guarded<T: Send + 'static>(
        &self,
        name: &str,
        timeout: Duration,
        ctx: &HookContext,
        run: impl Future<Output = Result<T, HookError>> + Send + 'static,
    ) -> Result<T, IssueKind> {
        // Aborts the task when this future is dropped or times out, so a
        // hook never outlives the decision it was asked for.
        let mut task = AbortOnDrop(tokio::spawn(run));
        let (kind, message) = match tokio::time::timeout(timeout, &mut task.0).await {
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(error))) => {
                let mut message = error.to_string();
                let mut source = error.source();
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                (IssueKind::Error, message)
            }
            Ok(Err(join)) if join.is_panic() => {
                (IssueKind::Panic, panic_message(join.into_panic().as_ref()))
            }
            Ok(Err(_)) => (IssueKind::Error, "the hook's task was cancelled".to_owned()),
            Err(_) => (IssueKind::Timeout, format!("timed out after {timeout:?}")),
        };
        self.report.record(HookIssue {
            hook: name.to_owned(),
            phase: ctx.phase,
            kind,
            message,
            correlation_id: ctx.correlation_id.clone(),
        });
        Err(kind)
    }
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
