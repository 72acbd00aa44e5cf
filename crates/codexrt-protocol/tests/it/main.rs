//! Integration tests of `codexrt-protocol`: every generated type against the
//! vendored schemas, compatibility in both directions, the method enums and
//! the capability map.

// clippy's test exemption covers `#[test]` functions only; in the helpers of
// a test binary, too, a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod backward;
mod capabilities;
mod cross_version;
mod forward;
mod generated_cases;
mod history;
mod messages;
mod one_pass;
mod roundtrip;
mod schema;
mod tagged_props;
mod types;
