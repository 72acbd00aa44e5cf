//! [`Golden`]: golden transcript files, compared after normalization, with
//! an update mode that rewrites them and still fails.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Normalizer, TestkitError, Transcript};

/// The environment variable that turns on update mode: `1` rewrites golden
/// files that differ.
pub const UPDATE_GOLDEN_ENV: &str = "CODEXRT_UPDATE_GOLDEN";

/// Whether a golden check only compares, or also rewrites the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GoldenMode {
    /// Compare; a difference is an error.
    Check,
    /// Compare; a difference rewrites the file and is still an error, so
    /// that an update is never silently green.
    Update,
}

impl GoldenMode {
    /// [`GoldenMode::Update`] when [`UPDATE_GOLDEN_ENV`] is `1`,
    /// [`GoldenMode::Check`] otherwise.
    pub fn from_env() -> GoldenMode {
        GoldenMode::from_env_value(std::env::var_os(UPDATE_GOLDEN_ENV).as_deref())
    }

    fn from_env_value(value: Option<&OsStr>) -> GoldenMode {
        match value {
            Some(value) if value == "1" => GoldenMode::Update,
            _ => GoldenMode::Check,
        }
    }
}

/// A golden transcript file: the expected conversation, stored normalized
/// (see [`Normalizer`]) so that it holds no timestamps, generated ids or
/// temp paths and an update shows only real changes.
///
/// ```no_run
/// use codexrt_testkit::{Golden, Transcript};
///
/// # fn run(actual: Transcript) -> Result<(), codexrt_testkit::TestkitError> {
/// // Fails on a difference; with CODEXRT_UPDATE_GOLDEN=1 it rewrites the
/// // file and fails anyway, asking for a rerun.
/// Golden::check("tests/golden/handshake.jsonl", &actual)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a golden file is only checked by `verify`"]
pub struct Golden {
    path: PathBuf,
    normalizer: Normalizer,
    mode: GoldenMode,
}

impl Golden {
    /// The golden file at `path`, in the mode the environment asks for.
    pub fn new(path: impl Into<PathBuf>) -> Golden {
        Golden {
            path: path.into(),
            normalizer: Normalizer::default(),
            mode: GoldenMode::from_env(),
        }
    }

    /// `Golden::new(path).verify(actual)`.
    ///
    /// # Errors
    /// As for [`verify`](Golden::verify).
    pub fn check(path: impl Into<PathBuf>, actual: &Transcript) -> Result<(), TestkitError> {
        Golden::new(path).verify(actual)
    }

    /// The normalizer applied to both sides, and to what an update writes.
    /// Default: [`Normalizer::default`].
    pub fn normalizer(mut self, normalizer: Normalizer) -> Golden {
        self.normalizer = normalizer;
        self
    }

    /// Whether a difference rewrites the file. Default:
    /// [`GoldenMode::from_env`].
    pub fn mode(mut self, mode: GoldenMode) -> Golden {
        self.mode = mode;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Compares `actual` with the file, as [`Transcript::compare`] does. A
    /// file that matches is left alone in either mode.
    ///
    /// # Errors
    /// - [`TestkitError::GoldenMismatch`] with the first difference, or
    ///   [`TestkitError::GoldenMissing`], in check mode;
    /// - [`TestkitError::GoldenUpdated`] in update mode, after writing the
    ///   normalized `actual` (creating missing folders);
    /// - [`TestkitError::TranscriptFile`] when the file is not a transcript
    ///   (in check mode), [`TestkitError::Io`] when it cannot be read or
    ///   written.
    pub fn verify(&self, actual: &Transcript) -> Result<(), TestkitError> {
        let problem = match Transcript::load(&self.path) {
            Ok(expected) => match Transcript::compare(&expected, actual, &self.normalizer) {
                Ok(()) => return Ok(()),
                Err(mismatch) => TestkitError::GoldenMismatch {
                    path: self.path.clone(),
                    mismatch: Box::new(mismatch),
                },
            },
            Err(TestkitError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                TestkitError::GoldenMissing {
                    path: self.path.clone(),
                }
            }
            Err(err) => err,
        };
        if matches!(&problem, TestkitError::Io { .. }) || self.mode == GoldenMode::Check {
            return Err(problem);
        }
        self.write(&actual.normalized(&self.normalizer))?;
        Err(TestkitError::GoldenUpdated {
            path: self.path.clone(),
        })
    }

    fn write(&self, transcript: &Transcript) -> Result<(), TestkitError> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| TestkitError::Io {
                action: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        transcript.save(&self.path)
    }
}

#[cfg(test)]
mod tests;
