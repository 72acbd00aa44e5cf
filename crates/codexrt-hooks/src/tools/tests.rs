//! Unit tests of dynamic tools: outputs, registration, and every way a
//! call can fail answered with `success: false` and a neutral text.

#![allow(clippy::unwrap_used, reason = "tests")]

use serde_json::json;

use super::*;

fn call(tool: &str) -> ToolCall {
    ToolCall {
        thread_id: "t".to_owned(),
        turn_id: "u".to_owned(),
        call_id: "c1".to_owned(),
        tool: tool.to_owned(),
        arguments: json!({"q": "rust"}),
    }
}

fn entry(name: &str, tool: impl DynamicTool) -> ToolEntry {
    ToolEntry::new(name, "a test tool", json!({"type": "object"}), tool)
}

fn response(value: serde_json::Value) -> DynamicToolCallResponse {
    serde_json::from_value(value).unwrap()
}

/// The issues as (hook, phase, kind, message, correlation id).
fn issues(set: &HookSet) -> Vec<(String, Phase, IssueKind, String, String)> {
    set.report()
        .issues()
        .into_iter()
        .map(|issue| {
            (
                issue.hook,
                issue.phase,
                issue.kind,
                issue.message,
                issue.correlation_id,
            )
        })
        .collect()
}

#[test]
fn outputs_become_responses() {
    let output = ToolOutput::text("one")
        .and_text("two")
        .and_image_url("data:image/png;base64,AAAA");
    assert!(output.success());
    assert_eq!(output.items().len(), 3);
    assert_eq!(
        output.into_response(),
        response(json!({
            "contentItems": [
                {"type": "inputText", "text": "one"},
                {"type": "inputText", "text": "two"},
                {"type": "inputImage", "imageUrl": "data:image/png;base64,AAAA"}
            ],
            "success": true
        }))
    );
    let failure = ToolOutput::failure("no such city");
    assert!(!failure.success());
    assert_eq!(
        failure.into_response(),
        response(
            json!({"contentItems": [{"type": "inputText", "text": "no such city"}], "success": false})
        )
    );
}

#[test]
fn a_second_tool_of_the_same_name_replaces_the_first() {
    let set = HookSet::new()
        .tool(entry(
            "a",
            tool_fn(|_| async { Ok(ToolOutput::text("a1")) }),
        ))
        .tool(
            ToolEntry::new(
                "b",
                "the b tool",
                json!({"type": "object", "properties": {}}),
                tool_fn(|_| async { Ok(ToolOutput::text("b")) }),
            )
            .timeout(Duration::from_secs(1)),
        )
        .tool(ToolEntry::new(
            "a",
            "the new a",
            json!({"type": "object"}),
            tool_fn(|_| async { Ok(ToolOutput::text("a2")) }),
        ));
    let specs = serde_json::to_value(set.tool_specs()).unwrap();
    assert_eq!(
        specs,
        json!([
            {"type": "function", "name": "a", "description": "the new a", "inputSchema": {"type": "object"}},
            {"type": "function", "name": "b", "description": "the b tool", "inputSchema": {"type": "object", "properties": {}}}
        ])
    );
    assert!(set.has_tools());
    assert!(set.serves_requests());
    assert!(!HookSet::new().has_tools());
    assert!(!HookSet::new().serves_requests());
}

#[tokio::test]
async fn a_tool_sees_the_call_and_answers() {
    let set = HookSet::new().tool(entry(
        "echo",
        tool_fn(|call: ToolCall| async move {
            Ok(ToolOutput::text(format!(
                "{} {} {} {} {}",
                call.thread_id, call.turn_id, call.call_id, call.tool, call.arguments
            )))
        }),
    ));
    assert_eq!(
        set.call_tool(&call("echo")).await,
        response(
            json!({"contentItems": [{"type": "inputText", "text": "t u c1 echo {\"q\":\"rust\"}"}], "success": true})
        )
    );
    assert_eq!(issues(&set), []);
}

