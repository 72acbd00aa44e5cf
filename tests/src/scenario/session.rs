//! [`Session`]: one `codex app-server` (live, live and recorded, or replayed
//! from a transcript) driven through our transport, rpc layer and typed
//! protocol, with the steps every scenario shares.

use std::path::Path;
use std::time::Duration;

use codexrt_protocol::types::{
    AskForApproval, ClientInfo, CommandExecutionApprovalDecision,
    CommandExecutionRequestApprovalResponse, InitializeParams, InitializedNotification,
    ThreadStartParams, TurnInterruptParams, TurnStartParams, UserInput,
};
use codexrt_protocol::{ClientNotification, ClientRequest, ServerNotification, ServerRequest};
use codexrt_rpc::{Incoming, IncomingReceiver, RpcClient, RpcConfig};
use codexrt_testkit::{
    Codex, CodexInstall, ModelServer, Normalizer, RecordSink, RecordingHandle, Replay,
    ReplayHandle, Script, TempDir, Transcript,
};
use semver::Version;

use super::events::{Event, decode_notification, decode_request};
use super::{ScenarioError, fixture_normalizer};

/// Longest wait for any one message from codex: a turn takes well under a
/// second, so this only bounds a failing run.
const WAIT: Duration = Duration::from_secs(60);

/// How long codex gets at each step of the shutdown ladder.
const GRACE: Duration = Duration::from_secs(5);

/// The most a recording may hold; the scenarios' transcripts are a few
/// kilobytes.
const MAX_RECORDING: usize = 64 * 1024 * 1024;

/// The `cwd` a replayed thread asks for: any path does, since `cwd` is
/// normalized away when the client's messages are compared.
const REPLAY_WORKSPACE: &str = "/codexrt-replay/workspace";

/// Where a scenario runs.
#[derive(Debug)]
pub enum Target {
    /// The real codex of this version, against the scripted model.
    Live {
        /// The codex version to install and run.
        version: String,
    },
    /// Like [`Target::Live`], with every frame recorded.
    Recording {
        /// The codex version to install and run.
        version: String,
    },
    /// A recorded transcript of this version, replayed: nothing is
    /// installed or spawned and the model script is not used.
    Replay {
        /// The codex version the transcript was recorded from.
        version: String,
        /// The recording.
        transcript: Transcript,
    },
}

impl Target {
    /// The codex version.
    pub fn version(&self) -> &str {
        match self {
            Target::Live { version }
            | Target::Recording { version }
            | Target::Replay { version, .. } => version,
        }
    }
}

/// How a session answers the server requests of a turn.
#[derive(Debug, Clone)]
pub enum Approvals {
    /// No server request is expected: any one fails the scenario.
    NoneExpected,
    /// Command approvals are answered with this decision; any other server
    /// request fails the scenario.
    Commands(CommandExecutionApprovalDecision),
}

/// What a finished session leaves behind.
#[derive(Debug)]
pub struct Finished {
    /// The recorded conversation, for [`Target::Recording`].
    pub transcript: Option<Transcript>,
    /// The normalizer that makes the recording stable across runs: the
    /// fixtures' rules plus this run's temporary folders.
    pub normalizer: Normalizer,
}

/// A handshaken connection to one codex app-server.
#[derive(Debug)]
pub struct Session {
    client: RpcClient,
    incoming: IncomingReceiver,
    version: Version,
    user_agent: String,
    backend: Backend,
}

// One per session: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Backend {
    Live {
        codex: Codex,
        user_home: TempDir,
        model: ModelServer,
        recording: Option<RecordingHandle>,
    },
    Replay(ReplayHandle),
}

impl Session {
    /// Starts the scripted model with `script` and codex (or the replay),
    /// then does the handshake and checks that the server's `userAgent`
    /// names the target's version.
    ///
    /// # Errors
    /// [`ScenarioError::Setup`] when codex cannot be installed (npm missing,
    /// version not published, ...) or the model server cannot start,
    /// [`ScenarioError::Spawn`], [`ScenarioError::Rpc`], and
    /// [`ScenarioError::Unexpected`] for a version mismatch.
    pub async fn start(target: Target, script: Script) -> Result<Session, ScenarioError> {
        let expected: Version = target
            .version()
            .parse()
            .map_err(|_| ScenarioError::unexpected("a semver codex version", target.version()))?;
        let (connection, backend) = match target {
            Target::Live { version } => live(&version, script, false).await?,
            Target::Recording { version } => live(&version, script, true).await?,
            Target::Replay { transcript, .. } => {
                let (connection, handle) = Replay::new(transcript)
                    .normalizer(fixture_normalizer())
                    .start();
                (connection, Backend::Replay(handle))
            }
        };
        let (client, incoming) = RpcClient::start(connection, RpcConfig::new());
        let params = InitializeParams {
            client_info: ClientInfo {
                name: "codexrt-tests".to_owned(),
                title: None,
                version: "0.1.0".to_owned(),
            },
            ..InitializeParams::default()
        };
        let init = call(&client, &params).await?;
        let version = version_from_user_agent(&init.user_agent).ok_or_else(|| {
            ScenarioError::unexpected("a semver after the first `/`", &init.user_agent)
        })?;
        if version != expected {
            return Err(ScenarioError::unexpected(
                format!("a codex {expected} userAgent"),
                &init.user_agent,
            ));
        }
        client
            .notify(InitializedNotification::METHOD, InitializedNotification)
            .await
            .map_err(ScenarioError::Rpc)?;
        Ok(Session {
            client,
            incoming,
            version,
            user_agent: init.user_agent,
            backend,
        })
    }

