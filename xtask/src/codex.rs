//! The codex binary of a given version for xtask commands, from the same
//! npm-backed cache that the testkit and the test suites use
//! (`CODEXRT_CODEX_CACHE`, else `codex/` in the Cargo target folder).

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use codexrt_testkit::{CODEX_CACHE_ENV, CodexInstall};

/// Installs codex `version` into the cache unless it is there already, and
/// returns the path of its binary.
pub(crate) fn ensure_codex(root: &Path, version: &str) -> Result<PathBuf, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start a tokio runtime: {err}"))?;
    let install = CodexInstall::new(version).cache_dir(cache_dir(root));
    let binary = runtime
        .block_on(install.install())
        .map_err(|err| format!("cannot install codex {version}: {}", chain(&err)))?;
    Ok(binary.program().to_path_buf())
}

/// Like [`ensure_codex`], telling the user on stderr when an install
/// starts, how long it has been running (on a terminal) and when it ends;
/// silent when the version is cached.
pub(crate) fn ensure_codex_with_progress(root: &Path, version: &str) -> Result<PathBuf, String> {
    let cache = cache_dir(root);
    if cache.join(version).is_dir() {
        return ensure_codex(root, version);
    }
    eprintln!(
        "installing codex {version} from npm into {} (first run only; this can take a minute)",
        cache.display()
    );
    let started = Instant::now();
    let (stop, stopped) = mpsc::channel::<()>();
    let package = format!("@openai/codex@{version}");
    let ticker = std::io::stderr().is_terminal().then(|| {
        std::thread::spawn(move || {
            // A line rewritten in place every second, so a slow download
            // does not look like a hang.
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_secs(1))
            {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(
                    stderr,
                    "\r  npm install {package} … {}s",
                    started.elapsed().as_secs()
                );
                let _ = stderr.flush();
            }
        })
    });
    let result = ensure_codex(root, version);
    drop(stop);
    if let Some(ticker) = ticker {
        let _ = ticker.join();
        eprint!("\r\x1b[2K");
    }
    if result.is_ok() {
        eprintln!(
            "installed codex {version} in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    result
}

/// The cache folder, resolved as the testkit resolves it for the test
/// suites, so that xtask and `cargo test` share one install:
/// `CODEXRT_CODEX_CACHE`, else `$CARGO_TARGET_DIR/codex`, else
/// `target/codex`; relative paths are taken from the workspace root.
pub(crate) fn cache_dir(root: &Path) -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = non_empty(CODEX_CACHE_ENV) {
        return root.join(dir);
    }
    if let Some(dir) = non_empty("CARGO_TARGET_DIR") {
        return root.join(dir).join("codex");
    }
    root.join("target").join("codex")
}

/// An error with its sources, for a one-line message on the terminal.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
