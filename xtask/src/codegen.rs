//! `cargo xtask codegen [--check] [--report]`: generates the typed protocol
//! of `codexrt-protocol` from the schemas `cargo xtask schema` vendored.
//!
//! Input: `crates/codexrt-protocol/schema/<version>/{stable,experimental,
//! manifest}.json` for every supported version. Types come from the pinned
//! version's experimental schema (a superset of the stable one); the other
//! versions decide which fields stay required (see the backward
//! compatibility rule in the generated `types.rs`) and feed the per-version
//! method table. Output: `src/generated/*.rs` of the protocol crate and its
//! test table `tests/it/generated_cases.rs`, formatted with rustfmt.
//!
//! `--check` regenerates in memory and fails, naming the stale files, when
//! the committed output differs. `--report` prints coverage and drift.

mod classify;
mod finish;
mod history;
mod input;
mod lower;
mod model;
mod naming;
mod reach;
mod render_api;
mod render_history;
mod render_one_pass;
mod render_types;
mod report;

#[cfg(test)]
mod tests;

pub(crate) use input::{
    Definitions, Kind, Manifest, Method, Presence, VersionInput, load, parse_manifest,
};
pub(crate) use render_api::version_module;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::versions::{PINNED_CODEX_VERSION, SUPPORTED_CODEX_VERSIONS, TWIN_CODEX_VERSIONS};

use history::History;

const USAGE: &str = "usage: cargo xtask codegen [--check] [--report]";

const PROTOCOL: &str = "crates/codexrt-protocol";
const GENERATED_DIR: &str = "crates/codexrt-protocol/src/generated";

/// The supported versions as test-module names, for the suites of the
/// `tests` package.
const TEST_VERSIONS: &str = "tests/src/versions.rs";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut check = false;
    let mut report = false;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--report" => report = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let versions = load(
        &root.join(PROTOCOL).join("schema"),
        &SUPPORTED_CODEX_VERSIONS,
    )?;
    let generated = generate(&versions, PINNED_CODEX_VERSION, &TWIN_CODEX_VERSIONS)?;
    let mut files = Vec::new();
    for (path, text) in &generated.files {
        files.push((path.clone(), rustfmt(root, path, text)?));
    }
    if check {
        check_files(root, &files)?;
        println!("codegen: {} generated files are up to date", files.len());
    } else {
        write_files(root, &files)?;
    }
    if report {
        print!("{}", generated.report);
    }
    Ok(())
}

/// The generator's output before formatting.
pub(crate) struct Generated {
    /// Paths relative to the workspace root, with their content.
    pub(crate) files: Vec<(PathBuf, String)>,
    pub(crate) report: String,
}

/// Generates every file from the vendored `versions` (oldest first), the
/// `pinned` one and the `twins` (twin, partner) of supported versions.
pub(crate) fn generate(
    versions: &[VersionInput],
    pinned: &str,
    twins: &[(&str, &str)],
) -> Result<Generated, String> {
    let pinned_input = versions
        .iter()
        .find(|v| v.version == pinned)
        .ok_or_else(|| format!("the pinned version {pinned} has no vendored schema"))?;
    let history = History {
        versions,
        pinned: pinned_input,
    };
    let lowered = lower::lower(&history)?;
    let infos = render_api::method_infos(versions, pinned_input, &lowered)?;
    let names: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
    let generated = Path::new(GENERATED_DIR);
    let files = vec![
        (
            generated.join("types.rs"),
            render_types::render(&lowered, pinned, &names, "crate::__private"),
        ),
        (
            generated.join("methods.rs"),
            render_api::render_methods(&infos, pinned),
        ),
        (
            generated.join("client_request.rs"),
            render_api::render_client(&infos, &lowered, pinned)?,
        ),
        (
            generated.join("notification.rs"),
            render_api::render_server_enum(&infos, &lowered, Kind::ServerNotification, pinned),
        ),
        (
            generated.join("server_request.rs"),
            render_api::render_server_enum(&infos, &lowered, Kind::ServerRequest, pinned),
        ),
        (
            generated.join("versions.rs"),
            render_api::render_versions(versions, pinned, twins)?,
        ),
        (
            Path::new(PROTOCOL).join("tests/it/generated_cases.rs"),
            render_api::render_cases(&infos, &lowered),
        ),
        (
            PathBuf::from(TEST_VERSIONS),
            render_api::render_test_versions(versions),
        ),
    ];
    let mut files = files;
    files.extend(render_history::render(versions, pinned)?);
    let report = report::render(versions, pinned_input, twins, &infos, &lowered);
    Ok(Generated { files, report })
}

/// Formats `text` with the workspace's rustfmt settings, in memory.
fn rustfmt(root: &Path, path: &Path, text: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start rustfmt: {err}"))?;
    // rustfmt reads all of stdin before writing, so writing first cannot
    // deadlock on a full stdout pipe.
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|err| format!("could not feed rustfmt: {err}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|err| format!("rustfmt failed: {err}"))?;
    if !out.status.success() {
        let dump = std::env::temp_dir().join("codexrt-codegen-unformatted.rs");
        let _ = fs::write(&dump, text);
        return Err(format!(
            "rustfmt rejected the generated {} (unformatted text in {}):\n{}",
            path.display(),
            dump.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "rustfmt printed invalid UTF-8".to_owned())
}

fn check_files(root: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let mut stale = Vec::new();
    for (path, text) in files {
        match fs::read_to_string(root.join(path)) {
            Ok(current) if current == *text => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(_) => stale.push(format!("{} is missing", path.display())),
        }
    }
    // A file left over from an older generator (or a version no longer
    // supported) would still be compiled in.
    for dir in [GENERATED_DIR, render_history::HISTORY_DIR] {
        if let Ok(entries) = fs::read_dir(root.join(dir)) {
            for entry in entries.flatten() {
                let path = Path::new(dir).join(entry.file_name());
                if !files.iter().any(|(p, _)| *p == path) {
                    stale.push(format!("{} is not generated any more", path.display()));
                }
            }
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    Err(format!(
        "generated code is out of date:\n  {}\nregenerate it with `cargo xtask codegen`",
        stale.join("\n  ")
    ))
}

fn write_files(root: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    // The older versions' modules are generated per version: one of a version
    // no longer supported goes.
    if let Ok(entries) = fs::read_dir(root.join(render_history::HISTORY_DIR)) {
        for entry in entries.flatten() {
            let path = Path::new(render_history::HISTORY_DIR).join(entry.file_name());
            if !files.iter().any(|(p, _)| *p == path) {
                fs::remove_file(root.join(&path))
                    .map_err(|err| format!("cannot remove {}: {err}", path.display()))?;
                println!("removed {}", path.display());
            }
        }
    }
    for (path, text) in files {
        let full = root.join(path);
        if fs::read_to_string(&full).is_ok_and(|current| current == *text) {
            println!(
                "unchanged {} ({} lines)",
                path.display(),
                text.lines().count()
            );
            continue;
        }
        if let Some(dir) = full.parent() {
            fs::create_dir_all(dir)
                .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        }
        fs::write(&full, text).map_err(|err| format!("cannot write {}: {err}", full.display()))?;
        println!("wrote {} ({} lines)", path.display(), text.lines().count());
    }
    Ok(())
}
