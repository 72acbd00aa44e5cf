//! One transcript line: a [`Frame`] (parsed JSON, raw text, or a frame the
//! transport skipped) and its [`Direction`], with the JSONL form
//! `{"dir":"out"|"in","msg"|"raw"|"too_long":..}`.

use std::fmt;

use bytes::Bytes;
use codexrt_transport::{FrameError, Inbound};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Which way a frame went, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client to the server (`"out"`).
    Out,
    /// From the server to the client (`"in"`).
    In,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Out => "out",
            Direction::In => "in",
        })
    }
}

/// One frame of a transcript.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// A frame that parsed as JSON (`"msg"`).
    Json(Value),
    /// A frame that is not JSON, as text (`"raw"`); bytes that are not UTF-8
    /// are replaced with U+FFFD.
    Raw(String),
    /// A frame the transport skipped because it was longer than `max_len`
    /// bytes (`"too_long"`); only inbound frames can be skipped. Only the
    /// limit is kept, not the frame's first bytes: replayed, the report
    /// names no call.
    TooLong {
        /// The transport's frame size limit.
        max_len: usize,
    },
}

impl Frame {
    /// The frame's bytes: parsed as JSON when they are JSON, kept as text
    /// otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Frame {
        match serde_json::from_slice(bytes) {
            Ok(value) => Frame::Json(value),
            Err(_) => Frame::Raw(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// An inbound item of a transport connection as a transcript frame.
    pub fn from_inbound(item: &Inbound) -> Frame {
        match item {
            Ok(bytes) => Frame::from_bytes(bytes),
            Err(FrameError::TooLong { max_len, .. }) => Frame::TooLong { max_len: *max_len },
            // `FrameError` may grow; a skipped frame of an unknown kind is
            // kept visible as text rather than left out of the transcript.
            Err(other) => Frame::Raw(format!("<skipped frame: {other}>")),
        }
    }

    /// The frame as a transport would deliver it: JSON is written compactly
    /// (so without newlines), raw text as its bytes.
    pub fn to_inbound(&self) -> Inbound {
        match self {
            Frame::Json(value) => Ok(Bytes::from(value.to_string())),
            Frame::Raw(text) => Ok(Bytes::from(text.clone())),
            // The transcript keeps the limit only: the report comes back
            // with one byte over it seen and no prefix, so it names no call.
            Frame::TooLong { max_len } => Err(FrameError::TooLong {
                max_len: *max_len,
                seen: max_len.saturating_add(1),
                prefix: Bytes::new(),
            }),
        }
    }

    /// The JSON message, if the frame is one.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Frame::Json(value) => Some(value),
            _ => None,
        }
    }
}

/// One line of a transcript: a frame and its direction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Line {
    /// Which way the frame went.
    pub dir: Direction,
    /// The frame.
    pub frame: Frame,
}

impl Line {
    /// A line of a JSON message.
    pub fn json(dir: Direction, msg: Value) -> Line {
        Line {
            dir,
            frame: Frame::Json(msg),
        }
    }

    /// A line of any frame.
    pub fn new(dir: Direction, frame: Frame) -> Line {
        Line { dir, frame }
    }

    /// The JSON message, if the frame is one.
    pub fn msg(&self) -> Option<&Value> {
        self.frame.json()
    }

    /// The message's `method`, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        self.msg()?.get("method")?.as_str()
    }

    /// The message's `id`, for requests and responses.
    pub fn id(&self) -> Option<&Value> {
        self.msg()?.get("id")
    }

    /// Whether the message is a request (a `method` and an `id`).
    pub fn is_request(&self) -> bool {
        self.method().is_some() && self.id().is_some()
    }

    /// Whether the message is a notification (a `method`, no `id`).
    pub fn is_notification(&self) -> bool {
        self.method().is_some() && self.id().is_none()
    }

    /// Whether the message is a response (an `id`, no `method`).
    pub fn is_response(&self) -> bool {
        self.method().is_none() && self.id().is_some()
    }

    /// Decodes the whole message as `T`.
    ///
    /// # Errors
    /// The decoder's error; a frame that is not JSON decodes as `null`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.msg().unwrap_or(&Value::Null))
    }

    /// Decodes the message's `params` as `T` (absent params as `null`).
    ///
    /// # Errors
    /// The decoder's error.
    pub fn decode_params<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.decode_member("params")
    }

    /// Decodes the message's `result` as `T` (an absent result as `null`).
    ///
    /// # Errors
    /// The decoder's error.
    pub fn decode_result<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.decode_member("result")
    }

    fn decode_member<T: DeserializeOwned>(&self, name: &str) -> Result<T, serde_json::Error> {
        let member = self.msg().and_then(|msg| msg.get(name));
        T::deserialize(member.unwrap_or(&Value::Null))
    }

    /// The line as one line of JSONL, without the newline.
    pub fn to_json_line(&self) -> String {
        // Serializing a `Value`, a string or a number into a string cannot
        // fail: `Value` maps have string keys and nothing is written to IO.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one line of JSONL.
    ///
    /// # Errors
    /// The parser's error when the text is not one JSON object with a
    /// `dir` and exactly one of `msg`, `raw` and `too_long`.
    pub fn from_json_line(text: &str) -> Result<Line, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_line())
    }
}

/// How a line is written: `dir` first, then the one member that holds the
/// frame.
#[derive(Serialize)]
struct WireOut<'a> {
    dir: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    too_long: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    dir: Direction,
    // `Option<Option<_>>` keeps `"msg": null` (a frame that was the JSON
    // `null`) apart from an absent `msg`.
    #[serde(default, deserialize_with = "present")]
    msg: Option<Value>,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    too_long: Option<usize>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Line, D::Error> {
        use serde::de::Error;
        let wire = WireIn::deserialize(deserializer)?;
        let frame = match (wire.msg, wire.raw, wire.too_long) {
            (Some(msg), None, None) => Frame::Json(msg),
            (None, Some(raw), None) => Frame::Raw(raw),
            (None, None, Some(max_len)) => Frame::TooLong { max_len },
            _ => {
                return Err(D::Error::custom(
                    "a transcript line needs exactly one of `msg`, `raw` and `too_long`",
                ));
            }
        };
        Ok(Line {
            dir: wire.dir,
            frame,
        })
    }
}

impl Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (msg, raw, too_long) = match &self.frame {
            Frame::Json(value) => (Some(value), None, None),
            Frame::Raw(text) => (None, Some(text.as_str()), None),
            Frame::TooLong { max_len } => (None, None, Some(*max_len)),
        };
        WireOut {
            dir: self.dir,
            msg,
            raw,
            too_long,
        }
        .serialize(serializer)
    }
}
