//! How the facade runs hooks: the client's [`HookSet`] and the ones of a
//! profile or session, the approval loop (started once, when some hook
//! needs it), the thread scopes, and the lifecycle phases around runs,
//! sessions and turns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use codexrt_core::Runtime;
use codexrt_hooks::{
    ApprovalLoop, Blocked, HookContext, HookReport, HookSet, Phase, Plan, RunOutcome, ScopeGuard,
    ThreadHooks,
};
use codexrt_protocol::types::{AskForApproval, DynamicToolSpec};

use crate::{Client, ClientError, PromptRunError, PromptRunResult};

/// The hooks of one [`Client`](crate::Client) and its clones.
#[derive(Debug)]
pub(crate) struct ClientHooks {
    base: Arc<HookSet>,
    /// The scope of threads without hooks of their own.
    none: Arc<HookSet>,
    scopes: ThreadHooks,
    approvals: Mutex<Option<ApprovalLoop>>,
}

impl ClientHooks {
    pub(crate) fn new(base: HookSet) -> ClientHooks {
        ClientHooks {
            base: Arc::new(base),
            none: Arc::new(HookSet::new()),
            scopes: ThreadHooks::default(),
            approvals: Mutex::new(None),
        }
    }

    /// Whether `set` needs the approval loop: it answers server requests,
    /// declares tools, or watches events.
    fn needs_loop(set: &HookSet) -> bool {
        set.serves_requests() || set.observes()
    }

    /// Starts the approval loop, once, when the client's hooks or `extra`
    /// need it.
    ///
    /// # Errors
    /// [`ClientError::Hooks`] when someone else took the runtime's server
    /// requests.
    pub(crate) fn start(
        &self,
        runtime: &Runtime,
        extra: Option<&HookSet>,
    ) -> Result<(), ClientError> {
        if !Self::needs_loop(&self.base) && !extra.is_some_and(Self::needs_loop) {
            return Ok(());
        }
        let mut approvals = self
            .approvals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if approvals.is_none() {
            let set = HookSet::clone(&self.base);
            *approvals = Some(set.serve_scoped(runtime, self.scopes.clone())?);
        }
        Ok(())
    }

    /// Moves the approval loop, if one runs, to `runtime`, the client's
    /// new one after a reconnect; the thread scopes stay. The old loop
    /// stops with its runtime.
    ///
    /// # Errors
    /// [`ClientError::Hooks`] when someone else took the new runtime's
    /// server requests.
    pub(crate) fn reattach(&self, runtime: &Runtime) -> Result<(), ClientError> {
        let mut approvals = self
            .approvals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if approvals.is_some() {
            let set = HookSet::clone(&self.base);
            *approvals = Some(set.serve_scoped(runtime, self.scopes.clone())?);
        }
        Ok(())
    }

    /// The plan of a new thread: `plan` with the approval policy
    /// `untrusted` when PreToolUse hooks apply (the client's or `extra`'s)
    /// and the caller set no policy, so that codex asks them about every
    /// command not on its list of known-safe ones, whatever its own
    /// configuration says. An explicit policy is kept.
    pub(crate) fn thread_plan(&self, extra: Option<&HookSet>, mut plan: Plan) -> Plan {
        let asked =
            self.base.has_tool_use_hooks() || extra.is_some_and(HookSet::has_tool_use_hooks);
        if asked && plan.approval_policy.is_none() {
            plan.approval_policy = Some(AskForApproval::Untrusted);
        }
        plan
    }

    /// The report of the client's hooks.
    pub(crate) fn report(&self) -> HookReport {
        self.base.report()
    }

    /// The `dynamicTools` of a new thread: the client's tools and then
    /// `extra`'s, or `None` when there are none.
    pub(crate) fn tool_specs(&self, extra: Option<&HookSet>) -> Option<Vec<DynamicToolSpec>> {
        let mut specs = self.base.tool_specs();
        if let Some(extra) = extra {
            specs.extend(extra.tool_specs());
        }
        (!specs.is_empty()).then_some(specs)
    }

    /// Makes `extra` (or no hooks) the hooks of `thread_id` until the
    /// guard is dropped, with `model` (the one codex reported for the
    /// thread) as the model every hook of the thread sees. `None`, and no
    /// scope, for a thread without hooks of its own when the client's own
    /// hooks never see a thread's requests or events: nothing would read
    /// the scope.
    pub(crate) fn scope(
        &self,
        thread_id: &str,
        extra: Option<Arc<HookSet>>,
        model: String,
    ) -> Option<ScopeGuard> {
        if extra.is_none() && !Self::needs_loop(&self.base) {
            return None;
        }
        let hooks = extra.unwrap_or_else(|| Arc::clone(&self.none));
        Some(self.scopes.insert(thread_id, hooks, Some(model)))
    }

