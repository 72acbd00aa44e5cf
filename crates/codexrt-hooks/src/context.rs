//! What a hook sees: the [`Phase`] it runs in and the [`HookContext`] of one
//! tool use or lifecycle step.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use codexrt_protocol::types::{ItemCompletedNotification, ThreadItemKind};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::{Plan, RunOutcome};

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Before a tool runs, when codex asks the client for approval: the
    /// hooks' [`Decision`](crate::Decision) becomes the answer.
    PreToolUse,
    /// After a tool use completed successfully (`item/completed`).
    PostToolUse,
    /// After a tool use failed: a non-zero exit code, or a status other
    /// than `completed`.
    PostToolUseFailure,
    /// For any notification, seen by an [`EventObserver`](crate::EventObserver).
    OnEvent,
    /// Before a one-shot run starts its thread: may mutate or block the run.
    PreRun,
    /// After a one-shot run ended, with its outcome.
    PostRun,
    /// Before a session starts (or resumes) its thread: may mutate or block
    /// the session.
    PreSessionStart,
    /// After a session's thread started, with its id.
    PostSessionStart,
    /// Before a turn starts: may mutate or block the turn.
    PreTurn,
    /// After a turn ended, with its outcome.
    PostTurn,
    /// When codex asks the user questions (`item/tool/requestUserInput`).
    OnUserInput,
    /// When an MCP server asks the user to fill in a form or open a URL
    /// (`mcpServer/elicitation/request`).
    OnElicitation,
    /// When codex calls one of the client's dynamic tools (`item/tool/call`);
    /// the phase of a tool's failures in the [`HookReport`](crate::HookReport).
    DynamicTool,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::PreToolUse => "PreToolUse",
            Phase::PostToolUse => "PostToolUse",
            Phase::PostToolUseFailure => "PostToolUseFailure",
            Phase::OnEvent => "OnEvent",
            Phase::PreRun => "PreRun",
            Phase::PostRun => "PostRun",
            Phase::PreSessionStart => "PreSessionStart",
            Phase::PostSessionStart => "PostSessionStart",
            Phase::PreTurn => "PreTurn",
            Phase::PostTurn => "PostTurn",
            Phase::OnUserInput => "OnUserInput",
            Phase::OnElicitation => "OnElicitation",
            Phase::DynamicTool => "DynamicTool",
        })
    }
}

/// Written as its [`Display`](fmt::Display) name, such as `"PreToolUse"`.
impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Phase {
    /// Whether this is a lifecycle phase before something starts:
    /// [`PreRun`](Phase::PreRun), [`PreSessionStart`](Phase::PreSessionStart)
    /// or [`PreTurn`](Phase::PreTurn).
    pub fn is_pre_lifecycle(self) -> bool {
        matches!(
            self,
            Phase::PreRun | Phase::PreSessionStart | Phase::PreTurn
        )
    }

    /// Whether this is a lifecycle phase after something started or ended:
    /// [`PostRun`](Phase::PostRun),
    /// [`PostSessionStart`](Phase::PostSessionStart) or
    /// [`PostTurn`](Phase::PostTurn).
    pub fn is_post_lifecycle(self) -> bool {
        matches!(
            self,
            Phase::PostRun | Phase::PostSessionStart | Phase::PostTurn
        )
    }
}

/// The tool name of a command-execution approval.
pub const TOOL_COMMAND: &str = "command";
/// The tool name of a file-change approval.
pub const TOOL_FILE_CHANGE: &str = "file_change";
/// The tool name of a permissions approval.
pub const TOOL_PERMISSIONS: &str = "permissions";

/// The tool name of an MCP server's elicitation: `mcp:<server>`, or
/// `mcp:<server>/<tool>` when the tool is known.
pub fn mcp_tool_name(server: &str, tool: Option<&str>) -> String {
    match tool {
        Some(tool) => format!("mcp:{server}/{tool}"),
        None => format!("mcp:{server}"),
    }
}

