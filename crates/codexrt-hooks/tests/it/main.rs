//! Integration tests of codexrt-hooks: the hook chain on its own, the
//! approval loop against the testkit's in-process fake app-server, and the
//! loop against the real codex binary.

// Helpers outside `#[test]` functions fail the test the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod audit;
mod chain;
mod lifecycle;
mod observe;
mod real_codex;
mod real_codex_requests;
mod requests;
mod rules;
mod scope;
mod serve;
mod shell;
mod timeouts;
