//! Inbound envelopes: each frame is parsed once and classified as a response,
//! a request, a notification or a malformed frame (with the id of the call it
//! answers, when it says so clearly). The method and the raw members borrow
//! the frame: nothing is copied until someone keeps it.

use std::borrow::Cow;
use std::fmt;

use codexrt_transport::FrameError;
use codexrt_transport::redact::{peer_text, redact_prefix};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::{ErrorObject, RequestId, sniff};

/// A well-formed inbound message, borrowing the frame it was read from.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    /// The answer to one of our calls.
    Response {
        id: RequestId,
        outcome: Result<&'a RawValue, ErrorObject>,
    },
    /// A request from the peer, which expects an answer.
    Request {
        id: RequestId,
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    /// A message from the peer that expects no answer.
    Notification {
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
}

/// The members this layer reads. Everything else (`jsonrpc`, `emittedAtMs`, …)
/// is skipped by the parser without being stored.
#[derive(Deserialize)]
struct Envelope<'a> {
    // `Option<Option<_>>` tells an absent id (a notification) from `"id": null`
    // (which is malformed): serde maps both to `None` for a plain `Option`.
    #[serde(default, deserialize_with = "present")]
    id: Option<Option<RequestId>>,
    #[serde(default, borrow)]
    method: Option<Method<'a>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    // `"result": null` is a successful answer, so it must not read as absent.
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    // `"error": null` reads as absent, as JSON-RPC 1.0 peers send it next to
    // a result.
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// A method name, borrowed from the frame unless it holds an escape
/// sequence. A newtype because serde borrows a `Cow<str>` only when it is the
/// member's own type: inside an `Option` it would always copy.
#[derive(Deserialize)]
struct Method<'a>(#[serde(borrow)] Cow<'a, str>);

/// A frame that is not a valid message.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub(crate) frame: MalformedFrame,
    /// The id of the call this frame answers, when it has a valid id and no
    /// method: an answer that cannot be read must still end its call rather
    /// than leave it waiting for an answer that has already come.
    pub(crate) answer_to: Option<RequestId>,
}

impl Rejected {
    /// A frame the transport skipped. An over-long frame still names the call
    /// it answers when the first bytes the transport kept say so, so that the
    /// call fails at once rather than wait for its timeout.
    pub(crate) fn skipped(err: FrameError) -> Self {
        Rejected {
            answer_to: sniff::skipped_answer(&err),
            frame: MalformedFrame::from_transport(err),
        }
    }
}

/// The members that tell whether a frame answers a call, read from a frame
/// whose [`Envelope`] failed to deserialize. Everything else is skipped, so
/// the member that spoiled the frame is not in the way.
#[derive(Deserialize)]
struct AnswerId {
    // `"id": null` reads as `None`: it names no call.
    #[serde(default)]
    id: Option<RequestId>,
    // Skipped rather than read: a method of any type makes the frame a
    // request or a notification, never an answer.
    #[serde(default)]
    method: Option<IgnoredAny>,
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses and classifies one inbound frame.
///
/// A byte order mark at the start of the frame is skipped: some wrappers
/// (a Windows shell, a logging tee) write one before their first line, and
/// a few before every line. JSON text never starts with one, so skipping it
/// cannot change what a valid frame means; one elsewhere is still invalid.
pub(crate) fn parse(frame: &[u8]) -> Result<Message<'_>, Rejected> {
    let frame = frame.strip_prefix(BOM).unwrap_or(frame);
    let reject = |problem, answer_to| Rejected {
        frame: MalformedFrame::new(problem, frame),
        answer_to,
    };
    // serde_json reads a struct from an array as well as from an object;
    // messages are objects only.
    let first = frame.iter().find(|byte| !is_space(**byte));
    if first != Some(&b'{') {
        let problem = match serde_json::from_slice::<IgnoredAny>(frame) {
            Ok(_) => Malformation::NotAnObject,
            Err(err) => Malformation::Syntax(peer_text(&err.to_string())),
        };
        return Err(reject(problem, None));
    }
    let envelope: Envelope<'_> = match serde_json::from_slice(frame) {
        Ok(envelope) => envelope,
        Err(err) => {
            // serde's messages quote values of the frame ("invalid type:
            // string ..."), so they are peer text.
            let message = peer_text(&err.to_string());
            let problem = match err.classify() {
                Category::Data => Malformation::InvalidMember(message),
                Category::Syntax | Category::Eof | Category::Io => Malformation::Syntax(message),
            };
            // The failed parse may have stopped before the id, or read it and
            // dropped it; a second, lenient parse finds it. Only this error
            // path pays for it: a valid frame is parsed once.
            return Err(reject(problem, answer_id(frame)));
        }
    };
    classify(envelope).map_err(|(problem, answer_to)| reject(problem, answer_to))
}

