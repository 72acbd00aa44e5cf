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

mod lend;

pub(crate) use lend::{LEND_FROM, LargeTexts};
use lend::{RawText, item_text, item_text_mut, json_text, json_text_equals};

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

/// A completed item as the accumulator holds it: the `item/completed`
/// notification the turn's reader got as well (so the item is not copied
/// while the turn runs), or the item alone, once the reader let go of that
/// notification or when only the final turn carried it.
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

    /// The item, to change: in place when the notification is held here
    /// alone, else copied out of it first.
    fn item_mut(&mut self) -> Option<&mut ThreadItem> {
        if let Completed::Shared(notification) = self
            && Arc::get_mut(notification).is_none()
        {
            let item = self.item()?.clone();
            *self = Completed::Owned(Box::new(item));
        }
        self.item_alone()
    }

    /// The item, to change in place, when nothing but this holds it.
    fn item_alone(&mut self) -> Option<&mut ThreadItem> {
        match self {
            Completed::Owned(item) => Some(&mut **item),
            Completed::Shared(notification) => match Arc::get_mut(notification)? {
                ServerNotification::ItemCompleted(done) => Some(&mut done.item),
                _ => None,
            },
        }
    }

    /// Moves the item out of its notification once the reader no longer
    /// holds that, into a box of the item's own size, and frees the rest
    /// (the notification's ~900 bytes and its thread and turn ids). Returns
    /// false while the notification is still shared.
    fn hold_alone(&mut self) -> bool {
        let Completed::Shared(notification) = self else {
            return true;
        };
        let Some(notification) = Arc::get_mut(notification) else {
            return false;
        };
        // Only `item/completed` notifications are kept.
        let ServerNotification::ItemCompleted(done) = notification else {
            return true;
        };
        let placeholder = ThreadItem {
            completed_at_ms: None,
            started_at_ms: None,
            kind: ThreadItemKind::Unknown(serde_json::Value::Null),
        };
        let mut item = std::mem::replace(&mut done.item, placeholder);
        compact(&mut item);
        *self = Completed::Owned(Box::new(item));
        true
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

/// Gives back what a kept item's lists hold beyond their length: a list
/// decoded from JSON grows as it is read, to room for four entries at
/// least, and a command's `commandActions` (80 bytes an entry) usually has
/// one. Commands and file changes are the items a turn keeps most of.
fn compact(item: &mut ThreadItem) {
    match &mut item.kind {
        ThreadItemKind::CommandExecution {
            command_actions, ..
        } => command_actions.shrink_to_fit(),
        ThreadItemKind::FileChange { changes, .. } => changes.shrink_to_fit(),
        _ => {}
    }
}

/// Builds a [`TurnOutcome`] from the turn's notifications.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    items: Vec<Completed>,
    /// How many of `items`, from the first, hold their item alone (see
    /// [`Accumulator::release_items`]).
    alone: usize,
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
    /// Texts freed while a large frame that carries them is decoded.
    lent: Lent,
    /// Texts of completed items left to the `turn/completed` notification
    /// that carries them too, until the outcome is handed out.
    carried: Vec<LentItem>,
}

/// Texts of an [`Accumulator`] lent to a large frame (see the `lend`
/// module), each with the index of its [`RawText`] in the frame's
/// [`LargeTexts`].
#[derive(Debug, Default)]
struct Lent {
    /// Streams, by index in `streamed`, whose text the `item/completed`
    /// carries.
    streams: Vec<(usize, usize)>,
    /// Completed items whose text the `turn/completed` carries.
    items: Vec<LentItem>,
}

/// A completed item's text lent to a `turn/completed`.
#[derive(Debug, Clone, Copy)]
struct LentItem {
    /// The index in `items`.
    item: usize,
    kind: StreamKind,
    /// The index of the item carrying it among the turn's items.
    position: usize,
    /// The index of its [`RawText`].
    text: usize,
}

impl Accumulator {
    /// Records a notification other than a delta (deltas come through
    /// [`Accumulator::delta`]).
    pub(crate) fn observe(&mut self, notification: &Arc<ServerNotification>) {
        use ServerNotification as N;
        match &**notification {
            N::ItemCompleted(done) => {
                self.hand_over_streams(&done.item);
                self.release_items();
                self.items.push(Completed::Shared(Arc::clone(notification)));
            }
            N::ThreadTokenUsageUpdated(usage) => self.token_usage = Some(usage.token_usage.clone()),
            N::Error(error) => self.error = Some(error.error.clone()),
            _ => {}
        }
    }

