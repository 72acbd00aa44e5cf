//! Unit tests of the traffic server: every line it writes decodes with the
//! typed protocol (no `Unknown` anywhere), in codex 0.169.0's order, and
//! the streamed text is exactly the expected one.

use std::collections::HashMap;

use codexrt_protocol::types::{
    CommandExecutionStatus, InitializeResponse, ThreadItemKind, ThreadStartResponse,
    TurnStartResponse, TurnStatus,
};
use codexrt_protocol::{ServerNotification, ServerRequest};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{Traffic, TrafficArgsError, TrafficReport};

const THREAD_0: &str = "00000000-0000-7000-8000-000000000000";
const THREAD_1: &str = "00000000-0000-7000-8000-000000000001";
const TURN_0: &str = "00000000-0000-7000-9000-000000000000";
const TURN_1: &str = "00000000-0000-7000-9000-000000000001";

fn opening() -> Vec<Value> {
    vec![
        json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}),
        json!({"method": "initialized"}),
        json!({"id": 2, "method": "thread/start", "params": {"cwd": "/work"}}),
        json!({"id": 3, "method": "turn/start", "params": {"threadId": THREAD_0, "input": []}}),
    ]
}

/// Serves `input` and returns the report and the lines written.
fn serve(traffic: &Traffic, input: &[Value]) -> (TrafficReport, Vec<String>) {
    let mut text = String::new();
    for message in input {
        text.push_str(&message.to_string());
        text.push('\n');
    }
    let mut output = Vec::new();
    let report = traffic
        .serve(std::io::Cursor::new(text.into_bytes()), &mut output)
        .unwrap();
    let output = String::from_utf8(output).unwrap();
    (report, output.lines().map(str::to_owned).collect())
}

#[derive(Deserialize)]
struct Message<'a> {
    id: Option<Value>,
    method: Option<String>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

/// What the lines say, decoded through the typed protocol: one short entry
/// per line (`method`, `method kind status`, `request method`,
/// `response method`), the agent text per turn from the deltas, and the
/// final texts of `item/completed` and `turn/completed`. Fails on any line
/// that does not decode, or decodes into an `Unknown` arm.
#[derive(Debug, Default)]
struct Decoded {
    kinds: Vec<String>,
    deltas: HashMap<String, String>,
    final_texts: Vec<String>,
}

