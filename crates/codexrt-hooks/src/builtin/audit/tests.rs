//! Unit tests of the audit log's queue: overflow is counted and never
//! waits, and post-tool results reach the file.

use serde_json::{Value, json};

use super::*;
use crate::{HookSet, TOOL_COMMAND, ToolResult};

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_waiting() {
    // A log whose writer has not started yet, so nothing leaves the queue.
    let dir = codexrt_testkit::TempDir::new("audit-unit").unwrap();
    let path = dir.path().join("audit.jsonl");
    let (tx, rx) = mpsc::channel(AUDIT_QUEUE);
    let log = AuditLog {
        inner: Arc::new(Inner {
            path: path.clone(),
            tx,
            dropped: AtomicU64::new(0),
        }),
    };
    let ctx = HookContext::new(Phase::PreToolUse, "t", TOOL_COMMAND);
    for _ in 0..AUDIT_QUEUE + 6 {
        log.record(AuditRecord::new(
            &ctx,
            AuditEntry::tool_decision(&Decision::Accept, Some("h")),
        ));
    }
    assert_eq!(log.dropped(), 6);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    std::thread::spawn(move || write_lines(file, rx));
    log.flush().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), AUDIT_QUEUE);
}

#[tokio::test]
async fn post_tool_results_and_long_reasons() {
    let dir = codexrt_testkit::TempDir::new("audit-unit").unwrap();
    let log = AuditLog::create(dir.path().join("audit.jsonl")).unwrap();
    let hooks = HookSet::new().audit(log.clone());
    let mut ctx = HookContext::new(Phase::PostToolUseFailure, "thr_1", TOOL_COMMAND);
    ctx.turn_id = Some("turn_1".to_owned());
    ctx.correlation_id = "item_1".to_owned();
    ctx.result = Some(ToolResult {
        success: false,
        status: "completed".to_owned(),
        exit_code: Some(2),
        output: Some("nope".to_owned()),
    });
    hooks.after_tool_use(&ctx).await;
    let long = "é".repeat(3000);
    log.record(AuditRecord::new(
        &ctx,
        AuditEntry::decision("block", Some(&long), None),
    ));
    log.flush().await.unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let mut values: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for value in &mut values {
        assert!(
            value
                .as_object_mut()
                .unwrap()
                .remove("ts")
                .unwrap()
                .is_u64()
        );
    }
    assert_eq!(
        values,
        [
            json!({
                "phase": "PostToolUseFailure", "threadId": "thr_1", "turnId": "turn_1",
                "tool": "command", "correlationId": "item_1",
                "status": "completed", "exitCode": 2, "success": false,
            }),
            json!({
                "phase": "PostToolUseFailure", "threadId": "thr_1", "turnId": "turn_1",
                "tool": "command", "correlationId": "item_1",
                "decision": "block", "reason": "é".repeat(2048), "hook": null,
            }),
        ]
    );
}
