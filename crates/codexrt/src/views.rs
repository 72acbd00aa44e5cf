//! Borrowed, typed views of what a turn did: the commands it ran, the
//! files it changed, the messages it wrote and the tools it called, read
//! from [`PromptRunResult::items`] without matching on the
//! `#[non_exhaustive]` [`ThreadItemKind`] yourself.
//!
//! Each view borrows from the result, so reading one copies nothing.

use codexrt_core::{StreamKind, StreamedText};
use codexrt_protocol::types::{
    CommandExecutionStatus, DynamicToolCallStatus, FileUpdateChange, McpToolCallStatus,
    MessagePhase, PatchApplyStatus, ThreadItem, ThreadItemKind,
};
use serde_json::Value;

use crate::PromptRunResult;

/// A command codex ran (or was refused) in the turn: a completed
/// `commandExecution` item.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CommandRun<'a> {
    /// The item's id.
    pub id: &'a str,
    /// The command line as codex shows it.
    pub command: &'a str,
    /// The directory it ran in.
    pub cwd: &'a str,
    /// `completed`, `failed`, `declined` (a hook or the policy said no), or
    /// `inProgress` for a command the turn ended before it finished.
    pub status: &'a CommandExecutionStatus,
    /// Its exit code, when it ran to an end.
    pub exit_code: Option<i32>,
    /// What it printed: the item's aggregated output, else its streamed
    /// output deltas joined; `None` when codex reported neither.
    pub output: Option<&'a str>,
    /// How long it ran, as codex measured it.
    pub duration_ms: Option<i64>,
}

impl CommandRun<'_> {
    /// Whether it ran and exited with 0.
    pub fn succeeded(&self) -> bool {
        *self.status == CommandExecutionStatus::Completed && self.exit_code == Some(0)
    }
}

/// A patch codex applied (or was refused) in the turn: a completed
/// `fileChange` item, which may touch several files.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FileChanges<'a> {
    /// The item's id.
    pub id: &'a str,
    /// Each file's path, kind of change and diff.
    pub changes: &'a [FileUpdateChange],
    /// `completed`, `failed`, `declined`, or `inProgress` when the turn
    /// ended first.
    pub status: &'a PatchApplyStatus,
}

impl<'a> FileChanges<'a> {
    /// The paths the patch touches, in its order.
    pub fn paths(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.changes.iter().map(|change| change.path.as_str())
    }
}

/// A message codex wrote to the user: a completed `agentMessage` item.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Message<'a> {
    /// The item's id.
    pub id: &'a str,
    /// Its text: the item's, else its streamed deltas joined when the
    /// item came with an empty text.
    pub text: &'a str,
    /// Commentary, a partial answer or the final answer, when codex says.
    pub phase: Option<&'a MessagePhase>,
}

/// Where a tool call went.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ToolSource<'a> {
    /// A tool of an MCP server, by the server's name.
    Mcp {
        /// The MCP server.
        server: &'a str,
    },
    /// A dynamic tool the client declared (see `codexrt::hooks`'
    /// dynamic tools), in its namespace if it has one.
    Dynamic {
        /// The tool's namespace.
        namespace: Option<&'a str>,
    },
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolCallStatus {
    /// Still running when the turn ended.
    InProgress,
    /// It returned a result.
    Completed,
    /// It failed.
    Failed,
    /// A status this version does not know (see the item for its text).
    Other,
}

/// A tool codex called in the turn: a completed `mcpToolCall` or
/// `dynamicToolCall` item.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ToolCall<'a> {
    /// The item's id.
    pub id: &'a str,
    /// An MCP server's tool or a dynamic tool.
    pub source: ToolSource<'a>,
    /// The tool's name.
    pub tool: &'a str,
    /// The arguments codex passed.
    pub arguments: &'a Value,
    /// How it ended.
    pub status: ToolCallStatus,
    /// How long it took, as codex measured it.
    pub duration_ms: Option<i64>,
    /// The item itself, for its result and the fields of its kind.
    pub item: &'a ThreadItem,
}

impl PromptRunResult {
    /// The commands the turn ran, in order.
    ///
    /// ```
    /// # fn show(result: &codexrt::PromptRunResult) {
    /// for command in result.commands() {
    ///     println!("{} -> {:?}", command.command, command.exit_code);
    /// }
    /// # }
    /// ```
    pub fn commands(&self) -> impl Iterator<Item = CommandRun<'_>> + '_ {
        self.items.iter().filter_map(move |item| match &item.kind {
            ThreadItemKind::CommandExecution {
                aggregated_output,
                command,
                cwd,
                duration_ms,
                exit_code,
                id,
                status,
                ..
            } => Some(CommandRun {
                id,
                command,
                cwd,
                status,
                exit_code: *exit_code,
                output: aggregated_output
                    .as_deref()
                    .or_else(|| streamed(&self.streamed, id, StreamKind::CommandOutput)),
                duration_ms: *duration_ms,
            }),
            _ => None,
        })
    }

