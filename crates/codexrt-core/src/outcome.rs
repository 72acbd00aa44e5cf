//! What a finished turn amounts to ([`TurnOutcome`]), and the accumulator
//! that builds it in the router from the turn's notifications, reassembling
//! streamed deltas per item so that the outcome is whole whatever the
//! consumer of the events did.

use std::collections::HashSet;
use std::sync::Arc;

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{
    ThreadItem, ThreadItemKind, ThreadTokenUsage, Turn, TurnError, TurnStatus,
};

/// Which stream of an item a text was reassembled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// `item/agentMessage/delta`.
    AgentMessage,
    /// `item/reasoning/textDelta`.
    Reasoning,
    /// `item/reasoning/summaryTextDelta`.
    ReasoningSummary,
    /// `item/commandExecution/outputDelta`.
    CommandOutput,
    /// `item/fileChange/outputDelta`.
    FileChangeOutput,
    /// `item/plan/delta`.
    Plan,
}

/// The text of one item's stream, reassembled from its deltas in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamedText {
    /// The item the deltas belong to.
    pub item_id: String,
    /// Which stream they came from.
    pub kind: StreamKind,
    /// The deltas joined.
    pub text: String,
}

/// When the turn ran, as the server reported it (milliseconds since the
/// epoch, and the duration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnTimings {
    /// `turn.startedAt`.
    pub started_at: Option<i64>,
    /// `turn.completedAt`.
    pub completed_at: Option<i64>,
    /// `turn.durationMs`.
    pub duration_ms: Option<i64>,
}

/// The outcome of a turn that ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TurnOutcome {
    /// The thread.
    pub thread_id: String,
    /// The turn.
    pub turn_id: String,
    /// `completed`, `interrupted` or `failed` (or a status this version does
    /// not know).
    pub status: TurnStatus,
    /// Every item completed in the turn, in order.
    pub items: Vec<ThreadItem>,
    /// Every streamed text of the turn, in the order the streams began.
    pub streamed: Vec<StreamedText>,
    /// The last token usage reported for the turn.
    pub token_usage: Option<ThreadTokenUsage>,
    /// The turn's error (`codexErrorInfo` inside), from the completed turn
    /// or else the last `error` notification.
    pub error: Option<TurnError>,
    /// When it ran.
    pub timings: TurnTimings,
}

impl TurnOutcome {
    /// The text of the last agent message: from its completed item, else
    /// reassembled from its deltas; `None` when the turn produced none.
    ///
    /// A method rather than a field, so that a long answer is held once
    /// (in [`TurnOutcome::items`]) rather than once more here.
    pub fn final_text(&self) -> Option<&str> {
        final_text(&self.items, &self.streamed)
    }
}

/// The text of the last agent message among `items`, else the last agent
/// message stream in `streamed`: what [`TurnOutcome::final_text`] reads,
/// for types that hold a turn's items and streams as well.
pub fn final_text<'a>(items: &'a [ThreadItem], streamed: &'a [StreamedText]) -> Option<&'a str> {
    items
        .iter()
        .rev()
        .find_map(|item| match &item.kind {
            ThreadItemKind::AgentMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .or_else(|| {
            streamed
                .iter()
                .rev()
                .find(|s| s.kind == StreamKind::AgentMessage)
                .map(|s| s.text.as_str())
        })
}

/// Builds a [`TurnOutcome`] from the turn's notifications.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    items: Vec<ThreadItem>,
    streamed: Vec<StreamedText>,
    /// The item id of each stream in `streamed`, shared with the deltas
    /// queued for the reader so that a delta costs no copy of it.
    stream_ids: Vec<Arc<str>>,
    token_usage: Option<ThreadTokenUsage>,
    error: Option<TurnError>,
}

impl Accumulator {
    /// Records a notification other than a delta (deltas come through
    /// [`Accumulator::delta`]).
    pub(crate) fn observe(&mut self, notification: &ServerNotification) {
        use ServerNotification as N;
        match notification {
            N::ItemCompleted(done) => self.items.push(done.item.clone()),
            N::ThreadTokenUsageUpdated(usage) => self.token_usage = Some(usage.token_usage.clone()),
            N::Error(error) => self.error = Some(error.error.clone()),
            _ => {}
        }
    }

    /// Appends a delta to its item's stream and returns the stream's item
    /// id.
    pub(crate) fn delta(&mut self, item_id: &str, kind: StreamKind, delta: &str) -> Arc<str> {
        // Searched from the end: deltas nearly always extend the newest stream.
        let existing = self
            .streamed
            .iter_mut()
            .zip(&self.stream_ids)
            .rev()
            .find(|(s, _)| s.kind == kind && s.item_id == item_id);
        match existing {
            Some((stream, id)) => {
                stream.text.push_str(delta);
                Arc::clone(id)
            }
            None => {
                let id: Arc<str> = Arc::from(item_id);
                self.streamed.push(StreamedText {
                    item_id: item_id.to_owned(),
                    kind,
                    text: delta.to_owned(),
                });
                self.stream_ids.push(Arc::clone(&id));
                id
            }
        }
    }

    /// The outcome once the server reported the turn finished. Items the
    /// final turn carries but no `item/completed` announced are added.
    pub(crate) fn finish(mut self, thread_id: &str, turn: &Turn) -> TurnOutcome {
        if !turn.items.is_empty() {
            let seen: HashSet<String> = self
                .items
                .iter()
                .filter_map(|item| item.kind.id().map(str::to_owned))
                .collect();
            for item in &turn.items {
                if item.kind.id().is_none_or(|id| !seen.contains(id)) {
                    self.items.push(item.clone());
                }
            }
        }
        TurnOutcome {
            thread_id: thread_id.to_owned(),
            turn_id: turn.id.clone(),
            status: turn.status.clone(),
            items: self.items,
            streamed: self.streamed,
            token_usage: self.token_usage,
            error: turn.error.clone().or(self.error),
            timings: TurnTimings {
                started_at: turn.started_at,
                completed_at: turn.completed_at,
                duration_ms: turn.duration_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests;
