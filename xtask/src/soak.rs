//! `cargo xtask soak [--minutes N | --seconds N] [--codex VERSION |
//! --no-codex] [--no-streams] [--no-approvals]`: mixed traffic against the
//! fake app-server and the real codex for a while, resources sampled and
//! growth reported as a failure (the tests package's `soak` program; see
//! `codexrt_tests::soak`). `cargo xtask test` runs it for 60 s.

use std::path::Path;

use crate::cmd;

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut command = vec![
        "run",
        "--quiet",
        "--package",
        "codexrt-tests",
        "--bin",
        "soak",
        "--",
    ];
    command.extend(args.iter().map(String::as_str));
    // The fake app-server the soak starts is built beside it.
    cmd::run(
        root,
        "cargo",
        &[
            "build",
            "--quiet",
            "--package",
            "codexrt-tests",
            "--bin",
            "fake-app-server",
        ],
    )?;
    cmd::run(root, "cargo", &command)
}
