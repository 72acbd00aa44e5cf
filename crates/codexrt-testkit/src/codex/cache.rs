//! Where installed codex versions are kept when the caller does not say:
//! `CODEXRT_CODEX_CACHE`, else `codex/` in the Cargo target folder.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// The environment variable that names the cache folder (the folder that
/// holds one folder per version).
pub const CODEX_CACHE_ENV: &str = "CODEXRT_CODEX_CACHE";

/// What the resolution looks at, gathered once so that it can be tested
/// without touching this process's environment.
#[derive(Debug, Default)]
pub(crate) struct Surroundings {
    pub(crate) cache_env: Option<OsString>,
    pub(crate) cargo_target_dir: Option<OsString>,
    pub(crate) current_exe: Option<PathBuf>,
    /// `CARGO_MANIFEST_DIR` when Cargo runs us (tests), else the current
    /// directory.
    pub(crate) start_dir: Option<PathBuf>,
}

impl Surroundings {
    pub(crate) fn of_this_process() -> Surroundings {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        Surroundings {
            cache_env: non_empty(CODEX_CACHE_ENV),
            cargo_target_dir: non_empty("CARGO_TARGET_DIR"),
            current_exe: std::env::current_exe().ok(),
            start_dir: non_empty("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok()),
        }
    }
}

/// The cache folder, in this order:
/// 1. `CODEXRT_CODEX_CACHE` (relative to the start folder when relative);
/// 2. `$CARGO_TARGET_DIR/codex` (a relative `CARGO_TARGET_DIR` is taken
///    relative to the workspace root, which is where Cargo is usually run);
/// 3. `codex/` in the target folder that holds the running executable
///    (found by the `CACHEDIR.TAG` Cargo writes there), which is right for
///    tests whatever the target folder is called;
/// 4. `target/codex` under the workspace root around the start folder.
pub(crate) fn resolve(surroundings: &Surroundings) -> Option<PathBuf> {
    let start = surroundings.start_dir.as_deref();
    if let Some(dir) = &surroundings.cache_env {
        return Some(absolute(Path::new(dir), start));
    }
    if let Some(dir) = &surroundings.cargo_target_dir {
        let base = start.and_then(workspace_root);
        let base = base.as_deref().or(start);
        return Some(absolute(Path::new(dir), base).join("codex"));
    }
    if let Some(target) = surroundings.current_exe.as_deref().and_then(target_dir_of) {
        return Some(target.join("codex"));
    }
    start
        .and_then(workspace_root)
        .map(|root| root.join("target").join("codex"))
}

fn absolute(path: &Path, base: Option<&Path>) -> PathBuf {
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

/// The nearest ancestor of `exe` that Cargo tagged as its build folder.
fn target_dir_of(exe: &Path) -> Option<PathBuf> {
    exe.ancestors()
        .skip(1)
        .find(|dir| is_cargo_cachedir(&dir.join("CACHEDIR.TAG")))
        .map(Path::to_path_buf)
}

fn is_cargo_cachedir(tag: &Path) -> bool {
    // Every cache-directory tag starts with this signature; Cargo's is one.
    const SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";
    fs::read(tag).is_ok_and(|content| content.starts_with(SIGNATURE))
}

/// The root of the Cargo workspace around `start`: the nearest ancestor whose
/// `Cargo.toml` has a `[workspace]` table, else the nearest one with a
/// `Cargo.toml` at all (a package outside any workspace).
pub(crate) fn workspace_root(start: &Path) -> Option<PathBuf> {
    let mut nearest_package = None;
    for dir in start.ancestors() {
        let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        if manifest.lines().any(|line| line.trim() == "[workspace]") {
            return Some(dir.to_path_buf());
        }
        nearest_package.get_or_insert_with(|| dir.to_path_buf());
    }
    nearest_package
}
