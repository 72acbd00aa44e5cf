//! The WebSocket transport against the real codex, started by each test
//! as `codex app-server --listen ws://127.0.0.1:0` (the port it picked is
//! read from its stderr) or `--listen unix://PATH`, with each of its
//! authentication modes. On every supported version, refusals come back
//! typed, and with the right credentials `initialize` goes out as one
//! frame and its answer names the version. On the pinned version, the
//! facade and the pool over these sockets, the default Unix socket
//! (`--listen unix://`) and the local daemon (`codex app-server daemon
//! start`) on its control socket, both found by
//! `codexrt::daemon_socket_path`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use codexrt::{
    Backoff, Client, ClientConfig, ClientError, CoreError, EndpointState, Pool, PoolConfig,
    PoolEndpoint, PromptRunError, SessionConfig, daemon_socket_path,
};
use codexrt_protocol::PINNED_VERSION;
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script, TempDir};
use codexrt_tests::listen::{self, STARTUP};
use codexrt_transport::{
    CloseReason, Connection, SignedBearer, TransportError, WebSocketAuth, WebSocketTransport,
};
use serde_json::Value;
use tokio::process::Child;

const GRACE: Duration = Duration::from_secs(5);

/// How long [`Listening::stop`] waits for codex to act on its SIGTERM
/// before it signals again.
const SIGNAL_AGAIN: Duration = Duration::from_secs(10);

const TOKEN: &str = "capability-token-for-the-compat-suite";

/// 40 bytes: codex wants at least 32.
const SECRET: &str = "shared-secret-of-the-compat-suite-0123456";

/// A running `codex app-server` listening on a socket, stopped on drop.
struct Listening {
    /// `ws://127.0.0.1:PORT` or `unix://PATH`.
    url: String,
    child: Child,
    _codex: Codex,
    _model: ModelServer,
}

enum Listen<'a> {
    Tcp,
    Unix(&'a Path),
    /// `unix://` without a path: codex's default socket, in its home.
    UnixDefault,
}

async fn start(version: &str, listen: Listen<'_>, auth: &[OsString]) -> Listening {
    start_scripted(version, listen, auth, Script::replies([])).await
}

/// [`start`] with a model that answers as `script` says.
async fn start_scripted(
    version: &str,
    listen: Listen<'_>,
    auth: &[OsString],
    script: Script,
) -> Listening {
    let binary = CodexInstall::new(version)
        .install()
        .await
        .expect("installing codex");
    let model = ModelServer::start(script)
        .await
        .expect("starting the model server");
    let codex = Codex::new(binary, &model).expect("preparing codex");
    let listen_url = match listen {
        Listen::Tcp => "ws://127.0.0.1:0".to_owned(),
        Listen::Unix(path) => format!("unix://{}", path.display()),
        Listen::UnixDefault => "unix://".to_owned(),
    };
    let default_socket = daemon_socket_path(Some(codex.home())).unwrap();
    let socket = match listen {
        Listen::Tcp => None,
        Listen::Unix(path) => Some(path),
        Listen::UnixDefault => Some(default_socket.as_path()),
    };
    let command = tokio::process::Command::from(codex.command().to_command());
    let (child, url) = listen::listen(command, &listen_url, auth, socket)
        .await
        .unwrap_or_else(|why| panic!("codex {version}: {why}"));
    Listening {
        url,
        child,
        _codex: codex,
        _model: model,
    }
}

impl Listening {
    fn transport(&self) -> WebSocketTransport {
        WebSocketTransport::new(&self.url).unwrap()
    }

    /// A folder for threads to work in.
    fn workspace(&self) -> &Path {
        self._codex.workspace()
    }

