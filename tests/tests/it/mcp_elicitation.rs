//! Against the real codex with a scripted model: an MCP server (the
//! `mcp-elicit-server` program) asks for input through an elicitation,
//! codex hands it to the client as `mcpServer/elicitation/request`, and the
//! client's answer reaches the tool and, through the tool's result, the
//! model.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt_core::{PendingServerRequest, Runtime, RuntimeConfig, TurnOptions};
use codexrt_protocol::types::{
    AskForApproval, McpServerElicitationAction, McpServerElicitationRequestParams,
    McpServerElicitationRequestParamsKind, McpServerElicitationRequestResponse, ThreadStartParams,
    TurnStartParams, TurnStatus, UserInput,
};
use codexrt_testkit::{
    Codex, CodexHome, CodexInstall, ModelServer, Reply, Script, mock_config_toml,
};
use serde_json::{Value, json};

/// The name the MCP server is registered under in `config.toml`; codex
/// offers its tools in the namespace `mcp__elicit`.
const SERVER: &str = "elicit";

/// What the client answers the server's form with.
fn answer() -> Value {
    json!({ "color": "blue" })
}

/// How codex decides whether to ask the client before calling the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolApproval {
    /// No per-tool setting: under `on-request` codex first asks the client,
    /// itself through `mcpServer/elicitation/request`.
    Asked,
    /// `approval_mode = "approve"` for the tool in `config.toml`: codex
    /// calls it straight away.
    Preapproved,
}

/// `config.toml`: the scripted model and the MCP server.
fn config(model: &ModelServer, approval: ToolApproval) -> String {
    // A TOML basic string: serde_json's escapes mean the same in TOML.
    let program = Value::String(env!("CARGO_BIN_EXE_mcp-elicit-server").to_owned());
    let mut config = format!(
        "{}\n[mcp_servers.{SERVER}]\ncommand = {program}\nargs = []\n",
        mock_config_toml(&model.base_url())
    );
    if approval == ToolApproval::Preapproved {
        config.push_str(&format!(
            "\n[mcp_servers.{SERVER}.tools.ask_color]\napproval_mode = \"approve\"\n"
        ));
    }
    config
}

async fn runtime_for(codex: &Codex) -> Runtime {
    let command = codex.command();
    let mut config = RuntimeConfig::new("codexrt-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    Runtime::spawn(config).await.unwrap()
}

/// The `_meta.codex_approval_kind` codex puts on the elicitation that asks
/// for a tool call's approval, if any.
fn approval_kind(params: &McpServerElicitationRequestParams) -> Option<&str> {
    match &params.kind {
        McpServerElicitationRequestParamsKind::Form {
            meta: Some(meta), ..
        } => meta.get("codex_approval_kind").and_then(Value::as_str),
        _ => None,
    }
}

/// One turn in which the model calls the MCP tool and the client accepts
/// whatever it is asked; returns the elicitations the client saw.
async fn run(version: &str, approval: ToolApproval) -> Vec<McpServerElicitationRequestParams> {
    let model = ModelServer::start(Script::replies([
        Reply::tool_call("ask_color", json!({}))
            .namespace(format!("mcp__{SERVER}"))
            .call_id("call-color"),
        Reply::message("Blue it is."),
    ]))
    .await
    .unwrap();
    let home = CodexHome::with_config(&config(&model, approval)).unwrap();
    let codex =
        Codex::with_home(CodexInstall::new(version).install().await.unwrap(), home).unwrap();
    let runtime = runtime_for(&codex).await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut requests = runtime.server_requests().unwrap();
    let recorder = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            // Anything else gets the safe answer when dropped, and the
            // assertions below notice the missing elicitation.
            if let PendingServerRequest::McpElicitation(elicitation) = request {
                let params = elicitation.params().clone();
                // The approval is a yes/no question with an empty form.
                let content = approval_kind(&params).is_none().then(answer);
                recorder.lock().unwrap().push(params);
                elicitation
                    .respond(McpServerElicitationRequestResponse {
                        meta: None,
                        action: McpServerElicitationAction::Accept,
                        content,
                    })
                    .unwrap();
            }
        }
    });

    let thread = runtime
        .call(ThreadStartParams {
            cwd: Some(codex.workspace().display().to_string()),
            ..ThreadStartParams::default()
        })
        .await
        .unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id.clone(),
        input: vec![UserInput::Text {
            text: "ask me for a color".to_owned(),
            text_elements: None,
        }],
        approval_policy: Some(AskForApproval::OnRequest),
        ..TurnStartParams::default()
    };
    let options = TurnOptions::new().deadline(Duration::from_secs(60));
    let turn = runtime.start_turn_with(params, options).await.unwrap();
    let turn_id = turn.turn_id().to_owned();
    let outcome = turn.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed, "{outcome:?}");
    assert_eq!(outcome.final_text(), Some("Blue it is."));

    // The model was offered the tool inside the server's namespace.
    let requests = model.requests();
    let first = &requests[0];
    let namespace = first.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == format!("mcp__{SERVER}"))
        .unwrap_or_else(|| panic!("no mcp__{SERVER} in {:?}", first.tool_names()));
    assert_eq!(namespace["type"], "namespace");
    assert_eq!(namespace["tools"][0]["name"], "ask_color");

    // The tool's text reaches the model: a list of input_text items from
    // 0.160 on, the content list as JSON text in 0.150.
    let outputs = model.last_request().unwrap().function_call_outputs();
    let output = outputs
        .iter()
        .find(|output| output.call_id == "call-color")
        .unwrap_or_else(|| panic!("no output for the call in {outputs:?}"));
    let expected = format!("action=accept content={}", answer());
    let escaped = Value::String(expected.clone()).to_string();
    let escaped = &escaped[1..escaped.len() - 1];
    assert!(
        output.text.contains(&expected) || output.text.contains(escaped),
        "{:?}",
        output.text
    );
    assert_eq!(model.script_errors(), []);
    runtime.shutdown().await.unwrap();

    let seen = seen.lock().unwrap().clone();
    for params in &seen {
        assert_eq!(params.server_name, SERVER);
        assert_eq!(params.thread_id, thread.thread.id);
        assert_eq!(params.turn_id.as_deref(), Some(turn_id.as_str()));
    }
    seen
}

