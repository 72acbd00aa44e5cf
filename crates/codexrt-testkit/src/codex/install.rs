//! [`CodexInstall`]: finds a codex version in the shared cache or installs it
//! there from npm, so that tests can run any published codex.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};
use std::{fs, io};

use tokio::process::Command;

use super::cache::{self, Surroundings};
use crate::TestkitError;
use crate::tempdir::{TempDir, remove_all};

/// How long `codex --version` may take before the binary is declared
/// broken; a healthy one answers in milliseconds.
const VERSION_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of npm's stderr an [`TestkitError::NpmFailed`] carries.
const STDERR_TAIL: usize = 2000;

/// Temp folders of installs this old were left by a process that died
/// mid-install; no live install takes this long.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Finds codex `version` in a cache folder, installing it from npm first
/// when it is not there.
///
/// The cache holds one folder per version (`<cache>/<version>`, an npm
/// prefix with `node_modules/@openai/codex...` inside). An install runs
/// `npm install --no-save --no-audit --no-fund --prefix <tmp>
/// @openai/codex@<version>` into a temp folder beside the destination,
/// checks that `codex --version` prints `codex-cli <version>`, and renames
/// the folder into place. So a version folder is complete or absent, and
/// concurrent installs are safe: within a process they wait for each other,
/// and across processes the first rename wins and the others use its
/// result.
///
/// ```no_run
/// use codexrt_testkit::CodexInstall;
///
/// # async fn run() -> Result<(), codexrt_testkit::TestkitError> {
/// let codex = CodexInstall::new("0.169.0").install().await?;
/// println!("{} is at {}", codex.version(), codex.program().display());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "nothing is installed until `install` is awaited"]
pub struct CodexInstall {
    version: String,
    cache_dir: Option<PathBuf>,
    npm: OsString,
}

/// An installed codex executable whose version has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexBinary {
    version: String,
    program: PathBuf,
    dir: PathBuf,
}

impl CodexBinary {
    /// The version, as asked for (`0.169.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The native executable (not the npm `codex.js` launcher).
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The version's folder in the cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl CodexInstall {
    /// Looks for or installs `@openai/codex@<version>`, an exact version
    /// such as `0.169.0`.
    pub fn new(version: impl Into<String>) -> CodexInstall {
        CodexInstall {
            version: version.into(),
            cache_dir: None,
            npm: OsString::from(if cfg!(windows) { "npm.cmd" } else { "npm" }),
        }
    }

    /// The cache folder that holds one folder per version. Default: the
    /// `CODEXRT_CODEX_CACHE` environment variable when set, else `codex/` in
    /// the Cargo target folder (`CARGO_TARGET_DIR`, the target folder of the
    /// running test executable, or `target/` of the workspace around
    /// `CARGO_MANIFEST_DIR` or the current directory).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> CodexInstall {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The npm program, found through `PATH` unless it is a path. Default:
    /// `npm` (`npm.cmd` on Windows).
    pub fn npm(mut self, program: impl Into<OsString>) -> CodexInstall {
        self.npm = program.into();
        self
    }

    /// Returns the cached version, installing it first when it is missing.
    ///
    /// # Errors
    /// - [`TestkitError::InvalidVersion`] for a version npm would not accept
    ///   as a folder-safe exact version.
    /// - [`TestkitError::NoCacheDir`] when no cache folder is given and none
    ///   can be found.
    /// - [`TestkitError::UnsupportedPlatform`] on a platform codex has no
    ///   binary for.
    /// - [`TestkitError::NpmNotFound`] when npm cannot be run, and
    ///   [`TestkitError::NpmFailed`] when it cannot install the version.
    /// - [`TestkitError::BinaryMissing`], [`TestkitError::VersionCheck`] and
    ///   [`TestkitError::VersionMismatch`] when the installed package is not
    ///   a working codex of that version (a broken download never replaces
    ///   the cached folder).
    /// - [`TestkitError::Io`] when the cache cannot be written.
    ///
    /// # Cancel safety
    /// Dropping the future kills a running npm and removes its temp folder;
    /// the cache is left as it was.
    pub async fn install(self) -> Result<CodexBinary, TestkitError> {
        check_version(&self.version)?;
        let relative = binary_paths()?;
        let root = match self.cache_dir {
            Some(dir) => dir,
            None => {
                cache::resolve(&Surroundings::of_this_process()).ok_or(TestkitError::NoCacheDir)?
            }
        };
        let dest = root.join(&self.version);

        // Tests of one binary run in parallel and often ask for the same
        // version; the first installs, the others wait and find it.
        let lock = install_lock(&dest);
        let _guard = lock.lock().await;

        if let Some(binary) = find(&dest, &self.version, &relative).await? {
            return Ok(binary);
        }
        create_dir_all(&root)?;
        remove_stale_temp_folders(&root, &self.version);
        let tmp = TempDir::new_in(&root, &format!(".tmp-{}", self.version))?;
        run_npm(&self.npm, &self.version, tmp.path()).await?;
        // Checked before the rename, so a broken package never lands in place.
        if find(tmp.path(), &self.version, &relative).await?.is_none() {
            return Err(TestkitError::BinaryMissing {
                version: self.version,
                dir: tmp.keep(),
            });
        }
        match fs::rename(tmp.path(), &dest) {
            Ok(()) => {
                tmp.keep();
            }
            // Another process renamed its install into place first; ours
            // is removed when `tmp` drops and theirs is used below.
            Err(_) if dest.is_dir() => {}
            Err(source) => {
                return Err(TestkitError::Io {
                    action: "move into place",
                    path: dest,
                    source,
                });
            }
        }
        find(&dest, &self.version, &relative)
            .await?
            .ok_or(TestkitError::BinaryMissing {
                version: self.version,
                dir: dest,
            })
    }
}

