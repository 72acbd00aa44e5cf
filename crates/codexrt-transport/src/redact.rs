//! Text that comes from the peer, made safe to show: secret-shaped strings
//! redacted, length bounded. Every layer uses these helpers where peer text
//! reaches an error, a close report, `Debug`/`Display` output or a log line,
//! and [`FrameDigest`] where a frame would otherwise be logged whole.

use std::fmt;

/// How many bytes of peer text an error, a report or a log line shows
/// before it is cut with "… N bytes more": 4 KiB.
pub const MAX_PEER_TEXT: usize = 4 * 1024;

/// What a redacted secret is replaced with (after the part that says what
/// kind of secret it was, such as `sk-` or `Bearer `).
const REDACTED: &str = "[redacted]";

/// The shortest run of key characters after `sk-` or `Bearer ` that counts
/// as a secret; shorter ones are ordinary words (`sk-learn`).
const MIN_SECRET: usize = 8;

/// The name endings that make `NAME=value` a secret assignment.
const SECRET_NAMES: [&str; 4] = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];

/// Redacts secret-shaped strings in `text` and cuts the result at
/// [`MAX_PEER_TEXT`] bytes (at a character boundary), followed by
/// "… N bytes more" where N counts the bytes of `text` left out.
///
/// Redacted, whatever surrounds them:
/// - API keys: `sk-` followed by at least 8 key characters
///   (letters, digits, `-`, `_`);
/// - bearer tokens: `Bearer ` (any case) followed by at least 8 token
///   characters;
/// - JWTs: three base64url parts joined by dots, the first starting with
///   `eyJ` (the encoding of `{"`);
/// - assignments to a name ending in `_KEY`, `_TOKEN`, `_SECRET` or
///   `_PASSWORD` (any case): `OPENAI_API_KEY=...`, quoted or not.
///
/// ```
/// use codexrt_transport::redact::peer_text;
///
/// assert_eq!(
///     peer_text("auth failed for sk-proj-abcdefgh12345678 (AWS_SECRET=hunter22)"),
///     "auth failed for sk-[redacted] (AWS_SECRET=[redacted])"
/// );
/// let long = "x".repeat(5000);
/// assert_eq!(peer_text(&long), format!("{}… 904 bytes more", "x".repeat(4096)));
/// ```
pub fn peer_text(text: &str) -> String {
    bounded(text, MAX_PEER_TEXT)
}

/// [`peer_text`] with a bound of `max` bytes instead of [`MAX_PEER_TEXT`].
pub fn bounded(text: &str, max: usize) -> String {
    let (mut out, shown) = redact_prefix(text, max);
    if shown < text.len() {
        out.push_str(&format!("… {} bytes more", text.len() - shown));
    }
    out
}

/// `text` with its secrets redacted (as by [`peer_text`]), without a bound:
/// for text that is bounded already, such as a stderr ring.
pub fn redacted(text: &str) -> String {
    redact_prefix(text, usize::MAX).0
}

/// The redacted start of `text`, at most `max` bytes, and how many bytes of
/// `text` it stands for. A secret that would cross the bound is left out
/// whole rather than shown in part.
pub fn redact_prefix(text: &str, max: usize) -> (String, usize) {
    let mut out = String::with_capacity(text.len().min(max));
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let before = at.checked_sub(1).map(|prev| bytes[prev]);
        let (piece, next) = match secret_at(text, at, before) {
            Some((replacement, end)) => (replacement, end),
            None => {
                let len = char_len(bytes[at]);
                (Piece::Text(&text[at..at + len]), at + len)
            }
        };
        if out.len() + piece.len() > max {
            break;
        }
        piece.push_to(&mut out);
        at = next;
    }
    (out, at)
}

/// What replaces a stretch of the input.
enum Piece<'a> {
    Text(&'a str),
    /// A secret: the kept start (`sk-`, `Bearer `, `NAME=`) and the marker.
    Redacted(&'a str),
}

impl Piece<'_> {
    fn len(&self) -> usize {
        match self {
            Piece::Text(text) => text.len(),
            Piece::Redacted(kept) => kept.len() + REDACTED.len(),
        }
    }

    fn push_to(&self, out: &mut String) {
        match self {
            Piece::Text(text) => out.push_str(text),
            Piece::Redacted(kept) => {
                out.push_str(kept);
                out.push_str(REDACTED);
            }
        }
    }
}

