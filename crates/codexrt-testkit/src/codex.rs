//! [`Codex`]: a codex binary with an isolated home and workspace, ready to
//! be spawned as `codex app-server`.

mod cache;
mod home;
mod install;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use codexrt_transport::StdioTransport;

pub use cache::CODEX_CACHE_ENV;
pub use home::{CodexHome, mock_config_toml};
pub use install::{CodexBinary, CodexInstall};

use crate::{ModelServer, TempDir, TestkitError};

/// A codex binary set up for one test: its own `CODEX_HOME` (pointing at a
/// scripted model) and an empty workspace folder, both removed when the
/// value is dropped. Keep it alive as long as the app-server runs.
///
/// ```no_run
/// use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let model = ModelServer::start(Script::replies([Reply::message("hi")])).await?;
/// let codex = Codex::new(CodexInstall::new("0.169.0").install().await?, &model)?;
/// let spawned = codex.app_server().spawn().await?;
/// // `spawned.connection` speaks JSON-RPC; use `thread/start` with
/// // `{"cwd": codex.workspace()}`.
/// # drop(spawned);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Codex {
    binary: CodexBinary,
    home: CodexHome,
    workspace: TempDir,
}

/// What it takes to start `codex app-server` yourself: program, arguments,
/// environment additions (on top of the inherited environment) and working
/// directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodexCommand {
    /// The native codex executable.
    pub program: PathBuf,
    /// `["app-server"]`.
    pub args: Vec<OsString>,
    /// Variables to set: `CODEX_HOME`.
    pub env: Vec<(OsString, OsString)>,
    /// The workspace folder.
    pub current_dir: PathBuf,
}

impl CodexCommand {
    /// The same as a [`std::process::Command`] (which converts into a
    /// `tokio::process::Command`), with stdio left at its defaults.
    pub fn to_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(&self.current_dir);
        command
    }
}

impl Codex {
    /// `binary` with a fresh home configured by
    /// [`mock_config_toml`]`(model.base_url())` and a fresh workspace.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the folders cannot be created.
    pub fn new(binary: CodexBinary, model: &ModelServer) -> Result<Codex, TestkitError> {
        Codex::with_home(binary, CodexHome::new(&model.base_url())?)
    }

    /// `binary` with the given home (for a `config.toml` of your own) and a
    /// fresh workspace.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the workspace cannot be created.
    pub fn with_home(binary: CodexBinary, home: CodexHome) -> Result<Codex, TestkitError> {
        Ok(Codex {
            binary,
            home,
            workspace: TempDir::new("codexrt-workspace")?,
        })
    }

    /// The binary.
    pub fn binary(&self) -> &CodexBinary {
        &self.binary
    }

    /// The `CODEX_HOME` folder.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// An empty folder, removed with `self`: the app-server's working
    /// directory and a natural `cwd` for threads.
    pub fn workspace(&self) -> &Path {
        self.workspace.path()
    }

    /// The app-server command as data, for spawning it yourself.
    pub fn command(&self) -> CodexCommand {
        CodexCommand {
            program: self.binary.program().to_path_buf(),
            args: vec![OsString::from("app-server")],
            env: vec![(
                OsString::from("CODEX_HOME"),
                self.home.path().as_os_str().to_os_string(),
            )],
            current_dir: self.workspace.path().to_path_buf(),
        }
    }

    /// A stdio transport that runs `codex app-server` with `CODEX_HOME` set,
    /// in the workspace, inheriting the rest of the environment. Adjust it
    /// further (stderr forwarding, frame limits, ...) before spawning.
    #[cfg(unix)]
    pub fn app_server(&self) -> StdioTransport {
        let command = self.command();
        let mut transport = StdioTransport::new(&command.program)
            .args(&command.args)
            .current_dir(command.current_dir);
        for (key, value) in &command.env {
            transport = transport.env(key, value);
        }
        transport
    }
}