    /// Waits until the post-tool hooks and observers have seen every event
    /// that arrived before this call (a no-op without the approval loop).
    pub(crate) async fn settle(&self) {
        let barrier = self
            .approvals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(ApprovalLoop::barrier);
        if let Some(barrier) = barrier {
            barrier.await;
        }
    }

    /// Runs the pre-phase chain of `ctx`: the client's lifecycle hooks,
    /// then `extra`'s. Returns the plan as they left it.
    ///
    /// # Errors
    /// [`Blocked`] when a hook blocked, or failed.
    pub(crate) async fn before(
        &self,
        extra: Option<&HookSet>,
        mut ctx: HookContext,
    ) -> Result<Plan, Blocked> {
        let plan = self.base.before(&ctx).await?;
        match extra {
            Some(extra) => {
                ctx.plan = Some(plan);
                extra.before(&ctx).await
            }
            None => Ok(plan),
        }
    }

    /// Whether anything (the client's hooks or `extra`'s) could see a post
    /// phase: a lifecycle hook, or an audit log that records its outcome
    /// (`observes` covers it). Only then is the outcome worth building,
    /// which copies the final text.
    pub(crate) fn has_lifecycle(&self, extra: Option<&HookSet>) -> bool {
        let sees = |set: &HookSet| set.has_lifecycle_hooks() || set.observes();
        sees(&self.base) || extra.is_some_and(sees)
    }

    /// Runs the post-phase hooks of `ctx`: the client's, then `extra`'s.
    pub(crate) async fn after(&self, extra: Option<&HookSet>, ctx: &HookContext) {
        self.base.after(ctx).await;
        if let Some(extra) = extra {
            extra.after(ctx).await;
        }
    }
}

/// A fresh correlation id for one run, session or turn, shared by its pre
/// and post phases.
pub(crate) fn correlation_id(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{kind}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The context of a lifecycle phase.
pub(crate) fn lifecycle_context(
    phase: Phase,
    thread_id: &str,
    correlation_id: &str,
    plan: &Plan,
) -> HookContext {
    let mut ctx = HookContext::new(phase, thread_id, "").with_plan(plan.clone());
    ctx.cwd.clone_from(&plan.cwd);
    ctx.model.clone_from(&plan.model);
    correlation_id.clone_into(&mut ctx.correlation_id);
    ctx.timestamp = SystemTime::now();
    ctx
}

/// What a post phase sees of a prompt's end.
pub(crate) fn run_outcome(result: &Result<PromptRunResult, PromptRunError>) -> RunOutcome {
    let done = |status: &str, result: &PromptRunResult| {
        let mut outcome = RunOutcome::new(status);
        outcome.thread_id = Some(result.thread_id.clone());
        outcome.turn_id = Some(result.turn_id.clone());
        outcome.final_text = result.final_text().map(str::to_owned);
        outcome.error = result.error.as_ref().map(|error| error.message.clone());
        outcome
    };
    match result {
        Ok(result) => done("completed", result),
        Err(PromptRunError::Failed { result }) => done("failed", result),
        Err(PromptRunError::Interrupted { result }) => done("interrupted", result),
        Err(PromptRunError::UnexpectedStatus { result }) => {
            done(&result.status.to_string(), result)
        }
        Err(PromptRunError::TimedOut {
            thread_id, turn_id, ..
        }) => {
            let mut outcome = RunOutcome::new("timedOut");
            outcome.thread_id = Some(thread_id.clone());
            outcome.turn_id = Some(turn_id.clone());
            outcome
        }
        Err(error) => {
            let mut outcome = RunOutcome::new("error");
            outcome.error = Some(error.to_string());
            outcome
        }
    }
}

/// The PostTurn phase of a turn that started, run once it ended.
#[derive(Debug)]
pub(crate) struct PostTurn {
    client: Client,
    extra: Option<Arc<HookSet>>,
    ctx: HookContext,
}

impl PostTurn {
    pub(crate) fn new(client: Client, extra: Option<Arc<HookSet>>, ctx: HookContext) -> PostTurn {
        PostTurn { client, extra, ctx }
    }

    /// What the PostTurn hooks see of `result`, when there are any.
    pub(crate) fn outcome(
        &self,
        result: &Result<PromptRunResult, PromptRunError>,
    ) -> Option<RunOutcome> {
        let hooks = self.client.hooks();
        hooks
            .has_lifecycle(self.extra.as_deref())
            .then(|| run_outcome(result))
    }

    /// Lets the post-tool hooks see the turn's last items, then runs the
    /// PostTurn hooks with `outcome` (from [`PostTurn::outcome`]; `None`
    /// when there are none).
    pub(crate) async fn run(self, outcome: Option<RunOutcome>) {
        let hooks = self.client.hooks();
        hooks.settle().await;
        if let Some(outcome) = outcome {
            let ctx = self.ctx.with_outcome(outcome);
            hooks.after(self.extra.as_deref(), &ctx).await;
        }
    }
}