/// One tool use or lifecycle step as a hook sees it.
///
/// # As JSON
///
/// It serializes (for the [`ShellHook`](crate::ShellHook)'s stdin and the
/// [`AuditLog`](crate::AuditLog)) as one object with camelCase keys:
/// `phase` (the phase's name, such as `"PreToolUse"`), `threadId`,
/// `turnId`, `cwd`, `model`, `toolName`, `command`, `paths`, `toolInput`,
/// `correlationId`, `result` (`{success, status, exitCode, output}`),
/// `plan` (a [`Plan`]), `outcome` (a [`RunOutcome`]) and `timestamp`, in
/// integer milliseconds since the Unix epoch. Missing values are `null`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HookContext {
    /// The phase the hook runs in.
    pub phase: Phase,
    /// The thread the tool use belongs to.
    pub thread_id: String,
    /// The turn, when the server names it (an MCP elicitation may not).
    pub turn_id: Option<String>,
    /// The working directory, when the request carries one.
    pub cwd: Option<String>,
    /// The model, when known; approvals do not carry it.
    pub model: Option<String>,
    /// [`TOOL_COMMAND`], [`TOOL_FILE_CHANGE`], [`TOOL_PERMISSIONS`] or an
    /// [`mcp_tool_name`].
    pub tool_name: String,
    /// The command line, for [`TOOL_COMMAND`].
    pub command: Option<String>,
    /// The paths the tool use changes, when known (see the crate docs on
    /// file changes).
    pub paths: Vec<String>,
    /// The request's params as the server sent them (decoded and encoded
    /// again, so fields this version does not know are gone). Built only
    /// when a hook matching the request reads it
    /// ([`ToolUseHook::reads_input`](crate::ToolUseHook::reads_input));
    /// `Value::Null` otherwise.
    pub tool_input: Value,
    /// Ties the hook's run to what caused it: the approval request's
    /// JSON-RPC id (PreToolUse) or the item's id (post-tool phases).
    pub correlation_id: String,
    /// How the tool use ended, in the post-tool phases.
    pub result: Option<ToolResult>,
    /// What is about to start, in the lifecycle phases: the run, session or
    /// turn's settings as the hooks before this one left them.
    pub plan: Option<Plan>,
    /// How a run or turn ended, in the post lifecycle phases.
    pub outcome: Option<RunOutcome>,
    /// When the loop received the request or notification.
    pub timestamp: SystemTime,
}

impl Serialize for HookContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            phase: Phase,
            thread_id: &'a str,
            turn_id: Option<&'a str>,
            cwd: Option<&'a str>,
            model: Option<&'a str>,
            tool_name: &'a str,
            command: Option<&'a str>,
            paths: &'a [String],
            tool_input: &'a Value,
            correlation_id: &'a str,
            result: Option<&'a ToolResult>,
            plan: Option<&'a Plan>,
            outcome: Option<&'a RunOutcome>,
            timestamp: u64,
        }
        Wire {
            phase: self.phase,
            thread_id: &self.thread_id,
            turn_id: self.turn_id.as_deref(),
            cwd: self.cwd.as_deref(),
            model: self.model.as_deref(),
            tool_name: &self.tool_name,
            command: self.command.as_deref(),
            paths: &self.paths,
            tool_input: &self.tool_input,
            correlation_id: &self.correlation_id,
            result: self.result.as_ref(),
            plan: self.plan.as_ref(),
            outcome: self.outcome.as_ref(),
            timestamp: unix_millis(self.timestamp),
        }
        .serialize(serializer)
    }
}

/// `time` in whole milliseconds since the Unix epoch; 0 for earlier times,
/// and saturating far in the future.
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// How a tool use ended, from its `item/completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolResult {
    /// Whether it succeeded: status `completed` and, for a command, exit
    /// code 0 (and no error, for an MCP tool call).
    pub success: bool,
    /// The item's status as on the wire (`completed`, `failed`,
    /// `declined`, ...).
    pub status: String,
    /// A command's exit code.
    pub exit_code: Option<i32>,
    /// A command's output: the item's aggregated output or, when the item
    /// carries none, what codex streamed for it
    /// (`item/commandExecution/outputDelta`, up to 1 MiB). `None` when
    /// codex reported neither, as codex 0.150 sometimes does for a command
    /// that exits while it is starting.
    pub output: Option<String>,
}

