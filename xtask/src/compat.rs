//! `cargo xtask compat [--version V]`: the compatibility suite, every
//! scenario against the real codex of every supported version (or of one),
//! installed from npm into `<target>/codex` on first use.

use std::path::Path;

use crate::cmd;
use crate::versions::{SUPPORTED_CODEX_VERSIONS, check_version_syntax};

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let filter = match args {
        [] => None,
        [flag, version] if flag == "--version" => {
            check_version_syntax(version)?;
            if !SUPPORTED_CODEX_VERSIONS.contains(&version.as_str()) {
                return Err(format!(
                    "codex {version} is not supported; the suite covers {}",
                    SUPPORTED_CODEX_VERSIONS.join(", ")
                ));
            }
            // The suite's tests are named `v0_169_0::streamed_answer`.
            Some(format!("{}::", crate::codegen::version_module(version)))
        }
        _ => {
            return Err(format!(
                "usage: cargo xtask compat [--version <version>] (got `{}`)",
                args.join(" ")
            ));
        }
    };
    let mut cargo_args = vec!["test", "--package", "codexrt-tests", "--test", "compat"];
    if let Some(filter) = &filter {
        cargo_args.push(filter);
    }
    cmd::run(root, "cargo", &cargo_args)
}
