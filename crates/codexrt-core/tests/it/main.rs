//! The integration tests of codexrt-core: the runtime against the testkit's
//! in-process fake app-server, and against the real codex binary.

// Helpers outside `#[test]` functions fail the test the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod calls;
mod exactly_once_props;
mod flood;
mod handshake;
mod real_codex;
mod redaction;
mod server_requests;
mod support;
mod turns;
