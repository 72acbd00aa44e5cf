//! Facade scenarios over every endpoint that is not stdio, against the real
//! codex of every supported version, as
//! `endpoints::v0_169_0::ws_token::one_shot_run` and so on: codex started as
//! `codex app-server --listen ws://127.0.0.1:0` with a capability token or
//! with signed bearer tokens, or `--listen unix://PATH`, and reached through
//! `ClientConfig::websocket`. The scenarios are those of the facade suite
//! (`codexrt_tests::scenario::facade`), unchanged.

use codexrt_tests::scenario::VERSIONS;
use codexrt_tests::scenario::facade::{Endpoint, FacadeScenario};

use super::report;

/// The scenarios run over every endpoint: a one-shot run, a session of two
/// prompts, a streamed ask, a command a hook approves and one it declines,
/// an interrupt, a dynamic tool, files through `fs/*` and a streamed
/// `command/exec`.
macro_rules! for_each_endpoint_case {
    ([$($module:ident = $version:literal),*]) => {
        $(
            mod $module {
                for_each_endpoint_case!(@endpoints $version, [ws_token, ws_signed, unix_socket]);
            }
        )*
        const ENDPOINT_VERSIONS: &[&str] = &[$($version),*];
    };
    (@endpoints $version:literal, [$($endpoint:ident),*]) => {
        $(
            mod $endpoint {
                for_each_endpoint_case!(@scenarios $version, $endpoint,
                    [one_shot_run, session_keeps_context, ask_stream_deltas,
                     hook_accepts_command, hook_declines_command, interrupt,
                     dynamic_tool_round_trip, fs_round_trip, exec_streams_output]);
            }
        )*
    };
    (@scenarios $version:literal, $endpoint:ident, [$($scenario:ident),*]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                crate::endpoints::run_over($version, stringify!($endpoint), stringify!($scenario))
                    .await;
            }
        )*
    };
}

codexrt_tests::with_supported_versions!(for_each_endpoint_case;);

async fn run_over(version: &'static str, endpoint: &str, scenario: &str) {
    let (Some(endpoint), Some(scenario)) = (
        Endpoint::from_name(endpoint),
        FacadeScenario::from_name(scenario),
    ) else {
        panic!("`{endpoint}` or `{scenario}` is not an endpoint or a facade scenario");
    };
    if let Err(err) = endpoint.scope(scenario.run(version)).await {
        panic!(
            "facade scenario {scenario} over {endpoint} against codex {version}: {}",
            report(&err)
        );
    }
}

#[test]
fn every_version_is_instantiated() {
    assert_eq!(ENDPOINT_VERSIONS, VERSIONS);
}
