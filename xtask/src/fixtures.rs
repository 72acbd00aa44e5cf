//! `cargo xtask fixtures check | record`: the golden transcripts recorded
//! from real codex under `tests/fixtures/<version>/<scenario>.jsonl`.
//!
//! - `check` runs the fixture suite (also part of `cargo test --workspace`):
//!   every line decodes with the typed protocol and every transcript replays
//!   through our stack.
//! - `record <version|all> [<scenario|all>]` runs the scenarios live with
//!   recording on (the `record-fixture` program of the tests package). Each
//!   recording is normalized and compared with its file; only a file that
//!   differs, or is missing, is rewritten. Every case is listed as
//!   `unchanged`, `rewritten` or `FAILED`; the command fails only when a
//!   scenario run failed, so a clean re-recording exits 0 and leaves the
//!   files untouched. Review rewritten files with `git diff`.

use std::path::Path;

use crate::cmd;
use crate::versions::{SUPPORTED_CODEX_VERSIONS, check_version_syntax};

const USAGE: &str = "usage: cargo xtask fixtures check | record <version|all> [<scenario|all>]";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("check") if args.len() == 1 => cmd::run(
            root,
            "cargo",
            &["test", "--package", "codexrt-tests", "--test", "fixtures"],
        ),
        Some("record") if (2..=3).contains(&args.len()) => record(root, &args[1..]),
        _ => Err(USAGE.to_owned()),
    }
}

fn record(root: &Path, args: &[String]) -> Result<(), String> {
    let version = args[0].as_str();
    if version != "all" {
        check_version_syntax(version)?;
        if !SUPPORTED_CODEX_VERSIONS.contains(&version) {
            return Err(format!(
                "codex {version} is not supported; fixtures exist for {}",
                SUPPORTED_CODEX_VERSIONS.join(", ")
            ));
        }
    }
    // The program checks the scenario name and lists the valid ones.
    let mut cargo_args = vec![
        "run",
        "--quiet",
        "--package",
        "codexrt-tests",
        "--bin",
        "record-fixture",
        "--",
    ];
    cargo_args.extend(args.iter().map(String::as_str));
    cmd::run(root, "cargo", &cargo_args)
}
