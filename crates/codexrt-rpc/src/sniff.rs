//! Which call a frame too long to parse was answering, read from the first
//! bytes the transport kept of it: a lenient scan of its top-level members.

use codexrt_transport::FrameError;

use crate::RequestId;

/// The call a frame the transport skipped was answering, when the bytes it
/// kept say so clearly.
pub(crate) fn skipped_answer(err: &FrameError) -> Option<RequestId> {
    if let FrameError::TooLong { prefix, .. } = err {
        answer_id(prefix)
    } else {
        None
    }
}

/// The id of the call that a message starting with `prefix` answers.
///
/// The top-level members of the object are read in order. The message is an
/// answer when an `"id"` holding an integer or a string and a `"result"` or
/// `"error"` member both appear before any `"method"`; the scan stops at the
/// first point where it knows both, since the rest (a long result) is what
/// it cannot see. Waiting for the outcome member, not just the id, matters:
/// codex writes its own requests id first (`{"id":0,"method":…}`), and an
/// over-long request must not be taken for the answer to our call 0.
///
/// Anything unclear names no call: the prefix ends before both members were
/// seen, the id is `null`, fractional, out of range or repeated, a member
/// name is written with escapes, the text is not an object. The values of
/// other members are skipped without being checked.
pub(crate) fn answer_id(prefix: &[u8]) -> Option<RequestId> {
    let mut scan = Scan {
        bytes: prefix,
        at: 0,
    };
    scan.eat(b'{')?;
    let mut id = None;
    let mut outcome = false;
    let mut first = true;
    loop {
        // The object ending here means it has no outcome in view.
        if !first {
            scan.eat(b',')?;
        }
        first = false;
        scan.skip_whitespace();
        let name = scan.string()?;
        scan.eat(b':')?;
        match name {
            b"method" => return None,
            b"id" if id.is_some() => return None,
            b"id" => id = Some(scan.id()?),
            b"result" | b"error" => {
                outcome = true;
                if id.is_none() {
                    scan.skip_value()?;
                }
            }
            _ => scan.skip_value()?,
        }
        if outcome && id.is_some() {
            return id;
        }
    }
}

/// A cursor over the prefix. Every step returns `None` where the text stops
/// making sense or ends, which ends the scan without an answer.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Skips whitespace, then takes `byte`.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (*self.bytes.get(self.at)? == byte).then(|| self.at += 1)
    }

    /// A string starting here, as the raw bytes between its quotes (escapes
    /// left as they are).
    fn string(&mut self) -> Option<&'a [u8]> {
        if *self.bytes.get(self.at)? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let mut at = start;
        loop {
            match *self.bytes.get(at)? {
                b'\\' => at += 2,
                b'"' => break,
                _ => at += 1,
            }
        }
        self.at = at + 1;
        self.bytes.get(start..at)
    }

    /// An id: an integer within `i64` written as JSON writes it, or a string.
    fn id(&mut self) -> Option<RequestId> {
        self.skip_whitespace();
        let start = self.at;
        if self.bytes.get(start) == Some(&b'"') {
            self.string()?;
            // The string is complete, so the JSON parser decodes its escapes
            // and checks its UTF-8.
            return serde_json::from_slice(self.bytes.get(start..self.at)?)
                .ok()
                .map(RequestId::String);
        }
        let token = self.scalar()?;
        let digits = token.strip_prefix(b"-").unwrap_or(token);
        let plain = match digits {
            [b'0'] => true,
            [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
            _ => false,
        };
        if !plain {
            return None;
        }
        std::str::from_utf8(token)
            .ok()?
            .parse()
            .ok()
            .map(RequestId::Integer)
    }

    /// A number or literal starting here, which must end before the prefix
    /// does: a number cut by the end of the prefix may go on.
    fn scalar(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        let len =
            self.bytes.get(start..)?.iter().position(|byte| {
                matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            })?;
        if len == 0 {
            return None;
        }
        self.at = start + len;
        self.bytes.get(start..self.at)
    }

    /// Skips a value of any kind. Objects and arrays are skipped by counting
    /// brackets outside strings, without checking what is inside.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match *self.bytes.get(self.at)? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0_usize;
                loop {
                    match *self.bytes.get(self.at)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => self.scalar().map(drop),
        }
    }
}

#[cfg(test)]
mod tests;