/// The version folder's binary, checked, or `None` when there is none.
async fn find(
    dir: &Path,
    version: &str,
    relative: &[PathBuf],
) -> Result<Option<CodexBinary>, TestkitError> {
    let Some(program) = relative
        .iter()
        .map(|path| dir.join(path))
        .find(|path| path.is_file())
    else {
        return Ok(None);
    };
    verify_version(&program, version).await?;
    Ok(Some(CodexBinary {
        version: version.to_owned(),
        program,
        dir: dir.to_path_buf(),
    }))
}

/// Versions become folder names and npm specs: a leading digit (so no dist
/// tag such as `latest`, whose folder would go stale, and no `..`) and
/// nothing but the characters of a semver.
pub(crate) fn check_version(version: &str) -> Result<(), TestkitError> {
    let valid = version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if valid {
        Ok(())
    } else {
        Err(TestkitError::InvalidVersion {
            version: version.to_owned(),
        })
    }
}

/// Where the native executable sits in an npm prefix. Current packages ship
/// it in a per-platform package (`@openai/codex-linux-x64`, ...); npm's
/// `codex.js` launcher also looks in `vendor/` of `@openai/codex` itself,
/// where older packages kept it, and so do we.
pub(crate) fn binary_paths() -> Result<Vec<PathBuf>, TestkitError> {
    use std::env::consts::{ARCH, OS};
    let (package, triple) = match (OS, ARCH) {
        ("linux", "x86_64") => ("codex-linux-x64", "x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => ("codex-darwin-x64", "x86_64-apple-darwin"),
        ("macos", "aarch64") => ("codex-darwin-arm64", "aarch64-apple-darwin"),
        ("windows", "x86_64") => ("codex-win32-x64", "x86_64-pc-windows-msvc"),
        ("windows", "aarch64") => ("codex-win32-arm64", "aarch64-pc-windows-msvc"),
        _ => return Err(TestkitError::UnsupportedPlatform { os: OS, arch: ARCH }),
    };
    let exe = if cfg!(windows) { "codex.exe" } else { "codex" };
    let in_package = |name: &str| -> PathBuf {
        [
            "node_modules",
            "@openai",
            name,
            "vendor",
            triple,
            "bin",
            exe,
        ]
        .iter()
        .collect()
    };
    Ok(vec![in_package(package), in_package("codex")])
}

/// One lock per destination folder, shared by every install in this
/// process.
fn install_lock(dest: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry(dest.to_path_buf()).or_default())
}

fn create_dir_all(dir: &Path) -> Result<(), TestkitError> {
    fs::create_dir_all(dir).map_err(|source| TestkitError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })
}

/// Removes temp folders of this version that a killed process left behind.
/// Best effort: a folder that cannot be removed only costs disk space.
fn remove_stale_temp_folders(root: &Path, version: &str) {
    let prefix = format!(".tmp-{version}-");
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| {
                SystemTime::now()
                    .duration_since(modified)
                    .is_ok_and(|age| age > STALE_AFTER)
            });
        if stale && entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = remove_all(&entry.path());
        }
    }
}

async fn run_npm(npm: &OsString, version: &str, prefix: &Path) -> Result<(), TestkitError> {
    let output = Command::new(npm)
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(prefix)
        .arg(format!("@openai/codex@{version}"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| TestkitError::NpmNotFound {
            program: npm.to_string_lossy().into_owned(),
            version: version.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(TestkitError::NpmFailed {
        version: version.to_owned(),
        status: output.status,
        stderr_tail: tail(&String::from_utf8_lossy(&output.stderr), STDERR_TAIL),
    })
}

/// The last `max` bytes of `text` (cut at a character boundary), trimmed.
pub(crate) fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

async fn verify_version(program: &Path, version: &str) -> Result<(), TestkitError> {
    let version_check = |source: io::Error| TestkitError::VersionCheck {
        program: program.to_path_buf(),
        source,
    };
    let run = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(VERSION_TIMEOUT, run)
        .await
        .map_err(|_| version_check(io::ErrorKind::TimedOut.into()))?
        .map_err(version_check)?;
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(str::to_owned)
    };
    let found = first_line(&output.stdout)
        .or_else(|| first_line(&output.stderr))
        .unwrap_or_default();
    if output.status.success() && found == format!("codex-cli {version}") {
        Ok(())
    } else {
        Err(TestkitError::VersionMismatch {
            program: program.to_path_buf(),
            expected: version.to_owned(),
            found,
        })
    }
}
