//! The testkit's fake app-server as a real child process (`fake-app-server`)
//! under the stdio transport and `RpcClient`: faults only pipes and signals
//! show — a stderr flood, an exit code, SIGKILL in the middle of a call,
//! SIGTERM ignored — and the `--record` file.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

use codexrt_rpc::{Incoming, IncomingReceiver, RpcClient, RpcConfig, RpcError};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use codexrt_testkit::{Direction, TempDir, Transcript};
use codexrt_transport::{CloseReason, CloseReport, StdioTransport};
use serde_json::{Value, json};
use tokio::time::timeout;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-app-server");

/// Turns a hang into a failure; far beyond what any step needs.
const PATIENCE: Duration = Duration::from_secs(60);

/// The stderr ring size of the transport, by default.
const RING: usize = 64 * 1024;

struct Fake {
    client: RpcClient,
    incoming: IncomingReceiver,
    /// Holds the script and the record file.
    dir: TempDir,
}

impl Fake {
    async fn start(script: FakeScript) -> Fake {
        let dir = TempDir::new("fake-stdio").unwrap();
        let script_path = dir.path().join("script.json");
        script.save(&script_path).unwrap();
        let spawned = StdioTransport::new(FAKE)
            .arg(&script_path)
            .arg("--record")
            .arg(dir.path().join("record.jsonl"))
            .spawn()
            .await
            .unwrap();
        let (client, incoming) = RpcClient::start(spawned.connection, RpcConfig::new());
        Fake {
            client,
            incoming,
            dir,
        }
    }

    async fn handshake(&self) {
        let params = json!({"clientInfo": {"name": "it", "version": "1.0.0"}});
        let init: Value = self.client.call("initialize", params).await.unwrap();
        assert_eq!(init["userAgent"], "fake/0.169.0 (Linux; x86_64)");
        self.client.notify("initialized", ()).await.unwrap();
    }

    /// The report a call gets when the fake ends during it.
    async fn call_until_closed(&self, method: &str) -> std::sync::Arc<CloseReport> {
        match timeout(PATIENCE, self.client.call::<Value>(method, json!({}))).await {
            Ok(Err(RpcError::Closed { report, .. })) => report,
            other => panic!("`{method}` ended with {other:?}"),
        }
    }

    fn record(&self) -> PathBuf {
        self.dir.path().join("record.jsonl")
    }
}

fn after_handshake() -> FakeScript {
    FakeScript::new().handshake(Handshake::new())
}