    /// The server's version, from its `userAgent`.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The server's `userAgent`.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The thread's working folder when codex runs live; `None` in a replay.
    pub fn workspace(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Live { codex, .. } => Some(codex.workspace()),
            Backend::Replay(_) => None,
        }
    }

    /// The scripted model when codex runs live; `None` in a replay.
    pub fn model(&self) -> Option<&ModelServer> {
        match &self.backend {
            Backend::Live { model, .. } => Some(model),
            Backend::Replay(_) => None,
        }
    }

    /// Calls the request whose params are `params`.
    ///
    /// # Errors
    /// [`ScenarioError::Rpc`] when the call fails or its result is not a
    /// `P::Response`.
    pub async fn call<P: ClientRequest + Sync>(
        &self,
        params: &P,
    ) -> Result<P::Response, ScenarioError> {
        call(&self.client, params).await
    }

    /// `thread/start` with `params`, its `cwd` set to the workspace; returns
    /// the thread id.
    ///
    /// # Errors
    /// As for [`call`](Session::call).
    pub async fn start_thread(&self, params: ThreadStartParams) -> Result<String, ScenarioError> {
        let cwd = self.workspace().map_or_else(
            || REPLAY_WORKSPACE.to_owned(),
            |path| path.display().to_string(),
        );
        let params = ThreadStartParams {
            cwd: Some(cwd),
            ..params
        };
        Ok(self.call(&params).await?.thread.id)
    }

    /// `turn/start` with one text input under the `untrusted` approval
    /// policy, so that every command asks first; returns the turn id.
    ///
    /// # Errors
    /// As for [`call`](Session::call).
    pub async fn start_turn(&self, thread_id: &str, text: &str) -> Result<String, ScenarioError> {
        let params = TurnStartParams {
            thread_id: thread_id.to_owned(),
            input: vec![UserInput::Text {
                text: text.to_owned(),
                text_elements: None,
            }],
            approval_policy: Some(AskForApproval::Untrusted),
            ..TurnStartParams::default()
        };
        Ok(self.call(&params).await?.turn.id)
    }

    /// `turn/interrupt`.
    ///
    /// # Errors
    /// As for [`call`](Session::call).
    pub async fn interrupt(&self, thread_id: &str, turn_id: &str) -> Result<(), ScenarioError> {
        let params = TurnInterruptParams {
            thread_id: thread_id.to_owned(),
            turn_id: turn_id.to_owned(),
        };
        self.call(&params).await.map(drop)
    }

    /// The next message from codex, decoded and checked for drift; a server
    /// request is answered as `approvals` says before it is returned.
    ///
    /// # Errors
    /// [`ScenarioError::Silent`] after a minute without a message,
    /// [`ScenarioError::Closed`], [`ScenarioError::Decode`],
    /// [`ScenarioError::Drift`], and [`ScenarioError::Unexpected`] for a
    /// server request `approvals` does not cover or a malformed frame.
    pub async fn next_event(&mut self, approvals: &Approvals) -> Result<Event, ScenarioError> {
        let item = tokio::time::timeout(WAIT, self.incoming.recv())
            .await
            .map_err(|_| ScenarioError::Silent(WAIT))?;
        match item {
            None => {
                let report = self.client.closed().await;
                Err(ScenarioError::Closed(report))
            }
            Some(Incoming::Notification(notification)) => decode_notification(
                &self.version,
                &notification.method,
                notification.params.as_deref(),
            )
            .map(Event::Notification),
            Some(Incoming::Request(request)) => {
                let decoded = decode_request(&self.version, request.method(), request.params())?;
                let (_, responder) = request.into_parts();
                match (&decoded, approvals) {
                    (
                        ServerRequest::ItemCommandExecutionRequestApproval(_),
                        Approvals::Commands(decision),
                    ) => responder
                        .respond(CommandExecutionRequestApprovalResponse {
                            decision: decision.clone(),
                        })
                        .map_err(ScenarioError::Rpc)?,
                    _ => {
                        return Err(ScenarioError::unexpected(
                            format!("no server request other than those {approvals:?} answers"),
                            &decoded,
                        ));
                    }
                }
                Ok(Event::Request(decoded))
            }
            Some(other) => Err(ScenarioError::unexpected(
                "a notification or a server request",
                other,
            )),
        }
    }

    /// Every message up to and including `turn/completed`.
    ///
    /// # Errors
    /// As for [`next_event`](Session::next_event).
    pub async fn run_turn(&mut self, approvals: &Approvals) -> Result<Vec<Event>, ScenarioError> {
        let mut events = Vec::new();
        loop {
            let event = self.next_event(approvals).await?;
            let done = matches!(
                event,
                Event::Notification(ServerNotification::TurnCompleted(_))
            );
            events.push(event);
            if done {
                return Ok(events);
            }
        }
    }

    /// Shuts codex (or the replay) down. Live, the scripted model must not
    /// have recorded a script error; a replay must have been followed to
    /// its last client line.
    ///
    /// # Errors
    /// [`ScenarioError::Shutdown`], [`ScenarioError::Replay`],
    /// [`ScenarioError::Setup`] when the recording cannot be finished, and
    /// [`ScenarioError::Unexpected`] for script errors.
    pub async fn finish(self) -> Result<Finished, ScenarioError> {
        within("shutting codex down", self.client.shutdown(GRACE))
            .await?
            .map_err(ScenarioError::Shutdown)?;
        match self.backend {
            Backend::Live {
                codex,
                user_home,
                model,
                recording,
            } => {
                let transcript = match recording {
                    Some(handle) => Some(
                        within("finishing the recording", handle.finish())
                            .await?
                            .and_then(|recording| recording.into_transcript())
                            .map_err(ScenarioError::Setup)?,
                    ),
                    None => None,
                };
                let errors = model.script_errors();
                within("shutting the model server down", model.shutdown()).await?;
                if !errors.is_empty() {
                    return Err(ScenarioError::unexpected("no script errors", errors));
                }
                let normalizer = fixture_normalizer()
                    .path_prefix(codex.workspace(), "$WORKSPACE")
                    .path_prefix(codex.home(), "$CODEX_HOME")
                    .path_prefix(codex.binary().dir(), "$CODEX_INSTALL")
                    .path_prefix(user_home.path(), "$HOME");
                Ok(Finished {
                    transcript,
                    normalizer,
                })
            }
            Backend::Replay(handle) => {
                within("finishing the replay", handle.finish())
                    .await?
                    .map_err(ScenarioError::Replay)?;
                Ok(Finished {
                    transcript: None,
                    normalizer: fixture_normalizer(),
                })
            }
        }
    }
}

