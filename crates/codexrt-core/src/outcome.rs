//! What a finished turn amounts to ([`TurnOutcome`]), and the accumulator
//! that builds it in the router from the turn's notifications, reassembling
//! streamed deltas per item so that the outcome is whole whatever the
//! consumer of the events did.

use std::collections::{HashMap, HashSet};
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

impl StreamedText {
    /// A stream's text, as a test or a replay would build one.
    pub fn new(item_id: impl Into<String>, kind: StreamKind, text: impl Into<String>) -> Self {
        StreamedText {
            item_id: item_id.into(),
            kind,
            text: text.into(),
        }
    }
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

/// The text a completed item carries for one of its streams, where it
/// carries the whole stream: an agent message's text, a plan's text, a
/// command's aggregated output.
fn item_text(item: &ThreadItem, kind: StreamKind) -> Option<&str> {
    match (&item.kind, kind) {
        (ThreadItemKind::AgentMessage { text, .. }, StreamKind::AgentMessage)
        | (ThreadItemKind::Plan { text, .. }, StreamKind::Plan) => Some(text),
        (
            ThreadItemKind::CommandExecution {
                aggregated_output: Some(output),
                ..
            },
            StreamKind::CommandOutput,
        ) => Some(output),
        _ => None,
    }
}

/// A completed item as the accumulator holds it: the `item/completed`
/// notification the turn's reader got as well (so the item is not copied
/// while the turn runs), or an item only the final turn carried.
#[derive(Debug)]
enum Completed {
    Shared(Arc<ServerNotification>),
    Owned(Box<ThreadItem>),
}

impl Completed {
    fn item(&self) -> Option<&ThreadItem> {
        match self {
            Completed::Shared(notification) => match &**notification {
                ServerNotification::ItemCompleted(done) => Some(&done.item),
                // Only `item/completed` notifications are kept.
                _ => None,
            },
            Completed::Owned(item) => Some(&**item),
        }
    }

    /// The item, moved out of the notification when the reader no longer
    /// holds it, copied otherwise.
    fn into_item(self) -> Option<ThreadItem> {
        match self {
            Completed::Owned(item) => Some(*item),
            Completed::Shared(notification) => match Arc::try_unwrap(notification) {
                Ok(ServerNotification::ItemCompleted(done)) => Some(done.item),
                Ok(_) => None,
                Err(shared) => Completed::Shared(shared).item().cloned(),
            },
        }
    }
}

/// Builds a [`TurnOutcome`] from the turn's notifications.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    items: Vec<Completed>,
    streamed: Vec<StreamedText>,
    /// The item id of each stream in `streamed`, shared with the deltas
    /// queued for the reader so that a delta costs no copy of it.
    stream_ids: Vec<Arc<str>>,
    /// For each stream in `streamed`, the index in `items` of the completed
    /// item that holds its text for now. A stream whose item completed with
    /// that very text frees its own copy, and the text is copied back from
    /// the item when the outcome is handed out: until the turn ends, a long
    /// answer is held once rather than twice.
    held_by: Vec<Option<usize>>,
    /// The streams of each item, as indices into `streamed`: a turn of many
    /// items and streams costs no scan of them per delta or per item.
    by_item: HashMap<Arc<str>, Vec<usize>>,
    token_usage: Option<ThreadTokenUsage>,
    error: Option<TurnError>,
}

impl Accumulator {
    /// Records a notification other than a delta (deltas come through
    /// [`Accumulator::delta`]).
    pub(crate) fn observe(&mut self, notification: &Arc<ServerNotification>) {
        use ServerNotification as N;
        match &**notification {
            N::ItemCompleted(done) => {
                self.hand_over_streams(&done.item);
                self.items.push(Completed::Shared(Arc::clone(notification)));
            }
            N::ThreadTokenUsageUpdated(usage) => self.token_usage = Some(usage.token_usage.clone()),
            N::Error(error) => self.error = Some(error.error.clone()),
            _ => {}
        }
    }

    /// Frees the copy of each stream of `item` (about to be pushed to
    /// `items`) whose text the item carries exactly: its text is taken back
    /// from the item when the outcome is handed out.
    fn hand_over_streams(&mut self, item: &ThreadItem) {
        let Some(streams) = item.kind.id().and_then(|id| self.by_item.get(id)) else {
            return;
        };
        for &index in streams {
            let (Some(stream), Some(held_by)) =
                (self.streamed.get_mut(index), self.held_by.get_mut(index))
            else {
                continue;
            };
            if !stream.text.is_empty() && item_text(item, stream.kind) == Some(stream.text.as_str())
            {
                stream.text = String::new();
                *held_by = Some(self.items.len());
            }
        }
    }

