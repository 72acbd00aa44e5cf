//! `cargo xtask schema [--check] [<version>...]`: vendors the app-server
//! protocol schema of codex versions into `crates/codexrt-protocol/schema/`.
//!
//! For each version (default: every supported one) it installs that codex
//! with npm when needed, runs `codex app-server generate-json-schema` for the
//! stable and the experimental API, and writes three files:
//! - `stable.json`, `experimental.json`: the schema bundle normalized to one
//!   flat, description-free, key-sorted `definitions` map (see [`normalize`]);
//! - `manifest.json`: every method with its params, params presence,
//!   response and experimental flag (see [`manifest`]).
//!
//! `--check` regenerates in memory and fails when a vendored file differs.

mod generate;
mod manifest;
mod normalize;

pub(crate) use manifest::RESPONSE_OVERRIDES;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use crate::codegen::{VersionInput, parse_manifest};
use crate::codex::ensure_codex_with_progress;
use crate::twin;
use crate::versions::{SUPPORTED_CODEX_VERSIONS, TWIN_CODEX_VERSIONS, check_version_syntax};

const USAGE: &str = "usage: cargo xtask schema [--check] [<version>...]";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut check = false;
    let mut versions = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`\n{USAGE}")),
            version => {
                check_version_syntax(version)?;
                versions.push(version.to_owned());
            }
        }
    }
    // Without versions, `--check` also proves every listed twin again.
    let twins: &[(&str, &str)] = if versions.is_empty() && check {
        &TWIN_CODEX_VERSIONS
    } else {
        &[]
    };
    if versions.is_empty() {
        versions = SUPPORTED_CODEX_VERSIONS
            .iter()
            .map(|v| (*v).to_owned())
            .collect();
    }
    let mut stale_files = Vec::new();
    let mut stale_versions = Vec::new();
    for version in &versions {
        let stale = one_version(root, version, check)?;
        if !stale.is_empty() {
            stale_files.extend(stale);
            stale_versions.push(version.as_str());
        }
    }
    let mut problems = Vec::new();
    if !stale_files.is_empty() {
        problems.push(format!(
            "vendored schema files are out of date:\n  {}\nregenerate them with `cargo xtask \
             schema {}`",
            stale_files.join("\n  "),
            stale_versions.join(" ")
        ));
    }
    for (twin, partner) in twins {
        let differing = twin::verify(root, twin, partner)?;
        if differing.is_empty() {
            println!("twin {twin}: generates the schema vendored for {partner}, byte for byte");
        } else {
            problems.push(format!(
                "codex {twin}, listed as a twin of {partner}, generates a schema that differs \
                 from the vendored one:\n  {}\nremove it from TWIN_CODEX_VERSIONS in \
                 xtask/src/versions.rs and support it with `cargo xtask add-version {twin}`",
                differing.join("\n  ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The normalized schema and the manifest of one codex version, generated
/// from the real binary and held in memory.
pub(crate) struct Generated {
    version: String,
    stable: Value,
    experimental: Value,
    manifest: manifest::Manifest,
}

/// Installs codex `version` when needed and generates its normalized stable
/// and experimental schema and its manifest, writing nothing but a scratch
/// folder under `target/tmp/` that is removed afterwards.
pub(crate) fn generate(root: &Path, version: &str) -> Result<Generated, String> {
    let codex = ensure_codex_with_progress(root, version)?;
    let bundles = generate::bundles(root, &codex, version)?;
    let stable = normalize::normalize(&bundles.stable)
        .map_err(|err| format!("{version} stable schema: {err}"))?;
    let experimental = normalize::normalize(&bundles.experimental)
        .map_err(|err| format!("{version} experimental schema: {err}"))?;
    let manifest = manifest::build(version, &stable, &experimental)
        .map_err(|err| format!("{version}: {err}"))?;
    Ok(Generated {
        version: version.to_owned(),
        stable,
        experimental,
        manifest,
    })
}

impl Generated {
    /// The three files `cargo xtask schema` vendors, by name, as text.
    pub(crate) fn files(&self) -> Result<[(&'static str, String); 3], String> {
        Ok([
            ("stable.json", pretty(&self.stable)?),
            ("experimental.json", pretty(&self.experimental)?),
            ("manifest.json", manifest::render(&self.manifest)),
        ])
    }

    /// The same data as the code generator reads it from a vendored folder.
    pub(crate) fn input(&self) -> Result<VersionInput, String> {
        let definitions = |schema: &Value| match schema.get("definitions") {
            Some(Value::Object(definitions)) => Ok(definitions.clone()),
            _ => Err(format!("{}: the schema has no definitions", self.version)),
        };
        let manifest: Value = serde_json::from_str(&manifest::render(&self.manifest))
            .map_err(|err| format!("{}: the rendered manifest is not JSON: {err}", self.version))?;
        Ok(VersionInput {
            version: self.version.clone(),
            stable: definitions(&self.stable)?,
            experimental: definitions(&self.experimental)?,
            manifest: parse_manifest(&manifest)
                .map_err(|err| format!("{} manifest: {err}", self.version))?,
        })
    }
}

/// Regenerates one version; returns the files that differ in `--check` mode.
fn one_version(root: &Path, version: &str, check: bool) -> Result<Vec<String>, String> {
    let started = Instant::now();
    let generated = generate(root, version)?;
    let files = generated.files()?;
    let manifest = &generated.manifest;
    let dir = schema_dir(root, version);
    println!("schema {version}:");
    let mut stale = Vec::new();
    for (name, text) in &files {
        let path = dir.join(name);
        let shown = shown(root, &path);
        let current = fs::read(&path).ok();
        let state = if current.as_deref() == Some(text.as_bytes()) {
            "unchanged"
        } else if check {
            stale.push(shown.clone());
            "OUT OF DATE"
        } else {
            write_atomically(&path, text)?;
            "written"
        };
        println!("  {shown:<58} {:>9} bytes  {state}", text.len());
    }
    let counts = |methods: &[manifest::Method]| {
        format!(
            "{}/{}",
            methods.iter().filter(|m| !m.experimental).count(),
            methods.len()
        )
    };
    println!(
        "  methods (stable/experimental): client requests {}, client notifications {}, \
         server notifications {}, server requests {}",
        counts(&manifest.client_requests),
        counts(&manifest.client_notifications),
        counts(&manifest.server_notifications),
        counts(&manifest.server_requests),
    );
    println!("  done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(stale)
}

/// A path relative to the workspace root, for messages.
pub(crate) fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) fn schema_dir(root: &Path, version: &str) -> PathBuf {
    root.join("crates")
        .join("codexrt-protocol")
        .join("schema")
        .join(version)
}

/// serde_json's pretty printer indents by two spaces; the trailing newline
/// keeps editors and `git diff` quiet.
fn pretty(value: &serde_json::Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|err| format!("cannot serialize JSON: {err}"))?;
    text.push('\n');
    Ok(text)
}

/// Writes through a uniquely named sibling and a rename, so a concurrent
/// reader (a build including the file) never sees half of it.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(path);
    fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // One writer per process writes one file at a time, so the process id
    // keeps concurrent runs apart.
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    fs::write(&temp, text).map_err(|err| format!("cannot write {}: {err}", temp.display()))?;
    fs::rename(&temp, path).map_err(|err| {
        let _ = fs::remove_file(&temp);
        format!(
            "cannot rename {} to {}: {err}",
            temp.display(),
            path.display()
        )
    })
}
