//! The facade scenarios of `codexrt_tests::scenario::facade` against the
//! real codex of every supported version, as `facade::v0_169_0::one_shot_run`
//! and so on: codex driven only through `codexrt`.

use codexrt_tests::scenario::VERSIONS;
use codexrt_tests::scenario::facade::FacadeScenario;

use super::report;

codexrt_tests::for_each_facade_case!(run_facade);

async fn run_facade(version: &'static str, scenario: FacadeScenario) {
    if let Err(err) = scenario.run(version).await {
        panic!(
            "facade scenario {scenario} against codex {version}: {}",
            report(&err)
        );
    }
}

#[test]
fn every_version_and_facade_scenario_is_instantiated() {
    assert_eq!(FACADE_CASES.0, VERSIONS);
    let all: Vec<&str> = FacadeScenario::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(FACADE_CASES.1, all);
}
