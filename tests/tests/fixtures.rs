//! The protocol-fixture suite: the golden transcripts recorded from every
//! supported codex version (`tests/fixtures/<version>/<scenario>.jsonl`,
//! re-recorded with `cargo xtask fixtures record`) decode line by line with
//! the typed protocol, and replay through our stack: the same scenario code
//! as the compatibility suite runs against the transcript instead of codex.

use std::collections::BTreeSet;

use codexrt_testkit::Transcript;
use codexrt_tests::scenario::{
    Scenario, ScenarioError, Target, VERSIONS, check_transcript_decodes, fixture_path, fixtures_dir,
};

codexrt_tests::for_each_case!(check_fixture);

async fn check_fixture(version: &'static str, scenario: Scenario) {
    let path = fixture_path(version, scenario);
    let transcript = Transcript::load(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err} (record it with `cargo xtask fixtures record {version} {scenario}`)",
            path.display()
        )
    });
    if let Err(err) = check_transcript_decodes(version, &transcript) {
        panic!("{}: {err}", path.display());
    }
    let target = Target::Replay {
        version: version.to_owned(),
        transcript,
    };
    if let Err(err) = scenario.run(target).await {
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        panic!(
            "{} does not replay: {err}{}",
            path.display(),
            cause.map(|cause| format!(": {cause}")).unwrap_or_default()
        );
    }
}

#[test]
fn every_version_and_scenario_is_instantiated() {
    assert_eq!(CASES.0, VERSIONS);
    let all: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(CASES.1, all);
}

/// A fixture nobody checks is a fixture nobody keeps up to date.
#[test]
fn every_fixture_file_belongs_to_a_case() {
    let expected: BTreeSet<_> = VERSIONS
        .iter()
        .flat_map(|version| Scenario::ALL.map(|scenario| fixture_path(version, scenario)))
        .collect();
    let mut found = BTreeSet::new();
    for version in std::fs::read_dir(fixtures_dir()).unwrap() {
        for file in std::fs::read_dir(version.unwrap().path()).unwrap() {
            found.insert(file.unwrap().path());
        }
    }
    let stray: Vec<_> = found.difference(&expected).collect();
    assert!(stray.is_empty(), "fixtures of no case: {stray:?}");
}

/// The replay has teeth: a client that answers differently than recorded
/// fails it.
#[tokio::test]
async fn a_client_that_differs_from_the_transcript_fails_the_replay() {
    let scenario = Scenario::CommandApproved;
    let transcript = Transcript::load(fixture_path("0.169.0", scenario)).unwrap();
    let text = transcript.to_jsonl().replace(
        r#""result":{"decision":"accept"}"#,
        r#""result":{"decision":"decline"}"#,
    );
    let target = Target::Replay {
        version: "0.169.0".to_owned(),
        transcript: Transcript::parse(&text).unwrap(),
    };
    let err = scenario.run(target).await.unwrap_err();
    assert!(matches!(err, ScenarioError::Replay(_)), "{err:?}");
}

/// So does the typed check: a method the protocol does not know is drift.
#[test]
fn an_unknown_method_in_a_transcript_is_drift() {
    let scenario = Scenario::StreamedAnswer;
    let transcript = Transcript::load(fixture_path("0.169.0", scenario)).unwrap();
    let text =
        transcript
            .to_jsonl()
            .replacen(r#""method":"turn/started""#, r#""method":"turn/began""#, 1);
    let err = check_transcript_decodes("0.169.0", &Transcript::parse(&text).unwrap()).unwrap_err();
    assert!(err.to_string().contains("turn/began"), "{err}");
}
