//! Unit tests of the pieces of the stdio transport that need no child process:
//! the stderr ring and the stderr line splitter. The transport itself is
//! tested against a real child in the workspace's `tests` package.

use super::EnvPolicy;
use super::stderr::{LineSplitter, Ring};

/// Pushes `chunks` into a ring of `size` bytes and compares its tail.
fn check_ring(size: usize, chunks: &[&[u8]], expected: &str) {
    let mut ring = Ring::new(size);
    for chunk in chunks {
        ring.push(chunk);
    }
    assert_eq!(ring.tail(), expected, "size {size}, chunks {chunks:?}");
}

#[test]
fn ring_keeps_the_last_bytes() {
    check_ring(8, &[], "");
    check_ring(8, &[b"abc"], "abc");
    check_ring(8, &[b"abc", b"defgh"], "abcdefgh");
    check_ring(8, &[b"abc", b"defgh", b"ij"], "cdefghij");
    check_ring(8, &[b"0123456789abcdef"], "89abcdef");
    check_ring(8, &[b"xy", b"0123456789abcdef", b"z"], "9abcdefz");
    check_ring(0, &[b"anything"], "");
    let many: Vec<&[u8]> = std::iter::repeat_n(&b"ab"[..], 1000).collect();
    check_ring(5, &many, "babab");
}

#[test]
fn ring_tail_skips_a_character_cut_in_half() {
    // "é" is two bytes; a ring of 3 keeps only its second byte and "ab".
    check_ring(3, &["xé".as_bytes(), b"ab"], "ab");
    check_ring(4, &["xé".as_bytes(), b"ab"], "éab");
    // Invalid bytes elsewhere are replaced, not dropped.
    check_ring(4, &[b"a\xffbc"], "a\u{fffd}bc");
}

/// Feeds `chunks` to a splitter of lines of at most `max_len` bytes and
/// compares the emitted lines, including the final unterminated one.
fn check_lines(max_len: usize, chunks: &[&str], expected: &[(&str, bool)]) {
    let mut splitter = LineSplitter::new(max_len);
    let mut lines = Vec::new();
    let mut emit = |line: &[u8], truncated: bool| {
        lines.push((String::from_utf8_lossy(line).into_owned(), truncated));
    };
    for chunk in chunks {
        splitter.push(chunk.as_bytes(), &mut emit);
    }
    splitter.finish(&mut emit);
    let expected: Vec<(String, bool)> = expected
        .iter()
        .map(|&(line, truncated)| (line.to_owned(), truncated))
        .collect();
    assert_eq!(lines, expected, "max_len {max_len}, chunks {chunks:?}");
}

#[test]
fn splitter_emits_whole_lines() {
    check_lines(8, &[], &[]);
    check_lines(8, &["one\ntwo\n"], &[("one", false), ("two", false)]);
    check_lines(
        8,
        &["o", "ne\nt", "wo\n"],
        &[("one", false), ("two", false)],
    );
    check_lines(8, &["crlf\r\n"], &[("crlf", false)]);
    check_lines(8, &["\n\n"], &[("", false), ("", false)]);
    check_lines(8, &["last"], &[("last", false)]);
}

#[test]
fn splitter_cuts_long_lines() {
    check_lines(4, &["abcd\n"], &[("abcd", false)]);
    check_lines(4, &["abcd\r\n"], &[("abcd", false)]);
    check_lines(4, &["abcde\n"], &[("abcd", true)]);
    check_lines(4, &["abcdef\r\n"], &[("abcd", true)]);
    check_lines(
        4,
        &["ab", "cdefgh", "ij\nok\n"],
        &[("abcd", true), ("ok", false)],
    );
    check_lines(4, &["abcdefgh"], &[("abcd", true)]);
}

#[test]
fn env_policy_allow_collects_names() {
    assert_eq!(
        EnvPolicy::allow(["PATH", "HOME"]),
        EnvPolicy::Allow(vec!["PATH".into(), "HOME".into()])
    );
}
