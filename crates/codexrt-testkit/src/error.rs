//! Errors of the testkit: starting the model server, finding or installing
//! a codex binary, preparing its home.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Errors of the testkit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The scripted model server could not listen on the loopback interface.
    #[error("failed to bind the model server to 127.0.0.1")]
    Bind(#[source] io::Error),
    /// A file or folder operation failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done, as a verb phrase ("create", "rename", ...).
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// No folder for the codex cache could be found: no explicit folder, no
    /// `CODEXRT_CODEX_CACHE`, no `CARGO_TARGET_DIR` and no Cargo workspace
    /// around the current directory.
    #[error(
        "cannot tell where to cache codex binaries: set CODEXRT_CODEX_CACHE or \
         call CodexInstall::cache_dir"
    )]
    NoCacheDir,
    /// The codex npm package has no binary for this operating system and
    /// processor.
    #[error("codex publishes no binary for {os}/{arch}")]
    UnsupportedPlatform {
        /// `std::env::consts::OS`.
        os: &'static str,
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// The version is not an exact version (a leading digit, then digits,
    /// letters, `.`, `-`, `+`), so it cannot name a package and a folder.
    #[error("{version:?} is not a codex version")]
    InvalidVersion {
        /// The version that was given.
        version: String,
    },
    /// npm could not be started.
    #[error(
        "cannot run `{program}` to install codex {version}: install Node.js and npm \
         (https://nodejs.org), or point CodexInstall::npm at it"
    )]
    NpmNotFound {
        /// The npm program that was tried.
        program: String,
        /// The codex version that was to be installed.
        version: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// npm ran but could not install the version.
    #[error("npm could not install @openai/codex@{version} ({status}): {stderr_tail}")]
    NpmFailed {
        /// The codex version that was to be installed.
        version: String,
        /// npm's exit status.
        status: ExitStatus,
        /// The last lines npm wrote to stderr.
        stderr_tail: String,
    },
    /// The installed package holds no codex executable where one is expected.
    #[error("codex {version} is installed at `{}` but has no executable for this platform", dir.display())]
    BinaryMissing {
        /// The codex version.
        version: String,
        /// The install folder.
        dir: PathBuf,
    },
    /// `codex --version` could not be run.
    #[error("failed to run `{} --version`", program.display())]
    VersionCheck {
        /// The codex executable.
        program: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// `codex --version` did not print `codex-cli <version>`.
    #[error("`{} --version` printed {found:?}, expected \"codex-cli {expected}\"", program.display())]
    VersionMismatch {
        /// The codex executable.
        program: PathBuf,
        /// The version that was asked for.
        expected: String,
        /// What the executable printed, trimmed (stdout, or stderr when
        /// stdout was empty).
        found: String,
    },

    // Fake app-server, transcripts, record and replay, golden files.
    /// A line of transcript text is not a transcript line.
    #[error("line {line} of the transcript is not a transcript line")]
    TranscriptLine {
        /// The 1-based line number.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A line of a transcript file is not a transcript line.
    #[error("line {line} of `{}` is not a transcript line", path.display())]
    TranscriptFile {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A file is not a fake app-server script.
    #[error("`{}` is not a fake app-server script", path.display())]
    FakeScript {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A recording kept in memory outgrew its limit.
    #[error(
        "the recording outgrew its limit of {max_bytes} bytes and dropped its last {dropped} \
         lines; raise the limit or record to a file"
    )]
    RecordingOverflow {
        /// The limit of the memory sink.
        max_bytes: usize,
        /// How many lines were dropped.
        dropped: u64,
    },
    /// A transcript differs from its golden file.
    #[error(
        "`{}` differs: {mismatch}; rerun with CODEXRT_UPDATE_GOLDEN=1 to rewrite it",
        path.display()
    )]
    GoldenMismatch {
        /// The golden file.
        path: PathBuf,
        /// The first difference.
        mismatch: Box<crate::ReplayMismatch>,
    },
    /// A golden file does not exist.
    #[error(
        "golden file `{}` does not exist; rerun with CODEXRT_UPDATE_GOLDEN=1 to create it",
        path.display()
    )]
    GoldenMissing {
        /// The golden file.
        path: PathBuf,
    },
    /// Update mode rewrote a golden file that differed; the check still
    /// fails so that an update is never silently green.
    #[error(
        "golden file `{}` was rewritten (CODEXRT_UPDATE_GOLDEN=1); review the change and rerun \
         without it",
        path.display()
    )]
    GoldenUpdated {
        /// The golden file.
        path: PathBuf,
    },
}
