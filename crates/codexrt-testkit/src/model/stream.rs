//! Turning a [`Reply`] into the Responses-API event stream codex reads, and
//! the response body that plays it out with its pauses.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use serde_json::{Value, json};
use tokio::time::Sleep;

use super::reply::{ReplyKind, Stall, Usage};
use crate::Reply;

/// One piece of a streamed reply: bytes to send, or a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Chunk(Bytes),
    Pause(Duration),
}

/// The steps of a streamed reply to the model request with index `index`,
/// or `None` for a reply that is not streamed ([`Reply::fail`]).
pub(crate) fn steps(reply: &Reply, index: usize) -> Option<VecDeque<Step>> {
    let response_id = format!("resp-{index}");
    let (events, stall_at) = match &reply.kind {
        ReplyKind::Message { text, deltas } => {
            let events = message_events(&response_id, index, text, *deltas, reply.usage);
            // The stall counts deltas, which start after the two opening
            // events; past the last delta it waits before the item is done.
            let delta_count = events.len() - 4;
            let stall_at = reply
                .stall
                .map(|stall| (2 + stall.after.min(delta_count), stall.duration));
            (events, stall_at)
        }
        ReplyKind::ToolCall {
            name,
            arguments,
            call_id,
            namespace,
        } => {
            let call_id = call_id.clone().unwrap_or_else(|| format!("call-{index}"));
            let mut item = json!({
                "type": "function_call",
                "name": name,
                "arguments": arguments,
                "call_id": call_id,
            });
            if let Some(namespace) = namespace {
                item["namespace"] = Value::String(namespace.clone());
            }
            let events = vec![
                ("response.created".to_owned(), created(&response_id)),
                (
                    "response.output_item.done".to_owned(),
                    json!({ "item": item }),
                ),
                (
                    "response.completed".to_owned(),
                    completed(&response_id, reply.usage),
                ),
            ];
            (events, by_event_count(reply.stall, 3))
        }
        ReplyKind::Events(events) => (events.clone(), by_event_count(reply.stall, events.len())),
        ReplyKind::Fail { .. } => return None,
    };
    let total = events.len();
    let mut steps = VecDeque::with_capacity(total + 1);
    for (position, (kind, data)) in events.into_iter().enumerate() {
        if let Some((at, duration)) = stall_at
            && at == position
        {
            steps.push_back(Step::Pause(duration));
        }
        steps.push_back(Step::Chunk(encode_event(&kind, data)));
    }
    if let Some((at, duration)) = stall_at
        && at >= total
    {
        steps.push_back(Step::Pause(duration));
    }
    Some(steps)
}

fn by_event_count(stall: Option<Stall>, events: usize) -> Option<(usize, Duration)> {
    stall.map(|stall| (stall.after.min(events), stall.duration))
}

fn message_events(
    response_id: &str,
    index: usize,
    text: &str,
    deltas: usize,
    usage: Usage,
) -> Vec<(String, Value)> {
    let item_id = format!("msg-{index}");
    let pieces = split_text(text, deltas);
    let mut events = Vec::with_capacity(pieces.len() + 4);
    events.push(("response.created".to_owned(), created(response_id)));
    events.push((
        "response.output_item.added".to_owned(),
        json!({
            "output_index": 0,
            "item": {"type": "message", "role": "assistant", "id": item_id, "content": []},
        }),
    ));
    for piece in pieces {
        events.push((
            "response.output_text.delta".to_owned(),
            json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": piece}),
        ));
    }
    events.push((
        "response.output_item.done".to_owned(),
        json!({
            "output_index": 0,
            "item": {
                "type": "message",
                "role": "assistant",
                "id": item_id,
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            },
        }),
    ));
    events.push((
        "response.completed".to_owned(),
        completed(response_id, usage),
    ));
    events
}

fn created(response_id: &str) -> Value {
    json!({ "response": { "id": response_id } })
}

fn completed(response_id: &str, usage: Usage) -> Value {
    json!({
        "response": {
            "id": response_id,
            "usage": {
                "input_tokens": usage.input_tokens,
                "input_tokens_details": null,
                "output_tokens": usage.output_tokens,
                "output_tokens_details": null,
                "total_tokens": usage.input_tokens.saturating_add(usage.output_tokens),
            },
        },
    })
}

/// `event: KIND\ndata: JSON\n\n`; an object without a `"type"` member gets
/// one, because codex dispatches on the `type` inside the data.
pub(crate) fn encode_event(kind: &str, mut data: Value) -> Bytes {
    if let Value::Object(map) = &mut data {
        map.entry("type")
            .or_insert_with(|| Value::String(kind.to_owned()));
    }
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

/// Cuts `text` into `count` pieces of nearly equal length in characters
/// (the first ones one longer), fewer when it has fewer characters.
pub(crate) fn split_text(text: &str, count: usize) -> Vec<&str> {
    let chars = text.chars().count();
    let count = count.min(chars);
    if count == 0 {
        return Vec::new();
    }
    let (base, extra) = (chars / count, chars % count);
    let mut pieces = Vec::with_capacity(count);
    let mut rest = text;
    for piece in 0..count {
        let len = base + usize::from(piece < extra);
        let end = rest
            .char_indices()
            .nth(len)
            .map_or(rest.len(), |(offset, _)| offset);
        let (head, tail) = rest.split_at(end);
        pieces.push(head);
        rest = tail;
    }
    pieces
}

/// A response body that sends its steps in order and sleeps through pauses.
/// Dropping it (codex hung up, the server stopped) ends everything: there is
/// no task behind it.
#[derive(Debug)]
pub(crate) struct EventStreamBody {
    steps: VecDeque<Step>,
    pause: Option<Pin<Box<Sleep>>>,
}

impl EventStreamBody {
    pub(crate) fn new(steps: VecDeque<Step>) -> EventStreamBody {
        EventStreamBody { steps, pause: None }
    }
}

impl Body for EventStreamBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            if let Some(pause) = &mut this.pause {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.pause = None;
            }
            match this.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Chunk(bytes)) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Some(Step::Pause(duration)) => {
                    this.pause = Some(Box::pin(tokio::time::sleep(duration)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pause.is_none() && self.steps.is_empty()
    }
}