    /// The patches the turn applied (or was refused), in order.
    pub fn file_changes(&self) -> impl Iterator<Item = FileChanges<'_>> + '_ {
        self.items.iter().filter_map(|item| match &item.kind {
            ThreadItemKind::FileChange {
                changes,
                id,
                status,
            } => Some(FileChanges {
                id,
                changes,
                status,
            }),
            _ => None,
        })
    }

    /// The messages codex wrote in the turn, in order; the last one is
    /// [`PromptRunResult::final_text`].
    pub fn messages(&self) -> impl Iterator<Item = Message<'_>> + '_ {
        self.items.iter().filter_map(move |item| match &item.kind {
            ThreadItemKind::AgentMessage {
                id, text, phase, ..
            } => {
                let text = if text.is_empty() {
                    streamed(&self.streamed, id, StreamKind::AgentMessage).unwrap_or(text)
                } else {
                    text
                };
                Some(Message {
                    id,
                    text,
                    phase: phase.as_ref(),
                })
            }
            _ => None,
        })
    }

    /// The MCP and dynamic tools the turn called, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = ToolCall<'_>> + '_ {
        self.items.iter().filter_map(|item| match &item.kind {
            ThreadItemKind::McpToolCall {
                arguments,
                duration_ms,
                id,
                server,
                status,
                tool,
                ..
            } => Some(ToolCall {
                id,
                source: ToolSource::Mcp { server },
                tool,
                arguments,
                status: match status {
                    McpToolCallStatus::InProgress => ToolCallStatus::InProgress,
                    McpToolCallStatus::Completed => ToolCallStatus::Completed,
                    McpToolCallStatus::Failed => ToolCallStatus::Failed,
                    _ => ToolCallStatus::Other,
                },
                duration_ms: *duration_ms,
                item,
            }),
            ThreadItemKind::DynamicToolCall {
                arguments,
                duration_ms,
                id,
                namespace,
                status,
                tool,
                ..
            } => Some(ToolCall {
                id,
                source: ToolSource::Dynamic {
                    namespace: namespace.as_deref(),
                },
                tool,
                arguments,
                status: match status {
                    DynamicToolCallStatus::InProgress => ToolCallStatus::InProgress,
                    DynamicToolCallStatus::Completed => ToolCallStatus::Completed,
                    DynamicToolCallStatus::Failed => ToolCallStatus::Failed,
                    _ => ToolCallStatus::Other,
                },
                duration_ms: *duration_ms,
                item,
            }),
            _ => None,
        })
    }
}

