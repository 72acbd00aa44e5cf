//! What a finished turn amounts to ([`TurnOutcome`]), and the accumulator
//! that builds it in the router from the turn's notifications, reassembling
//! streamed deltas per item so that a lagging consumer still gets it whole.

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
    /// The text of the last agent message: from its completed item, else
    /// reassembled from its deltas; `None` when the turn produced none.
    pub final_text: Option<String>,
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

/// Builds a [`TurnOutcome`] from the turn's notifications.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    items: Vec<ThreadItem>,
    streamed: Vec<StreamedText>,
    token_usage: Option<ThreadTokenUsage>,
    error: Option<TurnError>,
}

impl Accumulator {
    pub(crate) fn observe(&mut self, notification: &ServerNotification) {
        use ServerNotification as N;
        match notification {
            N::ItemAgentMessageDelta(d) => {
                self.delta(&d.item_id, StreamKind::AgentMessage, &d.delta)
            }
            N::ItemReasoningTextDelta(d) => self.delta(&d.item_id, StreamKind::Reasoning, &d.delta),
            N::ItemReasoningSummaryTextDelta(d) => {
                self.delta(&d.item_id, StreamKind::ReasoningSummary, &d.delta)
            }
            N::ItemCommandExecutionOutputDelta(d) => {
                self.delta(&d.item_id, StreamKind::CommandOutput, &d.delta)
            }
            N::ItemFileChangeOutputDelta(d) => {
                self.delta(&d.item_id, StreamKind::FileChangeOutput, &d.delta)
            }
            N::ItemCompleted(done) => self.items.push(done.item.clone()),
            N::ThreadTokenUsageUpdated(usage) => self.token_usage = Some(usage.token_usage.clone()),
            N::Error(error) => self.error = Some(error.error.clone()),
            _ => {}
        }
    }

    fn delta(&mut self, item_id: &str, kind: StreamKind, delta: &str) {
        // Searched from the end: deltas nearly always extend the newest stream.
        let existing = self
            .streamed
            .iter_mut()
            .rev()
            .find(|s| s.kind == kind && s.item_id == item_id);
        match existing {
            Some(stream) => stream.text.push_str(delta),
            None => self.streamed.push(StreamedText {
                item_id: item_id.to_owned(),
                kind,
                text: delta.to_owned(),
            }),
        }
    }

    /// The outcome once the server reported the turn finished. Items the
    /// final turn carries but no `item/completed` announced are added.
    pub(crate) fn finish(mut self, thread_id: &str, turn: &Turn) -> TurnOutcome {
        for item in &turn.items {
            if !self.items.iter().any(|seen| item_id(seen) == item_id(item)) {
                self.items.push(item.clone());
            }
        }
        let final_text = self
            .items
            .iter()
            .rev()
            .find_map(|item| match &item.kind {
                ThreadItemKind::AgentMessage { text, .. } => Some(text.clone()),
                _ => None,
            })
            .or_else(|| {
                self.streamed
                    .iter()
                    .rev()
                    .find(|s| s.kind == StreamKind::AgentMessage)
                    .map(|s| s.text.clone())
            });
        TurnOutcome {
            thread_id: thread_id.to_owned(),
            turn_id: turn.id.clone(),
            status: turn.status.clone(),
            final_text,
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

/// The id of an item, from its JSON form: every kind has an `id`, but the
/// generated enum has no accessor for it.
fn item_id(item: &ThreadItem) -> Option<String> {
    let value = serde_json::to_value(item).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests;
