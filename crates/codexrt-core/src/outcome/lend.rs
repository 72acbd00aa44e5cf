//! Long texts lent to the frame that carries them again.
//!
//! A long answer reaches the accumulator twice before the turn ends: as
//! deltas, joined into its stream, then whole in `item/completed`; and the
//! completed item's text comes a third time in `turn/completed`. Decoding
//! such a frame while the accumulator still holds the text would hold it
//! twice more at once (the frame and the decoded copy besides). So for a
//! large frame the router first reads where its long texts are
//! ([`LargeTexts::read`]), the accumulator frees each copy of its own that
//! the frame carries byte for byte ([`json_text_equals`]), and takes the
//! text back from the decoded notification, or from the frame itself if the
//! notification did not decode into an item that carries it.

use std::borrow::Cow;
use std::fmt;

use codexrt_protocol::methods;
use codexrt_protocol::types::{ThreadItem, ThreadItemKind};
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::StreamKind;

/// The smallest text worth lending, as JSON (quotes and escapes included);
/// a frame is read for long texts only from this size on. Below it the
/// second copy costs less than reading the frame once more to spare it.
pub(crate) const LEND_FROM: usize = 32 * 1024;

/// Where the long texts of a large `item/completed` or `turn/completed` are,
/// borrowed from the frame.
#[derive(Debug)]
pub(crate) struct LargeTexts<'a> {
    pub(crate) thread_id: Cow<'a, str>,
    pub(crate) turn_id: Cow<'a, str>,
    /// `turn/completed` (the items are the turn's), else `item/completed`.
    pub(crate) ends_turn: bool,
    pub(crate) texts: Vec<RawText<'a>>,
}

/// One item's long text in the frame.
#[derive(Debug)]
pub(crate) struct RawText<'a> {
    /// The item's index among the turn's items (0 in `item/completed`).
    pub(crate) position: usize,
    pub(crate) item_id: Cow<'a, str>,
    /// The stream whose whole text the member is.
    pub(crate) kind: StreamKind,
    /// The member's JSON string, quotes included.
    pub(crate) text: &'a RawValue,
}

impl<'a> LargeTexts<'a> {
    /// The long texts of `params` if `method` is `item/completed` or
    /// `turn/completed` and the params are large; `None` otherwise, or when
    /// they do not read as such (the generic decoder then says why).
    pub(crate) fn read(method: &str, params: &'a RawValue) -> Option<LargeTexts<'a>> {
        if params.get().len() < LEND_FROM {
            return None;
        }
        let texts = match method {
            methods::ITEM_COMPLETED => {
                let wire: ItemCompletedWire<'a> = serde_json::from_str(params.get()).ok()?;
                let text = wire.item.long_text(0);
                LargeTexts {
                    thread_id: wire.thread_id,
                    turn_id: wire.turn_id,
                    ends_turn: false,
                    texts: text.into_iter().collect(),
                }
            }
            methods::TURN_COMPLETED => {
                let wire: TurnCompletedWire<'a> = serde_json::from_str(params.get()).ok()?;
                LargeTexts {
                    thread_id: wire.thread_id,
                    turn_id: wire.turn.id,
                    ends_turn: true,
                    texts: wire.turn.items.0,
                }
            }
            _ => return None,
        };
        (!texts.texts.is_empty()).then_some(texts)
    }
}

#[derive(Deserialize)]
struct ItemCompletedWire<'a> {
    #[serde(rename = "threadId", borrow)]
    thread_id: Cow<'a, str>,
    #[serde(rename = "turnId", borrow)]
    turn_id: Cow<'a, str>,
    #[serde(borrow)]
    item: ItemWire<'a>,
}

#[derive(Deserialize)]
struct TurnCompletedWire<'a> {
    #[serde(rename = "threadId", borrow)]
    thread_id: Cow<'a, str>,
    #[serde(borrow)]
    turn: TurnWire<'a>,
}

#[derive(Deserialize)]
struct TurnWire<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    items: LongTexts<'a>,
}

/// The members of an item that can hold a stream's whole text.
#[derive(Deserialize)]
struct ItemWire<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(rename = "aggregatedOutput", borrow, default)]
    aggregated_output: Option<&'a RawValue>,
}

