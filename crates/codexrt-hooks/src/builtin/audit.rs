//! [`AuditLog`]: a JSON-lines file of what the hooks decided, written off
//! the approval path by a thread of its own.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::context::unix_millis;
use crate::{Decision, HookContext, Phase};

/// How many lines wait for the writer at most; beyond that new lines are
/// dropped and counted in [`AuditLog::dropped`].
pub const AUDIT_QUEUE: usize = 1024;

/// How long a reason may be in a line, in bytes; longer ones are cut at a
/// character boundary so one chatty hook cannot make lines huge.
const REASON_CAP: usize = 4096;

enum Message {
    Line(String),
    Flush(oneshot::Sender<io::Result<()>>),
}

struct Inner {
    path: PathBuf,
    tx: mpsc::Sender<Message>,
    dropped: AtomicU64,
}

/// An append-only JSON-lines log of the hooks' decisions, registered with
/// [`HookSet::audit`](crate::HookSet::audit). Cheap to clone: clones share
/// the file, the queue and the writer.
///
/// Lines are queued (at most [`AUDIT_QUEUE`], 1024) and written by a thread
/// of the log's own, so a slow disk never holds up an approval: when the
/// queue is full the line is dropped and counted in
/// [`dropped`](AuditLog::dropped). The writer flushes whenever the queue
/// runs empty, and [`flush`](AuditLog::flush) waits for everything queued
/// so far. It stops, after writing what is queued, when the last clone is
/// dropped.
///
/// # Lines
///
/// Each line is one JSON object with camelCase keys, in this order:
///
/// - `ts`: when the line was queued, in integer milliseconds since the
///   Unix epoch;
/// - `phase`: the phase's name, such as `"PreToolUse"` or `"PreTurn"`;
/// - `threadId`: the thread (`""` before a thread exists);
/// - `turnId`: the turn, or `null`;
/// - `tool`: the tool name (`""` in the lifecycle phases);
/// - `correlationId`: the request id, item id or whatever the context
///   carried;
///
/// then either a decision:
///
/// - `decision`: `"accept"`, `"acceptForSession"`, `"decline"` or
///   `"cancel"` for a PreToolUse chain's answer; `"continue"`, `"mutate"`
///   or `"block"` for a pre lifecycle phase; other phases name their own
///   answers;
/// - `reason`: the reason of a decline, cancel or block (at most 4 KiB),
///   or `null`;
/// - `hook`: the name of the hook that decided, or `null` when none did
///   (every hook deferred, or the set's own safe answer);
///
/// or a result, for post-tool and post lifecycle phases:
///
/// - `status`: the item's status (`"completed"`, `"failed"`, ...) or the
///   run's (`"completed"`, `"failed"`, `"interrupted"`, `"timedOut"`,
///   `"error"`);
/// - `exitCode`: a command's exit code, or `null`;
/// - `success`: whether it succeeded.
///
/// For example:
///
/// ```text
/// {"ts":1767225600000,"phase":"PreToolUse","threadId":"thr_1","turnId":"turn_1","tool":"command","correlationId":"7","decision":"decline","reason":"force pushes are not allowed","hook":"no-force-push"}
/// ```
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.inner.path)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens `path` for appending, creating it if needed, and starts the
    /// writer thread. Needs no Tokio runtime.
    ///
    /// # Errors
    /// The [`io::Error`] of opening the file or of starting the thread.
    pub fn create(path: impl AsRef<Path>) -> io::Result<AuditLog> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let (tx, rx) = mpsc::channel(AUDIT_QUEUE);
        std::thread::Builder::new()
            .name("codexrt-audit".to_owned())
            .spawn(move || write_lines(file, rx))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                path,
                tx,
                dropped: AtomicU64::new(0),
            }),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many lines were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every line queued before the call is written and the
    /// file flushed.
    ///
    /// # Errors
    /// The first write or flush error since the last `flush`, or
    /// [`io::ErrorKind::BrokenPipe`] if the writer thread is gone.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing: queued lines are still written.
    pub async fn flush(&self) -> io::Result<()> {
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the audit writer stopped");
        let (reply, done) = oneshot::channel();
        self.inner
            .tx
            .send(Message::Flush(reply))
            .await
            .map_err(|_| gone())?;
        done.await.map_err(|_| gone())?
    }

    /// Queues `record` as a line, or counts it as dropped when the queue
    /// is full. Never waits.
    pub(crate) fn record(&self, record: AuditRecord) {
        let line = Line {
            ts: unix_millis(SystemTime::now()),
            record,
        };
        let mut text = match serde_json::to_string(&line) {
            Ok(text) => text,
            Err(error) => {
                // Only strings and numbers go in: this cannot fail, but a
                // lost line is counted rather than hidden.
                tracing::warn!(%error, "audit line not encoded");
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        text.push('\n');
        if self.inner.tx.try_send(Message::Line(text)).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_lines(file: File, mut rx: mpsc::Receiver<Message>) {
    let mut out = BufWriter::new(file);
    // The first failure since the last flush request, handed to it.
    let mut failure: Option<io::Error> = None;
    while let Some(message) = rx.blocking_recv() {
        match message {
            Message::Line(line) => {
                if let Err(error) = out.write_all(line.as_bytes()) {
                    tracing::warn!(%error, "audit line not written");
                    failure.get_or_insert(error);
                }
            }
            Message::Flush(reply) => {
                let flushed = out.flush();
                let result = match (failure.take(), flushed) {
                    (Some(error), _) | (None, Err(error)) => Err(error),
                    (None, Ok(())) => Ok(()),
                };
                let _ = reply.send(result);
                continue;
            }
        }
        // Flush when nothing else waits, so lines reach the file soon
        // without a write per line under load.
        if rx.is_empty() {
            if let Err(error) = out.flush() {
                tracing::warn!(%error, "audit log not flushed");
                failure.get_or_insert(error);
            }
        }
    }
    let _ = out.flush();
}

#[derive(Serialize)]
struct Line {
    ts: u64,
    #[serde(flatten)]
    record: AuditRecord,
}

/// One audit line's content, built from the context it is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditRecord {
    phase: Phase,
    thread_id: String,
    turn_id: Option<String>,
    tool: String,
    correlation_id: String,
    #[serde(flatten)]
    entry: AuditEntry,
}

impl AuditRecord {
    /// `entry` about `ctx`: its phase, thread, turn, tool and correlation
    /// id.
    pub(crate) fn new(ctx: &HookContext, entry: AuditEntry) -> Self {
        AuditRecord {
            phase: ctx.phase,
            thread_id: ctx.thread_id.clone(),
            turn_id: ctx.turn_id.clone(),
            tool: ctx.tool_name.clone(),
            correlation_id: ctx.correlation_id.clone(),
            entry,
        }
    }
}

/// What an audit line says: a decision or a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum AuditEntry {
    /// What was decided, why, and by which hook (`None`: no hook did).
    Decision {
        decision: String,
        reason: Option<String>,
        hook: Option<String>,
    },
    /// How something ended.
    Result {
        status: String,
        #[serde(rename = "exitCode")]
        exit_code: Option<i32>,
        success: bool,
    },
}

impl AuditEntry {
    /// A decision line; `reason` is cut to 4 KiB.
    pub(crate) fn decision(
        decision: impl Into<String>,
        reason: Option<&str>,
        hook: Option<&str>,
    ) -> Self {
        AuditEntry::Decision {
            decision: decision.into(),
            reason: reason.map(capped),
            hook: hook.map(str::to_owned),
        }
    }

    /// The line of a PreToolUse chain's answer.
    pub(crate) fn tool_decision(decision: &Decision, hook: Option<&str>) -> Self {
        let (name, reason) = match decision {
            Decision::Accept => ("accept", None),
            Decision::AcceptForSession => ("acceptForSession", None),
            Decision::Decline { reason } => ("decline", Some(reason.as_str())),
            Decision::Cancel { reason } => ("cancel", Some(reason.as_str())),
            Decision::Defer => ("defer", None),
        };
        AuditEntry::decision(name, reason, hook)
    }
}

fn capped(text: &str) -> String {
    if text.len() <= REASON_CAP {
        return text.to_owned();
    }
    let mut end = REASON_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests;
