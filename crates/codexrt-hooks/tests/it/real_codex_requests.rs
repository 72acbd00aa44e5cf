//! Against the real codex 0.169.0 with a scripted model on loopback: a
//! dynamic tool answers the model's call, and a user-input hook answers
//! the model's question, each seen by the model in its next request.

use std::sync::Arc;
use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig, TurnOptions};
use codexrt_hooks::{
    HookEntry, HookSet, ToolEntry, ToolOutput, UserAnswers, tool_fn, user_input_fn,
};
use codexrt_protocol::types::{
    CollaborationMode, ThreadStartParams, TurnStartParams, TurnStatus, UserInput,
};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
use serde_json::{Value, json};

/// Runs one turn of codex 0.169.0 against `replies`, with the
/// experimental API, `hooks` serving requests, the hooks' tools offered on
/// `thread/start` and `collaboration_mode` on `turn/start`; returns the
/// model server for its requests.
async fn run_turn(
    replies: Vec<Reply>,
    hooks: HookSet,
    collaboration_mode: Option<CollaborationMode>,
) -> ModelServer {
    let model = ModelServer::start(Script::replies(replies)).await.unwrap();
    let codex = Codex::new(
        CodexInstall::new("0.169.0").install().await.unwrap(),
        &model,
    )
    .unwrap();
    let command = codex.command();
    let mut config = RuntimeConfig::new("codexrt-hooks-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .enable_experimental_api()
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    let runtime = Runtime::spawn(config).await.unwrap();
    let specs = hooks.tool_specs();
    let report = hooks.report();
    let _loop = hooks.serve(&runtime).unwrap();
    let thread = runtime
        .call(ThreadStartParams {
            cwd: Some(codex.workspace().display().to_string()),
            dynamic_tools: (!specs.is_empty()).then_some(specs),
            ..ThreadStartParams::default()
        })
        .await
        .unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id.clone(),
        input: vec![UserInput::Text {
            text: "help me".to_owned(),
            text_elements: None,
        }],
        collaboration_mode,
        ..TurnStartParams::default()
    };
    let options = TurnOptions::new().deadline(Duration::from_secs(60));
    let turn = runtime.start_turn_with(params, options).await.unwrap();
    let outcome = turn.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("Done."));
    assert_eq!(model.script_errors(), []);
    assert_eq!(report.issues(), []);
    runtime.shutdown().await.unwrap();
    model
}

/// The output codex sent the model for call `call_id` in its last request.
fn output_of(model: &ModelServer, call_id: &str) -> String {
    let requests = model.requests();
    let last = requests.last().unwrap();
    let outputs = last.function_call_outputs();
    let output = outputs.iter().find(|output| output.call_id == call_id);
    output
        .unwrap_or_else(|| panic!("no output for {call_id}: {outputs:?}"))
        .text
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_tool_answers_the_model() {
    let arguments: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&arguments);
    let hooks = HookSet::new().tool(ToolEntry::new(
        "lookup",
        "Looks up the weather in a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        tool_fn(move |call| {
            seen.lock().unwrap().push(call.arguments.clone());
            async move {
                let city = call.arguments["city"]
                    .as_str()
                    .unwrap_or("nowhere")
                    .to_owned();
                Ok(ToolOutput::text(format!("sunny in {city}")))
            }
        }),
    ));
    let model = run_turn(
        vec![
            Reply::tool_call("lookup", json!({"city": "Oslo"})).call_id("call-lookup"),
            Reply::message("Done."),
        ],
        hooks,
        None,
    )
    .await;
    assert_eq!(*arguments.lock().unwrap(), [json!({"city": "Oslo"})]);
    // The tool was offered to the model, and its output came back.
    assert!(model.requests()[0].tool_names().contains(&"lookup"));
    assert_eq!(output_of(&model, "call-lookup"), "sunny in Oslo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_input_hook_answers_the_model() {
    let hooks = HookSet::new().hook(HookEntry::user_input(
        "colours",
        user_input_fn(|_, questions| async move {
            Ok(Some(
                questions
                    .iter()
                    .map(|question| (question.id.clone(), vec!["blue".to_owned()]))
                    .collect::<UserAnswers>(),
            ))
        }),
    ));
    let plan: CollaborationMode =
        serde_json::from_value(json!({"mode": "plan", "settings": {"model": "mock-model"}}))
            .unwrap();
    let question = json!({"questions": [{
        "id": "colour", "header": "Colour", "question": "Which colour?",
        "options": [
            {"label": "blue", "description": "like the sky"},
            {"label": "red", "description": "like fire"}
        ]
    }]});
    let model = run_turn(
        vec![
            Reply::tool_call("request_user_input", question).call_id("call-ask"),
            Reply::message("Done."),
        ],
        hooks,
        Some(plan),
    )
    .await;
    let output = output_of(&model, "call-ask");
    let output: Value = serde_json::from_str(&output).unwrap_or(Value::String(output));
    assert_eq!(
        output,
        json!({"answers": {"colour": {"answers": ["blue"]}}})
    );
}