#[tokio::test]
async fn an_unknown_tool_fails() {
    let set = HookSet::new().tool(entry(
        "known",
        tool_fn(|_| async { Ok(ToolOutput::text("x")) }),
    ));
    assert_eq!(
        set.call_tool(&call("unknown")).await,
        response(
            json!({"contentItems": [{"type": "inputText", "text": "unknown tool `unknown`"}], "success": false})
        )
    );
    assert_eq!(
        issues(&set),
        [(
            "unknown".to_owned(),
            Phase::DynamicTool,
            IssueKind::Error,
            "no tool of that name is registered".to_owned(),
            "c1".to_owned()
        )]
    );
}

#[tokio::test]
async fn an_error_fails_without_its_text() {
    let set = HookSet::new().tool(entry(
        "db",
        tool_fn(|_| async { Err(HookError::failed("password=hunter2 rejected")) }),
    ));
    let answer = set.call_tool(&call("db")).await;
    assert_eq!(
        answer,
        response(
            json!({"contentItems": [{"type": "inputText", "text": "tool `db` failed"}], "success": false})
        )
    );
    assert_eq!(
        issues(&set),
        [(
            "db".to_owned(),
            Phase::DynamicTool,
            IssueKind::Error,
            "hook failed: password=hunter2 rejected".to_owned(),
            "c1".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_panic_fails_without_its_text() {
    let set = HookSet::new().tool(entry(
        "boom",
        tool_fn(|_| async { panic!("secret internal state") }),
    ));
    let answer = set.call_tool(&call("boom")).await;
    assert_eq!(
        answer,
        response(
            json!({"contentItems": [{"type": "inputText", "text": "tool `boom` failed"}], "success": false})
        )
    );
    assert!(!serde_json::to_string(&answer).unwrap().contains("secret"));
    assert_eq!(
        issues(&set),
        [(
            "boom".to_owned(),
            Phase::DynamicTool,
            IssueKind::Panic,
            "panicked: secret internal state".to_owned(),
            "c1".to_owned()
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_tool_times_out() {
    let set = HookSet::new().tool(
        entry(
            "slow",
            tool_fn(|_| async {
                std::future::pending::<()>().await;
                Ok(ToolOutput::text("too late"))
            }),
        )
        .timeout(Duration::from_millis(50)),
    );
    assert_eq!(
        set.call_tool(&call("slow")).await,
        response(
            json!({"contentItems": [{"type": "inputText", "text": "tool `slow` timed out"}], "success": false})
        )
    );
    assert_eq!(
        issues(&set),
        [(
            "slow".to_owned(),
            Phase::DynamicTool,
            IssueKind::Timeout,
            "timed out after 50ms".to_owned(),
            "c1".to_owned()
        )]
    );
}

#[tokio::test]
async fn the_scope_tool_comes_before_the_base_tool() {
    let base = HookSet::new()
        .tool(entry(
            "shared",
            tool_fn(|_| async { Ok(ToolOutput::text("base")) }),
        ))
        .tool(entry(
            "only-base",
            tool_fn(|_| async { Ok(ToolOutput::text("base only")) }),
        ));
    let scope = HookSet::new().tool(entry(
        "shared",
        tool_fn(|_| async { Err(HookError::failed("scope down")) }),
    ));
    let text = |response: DynamicToolCallResponse| serde_json::to_value(response).unwrap();
    assert_eq!(
        text(call_tool_scoped(&base, Some(&scope), &call("shared"), None).await),
        json!({"contentItems": [{"type": "inputText", "text": "tool `shared` failed"}], "success": false})
    );
    assert_eq!(
        text(call_tool_scoped(&base, Some(&scope), &call("only-base"), None).await),
        json!({"contentItems": [{"type": "inputText", "text": "base only"}], "success": true})
    );
    assert_eq!(
        text(call_tool_scoped(&base, None, &call("shared"), None).await),
        json!({"contentItems": [{"type": "inputText", "text": "base"}], "success": true})
    );
    // The scope's failure is in the scope's report only.
    assert_eq!(issues(&base), []);
    assert_eq!(issues(&scope).len(), 1);
}

#[test]
fn namespaced_calls_never_match_a_registered_tool() {
    let params = DynamicToolCallParams {
        arguments: json!({}),
        call_id: "c".to_owned(),
        namespace: Some("ns".to_owned()),
        thread_id: "t".to_owned(),
        tool: "lookup".to_owned(),
        turn_id: "u".to_owned(),
    };
    assert_eq!(ToolCall::from_params(&params).tool, "ns/lookup");
}