impl HookContext {
    /// A context for `tool_name` in `phase`, everything else empty; the
    /// approval loop fills the rest, and tests build their own.
    pub fn new(phase: Phase, thread_id: impl Into<String>, tool_name: impl Into<String>) -> Self {
        HookContext {
            phase,
            thread_id: thread_id.into(),
            turn_id: None,
            cwd: None,
            model: None,
            tool_name: tool_name.into(),
            command: None,
            paths: Vec::new(),
            tool_input: Value::Null,
            correlation_id: String::new(),
            result: None,
            plan: None,
            outcome: None,
            timestamp: SystemTime::now(),
        }
    }

    /// Sets the plan (default: none) and, where the plan names them, the
    /// context's `cwd` and `model`, so matchers and hooks of lifecycle
    /// phases see the same fields as in the tool phases. Lifecycle
    /// contexts may be built before a thread exists; their thread id and
    /// tool name are then empty.
    pub fn with_plan(mut self, plan: Plan) -> Self {
        self.set_plan(plan);
        self
    }

    /// Sets the outcome of a run or turn (default: none).
    pub fn with_outcome(mut self, outcome: RunOutcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Replaces the plan and takes `cwd` and `model` from it where it sets
    /// them.
    pub(crate) fn set_plan(&mut self, plan: Plan) {
        if plan.cwd.is_some() {
            self.cwd.clone_from(&plan.cwd);
        }
        if plan.model.is_some() {
            self.model.clone_from(&plan.model);
        }
        self.plan = Some(plan);
    }

    /// Sets the command line (default: none).
    pub fn with_command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// Sets the changed paths (default: none).
    pub fn with_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.paths = paths.into_iter().map(Into::into).collect();
        self
    }
}

/// The wire string of a status enum, or `unknown`.
fn wire<T: Serialize>(status: &T) -> String {
    match serde_json::to_value(status) {
        Ok(Value::String(text)) => text,
        _ => "unknown".to_owned(),
    }
}

/// The post-tool context of a completed command execution, file change or
/// MCP tool call; `None` for every other item.
pub(crate) fn post_tool_context(completed: &ItemCompletedNotification) -> Option<HookContext> {
    let kind = &completed.item.kind;
    let tool_input = serde_json::to_value(&completed.item).unwrap_or(Value::Null);
    let (mut ctx, result) = match kind {
        ThreadItemKind::CommandExecution {
            aggregated_output,
            command,
            cwd,
            exit_code,
            id,
            status,
            ..
        } => {
            let status = wire(status);
            let mut ctx = HookContext::new(Phase::PostToolUse, "", TOOL_COMMAND)
                .with_command(command.clone());
            ctx.cwd = Some(cwd.clone());
            ctx.correlation_id.clone_from(id);
            let result = ToolResult {
                success: status == "completed" && *exit_code == Some(0),
                status,
                exit_code: *exit_code,
                output: aggregated_output.clone(),
            };
            (ctx, result)
        }
        ThreadItemKind::FileChange {
            changes,
            id,
            status,
        } => {
            let status = wire(status);
            let mut ctx = HookContext::new(Phase::PostToolUse, "", TOOL_FILE_CHANGE)
                .with_paths(changes.iter().map(|change| change.path.clone()));
            ctx.correlation_id.clone_from(id);
            let result = ToolResult {
                success: status == "completed",
                status,
                exit_code: None,
                output: None,
            };
            (ctx, result)
        }
        ThreadItemKind::McpToolCall {
            error,
            id,
            server,
            status,
            tool,
            ..
        } => {
            let status = wire(status);
            let mut ctx =
                HookContext::new(Phase::PostToolUse, "", mcp_tool_name(server, Some(tool)));
            ctx.correlation_id.clone_from(id);
            let result = ToolResult {
                success: status == "completed" && error.is_none(),
                status,
                exit_code: None,
                output: None,
            };
            (ctx, result)
        }
        _ => return None,
    };
    if !result.success {
        ctx.phase = Phase::PostToolUseFailure;
    }
    ctx.thread_id.clone_from(&completed.thread_id);
    ctx.turn_id = Some(completed.turn_id.clone());
    ctx.tool_input = tool_input;
    ctx.result = Some(result);
    Some(ctx)
}

#[cfg(test)]
mod tests;
