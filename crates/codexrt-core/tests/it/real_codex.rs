//! Against the real codex 0.169.0 (installed into the shared cache on first
//! use) with a scripted model on loopback: the runtime end to end.

use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig, StreamKind, TurnEvent, TurnOptions};
use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{
    AskForApproval, SandboxMode, ThreadStartParams, TurnStartParams, TurnStatus, UserInput,
};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
use semver::Version;

async fn runtime_for(codex: &Codex) -> Runtime {
    let command = codex.command();
    let mut config = RuntimeConfig::new("codexrt-core-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    Runtime::spawn(config).await.unwrap()
}

fn text(text: &str) -> Vec<UserInput> {
    vec![UserInput::Text {
        text: text.to_owned(),
        text_elements: None,
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_turn_end_to_end() {
    let model = ModelServer::start(Script::replies([Reply::message(
        "Hello from the scripted model",
    )
    .deltas(4)]))
    .await
    .unwrap();
    let codex = Codex::new(
        CodexInstall::new("0.169.0").install().await.unwrap(),
        &model,
    )
    .unwrap();
    let runtime = runtime_for(&codex).await;
    let info = runtime.server_info();
    assert_eq!(info.version, Version::new(0, 169, 0));
    assert!(
        info.user_agent.contains("(codexrt-core-tests; 0.0.1)"),
        "{}",
        info.user_agent
    );

    let thread = runtime
        .call(ThreadStartParams {
            cwd: Some(codex.workspace().display().to_string()),
            ..ThreadStartParams::default()
        })
        .await
        .unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id.clone(),
        input: text("say hello"),
        ..TurnStartParams::default()
    };
    let options = TurnOptions::new().deadline(Duration::from_secs(60));
    let mut turn = runtime.start_turn_with(params, options).await.unwrap();
    let mut events = turn.events().unwrap();
    let outcome = turn.wait().await.unwrap();
    let mut deltas = String::new();
    let mut completed = 0;
    while let Some(event) = events.recv().await {
        match event {
            TurnEvent::Delta(delta) if delta.kind == StreamKind::AgentMessage => {
                deltas.push_str(&delta.text);
            }
            TurnEvent::Notification(note) => {
                if let ServerNotification::TurnCompleted(_) = *note {
                    completed += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("Hello from the scripted model"));
    assert_eq!(deltas, "Hello from the scripted model");
    assert_eq!(completed, 1);
    let streamed = outcome
        .streamed
        .iter()
        .find(|s| s.kind == StreamKind::AgentMessage)
        .map(|s| s.text.as_str());
    assert_eq!(streamed, Some("Hello from the scripted model"));
    assert_eq!(model.script_errors(), []);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_is_declined() {
    let model = ModelServer::start(Script::replies([
        Reply::exec_command("touch made-by-codex.txt"),
        Reply::message("I could not run it."),
    ]))
    .await
    .unwrap();
    let codex = Codex::new(
        CodexInstall::new("0.169.0").install().await.unwrap(),
        &model,
    )
    .unwrap();
    let runtime = runtime_for(&codex).await;
    // Nobody takes the server request stream: every request gets its safe
    // answer at once.
    let thread = runtime
        .call(ThreadStartParams {
            cwd: Some(codex.workspace().display().to_string()),
            sandbox: Some(SandboxMode::WorkspaceWrite),
            ..ThreadStartParams::default()
        })
        .await
        .unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id.clone(),
        input: text("make a file"),
        approval_policy: Some(AskForApproval::Untrusted),
        ..TurnStartParams::default()
    };
    let options = TurnOptions::new().deadline(Duration::from_secs(60));
    let turn = runtime.start_turn_with(params, options).await.unwrap();
    let outcome = turn.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("I could not run it."));
    assert!(!codex.workspace().join("made-by-codex.txt").exists());
    let outputs = model.last_request().unwrap().function_call_outputs();
    assert!(
        outputs[0].text.contains("rejected"),
        "{:?}",
        outputs[0].text
    );
    assert_eq!(model.script_errors(), []);
    runtime.shutdown().await.unwrap();
}
