//! Installing a given `@openai/codex` version with npm under
//! `target/codex/<version>/`, so commands can run that exact binary.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::scratch::{Scratch, unique_name};

#[cfg(test)]
mod tests;

/// How many trailing lines of npm's stderr an error message shows: enough for
/// npm's `npm error code …` / `npm error …` block, short enough to read.
const STDERR_TAIL_LINES: usize = 20;

/// Returns the path of the `codex` binary of `version`, installing
/// `@openai/codex@<version>` with npm into `<root>/target/codex/<version>/`
/// unless that folder already holds a binary whose `--version` matches.
///
/// The install goes into a hidden sibling folder first and is renamed into
/// place once it is complete, so a concurrent process sees either no install
/// or a whole one; when two processes race, the first rename wins and the
/// other discards its copy.
///
/// # Errors
/// When `version` is not a plain semver version, the platform has no codex
/// package, npm is missing or fails (the message carries npm's stderr tail),
/// or the installed binary does not report `codex-cli <version>`.
pub(crate) fn ensure_codex(root: &Path, version: &str) -> Result<PathBuf, String> {
    check_version_syntax(version)?;
    let relative = binary_in_prefix()?;
    let dir = root.join("target").join("codex").join(version);
    let binary = dir.join(&relative);
    if reported_version(&binary).as_deref() == Some(expected_version_line(version).as_str()) {
        return Ok(binary);
    }
    let parent = dir.parent().unwrap_or(root);
    println!(
        "==> installing @openai/codex@{version} with npm into {}",
        dir.display()
    );
    let fresh = Scratch::create(parent, &format!("{version}.partial"))?;
    npm_install(fresh.path(), version, &binary)?;
    let fresh_binary = fresh.path().join(&relative);
    match reported_version(&fresh_binary) {
        Some(line) if line == expected_version_line(version) => {}
        Some(line) => {
            return Err(format!(
                "npm installed @openai/codex@{version}, but its binary reports `{line}`"
            ));
        }
        None => {
            return Err(format!(
                "npm installed @openai/codex@{version}, but {} is missing or does not run \
                 (is the optional dependency for this platform disabled, e.g. by \
                 `omit=optional` in .npmrc?)",
                relative.display()
            ));
        }
    }
    move_into_place(fresh.path(), &dir, &binary, version)?;
    Ok(binary)
}

/// Versions become folder names and npm package specs, so only plain semver
/// (`1.2.3` or `1.2.3-pre.1`) is accepted: no paths, ranges or tags.
pub(crate) fn check_version_syntax(version: &str) -> Result<(), String> {
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let core_ok = core.split('.').count() == 3
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|pre| {
        !pre.is_empty()
            && pre
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    });
    if core_ok && pre_ok {
        Ok(())
    } else {
        Err(format!(
            "`{version}` is not a codex version (expected something like `0.169.0`)"
        ))
    }
}

fn expected_version_line(version: &str) -> String {
    format!("codex-cli {version}")
}

/// The binary's path inside an npm prefix, following the platform table of
/// the package's own launcher (`bin/codex.js`): the binary lives in the
/// optional dependency `@openai/codex-<platform>` under `vendor/<target>/bin/`.
fn binary_in_prefix() -> Result<PathBuf, String> {
    use std::env::consts::{ARCH, OS};
    let (package, target) = match (OS, ARCH) {
        ("linux" | "android", "x86_64") => ("codex-linux-x64", "x86_64-unknown-linux-musl"),
        ("linux" | "android", "aarch64") => ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => ("codex-darwin-x64", "x86_64-apple-darwin"),
        ("macos", "aarch64") => ("codex-darwin-arm64", "aarch64-apple-darwin"),
        ("windows", "x86_64") => ("codex-win32-x64", "x86_64-pc-windows-msvc"),
        ("windows", "aarch64") => ("codex-win32-arm64", "aarch64-pc-windows-msvc"),
        _ => return Err(format!("@openai/codex publishes no binary for {OS}/{ARCH}")),
    };
    let file = if OS == "windows" {
        "codex.exe"
    } else {
        "codex"
    };
    Ok([
        "node_modules",
        "@openai",
        package,
        "vendor",
        target,
        "bin",
        file,
    ]
    .iter()
    .collect())
}

/// The first line `binary --version` prints, or `None` when the binary is
/// missing or fails: either way it is not a usable install.
fn reported_version(binary: &Path) -> Option<String> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let stdout = String::from_utf8(out.stdout).ok()?;
    stdout.lines().next().map(|line| line.trim().to_owned())
}

fn npm_install(prefix: &Path, version: &str, final_binary: &Path) -> Result<(), String> {
    let spec = format!("@openai/codex@{version}");
    let prefix_arg = prefix.to_string_lossy();
    let args = [
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--prefix",
        &prefix_arg,
        &spec,
    ];
    let out = match Command::new("npm").args(args).stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            return Err(format!(
                "npm is not on PATH, so codex {version} cannot be installed: install Node.js \
                 with npm (https://nodejs.org), or put a binary printing `codex-cli {version}` \
                 at {}",
                final_binary.display()
            ));
        }
        Err(err) => return Err(format!("could not start npm: {err}")),
    };
    if !out.status.success() {
        return Err(format!(
            "`npm install {spec}` failed ({}); check that {version} is a published version \
             (`npm view @openai/codex versions`) and that the registry is reachable; npm said:\n{}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), STDERR_TAIL_LINES)
        ));
    }
    let said = String::from_utf8_lossy(&out.stdout);
    if !said.trim().is_empty() {
        println!("{}", said.trim());
    }
    Ok(())
}

/// Renames the finished install `fresh` to `dir`. A rename onto a non-empty
/// folder fails; then either a concurrent run has just installed the same
/// version (use it) or `dir` is stale (another version, or an install that
/// was interrupted in place), which is moved aside and deleted before trying
/// again. Bounded, because every failed round means someone else is moving
/// folders too and will have finished after a couple of rounds.
fn move_into_place(fresh: &Path, dir: &Path, binary: &Path, version: &str) -> Result<(), String> {
    let parent = dir.parent().unwrap_or(dir);
    let mut last_error = None;
    for _ in 0..3 {
        match fs::rename(fresh, dir) {
            Ok(()) => return Ok(()),
            Err(err) => last_error = Some(err),
        }
        if reported_version(binary).as_deref() == Some(expected_version_line(version).as_str()) {
            return Ok(());
        }
        let aside = parent.join(unique_name(&format!("{version}.stale")));
        if fs::rename(dir, &aside).is_ok() {
            // Best effort: a leftover is hidden and only costs disk space.
            let _ = fs::remove_dir_all(&aside);
        }
    }
    Err(format!(
        "could not move the fresh install {} to {}: {}",
        fresh.display(),
        dir.display(),
        last_error.map_or_else(|| "unknown error".to_owned(), |err| err.to_string())
    ))
}

/// The last `lines` lines of `text`, or a note that it was empty, so an error
/// message never ends in a dangling "said:".
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    if all.is_empty() {
        return "(nothing on stderr)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}
