//! Against the real codex 0.169.0 (installed into the shared cache on first
//! use) with a scripted model on loopback: the facade end to end.

use std::time::Duration;

use codexrt::protocol::types::{AskForApproval, SandboxMode};
use codexrt::{Client, ClientConfig, RunProfile, SessionConfig, SessionEvent};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
use serde_json::json;

/// A scripted model, codex 0.169.0 pointed at it, and a client of that
/// codex spawned through `ClientConfig`.
async fn start(replies: Vec<Reply>) -> (ModelServer, Codex, Client) {
    let model = ModelServer::start(Script::replies(replies)).await.unwrap();
    let binary = CodexInstall::new("0.169.0").install().await.unwrap();
    let codex = Codex::new(binary, &model).unwrap();
    let command = codex.command();
    let mut config = ClientConfig::new()
        .client_info("codexrt-facade-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .turn_timeout(Duration::from_secs(60))
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    let client = Client::connect(config).await.unwrap();
    (model, codex, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_run() {
    let (model, codex, client) = start(vec![
        Reply::message("Hello from the scripted model").deltas(3),
    ])
    .await;
    let result = client.run(codex.workspace(), "say hello").await.unwrap();
    assert_eq!(result.text(), "Hello from the scripted model");
    assert!(!result.thread_id.is_empty() && !result.turn_id.is_empty());
    assert!(model.requests()[0].user_texts().contains(&"say hello"));
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_the_first_exchange_as_context() {
    let (model, codex, client) = start(vec![
        Reply::message("The answer is 42."),
        Reply::message("You asked about the answer."),
    ])
    .await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let first = session.ask("What is the answer?").await.unwrap();
    assert_eq!(first.text(), "The answer is 42.");
    let second = session.ask("What did I ask?").await.unwrap();
    assert_eq!(second.text(), "You asked about the answer.");
    assert_eq!(first.thread_id, second.thread_id);

    let requests = model.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let context = &requests[1];
    let users = context.user_texts();
    assert!(users.contains(&"What is the answer?"), "{users:?}");
    assert!(users.contains(&"What did I ask?"), "{users:?}");
    let assistant_said = context.input().iter().any(|item| {
        item["role"] == "assistant" && item["content"][0]["text"] == "The answer is 42."
    });
    assert!(assistant_said, "{:#?}", context.input());
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_stream_deltas_equal_the_final_text() {
    let (model, codex, client) =
        start(vec![Reply::message("Streaming, piece by piece.").deltas(5)]).await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let mut stream = session.ask_stream("stream it").await.unwrap();
    let mut deltas = String::new();
    let mut outcome = None;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => deltas.push_str(&delta),
            SessionEvent::Finished(finished) => outcome = Some(finished.unwrap()),
            _ => {}
        }
    }
    assert_eq!(deltas, "Streaming, piece by piece.");
    assert_eq!(outcome.unwrap().text(), deltas);
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_answers_is_declined() {
    let (model, codex, client) = start(vec![
        Reply::exec_command("touch made-by-codex.txt"),
        Reply::message("I could not run it."),
    ])
    .await;
    // A writable sandbox, so that only the declined approval keeps the
    // file from being made.
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted);
    let result = client
        .run_with_profile(codex.workspace(), "make a file", profile)
        .await
        .unwrap();
    assert_eq!(result.text(), "I could not run it.");
    assert!(!codex.workspace().join("made-by-codex.txt").exists());
    let outputs = model.last_request().unwrap().function_call_outputs();
    assert!(
        outputs[0].text.contains("rejected"),
        "{:?}",
        outputs[0].text
    );
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_schema_reaches_the_model() {
    let schema = json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": false,
    });
    let (model, codex, client) = start(vec![Reply::message("{\"ok\":true}")]).await;
    let profile = RunProfile::new().output_schema(schema.clone());
    let result = client
        .run_with_profile(codex.workspace(), "answer in JSON", profile)
        .await
        .unwrap();
    assert_eq!(result.text(), "{\"ok\":true}");
    // codex 0.169.0 passes it as the Responses API's strict JSON Schema
    // text format.
    let body = &model.last_request().unwrap().body;
    assert_eq!(
        body["text"]["format"],
        json!({"type": "json_schema", "name": "codex_output_schema", "strict": true, "schema": schema})
    );
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}
