//! Endpoints that go away, against the real codex of the pinned version
//! with a scripted model: codex is killed in the middle of a turn; the ask
//! fails with the close report at once, and with a `RestartPolicy` (stdio)
//! or a `ReconnectPolicy` (a server started again on the same TCP port or
//! the same Unix socket, with the same `CODEX_HOME`) the next ask of the
//! same session runs on the new server with the conversation so far.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::path::Path;
use std::time::{Duration, Instant};

use codexrt::{
    Client, ClientConfig, ClientError, ConnectionEvent, ConnectionEvents, PromptRunError,
    ReconnectPolicy, RestartPolicy, Session, SessionConfig,
};
use codexrt_protocol::PINNED_VERSION;
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
use codexrt_tests::listen::STARTUP;
use codexrt_tests::procs;
use codexrt_transport::{CloseReason, WebSocketTransport};
use tokio::process::Child;

/// The replies: the first turn's answer, a second turn that stalls until
/// codex dies, and the answer of the turn after the reconnect.
fn script() -> Script {
    Script::replies([
        Reply::message("noted: the word is heron"),
        Reply::message("this never arrives").stall_after(0, Duration::MAX),
        Reply::message("the word was heron"),
    ])
}

async fn codex_with_model() -> (Codex, ModelServer) {
    let binary = CodexInstall::new(PINNED_VERSION)
        .install()
        .await
        .expect("installing codex");
    let model = ModelServer::start(script())
        .await
        .expect("starting the model server");
    let codex = Codex::new(binary, &model).expect("preparing codex");
    (codex, model)
}

/// The first turn, then a second one that stalls in the model: returns
/// the connection events from before the first turn and the stalled ask,
/// once the model has its request.
async fn first_turn_then_stall(
    client: &Client,
    session: &Session,
    model: &ModelServer,
) -> (
    ConnectionEvents,
    tokio::task::JoinHandle<Result<codexrt::PromptRunResult, PromptRunError>>,
) {
    let events = client.connection_events();
    let first = session.ask("remember the word heron").await.unwrap();
    assert_eq!(first.text(), "noted: the word is heron");
    let stalled = {
        let session = session.clone();
        tokio::spawn(async move { session.ask("wait for it").await })
    };
    tokio::time::timeout(STARTUP, model.wait_for_requests(2))
        .await
        .expect("the second turn reaches the model");
    (events, stalled)
}

/// The stalled ask fails with the close report within 1 s of the kill at
/// `killed_at`; returns the report's text.
async fn fails_at_once(
    stalled: tokio::task::JoinHandle<Result<codexrt::PromptRunResult, PromptRunError>>,
    killed_at: Instant,
    expected: fn(&CloseReason) -> bool,
) -> String {
    let failed = stalled.await.unwrap().unwrap_err();
    let took = killed_at.elapsed();
    #[allow(
        clippy::print_stdout,
        reason = "the figure, for whoever reads the test's output"
    )]
    {
        println!("the ask failed {took:?} after the kill");
    }
    assert!(
        took < Duration::from_secs(1),
        "the ask failed after {took:?}"
    );
    let PromptRunError::Client(ClientError::Runtime(error)) = &failed else {
        panic!("unexpected {failed:?}");
    };
    let report = error.close_report().expect("the close report");
    assert!(expected(&report.reason), "{report}");
    report.to_string()
}

/// After the reconnect, the next ask runs on the new server and the model
/// sees the first prompt again.
async fn goes_on(
    mut events: ConnectionEvents,
    report: &str,
    session: &Session,
    model: &ModelServer,
) {
    let seen = events_until_reconnected(&mut events).await;
    assert!(
        matches!(&seen[0], ConnectionEvent::Disconnected { report: r } if r.to_string() == report),
        "{seen:?}"
    );
    let Some(ConnectionEvent::Reconnected { server, .. }) = seen.last() else {
        unreachable!()
    };
    assert_eq!(server.version.to_string(), PINNED_VERSION);

    let third = session.ask("which word?").await.unwrap();
    assert_eq!(third.text(), "the word was heron");
    let requests = model.requests();
    let last = requests.last().expect("the third turn's request");
    let texts = last.user_texts();
    assert!(
        texts.contains(&"remember the word heron") && texts.contains(&"which word?"),
        "the resumed thread's request lacks the earlier prompt: {texts:?}"
    );
}

