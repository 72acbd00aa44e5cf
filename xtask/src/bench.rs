//! `cargo xtask bench`: the benchmarks, built with optimizations; they print
//! ratios against baselines measured in the same run.

use std::path::Path;

use crate::cmd;

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "`cargo xtask bench` takes no arguments (got `{extra}`)"
        ));
    }
    cmd::run(
        root,
        "cargo",
        &["bench", "--package", "codexrt-tests", "--bench", "stack"],
    )
}
