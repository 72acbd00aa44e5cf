//! [`HookReport`]: a bounded, shared record of hooks that failed, and of
//! what each PreToolUse hook decided.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{Decision, IssueKind, Phase};

/// How many issues a [`HookReport`] keeps by default.
pub const DEFAULT_REPORT_CAPACITY: usize = 256;

/// One hook failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookIssue {
    /// The name the hook was registered under.
    pub hook: String,
    /// The phase it ran in.
    pub phase: Phase,
    /// Error, timeout, panic, or stopped.
    pub kind: IssueKind,
    /// The error's text, the timeout, the panic's message, or how core
    /// settled the request a stopped hook was deciding. Kept here, never
    /// sent to the server.
    pub message: String,
    /// The JSON-RPC id of the request the hook was deciding about.
    pub correlation_id: String,
}

/// What one PreToolUse hook decided, counted since its report was made:
/// from [`HookReport::decisions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionCounts {
    /// [`Decision::Accept`].
    pub accepted: u64,
    /// [`Decision::AcceptForSession`].
    pub accepted_for_session: u64,
    /// [`Decision::Decline`].
    pub declined: u64,
    /// [`Decision::Cancel`].
    pub cancelled: u64,
    /// [`Decision::Defer`]: the next hook was asked.
    pub deferred: u64,
    /// Errors, timeouts, panics and stops (each also a [`HookIssue`]).
    pub failed: u64,
}

impl DecisionCounts {
    /// Every time the hook was asked.
    pub fn total(&self) -> u64 {
        self.accepted
            + self.accepted_for_session
            + self.declined
            + self.cancelled
            + self.deferred
            + self.failed
    }
}

#[derive(Debug, Default)]
struct Issues {
    kept: VecDeque<HookIssue>,
    dropped: u64,
    /// Per hook name; as many entries as hooks were registered.
    decisions: HashMap<String, DecisionCounts>,
}

/// A bounded collector of [`HookIssue`]s, cheap to clone: every clone sees
/// the same issues. When full, the oldest issue makes room and is counted
/// in [`dropped`](HookReport::dropped).
#[derive(Debug, Clone)]
pub struct HookReport {
    capacity: usize,
    issues: Arc<Mutex<Issues>>,
}

impl Default for HookReport {
    fn default() -> Self {
        HookReport::new(DEFAULT_REPORT_CAPACITY)
    }
}

impl HookReport {
    /// A report keeping the last `capacity` issues (at least one).
    pub fn new(capacity: usize) -> Self {
        HookReport {
            capacity: capacity.max(1),
            issues: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Issues> {
        // Nothing runs under the lock but queue operations, so a poisoned
        // lock still guards a consistent queue.
        self.issues
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Records `issue`.
    pub fn record(&self, issue: HookIssue) {
        tracing::warn!(
            hook = %issue.hook,
            phase = %issue.phase,
            kind = %issue.kind,
            message = %issue.message,
            "hook failed; the request gets its safe answer"
        );
        let mut issues = self.lock();
        if issues.kept.len() == self.capacity {
            issues.kept.pop_front();
            issues.dropped += 1;
        }
        issues.kept.push_back(issue);
    }

    /// The issues kept, oldest first.
    pub fn issues(&self) -> Vec<HookIssue> {
        self.lock().kept.iter().cloned().collect()
    }

    /// How many issues were pushed out by newer ones.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Takes the issues kept, leaving the report empty (the dropped count
    /// and the decisions stay).
    pub fn drain(&self) -> Vec<HookIssue> {
        self.lock().kept.drain(..).collect()
    }

    /// What each PreToolUse hook of the set decided (approvals and
    /// permission requests), by the name it was registered under, sorted
    /// by name; a hook never asked is not listed.
    pub fn decisions(&self) -> Vec<(String, DecisionCounts)> {
        let mut all: Vec<(String, DecisionCounts)> = self
            .lock()
            .decisions
            .iter()
            .map(|(hook, counts)| (hook.clone(), *counts))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Counts what `hook` answered: a decision, or `None` for a failure.
    pub(crate) fn count(&self, hook: &str, decided: Option<&Decision>) {
        let mut issues = self.lock();
        let counts = match issues.decisions.get_mut(hook) {
            Some(counts) => counts,
            None => issues.decisions.entry(hook.to_owned()).or_default(),
        };
        let slot = match decided {
            Some(Decision::Accept) => &mut counts.accepted,
            Some(Decision::AcceptForSession) => &mut counts.accepted_for_session,
            Some(Decision::Decline { .. }) => &mut counts.declined,
            Some(Decision::Cancel { .. }) => &mut counts.cancelled,
            Some(Decision::Defer) => &mut counts.deferred,
            None => &mut counts.failed,
        };
        *slot += 1;
    }
}
