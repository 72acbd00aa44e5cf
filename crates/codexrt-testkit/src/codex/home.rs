//! [`CodexHome`]: an isolated `CODEX_HOME` whose `config.toml` points codex
//! at a scripted model.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{TempDir, TestkitError};

/// A temporary `CODEX_HOME`, removed when dropped, so that a codex under
/// test never reads or writes the user's `~/.codex` (sessions, logs,
/// credentials) and never reaches a real model.
#[derive(Debug)]
pub struct CodexHome {
    dir: TempDir,
}

impl CodexHome {
    /// A home whose `config.toml` is [`mock_config_toml`]`(model_base_url)`.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folder or the file cannot be written.
    pub fn new(model_base_url: &str) -> Result<CodexHome, TestkitError> {
        CodexHome::with_config(&mock_config_toml(model_base_url))
    }

    /// A home whose `config.toml` is exactly `config_toml`. To extend the
    /// default, append to [`mock_config_toml`]; keys that belong to the
    /// top-level table must come before its `[model_providers.mock]` table.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folder or the file cannot be written.
    pub fn with_config(config_toml: &str) -> Result<CodexHome, TestkitError> {
        let dir = TempDir::new("codexrt-home")?;
        let path = dir.path().join("config.toml");
        fs::write(&path, config_toml).map_err(|source| TestkitError::Io {
            action: "write",
            path,
            source,
        })?;
        Ok(CodexHome { dir })
    }

    /// The folder: the value for `CODEX_HOME`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<home>/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }
}

/// A `config.toml` that makes codex use the model `mock-model` from a
/// provider `mock` at `model_base_url` (such as
/// [`ModelServer::base_url`](crate::ModelServer::base_url)) over the
/// Responses API, with no retries (a scripted failure fails the turn at
/// once) and without WebSockets.
///
/// It sets no `approval_policy`: codex 0.169 refuses some values there;
/// pass `"approvalPolicy"` in `thread/start` or `turn/start` instead.
///
/// ```
/// let toml = codexrt_testkit::mock_config_toml("http://127.0.0.1:4000/v1");
/// assert!(toml.contains("base_url = \"http://127.0.0.1:4000/v1\""));
/// ```
pub fn mock_config_toml(model_base_url: &str) -> String {
    format!(
        "model = \"mock-model\"\n\
         model_provider = \"mock\"\n\
         \n\
         [model_providers.mock]\n\
         name = \"mock\"\n\
         base_url = {}\n\
         wire_api = \"responses\"\n\
         request_max_retries = 0\n\
         stream_max_retries = 0\n\
         supports_websockets = false\n",
        toml_string(model_base_url)
    )
}

/// A TOML basic string: the escapes serde_json writes (`\"`, `\\`, `\n`,
/// `\u001f`, ...) mean the same in TOML, so it does the quoting.
fn toml_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
