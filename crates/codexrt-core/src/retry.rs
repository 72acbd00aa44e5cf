//! Opt-in retries of read-only calls that an overloaded server refused:
//! [`RetryPolicy`] (exponential backoff with jitter) and
//! [`Runtime::call_with_retry`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codexrt_protocol::ClientRequest;

use crate::{CoreError, Runtime};

/// Whether calling `method` twice has the same effect as calling it once,
/// so that a refused call may be repeated.
///
/// The rule is a plain one over the method name: methods whose last path
/// segment is `read` or `list` (`thread/read`, `model/list`,
/// `account/rateLimits/read`, ...) only read, and are idempotent; every
/// other method is treated as not idempotent, whatever it does, so that
/// `turn/start`, `thread/start`, `turn/steer` or a write is never sent twice
/// by the runtime.
pub fn is_idempotent(method: &str) -> bool {
    matches!(method.rsplit('/').next(), Some("read" | "list"))
}

/// How [`Runtime::call_with_retry`] retries: exponential backoff with
/// "full jitter" (each wait is a random point between zero and the
/// exponential bound), only after [`CoreError::Overloaded`], only for
/// [idempotent](is_idempotent) methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// The default policy: 4 attempts, backoff bounds of 100 ms, 200 ms and
    /// 400 ms (doubling, at most 5 s).
    pub fn new() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// How many attempts in all, the first included (at least 1). The
    /// default is 4.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The bound of the first wait; each later bound doubles. The default
    /// is 100 ms.
    #[must_use]
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// The largest bound of a wait; longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`. The
    /// default is 5 s.
    #[must_use]
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff.min(codexrt_transport::MAX_WAIT);
        self
    }

    /// The exponential bound of the wait after failed attempt `attempt`
    /// (1-based): `initial * 2^(attempt-1)`, at most the maximum.
    pub fn backoff_bound(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The wait after failed attempt `attempt`: a point in `[0, bound]`
    /// chosen by `entropy`.
    pub(crate) fn delay(&self, attempt: u32, entropy: u64) -> Duration {
        let bound = self.backoff_bound(attempt);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(entropy % nanos.saturating_add(1))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

/// Jitter without a random number crate: the clock's nanoseconds and a
/// process-wide counter, mixed by SplitMix64 so that calls made in the same
/// instant still spread out.
fn entropy() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos().into());
    let mut z = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Runtime {
    /// [`Runtime::call`], repeated after [`CoreError::Overloaded`] as
    /// `policy` says when the method is [idempotent](is_idempotent). Any
    /// other method is called once, whatever the policy.
    ///
    /// # Errors
    /// As for [`Runtime::call`]; after the last attempt, the last error.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`]: dropping the future abandons the current
    /// attempt.
    pub async fn call_with_retry<P: ClientRequest + Clone>(
        &self,
        params: P,
        policy: &RetryPolicy,
    ) -> Result<P::Response, CoreError> {
        let attempts = if is_idempotent(P::METHOD) {
            policy.max_attempts
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            match self.call(params.clone()).await {
                Err(error) if error.is_retryable() && attempt < attempts => {
                    let wait = policy.delay(attempt, entropy());
                    tracing::debug!(
                        method = P::METHOD,
                        attempt,
                        ?wait,
                        "server overloaded; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

#[cfg(test)]
mod tests;
