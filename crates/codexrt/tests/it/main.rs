//! The integration tests of the codexrt facade: against the testkit's
//! in-process fake app-server (exact wire params), and against the real
//! codex binary with a scripted model.

// Helpers outside `#[test]` functions fail the test the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod calls;
mod connect;
mod hooks;
mod output;
mod pool;
mod real_codex;
mod reconnect;
mod run;
mod sessions;
mod spans;
mod support;
mod threads;
