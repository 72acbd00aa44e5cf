//! `record-fixture <version|all> <scenario|all>`: re-records golden
//! transcripts by running scenarios live against codex with recording on.
//! `cargo xtask fixtures record` runs it.
//!
//! Each recording is compared (normalized) with its file under
//! `tests/fixtures/`; a file that differs, or is missing, is rewritten.
//! Prints one line per case (`unchanged`, `rewritten` or `FAILED`) and
//! exits with 1 only if a scenario run failed, 2 on bad arguments.

// The program reports to its user on the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use codexrt_tests::scenario::{FixtureOutcome, Scenario, VERSIONS, fixture_path, record_fixture};

const USAGE: &str = "usage: record-fixture <version|all> <scenario|all>";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (versions, scenarios) = match parse(&args) {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("record-fixture: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    let mut rewritten = 0;
    for version in &versions {
        for scenario in &scenarios {
            let path = fixture_path(version, *scenario);
            let path = path.display();
            match record_fixture(version, *scenario).await {
                Ok(FixtureOutcome::Unchanged) => println!("unchanged  {path}"),
                Ok(FixtureOutcome::Rewritten) => {
                    rewritten += 1;
                    println!("rewritten  {path}");
                }
                Err(err) => {
                    failed += 1;
                    let cause = std::error::Error::source(&err)
                        .map(|cause| format!(": {cause}"))
                        .unwrap_or_default();
                    println!("FAILED     {path}: {err}{cause}");
                }
            }
        }
    }
    println!("record-fixture: {rewritten} rewritten, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse(args: &[String]) -> Result<(Vec<&'static str>, Vec<Scenario>), String> {
    let [version, rest @ ..] = args else {
        return Err("missing the version".to_owned());
    };
    let versions = match version.as_str() {
        "all" => VERSIONS.to_vec(),
        version => vec![
            *VERSIONS
                .iter()
                .find(|known| **known == version)
                .ok_or_else(|| format!("`{version}` is not one of {VERSIONS:?}"))?,
        ],
    };
    let scenarios = match rest {
        [] => Scenario::ALL.to_vec(),
        [name] if name == "all" => Scenario::ALL.to_vec(),
        [name] => vec![Scenario::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("`{name}` is not one of {names:?}")
        })?],
        [_, extra, ..] => return Err(format!("unexpected argument `{extra}`")),
    };
    Ok((versions, scenarios))
}