    /// Moves each completed item whose notification the reader has let go
    /// of out of it, oldest first, up to the first one the reader still
    /// holds. A turn of many items (10,000 command approvals, say) then
    /// keeps each in about half the memory, and the notifications' memory
    /// is used again for the next ones rather than taken anew: fresh memory
    /// costs a page fault every few items. Each item is looked at until it
    /// is let go, which a reader that keeps up does before the next one
    /// completes: about one check per item.
    fn release_items(&mut self) {
        while let Some(completed) = self.items.get_mut(self.alone) {
            if !completed.hold_alone() {
                break;
            }
            self.alone += 1;
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

    /// Frees each text of its own that the large frame read into `texts`
    /// carries byte for byte, before the frame is decoded: the streams of
    /// the item an `item/completed` carries, or the completed items a
    /// `turn/completed` carries again. Returns whether it freed any; they
    /// are then taken back by [`Accumulator::observe_lent`] or
    /// [`Accumulator::restore`], and until then [`Accumulator::is_lending`].
    pub(crate) fn lend(&mut self, texts: &LargeTexts<'_>) -> bool {
        for (at, raw) in texts.texts.iter().enumerate() {
            if texts.ends_turn {
                self.lend_item(at, raw);
            } else {
                self.lend_streams(at, raw);
            }
        }
        self.is_lending()
    }

    fn lend_streams(&mut self, at: usize, raw: &RawText<'_>) {
        let Some(streams) = self.by_item.get(&*raw.item_id) else {
            return;
        };
        for &index in streams {
            let Some(stream) = self.streamed.get_mut(index) else {
                continue;
            };
            if stream.kind == raw.kind
                && !stream.text.is_empty()
                && json_text_equals(raw.text.get(), &stream.text)
            {
                stream.text = String::new();
                self.lent.streams.push((index, at));
            }
        }
    }

    fn lend_item(&mut self, at: usize, raw: &RawText<'_>) {
        let id = Some(&*raw.item_id);
        let Some(index) = self
            .items
            .iter()
            .rposition(|completed| completed.item().and_then(|item| item.kind.id()) == id)
        else {
            return;
        };
        // Only an item held here alone is changed: while a reader holds its
        // notification too, its text stays anyway.
        let Some(item) = self.items.get_mut(index).and_then(Completed::item_alone) else {
            return;
        };
        let Some(text) = item_text_mut(item, raw.kind) else {
            return;
        };
        if !text.is_empty() && json_text_equals(raw.text.get(), text) {
            *text = String::new();
            self.lent.items.push(LentItem {
                item: index,
                kind: raw.kind,
                position: raw.position,
                text: at,
            });
        }
    }

    /// Whether texts are lent to a frame being decoded: the turn cannot be
    /// finished from anything else meanwhile.
    pub(crate) fn is_lending(&self) -> bool {
        !self.lent.streams.is_empty() || !self.lent.items.is_empty()
    }

    /// Takes every lent text back from the frame, which did not decode as
    /// one for this turn.
    pub(crate) fn restore(&mut self, texts: &LargeTexts<'_>) {
        let lent = std::mem::take(&mut self.lent);
        for (stream, at) in lent.streams {
            self.restore_stream(stream, texts.texts.get(at));
        }
        for lent in lent.items {
            self.restore_item(lent, texts.texts.get(lent.text));
        }
    }

    fn restore_stream(&mut self, stream: usize, raw: Option<&RawText<'_>>) {
        if let (Some(stream), Some(raw)) = (self.streamed.get_mut(stream), raw) {
            stream.text = json_text(raw.text.get());
        }
    }

    fn restore_item(&mut self, lent: LentItem, raw: Option<&RawText<'_>>) {
        let item = self.items.get_mut(lent.item).and_then(Completed::item_mut);
        if let (Some(item), Some(raw)) = (item, raw)
            && let Some(text) = item_text_mut(item, lent.kind)
        {
            *text = json_text(raw.text.get());
        }
    }

    /// [`Accumulator::observe`] for the notification decoded from the frame
    /// whose texts were lent: each text is left to the item that now
    /// carries it, or else taken back from the frame.
    pub(crate) fn observe_lent(
        &mut self,
        notification: &Arc<ServerNotification>,
        texts: &LargeTexts<'_>,
    ) {
        use ServerNotification as N;
        let lent = std::mem::take(&mut self.lent);
        let carries = |item: Option<&ThreadItem>, raw: &RawText<'_>| {
            item.is_some_and(|item| {
                item.kind.id() == Some(&*raw.item_id) && item_text(item, raw.kind).is_some()
            })
        };
        for (stream, at) in lent.streams {
            let raw = texts.texts.get(at);
            let item = match &**notification {
                N::ItemCompleted(done) => Some(&done.item),
                _ => None,
            };
            match (raw, self.held_by.get_mut(stream)) {
                (Some(raw), Some(held_by)) if carries(item, raw) => {
                    *held_by = Some(self.items.len());
                }
                _ => self.restore_stream(stream, raw),
            }
        }
        for lent in lent.items {
            let raw = texts.texts.get(lent.text);
            let item = match &**notification {
                N::TurnCompleted(done) => done.turn.items.get(lent.position),
                _ => None,
            };
            match raw {
                Some(raw) if carries(item, raw) => self.carried.push(lent),
                _ => self.restore_item(lent, raw),
            }
        }
        self.observe(notification);
    }

    /// The outcome once the server reported the turn finished. Items the
    /// final turn carries but no `item/completed` announced are added.
    /// `ending` is the `turn/completed` notification `turn` is from, if it
    /// is from one: texts lent to it are taken back from it.
    pub(crate) fn finish(
        mut self,
        thread_id: &str,
        turn: &Turn,
        ending: Option<&Arc<ServerNotification>>,
    ) -> FinishedTurn {
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
        // Texts are left to an ending only by `observe_lent`, which is
        // followed by this call with that ending.
        let carried = match ending {
            Some(ending) if !self.carried.is_empty() => {
                Some((Arc::clone(ending), std::mem::take(&mut self.carried)))
            }
            _ => None,
        };
        FinishedTurn {
            outcome,
            items: self.items,
            held_by: self.held_by,
            carried,
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
    /// The `turn/completed` notification, and the texts of completed items
    /// that only it holds for now.
    carried: Option<(Arc<ServerNotification>, Vec<LentItem>)>,
}

impl FinishedTurn {
    pub(crate) fn into_outcome(self) -> TurnOutcome {
        let FinishedTurn {
            mut outcome,
            items,
            held_by,
            carried,
        } = self;
        let mut items: Vec<Option<ThreadItem>> =
            items.into_iter().map(Completed::into_item).collect();
        if let Some((ending, carried)) = carried {
            take_back(&mut items, ending, &carried);
        }
        let held = held_by
            .into_iter()
            .enumerate()
            .filter_map(|(stream, item)| Some((stream, item?)));
        for (stream, item) in held {
            let item = items.get(item).and_then(Option::as_ref);
            if let (Some(stream), Some(item)) = (outcome.streamed.get_mut(stream), item)
                && let Some(text) = item_text(item, stream.kind)
            {
                stream.text = text.to_owned();
            }
        }
        outcome.items = items.into_iter().flatten().collect();
        outcome
    }
}

/// Gives the completed items the texts they lent to the `turn/completed`
/// notification `ending`: moved out of it when nobody else holds it any
/// more, copied otherwise.
fn take_back(items: &mut [Option<ThreadItem>], ending: Arc<ServerNotification>, lent: &[LentItem]) {
    let mut ending = Arc::try_unwrap(ending);
    for lent in lent {
        let text = match &mut ending {
            Ok(ServerNotification::TurnCompleted(done)) => done
                .turn
                .items
                .get_mut(lent.position)
                .and_then(|item| item_text_mut(item, lent.kind))
                .map(std::mem::take),
            Err(shared) => match &**shared {
                ServerNotification::TurnCompleted(done) => done
                    .turn
                    .items
                    .get(lent.position)
                    .and_then(|item| item_text(item, lent.kind))
                    .map(str::to_owned),
                _ => None,
            },
            Ok(_) => None,
        };
        let item = items.get_mut(lent.item).and_then(Option::as_mut);
        if let (Some(text), Some(item)) = (text, item)
            && let Some(to) = item_text_mut(item, lent.kind)
        {
            *to = text;
        }
    }
}

#[cfg(test)]
mod tests;
