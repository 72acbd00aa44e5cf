//! Dynamic tools: functions the client offers the model on `thread/start`
//! ([`ToolEntry::spec`]) and runs when codex calls them (`item/tool/call`),
//! each in a task of its own with a timeout.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use codexrt_protocol::types::{
    DynamicToolCallOutputContentItem, DynamicToolCallParams, DynamicToolCallResponse,
    DynamicToolSpec,
};
use serde_json::Value;

use crate::builtin::{AuditEntry, AuditRecord};
use crate::{HookContext, HookError, HookIssue, HookSet, IssueKind, Phase};
use codexrt_core::SettledSignal;
use codexrt_transport::MAX_WAIT;

/// How long a dynamic tool may run by default before its call fails.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// One call of a dynamic tool, from codex's `item/tool/call` request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolCall {
    /// The thread the call belongs to.
    pub thread_id: String,
    /// The turn the call belongs to.
    pub turn_id: String,
    /// The model's id for the call.
    pub call_id: String,
    /// The tool's name as the model called it.
    pub tool: String,
    /// The arguments the model passed, as JSON.
    pub arguments: Value,
}

impl ToolCall {
    /// A call of `tool` with `arguments`, the ids empty; the approval loop
    /// fills them from the request, and tests build their own.
    pub fn new(tool: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            thread_id: String::new(),
            turn_id: String::new(),
            call_id: String::new(),
            tool: tool.into(),
            arguments,
        }
    }

    /// The call codex asks for in `params`. A tool inside a namespace is
    /// named `<namespace>/<tool>`, which no registered tool matches (tool
    /// names cannot contain `/`), so such a call fails as unknown.
    pub(crate) fn from_params(params: &DynamicToolCallParams) -> Self {
        let tool = match &params.namespace {
            Some(namespace) => format!("{namespace}/{}", params.tool),
            None => params.tool.clone(),
        };
        ToolCall {
            thread_id: params.thread_id.clone(),
            turn_id: params.turn_id.clone(),
            call_id: params.call_id.clone(),
            tool,
            arguments: params.arguments.clone(),
        }
    }
}

/// What a dynamic tool returns to the model: content items (text, image
/// URLs) and whether the call succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    success: bool,
    items: Vec<DynamicToolCallOutputContentItem>,
}

impl ToolOutput {
    /// A successful output with one text item.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput {
            success: true,
            items: vec![DynamicToolCallOutputContentItem::InputText { text: text.into() }],
        }
    }

    /// A failed output with one text item telling the model why.
    pub fn failure(text: impl Into<String>) -> Self {
        ToolOutput {
            success: false,
            ..ToolOutput::text(text)
        }
    }

    /// Adds a text item after those already there.
    pub fn and_text(mut self, text: impl Into<String>) -> Self {
        self.items
            .push(DynamicToolCallOutputContentItem::InputText { text: text.into() });
        self
    }

    /// Adds an image item, by URL (a `data:` URL works too), after those
    /// already there.
    pub fn and_image_url(mut self, url: impl Into<String>) -> Self {
        self.items
            .push(DynamicToolCallOutputContentItem::InputImage {
                image_url: url.into(),
            });
        self
    }

    /// Whether the call succeeded.
    pub fn success(&self) -> bool {
        self.success
    }

    /// The content items, in order.
    pub fn items(&self) -> &[DynamicToolCallOutputContentItem] {
        &self.items
    }

    /// The answer to codex's `item/tool/call` request.
    pub fn into_response(self) -> DynamicToolCallResponse {
        DynamicToolCallResponse {
            content_items: self.items,
            success: self.success,
        }
    }
}

/// A function the model can call, run by the client. Registered in a
/// [`HookSet`] with [`ToolEntry`].
///
/// Each call runs in a task of its own with the entry's timeout: an
/// error, a timeout or a panic is recorded in the report and the model
/// gets a failed output with a short neutral text, never the error's or
/// the panic's.
#[async_trait]
pub trait DynamicTool: Send + Sync + 'static {
    /// Runs `call`. To tell the model why the call did not work, return
    /// `Ok(`[`ToolOutput::failure`]`(..))`.
    ///
    /// # Errors
    /// Any [`HookError`]: the model gets a failed output saying only that
    /// the tool failed.
    async fn call(&self, call: &ToolCall) -> Result<ToolOutput, HookError>;
}

/// A [`DynamicTool`] from an async closure, made by [`tool_fn`].
#[derive(Debug, Clone)]
pub struct ToolFn<F>(F);

/// Makes a [`DynamicTool`] of `f`, which takes the call by value (a clone)
/// so its future can own it.
pub fn tool_fn<F, Fut>(f: F) -> ToolFn<F>
where
    F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ToolOutput, HookError>> + Send + 'static,
{
    ToolFn(f)
}

#[async_trait]
impl<F, Fut> DynamicTool for ToolFn<F>
where
    F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ToolOutput, HookError>> + Send + 'static,
{
    async fn call(&self, call: &ToolCall) -> Result<ToolOutput, HookError> {
        (self.0)(call.clone()).await
    }
}

/// A [`DynamicTool`] with its name, description, input schema and timeout,
/// ready to register with [`HookSet::tool`].
#[derive(Clone)]
pub struct ToolEntry {
    pub(crate) name: String,
    description: String,
    input_schema: Value,
    pub(crate) timeout: Duration,
    tool: Arc<dyn DynamicTool>,
}

