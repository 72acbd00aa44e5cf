//! [`Harness`]: the scripted model and one codex version, with clients of
//! that codex spawned through the facade.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use codexrt::{Client, ClientConfig};
use codexrt_testkit::{
    Codex, CodexHome, CodexInstall, ModelServer, RecordSink, RecordingHandle, Script, TempDir,
    mock_config_toml,
};
use semver::Version;

use super::FacadeError;
use super::endpoint::{Endpoint, Listening};
use crate::scenario::{ScenarioError, check, check_eq};

/// How long a turn or a call may take: a turn takes well under a second, so
/// this only bounds a failing run.
pub(super) const WAIT: Duration = Duration::from_secs(60);

/// How long codex gets at each step of the shutdown ladder.
const GRACE: Duration = Duration::from_secs(5);

/// The most a recording may hold; a handshake and one call take a few
/// kilobytes.
const MAX_RECORDING: usize = 64 * 1024 * 1024;

/// The scripted model, codex of one version pointed at it, and an empty
/// `HOME`; clients of that codex are spawned through the facade, or reach
/// an app-server the harness starts listening, as the
/// [`Endpoint`] of the scope it was started in says.
#[derive(Debug)]
pub struct Harness {
    version: Version,
    model: ModelServer,
    codex: Codex,
    user_home: TempDir,
    endpoint: Endpoint,
    /// The listening app-servers started for clients so far.
    servers: Mutex<Vec<Listening>>,
}

impl Harness {
    /// Installs (or finds) codex `version` and starts the model with
    /// `script`.
    ///
    /// # Errors
    /// [`ScenarioError::Setup`] when codex cannot be installed or the model
    /// server cannot start.
    pub async fn start(version: &str, script: Script) -> Result<Harness, FacadeError> {
        Harness::start_with_config(version, script, "").await
    }

    /// As [`start`](Harness::start), with `extra` appended to codex's
    /// `config.toml` (after the scripted model's provider table), for
    /// example an `[mcp_servers.NAME]` table.
    ///
    /// # Errors
    /// As for [`start`](Harness::start).
    pub async fn start_with_config(
        version: &str,
        script: Script,
        extra: &str,
    ) -> Result<Harness, FacadeError> {
        let expected: Version = version
            .parse()
            .map_err(|_| ScenarioError::unexpected("a semver codex version", version))?;
        let binary = CodexInstall::new(version).install().await?;
        let model = ModelServer::start(script).await?;
        let config = format!("{}\n{extra}", mock_config_toml(&model.base_url()));
        let codex = Codex::with_home(binary, CodexHome::with_config(&config)?)?;
        // Codex runs commands through `bash -lc`, which reads `~/.bashrc`:
        // an empty `HOME` keeps the user's shell out of the runs.
        let user_home = TempDir::new("codexrt-user-home")?;
        Ok(Harness {
            version: expected,
            model,
            codex,
            user_home,
            endpoint: Endpoint::current(),
            servers: Mutex::new(Vec::new()),
        })
    }

    /// The thread's working folder.
    pub fn workspace(&self) -> &Path {
        self.codex.workspace()
    }

    /// codex's home (`CODEX_HOME`), isolated for this harness.
    pub fn codex_home(&self) -> &Path {
        self.codex.home()
    }

    /// The scripted model.
    pub fn model(&self) -> &ModelServer {
        &self.model
    }

    /// The client settings every scenario shares: bounded calls and turns.
    fn config(&self) -> ClientConfig {
        ClientConfig::new()
            .client_info("codexrt-tests", "0.1.0")
            .call_timeout(WAIT)
            .turn_timeout(WAIT)
            .shutdown_grace(GRACE)
    }

    /// A new app-server of this codex (same `CODEX_HOME`), spawned by
    /// [`Client::connect`] over stdio, or started listening on the
    /// harness's [`Endpoint`] and reached there; checks that it is the
    /// harness's version.
    ///
    /// # Errors
    /// [`FacadeError::Client`] when it cannot start, and
    /// [`ScenarioError::Unexpected`] for a version mismatch.
    pub async fn connect(&self) -> Result<Client, FacadeError> {
        self.connect_configured(|config| config).await
    }

    /// As [`connect`](Harness::connect), with the shared settings passed
    /// through `configure` first (hooks, the experimental API).
    ///
    /// # Errors
    /// As for [`connect`](Harness::connect).
    pub async fn connect_configured(
        &self,
        configure: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Result<Client, FacadeError> {
        let command = self.codex.command();
        // `Client::connect` runs `<program> app-server` itself.
        let mut config = configure(self.config())
            .program(&command.program)
            .current_dir(&command.current_dir)
            .env("HOME", self.user_home.path());
        for (key, value) in &command.env {
            config = config.env(key, value);
        }
        if self.endpoint != Endpoint::Stdio {
            let home = self.user_home.path().to_path_buf();
            let version = self.version.to_string();
            let (server, transport) =
                Listening::start(self.endpoint, &command, home, &version).await?;
            if let Ok(mut servers) = self.servers.lock() {
                servers.push(server);
            }
            config = config.websocket(transport);
        }
        let client = Client::connect(config).await?;
        self.check_version(&client)?;
        Ok(client)
    }

    /// Like [`connect`](Harness::connect), with every frame recorded: the
    /// app-server is spawned here and handed to [`Client::connect_with`].
    ///
    /// # Errors
    /// As for [`connect`](Harness::connect), and [`ScenarioError::Spawn`].
    pub async fn connect_recorded(&self) -> Result<(Client, RecordingHandle), FacadeError> {
        let spawned = self
            .codex
            .app_server()
            .env("HOME", self.user_home.path())
            .spawn()
            .await
            .map_err(|source| ScenarioError::Spawn {
                version: self.version.to_string(),
                source,
            })?;
        let (connection, recording) =
            codexrt_testkit::record(spawned.connection, RecordSink::memory(MAX_RECORDING));
        let client = Client::connect_with(connection, self.config()).await?;
        self.check_version(&client)?;
        Ok((client, recording))
    }

    fn check_version(&self, client: &Client) -> Result<(), ScenarioError> {
        check_eq(
            "the server's version",
            &client.runtime().server_info().version,
            &self.version,
        )
    }

    /// Shuts `client` down, then the model server, which must not have
    /// recorded a script error.
    ///
    /// # Errors
    /// [`FacadeError::Client`] when the shutdown fails, and
    /// [`ScenarioError::Unexpected`] for script errors.
    pub async fn finish(self, client: Client) -> Result<(), FacadeError> {
        client.shutdown().await?;
        let servers = self
            .servers
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for server in servers {
            server.stop().await;
        }
        let errors = self.model.script_errors();
        self.model.shutdown().await;
        check("no script errors", errors.is_empty(), errors)?;
        Ok(())
    }
}
