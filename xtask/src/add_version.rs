//! `cargo xtask add-version <version> [--pin]`: makes a codex release a
//! supported version in one command. It adds the version to
//! `SUPPORTED_CODEX_VERSIONS` (and with `--pin` makes it
//! `PINNED_CODEX_VERSION`), then runs each step as its own `cargo xtask`
//! command, so that every step is built with the new list: vendor the
//! schema, regenerate the protocol crate and the suites' version list,
//! record the fixtures, run the compatibility suite for the version.
//!
//! It stops at the first step that fails, saying what it was; the list
//! stays edited, so the command can be run again once the cause is mended
//! (a response override, a codegen rule), and it carries on from there.

use std::cmp::Ordering;
use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::cmd;
use crate::versions::check_version_syntax;

#[cfg(test)]
mod tests;

const USAGE: &str = "usage: cargo xtask add-version <version> [--pin]";

/// Where the list lives, relative to the workspace root.
const VERSIONS_FILE: &str = "xtask/src/versions.rs";

const SUPPORTED: &str = "pub(crate) const SUPPORTED_CODEX_VERSIONS";
const PINNED: &str = "pub(crate) const PINNED_CODEX_VERSION";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let (version, pin) = match args {
        [version] => (version.as_str(), false),
        [version, flag] | [flag, version] if flag == "--pin" => (version.as_str(), true),
        _ => return Err(USAGE.to_owned()),
    };
    check_version_syntax(version)?;
    let started = Instant::now();
    let path = root.join(VERSIONS_FILE);
    let text =
        fs::read_to_string(&path).map_err(|err| format!("cannot read {VERSIONS_FILE}: {err}"))?;
    let edited = add_to_list(&text, version, pin)?;
    if edited == text {
        println!("{version} is already in {VERSIONS_FILE}; carrying on with the steps");
    } else {
        fs::write(&path, &edited).map_err(|err| format!("cannot write {VERSIONS_FILE}: {err}"))?;
        cmd::run(
            root,
            "rustfmt",
            &[
                "--edition",
                "2024",
                "--config-path",
                "rustfmt.toml",
                VERSIONS_FILE,
            ],
        )?;
        let pinned = if pin { ", and pinned it" } else { "" };
        println!("added {version} to SUPPORTED_CODEX_VERSIONS in {VERSIONS_FILE}{pinned}");
    }
    let steps: [&[&str]; 4] = [
        &["xtask", "schema", version],
        &["xtask", "codegen", "--report"],
        &["xtask", "fixtures", "record", version],
        &["xtask", "compat", "--version", version],
    ];
    for step in steps {
        cmd::run(root, "cargo", step).map_err(|err| {
            format!(
                "{err}\n`cargo {}` failed; mend the cause and run `cargo xtask add-version \
                 {version}` again",
                step.join(" ")
            )
        })?;
    }
    println!(
        "\ncodex {version} is supported ({:.0} s). What is left for a person \
         (docs/compatibility.md, \"Adding a codex version\"):\n\
         - review the diff of the generated types;\n\
         - if the pinned version changed: the counts the protocol crate's tests state about it;\n\
         - docs/compatibility.md (the tables, what changed), README.md and CHANGELOG.md;\n\
         - then `cargo xtask test`.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `text` (the versions file) with `version` in the supported list, in
/// version order, and as the pinned version when `pin` says so. Unchanged
/// when it is there already (and pinned, if asked).
fn add_to_list(text: &str, version: &str, pin: bool) -> Result<String, String> {
    let missing = || format!("{VERSIONS_FILE} has no `{SUPPORTED}: [&str; N] = [..];`");
    let start = text.find(SUPPORTED).ok_or_else(missing)?;
    let end = text[start..]
        .find("];")
        .map(|offset| start + offset + 2)
        .ok_or_else(missing)?;
    let declaration = &text[start..end];
    let list_start = declaration.find("= [").ok_or_else(missing)? + 3;
    let mut versions: Vec<String> = declaration[list_start..declaration.len() - 2]
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    let mut out = text.to_owned();
    if !versions.iter().any(|known| known == version) {
        versions.push(version.to_owned());
        versions.sort_by(|a, b| compare(a, b));
        let quoted: Vec<String> = versions.iter().map(|v| format!("{v:?}")).collect();
        let replacement = format!(
            "{SUPPORTED}: [&str; {}] = [{}];",
            versions.len(),
            quoted.join(", ")
        );
        out.replace_range(start..end, &replacement);
    }
    if pin {
        let missing = || format!("{VERSIONS_FILE} has no `{PINNED}: &str = \"..\";`");
        let start = out.find(PINNED).ok_or_else(missing)?;
        let end = out[start..]
            .find(';')
            .map(|offset| start + offset + 1)
            .ok_or_else(missing)?;
        out.replace_range(start..end, &format!("{PINNED}: &str = {version:?};"));
    }
    Ok(out)
}

/// Semantic version order of two versions that passed
/// [`check_version_syntax`]: numbers first, and a prerelease before its
/// release. Prereleases of one release compare as text.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    fn parts(version: &str) -> (Vec<u64>, Option<&str>) {
        let (core, pre) = match version.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (version, None),
        };
        let numbers = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
        (numbers, pre)
    }
    let ((a_core, a_pre), (b_core, b_pre)) = (parts(a), parts(b));
    a_core.cmp(&b_core).then(match (a_pre, b_pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => a.cmp(b),
    })
}