impl fmt::Debug for ToolEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolEntry")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("input_schema", &self.input_schema)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ToolEntry {
    /// `tool` offered to the model as `name`, described by `description`,
    /// its arguments described by the JSON Schema `input_schema`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        tool: impl DynamicTool,
    ) -> Self {
        ToolEntry {
            name: name.into(),
            description: description.into(),
            input_schema,
            timeout: DEFAULT_TOOL_TIMEOUT,
            tool: Arc::new(tool),
        }
    }

    /// How long one call may run before it is stopped and fails (the
    /// model gets a failed output). The default is
    /// [`DEFAULT_TOOL_TIMEOUT`], 30 s. Longer than [`MAX_WAIT`] counts as
    /// `MAX_WAIT` (`Duration::MAX` means no limit of the tool's own). Zero
    /// gives the tool no time: it is not started, and each call fails at
    /// once as a timeout.
    ///
    /// Core's deadline per server request
    /// ([`RuntimeConfig::server_request_deadline`](codexrt_core::RuntimeConfig::server_request_deadline),
    /// 60 s by default) applies on top: when it elapses first, the call
    /// gets core's safe answer and the tool is stopped
    /// ([`IssueKind::Stopped`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_WAIT);
        self
    }

    /// The name the model calls it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool as `thread/start` offers it in `dynamicTools`.
    pub fn spec(&self) -> DynamicToolSpec {
        DynamicToolSpec::Function {
            defer_loading: None,
            description: self.description.clone(),
            input_schema: self.input_schema.clone(),
            name: self.name.clone(),
        }
    }
}

impl HookSet {
    /// Registers the dynamic tool `entry`. A tool registered earlier under
    /// the same name is replaced (and keeps its place in
    /// [`tool_specs`](HookSet::tool_specs)).
    pub fn tool(mut self, entry: ToolEntry) -> Self {
        match self.tools.iter_mut().find(|tool| tool.name == entry.name) {
            Some(existing) => *existing = entry,
            None => self.tools.push(entry),
        }
        self
    }

    /// The specs of the registered tools, in registration order, for
    /// `thread/start`'s `dynamicTools` (which needs the experimental API).
    pub fn tool_specs(&self) -> Vec<DynamicToolSpec> {
        self.tools.iter().map(ToolEntry::spec).collect()
    }

    /// Whether any dynamic tool is registered.
    pub fn has_tools(&self) -> bool {
        !self.tools.is_empty()
    }

    /// Runs the tool `call` names and returns the answer for codex. The
    /// tool runs in a task of its own with its timeout. An unknown name, an
    /// error, a timeout or a panic gives `success: false` with a short
    /// neutral text; the failure itself (with the error's or the panic's
    /// text) goes to the [`HookReport`](crate::HookReport) under phase
    /// [`Phase::DynamicTool`].
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the tool's task; nothing is answered, as
    /// nothing is answered by this function.
    pub async fn call_tool(&self, call: &ToolCall) -> DynamicToolCallResponse {
        call_tool_scoped(self, None, call, None).await
    }
}

/// The tool named `name` in `scope` (a thread scope), or else in `base`,
/// with the set that holds it.
pub(crate) fn find_tool<'a>(
    base: &'a HookSet,
    scope: Option<&'a HookSet>,
    name: &str,
) -> Option<(&'a HookSet, &'a ToolEntry)> {
    scope
        .into_iter()
        .chain([base])
        .find_map(|set| Some((set, set.tools.iter().find(|tool| tool.name == name)?)))
}

/// Runs `call` with the tool of that name in `scope` (the call's thread
/// scope), or else in `base`; failures go to the report of the set that
/// holds the tool, or to `base`'s for an unknown name. `stop`, the signal
/// of the request that asked for the call, stops the tool when core
/// settles the request.
pub(crate) async fn call_tool_scoped(
    base: &HookSet,
    scope: Option<&HookSet>,
    call: &ToolCall,
    stop: Option<&SettledSignal>,
) -> DynamicToolCallResponse {
    let mut ctx = HookContext::new(
        Phase::DynamicTool,
        call.thread_id.clone(),
        call.tool.clone(),
    );
    ctx.turn_id = Some(call.turn_id.clone());
    ctx.tool_input = call.arguments.clone();
    ctx.correlation_id.clone_from(&call.call_id);
    let Some((owner, entry)) = find_tool(base, scope, &call.tool) else {
        base.report().record(HookIssue {
            hook: call.tool.clone(),
            phase: Phase::DynamicTool,
            kind: IssueKind::Error,
            message: "no tool of that name is registered".to_owned(),
            correlation_id: call.call_id.clone(),
        });
        base.record_audit(|| AuditRecord::new(&ctx, tool_result(false, "unknown")));
        return ToolOutput::failure(format!("unknown tool `{}`", call.tool)).into_response();
    };
    let tool = Arc::clone(&entry.tool);
    let owned = call.clone();
    let run = async move { tool.call(&owned).await };
    let output = match owner
        .guarded(&entry.name, entry.timeout, &ctx, stop, run)
        .await
    {
        Ok(output) => output,
        Err(IssueKind::Timeout) => ToolOutput::failure(format!("tool `{}` timed out", entry.name)),
        Err(_) => ToolOutput::failure(format!("tool `{}` failed", entry.name)),
    };
    tracing::debug!(tool = %entry.name, id = %call.call_id, success = output.success(), "tool called");
    let status = if output.success() {
        "completed"
    } else {
        "failed"
    };
    owner.record_audit(|| AuditRecord::new(&ctx, tool_result(output.success(), status)));
    output.into_response()
}

/// The audit line of a tool call's end.
fn tool_result(success: bool, status: &str) -> AuditEntry {
    AuditEntry::Result {
        status: status.to_owned(),
        exit_code: None,
        success,
    }
}

#[cfg(test)]
mod tests;