    /// Stops codex with SIGTERM, so that it removes its socket, and reaps
    /// it; whether it exited on SIGTERM. Codex 0.150.0 has been seen, once
    /// in a few CI runs, not to exit within a minute of SIGTERM: it is then
    /// killed, and only the test of its graceful exit fails on that.
    /// Stops codex with SIGTERM and tells whether it exited of itself.
    ///
    /// codex 0.150.0 can miss a SIGTERM that comes within about a second
    /// of its start on a loaded machine (its listener for the signal is not
    /// in place yet, and the signal is gone): seen in 2 of 30 runs that
    /// signalled it right after an `initialize`, never with a 1.5 s pause,
    /// and never on later versions. It exits on a second SIGTERM, so one
    /// is sent when the first brought nothing within [`SIGNAL_AGAIN`]. A
    /// codex still running a minute after that is killed, and the answer is
    /// `false`.
    async fn stop(mut self) -> bool {
        let Some(pid) = self.child.id() else {
            return true;
        };
        terminate(pid);
        if let Ok(status) = tokio::time::timeout(SIGNAL_AGAIN, self.child.wait()).await {
            status.unwrap();
            return true;
        }
        terminate(pid);
        match tokio::time::timeout(STARTUP, self.child.wait()).await {
            Ok(status) => {
                status.unwrap();
                true
            }
            Err(_) => {
                self.child.kill().await.unwrap();
                false
            }
        }
    }
}

#[allow(unsafe_code)]
fn terminate(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: `kill` takes two integers; the pid is a child of this test
    // that has not been reaped.
    let result = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Sends `initialize` as one frame and returns the answer's `result`.
async fn initialize(connection: &mut Connection) -> Value {
    let request = r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"codexrt-websocket","version":"0.1.0"}}}"#;
    connection
        .sender
        .send(Bytes::from_static(request.as_bytes()))
        .await
        .unwrap();
    loop {
        let frame = connection
            .receiver
            .recv()
            .await
            .expect("the connection closed before the answer")
            .unwrap();
        let message: Value = serde_json::from_slice(&frame).unwrap();
        if message["id"] == 1 {
            return message["result"].clone();
        }
    }
}

