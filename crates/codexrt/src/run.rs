//! One prompt, one turn: [`PromptRunParams`] in, [`PromptRunResult`] out,
//! and the helpers that start a turn with a time limit and turn its
//! outcome into the facade's result or error.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use codexrt_core::{
    CoreError, Runtime, StreamedText, TurnHandle, TurnOptions, TurnOutcome, TurnTimings,
};
use codexrt_protocol::types::{
    ThreadItem, ThreadTokenUsage, TurnError, TurnStartParams, TurnStatus,
};

use crate::{ClientError, PromptRunError, RunProfile};

/// The `codexrt.thread` span of a run's or a session's thread, a child of
/// the connection's span; `thread_id` is recorded once codex named the
/// thread, when it is not known yet.
pub(crate) fn thread_span(runtime: &Runtime, thread_id: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        parent: runtime.span(),
        "codexrt.thread",
        thread_id = tracing::field::Empty,
    );
    if let Some(thread_id) = thread_id {
        record_thread(&span, thread_id);
    }
    span
}

/// Records the thread's id, codex's text, cut short when long.
pub(crate) fn record_thread(span: &tracing::Span, thread_id: &str) {
    if !span.is_disabled() {
        let shown = codexrt_transport::redact::bounded(thread_id, 256);
        span.record("thread_id", tracing::field::display(shown));
    }
}

/// A prompt to run in a new thread: where, what, and how.
///
/// ```
/// use codexrt::{PromptRunParams, RunProfile};
///
/// let params = PromptRunParams::new("/srv/repo", "list the crates")
///     .profile(RunProfile::new().model("gpt-5"));
/// # let _ = params;
/// ```
#[derive(Debug, Clone)]
pub struct PromptRunParams {
    cwd: PathBuf,
    prompt: String,
    profile: RunProfile,
}

impl PromptRunParams {
    /// Runs `prompt` in a new thread working in `cwd` (resolved against the
    /// current directory when relative), with the defaults of
    /// [`RunProfile::new`].
    pub fn new(cwd: impl Into<PathBuf>, prompt: impl Into<String>) -> Self {
        PromptRunParams {
            cwd: cwd.into(),
            prompt: prompt.into(),
            profile: RunProfile::new(),
        }
    }

    /// How to run it. The default is [`RunProfile::new`].
    #[must_use]
    pub fn profile(mut self, profile: RunProfile) -> Self {
        self.profile = profile;
        self
    }

    pub(crate) fn into_parts(self) -> (PathBuf, String, RunProfile) {
        (self.cwd, self.prompt, self.profile)
    }
}

/// What a turn produced.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PromptRunResult {
    /// The thread the turn ran in.
    pub thread_id: String,
    /// The turn.
    pub turn_id: String,
    /// How the turn ended: always `completed` in an `Ok`.
    pub status: TurnStatus,
    /// Every item completed in the turn, in order.
    pub items: Vec<ThreadItem>,
    /// Every streamed text of the turn (agent messages, reasoning, command
    /// output), reassembled from its deltas.
    pub streamed: Vec<StreamedText>,
    /// The last token usage codex reported for the turn.
    pub usage: Option<ThreadTokenUsage>,
    /// codex's error (with `codexErrorInfo`) when the turn failed, or the
    /// last error it reported.
    pub error: Option<TurnError>,
    /// When the turn ran, as codex reported it.
    pub timings: TurnTimings,
    /// The wall-clock time from sending `turn/start` to the outcome.
    pub elapsed: Duration,
}

impl PromptRunResult {
    /// The text of the last agent message: from its completed item, else
    /// reassembled from its deltas; `None` when there was none. Read from
    /// [`PromptRunResult::items`] (or [`PromptRunResult::streamed`]), so a
    /// long answer is held once.
    pub fn final_text(&self) -> Option<&str> {
        codexrt_core::final_text(&self.items, &self.streamed)
    }

    /// The final text, or `""` when the turn produced no agent message.
    pub fn text(&self) -> &str {
        self.final_text().unwrap_or_default()
    }

    fn from_outcome(outcome: TurnOutcome, elapsed: Duration) -> Self {
        PromptRunResult {
            thread_id: outcome.thread_id,
            turn_id: outcome.turn_id,
            status: outcome.status,
            items: outcome.items,
            streamed: outcome.streamed,
            usage: outcome.token_usage,
            error: outcome.error,
            timings: outcome.timings,
            elapsed,
        }
    }
}

/// A turn started with its time limit, and when it was asked for.
pub(crate) struct StartedTurn {
    pub(crate) handle: TurnHandle,
    pub(crate) sent_at: Instant,
}

pub(crate) async fn start_turn(
    runtime: &Runtime,
    params: TurnStartParams,
    options: TurnOptions,
) -> Result<StartedTurn, PromptRunError> {
    let sent_at = Instant::now();
    let handle = runtime
        .start_turn_with(params, options)
        .await
        .map_err(ClientError::from)?;
    Ok(StartedTurn { handle, sent_at })
}

/// The facade's view of a turn's end: `Ok` only for a completed turn.
pub(crate) fn conclude(
    waited: Result<TurnOutcome, CoreError>,
    sent_at: Instant,
) -> Result<PromptRunResult, PromptRunError> {
    let result = PromptRunResult::from_outcome(waited?, sent_at.elapsed());
    match result.status {
        TurnStatus::Completed => Ok(result),
        TurnStatus::Failed => Err(PromptRunError::Failed {
            result: Box::new(result),
        }),
        TurnStatus::Interrupted => Err(PromptRunError::Interrupted {
            result: Box::new(result),
        }),
        _ => Err(PromptRunError::UnexpectedStatus {
            result: Box::new(result),
        }),
    }
}
