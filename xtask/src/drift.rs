//! `cargo xtask drift`: how far the newest codex on npm has drifted from
//! the newest supported version. It asks npm for the `latest` tag of
//! `@openai/codex`, installs that codex, generates its normalized schema
//! and manifest in memory (the vendored folder is not touched), and
//! compares them with the vendored files of a supported version: methods
//! added and removed per kind, methods that changed params, response or
//! API; definitions added and removed; fields added, removed, made
//! required or optional; type changes; enum values and union variants
//! added and removed. Each change is breaking or additive (see
//! [`Change::breaking`]); the command fails when anything breaks.
//!
//! `--from <v> --to <v>` compares two vendored versions without network.
//!
//! It is the first step of the release-day procedure in
//! docs/compatibility.md and is not part of `cargo xtask test`: CI must not
//! turn red because upstream published.

mod change;
mod methods;
mod shapes;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Instant;

pub(crate) use change::Change;

use crate::codegen::{self, VersionInput};
use crate::schema;
use crate::twin;
use crate::versions::{SUPPORTED_CODEX_VERSIONS, TWIN_CODEX_VERSIONS, check_version_syntax};

const USAGE: &str = "usage: cargo xtask drift [--version <version>] [--against <supported version>]
       cargo xtask drift --from <supported version> --to <supported version>";

const PACKAGE: &str = "@openai/codex";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--version" => &mut options.version,
            "--against" => &mut options.against,
            "--from" => &mut options.from,
            "--to" => &mut options.to,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        };
        let value = args
            .next()
            .ok_or_else(|| format!("`{flag}` needs a version\n{USAGE}"))?;
        check_version_syntax(value)?;
        *slot = Some(value.clone());
    }
    let started = Instant::now();
    let (old, new) = match options {
        Options {
            version: None,
            against: None,
            from: Some(from),
            to: Some(to),
        } => {
            let loaded = load_vendored(root, &[&from, &to])?;
            let [old, new]: [VersionInput; 2] = loaded
                .try_into()
                .map_err(|_| "expected two vendored versions".to_owned())?;
            (old, new)
        }
        Options {
            from: None,
            to: None,
            version,
            against,
        } => candidate(root, version, against)?,
        _ => {
            return Err(format!(
                "`--from`/`--to` go together, without the others\n{USAGE}"
            ));
        }
    };
    let changes = compare(&old, &new);
    if !changes.is_empty() {
        println!();
        print!("{}", change::render(&changes));
    }
    let summary = change::summary(&changes, &old.version, &new.version);
    println!("\n{summary} ({:.1}s)", started.elapsed().as_secs_f64());
    let breaking: Vec<String> = changes
        .iter()
        .filter(|c| c.breaking())
        .map(Change::describe)
        .collect();
    if breaking.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let more = if breaking.len() > SHOWN {
        format!(
            "\n  … and {} more (marked `breaking` above)",
            breaking.len() - SHOWN
        )
    } else {
        String::new()
    };
    Err(format!(
        "breaking drift from codex {} to codex {}:\n  {}{more}",
        old.version,
        new.version,
        breaking[..breaking.len().min(SHOWN)].join("\n  ")
    ))
}

#[derive(Default)]
struct Options {
    version: Option<String>,
    against: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Every difference from `old` to `new`: the manifests' methods and the
/// experimental schemas' definitions (a superset of the stable ones).
pub(crate) fn compare(old: &VersionInput, new: &VersionInput) -> Vec<Change> {
    let mut changes = Vec::new();
    methods::compare(&old.manifest, &new.manifest, &mut changes);
    shapes::compare(old, new, &mut changes);
    changes
}

/// The baseline (vendored) and the candidate (generated from the real
/// binary): `version` defaults to npm's `latest`, `against` to the newest
/// supported version.
fn candidate(
    root: &Path,
    version: Option<String>,
    against: Option<String>,
) -> Result<(VersionInput, VersionInput), String> {
    let version = match version {
        Some(version) => version,
        None => latest(root)?,
    };
    let against = match against {
        Some(against) => against,
        None => newest_supported().to_owned(),
    };
    if !SUPPORTED_CODEX_VERSIONS.contains(&against.as_str()) {
        return Err(format!(
            "{against} is not a supported version, so it has no vendored schema to compare with"
        ));
    }
    if SUPPORTED_CODEX_VERSIONS.contains(&version.as_str()) {
        println!("codex {version} is a supported version; comparing its generated schema anyway");
    } else if let Some((_, partner)) = TWIN_CODEX_VERSIONS.iter().find(|(t, _)| *t == version) {
        println!(
            "codex {version} is listed as the twin of {partner}; comparing its generated schema \
             anyway"
        );
    }
    println!("drift: generating the schema of codex {version} against the vendored {against}");
    let generated = schema::generate(root, &version)?;
    let vendored = load_vendored(root, &[&against])?;
    let baseline = vendored
        .into_iter()
        .next()
        .ok_or_else(|| format!("{against} has no vendored schema"))?;
    let candidate = generated.input()?;
    let is_listed = SUPPORTED_CODEX_VERSIONS.contains(&version.as_str())
        || TWIN_CODEX_VERSIONS.iter().any(|(t, _)| *t == version);
    if !is_listed && identical(root, &generated, &against)? {
        println!(
            "codex {version} generates the schema vendored for {against}, byte for byte: accept \
             it with `cargo xtask twin {version} {against}`"
        );
    }
    Ok((baseline, candidate))
}

/// npm's `latest` tag of codex.
fn latest(root: &Path) -> Result<String, String> {
    let text = crate::cmd::output(root, "npm", &["view", PACKAGE, "dist-tags.latest"])?;
    let version = text.trim().to_owned();
    check_version_syntax(&version)
        .map_err(|err| format!("npm's latest {PACKAGE} is not a version: {err}"))?;
    println!("drift: npm's latest {PACKAGE} is {version}");
    Ok(version)
}

/// The last of the list, which is kept in version order.
fn newest_supported() -> &'static str {
    SUPPORTED_CODEX_VERSIONS
        .last()
        .copied()
        .unwrap_or(crate::versions::PINNED_CODEX_VERSION)
}

fn load_vendored(root: &Path, versions: &[&str]) -> Result<Vec<VersionInput>, String> {
    codegen::load(&root.join("crates/codexrt-protocol/schema"), versions)
}

/// Whether `generated` matches every file vendored for `against` as a twin
/// would.
fn identical(root: &Path, generated: &schema::Generated, against: &str) -> Result<bool, String> {
    let dir = schema::schema_dir(root, against);
    Ok(generated.files()?.iter().all(|(name, text)| {
        let vendored = std::fs::read_to_string(dir.join(name)).ok();
        twin::same_file(name, text, vendored.as_deref())
    }))
}