/// Connects, initializes, checks the version in the answer and shuts the
/// connection down.
async fn check_initialize(transport: WebSocketTransport, expected: &str) {
    let mut connection = transport.connect().await.expect("connecting to codex");
    let result = initialize(&mut connection).await;
    let user_agent = result["userAgent"].as_str().expect("a userAgent");
    let version = user_agent
        .split_once('/')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    assert_eq!(version, Some(expected), "{user_agent}");
    let report = connection.closer.shutdown(GRACE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
}

async fn unauthorized(transport: WebSocketTransport) -> String {
    match transport.connect().await {
        Err(TransportError::Unauthorized { detail, .. }) => detail,
        Err(other) => panic!("expected Unauthorized, got {other:?}"),
        Ok(_) => panic!("expected Unauthorized, got a connection"),
    }
}

fn write_file(dir: &TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn args(items: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    items
        .iter()
        .map(|item| item.as_ref().to_os_string())
        .collect()
}

/// The refusals and the right credentials, on every supported version, as
/// `websocket::v0_169_0::capability_token_over_tcp` and so on.
macro_rules! on_every_version {
    ([$($module:ident = $version:literal),*]) => {
        $(
            mod $module {
                #[tokio::test]
                async fn capability_token_over_tcp() {
                    super::capability_token_over_tcp($version).await;
                }

                #[tokio::test]
                async fn unix_socket_without_a_token() {
                    super::unix_socket_without_a_token($version).await;
                }

                #[tokio::test]
                async fn signed_bearer_tokens_over_tcp() {
                    super::signed_bearer_tokens_over_tcp($version).await;
                }
            }
        )*
        const REFUSAL_VERSIONS: &[&str] = &[$($version),*];
    };
}

codexrt_tests::with_supported_versions!(on_every_version;);

#[test]
fn every_version_is_refused_without_credentials() {
    assert_eq!(REFUSAL_VERSIONS, codexrt_tests::scenario::VERSIONS);
}

/// Missing and wrong capability tokens are refused with codex's reason and
/// nothing of the token in the error; the token from its file is taken.
async fn capability_token_over_tcp(version: &str) {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let token_file = write_file(&dir, "token", &format!("  {TOKEN}\n"));
    let server = start(
        version,
        Listen::Tcp,
        &args(&[
            &"--ws-auth",
            &"capability-token",
            &"--ws-token-file",
            &token_file,
        ]),
    )
    .await;

    let detail = unauthorized(server.transport()).await;
    assert_eq!(detail, "missing websocket bearer token");
    let wrong = WebSocketAuth::capability_token("not-the-token").unwrap();
    let err = server.transport().auth(wrong).connect().await.unwrap_err();
    assert!(
        matches!(&err, TransportError::Unauthorized { detail, .. } if detail == "invalid websocket bearer token"),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("not-the-token"));

    let auth = WebSocketAuth::capability_token_file(&token_file).unwrap();
    check_initialize(server.transport().auth(auth), version).await;
    server.stop().await;
}

/// codex leaves a Unix socket's access to the file system: it serves a
/// connection there without a token even when started with `--ws-auth`.
async fn unix_socket_without_a_token(version: &str) {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let token_file = write_file(&dir, "token", TOKEN);
    let socket = dir.path().join("app-server.sock");
    let server = start(
        version,
        Listen::Unix(&socket),
        &args(&[
            &"--ws-auth",
            &"capability-token",
            &"--ws-token-file",
            &token_file,
        ]),
    )
    .await;
    check_initialize(server.transport(), version).await;

    // Stopping codex drops the connections it serves without a close
    // frame; the notifications it sent before arrive first, and are all
    // that arrives.
    let mut connection = server.transport().connect().await.unwrap();
    initialize(&mut connection).await;
    let mut receiver = connection.receiver;
    let reading = tokio::spawn(async move {
        while let Some(frame) = receiver.recv().await {
            let message: Value = serde_json::from_slice(&frame.unwrap()).unwrap();
            assert!(message["method"].is_string(), "{message}");
        }
    });
    assert!(server.stop().await, "codex did not exit on SIGTERM");
    reading.await.unwrap();
    let report = connection.closer.closed().await;
    assert!(matches!(report.reason, CloseReason::PeerClosed), "{report}");
    assert!(!socket.exists(), "codex left its socket behind");
}

/// Missing, expired, wrong-audience, issuer-less and wrongly signed tokens
/// are refused with codex's reason for each; a token minted right is taken.
async fn signed_bearer_tokens_over_tcp(version: &str) {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let secret_file = write_file(&dir, "secret", &format!("{SECRET}\n"));
    let server = start(
        version,
        Listen::Tcp,
        &args(&[
            &"--ws-auth",
            &"signed-bearer-token",
            &"--ws-shared-secret-file",
            &secret_file,
            &"--ws-issuer",
            &"codexrt-tests",
            &"--ws-audience",
            &"codex-app-server",
            &"--ws-max-clock-skew-seconds",
            &"5",
        ]),
    )
    .await;
    let signer = SignedBearer::from_secret_file(&secret_file)
        .unwrap()
        .issuer("codexrt-tests")
        .audience("codex-app-server");

    let detail = unauthorized(server.transport()).await;
    assert_eq!(detail, "missing websocket bearer token");

    let expired = signer
        .mint(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let detail = unauthorized(server.transport().auth(WebSocketAuth::bearer(expired))).await;
    assert_eq!(detail, "expired websocket jwt");

    let other_audience = signer.clone().audience("someone-else");
    let detail = unauthorized(
        server
            .transport()
            .auth(WebSocketAuth::signed_bearer(other_audience)),
    )
    .await;
    assert_eq!(detail, "websocket jwt audience mismatch");

    let no_issuer = SignedBearer::new(SECRET)
        .unwrap()
        .audience("codex-app-server");
    let detail = unauthorized(
        server
            .transport()
            .auth(WebSocketAuth::signed_bearer(no_issuer)),
    )
    .await;
    assert_eq!(detail, "websocket jwt issuer mismatch");

    let other_secret = SignedBearer::new("another-secret-that-is-long-enough-000")
        .unwrap()
        .issuer("codexrt-tests")
        .audience("codex-app-server");
    let detail = unauthorized(
        server
            .transport()
            .auth(WebSocketAuth::signed_bearer(other_secret)),
    )
    .await;
    assert_eq!(detail, "invalid websocket jwt");

    check_initialize(
        server
            .transport()
            .auth(WebSocketAuth::signed_bearer(signer)),
        version,
    )
    .await;
    server.stop().await;
}

/// The facade over a WebSocket: a client configured with the transport and
/// its credentials runs a prompt through codex's scripted model.
#[tokio::test]
async fn a_run_over_websocket() {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let token_file = write_file(&dir, "token", TOKEN);
    let server = start_scripted(
        PINNED_VERSION,
        Listen::Tcp,
        &args(&[
            &"--ws-auth",
            &"capability-token",
            &"--ws-token-file",
            &token_file,
        ]),
        Script::replies([Reply::message("hello over a WebSocket").deltas(3)]),
    )
    .await;

    let refused = Client::connect(ClientConfig::new().websocket(server.transport())).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Connect(TransportError::Unauthorized { .. }))
        ),
        "{refused:?}"
    );

    let auth = WebSocketAuth::capability_token_file(&token_file).unwrap();
    let config = ClientConfig::new().websocket(server.transport().auth(auth));
    let client = Client::connect(config).await.unwrap();
    assert_eq!(client.server_info().version.to_string(), PINNED_VERSION);
    let result = client.run(server.workspace(), "say hello").await.unwrap();
    assert_eq!(result.text(), "hello over a WebSocket");
    let report = client.shutdown().await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    server.stop().await;
}

