//! Recording a session with the fake app-server, replaying it through
//! `RpcClient` with other ids and another temp folder, replays that fail
//! where the client strays, and golden files in update mode.

use std::io;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use codexrt_rpc::{Incoming, IncomingReceiver, RpcClient, RpcConfig, RpcError};
use codexrt_testkit::fake::{FakeScript, FakeServer, Handshake, Step};
use codexrt_testkit::{
    Direction, Frame, Golden, GoldenMode, Normalizer, RecordSink, Replay, ReplayMismatch, TempDir,
    TestkitError, Transcript, record,
};
use codexrt_transport::{CloseReason, Connection};
use serde_json::{Value, json};
use tokio::time::timeout;

/// Turns a hang into a failure; far beyond what any step needs.
const PATIENCE: Duration = Duration::from_secs(30);

const THREAD: &str = "0199c3a4-5b6e-7f00-8a9b-0123456789ab";

/// The server's side of a short session with one approved command.
fn session_script(workspace: &Path) -> FakeScript {
    let cwd = workspace.display().to_string();
    FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "thread/start",
            json!({"thread": {"id": THREAD, "cwd": cwd, "createdAt": 1764000000}}),
        ))
        .step(Step::notify("thread/started", json!({"thread": {"id": THREAD}})))
        .step(Step::respond_to("turn/start", json!({"turn": {"id": "turn-1"}})))
        .step(Step::request(
            0,
            "item/commandExecution/requestApproval",
            json!({"threadId": THREAD, "turnId": "turn-1", "command": format!("cat {cwd}/notes.txt")}),
        ))
        .step(Step::expect_response(0))
        .step(Step::notify("turn/completed", json!({"turn": {"id": "turn-1", "status": "completed"}})))
}

/// A client writing raw frames with string ids, so that the replay below
/// (through `RpcClient`, with integer ids) uses other ids than the recording.
struct RawClient {
    connection: Connection,
}