async fn events_until_reconnected(events: &mut ConnectionEvents) -> Vec<ConnectionEvent> {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(STARTUP, events.recv())
            .await
            .expect("an event")
            .expect("the stream goes on");
        match event {
            ConnectionEvent::Reconnected { .. } => {
                seen.push(event);
                return seen;
            }
            ConnectionEvent::GaveUp { error } => panic!("gave up: {error:?}"),
            event => seen.push(event),
        }
    }
}

/// The codex processes this test started: children of this process whose
/// environment sets `CODEX_HOME` to `home` (the tests of this binary run
/// side by side in one process under `cargo test`, each with a home of its
/// own).
fn codex_children(home: &std::path::Path) -> Vec<i32> {
    procs::with_env_var("CODEX_HOME", &home.display().to_string())
        .into_iter()
        .filter(|pid| {
            procs::is_our_child(*pid)
                && procs::name_and_parent(*pid).is_some_and(|(name, _)| name.starts_with("codex"))
        })
        .collect()
}

#[allow(unsafe_code)]
fn sigkill(pid: i32) {
    // SAFETY: `kill` takes two integers; the pid is a child of this test
    // that has not been reaped.
    let result = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
}

#[tokio::test]
async fn a_restart_policy_starts_codex_again_and_the_session_resumes() {
    let (codex, model) = codex_with_model().await;
    let command = codex.command();
    let mut config = ClientConfig::new()
        .program(&command.program)
        .current_dir(&command.current_dir)
        .restart(
            RestartPolicy::new()
                .initial_delay(Duration::from_millis(100))
                .max_attempts(5),
        );
    for (key, value) in &command.env {
        config = config.env(key, value);
    }
    let client = Client::connect(config).await.unwrap();
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let (events, stalled) = first_turn_then_stall(&client, &session, &model).await;
    let pids = codex_children(codex.home());
    assert_eq!(pids.len(), 1, "{pids:?}");
    let killed_at = Instant::now();
    sigkill(pids[0]);
    let report = fails_at_once(stalled, killed_at, |reason| {
        matches!(reason, CloseReason::ProcessExited)
    })
    .await;
    goes_on(events, &report, &session, &model).await;
    client.shutdown().await.unwrap();
}

/// `codex app-server --listen url` with `codex`'s home, once it listens
/// (on `socket` for a Unix socket); returns the child and the URL to reach
/// it.
async fn listen(codex: &Codex, url: &str, socket: Option<&Path>) -> (Child, String) {
    let command = tokio::process::Command::from(codex.command().to_command());
    codexrt_tests::listen::listen(command, url, &[], socket)
        .await
        .unwrap_or_else(|why| panic!("{why}"))
}

/// A client with a `ReconnectPolicy` to codex listening at `url` (on
/// `socket` for a Unix socket): codex is killed in the middle of a turn and
/// started again at the same address with the same `CODEX_HOME`, so the
/// session's thread is found there.
async fn reconnects_to_codex_started_again(url: &str, socket: Option<&Path>) {
    let (codex, model) = codex_with_model().await;
    let (mut server, url) = listen(&codex, url, socket).await;
    // Pings every 50 ms: codex answers them, or the connection would
    // close as unresponsive during the turns.
    let transport = WebSocketTransport::new(&url)
        .unwrap()
        .ping_interval(Duration::from_millis(50))
        .pong_timeout(Duration::from_secs(2));
    let config = ClientConfig::new().websocket(transport).reconnect(
        ReconnectPolicy::new()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500))
            .max_attempts(120),
    );
    let client = Client::connect(config).await.unwrap();
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let (events, stalled) = first_turn_then_stall(&client, &session, &model).await;
    let killed_at = Instant::now();
    server.kill().await.unwrap();
    let report = fails_at_once(stalled, killed_at, |reason| {
        matches!(
            reason,
            CloseReason::PeerClosed | CloseReason::Io(_) | CloseReason::PeerCloseFrame { .. }
        )
    })
    .await;
    let (mut again, _) = listen(&codex, &url, socket).await;
    goes_on(events, &report, &session, &model).await;
    client.shutdown().await.unwrap();
    again.kill().await.unwrap();
}

#[tokio::test]
async fn a_reconnect_policy_finds_the_server_again_on_its_port() {
    // Port 0 the first time; the port codex picked the second.
    reconnects_to_codex_started_again("ws://127.0.0.1:0", None).await;
}

#[tokio::test]
async fn a_reconnect_policy_finds_the_server_again_on_its_unix_socket() {
    let dir = codexrt_testkit::TempDir::new("codexrt-reconnect").unwrap();
    let socket = dir.path().join("app-server.sock");
    let url = format!("unix://{}", socket.display());
    reconnects_to_codex_started_again(&url, Some(&socket)).await;
}
