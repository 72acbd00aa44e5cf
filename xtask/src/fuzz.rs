//! `cargo xtask fuzz [--target <name>|all] [--cases N] [--seed S]`: the
//! stable driver of the fuzz targets (the tests package's `fuzz` program,
//! built with optimizations), for runs longer than the test suite's.

use std::path::Path;

use crate::cmd;

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut pairs = args.chunks(2);
    if let Some(bad) = pairs.find(|pair| {
        !matches!(pair, [flag, _] if ["--target", "--cases", "--seed"].contains(&flag.as_str()))
    }) {
        return Err(format!(
            "`cargo xtask fuzz` takes `--target <frames|envelope|typed|runtime|all>`, `--cases N` and `--seed S` (got `{}`)",
            bad.join(" ")
        ));
    }
    let mut command = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "codexrt-tests",
        "--bin",
        "fuzz",
        "--",
    ];
    command.extend(args.iter().map(String::as_str));
    cmd::run(root, "cargo", &command)
}
