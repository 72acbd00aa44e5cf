//! Real turns of codex 0.169.0 against the scripted model: streamed answers,
//! approved and declined commands, model failure, exhaustion, interrupts,
//! and a client-side tool.

use std::time::Duration;

use codexrt_testkit::{Reply, Script, ScriptError};
use serde_json::{Value, json};

use crate::app_server::{AppServer, Event, no_requests, notifications, requests};

fn turn_status(events: &[Event]) -> &str {
    let completed = notifications(events, "turn/completed");
    assert_eq!(completed.len(), 1, "{events:#?}");
    completed[0]["turn"]["status"].as_str().unwrap()
}

#[tokio::test]
async fn a_streamed_answer_arrives_as_deltas_and_a_completed_turn() {
    let text = "Hello from the scripted model, in pieces.";
    let mut server = AppServer::start(Script::replies([Reply::message(text).deltas(4)])).await;
    let thread = server.start_thread(json!({})).await;
    server.start_turn(&thread, "hi").await;
    let (events, _) = server.run_turn(no_requests).await;

    let deltas: Vec<&str> = notifications(&events, "item/agentMessage/delta")
        .iter()
        .map(|params| params["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas.len(), 4);
    assert_eq!(deltas.concat(), text);
    let messages: Vec<&Value> = notifications(&events, "item/completed")
        .into_iter()
        .filter(|params| params["item"]["type"] == "agentMessage")
        .collect();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["item"]["text"], text);
    assert_eq!(turn_status(&events), "completed");

    let model_requests = server.model.requests();
    assert_eq!(model_requests.len(), 1);
    assert!(model_requests[0].user_texts().contains(&"hi"));
    assert!(model_requests[0].tool_names().contains(&"exec_command"));
    assert_eq!(server.model.script_errors(), []);
    server.shutdown().await;
}

/// Runs `touch <file>` through an approval answered with `decision`; returns
/// the turn's events.
async fn command_turn(decision: &str, file: &str) -> (AppServer, Vec<Event>) {
    let script = Script::replies([
        Reply::exec_command(format!("touch {file}")),
        Reply::message("done"),
    ]);
    let mut server = AppServer::start(script).await;
    // Under the default read-only sandbox an approved command runs sandboxed
    // first, and whether codex retries it unsandboxed after the write fails
    // varies from run to run; a writable workspace makes the outcome depend
    // only on the decision.
    let thread = server
        .start_thread(json!({"sandbox": "workspace-write"}))
        .await;
    server.start_turn(&thread, "make a file").await;
    let (events, _) = server
        .run_turn(|method, params| {
            assert_eq!(method, "item/commandExecution/requestApproval", "{params}");
            json!({"decision": decision})
        })
        .await;
    (server, events)
}

#[tokio::test]
async fn an_approved_command_runs_in_the_workspace() {
    let (server, events) = command_turn("accept", "approved.txt").await;
    assert_eq!(requests(&events), ["item/commandExecution/requestApproval"]);
    assert!(server.codex.workspace().join("approved.txt").is_file());
    assert_eq!(turn_status(&events), "completed");

    let model_requests = server.model.requests();
    assert_eq!(model_requests.len(), 2);
    let outputs = model_requests[1].function_call_outputs();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].call_id, "call-0");
    assert!(
        outputs[0].text.contains("Process exited with code 0"),
        "{}",
        outputs[0].text
    );
    assert_eq!(server.model.script_errors(), []);
    server.shutdown().await;
}

#[tokio::test]
async fn a_declined_command_does_not_run_and_the_model_is_told() {
    let (server, events) = command_turn("decline", "declined.txt").await;
    assert_eq!(requests(&events), ["item/commandExecution/requestApproval"]);
    assert!(!server.codex.workspace().join("declined.txt").exists());
    assert_eq!(turn_status(&events), "completed");

    let model_requests = server.model.requests();
    assert_eq!(model_requests.len(), 2);
    let outputs = model_requests[1].function_call_outputs();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].call_id, "call-0");
    assert!(
        outputs[0].text.contains("rejected by user"),
        "{}",
        outputs[0].text
    );
    assert_eq!(server.model.script_errors(), []);
    server.shutdown().await;
}