/// A notification or a request read from its frame without its params:
/// see [`unchecked`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unchecked<'a> {
    /// Present for a request.
    pub(crate) id: Option<RequestId>,
    pub(crate) method: &'a str,
    /// From the params member's value to the object's closing brace,
    /// whitespace trimmed, checked neither as UTF-8 nor as JSON: that value
    /// alone when the frame is valid and `params` is its last member, and
    /// otherwise never one JSON value.
    pub(crate) params: &'a [u8],
}

/// Reads a notification or a request framed as codex frames them, up to
/// its params: `{"method":"…","params":…}` or
/// `{"id":…,"method":"…","params":…}`, where the members before `params`
/// are plain strings (no escapes), numbers or literals, the id (if any) is
/// an integer or a plain string, and none is a `result`, an `error`, or a
/// second `method` or `id`. The params are not read: a handler that
/// decodes them reads them once rather than after this layer. Everything
/// before them is checked as strictly as [`parse`] would, so a frame whose
/// params then decode as one JSON value is one [`parse`] reads as this very
/// message. `None` for any other shape (then [`parse`] reads the frame),
/// and for params that are `null`. Nothing of the params is looked at
/// beyond their ends: whoever decodes them checks them, UTF-8 included,
/// and may decline a frame without reading them (a large one, say).
pub(crate) fn unchecked(frame: &[u8]) -> Option<Unchecked<'_>> {
    let frame = frame.strip_prefix(BOM).unwrap_or(frame);
    let end = frame.iter().rposition(|byte| !is_space(*byte))?;
    if frame.get(end) != Some(&b'}') {
        return None;
    }
    let mut scan = Scan {
        bytes: frame.get(..end)?,
        at: 0,
    };
    scan.space();
    scan.byte(b'{')?;
    let mut method = None;
    let mut id = None;
    loop {
        scan.space();
        let key = scan.plain_string()?;
        scan.space();
        scan.byte(b':')?;
        scan.space();
        match key {
            "params" => {
                let method = method?;
                let rest = scan.bytes.get(scan.at..)?;
                let last = rest.iter().rposition(|byte| !is_space(*byte))?;
                let params = rest.get(..=last)?;
                if params == b"null" {
                    return None;
                }
                return Some(Unchecked { id, method, params });
            }
            "method" if method.is_none() => method = Some(scan.plain_string()?),
            "id" if id.is_none() => id = Some(scan.id()?),
            "method" | "id" | "result" | "error" => return None,
            _ => scan.simple_value()?,
        }
        scan.space();
        scan.byte(b',')?;
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// A cursor over the start of a frame, for [`unchecked`].
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        (self.peek()? == expected).then(|| self.at += 1)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// A string without escapes or control characters, in UTF-8.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.byte(b'"')?;
        let rest = self.bytes.get(self.at..)?;
        // The first quote, escape or control character: only a quote ends
        // a plain string.
        let len = rest
            .iter()
            .position(|byte| matches!(byte, b'"' | b'\\' | 0..0x20))?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at += len + 1;
        std::str::from_utf8(rest.get(..len)?).ok()
    }

    /// An id: a plain string, or a number without a fraction or an
    /// exponent that fits an `i64` (and is not `-0`).
    fn id(&mut self) -> Option<RequestId> {
        if self.peek()? == b'"' {
            return self.plain_string().map(RequestId::from);
        }
        let start = self.at;
        self.number()?;
        let text = std::str::from_utf8(self.bytes.get(start..self.at)?).ok()?;
        // A fraction or an exponent does not parse as an `i64`; `-0` does,
        // but serde_json reads it as a float, which is no id.
        if text == "-0" {
            return None;
        }
        text.parse().ok().map(RequestId::Integer)
    }

    /// A plain string, a number or a literal.
    fn simple_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.plain_string().map(drop),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number(),
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        rest.starts_with(word).then(|| self.at += word.len())
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            (self.digits() > 0).then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(())
    }
}

/// The id of a frame that has a valid id and no method, read leniently.
///
/// Frames that are not JSON fail this parse too (truncated, trailing bytes),
/// and so do frames with an invalid or repeated id. Frames that are JSON in
/// form but hold invalid UTF-8 in a member only the strict parse reads (a
/// result, an error message) are the ones this recovers among syntax errors.
/// Only called once the frame is known to be an object: like the strict
/// parse, this one would read `[1]` as a struct with id 1.
fn answer_id(frame: &[u8]) -> Option<RequestId> {
    match serde_json::from_slice(frame) {
        Ok(AnswerId {
            id: Some(id),
            method: None,
        }) => Some(id),
        Ok(AnswerId { .. }) | Err(_) => None,
    }
}