/// Installs (or finds) codex `version`, starts the model and spawns the
/// app-server, recording if asked.
async fn live(
    version: &str,
    script: Script,
    record: bool,
) -> Result<(codexrt_transport::Connection, Backend), ScenarioError> {
    let binary = CodexInstall::new(version)
        .install()
        .await
        .map_err(ScenarioError::Setup)?;
    let model = ModelServer::start(script)
        .await
        .map_err(ScenarioError::Setup)?;
    let codex = Codex::new(binary, &model).map_err(ScenarioError::Setup)?;
    // Codex runs commands, and a snapshot of the user's shell, through
    // `bash -lc`, which reads `~/.bashrc`. Whatever that prints (or how long
    // it takes: a `pyenv rehash` waiting for its lock) would leak into
    // command output and timing, so `HOME` is an empty folder.
    let user_home = TempDir::new("codexrt-user-home").map_err(ScenarioError::Setup)?;
    let spawned = codex
        .app_server()
        .env("HOME", user_home.path())
        .spawn()
        .await
        .map_err(|source| ScenarioError::Spawn {
            version: version.to_owned(),
            source,
        })?;
    let (connection, recording) = if record {
        let (connection, handle) =
            codexrt_testkit::record(spawned.connection, RecordSink::memory(MAX_RECORDING));
        (connection, Some(handle))
    } else {
        (spawned.connection, None)
    };
    Ok((
        connection,
        Backend::Live {
            codex,
            user_home,
            model,
            recording,
        },
    ))
}

/// `future`, failing with [`ScenarioError::Hung`] after [`WAIT`].
async fn within<T>(
    step: &'static str,
    future: impl std::future::Future<Output = T>,
) -> Result<T, ScenarioError> {
    tokio::time::timeout(WAIT, future)
        .await
        .map_err(|_| ScenarioError::Hung { step, after: WAIT })
}

async fn call<P: ClientRequest + Sync>(
    client: &RpcClient,
    params: &P,
) -> Result<P::Response, ScenarioError> {
    client
        .call::<P::Response>(P::METHOD, params)
        .await
        .map_err(ScenarioError::Rpc)
}

/// The semver right after the first `/` of a `userAgent`
/// (`codexrt-tests/0.169.0 (Debian 12.0.0; x86_64) ...`).
pub fn version_from_user_agent(user_agent: &str) -> Option<Version> {
    let (_, rest) = user_agent.split_once('/')?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