    /// Appends a delta to its item's stream and returns the stream's item
    /// id.
    pub(crate) fn delta(&mut self, item_id: &str, kind: StreamKind, delta: &str) -> Arc<str> {
        let existing = self.stream_of(item_id, kind);
        let found = existing.and_then(|index| {
            let stream = self.streamed.get_mut(index)?;
            let id = self.stream_ids.get(index)?;
            Some((stream, id, self.held_by.get_mut(index)?))
        });
        match found {
            Some((stream, id, held_by)) => {
                // A delta after its item completed: the stream takes its
                // text back first.
                if let Some(held) = held_by.take() {
                    let item = self.items.get(held).and_then(Completed::item);
                    let text = item.and_then(|item| item_text(item, kind));
                    stream.text = text.unwrap_or_default().to_owned();
                }
                stream.text.push_str(delta);
                Arc::clone(id)
            }
            None => {
                let id: Arc<str> = Arc::from(item_id);
                let index = self.streamed.len();
                self.streamed.push(StreamedText {
                    item_id: item_id.to_owned(),
                    kind,
                    text: delta.to_owned(),
                });
                self.stream_ids.push(Arc::clone(&id));
                self.held_by.push(None);
                self.by_item.entry(Arc::clone(&id)).or_default().push(index);
                id
            }
        }
    }

    /// The index of the stream `kind` of `item_id`, if it began.
    fn stream_of(&self, item_id: &str, kind: StreamKind) -> Option<usize> {
        // Deltas nearly always extend the newest stream: no hashing then.
        let last = self.streamed.len().checked_sub(1)?;
        if self
            .streamed
            .get(last)
            .is_some_and(|s| s.kind == kind && s.item_id == item_id)
        {
            return Some(last);
        }
        let streams = self.by_item.get(item_id)?;
        streams.iter().copied().find(|&index| {
            self.streamed
                .get(index)
                .is_some_and(|stream| stream.kind == kind)
        })
    }

    /// The outcome once the server reported the turn finished. Items the
    /// final turn carries but no `item/completed` announced are added.
    pub(crate) fn finish(mut self, thread_id: &str, turn: &Turn) -> FinishedTurn {
        if !turn.items.is_empty() {
            let seen: HashSet<&str> = self
                .items
                .iter()
                .filter_map(|item| item.item()?.kind.id())
                .collect();
            let unseen: Vec<Completed> = turn
                .items
                .iter()
                .filter(|item| item.kind.id().is_none_or(|id| !seen.contains(id)))
                .map(|item| Completed::Owned(Box::new(item.clone())))
                .collect();
            self.items.extend(unseen);
        }
        let outcome = TurnOutcome {
            thread_id: thread_id.to_owned(),
            turn_id: turn.id.clone(),
            status: turn.status.clone(),
            items: Vec::new(),
            streamed: self.streamed,
            token_usage: self.token_usage,
            error: turn.error.clone().or(self.error),
            timings: TurnTimings {
                started_at: turn.started_at,
                completed_at: turn.completed_at,
                duration_ms: turn.duration_ms,
            },
        };
        FinishedTurn {
            outcome,
            items: self.items,
            held_by: self.held_by,
        }
    }
}

/// A finished turn, put together into a [`TurnOutcome`] only when the
/// outcome is handed out ([`FinishedTurn::into_outcome`]): by then the
/// frames that ended the turn are gone, and usually the reader's copies of
/// the completed items too, so the items move rather than being copied.
#[derive(Debug)]
pub(crate) struct FinishedTurn {
    /// Everything but the items.
    outcome: TurnOutcome,
    items: Vec<Completed>,
    /// For each streamed text, the completed item that alone holds it for
    /// now, if one does.
    held_by: Vec<Option<usize>>,
}

impl FinishedTurn {
    pub(crate) fn into_outcome(self) -> TurnOutcome {
        let FinishedTurn {
            mut outcome,
            items,
            held_by,
        } = self;
        let held = held_by
            .into_iter()
            .enumerate()
            .filter_map(|(stream, item)| Some((stream, item?)));
        for (stream, item) in held {
            let item = items.get(item).and_then(Completed::item);
            if let (Some(stream), Some(item)) = (outcome.streamed.get_mut(stream), item)
                && let Some(text) = item_text(item, stream.kind)
            {
                stream.text = text.to_owned();
            }
        }
        outcome.items = items.into_iter().filter_map(Completed::into_item).collect();
        outcome
    }
}

#[cfg(test)]
mod tests;
