//! [`Transcript`]: a JSON-RPC conversation as JSONL, one frame per line, with
//! its direction seen from the client: `{"dir":"out","msg":{...}}` for what
//! the client sent, `{"dir":"in","msg":{...}}` for what it received.

mod compare;
mod line;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub(crate) use compare::Matcher;
pub use compare::ReplayMismatch;
pub use line::{Direction, Frame, Line};

use crate::{Normalizer, TestkitError};

/// A conversation between a client and an app-server: an ordered list of
/// [`Line`]s, stored as JSONL.
///
/// Line numbers in errors and mismatches count from 1 and match the file,
/// which has one line per frame and no blank lines (trailing whitespace
/// excepted).
///
/// ```
/// use codexrt_testkit::{Direction, Transcript};
///
/// let transcript = Transcript::parse(
///     r#"{"dir":"out","msg":{"id":1,"method":"initialize","params":{}}}
/// {"dir":"in","msg":{"id":1,"result":{"userAgent":"codex/0.169.0"}}}
/// "#,
/// )?;
/// assert_eq!(transcript.len(), 2);
/// assert_eq!(transcript.lines()[0].method(), Some("initialize"));
/// let methods: Vec<_> = transcript.messages(Direction::Out).collect();
/// assert_eq!(methods.len(), 1);
/// # Ok::<(), codexrt_testkit::TestkitError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    lines: Vec<Line>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Transcript {
        Transcript::default()
    }

    /// A transcript of these lines.
    pub fn from_lines(lines: impl IntoIterator<Item = Line>) -> Transcript {
        Transcript {
            lines: lines.into_iter().collect(),
        }
    }

    /// Parses JSONL text.
    ///
    /// # Errors
    /// [`TestkitError::TranscriptLine`] for the first line that is not a
    /// transcript line (a blank line in the middle included).
    pub fn parse(text: &str) -> Result<Transcript, TestkitError> {
        parse_lines(text).map_err(|(line, source)| TestkitError::TranscriptLine { line, source })
    }

    /// Reads a JSONL file.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the file cannot be read,
    /// [`TestkitError::TranscriptFile`] for the first line that is not a
    /// transcript line.
    pub fn load(path: impl AsRef<Path>) -> Result<Transcript, TestkitError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| TestkitError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        parse_lines(&text).map_err(|(line, source)| TestkitError::TranscriptFile {
            path: path.to_owned(),
            line,
            source,
        })
    }

    /// Writes the transcript as JSONL, replacing the file.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TestkitError> {
        let path = path.as_ref();
        fs::write(path, self.to_jsonl()).map_err(|source| TestkitError::Io {
            action: "write",
            path: PathBuf::from(path),
            source,
        })
    }

    /// The transcript as JSONL text: one line per frame, each ending in `\n`.
    pub fn to_jsonl(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.push_str(&line.to_json_line());
            text.push('\n');
        }
        text
    }

    /// The lines, in order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Iterates over the lines, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Line> {
        self.lines.iter()
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Appends a line.
    pub fn push(&mut self, line: Line) {
        self.lines.push(line);
    }

    /// The JSON messages sent in one direction, in order (raw and skipped
    /// frames left out).
    pub fn messages(&self, dir: Direction) -> impl Iterator<Item = &Value> + '_ {
        self.lines
            .iter()
            .filter(move |line| line.dir == dir)
            .filter_map(Line::msg)
    }

    /// The methods of the requests and notifications sent in one direction,
    /// in order.
    pub fn methods(&self, dir: Direction) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|line| line.dir == dir)
            .filter_map(Line::method)
            .collect()
    }

    /// The first line with this method (a request or a notification), in
    /// either direction.
    pub fn find(&self, method: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.method() == Some(method))
    }

    /// A copy with `normalizer` applied to every JSON message.
    pub fn normalized(&self, normalizer: &Normalizer) -> Transcript {
        let mut copy = self.clone();
        for line in &mut copy.lines {
            if let Frame::Json(value) = &mut line.frame {
                normalizer.normalize(value);
            }
        }
        copy
    }

    /// Compares two transcripts line by line, as a replay would: both are
    /// normalized, out-request ids are matched through the mapping the
    /// requests establish and response ids are compared through it. This is
    /// also what golden files and fixtures use.
    ///
    /// # Errors
    /// The first difference, as a [`ReplayMismatch`]; when one transcript is
    /// longer, the first extra line is the difference.
    pub fn compare(
        expected: &Transcript,
        actual: &Transcript,
        normalizer: &Normalizer,
    ) -> Result<(), ReplayMismatch> {
        let mut matcher = Matcher::new(normalizer);
        let count = expected.len().max(actual.len());
        for index in 0..count {
            matcher.check_line(
                index + 1,
                expected.lines.get(index),
                actual.lines.get(index),
            )?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a Transcript {
    type Item = &'a Line;
    type IntoIter = std::slice::Iter<'a, Line>;

    fn into_iter(self) -> Self::IntoIter {
        self.lines.iter()
    }
}

impl FromIterator<Line> for Transcript {
    fn from_iter<I: IntoIterator<Item = Line>>(lines: I) -> Transcript {
        Transcript::from_lines(lines)
    }
}

impl Extend<Line> for Transcript {
    fn extend<I: IntoIterator<Item = Line>>(&mut self, lines: I) {
        self.lines.extend(lines);
    }
}

/// Parses JSONL; on failure, the 1-based number of the bad line and why.
fn parse_lines(text: &str) -> Result<Transcript, (usize, serde_json::Error)> {
    // Only trailing whitespace is forgiven, so that line numbers always
    // match the file.
    text.trim_end()
        .lines()
        .enumerate()
        .map(|(index, line)| Line::from_json_line(line).map_err(|err| (index + 1, err)))
        .collect()
}
