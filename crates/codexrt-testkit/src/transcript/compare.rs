//! Comparing frames the way replays and golden files do: normalized, with
//! request ids matched through a mapping, reporting the first difference as
//! a [`ReplayMismatch`].

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::{Direction, Frame, Line};
use crate::Normalizer;

/// The first difference between a transcript and what was observed: by a
/// replay ([`ReplayHandle::finish`](crate::ReplayHandle::finish)), a golden
/// file check or [`Transcript::compare`](crate::Transcript::compare).
///
/// `expected` and `actual` are the lines as compared: normalized, with the
/// actual request id replaced by the recorded one. The one-line message
/// names the line, the place and both values there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub struct ReplayMismatch {
    /// The 1-based number of the transcript line that was not matched.
    pub line: usize,
    /// The transcript line, or `None` when the transcript had ended.
    pub expected: Option<Line>,
    /// What was observed instead, or `None` when nothing more came (the
    /// client sent nothing more, or closed the connection).
    pub actual: Option<Line>,
    /// Where the two first differ, as a JSON Pointer (RFC 6901) into the
    /// message: `/params/model`, `/id`; empty when the frames differ as a
    /// whole (a missing line, a raw frame, another direction).
    pub path_of_first_difference: String,
}

impl fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match (&self.expected, &self.actual) {
            (Some(expected), None) => write!(
                f,
                "transcript line {line} expects {} {}, but nothing more came",
                expected.dir,
                excerpt(&expected.to_json_line())
            ),
            (None, Some(actual)) => write!(
                f,
                "transcript ended before line {line}, but got {} {}",
                actual.dir,
                excerpt(&actual.to_json_line())
            ),
            (Some(expected), Some(actual)) if self.path_of_first_difference.is_empty() => write!(
                f,
                "transcript line {line} differs: expected {}, got {}",
                excerpt(&expected.to_json_line()),
                excerpt(&actual.to_json_line())
            ),
            (Some(expected), Some(actual)) => {
                let path = &self.path_of_first_difference;
                write!(
                    f,
                    "transcript line {line} differs at {path}: expected {}, got {}",
                    value_at(expected, path),
                    value_at(actual, path)
                )
            }
            (None, None) => write!(f, "transcript line {line} differs"),
        }
    }
}

/// The value at a JSON Pointer in a line's message, shortened for a
/// one-line message.
fn value_at(line: &Line, path: &str) -> String {
    match line.msg().and_then(|msg| msg.pointer(path)) {
        Some(value) => excerpt(&value.to_string()),
        None => "nothing (absent)".to_owned(),
    }
}

/// Long frames are cut so that a message stays readable; the whole lines
/// stay in the mismatch's fields.
fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// The JSON Pointer of the first place where two values differ, or `None`
/// when they are equal. Object members are visited in key order, arrays by
/// index; a member present on one side only is a difference at its key.
pub(crate) fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(left), Value::Object(right)) => {
            // Both maps iterate in key order; walk their union.
            let mut keys: Vec<&String> = left.keys().chain(right.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let inner = match (left.get(key), right.get(key)) {
                    (Some(l), Some(r)) => first_difference(l, r)?,
                    _ => String::new(),
                };
                Some(format!("/{}{inner}", escape(key)))
            })
        }
        (Value::Array(left), Value::Array(right)) => {
            let shared = left.len().min(right.len());
            (0..shared)
                .find_map(|index| {
                    first_difference(&left[index], &right[index])
                        .map(|inner| format!("/{index}{inner}"))
                })
                .or_else(|| (left.len() != right.len()).then(|| format!("/{shared}")))
        }
        _ => (expected != actual).then(String::new),
    }
}

/// Escapes a key for a JSON Pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Compares frames line by line, keeping the mapping from recorded request
/// ids to the ids the client actually used.
///
/// Only requests the client sends (`out` lines with a `method` and an `id`)
/// establish the mapping; the server's own request ids are served as
/// recorded, so the client's answers to them are compared literally.
#[derive(Debug)]
pub(crate) struct Matcher<'a> {
    normalizer: &'a Normalizer,
    /// Recorded id (as JSON text) → the id the client used.
    ids: HashMap<String, Value>,
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(normalizer: &'a Normalizer) -> Matcher<'a> {
        Matcher {
            normalizer,
            ids: HashMap::new(),
        }
    }

    /// Checks one observed line against the transcript's line `number`
    /// (1-based); either may be missing.
    pub(crate) fn check_line(
        &mut self,
        number: usize,
        expected: Option<&Line>,
        actual: Option<&Line>,
    ) -> Result<(), ReplayMismatch> {
        let mismatch =
            |path: String, expected: Option<Line>, actual: Option<Line>| ReplayMismatch {
                line: number,
                expected,
                actual,
                path_of_first_difference: path,
            };
        let (expected, actual) = match (expected, actual) {
            (None, None) => return Ok(()),
            (Some(expected), Some(actual)) => (expected, actual),
            (expected, actual) => {
                return Err(mismatch(
                    String::new(),
                    expected.map(|line| self.normalize(line)),
                    actual.map(|line| self.normalize(line)),
                ));
            }
        };
        let expected = match expected.dir {
            Direction::In => self.rewrite_in(expected),
            Direction::Out => expected.clone(),
        };
        let mut actual = actual.clone();
        if expected.dir == Direction::Out && actual.dir == Direction::Out {
            self.map_request_id(&expected, &mut actual);
        }
        let expected = self.normalize(&expected);
        let actual = self.normalize(&actual);
        let path = match (&expected.frame, &actual.frame) {
            _ if expected.dir != actual.dir => Some(String::new()),
            (Frame::Json(left), Frame::Json(right)) => first_difference(left, right),
            (left, right) => (left != right).then(String::new),
        };
        match path {
            None => Ok(()),
            Some(path) => Err(mismatch(path, Some(expected), Some(actual))),
        }
    }

    /// A recorded inbound line as it is to be delivered now: a response's id
    /// becomes the id the client used for the request it answers.
    pub(crate) fn rewrite_in(&self, line: &Line) -> Line {
        let mut line = line.clone();
        if line.is_response() {
            if let Frame::Json(Value::Object(msg)) = &mut line.frame {
                if let Some(id) = msg.get_mut("id") {
                    if let Some(actual) = self.ids.get(&id.to_string()) {
                        *id = actual.clone();
                    }
                }
            }
        }
        line
    }

    /// For an expected out request: remembers which id the client used, and
    /// gives the actual message the recorded id so that ids compare equal.
    fn map_request_id(&mut self, expected: &Line, actual: &mut Line) {
        let (Some(recorded), true) = (expected.id(), expected.is_request()) else {
            return;
        };
        if let Frame::Json(Value::Object(msg)) = &mut actual.frame {
            if !msg.contains_key("method") {
                return;
            }
            if let Some(id) = msg.get_mut("id") {
                let used = std::mem::replace(id, recorded.clone());
                self.ids.insert(recorded.to_string(), used);
            }
        }
    }

    fn normalize(&self, line: &Line) -> Line {
        let mut line = line.clone();
        if let Frame::Json(value) = &mut line.frame {
            self.normalizer.normalize(value);
        }
        line
    }
}
