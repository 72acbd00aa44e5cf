//! `cargo xtask demo [--live] [--json]`: a real codex session driven
//! through the `codexrt` facade, needing neither an API key nor a codex
//! install. This command installs the pinned codex into the cache when it
//! is missing, then runs the facade's `demo` example against it; the
//! example starts the scripted model (or, with `--live`, uses the user's
//! own codex login) and prints the session. xtask itself does not depend
//! on the facade.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::codex::ensure_codex_with_progress;
use crate::versions::PINNED_CODEX_VERSION;

const USAGE: &str = "usage: cargo xtask demo [--live] [--json]";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut live = false;
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--live" => live = true,
            "--json" => json = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    // A live run uses the user's own codex when they name one; the
    // scripted run always uses the pinned version it was written against.
    let from_env = std::env::var_os("CODEX_BIN").filter(|value| !value.is_empty());
    let codex = match from_env {
        Some(program) if live => PathBuf::from(program),
        _ => ensure_codex_with_progress(root, PINNED_CODEX_VERSION)?,
    };
    let mut command = Command::new("cargo");
    command
        .args([
            "run",
            "--quiet",
            "--package",
            "codexrt",
            "--example",
            "demo",
            "--",
        ])
        .arg("--codex")
        .arg(&codex)
        .current_dir(root);
    let mut flags: Vec<OsString> = Vec::new();
    if live {
        flags.push("--live".into());
    }
    if json {
        flags.push("--json".into());
    }
    command.args(&flags);
    // `--quiet` hides cargo's progress, so say why a first run pauses.
    eprintln!("building and starting the demo (cargo run --package codexrt --example demo) …");
    let status = command
        .status()
        .map_err(|err| format!("could not start cargo: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the demo failed ({status})"))
    }
}