fn decode(lines: &[String], requests: &[Value]) -> Decoded {
    let methods: HashMap<String, &str> = requests
        .iter()
        .filter_map(|request| Some((request.get("id")?.to_string(), request["method"].as_str()?)))
        .collect();
    let mut decoded = Decoded::default();
    for line in lines {
        let message: Message<'_> = serde_json::from_str(line).unwrap();
        let kind = match (message.method, message.id) {
            (Some(method), Some(_)) => {
                let request = ServerRequest::decode(&method, message.params).unwrap();
                assert!(!matches!(request, ServerRequest::Unknown { .. }), "{line}");
                format!("request {method}")
            }
            (Some(method), None) => {
                assert!(line.starts_with(r#"{"emittedAtMs":"#), "{line}");
                let notification = ServerNotification::decode(&method, message.params).unwrap();
                describe(&method, notification, &mut decoded, line)
            }
            (None, Some(id)) => {
                let method = methods[&id.to_string()];
                let result = message.result.unwrap().get();
                match method {
                    "initialize" => {
                        drop(serde_json::from_str::<InitializeResponse>(result).unwrap())
                    }
                    "thread/start" => {
                        drop(serde_json::from_str::<ThreadStartResponse>(result).unwrap())
                    }
                    "turn/start" => {
                        drop(serde_json::from_str::<TurnStartResponse>(result).unwrap())
                    }
                    other => panic!("an answer to {other}: {line}"),
                }
                format!("response {method}")
            }
            (None, None) => panic!("neither a request, a notification nor a response: {line}"),
        };
        decoded.kinds.push(kind);
    }
    decoded
}

fn describe(
    method: &str,
    notification: ServerNotification,
    decoded: &mut Decoded,
    line: &str,
) -> String {
    match notification {
        ServerNotification::ItemAgentMessageDelta(delta) => {
            decoded
                .deltas
                .entry(delta.turn_id)
                .or_default()
                .push_str(&delta.delta);
            method.to_owned()
        }
        ServerNotification::ItemStarted(started) => {
            format!("{method} {}", item(&started.item.kind, decoded))
        }
        ServerNotification::ItemCompleted(completed) => {
            format!("{method} {}", item(&completed.item.kind, decoded))
        }
        ServerNotification::TurnCompleted(completed) => {
            assert_eq!(completed.turn.status, TurnStatus::Completed);
            for turn_item in &completed.turn.items {
                item(&turn_item.kind, decoded);
            }
            method.to_owned()
        }
        ServerNotification::Unknown { .. } => panic!("an unknown notification: {line}"),
        _ => method.to_owned(),
    }
}

fn item(kind: &ThreadItemKind, decoded: &mut Decoded) -> String {
    match kind {
        ThreadItemKind::AgentMessage { text, .. } => {
            decoded.final_texts.push(text.clone());
            "agentMessage".to_owned()
        }
        ThreadItemKind::CommandExecution { status, .. } => {
            let status = match status {
                CommandExecutionStatus::InProgress => "inProgress",
                CommandExecutionStatus::Completed => "completed",
                CommandExecutionStatus::Declined => "declined",
                other => panic!("status {other:?}"),
            };
            format!("commandExecution {status}")
        }
        other => panic!("an item of another kind: {other:?}"),
    }
}

#[test]
fn a_stream_is_framed_like_codex_and_decodes() {
    let opening_kinds = [
        "response initialize",
        "response thread/start",
        "thread/started",
        "response turn/start",
        "thread/status/changed",
        "turn/started",
        "item/started agentMessage",
    ];
    let closing_kinds = [
        "item/completed agentMessage",
        "thread/status/changed",
        "turn/completed",
    ];
    let check = |traffic: Traffic, full_final_text: bool| {
        let input = opening();
        let (report, lines) = serve(&traffic, &input);
        let decoded = decode(&lines, &input);
        let mut expected: Vec<&str> = opening_kinds.to_vec();
        expected.extend(std::iter::repeat_n("item/agentMessage/delta", 20));
        expected.extend(closing_kinds);
        assert_eq!(decoded.kinds, expected);
        let text = traffic.expected_text(TURN_0).unwrap();
        assert_eq!(text.len(), 80);
        assert_eq!(decoded.deltas[TURN_0], text);
        // The message starts empty; `item/completed` and `turn/completed`
        // carry the final text.
        let final_text = if full_final_text { text.as_str() } else { "" };
        assert_eq!(decoded.final_texts, ["", final_text, final_text]);
        assert_eq!(report.turns_completed, 1);
    };
    check(Traffic::stream(20, 4), true);
    check(Traffic::stream(20, 4).empty_final_text(), false);
    // Long pieces, and pieces that differ from their neighbours.
    let long = Traffic::stream(3, 100).expected_text(TURN_0).unwrap();
    assert_eq!(long.len(), 300);
    assert_eq!(
        Traffic::stream(3, 2).expected_text(TURN_0).unwrap(),
        "000102"
    );
}

#[test]
fn approvals_are_framed_like_codex_and_decode() {
    let mut input = opening();
    input.push(json!({"id": 0, "result": {"decision": "accept"}}));
    input.push(json!({"id": 1, "result": {"decision": "decline"}}));
    let traffic = Traffic::approvals(2);
    let (report, lines) = serve(&traffic, &input);
    let decoded = decode(&lines, &input);
    let approval = |status: &str| {
        [
            "thread/status/changed".to_owned(),
            "item/started commandExecution inProgress".to_owned(),
            "request item/commandExecution/requestApproval".to_owned(),
            "serverRequest/resolved".to_owned(),
            "thread/status/changed".to_owned(),
            format!("item/completed commandExecution {status}"),
        ]
    };
    let mut expected: Vec<String> = [
        "response initialize",
        "response thread/start",
        "thread/started",
        "response turn/start",
        "thread/status/changed",
        "turn/started",
    ]
    .map(str::to_owned)
    .to_vec();
    expected.extend(approval("completed"));
    expected.extend(approval("declined"));
    expected.extend(["thread/status/changed", "turn/completed"].map(str::to_owned));
    assert_eq!(decoded.kinds, expected);
    assert_eq!(traffic.expected_text(TURN_0), None);
    assert_eq!(
        (
            report.approvals_accepted,
            report.approvals_declined,
            report.turns_completed
        ),
        (1, 1, 1)
    );
    // The requests are numbered per connection, and the ids echo back.
    let request: Value = serde_json::from_str(&lines[8]).unwrap();
    assert_eq!(request["id"], 0);
    let resolved: Value = serde_json::from_str(&lines[9]).unwrap();
    assert_eq!(resolved["params"]["requestId"], 0);
}

#[test]
fn turns_of_many_threads_each_get_their_own_text() {
    let mut input = opening();
    input.push(json!({"id": 4, "method": "thread/start", "params": {}}));
    input.push(
        json!({"id": 5, "method": "turn/start", "params": {"threadId": THREAD_1, "input": []}}),
    );
    let traffic = Traffic::stream(100, 4);
    let (report, lines) = serve(&traffic, &input);
    let decoded = decode(&lines, &input);
    let first = traffic.expected_text(TURN_0).unwrap();
    let second = traffic.expected_text(TURN_1).unwrap();
    assert_ne!(first, second);
    assert_eq!(decoded.deltas[TURN_0], first);
    assert_eq!(decoded.deltas[TURN_1], second);
    assert_eq!((report.threads, report.turns_completed), (2, 2));
}

#[test]
fn requests_it_does_not_serve_get_errors() {
    let input = [
        json!({"id": 1, "method": "turn/start", "params": {"threadId": "nope", "input": []}}),
        json!({"id": "a", "method": "thread/read", "params": {}}),
    ];
    let (report, lines) = serve(&Traffic::stream(1, 1), &input);
    let lines: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"id": 1, "error": {"code": -32600, "message": "thread not found: nope"}}),
            json!({"id": "a", "error": {"code": -32601, "message": "method not found: thread/read"}}),
        ]
    );
    assert_eq!(report.turns_started, 0);
}

