//! [`HookError`]: what a hook returns when it cannot decide, and why the
//! approval loop could not start.

/// A hook's failure. The approval loop never turns one into an approval:
/// the request gets its safe answer and the [`HookReport`](crate::HookReport)
/// records the failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The hook could not reach a decision, for the reason given.
    #[error("hook failed: {reason}")]
    Failed {
        /// Why, in the hook's words.
        reason: String,
    },
    /// [`HookSet::serve`](crate::HookSet::serve) found the runtime's
    /// server-request stream already taken: someone else answers requests.
    #[error("the runtime's server requests were already taken")]
    RequestsTaken,
    /// Something the hook relies on failed.
    #[error("hook failed")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl HookError {
    /// A [`HookError::Failed`] with `reason`.
    pub fn failed(reason: impl Into<String>) -> Self {
        HookError::Failed {
            reason: reason.into(),
        }
    }
}
