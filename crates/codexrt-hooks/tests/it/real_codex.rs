//! Against the real codex 0.169.0 (installed into the shared cache on first
//! use) with a scripted model on loopback: a PreToolUse hook decides
//! whether the model's command runs.

use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig, TurnOptions};
use codexrt_hooks::{Decision, HookEntry, HookSet, Matcher, ask_before_commands, hook_fn};
use codexrt_protocol::types::{
    SandboxMode, ThreadStartParams, TurnStartParams, TurnStatus, UserInput,
};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};

/// Runs one turn whose model asks to `touch approved.txt`, with a hook
/// answering `decision` for commands matching `touch *`; returns whether
/// the file exists afterwards.
async fn touch_with(decision: Decision) -> bool {
    let model = ModelServer::start(Script::replies([
        Reply::exec_command("touch approved.txt"),
        Reply::message("Done."),
    ]))
    .await
    .unwrap();
    let codex = Codex::new(
        CodexInstall::new("0.169.0").install().await.unwrap(),
        &model,
    )
    .unwrap();
    let command = codex.command();
    let mut config = RuntimeConfig::new("codexrt-hooks-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    let runtime = Runtime::spawn(config).await.unwrap();
    let hook = hook_fn(move |_| {
        let decision = decision.clone();
        async move { Ok(decision) }
    });
    let approvals = HookSet::new()
        .hook(
            HookEntry::new("touch", hook)
                .matcher(Matcher::any().tool("command").command("*touch *")),
        )
        .serve(&runtime)
        .unwrap();

    let thread = runtime
        .call(ThreadStartParams {
            cwd: Some(codex.workspace().display().to_string()),
            sandbox: Some(SandboxMode::WorkspaceWrite),
            ..ThreadStartParams::default()
        })
        .await
        .unwrap();
    let params = ask_before_commands(TurnStartParams {
        thread_id: thread.thread.id.clone(),
        input: vec![UserInput::Text {
            text: "make a file".to_owned(),
            text_elements: None,
        }],
        ..TurnStartParams::default()
    });
    let options = TurnOptions::new().deadline(Duration::from_secs(60));
    let turn = runtime.start_turn_with(params, options).await.unwrap();
    let outcome = turn.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("Done."));
    assert_eq!(model.script_errors(), []);
    assert_eq!(approvals.report().issues(), []);
    runtime.shutdown().await.unwrap();
    codex.workspace().join("approved.txt").exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepting_hook_lets_the_command_run() {
    assert!(touch_with(Decision::Accept).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declining_hook_stops_the_command() {
    assert!(!touch_with(Decision::decline("not today")).await);
}