#[test]
fn an_unanswered_approval_ends_with_the_input() {
    let (report, lines) = serve(&Traffic::approvals(3), &opening());
    assert!(lines.last().unwrap().contains("requestApproval"));
    assert_eq!((report.turns_started, report.turns_completed), (1, 0));
}

#[test]
fn arguments_round_trip() {
    let check = |args: &[&str], expected: Result<Traffic, TrafficArgsError>| {
        let parsed = Traffic::from_args(args);
        assert_eq!(parsed, expected, "{args:?}");
        if let Ok(traffic) = parsed {
            assert_eq!(Traffic::from_args(traffic.args()), Ok(traffic));
        }
    };
    check(
        &[
            "--traffic",
            "stream",
            "--deltas",
            "10",
            "--delta-bytes",
            "3",
        ],
        Ok(Traffic::stream(10, 3)),
    );
    check(
        &["--empty-final", "--traffic", "stream"],
        Ok(Traffic::stream(1000, 4).empty_final_text()),
    );
    check(
        &["--traffic", "approvals", "--approvals", "7"],
        Ok(Traffic::approvals(7)),
    );
    check(&[], Err(TrafficArgsError::MissingKind));
    check(
        &["--traffic", "jazz"],
        Err(TrafficArgsError::UnknownKind("jazz".to_owned())),
    );
    check(
        &["--traffic", "stream", "--deltas"],
        Err(TrafficArgsError::MissingValue {
            flag: "--deltas".to_owned(),
        }),
    );
    check(
        &["--traffic", "stream", "--deltas", "many"],
        Err(TrafficArgsError::NotANumber {
            flag: "--deltas".to_owned(),
            value: "many".to_owned(),
        }),
    );
    check(
        &["--traffic", "approvals", "--empty-final"],
        Err(TrafficArgsError::NotForThisKind {
            flag: "--empty-final".to_owned(),
        }),
    );
    check(
        &["--traffic", "stream", "--approvals", "1"],
        Err(TrafficArgsError::NotForThisKind {
            flag: "--approvals".to_owned(),
        }),
    );
    check(
        &["--fast"],
        Err(TrafficArgsError::UnknownArgument("--fast".to_owned())),
    );
}
