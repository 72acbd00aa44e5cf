//! A hook's [`Decision`] and [`combine`], the pure rule that turns the
//! outcomes of a chain of hooks into one answer.

use std::fmt;

/// What a PreToolUse hook decides about one tool use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Approve this one use.
    Accept,
    /// Approve this use and, where the request kind allows it, the same
    /// kind for the rest of the session.
    AcceptForSession,
    /// Refuse; the turn goes on without the tool. The reason is logged and
    /// never sent (approval answers carry none).
    Decline {
        /// Why, for logs and the report.
        reason: String,
    },
    /// Refuse and ask codex to stop the turn.
    Cancel {
        /// Why, for logs and the report.
        reason: String,
    },
    /// No opinion: the next hook decides, and if none does, the request
    /// gets its safe answer.
    Defer,
}

impl Decision {
    /// A [`Decision::Decline`] with `reason`.
    pub fn decline(reason: impl Into<String>) -> Self {
        Decision::Decline {
            reason: reason.into(),
        }
    }

    /// A [`Decision::Cancel`] with `reason`.
    pub fn cancel(reason: impl Into<String>) -> Self {
        Decision::Cancel {
            reason: reason.into(),
        }
    }

    /// Whether the decision approves anything.
    pub fn is_approval(&self) -> bool {
        matches!(self, Decision::Accept | Decision::AcceptForSession)
    }
}

/// How one hook's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// It returned a decision (possibly [`Decision::Defer`]).
    Decided(Decision),
    /// It failed: error, timeout, panic, or stopped when core settled the
    /// request. A failure never approves.
    Failed(IssueKind),
}

/// Why a hook failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// The hook returned an error.
    Error,
    /// The hook did not finish within its timeout.
    Timeout,
    /// The hook panicked.
    Panic,
    /// Core settled the server request the hook was deciding before the
    /// hook finished (its deadline elapsed, the server resolved it, the
    /// runtime shut down or the connection closed), so the hook was
    /// stopped: its answer could no longer be sent. The request got core's
    /// safe answer (none when the server resolved it).
    Stopped,
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IssueKind::Error => "error",
            IssueKind::Timeout => "timeout",
            IssueKind::Panic => "panic",
            IssueKind::Stopped => "stopped",
        })
    }
}

/// The answer of a chain of PreToolUse hooks, given their outcomes in
/// registration order: the first non-[`Defer`](Decision::Defer) decision
/// wins. A failed hook stops the chain with a decline: its silence must not
/// let a later hook approve what it might have refused (a hook stopped
/// because core settled the request gives a decline saying so). When every
/// hook defers (or there is none), the answer is a decline, the safe
/// answer.
///
/// The result is an approval only if some hook's own decision was that
/// approval.
pub fn combine<I>(outcomes: I) -> Decision
where
    I: IntoIterator<Item = HookOutcome>,
{
    for outcome in outcomes {
        match outcome {
            HookOutcome::Decided(Decision::Defer) => continue,
            HookOutcome::Decided(decision) => return decision,
            HookOutcome::Failed(IssueKind::Stopped) => {
                return Decision::decline("the request was settled before the hooks decided");
            }
            HookOutcome::Failed(kind) => {
                return Decision::decline(format!("a hook failed ({kind})"));
            }
        }
    }
    Decision::decline("no hook decided")
}

#[cfg(test)]
mod tests;