impl RawClient {
    async fn send(&self, message: Value) {
        let frame = Bytes::from(message.to_string());
        self.connection.sender.send(frame).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let frame = timeout(PATIENCE, self.connection.receiver.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_slice(&frame).unwrap()
    }
}

/// Runs the session against the fake, through a recorder.
async fn record_session(workspace: &Path, sink: RecordSink) -> Transcript {
    let (fake, _handle) = FakeServer::new(session_script(workspace)).connect();
    let (connection, recording) = record(fake, sink);
    let mut client = RawClient { connection };
    let cwd = workspace.display().to_string();
    client
        .send(json!({"id": "c-1", "method": "initialize", "params": {"clientInfo": {"name": "it", "version": "1"}}}))
        .await;
    assert_eq!(client.recv().await["id"], "c-1");
    client.send(json!({"method": "initialized"})).await;
    client
        .send(json!({"id": "c-2", "method": "thread/start", "params": {"cwd": cwd}}))
        .await;
    assert_eq!(client.recv().await["result"]["thread"]["id"], THREAD);
    assert_eq!(client.recv().await["method"], "thread/started");
    let input = json!([{"type": "text", "text": format!("read {cwd}/notes.txt")}]);
    client
        .send(json!({"id": "c-3", "method": "turn/start", "params": {"threadId": THREAD, "input": input}}))
        .await;
    assert_eq!(client.recv().await["id"], "c-3");
    let approval = client.recv().await;
    assert_eq!(approval["method"], "item/commandExecution/requestApproval");
    client
        .send(json!({"id": 0, "result": {"decision": "accept"}}))
        .await;
    assert_eq!(client.recv().await["method"], "turn/completed");
    let report = client.connection.closer.shutdown(PATIENCE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    let recording = recording.finish().await.unwrap();
    assert_eq!(recording.lines(), 11);
    recording.into_transcript().unwrap()
}

/// The same session through `RpcClient`; `text` is the turn's input.
async fn replay_session(
    client: &RpcClient,
    incoming: &mut IncomingReceiver,
    workspace: &Path,
    text: &str,
) -> Result<(), RpcError> {
    let init: Value = client
        .call(
            "initialize",
            json!({"clientInfo": {"name": "it", "version": "1"}}),
        )
        .await?;
    assert_eq!(init["userAgent"], "fake/0.169.0 (Linux; x86_64)");
    client.notify("initialized", ()).await?;
    let thread: Value = client
        .call("thread/start", json!({"cwd": workspace}))
        .await?;
    assert_eq!(thread["thread"]["id"], THREAD);
    let input = json!([{"type": "text", "text": text}]);
    let _: Value = client
        .call("turn/start", json!({"threadId": THREAD, "input": input}))
        .await?;
    let mut methods = Vec::new();
    while let Some(item) = timeout(PATIENCE, incoming.recv()).await.unwrap() {
        match item {
            Incoming::Notification(note) => {
                methods.push(note.method.clone());
                if note.method == "turn/completed" {
                    break;
                }
            }
            Incoming::Request(request) => {
                methods.push(request.method().to_owned());
                let (_, responder) = request.into_parts();
                responder.respond(json!({"decision": "accept"})).unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        methods,
        [
            "thread/started",
            "item/commandExecution/requestApproval",
            "turn/completed"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_recorded_session_replays_with_other_ids_and_another_temp_folder() {
    let recorded_dir = TempDir::new("record").unwrap();
    let transcript = record_session(recorded_dir.path(), RecordSink::memory(1 << 20)).await;
    let shape: Vec<(Direction, Option<&str>)> = transcript
        .iter()
        .map(|line| (line.dir, line.method()))
        .collect();
    assert_eq!(
        shape,
        [
            (Direction::Out, Some("initialize")),
            (Direction::In, None),
            (Direction::Out, Some("initialized")),
            (Direction::Out, Some("thread/start")),
            (Direction::In, None),
            (Direction::In, Some("thread/started")),
            (Direction::Out, Some("turn/start")),
            (Direction::In, None),
            (Direction::In, Some("item/commandExecution/requestApproval")),
            (Direction::Out, None),
            (Direction::In, Some("turn/completed")),
        ]
    );

    let replay_dir = TempDir::new("replay").unwrap();
    let normalizer = Normalizer::default()
        .path_prefix(recorded_dir.path(), "$TMP")
        .path_prefix(replay_dir.path(), "$TMP");
    let (connection, replay) = Replay::new(transcript).normalizer(normalizer).start();
    let (client, mut incoming) = RpcClient::start(connection, RpcConfig::new());
    let text = format!("read {}/notes.txt", replay_dir.path().display());
    replay_session(&client, &mut incoming, replay_dir.path(), &text)
        .await
        .unwrap();
    client.shutdown(PATIENCE).await.unwrap();
    timeout(PATIENCE, replay.finish()).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_changed_param_fails_the_replay_at_its_line_with_a_diff() {
    let recorded_dir = TempDir::new("record").unwrap();
    let transcript = record_session(recorded_dir.path(), RecordSink::memory(1 << 20)).await;
    let turn_line = 1 + transcript
        .iter()
        .position(|line| line.method() == Some("turn/start"))
        .unwrap();

    let normalizer = Normalizer::default().path_prefix(recorded_dir.path(), "$TMP");
    let (connection, replay) = Replay::new(transcript).normalizer(normalizer).start();
    let (client, mut incoming) = RpcClient::start(connection, RpcConfig::new());
    let outcome = replay_session(
        &client,
        &mut incoming,
        Path::new("/elsewhere"),
        "read /etc/passwd",
    )
    .await;

    let Err(RpcError::Closed { method, report }) = outcome else {
        panic!("expected the replay to close the connection, got {outcome:?}");
    };
    assert_eq!(method, "turn/start");
    let CloseReason::Io(error) = &report.reason else {
        panic!("expected an i/o close reason, got {report}");
    };
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let expected_message = format!(
        "transcript line {turn_line} differs at /params/input/0/text: \
         expected \"read $TMP/notes.txt\", got \"read /etc/passwd\""
    );
    assert_eq!(error.to_string(), expected_message);
    let attached = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ReplayMismatch>());

    let mismatch = timeout(PATIENCE, replay.finish())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(attached, Some(&mismatch));
    assert_eq!(mismatch.line, turn_line);
    assert_eq!(mismatch.path_of_first_difference, "/params/input/0/text");
    let actual = mismatch.actual.unwrap();
    assert_eq!(actual.method(), Some("turn/start"));
    // Compared with the recorded id: the client's own id (3) was mapped.
    assert_eq!(actual.id(), Some(&json!("c-3")));
}

#[tokio::test]
async fn a_client_that_stops_early_fails_the_replay_at_the_first_missing_line() {
    let recorded_dir = TempDir::new("record").unwrap();
    let transcript = record_session(recorded_dir.path(), RecordSink::memory(1 << 20)).await;
    let (connection, replay) = Replay::new(transcript).start();
    let (client, _incoming) = RpcClient::start(connection, RpcConfig::new());
    let _: Value = client
        .call(
            "initialize",
            json!({"clientInfo": {"name": "it", "version": "1"}}),
        )
        .await
        .unwrap();
    client.shutdown(PATIENCE).await.unwrap();
    let mismatch = timeout(PATIENCE, replay.finish())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((mismatch.line, mismatch.actual), (3, None));
    assert_eq!(
        mismatch
            .expected
            .and_then(|line| line.method().map(str::to_owned))
            .as_deref(),
        Some("initialized")
    );
}

#[tokio::test]
async fn a_file_recording_keeps_raw_frames_and_reads_back() {
    let dir = TempDir::new("record-file").unwrap();
    let path = dir.path().join("session.jsonl");
    let script = FakeScript::new()
        .step(Step::Garbage {
            line: "<html>".to_owned(),
        })
        .step(Step::respond_to("ping", json!("pong")));
    let (fake, _handle) = FakeServer::new(script).connect();
    let (connection, recording) = record(fake, RecordSink::file(&path).unwrap());
    let mut client = RawClient { connection };
    client.send(json!({"id": 1, "method": "ping"})).await;
    let garbage = timeout(PATIENCE, client.connection.receiver.recv())
        .await
        .unwrap();
    assert_eq!(garbage.unwrap().unwrap(), "<html>");
    assert_eq!(client.recv().await, json!({"id": 1, "result": "pong"}));
    drop(client);
    let recording = recording.finish().await.unwrap();
    assert_eq!(recording.path(), Some(path.as_path()));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"dir":"out","msg":{"id":1,"method":"ping"}}"#,
            "\n",
            r#"{"dir":"in","raw":"<html>"}"#,
            "\n",
            r#"{"dir":"in","msg":{"id":1,"result":"pong"}}"#,
            "\n",
        )
    );
    let transcript = recording.into_transcript().unwrap();
    assert_eq!(transcript.lines()[1].frame, Frame::Raw("<html>".to_owned()));
}

#[tokio::test]
async fn a_memory_recording_that_outgrows_its_limit_says_so() {
    let script = FakeScript::new().step(Step::NotificationFlood {
        method: "tick".to_owned(),
        count: 100,
    });
    let (fake, _handle) = FakeServer::new(script).connect();
    let (mut connection, recording) = record(fake, RecordSink::memory(1_000));
    for _ in 0..100 {
        timeout(PATIENCE, connection.receiver.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    connection.closer.shutdown(PATIENCE).await.unwrap();
    match recording.finish().await {
        Err(TestkitError::RecordingOverflow {
            max_bytes: 1_000,
            dropped,
        }) => {
            assert!(dropped > 80, "{dropped}");
        }
        other => panic!("expected an overflow, got {other:?}"),
    }
}

#[test]
fn golden_update_mode_rewrites_the_file_and_still_fails() {
    let dir = TempDir::new("golden").unwrap();
    let path = dir.path().join("nested/session.jsonl");
    let transcript = |stamp: u64, text: &str| {
        Transcript::parse(&format!(
            "{}\n{}\n",
            json!({"dir": "out", "msg": {"id": 1, "method": "turn/start", "params": {"text": text}}}),
            json!({"dir": "in", "msg": {"method": "turn/started", "emittedAtMs": stamp, "params": {"turnId": THREAD}}}),
        ))
        .unwrap()
    };
    let first = transcript(1764000000000, "hello");
    let check =
        |mode: GoldenMode, actual: &Transcript| Golden::new(&path).mode(mode).verify(actual);

    match check(GoldenMode::Check, &first) {
        Err(TestkitError::GoldenMissing { path: missing }) => assert_eq!(missing, path),
        other => panic!("expected a missing golden file, got {other:?}"),
    }
    match check(GoldenMode::Update, &first) {
        Err(TestkitError::GoldenUpdated { path: updated }) => assert_eq!(updated, path),
        other => panic!("expected an update, got {other:?}"),
    }
    // Stored normalized, so that it holds nothing volatile.
    let stored = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        stored,
        concat!(
            r#"{"dir":"out","msg":{"id":1,"method":"turn/start","params":{"text":"hello"}}}"#,
            "\n",
            r#"{"dir":"in","msg":{"emittedAtMs":0,"method":"turn/started","params":{"turnId":"<id>"}}}"#,
            "\n",
        )
    );
    // Another run differs only in volatile values: green in both modes, and
    // the file is left alone.
    let second = transcript(1764000099999, "hello");
    check(GoldenMode::Check, &second).unwrap();
    check(GoldenMode::Update, &second).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), stored);

    let changed = transcript(1764000000000, "bye");
    match check(GoldenMode::Check, &changed) {
        Err(TestkitError::GoldenMismatch { mismatch, .. }) => {
            assert_eq!(
                (mismatch.line, mismatch.path_of_first_difference.as_str()),
                (1, "/params/text")
            );
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(matches!(
        check(GoldenMode::Update, &changed),
        Err(TestkitError::GoldenUpdated { .. })
    ));
    check(GoldenMode::Check, &changed).unwrap();
}
