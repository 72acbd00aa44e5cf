//! `mcp-elicit-server`: a tiny MCP server over stdio (one JSON-RPC 2.0
//! message per line) whose only tool asks its client for input through an
//! elicitation, so that tests can make `codex app-server` send its client
//! `mcpServer/elicitation/request`.
//!
//! ```text
//! initialize                 answered with the client's protocolVersion and the tools capability
//! notifications/initialized  and any other notification: ignored
//! ping                       answered with {}
//! tools/list                 one tool, `ask_color`, with no arguments
//! tools/call ask_color       sends the client `elicitation/create` (form mode, one string
//!                            property `color`), waits for its answer, then answers the call with
//!                            one text item `action=<action> content=<content as JSON>`
//! anything else              error -32601 (method not found)
//! ```
//!
//! Requests that arrive while an elicitation is outstanding are answered as
//! usual; the pending call is answered when the elicitation's answer comes.
//! It exits 0 at the end of stdin and 1, with a message on stderr, on a
//! line that is not a JSON object.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use serde_json::{Value, json};

/// The tool's name, as codex lists it inside the namespace `mcp__<server>`.
const TOOL: &str = "ask_color";

/// What the elicitation asks, as the client sees it in `message`.
const QUESTION: &str = "What is your favourite color?";

fn main() -> ExitCode {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    match serve(stdin.lock(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // codex logs an MCP server's stderr; the reason is there.
            let _ = writeln!(io::stderr(), "mcp-elicit-server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The server's state between lines: the tool calls waiting for the answer
/// of an elicitation, keyed by the elicitation's request id.
struct Server {
    next_id: u64,
    waiting: HashMap<String, Value>,
}

fn serve(input: impl BufRead, out: &mut impl Write) -> io::Result<()> {
    let mut server = Server {
        next_id: 0,
        waiting: HashMap::new(),
    };
    for line in input.lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let message: Value = serde_json::from_str(line).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad line {line:?}: {err}"),
            )
        })?;
        if !message.is_object() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a JSON object: {line:?}"),
            ));
        }
        for reply in server.handle(&message) {
            writeln!(out, "{reply}")?;
        }
        out.flush()?;
    }
    Ok(())
}

impl Server {
    /// The messages to send in reaction to `message`.
    fn handle(&mut self, message: &Value) -> Vec<Value> {
        let id = message.get("id").cloned();
        let method = message.get("method").and_then(Value::as_str);
        match (method, id) {
            (Some(method), Some(id)) => vec![self.request(method, id, message.get("params"))],
            // A notification: `notifications/initialized`, cancellations, ...
            (Some(_), None) => Vec::new(),
            // An answer to one of our elicitations.
            (None, Some(id)) => self.answered(&id, message).into_iter().collect(),
            (None, None) => Vec::new(),
        }
    }

    fn request(&mut self, method: &str, id: Value, params: Option<&Value>) -> Value {
        match method {
            "initialize" => {
                let version = params
                    .and_then(|params| params.get("protocolVersion"))
                    .cloned()
                    .unwrap_or_else(|| json!("2025-06-18"));
                result(
                    id,
                    json!({
                        "protocolVersion": version,
                        "capabilities": { "tools": {} },
                        "serverInfo": { "name": "mcp-elicit-server", "version": "0.1.0" },
                    }),
                )
            }
            "ping" => result(id, json!({})),
            "tools/list" => result(
                id,
                json!({
                    "tools": [{
                        "name": TOOL,
                        "description": "Ask the user for their favourite color.",
                        "inputSchema": { "type": "object", "properties": {} },
                    }],
                }),
            ),
            "tools/call" => {
                let name = params.and_then(|params| params.get("name"));
                if name.and_then(Value::as_str) != Some(TOOL) {
                    return error(id, -32602, &format!("unknown tool {name:?}"));
                }
                self.elicit(id)
            }
            _ => error(id, -32601, &format!("method not found: {method}")),
        }
    }

    /// Sends `elicitation/create` and remembers the call `call_id` it is for.
    fn elicit(&mut self, call_id: Value) -> Value {
        let id = format!("elicit-{}", self.next_id);
        self.next_id += 1;
        self.waiting.insert(id.clone(), call_id);
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "elicitation/create",
            "params": {
                "message": QUESTION,
                "requestedSchema": {
                    "type": "object",
                    "properties": { "color": { "type": "string", "description": "A color" } },
                    "required": ["color"],
                },
            },
        })
    }

    /// The answer to the tool call waiting for the elicitation `id`, if any.
    fn answered(&mut self, id: &Value, message: &Value) -> Option<Value> {
        let call_id = self.waiting.remove(id.as_str()?)?;
        let text = match message.get("result") {
            Some(answer) => {
                let action = answer.get("action").and_then(Value::as_str).unwrap_or("?");
                let content = answer.get("content").cloned().unwrap_or(Value::Null);
                format!("action={action} content={content}")
            }
            None => format!(
                "elicitation failed: {}",
                message.get("error").cloned().unwrap_or(Value::Null)
            ),
        };
        Some(result(
            call_id,
            json!({ "content": [{ "type": "text", "text": text }] }),
        ))
    }
}

fn result(id: Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}
