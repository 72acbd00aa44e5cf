//! [`TempDir`]: a uniquely named folder under the system's temp folder,
//! removed with everything in it when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use std::{fs, io, process};

use crate::TestkitError;

#[cfg(test)]
mod tests;

/// A fresh folder under [`std::env::temp_dir`], removed (with its contents)
/// when the value is dropped. Useful as a thread's working directory or as a
/// `CODEX_HOME`.
///
/// Names combine a prefix, the process id, a per-process counter and the
/// clock, and the folder is created with `create_dir` (never reusing an
/// existing one), so concurrent tests and processes never share a folder.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

/// Distinguishes folders created by one process within the same clock tick.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    /// Creates a folder named `<prefix>-<pid>-<n>-<nanos>` under the
    /// system's temp folder.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folder cannot be created.
    pub fn new(prefix: &str) -> Result<TempDir, TestkitError> {
        TempDir::new_in(&std::env::temp_dir(), prefix)
    }

    /// Creates a folder named `<prefix>-<pid>-<n>-<nanos>` under `parent`,
    /// which must exist.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folder cannot be created.
    pub fn new_in(parent: &Path, prefix: &str) -> Result<TempDir, TestkitError> {
        let path = parent.join(unique_name(prefix));
        fs::create_dir(&path).map_err(|source| TestkitError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        Ok(TempDir { path })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the folder now and reports whether that worked; dropping
    /// removes it too but ignores failures.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folder or something in it cannot be
    /// removed.
    pub fn close(mut self) -> Result<(), TestkitError> {
        // Taken, so that dropping `self` does not try again.
        let path = std::mem::take(&mut self.path);
        remove_all(&path).map_err(|source| TestkitError::Io {
            action: "remove",
            path,
            source,
        })
    }

    /// Keeps the folder on disk (for looking at it after a failed test) and
    /// returns its path.
    pub fn keep(mut self) -> PathBuf {
        std::mem::take(&mut self.path)
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // `close` and `keep` leave an empty path behind.
        if self.path.as_os_str().is_empty() {
            return;
        }
        // Nothing useful can be done with an error here: the folder is in
        // the temp area and the test outcome must not depend on it.
        let _ = remove_all(&self.path);
    }
}

/// Removes a folder tree; a folder that is already gone is not an error.
pub(crate) fn remove_all(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `<prefix>-<pid>-<n>-<nanos>`: unique within this process by the counter,
/// and across processes by the pid (the clock only guards against pid reuse).
pub(crate) fn unique_name(prefix: &str) -> String {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{prefix}-{}-{id}-{nanos}", process::id())
}
