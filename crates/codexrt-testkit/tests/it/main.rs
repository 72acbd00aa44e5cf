//! Integration tests of the testkit: the model server over plain HTTP, the
//! launcher with a fake npm, and real codex turns against the model server.

// A failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod app_server;
mod fake;
mod http;
mod launcher;
mod model_server;
mod real_codex;
mod record_replay;
