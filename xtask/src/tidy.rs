//! `cargo xtask tidy`: invariants of the workspace that no compiler checks.
//!
//! - Dependency direction between our crates: transport ← rpc ← core ← hooks ←
//!   codexrt, with `codexrt-protocol` a data leaf usable from core upwards and
//!   `codexrt-testkit` never a normal dependency of a library.
//! - Every Rust source file opens with a `//!` line saying what it is for.
//! - Every test the reliability matrix of `docs/reliability.md` names exists
//!   in the file it names (the table's format is in [`matrix`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cmd;

mod matrix;

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let metadata = cmd::output(
        root,
        "cargo",
        &["metadata", "--format-version", "1", "--no-deps"],
    )?;
    let metadata: Value =
        serde_json::from_str(&metadata).map_err(|err| format!("cargo metadata: {err}"))?;
    let mut problems = dependency_problems(&metadata);
    for dir in ["crates", "xtask", "tests"] {
        let mut files = Vec::new();
        collect_rust_files(&root.join(dir), &mut files)?;
        for file in files {
            let text = fs::read_to_string(&file)
                .map_err(|err| format!("cannot read {}: {err}", file.display()))?;
            if !opens_with_module_doc(&text) {
                let shown = file.strip_prefix(root).unwrap_or(&file);
                problems.push(format!(
                    "{} does not open with a `//!` line",
                    shown.display()
                ));
            }
        }
    }
    let doc = fs::read_to_string(root.join("docs/reliability.md"))
        .map_err(|err| format!("cannot read docs/reliability.md: {err}"))?;
    problems.extend(matrix::problems(&doc, |path| {
        fs::read_to_string(root.join(path)).ok()
    }));
    if problems.is_empty() {
        println!("tidy: ok");
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

/// The crates of ours a crate may depend on (normal and build dependencies).
/// Crates not listed (xtask, the tests package) may depend on anything.
fn allowed_dependencies(krate: &str) -> Option<&'static [&'static str]> {
    const BELOW_HOOKS: &[&str] = &[
        "codexrt-core",
        "codexrt-protocol",
        "codexrt-rpc",
        "codexrt-transport",
    ];
    Some(match krate {
        "codexrt-transport" | "codexrt-protocol" => &[],
        "codexrt-rpc" => &["codexrt-transport"],
        "codexrt-core" => &["codexrt-protocol", "codexrt-rpc", "codexrt-transport"],
        "codexrt-hooks" => BELOW_HOOKS,
        "codexrt" => &[
            "codexrt-core",
            "codexrt-hooks",
            "codexrt-protocol",
            "codexrt-rpc",
            "codexrt-transport",
        ],
        // The testkit helps test every layer, so it may use all of them; it
        // must never be a normal dependency of one (checked below).
        "codexrt-testkit" => &[
            "codexrt",
            "codexrt-core",
            "codexrt-hooks",
            "codexrt-protocol",
            "codexrt-rpc",
            "codexrt-transport",
        ],
        _ => return None,
    })
}

/// Problems with the edges between workspace crates in `cargo metadata` output.
fn dependency_problems(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let packages = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for package in packages {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        let deps = package["dependencies"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for dep in deps {
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if !dep_name.starts_with("codexrt") {
                continue;
            }
            // `kind` is null for normal dependencies, "dev" or "build" otherwise.
            let kind = dep["kind"].as_str().unwrap_or("normal");
            if kind == "dev" {
                continue;
            }
            if let Some(problem) = edge_problem(name, dep_name) {
                problems.push(problem);
            }
        }
    }
    problems.sort();
    problems
}

/// Why the normal dependency `from → to` is not allowed, if it is not.
fn edge_problem(from: &str, to: &str) -> Option<String> {
    if to == "codexrt-testkit" && from.starts_with("codexrt") && from != "codexrt-tests" {
        return Some(format!(
            "{from} depends on codexrt-testkit: the testkit may only be a dev-dependency"
        ));
    }
    let allowed = allowed_dependencies(from)?;
    if allowed.contains(&to) {
        None
    } else {
        Some(format!(
            "{from} depends on {to}: that edge breaks the layer stack \
             (allowed: {}; see docs/ARCHITECTURE.md)",
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            }
        ))
    }
}

fn opens_with_module_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').starts_with("//!")
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("cannot list {}: {err}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|err| format!("cannot list {}: {err}", dir.display()))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|err| format!("cannot stat {}: {err}", path.display()))?;
        if file_type.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            collect_rust_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
