//! The hook traits: [`ToolUseHook`] (PreToolUse decisions),
//! [`PostToolHook`] and [`EventObserver`], and the adapters that make
//! closures of the first two.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use codexrt_core::RuntimeEvent;

use crate::{Decision, HookContext, HookError};

/// Decides about tool uses. Registered in a [`HookSet`](crate::HookSet)
/// with a matcher and a timeout.
///
/// The hook runs in a task of its own: an error, a timeout or a panic is
/// recorded and the request gets its safe answer, never an approval.
#[async_trait]
pub trait ToolUseHook: Send + Sync + 'static {
    /// Decides about the tool use `ctx` (its phase is
    /// [`Phase::PreToolUse`](crate::Phase::PreToolUse)).
    ///
    /// # Errors
    /// Any [`HookError`]: the request gets its safe answer.
    async fn decide(&self, ctx: &HookContext) -> Result<Decision, HookError>;

    /// [`decide`](ToolUseHook::decide) with the context shared: how the
    /// chain asks a hook that runs in a task of its own, which must own
    /// what it reads. The default borrows it for `decide`; a hook that
    /// keeps the context in its future (as [`hook_fn`]'s do) takes the
    /// reference count instead of a copy.
    ///
    /// # Errors
    /// As for [`decide`](ToolUseHook::decide).
    async fn decide_shared(&self, ctx: Arc<HookContext>) -> Result<Decision, HookError> {
        self.decide(&ctx).await
    }

    /// Whether [`decide`](ToolUseHook::decide) only computes: no I/O, no
    /// waiting, nothing that blocks. Such a hook runs in place, in the task
    /// deciding the request, instead of in a task of its own; a panic is
    /// still caught and recorded, and its timeout still applies. The
    /// default is `false`; [`CommandRules`](crate::CommandRules) and
    /// [`PathRules`](crate::PathRules) say `true`.
    fn runs_in_place(&self) -> bool {
        false
    }

    /// Whether [`decide`](ToolUseHook::decide) reads
    /// [`HookContext::tool_input`], the request's params as JSON. When no
    /// hook matching a request reads it, it is not built, and the context
    /// has `Value::Null` there. The default is `true`;
    /// [`CommandRules`](crate::CommandRules) and
    /// [`PathRules`](crate::PathRules) say `false`.
    fn reads_input(&self) -> bool {
        true
    }
}

/// Sees tool uses after they ended: [`Phase::PostToolUse`](crate::Phase::PostToolUse)
/// or [`Phase::PostToolUseFailure`](crate::Phase::PostToolUseFailure),
/// with the [`ToolResult`](crate::ToolResult) in the context. Registered
/// with [`HookEntry::post_tool_use`](crate::HookEntry::post_tool_use).
#[async_trait]
pub trait PostToolHook: Send + Sync + 'static {
    /// Looks at the finished tool use `ctx`.
    ///
    /// # Errors
    /// Any [`HookError`]: it is recorded in the report and changes nothing
    /// else.
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError>;
}

/// Sees every event of the runtime's observer stream, in order, including
/// `Lagged` reports. Registered with
/// [`ObserverEntry`](crate::ObserverEntry).
#[async_trait]
pub trait EventObserver: Send + Sync + 'static {
    /// Looks at `event`.
    ///
    /// # Errors
    /// Any [`HookError`]: it is recorded in the report and changes nothing
    /// else.
    async fn on_event(&self, event: &RuntimeEvent) -> Result<(), HookError>;
}

/// A [`ToolUseHook`] from an async closure, made by [`hook_fn`].
#[derive(Debug, Clone)]
pub struct HookFn<F>(F);

/// Makes a [`ToolUseHook`] of `f`, which gets the context shared (an
/// [`Arc`]) so its future can own it without a copy of the context per
/// call. Fields are read through it as through a reference (`ctx.command`).
///
/// ```
/// use codexrt_hooks::{Decision, HookEntry, hook_fn};
///
/// let no_force_push = hook_fn(|ctx| async move {
///     let forced = ctx.command.as_deref().is_some_and(|line| line.contains("push --force"));
///     Ok(if forced { Decision::decline("no force push") } else { Decision::Defer })
/// });
/// let entry = HookEntry::new("no-force-push", no_force_push);
/// # let _ = entry;
/// ```
pub fn hook_fn<F, Fut>(f: F) -> HookFn<F>
where
    F: Fn(Arc<HookContext>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Decision, HookError>> + Send + 'static,
{
    HookFn(f)
}

#[async_trait]
impl<F, Fut> ToolUseHook for HookFn<F>
where
    F: Fn(Arc<HookContext>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Decision, HookError>> + Send + 'static,
{
    async fn decide(&self, ctx: &HookContext) -> Result<Decision, HookError> {
        // Asked with a borrowed context (not through the chain): the
        // future needs its own.
        (self.0)(Arc::new(ctx.clone())).await
    }

    async fn decide_shared(&self, ctx: Arc<HookContext>) -> Result<Decision, HookError> {
        (self.0)(ctx).await
    }
}

/// A [`PostToolHook`] from an async closure, made by [`post_tool_fn`].
#[derive(Debug, Clone)]
pub struct PostToolFn<F>(F);

/// Makes a [`PostToolHook`] of `f`, which takes the context by value (a
/// clone) so its future can own it.
pub fn post_tool_fn<F, Fut>(f: F) -> PostToolFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'static,
{
    PostToolFn(f)
}

#[async_trait]
impl<F, Fut> PostToolHook for PostToolFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'static,
{
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError> {
        (self.0)(ctx.clone()).await
    }
}
