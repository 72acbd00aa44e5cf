//! `cargo xtask twin <twin> <partner>`: accepts a patch release as the twin
//! of a supported version once the real binaries prove it. It installs codex
//! `<twin>`, generates its normalized schema and manifest in memory, and
//! compares them with what is vendored for `<partner>`: `stable.json` and
//! `experimental.json` byte for byte, `manifest.json` apart from its
//! `version`. Only when all three match does it add the pair to
//! `TWIN_CODEX_VERSIONS` and regenerate the protocol crate, so that the
//! capability map answers the twin as its partner.
//!
//! [`verify`] is the same proof without the edit; `cargo xtask schema
//! --check` runs it for every listed twin.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::add_version::compare;
use crate::cmd;
use crate::schema;
use crate::versions::{SUPPORTED_CODEX_VERSIONS, TWIN_CODEX_VERSIONS, check_version_syntax};

#[cfg(test)]
mod tests;

const USAGE: &str = "usage: cargo xtask twin <twin> <partner>";

/// Where the list lives, relative to the workspace root.
const VERSIONS_FILE: &str = "xtask/src/versions.rs";

const TWINS: &str = "pub(crate) const TWIN_CODEX_VERSIONS";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let [twin, partner] = args else {
        return Err(USAGE.to_owned());
    };
    check_version_syntax(twin)?;
    check_version_syntax(partner)?;
    if !SUPPORTED_CODEX_VERSIONS.contains(&partner.as_str()) {
        return Err(format!(
            "{partner} is not a supported version, so it has no vendored schema to compare with"
        ));
    }
    if SUPPORTED_CODEX_VERSIONS.contains(&twin.as_str()) {
        return Err(format!(
            "{twin} is a supported version itself, with a schema of its own"
        ));
    }
    if compare(twin, partner).is_le() {
        return Err(format!(
            "{twin} is not newer than {partner}: a twin is a later patch release"
        ));
    }
    if let Some((_, other)) = TWIN_CODEX_VERSIONS
        .iter()
        .find(|(t, other)| t == twin && other != partner)
    {
        return Err(format!("{twin} is already listed as the twin of {other}"));
    }
    let differing = verify(root, twin, partner)?;
    if !differing.is_empty() {
        return Err(format!(
            "codex {twin} is no twin of {partner}: its generated schema differs from the \
             vendored\n  {}\nsupport it as a version of its own with `cargo xtask add-version \
             {twin}`",
            differing.join("\n  ")
        ));
    }
    println!("codex {twin} generates the schema vendored for {partner}, byte for byte");
    let path = root.join(VERSIONS_FILE);
    let text =
        fs::read_to_string(&path).map_err(|err| format!("cannot read {VERSIONS_FILE}: {err}"))?;
    let edited = add_twin(&text, twin, partner)?;
    if edited == text {
        println!("{twin} is already a twin of {partner} in {VERSIONS_FILE}");
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
        println!("added ({twin:?}, {partner:?}) to TWIN_CODEX_VERSIONS in {VERSIONS_FILE}");
    }
    // Its own command, so that it is built with the new list.
    cmd::run(root, "cargo", &["xtask", "codegen", "--report"])?;
    println!(
        "\ncodex {twin} is accepted as the twin of {partner}. What is left for a person \
         (docs/compatibility.md, \"Patch releases\"): the twin in the table of supported \
         versions, CHANGELOG.md, then `cargo xtask test`."
    );
    Ok(())
}

/// Generates `twin`'s schema and manifest from the real binary and compares
/// them with the files vendored for `partner`; returns the vendored files
/// (relative to the workspace root) that do not match, empty when `twin` is
/// a twin.
///
/// # Errors
/// When codex cannot be installed or run, or its schema not normalized.
pub(crate) fn verify(root: &Path, twin: &str, partner: &str) -> Result<Vec<String>, String> {
    let generated = schema::generate(root, twin)?;
    let dir = schema::schema_dir(root, partner);
    let mut differing = Vec::new();
    for (name, text) in generated.files()? {
        let path = dir.join(name);
        let vendored = fs::read_to_string(&path).ok();
        if !same_file(name, &text, vendored.as_deref()) {
            differing.push(schema::shown(root, &path));
        }
    }
    Ok(differing)
}

/// Whether a file generated for the twin matches the partner's vendored
/// file of the same `name`: the schemas byte for byte, the manifest as JSON
/// apart from its `version`, which names the version it was generated from.
/// A missing vendored file matches nothing.
pub(crate) fn same_file(name: &str, generated: &str, vendored: Option<&str>) -> bool {
    let Some(vendored) = vendored else {
        return false;
    };
    if name != "manifest.json" {
        return generated == vendored;
    }
    let without_version = |text: &str| {
        let mut value: Value = serde_json::from_str(text).ok()?;
        value.as_object_mut()?.remove("version")?;
        Some(value)
    };
    match (without_version(generated), without_version(vendored)) {
        (Some(generated), Some(vendored)) => generated == vendored,
        _ => false,
    }
}

/// `text` (the versions file) with `(twin, partner)` in the twin list, in
/// version order of the twins; unchanged when the pair is there already.
fn add_twin(text: &str, twin: &str, partner: &str) -> Result<String, String> {
    let missing = || format!("{VERSIONS_FILE} has no `{TWINS}: [(&str, &str); N] = [..];`");
    let start = text.find(TWINS).ok_or_else(missing)?;
    let end = text[start..]
        .find("];")
        .map(|offset| start + offset + 2)
        .ok_or_else(missing)?;
    let declaration = &text[start..end];
    let list_start = declaration.find("= [").ok_or_else(missing)? + 3;
    let quoted: Vec<&str> = declaration[list_start..declaration.len() - 2]
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    if !quoted.len().is_multiple_of(2) {
        return Err(missing());
    }
    let mut pairs: Vec<(&str, &str)> = quoted.chunks(2).map(|pair| (pair[0], pair[1])).collect();
    if pairs.contains(&(twin, partner)) {
        return Ok(text.to_owned());
    }
    pairs.push((twin, partner));
    pairs.sort_by(|a, b| compare(a.0, b.0));
    let items: Vec<String> = pairs
        .iter()
        .map(|(twin, partner)| format!("({twin:?}, {partner:?})"))
        .collect();
    let mut out = text.to_owned();
    out.replace_range(
        start..end,
        &format!(
            "{TWINS}: [(&str, &str); {}] = [{}];",
            pairs.len(),
            items.join(", ")
        ),
    );
    Ok(out)
}