/// The facade over a Unix socket, from its URL alone: a session of two
/// prompts.
#[tokio::test]
async fn a_session_over_a_unix_socket() {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let socket = dir.path().join("app-server.sock");
    let server = start_scripted(
        PINNED_VERSION,
        Listen::Unix(&socket),
        &[],
        Script::replies([
            Reply::message("first answer"),
            Reply::message("second answer"),
        ]),
    )
    .await;
    let client = Client::connect_url(&server.url, ClientConfig::new())
        .await
        .unwrap();
    // codex is asked about the working directory before a thread starts.
    let missing = server.workspace().join("no-such-dir");
    let refused = client
        .start_session(SessionConfig::new(&missing))
        .await
        .unwrap_err();
    let ClientError::InvalidCwd { cwd, problem } = &refused else {
        panic!("unexpected {refused:?}");
    };
    assert_eq!(cwd, &missing);
    assert!(
        problem.starts_with("cannot be read by codex: "),
        "{problem}"
    );
    let file = server.workspace().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let refused = client.run(&file, "hello").await.unwrap_err();
    assert!(
        matches!(
            &refused,
            PromptRunError::Client(ClientError::InvalidCwd { problem, .. })
                if problem == "is not a directory on codex's machine"
        ),
        "{refused:?}"
    );
    let session = client
        .start_session(SessionConfig::new(server.workspace()))
        .await
        .unwrap();
    assert_eq!(session.ask("one").await.unwrap().text(), "first answer");
    assert_eq!(session.ask("two").await.unwrap().text(), "second answer");
    let report = client.shutdown().await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    server.stop().await;
}

