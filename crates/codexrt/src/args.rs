//! Local checks of the arguments of the protocol helpers ([`Fs`](crate::Fs),
//! [`Exec`](crate::Exec), [`Account`](crate::Account), ...): what codex would
//! refuse anyway, or silently misread, is refused before anything is sent.

use std::path::Path;

use semver::Version;

use crate::ClientError;

/// `path` as codex takes it: absolute and UTF-8. Relative paths are
/// refused rather than resolved, because codex reads them on its own
/// machine, where this process's current directory means nothing.
pub(crate) fn absolute_path(method: &'static str, path: &Path) -> Result<String, ClientError> {
    let refuse = |problem| ClientError::InvalidPath {
        method,
        path: path.to_path_buf(),
        problem,
    };
    if path.as_os_str().is_empty() {
        return Err(refuse("is empty"));
    }
    if !path.is_absolute() {
        return Err(refuse("is not absolute"));
    }
    let Some(text) = path.to_str() else {
        return Err(refuse("is not valid UTF-8"));
    };
    Ok(text.to_owned())
}

/// `value`, unless it is empty or only whitespace.
pub(crate) fn not_blank(
    method: &'static str,
    argument: &'static str,
    value: String,
) -> Result<String, ClientError> {
    if value.trim().is_empty() {
        return Err(ClientError::InvalidArgument {
            method,
            argument,
            problem: "is blank",
        });
    }
    Ok(value)
}

/// A field that appeared in codex `since`: when it is set and the server
/// is older, the call is refused. Servers newer than every known version
/// and prereleases of `since` count as having it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSince {
    pub(crate) method: &'static str,
    pub(crate) field: &'static str,
    pub(crate) since: (u64, u64, u64),
}

impl FieldSince {
    /// Refuses the field when `set` and `server` is older than its version.
    pub(crate) fn check(self, set: bool, server: &Version) -> Result<(), ClientError> {
        let (major, minor, patch) = self.since;
        let since = Version::new(major, minor, patch);
        let older = (server.major, server.minor, server.patch) < (major, minor, patch);
        if set && older {
            return Err(ClientError::FieldUnavailable {
                method: self.method,
                field: self.field,
                since,
                version: server.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
