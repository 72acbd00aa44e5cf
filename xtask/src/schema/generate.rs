//! Running `codex app-server generate-json-schema` in isolation and reading
//! back the one bundle file the normalizer needs.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use codexrt_testkit::TempDir;

use crate::cmd::tail;

/// The generated file that holds every definition; the per-type files and the
/// v2-only bundle beside it add nothing (or lack the server requests).
const BUNDLE_FILE: &str = "codex_app_server_protocol.schemas.json";

/// The raw bundles of one codex version, as codex wrote them.
pub(super) struct Bundles {
    pub(super) stable: Value,
    pub(super) experimental: Value,
}

/// Generates both flavours with `codex` under a scratch folder in
/// `<root>/target/tmp/`, with a fresh `CODEX_HOME` inside it so a user's
/// `~/.codex` is neither read nor written; the folder is removed afterwards.
pub(super) fn bundles(root: &Path, codex: &Path, version: &str) -> Result<Bundles, String> {
    let parent = root.join("target").join("tmp");
    fs::create_dir_all(&parent)
        .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    let scratch = TempDir::new_in(&parent, &format!("schema-{version}"))
        .map_err(|err| format!("cannot create a scratch folder: {err}"))?;
    let home = scratch.path().join("codex-home");
    fs::create_dir(&home).map_err(|err| format!("cannot create {}: {err}", home.display()))?;
    Ok(Bundles {
        stable: generate(codex, &home, &scratch.path().join("stable"), false)?,
        experimental: generate(codex, &home, &scratch.path().join("experimental"), true)?,
    })
}

fn generate(codex: &Path, home: &Path, out: &Path, experimental: bool) -> Result<Value, String> {
    let mut command = Command::new(codex);
    command.args(["app-server", "generate-json-schema"]);
    if experimental {
        command.arg("--experimental");
    }
    command
        .arg("--out")
        .arg(out)
        .env("CODEX_HOME", home)
        .stdin(Stdio::null());
    let line = format!(
        "{} app-server generate-json-schema{} --out {}",
        codex.display(),
        if experimental { " --experimental" } else { "" },
        out.display()
    );
    let result = command
        .output()
        .map_err(|err| format!("could not start `{line}`: {err}"))?;
    if !result.status.success() {
        return Err(format!(
            "`{line}` failed ({}); stderr:\n{}",
            result.status,
            tail(&String::from_utf8_lossy(&result.stderr), 20)
        ));
    }
    let path = out.join(BUNDLE_FILE);
    let text = fs::read_to_string(&path).map_err(|err| {
        format!(
            "`{line}` succeeded but {} cannot be read: {err}",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|err| format!("{} is not JSON: {err}", path.display()))
}