/// A pool over a running app-server on TCP (with a token) and one on a
/// Unix socket: both are probed and used; when the TCP one stops, its
/// `/readyz` probe fails and the pool keeps retrying it while the other
/// takes the work.
#[tokio::test]
async fn a_pool_over_tcp_and_a_unix_socket() {
    let dir = TempDir::new("codexrt-ws").unwrap();
    let token_file = write_file(&dir, "token", TOKEN);
    let socket = dir.path().join("app-server.sock");
    let replies = || Script::replies([Reply::message("one"), Reply::message("two")]);
    let tcp = start_scripted(
        PINNED_VERSION,
        Listen::Tcp,
        &args(&[
            &"--ws-auth",
            &"capability-token",
            &"--ws-token-file",
            &token_file,
        ]),
        replies(),
    )
    .await;
    let unix = start_scripted(PINNED_VERSION, Listen::Unix(&socket), &[], replies()).await;
    let auth = WebSocketAuth::capability_token_file(&token_file).unwrap();
    let endpoints = [
        PoolEndpoint::new(
            "tcp",
            ClientConfig::new().websocket(tcp.transport().auth(auth)),
        ),
        PoolEndpoint::url("unix", &unix.url, ClientConfig::new()).unwrap(),
    ];
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(200));
    let pool = Pool::connect(PoolConfig::new(endpoints).backoff(backoff))
        .await
        .unwrap();
    let first = pool
        .start_session(SessionConfig::new(tcp.workspace()))
        .await
        .unwrap();
    let second = pool
        .start_session(SessionConfig::new(unix.workspace()))
        .await
        .unwrap();
    assert_eq!((first.endpoint(), second.endpoint()), ("tcp", "unix"));
    assert_eq!(first.ask("hello").await.unwrap().text(), "one");
    assert_eq!(second.ask("hello").await.unwrap().text(), "one");

    tcp.stop().await;
    let failed = first.ask("again").await.unwrap_err();
    let closed = match &failed {
        PromptRunError::Client(client) => client.as_runtime(),
        _ => None,
    };
    assert!(
        matches!(closed, Some(CoreError::Closed { .. })),
        "{failed:?}"
    );
    let probed = tokio::time::timeout(STARTUP, async {
        loop {
            let stats = pool.stats();
            let tcp = stats.endpoint("tcp").unwrap();
            if let Some(error) = tcp.last_error.as_deref() {
                break error.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(
        probed.starts_with("the app-server is not ready: cannot connect to 127.0.0.1:"),
        "{probed}"
    );
    let stats = pool.stats();
    assert_eq!(stats.endpoint("tcp").unwrap().losses, 1);
    assert!(matches!(
        stats.endpoint("tcp").unwrap().state,
        EndpointState::Retrying { .. }
    ));
    // Everything new goes to the socket meanwhile.
    let third = pool
        .start_session(SessionConfig::new(unix.workspace()))
        .await
        .unwrap();
    assert_eq!(third.endpoint(), "unix");
    assert_eq!(third.ask("hello").await.unwrap().text(), "two");

    drop((first, second, third));
    pool.shutdown().await.unwrap();
    unix.stop().await;
}

/// `--listen unix://` with no path listens where the daemon's control
/// socket is, which `daemon_socket_path` finds from the home.
#[tokio::test]
async fn the_default_unix_socket_is_the_daemon_socket() {
    let server = start_scripted(
        PINNED_VERSION,
        Listen::UnixDefault,
        &[],
        Script::replies([Reply::message("hello on the default socket")]),
    )
    .await;
    let expected = daemon_socket_path(Some(server._codex.home())).unwrap();
    assert_eq!(server.url, format!("unix://{}", expected.display()));
    let transport = WebSocketTransport::unix_socket(&expected).unwrap();
    let client = Client::connect(ClientConfig::new().websocket(transport))
        .await
        .unwrap();
    let result = client.run(server.workspace(), "say hello").await.unwrap();
    assert_eq!(result.text(), "hello on the default socket");
    client.shutdown().await.unwrap();
    server.stop().await;
}

/// `codex app-server daemon start` runs an app-server in the background on
/// its control socket; a client connects there, runs a prompt, and
/// `daemon stop` ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_over_its_control_socket() {
    let binary = CodexInstall::new(PINNED_VERSION)
        .install()
        .await
        .expect("installing codex");
    let model = ModelServer::start(Script::replies([Reply::message("hello from the daemon")]))
        .await
        .expect("starting the model server");
    let codex = Codex::new(binary, &model).expect("preparing codex");
    let user_home = TempDir::new("codexrt-daemon-home").unwrap();
    let daemon = |verb: &str| {
        let mut command = codex.command().to_command();
        command
            .args(["daemon", verb])
            .env("HOME", user_home.path())
            .stdin(Stdio::null());
        let output = command.output().expect("running codex app-server daemon");
        assert!(
            output.status.success(),
            "daemon {verb}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str::<Value>(line).expect("daemon prints a JSON line")
    };
    let started = tokio::task::block_in_place(|| daemon("start"));
    assert_eq!(started["status"], "started", "{started}");
    let socket = daemon_socket_path(Some(codex.home())).unwrap();
    assert_eq!(started["socketPath"], socket.display().to_string());

    let transport = WebSocketTransport::unix_socket(&socket).unwrap();
    let client = Client::connect(ClientConfig::new().websocket(transport)).await;
    let outcome = match client {
        Ok(client) => {
            let version = client.server_info().version.to_string();
            let result = client.run(codex.workspace(), "say hello").await;
            client.shutdown().await.unwrap();
            Ok((version, result.map(|result| result.text().to_owned())))
        }
        Err(err) => Err(err),
    };

    let stopped = tokio::task::block_in_place(|| daemon("stop"));
    // `daemon stop` leaves the daemon's updater running; it is ended here
    // so that the test leaves no process behind.
    let updater = codex.home().join("app-server-daemon/daemon-updater.pid");
    if let Ok(text) = std::fs::read_to_string(&updater)
        && let Some(pid) = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["pid"].as_u64())
    {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let (version, text) = outcome.expect("connecting to the daemon");
    assert_eq!(version, PINNED_VERSION);
    assert_eq!(
        text.expect("the run on the daemon"),
        "hello from the daemon"
    );
    assert!(
        model.script_errors().is_empty(),
        "{:?}",
        model.script_errors()
    );
}
