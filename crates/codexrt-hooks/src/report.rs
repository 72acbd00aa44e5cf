//! [`HookReport`]: a bounded, shared record of hooks that failed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{IssueKind, Phase};

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
    /// Error, timeout or panic.
    pub kind: IssueKind,
    /// The error's text, the timeout, or the panic's message. Kept here,
    /// never sent to the server.
    pub message: String,
    /// The JSON-RPC id of the request the hook was deciding about.
    pub correlation_id: String,
}

#[derive(Debug, Default)]
struct Issues {
    kept: VecDeque<HookIssue>,
    dropped: u64,
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
    /// stays).
    pub fn drain(&self) -> Vec<HookIssue> {
        self.lock().kept.drain(..).collect()
    }
}
