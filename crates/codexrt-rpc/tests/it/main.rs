//! Integration tests of the rpc layer over in-memory transports; the tests
//! play the server on the other end.

// clippy's test exemption covers `#[test]` functions only; in the helpers of
// a test binary, too, a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod calls;
mod close;
mod encode_props;
mod in_flight;
mod incoming;
mod malformed_answers;
mod oversize;
mod server_requests;
mod support;
mod wire;
