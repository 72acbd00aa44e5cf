//! The working directory of a run or session is checked before anything
//! starts: a directory that does not exist would give a thread whose every
//! command fails, and codex itself accepts it.

use std::path::{Path, PathBuf};

use codexrt_core::{CoreError, Runtime};
use codexrt_protocol::types::FsGetMetadataParams;

use crate::ClientError;

/// The most of codex's own words kept in the error.
const MAX_DETAIL: usize = 300;

/// Where the working directory can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CwdCheck {
    /// codex runs on this machine, started by us: the file system is ours.
    Local,
    /// codex runs elsewhere: it is asked (`fs/getMetadata`).
    Server,
    /// A transport of the user's own: where codex's files are is unknown,
    /// and a scripted peer need not know the method; nothing is checked.
    Unchecked,
}

/// Checks that `cwd` (absolute) is a directory where codex runs.
///
/// # Errors
/// [`ClientError::InvalidCwd`] when it is not; the runtime's error when the
/// question to codex fails otherwise (the connection closed, the call timed
/// out).
pub(crate) async fn check(how: CwdCheck, runtime: &Runtime, cwd: &str) -> Result<(), ClientError> {
    let invalid = |problem: String| ClientError::InvalidCwd {
        cwd: PathBuf::from(cwd),
        problem,
    };
    match how {
        CwdCheck::Unchecked => Ok(()),
        CwdCheck::Local => match std::fs::metadata(Path::new(cwd)) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(invalid("is not a directory".to_owned())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(invalid("does not exist".to_owned()))
            }
            Err(err) => Err(invalid(format!("cannot be read: {err}"))),
        },
        CwdCheck::Server => {
            let params = FsGetMetadataParams {
                path: cwd.to_owned(),
            };
            match runtime.call(params).await {
                Ok(meta) if meta.is_directory => Ok(()),
                Ok(_) => Err(invalid("is not a directory on codex's machine".to_owned())),
                // A server without the method cannot be asked; thread/start
                // will take the directory as it did before the check.
                Err(CoreError::Peer { code: -32601, .. } | CoreError::MethodUnavailable { .. }) => {
                    Ok(())
                }
                Err(CoreError::Peer { message, .. }) => Err(invalid(format!(
                    "cannot be read by codex: {}",
                    codexrt_transport::redact::bounded(&message, MAX_DETAIL)
                ))),
                Err(other) => Err(ClientError::from(other)),
            }
        }
    }
}
