//! Integration tests of the transports over real sockets; the tests play the
//! server on the other end.

// clippy's test exemption covers `#[test]` functions only; in the helpers of
// a test binary, too, a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod framing_props;
mod websocket;