/// The secret starting at byte `at` of `text` (after the byte `before`),
/// if any: its replacement and where it ends.
fn secret_at(text: &str, at: usize, before: Option<u8>) -> Option<(Piece<'_>, usize)> {
    let rest = &text.as_bytes()[at..];
    // Secrets start at a word boundary, so that `task-...`, a hash with
    // `eyJ` inside or the middle of a name is left alone.
    if before.is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
        return None;
    }
    let key_boundary = before != Some(b'-');
    if key_boundary && rest.starts_with(b"sk-") {
        let run = run_len(&rest[3..], is_key_byte);
        if run >= MIN_SECRET {
            return Some((Piece::Redacted(&text[at..at + 3]), at + 3 + run));
        }
    }
    if key_boundary && rest.len() > 7 && rest[..7].eq_ignore_ascii_case(b"bearer ") {
        let spaces = run_len(&rest[6..], |byte| byte == b' ');
        let start = 6 + spaces;
        let run = run_len(&rest[start..], is_token_byte);
        if run >= MIN_SECRET {
            return Some((Piece::Redacted(&text[at..at + start]), at + start + run));
        }
    }
    if key_boundary && rest.starts_with(b"eyJ") {
        if let Some(len) = jwt_len(rest) {
            return Some((Piece::Redacted(""), at + len));
        }
    }
    let name = run_len(rest, |byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if name > 0 && rest.get(name) == Some(&b'=') && is_secret_name(&rest[..name]) {
        let value = value_len(&rest[name + 1..]);
        return Some((
            Piece::Redacted(&text[at..at + name + 1]),
            at + name + 1 + value,
        ));
    }
    None
}

/// The length of a JWT at the start of `bytes`: three non-empty base64url
/// parts joined by dots.
fn jwt_len(bytes: &[u8]) -> Option<usize> {
    let mut end = 0;
    for part in 0..3 {
        if part > 0 {
            if bytes.get(end) != Some(&b'.') {
                return None;
            }
            end += 1;
        }
        let run = run_len(&bytes[end..], is_key_byte);
        if run == 0 {
            return None;
        }
        end += run;
    }
    Some(end)
}

/// The length of an assigned value: a quoted string (quotes included), or
/// everything up to whitespace or a separator.
fn value_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(&quote @ (b'"' | b'\'')) => {
            let inner = run_len(&bytes[1..], |byte| byte != quote);
            // The closing quote, when there is one.
            (1 + inner + 1).min(bytes.len())
        }
        _ => run_len(bytes, |byte| {
            !byte.is_ascii_whitespace()
                && !matches!(byte, b'"' | b'\'' | b',' | b';' | b'&' | b')' | b']' | b'}')
        }),
    }
}

fn is_secret_name(name: &[u8]) -> bool {
    SECRET_NAMES.iter().any(|ending| {
        name.len() >= ending.len()
            && name[name.len() - ending.len()..].eq_ignore_ascii_case(ending.as_bytes())
    })
}

fn run_len(bytes: &[u8], mut accept: impl FnMut(u8) -> bool) -> usize {
    bytes.iter().take_while(|&&byte| accept(byte)).count()
}

fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

fn is_token_byte(byte: u8) -> bool {
    is_key_byte(byte) || matches!(byte, b'.' | b'~' | b'+' | b'/' | b'=')
}

/// The length of the UTF-8 character that starts with `first`; 1 for a
/// byte that cannot start one (never the case in a `str`).
fn char_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// A frame as logs show it: its length and a short hash of its content,
/// never the content itself. Two log lines about the same frame show the
/// same hash.
///
/// ```
/// use codexrt_transport::redact::FrameDigest;
///
/// let digest = FrameDigest::of(br#"{"id":1,"result":"sk-abcdefgh12345678"}"#);
/// assert_eq!(digest.to_string(), "39 bytes #e1bd11d9");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FrameDigest {
    len: usize,
    hash: u32,
}

impl FrameDigest {
    /// The digest of `frame`: 32-bit FNV-1a, enough to tell frames apart in
    /// a log, and nothing that could be reversed into a secret.
    pub fn of(frame: &[u8]) -> Self {
        let hash = frame.iter().fold(0x811c_9dc5_u32, |hash, &byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        });
        FrameDigest {
            len: frame.len(),
            hash,
        }
    }
}

impl fmt::Display for FrameDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes #{:08x}", self.len, self.hash)
    }
}

impl fmt::Debug for FrameDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests;
