//! `cargo xtask loom`: the loom models of the two exactly-once paths (a
//! call's ending in `codexrt-rpc`, a server request's one answer in
//! `codexrt-core`), built with `--cfg codexrt_loom`, optimized, into their
//! own target folder so the normal build is left as it is.

use std::path::Path;

use crate::cmd;

/// The crates with loom models, each in lib tests under a `loom_models`
/// module.
const PACKAGES: [&str; 2] = ["codexrt-rpc", "codexrt-core"];

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "`cargo xtask loom` takes no arguments (got `{extra}`)"
        ));
    }
    let target = root.join("target").join("loom");
    let target = target
        .to_str()
        .ok_or_else(|| format!("the target folder {} is not UTF-8", target.display()))?;
    let env = [
        ("RUSTFLAGS", "--cfg codexrt_loom"),
        ("CARGO_TARGET_DIR", target),
    ];
    for package in PACKAGES {
        cmd::run_with_env(
            root,
            &env,
            "cargo",
            &["test", "-p", package, "--release", "--lib", "loom_models"],
        )?;
    }
    Ok(())
}