#[tokio::test]
async fn a_model_failure_fails_the_turn_with_an_error() {
    let mut server = AppServer::start(Script::replies([Reply::fail(500)])).await;
    let thread = server.start_thread(json!({})).await;
    server.start_turn(&thread, "hi").await;
    let (events, _) = server.run_turn(no_requests).await;
    let errors = notifications(&events, "error");
    assert_eq!(errors.len(), 1, "{events:#?}");
    assert_eq!(errors[0]["willRetry"], false);
    assert_eq!(turn_status(&events), "failed");
    assert_eq!(server.model.requests().len(), 1);
    assert_eq!(server.model.script_errors(), []);
    server.shutdown().await;
}

#[tokio::test]
async fn an_exhausted_script_fails_the_turn_and_is_recorded() {
    let mut server = AppServer::start(Script::new()).await;
    let thread = server.start_thread(json!({})).await;
    server.start_turn(&thread, "hi").await;
    let (events, _) = server.run_turn(no_requests).await;
    assert_eq!(turn_status(&events), "failed");
    assert_eq!(
        server.model.script_errors(),
        [ScriptError::Exhausted { request: 0 }]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_stream_is_interrupted() {
    let reply = Reply::message("this answer never finishes")
        .deltas(5)
        .stall_after(2, Duration::MAX);
    let mut server = AppServer::start(Script::replies([reply])).await;
    let thread = server.start_thread(json!({})).await;
    let turn = server.start_turn(&thread, "hi").await;

    let mut deltas = 0;
    while deltas < 2 {
        if server.next_event(&mut no_requests).await.method() == "item/agentMessage/delta" {
            deltas += 1;
        }
    }
    let interrupted: Value = server
        .client
        .call(
            "turn/interrupt",
            json!({"threadId": thread, "turnId": turn}),
        )
        .await
        .unwrap();
    assert_eq!(interrupted, json!({}));
    let (events, _) = server.run_turn(no_requests).await;
    assert!(notifications(&events, "item/agentMessage/delta").is_empty());
    assert_eq!(turn_status(&events), "interrupted");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_side_tool_call_reaches_the_client_and_its_output_the_model() {
    let script = Script::from_fn(|request| match request.function_call_outputs().last() {
        None => Reply::tool_call("lookup", json!({"key": "colour"})).call_id("call-lookup"),
        Some(output) => Reply::message(format!("the tool said: {}", output.text)),
    });
    let mut server = AppServer::start_with(script, json!({"experimentalApi": true})).await;
    let tools = json!({"dynamicTools": [{
        "type": "function",
        "name": "lookup",
        "description": "Looks a key up.",
        "inputSchema": {"type": "object", "properties": {"key": {"type": "string"}}},
    }]});
    let thread = server.start_thread(tools).await;
    server.start_turn(&thread, "what colour?").await;
    let mut calls = Vec::new();
    let (events, _) = server
        .run_turn(|method, params| {
            assert_eq!(method, "item/tool/call");
            calls.push((
                params["callId"].clone(),
                params["tool"].clone(),
                params["arguments"].clone(),
            ));
            json!({"contentItems": [{"type": "inputText", "text": "blue"}], "success": true})
        })
        .await;
    assert_eq!(
        calls,
        [(
            json!("call-lookup"),
            json!("lookup"),
            json!({"key": "colour"})
        )]
    );
    assert_eq!(turn_status(&events), "completed");
    let model_requests = server.model.requests();
    assert_eq!(model_requests.len(), 2);
    assert!(model_requests[0].tool_names().contains(&"lookup"));
    let outputs = model_requests[1].function_call_outputs();
    assert_eq!(
        outputs
            .iter()
            .map(|output| (output.call_id.as_str(), output.text.as_str()))
            .collect::<Vec<_>>(),
        [("call-lookup", "blue")]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_five_megabyte_answer_arrives_whole() {
    let text: String = (0..5 * 1024 * 1024 / 8)
        .map(|n| format!("{n:07x} "))
        .collect();
    let reply = Reply::message(text.clone()).deltas(5000);
    let mut server = AppServer::start(Script::replies([reply])).await;
    let thread = server.start_thread(json!({})).await;
    server.start_turn(&thread, "hi").await;
    let (events, _) = server.run_turn(no_requests).await;
    let deltas = notifications(&events, "item/agentMessage/delta");
    assert_eq!(deltas.len(), 5000);
    let joined: String = deltas
        .iter()
        .map(|params| params["delta"].as_str().unwrap())
        .collect();
    assert!(joined == text, "the deltas differ from the text");
    assert_eq!(turn_status(&events), "completed");
    server.shutdown().await;
}
