//! Dynamic tool calls, user-input requests and elicitations through the
//! approval loop against the in-process fake app-server.

use std::sync::{Arc, Mutex};

use codexrt_hooks::{
    Decision, ElicitationAnswer, HookContext, HookEntry, HookError, HookSet, IssueKind, Matcher,
    Phase, ToolCall, ToolEntry, ToolOutput, UserAnswers, elicitation_fn, tool_fn, user_input_fn,
};
use serde_json::{Value, json};

use crate::serve::{always, serve};

const TOOL_CALL: &str = "item/tool/call";
const USER_INPUT: &str = "item/tool/requestUserInput";
const ELICITATION: &str = "mcpServer/elicitation/request";

fn tool_call(tool: &str, namespace: Option<&str>) -> (&'static str, Value) {
    let mut params = json!({"arguments": {"city": "Oslo"}, "callId": "call-7", "threadId": "t", "tool": tool, "turnId": "u"});
    if let Some(namespace) = namespace {
        params["namespace"] = json!(namespace);
    }
    (TOOL_CALL, params)
}

fn text_result(text: &str, success: bool) -> Value {
    json!({"result": {"contentItems": [{"type": "inputText", "text": text}], "success": success}})
}

#[tokio::test]
async fn dynamic_tools_answer_tool_calls() {
    let seen: Arc<Mutex<Vec<ToolCall>>> = Arc::default();
    let seen_by_tool = Arc::clone(&seen);
    let hooks = HookSet::new()
        .tool(ToolEntry::new(
            "weather",
            "the weather in a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            tool_fn(move |call: ToolCall| {
                seen_by_tool.lock().unwrap().push(call.clone());
                async move {
                    let city = call.arguments["city"].as_str().unwrap_or("?").to_owned();
                    Ok(ToolOutput::text(format!("sunny in {city}"))
                        .and_image_url("https://example.com/sun.png"))
                }
            }),
        ))
        .tool(ToolEntry::new(
            "broken",
            "fails",
            json!({"type": "object"}),
            tool_fn(|_| async { Err(HookError::failed("database password rejected")) }),
        ))
        .concurrency(1);
    let (answers, approvals) = serve(
        hooks,
        vec![],
        vec![
            tool_call("weather", None),
            tool_call("broken", None),
            tool_call("weather", Some("other")),
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            json!({"result": {"contentItems": [
                {"type": "inputText", "text": "sunny in Oslo"},
                {"type": "inputImage", "imageUrl": "https://example.com/sun.png"}
            ], "success": true}}),
            text_result("tool `broken` failed", false),
            text_result("unknown tool `other/weather`", false),
        ]
    );
    let mut expected = ToolCall::new("weather", json!({"city": "Oslo"}));
    expected.thread_id = "t".to_owned();
    expected.turn_id = "u".to_owned();
    expected.call_id = "call-7".to_owned();
    assert_eq!(*seen.lock().unwrap(), [expected]);
    let mut issues: Vec<_> = approvals
        .report()
        .issues()
        .into_iter()
        .map(|issue| (issue.hook, issue.phase, issue.kind, issue.message))
        .collect();
    // The unknown tool takes no slot and is answered at once, so its issue
    // may come before the broken tool's.
    issues.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        issues,
        [
            (
                "broken".to_owned(),
                Phase::DynamicTool,
                IssueKind::Error,
                "hook failed: database password rejected".to_owned()
            ),
            (
                "other/weather".to_owned(),
                Phase::DynamicTool,
                IssueKind::Error,
                "no tool of that name is registered".to_owned()
            ),
        ]
    );
}

fn user_input(question: &str) -> (&'static str, Value) {
    (
        USER_INPUT,
        json!({
            "isBlocking": true, "itemId": "item-3", "threadId": "t", "turnId": "u",
            "questions": [{"header": "Colour", "id": question, "question": "Which colour?",
                           "options": [{"label": "blue", "description": "the sky"}]}]
        }),
    )
}

