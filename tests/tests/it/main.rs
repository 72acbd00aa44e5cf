//! Cross-crate integration suite: real child processes over real pipes,
//! and a bounded run of every fuzz target.

// A failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod demo;
mod fake_stdio;
mod fake_websocket;
mod flood_stdio;
mod fuzz;
mod mcp_elicitation;
mod pool;
mod rpc_stdio;
mod stdio;
