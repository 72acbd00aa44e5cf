//! Lifecycle hooks: the [`Plan`] of a run, session or turn that hooks may
//! change or block before it starts, the [`RunOutcome`] they see after, and
//! the [`LifecycleHook`] trait.

use std::future::Future;

use async_trait::async_trait;
use codexrt_protocol::types::{AskForApproval, ReasoningEffort, SandboxMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{HookContext, HookError, Phase};

/// What a run, session or turn is about to start with, as lifecycle hooks
/// see and change it in [`HookContext::plan`]. `None` leaves a setting to
/// codex's configuration.
///
/// Serialized with camelCase keys (`prompt`, `model`, `effort`, `cwd`,
/// `sandbox`, `approvalPolicy`, `outputSchema`, `extraContext`); when
/// decoded, missing keys take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Plan {
    /// The user's prompt; `None` at session start, where there is none yet.
    pub prompt: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The reasoning effort, such as `low` or `high`.
    pub effort: Option<ReasoningEffort>,
    /// The working directory.
    pub cwd: Option<String>,
    /// The sandbox mode.
    pub sandbox: Option<SandboxMode>,
    /// The approval policy.
    pub approval_policy: Option<AskForApproval>,
    /// A JSON schema the final answer must follow.
    pub output_schema: Option<Value>,
    /// Text added to the model's context ahead of the prompt, in order.
    pub extra_context: Vec<String>,
}

impl Plan {
    /// An empty plan: everything left to codex's configuration.
    pub fn new() -> Self {
        Plan::default()
    }

    /// Sets the prompt (default: none).
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sets the model (default: none, codex's configured model).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the reasoning effort (default: none, the model's default).
    pub fn effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.effort = Some(effort.into());
        self
    }

    /// Sets the working directory (default: none).
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets the sandbox mode (default: none, codex's configured mode).
    pub fn sandbox(mut self, sandbox: SandboxMode) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// Sets the approval policy (default: none, codex's configured policy).
    pub fn approval_policy(mut self, policy: AskForApproval) -> Self {
        self.approval_policy = Some(policy);
        self
    }

    /// Sets the output schema (default: none, free-form answers).
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Appends `text` to the extra context (default: empty).
    pub fn extra_context(mut self, text: impl Into<String>) -> Self {
        self.extra_context.push(text.into());
        self
    }
}

/// What a [`LifecycleHook`] decides before a run, session or turn starts.
/// In the post lifecycle phases the verdict is ignored.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// Go ahead with the plan as it is.
    Continue,
    /// Go ahead with this plan instead; later hooks see it.
    Mutate(Plan),
    /// Do not start; the caller gets a [`Blocked`] error with the reason.
    Block {
        /// Why, in the hook's words.
        reason: String,
    },
}

impl Verdict {
    /// A [`Verdict::Block`] with `reason`.
    pub fn block(reason: impl Into<String>) -> Self {
        Verdict::Block {
            reason: reason.into(),
        }
    }
}

/// How a run or turn ended, in [`HookContext::outcome`] of the post
/// lifecycle phases. Serialized with camelCase keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunOutcome {
    /// `completed`, `failed`, `interrupted`, `timedOut` or `error`.
    pub status: String,
    /// The thread, once it exists.
    pub thread_id: Option<String>,
    /// The last turn, once it exists.
    pub turn_id: Option<String>,
    /// The final agent message, when there is one.
    pub final_text: Option<String>,
    /// What went wrong, for the statuses other than `completed`.
    pub error: Option<String>,
}

impl RunOutcome {
    /// An outcome with `status`, everything else unknown.
    pub fn new(status: impl Into<String>) -> Self {
        RunOutcome {
            status: status.into(),
            thread_id: None,
            turn_id: None,
            final_text: None,
            error: None,
        }
    }

    /// Sets the thread id (default: none).
    pub fn thread_id(mut self, thread_id: impl Into<String>) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }

    /// Sets the turn id (default: none).
    pub fn turn_id(mut self, turn_id: impl Into<String>) -> Self {
        self.turn_id = Some(turn_id.into());
        self
    }

    /// Sets the final text (default: none).
    pub fn final_text(mut self, text: impl Into<String>) -> Self {
        self.final_text = Some(text.into());
        self
    }

    /// Sets the error (default: none).
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Why [`HookSet::before`](crate::HookSet::before) refused to let a run,
/// session or turn start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{phase} hook `{hook}` blocked: {reason}")]
#[non_exhaustive]
pub struct Blocked {
    /// The phase that was refused.
    pub phase: Phase,
    /// The hook that blocked or failed (empty when the refusal is the
    /// set's own, such as a context in the wrong phase).
    pub hook: String,
    /// The hook's reason, or which way it failed.
    pub reason: String,
}

/// Runs before and after runs, sessions and turns. Registered with
/// [`HookEntry::lifecycle`](crate::HookEntry::lifecycle); it runs only in
/// the six lifecycle phases ([`Phase::PreRun`] to [`Phase::PostTurn`]) and
/// only when its matcher matches (a phase matcher picks one).
///
/// Like every hook it runs in a task of its own with a timeout: in the pre
/// phases an error, timeout or panic blocks, never lets the step start by
/// silence; in the post phases it is only recorded.
#[async_trait]
pub trait LifecycleHook: Send + Sync + 'static {
    /// Looks at `ctx`: in the pre phases its [`plan`](HookContext::plan)
    /// is what will start; in the post phases its
    /// [`outcome`](HookContext::outcome) says how it ended, and the
    /// verdict is ignored.
    ///
    /// # Errors
    /// Any [`HookError`]: in the pre phases the step is blocked.
    async fn on(&self, ctx: &HookContext) -> Result<Verdict, HookError>;
}

/// A [`LifecycleHook`] from an async closure, made by [`lifecycle_fn`].
#[derive(Debug, Clone)]
pub struct LifecycleFn<F>(F);

/// Makes a [`LifecycleHook`] of `f`, which takes the context by value (a
/// clone) so its future can own it.
pub fn lifecycle_fn<F, Fut>(f: F) -> LifecycleFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Verdict, HookError>> + Send + 'static,
{
    LifecycleFn(f)
}

#[async_trait]
impl<F, Fut> LifecycleHook for LifecycleFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Verdict, HookError>> + Send + 'static,
{
    async fn on(&self, ctx: &HookContext) -> Result<Verdict, HookError> {
        (self.0)(ctx.clone()).await
    }
}