#[tokio::test]
async fn user_input_is_answered_by_the_first_hook_that_answers() {
    let seen: Arc<Mutex<Vec<HookContext>>> = Arc::default();
    let seen_by_hook = Arc::clone(&seen);
    let hooks = HookSet::new()
        .hook(HookEntry::user_input(
            "spy",
            user_input_fn(move |ctx, _| {
                seen_by_hook.lock().unwrap().push(ctx);
                async { Ok(None) }
            }),
        ))
        // PreToolUse hooks never answer questions.
        .hook(HookEntry::new("accept-all", always(Decision::Accept)))
        .hook(HookEntry::user_input(
            "colours",
            user_input_fn(|_, questions| async move {
                match questions[0].id.as_str() {
                    "colour" => Ok(Some(UserAnswers::from([(
                        "colour".to_owned(),
                        vec!["blue".to_owned()],
                    )]))),
                    "fail" => Err(HookError::failed("cannot decide")),
                    _ => Ok(None),
                }
            }),
        ));
    let (answers, approvals) = serve(
        hooks,
        vec![],
        vec![user_input("colour"), user_input("skip"), user_input("fail")],
    )
    .await;
    assert_eq!(
        answers,
        [
            json!({"result": {"answers": {"colour": {"answers": ["blue"]}}}}),
            // Nobody answered, or a hook failed: no input.
            json!({"result": {"answers": {}}}),
            json!({"result": {"answers": {}}}),
        ]
    );
    let seen = seen.lock().unwrap();
    let ctx = &seen[0];
    assert_eq!(
        (
            ctx.phase,
            ctx.tool_name.as_str(),
            ctx.thread_id.as_str(),
            ctx.turn_id.as_deref(),
            ctx.correlation_id.as_str(),
            &ctx.tool_input["itemId"],
        ),
        (
            Phase::OnUserInput,
            "request_user_input",
            "t",
            Some("u"),
            "0",
            &json!("item-3")
        )
    );
    let issues: Vec<_> = approvals
        .report()
        .issues()
        .into_iter()
        .map(|issue| (issue.hook, issue.phase, issue.correlation_id))
        .collect();
    assert_eq!(
        issues,
        [("colours".to_owned(), Phase::OnUserInput, "2".to_owned())]
    );
}

fn form(server: &str) -> (&'static str, Value) {
    (
        ELICITATION,
        json!({"serverName": server, "threadId": "t", "mode": "form", "message": "m",
               "requestedSchema": {"type": "object", "properties": {}}}),
    )
}

#[tokio::test]
async fn elicitation_hooks_answer_before_the_tool_use_chain() {
    let hooks = HookSet::new()
        .hook(HookEntry::elicitation(
            "forms",
            elicitation_fn(|ctx| async move {
                assert_eq!(ctx.phase, Phase::OnElicitation);
                match ctx.tool_name.as_str() {
                    "mcp:filled" | "mcp:link" => Ok(Some(ElicitationAnswer::Accept {
                        content: Some(json!({"name": "codexrt"})),
                    })),
                    "mcp:cancelled" => Ok(Some(ElicitationAnswer::Cancel)),
                    "mcp:broken" => Err(HookError::failed("no form data")),
                    _ => Ok(None),
                }
            }),
        ))
        // Asked only when the elicitation hooks defer; would accept
        // everything they leave to it.
        .hook(
            HookEntry::new("pre", crate::serve::always(Decision::Accept))
                .matcher(Matcher::any().phase(Phase::PreToolUse).tool("mcp:trusted")),
        );
    let link = (
        ELICITATION,
        json!({"serverName": "link", "threadId": "t", "mode": "url", "message": "m",
               "url": "https://example.com", "elicitationId": "e1"}),
    );
    let (answers, approvals) = serve(
        hooks,
        vec![],
        vec![
            form("filled"),
            form("cancelled"),
            form("broken"),
            form("trusted"),
            form("unknown"),
            link,
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            json!({"result": {"action": "accept", "content": {"name": "codexrt"}}}),
            json!({"result": {"action": "cancel"}}),
            json!({"result": {"action": "decline"}}),
            json!({"result": {"action": "accept", "content": {}}}),
            json!({"result": {"action": "decline"}}),
            // A URL request's answer carries no content.
            json!({"result": {"action": "accept"}}),
        ]
    );
    let issues: Vec<_> = approvals
        .report()
        .issues()
        .into_iter()
        .map(|issue| (issue.hook, issue.phase, issue.kind))
        .collect();
    assert_eq!(
        issues,
        [("forms".to_owned(), Phase::OnElicitation, IssueKind::Error)]
    );
}

#[test]
fn a_set_says_whether_it_serves_requests_or_observes() {
    struct Nothing;
    #[async_trait::async_trait]
    impl codexrt_hooks::PostToolHook for Nothing {
        async fn after(&self, _ctx: &HookContext) -> Result<(), HookError> {
            Ok(())
        }
    }
    let check = |set: HookSet| (set.serves_requests(), set.observes());
    let table = [
        (check(HookSet::new()), (false, false)),
        (
            check(HookSet::new().hook(HookEntry::new("pre", always(Decision::Accept)))),
            (true, false),
        ),
        (
            check(HookSet::new().hook(HookEntry::user_input(
                "input",
                user_input_fn(|_, _| async { Ok(None) }),
            ))),
            (true, false),
        ),
        (
            check(HookSet::new().hook(HookEntry::elicitation(
                "forms",
                elicitation_fn(|_| async { Ok(None) }),
            ))),
            (true, false),
        ),
        (
            check(HookSet::new().tool(ToolEntry::new(
                "t",
                "d",
                json!({}),
                tool_fn(|_| async { Ok(ToolOutput::text("")) }),
            ))),
            (true, false),
        ),
        (
            check(HookSet::new().hook(HookEntry::post_tool_use("post", Nothing))),
            (false, true),
        ),
    ];
    for (index, (got, expected)) in table.into_iter().enumerate() {
        assert_eq!(got, expected, "row {index}");
    }
}
