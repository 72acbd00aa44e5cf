//! The codex binary of a given version for xtask commands, from the same
//! npm-backed cache (`target/codex/<version>`) that the testkit and the test
//! suites use.

use std::error::Error;
use std::path::{Path, PathBuf};

use codexrt_testkit::CodexInstall;

/// Installs codex `version` into `<root>/target/codex/<version>` unless it is
/// there already, and returns the path of its binary.
pub(crate) fn ensure_codex(root: &Path, version: &str) -> Result<PathBuf, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start a tokio runtime: {err}"))?;
    let install = CodexInstall::new(version).cache_dir(root.join("target").join("codex"));
    let binary = runtime
        .block_on(install.install())
        .map_err(|err| format!("cannot install codex {version}: {}", chain(&err)))?;
    Ok(binary.program().to_path_buf())
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
