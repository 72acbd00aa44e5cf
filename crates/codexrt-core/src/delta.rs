//! Streamed deltas on the fast path: the five delta notifications are read
//! straight from the frame into borrowed strings, routed by their ids
//! without allocating, and queued as [`StreamDelta`]s, which merge when a
//! turn's reader falls behind.

use std::borrow::Cow;
use std::sync::Arc;

use codexrt_protocol::types::{
    AgentMessageDeltaNotification, CommandExecutionOutputDeltaNotification,
    FileChangeOutputDeltaNotification, PlanDeltaNotification,
    ReasoningSummaryTextDeltaNotification, ReasoningTextDeltaNotification,
};
use codexrt_protocol::{ServerNotification, methods};
use serde::Deserialize;

use crate::StreamKind;

/// A piece of an item's streamed text, as a turn's reader gets it.
///
/// When the reader keeps up, each is one delta notification from the
/// server. When it falls behind, consecutive deltas of the same stream are
/// merged into one (`parts` says how many), so that the queue stays small
/// and nothing is dropped: joined in order, the pieces of a stream are
/// exactly what the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamDelta {
    /// The item the text belongs to.
    pub item_id: Arc<str>,
    /// Which of the item's streams.
    pub kind: StreamKind,
    /// `contentIndex` of reasoning text and `summaryIndex` of a reasoning
    /// summary; 0 for the other kinds.
    pub index: i64,
    /// The text.
    pub text: String,
    /// How many delta notifications the text joins (1 unless merged).
    pub parts: u32,
}

impl StreamDelta {
    /// The notification the server sent, when this is a single one; a
    /// merged delta becomes one notification carrying the joined text.
    /// `thread_id` and `turn_id` are the turn's.
    pub fn to_notification(&self, thread_id: &str, turn_id: &str) -> ServerNotification {
        let (thread_id, turn_id) = (thread_id.to_owned(), turn_id.to_owned());
        let item_id = self.item_id.to_string();
        let delta = self.text.clone();
        use ServerNotification as N;
        match self.kind {
            StreamKind::AgentMessage => N::ItemAgentMessageDelta(AgentMessageDeltaNotification {
                delta,
                item_id,
                thread_id,
                turn_id,
            }),
            StreamKind::Reasoning => N::ItemReasoningTextDelta(ReasoningTextDeltaNotification {
                content_index: self.index,
                delta,
                item_id,
                thread_id,
                turn_id,
            }),
            StreamKind::ReasoningSummary => {
                N::ItemReasoningSummaryTextDelta(ReasoningSummaryTextDeltaNotification {
                    delta,
                    item_id,
                    summary_index: self.index,
                    thread_id,
                    turn_id,
                })
            }
            StreamKind::CommandOutput => {
                N::ItemCommandExecutionOutputDelta(CommandExecutionOutputDeltaNotification {
                    delta,
                    item_id,
                    thread_id,
                    turn_id,
                })
            }
            StreamKind::FileChangeOutput => {
                N::ItemFileChangeOutputDelta(FileChangeOutputDeltaNotification {
                    delta,
                    item_id,
                    thread_id,
                    turn_id,
                })
            }
            StreamKind::Plan => N::ItemPlanDelta(PlanDeltaNotification {
                delta,
                item_id,
                thread_id,
                turn_id,
            }),
        }
    }
}

impl StreamKind {
    /// The kind of stream a delta notification's method carries.
    pub(crate) fn of_method(method: &str) -> Option<StreamKind> {
        Some(match method {
            methods::ITEM_AGENT_MESSAGE_DELTA => StreamKind::AgentMessage,
            methods::ITEM_REASONING_TEXT_DELTA => StreamKind::Reasoning,
            methods::ITEM_REASONING_SUMMARY_TEXT_DELTA => StreamKind::ReasoningSummary,
            methods::ITEM_COMMAND_EXECUTION_OUTPUT_DELTA => StreamKind::CommandOutput,
            methods::ITEM_FILE_CHANGE_OUTPUT_DELTA => StreamKind::FileChangeOutput,
            methods::ITEM_PLAN_DELTA => StreamKind::Plan,
            _ => return None,
        })
    }
}

/// The params of a delta notification, borrowed from the frame where they
/// hold no escape sequence. Every member the generated types require is
/// required here too, so a delta reads here exactly when it would decode
/// there; the index member is checked per kind in [`WireDelta::read`].
#[derive(Debug, Deserialize)]
pub(crate) struct WireDelta<'a> {
    #[serde(rename = "threadId", borrow)]
    pub(crate) thread_id: Cow<'a, str>,
    #[serde(rename = "turnId", borrow)]
    pub(crate) turn_id: Cow<'a, str>,
    #[serde(rename = "itemId", borrow)]
    pub(crate) item_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) delta: Cow<'a, str>,
    #[serde(rename = "contentIndex", default)]
    content_index: Option<i64>,
    #[serde(rename = "summaryIndex", default)]
    summary_index: Option<i64>,
}

impl<'a> WireDelta<'a> {
    /// Reads the params of a `kind` delta, with its index; `None` when they
    /// do not fit, and the generic decoder then says why.
    pub(crate) fn read(kind: StreamKind, params: &'a str) -> Option<(WireDelta<'a>, i64)> {
        let delta: WireDelta<'a> = serde_json::from_str(params).ok()?;
        let index = match kind {
            StreamKind::Reasoning => delta.content_index?,
            StreamKind::ReasoningSummary => delta.summary_index?,
            _ => 0,
        };
        Some((delta, index))
    }
}
