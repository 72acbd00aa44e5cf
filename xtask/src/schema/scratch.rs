//! Uniquely named scratch directories that remove themselves when dropped.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory only this process uses; removed with its content on drop.
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `<parent>/.<label>-<pid>-<nanos>-<n>` (and `parent` if needed).
    ///
    /// The name is hidden so listings of `parent` show only finished entries,
    /// and unique across processes so two concurrent runs never share one.
    pub(crate) fn create(parent: &Path, label: &str) -> Result<Self, String> {
        fs::create_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        let path = parent.join(unique_name(label));
        // `create_dir`, not `create_dir_all`: an existing folder of that name
        // belongs to someone else and must not be shared.
        fs::create_dir(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        Ok(Self { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Nothing is left to remove when the directory was renamed into place,
        // and a leftover is harmless (it is hidden and under `target/`).
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A hidden name no other live process produces: the process id tells
/// processes apart, the counter tells this process's names apart, and the
/// time avoids leftovers of a dead process that had the same id.
pub(crate) fn unique_name(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(".{label}-{}-{nanos}-{n}", std::process::id())
}