impl<'a> ItemWire<'a> {
    /// The item's long text, if it has one: the member that
    /// [`item_text`] reads for its type.
    fn long_text(self, position: usize) -> Option<RawText<'a>> {
        let (kind, text) = match &*self.kind {
            "agentMessage" => (StreamKind::AgentMessage, self.text?),
            "plan" => (StreamKind::Plan, self.text?),
            "commandExecution" => (StreamKind::CommandOutput, self.aggregated_output?),
            _ => return None,
        };
        (text.get().len() >= LEND_FROM && text.get().starts_with('"')).then_some(RawText {
            position,
            item_id: self.id,
            kind,
            text,
        })
    }
}

/// A turn's items, of which only the long texts are kept: a turn of
/// thousands of items costs no list of them all.
#[derive(Default)]
struct LongTexts<'a>(Vec<RawText<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for LongTexts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Items<'a> {
            type Value = LongTexts<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut texts = Vec::new();
                let mut position = 0;
                // An item without the members read here fails the whole
                // reading: nothing is lent then, and the generic decoder
                // judges the item.
                while let Some(item) = seq.next_element::<ItemWire<'a>>()? {
                    texts.extend(item.long_text(position));
                    position += 1;
                }
                Ok(LongTexts(texts))
            }
        }
        deserializer.deserialize_seq(Items(std::marker::PhantomData))
    }
}

/// The text a completed item carries for one of its streams, where it
/// carries the whole stream: an agent message's text, a plan's text, a
/// command's aggregated output.
pub(crate) fn item_text(item: &ThreadItem, kind: StreamKind) -> Option<&str> {
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

/// [`item_text`], to change.
pub(crate) fn item_text_mut(item: &mut ThreadItem, kind: StreamKind) -> Option<&mut String> {
    match (&mut item.kind, kind) {
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

/// Whether the JSON string `raw` (quotes included) decodes to exactly
/// `text`, read in place. `false` as well for anything serde_json would
/// not decode as a string: a raw control character, an unknown escape, a
/// lone surrogate.
pub(crate) fn json_text_equals(raw: &str, text: &str) -> bool {
    let mut rest = text.as_bytes();
    json_text_pieces(raw, |piece| match rest.strip_prefix(piece.as_bytes()) {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    }) && rest.is_empty()
}

/// The text of the JSON string `raw`, which [`json_text_equals`] found
/// equal to a text: it decodes then, the same way serde_json decodes it.
pub(crate) fn json_text(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    // Every raw lent was compared whole first, so this walks it whole too.
    json_text_pieces(raw, |piece| {
        text.push_str(piece);
        true
    });
    text
}

/// Walks the content of the JSON string `raw`: runs without escapes are
/// handed to `each` as they stand, escapes decoded. Stops, returning
/// `false`, when `each` does or at the first thing that is not valid JSON.
fn json_text_pieces(raw: &str, mut each: impl FnMut(&str) -> bool) -> bool {
    let Some(body) = raw.strip_prefix('"').and_then(|raw| raw.strip_suffix('"')) else {
        return false;
    };
    let bytes = body.as_bytes();
    let (mut start, mut at) = (0, 0);
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => {
                let Some(run) = body.get(start..at) else {
                    return false;
                };
                let Some((decoded, len)) = escape(bytes.get(at + 1..).unwrap_or_default()) else {
                    return false;
                };
                let mut buf = [0; 4];
                if !each(run) || !each(decoded.encode_utf8(&mut buf)) {
                    return false;
                }
                at += 1 + len;
                start = at;
            }
            // A raw control character, or the closing quote inside.
            0..0x20 | b'"' => return false,
            _ => at += 1,
        }
    }
    body.get(start..).is_some_and(each)
}

/// The character an escape stands for (`rest` follows the backslash), and
/// how many bytes of `rest` it takes.
fn escape(rest: &[u8]) -> Option<(char, usize)> {
    let simple = match rest.first()? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(rest.get(1..5)?)?;
            return match high {
                0xD800..0xDC00 => {
                    if rest.get(5..7)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(rest.get(7..11)?)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    Some((char::from_u32(code)?, 11))
                }
                0xDC00..0xE000 => None,
                _ => Some((char::from_u32(high)?, 5)),
            };
        }
        _ => return None,
    };
    Some((simple, 1))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |value, &digit| {
        let digit = char::from(digit).to_digit(16)?;
        Some(value * 16 + digit)
    })
}

#[cfg(test)]
mod tests;
