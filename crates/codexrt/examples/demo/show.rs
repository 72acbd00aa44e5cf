//! How the demo reports what happens: readable sections on a terminal, or
//! one JSON object per line with `--json`. Hooks report from their own
//! tasks while the main loop streams text, so every write goes through one
//! lock that also knows whether a streamed line is still open.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use codexrt::PromptRunResult;
use codexrt::protocol::types::ThreadTokenUsage;
use serde_json::{Value, json};

/// The width of the labels in front of each line.
const LABEL: usize = 10;

/// The demo's output, shared by the main loop and the hooks.
#[derive(Debug)]
pub(crate) struct Show {
    json: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The last section header printed (0 before the first).
    section: u8,
    /// A streamed answer is being written and its line is not ended yet.
    open_line: bool,
}

/// A command codex ran, as the post-tool hook (or the item) reported it.
#[derive(Debug, Clone)]
pub(crate) struct CommandRun {
    pub(crate) command: String,
    pub(crate) status: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) output: String,
    /// The post-tool hook that reported it, if one did.
    pub(crate) seen_by: Option<String>,
}

/// The end of the session, for the last section.
#[derive(Debug)]
pub(crate) struct Summary<'a> {
    pub(crate) status: &'a str,
    pub(crate) final_text: &'a str,
    pub(crate) usage: Option<&'a ThreadTokenUsage>,
    pub(crate) turn: Duration,
    pub(crate) total: Duration,
    pub(crate) hook_issues: usize,
}

impl<'a> Summary<'a> {
    /// The summary of a session whose last answer is `last`, which started
    /// at `started` and whose hooks reported `hook_issues` issues.
    pub(crate) fn of(last: &'a PromptRunResult, started: Instant, hook_issues: usize) -> Self {
        Summary {
            status: last.status.as_str(),
            final_text: last.text(),
            usage: last.usage.as_ref(),
            turn: last.elapsed,
            total: started.elapsed(),
            hook_issues,
        }
    }
}

impl Show {
    pub(crate) fn new(json: bool) -> Show {
        Show {
            json,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A title line (text mode only).
    pub(crate) fn title(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }

    /// Prints section `number` unless it, or a later one, was printed.
    pub(crate) fn section(&self, number: u8, title: &str) {
        let mut state = self.state();
        if state.section >= number {
            return;
        }
        state.section = number;
        if !self.json {
            end_line(&mut state);
            println!("\n{number}. {title}");
        }
    }

    /// A labelled line in text mode; `event` as a JSON line otherwise.
    pub(crate) fn line(&self, label: &str, text: &str, event: Value) {
        let mut state = self.state();
        if self.json {
            println!("{event}");
            return;
        }
        end_line(&mut state);
        println!("   {label:<LABEL$}{}", indent(text));
    }

    /// The prompt sent to codex.
    pub(crate) fn prompt(&self, text: &str) {
        self.line("you ›", text, json!({"event": "prompt", "text": text}));
    }

    /// A piece of codex's answer, written as it arrives.
    pub(crate) fn delta(&self, delta: &str) {
        let mut state = self.state();
        if self.json {
            println!("{}", json!({"event": "delta", "text": delta}));
            return;
        }
        if !state.open_line {
            print!("   {:<LABEL$}", "codex ›");
            state.open_line = true;
        }
        print!("{}", indent(delta));
        let _ = std::io::stdout().flush();
    }

    /// Ends a streamed line that is still open, before other output.
    pub(crate) fn end(&self) {
        if !self.json {
            end_line(&mut self.state());
        }
    }

    /// An agent message completed: ends its streamed line.
    pub(crate) fn answer(&self, text: &str) {
        let mut state = self.state();
        if self.json {
            println!("{}", json!({"event": "answer", "text": text}));
            return;
        }
        end_line(&mut state);
    }

    /// A command codex ran (or was refused to run).
    pub(crate) fn command(&self, run: &CommandRun) {
        let seen = run
            .seen_by
            .as_deref()
            .map(|hook| format!("post-tool hook \"{hook}\""));
        let (label, head) = match (run.exit_code, seen) {
            (Some(code), Some(seen)) => ("ran", format!("exit {code}  {}  ({seen})", run.command)),
            (Some(code), None) => ("ran", format!("exit {code}  {}", run.command)),
            (None, Some(seen)) => (
                "not run",
                format!("{}  ({}, seen by {seen})", run.command, run.status),
            ),
            (None, None) => ("not run", format!("{}  ({})", run.command, run.status)),
        };
        let output = run.output.trim();
        let text = if output.is_empty() {
            head
        } else {
            format!("{head}\n{output}")
        };
        self.line(
            label,
            &text,
            json!({
                "event": "command",
                "command": run.command,
                "status": run.status,
                "exitCode": run.exit_code,
                "output": run.output,
                "seenBy": run.seen_by,
            }),
        );
    }

    /// The final outcome: status, text, token usage and timing.
    pub(crate) fn summary(&self, summary: &Summary<'_>) {
        let usage = summary.usage.map(|usage| &usage.total);
        if self.json {
            let event = json!({
                "event": "outcome",
                "status": summary.status,
                "finalText": summary.final_text,
                "usage": usage.map(|total| json!({
                    "inputTokens": total.input_tokens,
                    "cachedInputTokens": total.cached_input_tokens,
                    "outputTokens": total.output_tokens,
                    "reasoningOutputTokens": total.reasoning_output_tokens,
                    "totalTokens": total.total_tokens,
                })),
                "turnMs": millis(summary.turn),
                "totalMs": millis(summary.total),
                "hookIssues": summary.hook_issues,
            });
            println!("{event}");
            return;
        }
        let mut state = self.state();
        end_line(&mut state);
        drop(state);
        let tokens = usage.map_or_else(
            || "not reported".to_owned(),
            |total| {
                format!(
                    "{} in ({} cached) · {} out · {} total, for the session",
                    total.input_tokens,
                    total.cached_input_tokens,
                    total.output_tokens,
                    total.total_tokens
                )
            },
        );
        let rows = [
            ("status", summary.status.to_owned()),
            ("tokens", tokens),
            (
                "time",
                format!(
                    "last turn {:.2}s · whole demo {:.2}s",
                    summary.turn.as_secs_f64(),
                    summary.total.as_secs_f64()
                ),
            ),
            ("hooks", format!("{} issues", summary.hook_issues)),
        ];
        for (label, text) in rows {
            println!("   {label:<LABEL$}{}", indent(&text));
        }
    }
}

/// Ends a streamed line that is still open.
fn end_line(state: &mut State) {
    if state.open_line {
        println!();
        state.open_line = false;
    }
}

/// Keeps continuation lines under the text column.
fn indent(text: &str) -> String {
    text.replace('\n', &format!("\n   {:LABEL$}", ""))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
