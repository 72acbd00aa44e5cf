//! The fake app-server's traffic over a WebSocket (`fake-app-server
//! --traffic .. --listen ws://127.0.0.1:0`), as the benchmarks use it:
//! codexrt-core reads a stream of deltas whole and in order, and answers
//! every approval, over the WebSocket transport.

use std::process::Stdio;
use std::time::Duration;

use codexrt_core::{PendingServerRequest, Runtime, RuntimeConfig, StreamKind, TurnEvent};
use codexrt_protocol::types::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse, ThreadStartParams,
    TurnStartParams, TurnStatus,
};
use codexrt_testkit::fake::Traffic;
use codexrt_transport::WebSocketTransport;
use codexrt_transport::framing::LineReader;
use tokio::process::{Child, Command};

const FAKE_APP_SERVER: &str = env!("CARGO_BIN_EXE_fake-app-server");

/// Starts the fake with `traffic` on a WebSocket and connects a runtime.
async fn connect(traffic: &Traffic) -> (Runtime, Child) {
    let mut child = Command::new(FAKE_APP_SERVER)
        .args(traffic.args())
        .args(["--listen", "ws://127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = LineReader::new(child.stderr.take().unwrap(), 4096);
    let url = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = stderr.next_frame().await.unwrap().unwrap().unwrap();
            let line = String::from_utf8(line.to_vec()).unwrap();
            if let Some(url) = line.strip_prefix("listening on: ") {
                break url.to_owned();
            }
        }
    })
    .await
    .expect("the fake says where it listens");
    // What the fake says later (its errors) goes to the test's output.
    #[allow(clippy::print_stderr, reason = "the test's own output")]
    tokio::spawn(async move {
        while let Ok(Some(Ok(line))) = stderr.next_frame().await {
            eprintln!("fake-app-server: {}", String::from_utf8_lossy(&line));
        }
    });
    let connection = WebSocketTransport::new(&url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let config = RuntimeConfig::new("codexrt-tests", "0.0.1");
    (Runtime::connect(connection, config).await.unwrap(), child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_over_a_websocket_arrives_whole() {
    let traffic = Traffic::stream(100_000, 4);
    let (runtime, mut child) = connect(&traffic).await;
    let thread = runtime.call(ThreadStartParams::default()).await.unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id,
        ..TurnStartParams::default()
    };
    let mut handle = runtime.start_turn(params).await.unwrap();
    let expected = traffic.expected_text(handle.turn_id()).unwrap();
    let mut events = handle.events().unwrap();
    let mut text = String::new();
    while let Some(event) = events.recv().await {
        if let TurnEvent::Delta(delta) = event
            && delta.kind == StreamKind::AgentMessage
        {
            text.push_str(&delta.text);
        }
    }
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert!(text == expected, "the streamed text differs");
    assert_eq!(outcome.final_text(), Some(expected.as_str()));
    runtime.shutdown().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_approval_over_a_websocket_is_answered() {
    let traffic = Traffic::approvals(200);
    let (runtime, _child) = connect(&traffic).await;
    let mut requests = runtime.server_requests().unwrap();
    let answering = tokio::spawn(async move {
        let mut answered = 0u32;
        while let Some(request) = requests.recv().await {
            if let PendingServerRequest::CommandExecutionApproval(approval) = request {
                let accept = CommandExecutionRequestApprovalResponse {
                    decision: CommandExecutionApprovalDecision::Accept,
                };
                approval.respond(accept).unwrap();
                answered += 1;
            }
        }
        answered
    });
    let thread = runtime.call(ThreadStartParams::default()).await.unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id,
        ..TurnStartParams::default()
    };
    let handle = runtime.start_turn(params).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), handle.wait())
        .await
        .expect("the turn ends")
        .unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    runtime.shutdown().await.unwrap();
    assert_eq!(answering.await.unwrap(), 200);
}