/// The joined deltas of one item's stream of `kind`, if any arrived.
fn streamed<'a>(streams: &'a [StreamedText], item_id: &str, kind: StreamKind) -> Option<&'a str> {
    streams
        .iter()
        .find(|s| s.kind == kind && s.item_id == item_id)
        .map(|s| s.text.as_str())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use codexrt_core::TurnTimings;
    use codexrt_protocol::types::{PatchChangeKind, TurnStatus};
    use serde_json::json;

    use super::*;

    fn item(value: Value) -> ThreadItem {
        match serde_json::from_value(value) {
            Ok(item) => item,
            Err(err) => panic!("a test item does not decode: {err}"),
        }
    }

    fn result(items: Vec<ThreadItem>, streamed: Vec<StreamedText>) -> PromptRunResult {
        PromptRunResult {
            thread_id: "thr".into(),
            turn_id: "turn".into(),
            status: TurnStatus::Completed,
            items,
            streamed,
            usage: None,
            error: None,
            timings: TurnTimings::default(),
            elapsed: Duration::ZERO,
        }
    }

    fn command(id: &str, status: &str, exit_code: Option<i32>, output: Option<&str>) -> ThreadItem {
        let mut value = json!({
            "type": "commandExecution", "id": id, "command": format!("run {id}"),
            "commandActions": [], "cwd": "/w", "status": status, "durationMs": 7,
        });
        if let Some(code) = exit_code {
            value["exitCode"] = json!(code);
        }
        if let Some(output) = output {
            value["aggregatedOutput"] = json!(output);
        }
        item(value)
    }

    #[test]
    fn commands_in_order_with_their_output() {
        let result = result(
            vec![
                item(json!({"type": "agentMessage", "id": "m0", "text": "first"})),
                command("c1", "completed", Some(0), Some("aggregated")),
                command("c2", "failed", Some(2), None),
                command("c3", "declined", None, None),
            ],
            vec![
                StreamedText::new("c2", StreamKind::CommandOutput, "streamed"),
                StreamedText::new("c3", StreamKind::AgentMessage, "not a command's"),
            ],
        );
        let commands: Vec<CommandRun<'_>> = result.commands().collect();
        assert_eq!(
            commands,
            vec![
                CommandRun {
                    id: "c1",
                    command: "run c1",
                    cwd: "/w",
                    status: &CommandExecutionStatus::Completed,
                    exit_code: Some(0),
                    output: Some("aggregated"),
                    duration_ms: Some(7),
                },
                CommandRun {
                    id: "c2",
                    command: "run c2",
                    cwd: "/w",
                    status: &CommandExecutionStatus::Failed,
                    exit_code: Some(2),
                    output: Some("streamed"),
                    duration_ms: Some(7),
                },
                CommandRun {
                    id: "c3",
                    command: "run c3",
                    cwd: "/w",
                    status: &CommandExecutionStatus::Declined,
                    exit_code: None,
                    output: None,
                    duration_ms: Some(7),
                },
            ]
        );
        let succeeded: Vec<bool> = commands.iter().map(CommandRun::succeeded).collect();
        assert_eq!(succeeded, vec![true, false, false]);
    }

    #[test]
    fn messages_fall_back_to_their_stream_when_the_item_is_empty() {
        let result = result(
            vec![
                item(
                    json!({"type": "agentMessage", "id": "m1", "text": "thinking", "phase": "commentary"}),
                ),
                item(json!({"type": "reasoning", "id": "r1", "summary": ["hidden"]})),
                item(json!({"type": "agentMessage", "id": "m2", "text": ""})),
            ],
            vec![StreamedText::new(
                "m2",
                StreamKind::AgentMessage,
                "the answer",
            )],
        );
        let messages: Vec<Message<'_>> = result.messages().collect();
        assert_eq!(
            messages,
            vec![
                Message {
                    id: "m1",
                    text: "thinking",
                    phase: Some(&MessagePhase::Commentary),
                },
                Message {
                    id: "m2",
                    text: "the answer",
                    phase: None,
                },
            ]
        );
    }

    #[test]
    fn file_changes_and_their_paths() {
        let result = result(
            vec![item(json!({
                "type": "fileChange", "id": "p1", "status": "completed",
                "changes": [
                    {"path": "src/a.rs", "kind": {"type": "add"}, "diff": "+a"},
                    {"path": "src/b.rs", "kind": {"type": "delete"}, "diff": "-b"},
                ],
            }))],
            vec![],
        );
        let changes: Vec<FileChanges<'_>> = result.file_changes().collect();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].id, "p1");
        assert_eq!(changes[0].status, &PatchApplyStatus::Completed);
        assert_eq!(
            changes[0].paths().collect::<Vec<_>>(),
            vec!["src/a.rs", "src/b.rs"]
        );
        assert_eq!(changes[0].changes[0].kind, PatchChangeKind::Add);
    }

    #[test]
    fn tool_calls_of_both_sources() {
        let mcp = item(json!({
            "type": "mcpToolCall", "id": "t1", "server": "docs", "tool": "search",
            "arguments": {"q": "x"}, "status": "failed", "durationMs": 3,
        }));
        let dynamic = item(json!({
            "type": "dynamicToolCall", "id": "t2", "tool": "lookup", "namespace": "local",
            "arguments": {"word": "rust"}, "status": "someNewStatus",
        }));
        let result = result(vec![mcp.clone(), dynamic.clone()], vec![]);
        let calls: Vec<ToolCall<'_>> = result.tool_calls().collect();
        let expected_mcp_args = json!({"q": "x"});
        let expected_dynamic_args = json!({"word": "rust"});
        assert_eq!(
            calls,
            vec![
                ToolCall {
                    id: "t1",
                    source: ToolSource::Mcp { server: "docs" },
                    tool: "search",
                    arguments: &expected_mcp_args,
                    status: ToolCallStatus::Failed,
                    duration_ms: Some(3),
                    item: &mcp,
                },
                ToolCall {
                    id: "t2",
                    source: ToolSource::Dynamic {
                        namespace: Some("local"),
                    },
                    tool: "lookup",
                    arguments: &expected_dynamic_args,
                    status: ToolCallStatus::Other,
                    duration_ms: None,
                    item: &dynamic,
                },
            ]
        );
    }
}
