//! The redaction patterns, the bound and the frame digest, checked on whole values.

use super::{FrameDigest, MAX_PEER_TEXT, bounded, peer_text};

fn check(input: &str, expected: &str) {
    assert_eq!(peer_text(input), expected, "{input:?}");
}

#[test]
fn secrets_are_redacted() {
    check("key sk-abcdefgh12345678 end", "key sk-[redacted] end");
    check("sk-proj-AbC_dEf-1234567890xyz", "sk-[redacted]");
    check(
        "Authorization: Bearer abc.DEF-123_456~+/=",
        "Authorization: Bearer [redacted]",
    );
    check(
        "authorization: bearer   tok12345678",
        "authorization: bearer   [redacted]",
    );
    check(
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl!",
        "jwt [redacted]!",
    );
    check(
        "OPENAI_API_KEY=sk-live-123 next",
        "OPENAI_API_KEY=[redacted] next",
    );
    check(
        "export db_password='a b c' x",
        "export db_password=[redacted] x",
    );
    check("--AWS_SECRET=\"x y\"", "--AWS_SECRET=[redacted]");
    check("GH_TOKEN=ghp_123,other", "GH_TOKEN=[redacted],other");
}

#[test]
fn lookalikes_are_kept() {
    check(
        "sk-learn and task-abcdefghijk",
        "sk-learn and task-abcdefghijk",
    );
    check("Bearer short", "Bearer short");
    check(
        "a.b.c eyJ alone, xeyJabc.def.ghi",
        "a.b.c eyJ alone, xeyJabc.def.ghi",
    );
    check(
        "KEY=1 MONKEY_BUSINESS=2 A_KEYS=3",
        "KEY=1 MONKEY_BUSINESS=2 A_KEYS=3",
    );
    check("héllo wörld ✓", "héllo wörld ✓");
}

#[test]
fn long_text_is_cut_at_a_char_boundary_with_the_rest_counted() {
    let text = format!("{}é{}", "a".repeat(MAX_PEER_TEXT - 1), "b".repeat(10));
    // The `é` would end one byte past the bound: the cut comes before it.
    assert_eq!(
        peer_text(&text),
        format!("{}… 12 bytes more", "a".repeat(MAX_PEER_TEXT - 1))
    );
    assert_eq!(bounded("abcdef", 3), "abc… 3 bytes more");
    assert_eq!(bounded("abc", 3), "abc");
    // A secret across the bound is left out whole, never shown in part.
    assert_eq!(bounded("ab sk-abcdefgh12345678", 10), "ab … 19 bytes more");
}

#[test]
fn a_digest_shows_length_and_hash_only() {
    let digest = FrameDigest::of(b"secret sk-abcdefgh12345678");
    let shown = format!("{digest} {digest:?}");
    assert!(!shown.contains("sk-"), "{shown}");
    assert_eq!(shown, "26 bytes #bf515c24 26 bytes #bf515c24");
    assert_ne!(FrameDigest::of(b"a"), FrameDigest::of(b"b"));
}
