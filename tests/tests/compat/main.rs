//! The compatibility suite (`cargo xtask compat`): every scenario of
//! `codexrt_tests::scenario` against the real codex of every supported
//! version, as `v0_169_0::streamed_answer` and so on, and every example
//! program of the `codexrt` crate, as `examples::v0_169_0::quickstart`;
//! the facade scenarios over a WebSocket with each authentication mode and
//! over a Unix socket, as `endpoints::v0_169_0::ws_token::one_shot_run`; and
//! the WebSocket transport's refusals and close reports against every
//! version, as `websocket::v0_169_0::signed_bearer_tokens_over_tcp` and so
//! on.
//!
//! The blocking client runs against the pinned version, as
//! `blocking::run_and_ask_return_the_scripted_answers` and so on.
//!
//! Nothing is skipped: when npm or a version is unavailable, the test fails
//! and says why.

mod blocking;
mod endpoints;
mod examples;
mod facade;
mod pool;
mod reconnect;
mod websocket;

use codexrt_tests::scenario::{Scenario, Target, VERSIONS};

codexrt_tests::for_each_case!(run_live);

async fn run_live(version: &'static str, scenario: Scenario) {
    let target = Target::Live {
        version: version.to_owned(),
    };
    if let Err(err) = scenario.run(target).await {
        panic!("{scenario} against codex {version}: {}", report(&err));
    }
}

/// The error with its chain of causes, one per line.
fn report(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    text
}

#[test]
fn every_version_and_scenario_is_instantiated() {
    assert_eq!(CASES.0, VERSIONS);
    let all: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(CASES.1, all);
}
