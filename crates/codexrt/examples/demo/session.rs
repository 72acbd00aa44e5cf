//! What both modes share: the hooks that decide and report commands, and
//! one ask streamed to the terminal.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use codexrt::hooks::{
    CommandRules, Decision, HookEntry, HookSet, Matcher, command_forms, hook_fn, post_tool_fn,
};
use codexrt::protocol::ServerNotification;
use codexrt::protocol::types::{SandboxMode, ThreadItemKind};
use codexrt::{Client, PromptRunResult, Session, SessionConfig, SessionEvent};
use serde_json::json;
use tokio::sync::mpsc;

use crate::show::{CommandRun, Show};

/// The name of the post-tool hook that reports each command's result.
const RESULT_HOOK: &str = "show-result";

/// How long the stream waits for the post-tool hook's report of a command
/// it has seen complete; the hook runs on a task of its own, a moment
/// later.
const HOOK_REPORT_WAIT: Duration = Duration::from_secs(5);

/// A session's hooks: the PreToolUse hook `name` decides every command by
/// `rules` (anything the rules do not allow is declined) and says so on
/// `show`; a post-tool hook hands each command's result to the returned
/// receiver, so that it is printed in order with the streamed text.
pub(crate) fn hooks(
    name: &'static str,
    rules: CommandRules,
    show: &Arc<Show>,
) -> (HookSet, mpsc::UnboundedReceiver<CommandRun>) {
    let rules = Arc::new(rules);
    let deciding = Arc::clone(show);
    let decide = hook_fn(move |ctx| {
        let rules = Arc::clone(&rules);
        let show = Arc::clone(&deciding);
        async move {
            // The user sees the script, not its shell wrapper; the rules
            // look at both.
            let command = ctx.command.as_deref().map(script_of).unwrap_or_default();
            show.section(3, "approval");
            show.line(
                "asks",
                &format!("codex wants to run `{command}`"),
                json!({"event": "approvalRequest", "command": command}),
            );
            let decision = match rules.check(&ctx) {
                Decision::Defer => Decision::decline("not on the allow list"),
                decision => decision,
            };
            let (label, why) = match &decision {
                Decision::Decline { reason } | Decision::Cancel { reason } => {
                    ("declined", reason.as_str())
                }
                _ => ("approved", "on the allow list"),
            };
            show.line(
                label,
                &format!("{command}  (hook \"{name}\": {why})"),
                json!({
                    "event": "approval",
                    "command": command,
                    "decision": label,
                    "hook": name,
                    "reason": why,
                }),
            );
            Ok(decision)
        }
    });
    let (report, reports) = mpsc::unbounded_channel();
    let record = post_tool_fn(move |ctx| {
        let report = report.clone();
        async move {
            let result = ctx.result;
            // The receiver is gone only once the demo stopped listening.
            let _ = report.send(CommandRun {
                command: ctx.command.as_deref().map(script_of).unwrap_or_default(),
                status: result
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), |r| r.status.clone()),
                exit_code: result.as_ref().and_then(|r| r.exit_code),
                output: result.and_then(|r| r.output).unwrap_or_default(),
                seen_by: Some(RESULT_HOOK.to_owned()),
            });
            Ok(())
        }
    });
    let set = HookSet::new()
        .hook(HookEntry::new(name, decide).matcher(Matcher::any().tool("command")))
        .hook(
            HookEntry::post_tool_use(RESULT_HOOK, record).matcher(Matcher::any().tool("command")),
        );
    (set, reports)
}

/// Sends `prompt` and shows the turn as it happens: the answer's deltas,
/// each command's result, and returns the outcome.
/// Starts the demo's session in `workspace` with `sandbox` and `hooks`,
/// and shows its thread.
pub(crate) async fn open_session(
    client: &Client,
    workspace: &Path,
    sandbox: SandboxMode,
    hooks: HookSet,
    show: &Show,
) -> Result<Session, Box<dyn Error>> {
    let label = serde_json::to_value(&sandbox)?
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    let config = SessionConfig::new(workspace).sandbox(sandbox).hooks(hooks);
    let session = client.start_session(config).await?;
    show.section(2, "session");
    show.line(
        "thread",
        &format!(
            "{}  (sandbox {label}, in {})",
            session.thread_id(),
            workspace.display()
        ),
        json!({
            "event": "session",
            "threadId": session.thread_id(),
            "sandbox": label,
            "cwd": workspace,
        }),
    );
    Ok(session)
}

pub(crate) async fn ask(
    session: &Session,
    prompt: &str,
    show: &Show,
    commands: &mut mpsc::UnboundedReceiver<CommandRun>,
) -> Result<PromptRunResult, Box<dyn Error>> {
    show.prompt(prompt);
    let mut stream = session.ask_stream(prompt).await?;
    let mut ran_command = false;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => {
                if ran_command {
                    show.section(4, "result");
                }
                show.delta(&delta);
            }
            SessionEvent::Notification(notification) => {
                let ServerNotification::ItemCompleted(done) = &*notification else {
                    continue;
                };
                match &done.item.kind {
                    ThreadItemKind::AgentMessage { text, .. } => show.answer(text),
                    ThreadItemKind::CommandExecution {
                        command,
                        status,
                        exit_code,
                        aggregated_output,
                        ..
                    } => {
                        ran_command = true;
                        show.section(3, "approval");
                        // The post-tool hook's view when it arrives in
                        // time, else the item's own.
                        let reported =
                            tokio::time::timeout(HOOK_REPORT_WAIT, commands.recv()).await;
                        let run = match reported {
                            Ok(Some(run)) => run,
                            _ => CommandRun {
                                command: script_of(command),
                                status: status.as_str().to_owned(),
                                exit_code: *exit_code,
                                output: aggregated_output.clone().unwrap_or_default(),
                                seen_by: None,
                            },
                        };
                        show.command(&run);
                    }
                    _ => {}
                }
            }
            SessionEvent::Finished(outcome) => return Ok(outcome?),
            _ => {}
        }
    }
    Err("the turn's events ended without an outcome".into())
}

/// The script of a command codex runs through a shell
/// (`/bin/bash -lc 'echo hi > a.txt'` is `echo hi > a.txt`); any other
/// command line as it is.
pub(crate) fn script_of(command: &str) -> String {
    // The last form is the script when there is a wrapper, else the line.
    command_forms(command).pop().unwrap_or_default()
}