/// The elicitation the MCP server itself sent: the last one, in form mode.
fn check_server_form(params: &McpServerElicitationRequestParams) {
    let McpServerElicitationRequestParamsKind::Form {
        meta,
        message,
        requested_schema,
    } = &params.kind
    else {
        panic!("not a form: {params:?}");
    };
    assert_eq!(meta, &None);
    assert_eq!(message, "What is your favourite color?");
    assert_eq!(
        requested_schema.properties.keys().collect::<Vec<_>>(),
        ["color"]
    );
    assert_eq!(requested_schema.required, Some(vec!["color".to_owned()]));
}

/// Under `on-request` without a per-tool setting: codex's own approval
/// question first, as an elicitation with an empty form and the tool in
/// `_meta`, then the server's form.
async fn check_asked(version: &str) {
    let seen = run(version, ToolApproval::Asked).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(approval_kind(&seen[0]), Some("mcp_tool_call"));
    let McpServerElicitationRequestParamsKind::Form {
        meta: Some(meta),
        message,
        requested_schema,
    } = &seen[0].kind
    else {
        panic!("not a form: {:?}", seen[0]);
    };
    assert_eq!(
        message,
        &format!("Allow the {SERVER} MCP server to run tool \"ask_color\"?")
    );
    // `_meta.tool_name` is new in 0.169.0; `tool_description` and
    // `tool_params` are there in every version.
    let tool_name = meta.get("tool_name").and_then(Value::as_str);
    assert_eq!(tool_name, (version == "0.169.0").then_some("ask_color"));
    assert_eq!(meta["tool_params"], json!({}));
    assert!(requested_schema.properties.is_empty());
    check_server_form(&seen[1]);
}

/// With `approval_mode = "approve"`: the server's form alone.
async fn check_preapproved(version: &str) {
    let seen = run(version, ToolApproval::Preapproved).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    check_server_form(&seen[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_169_0_asks_for_the_tool_call_then_passes_the_form_on() {
    check_asked("0.169.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_169_0_passes_the_form_of_a_preapproved_tool_on() {
    check_preapproved("0.169.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_160_1_asks_for_the_tool_call_then_passes_the_form_on() {
    check_asked("0.160.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_160_1_passes_the_form_of_a_preapproved_tool_on() {
    check_preapproved("0.160.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_150_0_asks_for_the_tool_call_then_passes_the_form_on() {
    check_asked("0.150.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_0_150_0_passes_the_form_of_a_preapproved_tool_on() {
    check_preapproved("0.150.0").await;
}