/// The reason, exit code and signal of a report, for whole-value comparison.
fn ending(report: &CloseReport) -> (String, Option<i32>, Option<i32>) {
    let exit = report.exit;
    (
        format!("{:?}", report.reason),
        exit.and_then(|status| status.code()),
        exit.and_then(|status| status.signal()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stderr_flood_does_not_stall_the_fake_and_leaves_its_tail() {
    const FLOOD: u64 = 8 * 1024 * 1024;
    let script = after_handshake()
        .step(Step::StderrFlood { bytes: FLOOD })
        .step(Step::respond_to("ping", json!("pong")));
    let fake = Fake::start(script).await;
    fake.handshake().await;
    let pong: String = timeout(PATIENCE, fake.client.call("ping", ()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong, "pong");
    let report = fake.client.shutdown(Duration::from_secs(5)).await.unwrap();
    // Its input closed, the fake exits by itself at the end of its script.
    assert_eq!(ending(&report), ("Shutdown".to_owned(), Some(0), None));
    assert_eq!(report.stderr_tail.len(), RING);
    assert!(
        report
            .stderr_tail
            .contains("fake app-server stderr flood line 2"),
        "{:?}",
        &report.stderr_tail[..100]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripted_exit_code_reaches_the_pending_call() {
    let script = after_handshake()
        .step(Step::expect("turn/start"))
        .step(Step::Exit { code: 3 });
    let fake = Fake::start(script).await;
    fake.handshake().await;
    let report = fake.call_until_closed("turn/start").await;
    assert_eq!(ending(&report), ("ProcessExited".to_owned(), Some(3), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fake_killed_mid_call_fails_the_call_with_signal_9_and_keeps_its_record() {
    let script = after_handshake()
        .step(Step::expect("turn/start"))
        .step(Step::notify("turn/started", json!({"turn": {"id": "u1"}})))
        .step(Step::Kill);
    let mut fake = Fake::start(script).await;
    fake.handshake().await;
    let report = fake.call_until_closed("turn/start").await;
    assert_eq!(
        ending(&report),
        ("ProcessExited".to_owned(), None, Some(libc::SIGKILL))
    );
    // What the fake wrote before it died still arrives.
    match timeout(PATIENCE, fake.incoming.recv()).await.unwrap() {
        Some(Incoming::Notification(note)) => assert_eq!(note.method, "turn/started"),
        other => panic!("expected turn/started, got {other:?}"),
    }
    let record = Transcript::load(fake.record()).unwrap();
    assert!(record.iter().all(|line| line.dir == Direction::Out));
    assert_eq!(
        record.methods(Direction::Out),
        ["initialize", "initialized", "turn/start"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fake_that_ignores_sigterm_is_killed_by_the_shutdown_ladder() {
    let grace = Duration::from_millis(200);
    // Hanging alone: closing stdin does not end it, SIGTERM does.
    let fake = Fake::start(after_handshake().step(Step::HangForever)).await;
    fake.handshake().await;
    let report = fake.client.shutdown(grace).await.unwrap();
    assert_eq!(
        ending(&report),
        ("Shutdown".to_owned(), None, Some(libc::SIGTERM))
    );

    // With SIGTERM ignored, the ladder has to go on to SIGKILL.
    let script = after_handshake()
        .step(Step::IgnoreSigterm)
        .step(Step::HangForever);
    let fake = Fake::start(script).await;
    fake.handshake().await;
    let report = fake.client.shutdown(grace).await.unwrap();
    assert_eq!(
        ending(&report),
        ("Shutdown".to_owned(), None, Some(libc::SIGKILL))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_exits_70_with_the_reason_on_stderr() {
    let fake = Fake::start(FakeScript::new().step(Step::expect("initialize"))).await;
    let report = fake.call_until_closed("thread/start").await;
    assert_eq!(
        ending(&report),
        ("ProcessExited".to_owned(), Some(70), None)
    );
    assert_eq!(
        report.stderr_tail,
        "fake app-server: step 1 (expect `initialize`): expected `initialize`, got request \
         `thread/start` (id 1): {\"id\":1,\"method\":\"thread/start\",\"params\":{}}\n"
    );
    // The unexpected message is in the record too.
    let record = Transcript::load(fake.record()).unwrap();
    assert_eq!(record.methods(Direction::Out), ["thread/start"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_last_line_is_malformed_and_the_call_fails_with_the_exit() {
    let script = after_handshake()
        .step(Step::expect("turn/start"))
        .step(Step::Truncated { bytes: 8 });
    let mut fake = Fake::start(script).await;
    fake.handshake().await;
    let report = fake.call_until_closed("turn/start").await;
    assert_eq!(ending(&report), ("ProcessExited".to_owned(), Some(0), None));
    assert!(matches!(report.reason, CloseReason::ProcessExited));
    match timeout(PATIENCE, fake.incoming.recv()).await.unwrap() {
        Some(Incoming::Malformed(frame)) => assert_eq!(frame.excerpt, r#"{"id":2,"#),
        other => panic!("expected a malformed frame, got {other:?}"),
    }
}

/// The facade with a codex it spawns checks a run's or a session's working
/// directory on this machine before anything is sent: the fake's script
/// expects one `thread/start`, and only the session in an existing
/// directory sends it.
#[tokio::test]
async fn a_missing_or_file_working_directory_fails_before_thread_start() {
    let dir = TempDir::new("fake-stdio").unwrap();
    let script = after_handshake().step(Step::respond_to(
        "thread/start",
        json!({
            "approvalPolicy": "on-request", "approvalsReviewer": "user", "cwd": "/w",
            "model": "mock-model", "modelProvider": "mock", "sandbox": {"type": "readOnly"},
            "thread": {
                "cliVersion": "0.169.0", "createdAt": 0, "cwd": "/w", "ephemeral": false,
                "id": "t1", "modelProvider": "mock", "preview": "", "sessionId": "s",
                "source": "appServer", "status": {"type": "idle"}, "turns": [], "updatedAt": 0,
            },
        }),
    ));
    let script_path = dir.path().join("script.json");
    script.save(&script_path).unwrap();
    let config = codexrt::ClientConfig::new().program(FAKE).arg(&script_path);
    let client = codexrt::Client::connect(config).await.unwrap();

    let missing = dir.path().join("no-such-dir");
    let refused = client
        .start_session(codexrt::SessionConfig::new(&missing))
        .await
        .unwrap_err();
    let codexrt::ClientError::InvalidCwd { cwd, problem } = &refused else {
        panic!("unexpected {refused:?}");
    };
    assert_eq!((cwd, problem.as_str()), (&missing, "does not exist"));
    let refused = client.run(&script_path, "hello").await.unwrap_err();
    assert!(
        matches!(
            &refused,
            codexrt::PromptRunError::Client(codexrt::ClientError::InvalidCwd { problem, .. })
                if problem == "is not a directory"
        ),
        "{refused:?}"
    );

    let session = client
        .start_session(codexrt::SessionConfig::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(session.thread_id(), "t1");
}
