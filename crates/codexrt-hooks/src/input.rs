//! Hooks that answer for the user: [`UserInputHook`] (codex's questions,
//! `item/tool/requestUserInput`) and [`ElicitationHook`] (an MCP server's
//! forms, `mcpServer/elicitation/request`), with their closure adapters.

use std::collections::BTreeMap;
use std::future::Future;

use async_trait::async_trait;
use codexrt_protocol::types::ToolRequestUserInputQuestion;
use serde_json::Value;

use crate::{HookContext, HookError};

/// The tool name of a user-input request, in phase
/// [`Phase::OnUserInput`](crate::Phase::OnUserInput).
pub const TOOL_USER_INPUT: &str = "request_user_input";

/// Answers to codex's questions: question id to the answers chosen or
/// typed (usually one).
pub type UserAnswers = BTreeMap<String, Vec<String>>;

/// Answers codex's questions to the user (`item/tool/requestUserInput`).
/// Registered with [`HookEntry::user_input`](crate::HookEntry::user_input).
///
/// The matching hooks run in order; the first that returns `Some` answers.
/// A failure (error, timeout, panic) stops the chain and nothing is
/// answered, which is also the answer when every hook returns `None`:
/// codex then gets no input.
#[async_trait]
pub trait UserInputHook: Send + Sync + 'static {
    /// Answers `questions`, or returns `None` to leave them to the next
    /// matching hook. `ctx` has phase
    /// [`Phase::OnUserInput`](crate::Phase::OnUserInput), tool
    /// [`TOOL_USER_INPUT`], the request's params as `tool_input` and its
    /// JSON-RPC id as correlation id. The answers are sent as returned,
    /// keyed by question id.
    ///
    /// # Errors
    /// Any [`HookError`]: the chain stops and codex gets no input.
    async fn answer(
        &self,
        ctx: &HookContext,
        questions: &[ToolRequestUserInputQuestion],
    ) -> Result<Option<UserAnswers>, HookError>;
}

/// How an [`ElicitationHook`] answers an MCP server's request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ElicitationAnswer {
    /// Accept, with the form's content (`None` sends an empty object for a
    /// form; a URL request never carries content).
    Accept {
        /// The content, matching the form's requested schema.
        content: Option<Value>,
    },
    /// Decline the request.
    Decline,
    /// Cancel the request.
    Cancel,
}

/// Answers an MCP server's elicitation (`mcpServer/elicitation/request`):
/// a form to fill in or a URL to open. Registered with
/// [`HookEntry::elicitation`](crate::HookEntry::elicitation).
///
/// The matching hooks run in order before the PreToolUse chain; the first
/// that returns `Some` answers, and a failure answers decline. When every
/// one returns `None`, the PreToolUse hooks decide as for any other
/// approval.
#[async_trait]
pub trait ElicitationHook: Send + Sync + 'static {
    /// Answers the request in `ctx` (phase
    /// [`Phase::OnElicitation`](crate::Phase::OnElicitation), tool
    /// `mcp:<server>`, the params as `tool_input`), or returns `None` to
    /// leave it to the next hook.
    ///
    /// # Errors
    /// Any [`HookError`]: the request is declined.
    async fn answer(&self, ctx: &HookContext) -> Result<Option<ElicitationAnswer>, HookError>;
}

/// A [`UserInputHook`] from an async closure, made by [`user_input_fn`].
#[derive(Debug, Clone)]
pub struct UserInputFn<F>(F);

/// Makes a [`UserInputHook`] of `f`, which takes the context and the
/// questions by value (clones) so its future can own them.
pub fn user_input_fn<F, Fut>(f: F) -> UserInputFn<F>
where
    F: Fn(HookContext, Vec<ToolRequestUserInputQuestion>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<UserAnswers>, HookError>> + Send + 'static,
{
    UserInputFn(f)
}

#[async_trait]
impl<F, Fut> UserInputHook for UserInputFn<F>
where
    F: Fn(HookContext, Vec<ToolRequestUserInputQuestion>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<UserAnswers>, HookError>> + Send + 'static,
{
    async fn answer(
        &self,
        ctx: &HookContext,
        questions: &[ToolRequestUserInputQuestion],
    ) -> Result<Option<UserAnswers>, HookError> {
        (self.0)(ctx.clone(), questions.to_vec()).await
    }
}

/// An [`ElicitationHook`] from an async closure, made by
/// [`elicitation_fn`].
#[derive(Debug, Clone)]
pub struct ElicitationFn<F>(F);

/// Makes an [`ElicitationHook`] of `f`, which takes the context by value
/// (a clone) so its future can own it.
pub fn elicitation_fn<F, Fut>(f: F) -> ElicitationFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<ElicitationAnswer>, HookError>> + Send + 'static,
{
    ElicitationFn(f)
}

#[async_trait]
impl<F, Fut> ElicitationHook for ElicitationFn<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<ElicitationAnswer>, HookError>> + Send + 'static,
{
    async fn answer(&self, ctx: &HookContext) -> Result<Option<ElicitationAnswer>, HookError> {
        (self.0)(ctx.clone()).await
    }
}