/// Sorts a parsed envelope into a message, or says what is wrong with it and
/// which call it answers, if any.
fn classify(envelope: Envelope<'_>) -> Result<Message<'_>, (Malformation, Option<RequestId>)> {
    let Envelope {
        id,
        method,
        params,
        result,
        error,
    } = envelope;
    match (method, id) {
        (Some(_), _) if result.is_some() || error.is_some() => {
            Err((Malformation::MethodWithOutcome, None))
        }
        (Some(Method(method)), None) => Ok(Message::Notification { method, params }),
        (Some(_), Some(None)) => Err((Malformation::NullId, None)),
        (Some(Method(method)), Some(Some(id))) => Ok(Message::Request { id, method, params }),
        (None, None) => Err((Malformation::NoMethodOrId, None)),
        (None, Some(None)) => Err((Malformation::NullId, None)),
        (None, Some(Some(id))) => match (result, error) {
            (Some(result), None) => Ok(Message::Response {
                id,
                outcome: Ok(result),
            }),
            (None, Some(error)) => Ok(Message::Response {
                id,
                outcome: Err(error),
            }),
            (Some(_), Some(_)) => Err((Malformation::ResultAndError, Some(id))),
            (None, None) => Err((Malformation::NoOutcome, Some(id))),
        },
    }
}

/// A frame that is not a valid message, or a frame the transport had to skip.
///
/// Reported on the [`IncomingReceiver`](crate::IncomingReceiver) as
/// [`Incoming::Malformed`](crate::Incoming::Malformed); the connection keeps
/// working. When the frame has a valid id and no method, and a call with that
/// id is waiting, the call also fails with
/// [`RpcError::MalformedResponse`](crate::RpcError::MalformedResponse)
/// carrying a copy of this report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedFrame {
    /// What is wrong with the frame.
    pub problem: Malformation,
    /// The length of the frame in bytes; 0 for a frame the transport discarded.
    pub len: usize,
    /// At most the first [`MalformedFrame::EXCERPT_LEN`] bytes of the frame,
    /// decoded lossily as UTF-8, secret-shaped strings redacted (see
    /// [`codexrt_transport::redact`]); empty for a frame the transport
    /// discarded.
    pub excerpt: String,
}

impl MalformedFrame {
    /// How many bytes of a malformed frame are kept in
    /// [`excerpt`](MalformedFrame::excerpt).
    pub const EXCERPT_LEN: usize = 200;

    fn new(problem: Malformation, frame: &[u8]) -> Self {
        // A margin past the excerpt, so that a secret crossing its end is
        // still recognised, and left out rather than shown in part.
        let head = frame.get(..Self::EXCERPT_LEN + 512).unwrap_or(frame);
        MalformedFrame {
            problem,
            len: frame.len(),
            excerpt: redact_prefix(&String::from_utf8_lossy(head), Self::EXCERPT_LEN).0,
        }
    }

    pub(crate) fn from_transport(err: FrameError) -> Self {
        MalformedFrame {
            problem: Malformation::Transport(err),
            len: 0,
            excerpt: String::new(),
        }
    }
}

impl fmt::Display for MalformedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Malformation::Transport(err) => write!(f, "{err}"),
            problem => write!(
                f,
                "malformed frame of {} bytes ({problem}), starting with {:?}",
                self.len, self.excerpt
            ),
        }
    }
}

/// What is wrong with a [`MalformedFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformation {
    /// Not JSON, or not UTF-8 where a string this layer reads is expected; the
    /// parser's message.
    Syntax(String),
    /// JSON, but not an object (a batch array or a bare value).
    NotAnObject,
    /// A member has the wrong type or value (a boolean id, a fractional id, a
    /// numeric method, an error without a code, a repeated member); the
    /// parser's message.
    InvalidMember(String),
    /// The id is `null`.
    NullId,
    /// Neither a method nor an id.
    NoMethodOrId,
    /// A method together with a `result` or an `error`.
    MethodWithOutcome,
    /// A response with both a `result` and an `error`.
    ResultAndError,
    /// An id with neither a method, a `result` nor an `error`.
    NoOutcome,
    /// The transport skipped the frame.
    Transport(FrameError),
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformation::Syntax(message) => write!(f, "invalid json: {message}"),
            Malformation::NotAnObject => f.write_str("not a json object"),
            Malformation::InvalidMember(message) => write!(f, "invalid member: {message}"),
            Malformation::NullId => f.write_str("the id is null"),
            Malformation::NoMethodOrId => f.write_str("neither a method nor an id"),
            Malformation::MethodWithOutcome => f.write_str("a method with a result or an error"),
            Malformation::ResultAndError => f.write_str("both a result and an error"),
            Malformation::NoOutcome => f.write_str("an id without a method, a result or an error"),
            Malformation::Transport(err) => write!(f, "{err}"),
        }
    }
}

#[cfg(test)]
mod tests;
