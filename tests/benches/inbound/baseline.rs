//! The baseline: a hand-written client of `codex app-server`, the practical
//! limit of a plain loop. tokio's `BufReader::lines()`, one
//! `serde_json::Value` per line, no routing, no typed protocol: handshake,
//! `thread/start`, `turn/start`, then read until `turn/completed`, joining
//! the deltas and answering approvals with `{"decision":"accept"}`.

use std::process::Stdio;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};

use crate::FAKE_APP_SERVER;
use crate::scenario::{Measured, PROMPT, Scenario, Sizes, Turn};

pub(crate) async fn run(scenario: Scenario, sizes: &Sizes) -> Measured {
    if scenario == Scenario::Sessions {
        return Measured::failed("the baseline holds one conversation at a time".to_owned());
    }
    let traffic = scenario.traffic(sizes);
    let turn = turn(scenario, &traffic.args()).await;
    Measured::turn(turn, scenario, &traffic, sizes)
}

struct Conversation {
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Conversation {
    async fn send(&mut self, message: &Value) -> Result<(), String> {
        let mut line = message.to_string();
        line.push('\n');
        let written = self.stdin.write_all(line.as_bytes()).await;
        written.map_err(|err| format!("cannot write to the server: {err}"))
    }

    async fn next(&mut self) -> Result<Option<Value>, String> {
        let line = self.lines.next_line().await;
        match line.map_err(|err| format!("cannot read the server: {err}"))? {
            Some(line) => serde_json::from_str(&line)
                .map(Some)
                .map_err(|err| format!("a line that is not JSON ({err}): {line}")),
            None => Ok(None),
        }
    }

    /// Sends a request and reads until its answer, skipping the rest.
    async fn call(&mut self, id: u64, method: &str, params: Value) -> Result<Value, String> {
        self.send(&json!({"id": id, "method": method, "params": params}))
            .await?;
        while let Some(mut message) = self.next().await? {
            if message.get("method").is_none() && message["id"] == id {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method} failed: {error}"));
                }
                return Ok(message["result"].take());
            }
        }
        Err(format!("the server ended before answering {method}"))
    }
}

async fn turn(scenario: Scenario, traffic_args: &[String]) -> Result<Turn, String> {
    let mut child = Command::new(FAKE_APP_SERVER)
        .arg("app-server")
        .args(traffic_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("cannot start {FAKE_APP_SERVER}: {err}"))?;
    let stdin = child.stdin.take().ok_or("the server has no stdin")?;
    let stdout = child.stdout.take().ok_or("the server has no stdout")?;
    let mut server = Conversation {
        stdin,
        lines: BufReader::with_capacity(64 * 1024, stdout).lines(),
    };

    let client_info = json!({"clientInfo": {"name": "baseline", "version": "0.1.0"}});
    server.call(1, "initialize", client_info).await?;
    server.send(&json!({"method": "initialized"})).await?;
    let cwd = std::env::temp_dir();
    let thread = server.call(2, "thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread["thread"]["id"].clone();

    let started = Instant::now();
    let input = json!([{"type": "text", "text": PROMPT}]);
    let params = json!({"threadId": thread_id, "input": input});
    server
        .send(&json!({"id": 3, "method": "turn/start", "params": params}))
        .await?;
    let mut turn = Turn {
        approvals_answered: Some(0),
        ..Turn::default()
    };
    let mut answered = 0;
    let consumer = scenario.consumer();
    let reading = async {
        while let Some(message) = server.next().await? {
            consumer.event().await;
            let params = &message["params"];
            match (message["method"].as_str(), message.get("id")) {
                (Some("item/commandExecution/requestApproval"), Some(id)) => {
                    let answer = json!({"id": id, "result": {"decision": "accept"}});
                    server.send(&answer).await?;
                    answered += 1;
                }
                (Some(method), Some(id)) => {
                    let error =
                        json!({"code": -32601, "message": format!("not handled: {method}")});
                    server.send(&json!({"id": id, "error": error})).await?;
                }
                (Some("item/agentMessage/delta"), None) => {
                    turn.text
                        .push_str(params["delta"].as_str().unwrap_or_default());
                }
                (Some("item/completed"), None) => {
                    let item = &params["item"];
                    if item["type"] == "commandExecution" && item["status"] == "completed" {
                        turn.commands_completed += 1;
                    }
                }
                (Some("turn/completed"), None) => {
                    let status = &params["turn"]["status"];
                    turn.completed = status == "completed";
                    turn.ending = Some(format!("status {status}"));
                    break;
                }
                (None, Some(id)) if *id == 3 => {
                    if let Some(error) = message.get("error") {
                        return Err(format!("turn/start failed: {error}"));
                    }
                    let turn_id = message["result"]["turn"]["id"].as_str();
                    turn.turn_id = turn_id.unwrap_or_default().to_owned();
                }
                _ => {}
            }
        }
        Ok(())
    };
    consumer.guard(reading).await?;
    turn.elapsed = started.elapsed();
    turn.approvals_answered = Some(answered);

    // End of input ends the server.
    drop(server);
    child
        .wait()
        .await
        .map_err(|err| format!("cannot wait for the server: {err}"))?;
    Ok(turn)
}
