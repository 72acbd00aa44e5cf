//! [`Endpoint`]: how the facade scenarios reach codex. Over stdio the
//! facade spawns `codex app-server` itself; over a WebSocket or a Unix
//! socket the harness starts `codex app-server --listen ..` with the same
//! home, workspace and environment, and the facade connects to it.
//!
//! A scenario runs over an endpoint when it is awaited inside
//! [`Endpoint::scope`]; [`Harness::start`](super::Harness::start) reads the
//! endpoint there, so the scenario code is the same for all of them.

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use codexrt::transport::{SignedBearer, WebSocketAuth, WebSocketTransport};
use codexrt_testkit::{CodexCommand, TempDir};
use tokio::process::Child;

use crate::scenario::ScenarioError;

/// The capability token of the WebSocket endpoint.
const TOKEN: &str = "capability-token-of-the-endpoint-matrix";

/// The shared secret of the signed-token endpoint: codex wants 32 bytes or
/// more.
const SECRET: &str = "shared-secret-of-the-endpoint-matrix-0123";

const ISSUER: &str = "codexrt-tests";

const AUDIENCE: &str = "codex-app-server";

/// How the facade reaches codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The facade spawns `codex app-server` and talks over its stdio.
    Stdio,
    /// `--listen ws://127.0.0.1:0` with `--ws-auth capability-token`; the
    /// facade sends the token from a file.
    WebSocketToken,
    /// `--listen ws://127.0.0.1:0` with `--ws-auth signed-bearer-token`, an
    /// issuer and an audience; the facade mints HS256 tokens from the
    /// shared secret.
    WebSocketSigned,
    /// `--listen unix://PATH`, which codex serves without a token.
    UnixSocket,
}

tokio::task_local! {
    static ENDPOINT: Endpoint;
}

impl Endpoint {
    /// The endpoints other than stdio.
    pub const LISTENING: [Endpoint; 3] = [
        Endpoint::WebSocketToken,
        Endpoint::WebSocketSigned,
        Endpoint::UnixSocket,
    ];

    /// The name: the test module's.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Stdio => "stdio",
            Endpoint::WebSocketToken => "ws_token",
            Endpoint::WebSocketSigned => "ws_signed",
            Endpoint::UnixSocket => "unix_socket",
        }
    }

    /// The endpoint called `name`.
    pub fn from_name(name: &str) -> Option<Endpoint> {
        [Endpoint::Stdio]
            .into_iter()
            .chain(Endpoint::LISTENING)
            .find(|endpoint| endpoint.name() == name)
    }

    /// Runs `future` with the harnesses it starts reaching codex over this
    /// endpoint.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        ENDPOINT.scope(self, future).await
    }

    /// The endpoint of the [`scope`](Endpoint::scope) being run; stdio
    /// outside of one.
    pub(super) fn current() -> Endpoint {
        ENDPOINT
            .try_with(|endpoint| *endpoint)
            .unwrap_or(Endpoint::Stdio)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `codex app-server` listening on a socket, killed when dropped.
#[derive(Debug)]
pub struct Listening {
    child: Child,
    url: String,
    credentials: Option<PathBuf>,
    /// The token or secret file and the socket.
    _dir: TempDir,
}

impl Listening {
    /// Starts `command` with `--listen` and the endpoint's authentication,
    /// `HOME` set to `home`, and returns it with the transport that reaches
    /// it, credentials included.
    ///
    /// # Errors
    /// [`ScenarioError::Listen`] when codex cannot be started or does not
    /// listen within a minute.
    pub async fn start(
        endpoint: Endpoint,
        command: &CodexCommand,
        home: PathBuf,
        version: &str,
    ) -> Result<(Listening, WebSocketTransport), ScenarioError> {
        let fail = |why: String| ScenarioError::Listen {
            version: version.to_owned(),
            why,
        };
        let dir = TempDir::new("codexrt-endpoint").map_err(ScenarioError::Setup)?;
        let write = |name: &str, content: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, content)
                .map(|()| path)
                .map_err(|err| fail(format!("cannot write {name}: {err}")))
        };
        let mut credentials = None;
        let (listen, args, auth): (String, Vec<OsString>, Option<WebSocketAuth>) = match endpoint {
            Endpoint::Stdio => return Err(fail("stdio is not a listening endpoint".to_owned())),
            Endpoint::WebSocketToken => {
                let token_file = write("token", &format!("{TOKEN}\n"))?;
                let auth = WebSocketAuth::capability_token_file(&token_file)
                    .map_err(|err| fail(format!("the token file: {err}")))?;
                credentials = Some(token_file.clone());
                let args = vec![
                    "--ws-auth".into(),
                    "capability-token".into(),
                    "--ws-token-file".into(),
                    token_file.into_os_string(),
                ];
                ("ws://127.0.0.1:0".to_owned(), args, Some(auth))
            }
            Endpoint::WebSocketSigned => {
                let secret_file = write("secret", &format!("{SECRET}\n"))?;
                let signer = SignedBearer::from_secret_file(&secret_file)
                    .map_err(|err| fail(format!("the secret file: {err}")))?
                    .issuer(ISSUER)
                    .audience(AUDIENCE);
                credentials = Some(secret_file.clone());
                let args = vec![
                    "--ws-auth".into(),
                    "signed-bearer-token".into(),
                    "--ws-shared-secret-file".into(),
                    secret_file.into_os_string(),
                    "--ws-issuer".into(),
                    ISSUER.into(),
                    "--ws-audience".into(),
                    AUDIENCE.into(),
                ];
                let auth = WebSocketAuth::signed_bearer(signer);
                ("ws://127.0.0.1:0".to_owned(), args, Some(auth))
            }
            Endpoint::UnixSocket => {
                let socket = dir.path().join("app-server.sock");
                (format!("unix://{}", socket.display()), Vec::new(), None)
            }
        };
        let mut process = tokio::process::Command::from(command.to_command());
        process.env("HOME", &home);
        let socket = match endpoint {
            Endpoint::UnixSocket => Some(PathBuf::from(listen.trim_start_matches("unix://"))),
            _ => None,
        };
        let (child, url) = crate::listen::listen(process, &listen, &args, socket.as_deref())
            .await
            .map_err(fail)?;
        let transport =
            WebSocketTransport::new(&url).map_err(|err| fail(format!("the url {url}: {err}")))?;
        let transport = match auth {
            Some(auth) => transport.auth(auth),
            None => transport,
        };
        let listening = Listening {
            child,
            url,
            credentials,
            _dir: dir,
        };
        Ok((listening, transport))
    }

    /// Where it listens: `ws://127.0.0.1:PORT` or `unix://PATH`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The capability token's file, or the shared secret's; `None` for a
    /// Unix socket.
    pub fn credentials_file(&self) -> Option<&std::path::Path> {
        self.credentials.as_deref()
    }

    /// Kills codex and reaps it.
    pub async fn stop(mut self) {
        // It may have exited already; either way it is reaped below.
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(crate::listen::STARTUP, self.child.wait()).await;
    }
}
