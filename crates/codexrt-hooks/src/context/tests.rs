//! Unit tests of the context's JSON form for what only the crate can
//! build: a tool result.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;

#[test]
fn a_tool_result_serializes_in_camel_case() {
    let mut ctx = HookContext::new(Phase::PostToolUseFailure, "thr_1", TOOL_COMMAND)
        .with_command("false")
        .with_paths(["a.rs"]);
    ctx.result = Some(ToolResult {
        success: false,
        status: "failed".to_owned(),
        exit_code: Some(1),
        output: Some("boom".to_owned()),
    });
    ctx.timestamp = UNIX_EPOCH + Duration::from_millis(5);
    assert_eq!(
        serde_json::to_value(&ctx).unwrap(),
        json!({
            "phase": "PostToolUseFailure",
            "threadId": "thr_1",
            "turnId": null,
            "cwd": null,
            "model": null,
            "toolName": "command",
            "command": "false",
            "paths": ["a.rs"],
            "toolInput": null,
            "correlationId": "",
            "result": {"success": false, "status": "failed", "exitCode": 1, "output": "boom"},
            "plan": null,
            "outcome": null,
            "timestamp": 5,
        })
    );
}

#[test]
fn times_before_the_epoch_are_zero() {
    assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    assert_eq!(unix_millis(UNIX_EPOCH + Duration::from_millis(1500)), 1500);
}
