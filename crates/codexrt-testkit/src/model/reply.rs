//! [`Reply`]: what the scripted model answers to one request.

use std::time::Duration;

use serde_json::Value;

/// The answer to one model request (one `POST /v1/responses`): a streamed
/// assistant message, a tool call, an HTTP failure, or raw events.
///
/// Streamed replies are sent as `text/event-stream`, each event as
/// `event: TYPE\ndata: JSON\n\n` where the JSON carries `"type": TYPE` too.
/// The ids in the events are derived from the request's index `n` (0 for the
/// first model request the server sees): response `resp-n`, message item
/// `msg-n`, tool call `call-n`.
///
/// ```
/// use std::time::Duration;
/// use codexrt_testkit::Reply;
/// use serde_json::json;
///
/// let replies = [
///     Reply::message("Hello from the script").deltas(5),
///     Reply::exec_command("touch created.txt"),
///     Reply::tool_call("lookup", json!({"key": "answer"})).call_id("call-lookup"),
///     Reply::tool_call("ask_color", json!({})).namespace("mcp__x"),
///     Reply::message("slow").stall_after(1, Duration::MAX),
///     Reply::fail(500),
/// ];
/// # let _ = replies;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a reply does nothing until it is put in a script"]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) usage: Usage,
    pub(crate) stall: Option<Stall>,
}

/// What kind of answer a [`Reply`] gives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyKind {
    Message {
        text: String,
        deltas: usize,
    },
    ToolCall {
        name: String,
        /// The arguments as the JSON text the model "wrote".
        arguments: String,
        call_id: Option<String>,
        namespace: Option<String>,
    },
    Fail {
        status: u16,
        body: String,
    },
    Events(Vec<(String, Value)>),
}

/// Token counts reported in `response.completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
}

/// A pause in the stream: after `after` units (deltas of a message, events
/// otherwise), wait `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stall {
    pub(crate) after: usize,
    pub(crate) duration: Duration,
}

/// How many deltas a message is cut into unless [`Reply::deltas`] says
/// otherwise: more than one, so that tests see deltas being joined.
const DEFAULT_DELTAS: usize = 3;

const DEFAULT_USAGE: Usage = Usage {
    input_tokens: 16,
    output_tokens: 8,
};

impl Reply {
    fn new(kind: ReplyKind) -> Reply {
        Reply {
            kind,
            usage: DEFAULT_USAGE,
            stall: None,
        }
    }

    /// An assistant message with `text`, streamed as
    /// `response.created`, `response.output_item.added`, the
    /// `response.output_text.delta` events, `response.output_item.done`
    /// (with the whole text) and `response.completed`.
    pub fn message(text: impl Into<String>) -> Reply {
        Reply::new(ReplyKind::Message {
            text: text.into(),
            deltas: DEFAULT_DELTAS,
        })
    }

    /// A call of the function tool `name` with `arguments` (serialized to
    /// the JSON text the model sends): `response.created`,
    /// `response.output_item.done` with a `function_call` item, and
    /// `response.completed`. codex answers the tool and then sends another
    /// request whose `input` ends with the `function_call_output`.
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Reply {
        Reply::new(ReplyKind::ToolCall {
            name: name.into(),
            arguments: arguments.to_string(),
            call_id: None,
            namespace: None,
        })
    }

    /// A call of codex's `exec_command` tool that runs `cmd` in the thread's
    /// working directory: [`tool_call`](Reply::tool_call)`("exec_command",
    /// {"cmd": cmd})`. Under the `untrusted` approval policy codex asks the
    /// client for approval first (`item/commandExecution/requestApproval`).
    pub fn exec_command(cmd: impl Into<String>) -> Reply {
        Reply::tool_call("exec_command", serde_json::json!({ "cmd": cmd.into() }))
    }

    /// An HTTP failure with `status` and a JSON error body
    /// (`{"error":{"message":..,"type":"server_error"}}`). A status outside
    /// 200–999 is answered with 500 and recorded as a
    /// [`ScriptError::InvalidReply`](crate::ScriptError::InvalidReply).
    pub fn fail(status: u16) -> Reply {
        let body = serde_json::json!({
            "error": {
                "message": format!("scripted failure (HTTP {status})"),
                "type": "server_error",
            }
        });
        Reply::fail_with_body(status, body.to_string())
    }

    /// An HTTP answer with `status` and exactly `body`, sent as
    /// `application/json` (statuses as for [`fail`](Reply::fail)); with 200
    /// it tests how codex takes a response that is not an event stream.
    pub fn fail_with_body(status: u16, body: impl Into<String>) -> Reply {
        Reply::new(ReplyKind::Fail {
            status,
            body: body.into(),
        })
    }

    /// Exactly these events, in order, and nothing else: each `(type, data)`
    /// is sent as `event: type` with `data` as its JSON, where a `data`
    /// object without a `"type"` member gets one. For sequences the other
    /// constructors do not cover (reasoning items, several items in one
    /// response, a stream that ends without `response.completed`, ...).
    pub fn raw_events<I, S>(events: I) -> Reply
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Reply::new(ReplyKind::Events(
            events
                .into_iter()
                .map(|(kind, data)| (kind.into(), data))
                .collect(),
        ))
    }

    /// For a [`message`](Reply::message): how many
    /// `response.output_text.delta` events carry the text, cut into pieces of
    /// (nearly) equal length on character boundaries; never more than the
    /// text has characters, and none for an empty text. Default: 3. Ignored
    /// by other replies.
    pub fn deltas(mut self, count: usize) -> Reply {
        if let ReplyKind::Message { deltas, .. } = &mut self.kind {
            *deltas = count;
        }
        self
    }

    /// For a [`tool_call`](Reply::tool_call): the `call_id` of the call.
    /// Default: `call-n`, `n` being the request's index. Ignored by other
    /// replies.
    pub fn call_id(mut self, id: impl Into<String>) -> Reply {
        if let ReplyKind::ToolCall { call_id, .. } = &mut self.kind {
            *call_id = Some(id.into());
        }
        self
    }

    /// For a [`tool_call`](Reply::tool_call): the `namespace` member of the
    /// `function_call` item, for a tool codex offers inside a namespace
    /// tool. codex 0.150–0.169 offers the tools of the MCP server `NAME` in
    /// the namespace `mcp__NAME`, and runs `ask` of server `x` only when
    /// called as `tool_call("ask", ..).namespace("mcp__x")`. Default: no
    /// namespace. Ignored by other replies.
    pub fn namespace(mut self, name: impl Into<String>) -> Reply {
        if let ReplyKind::ToolCall { namespace, .. } = &mut self.kind {
            *namespace = Some(name.into());
        }
        self
    }

    /// The token counts reported in `response.completed` (the total is their
    /// sum). Default: 16 input and 8 output tokens. Ignored by
    /// [`fail`](Reply::fail) and [`raw_events`](Reply::raw_events).
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Reply {
        self.usage = Usage {
            input_tokens,
            output_tokens,
        };
        self
    }

    /// Pauses the stream for `duration` after `count` deltas of a message
    /// (0: before the first delta, right after `response.output_item.added`;
    /// more than there are: after the last delta, before
    /// `response.output_item.done`), or after `count` events of other
    /// streamed replies (more than there are: after the last event, with the
    /// response still open); the rest follows after the pause.
    /// `Duration::MAX` stalls until codex disconnects (for example after
    /// `turn/interrupt`) or the server stops. Default: no pause. Ignored by
    /// [`fail`](Reply::fail).
    pub fn stall_after(mut self, count: usize, duration: Duration) -> Reply {
        self.stall = Some(Stall {
            after: count,
            duration,
        });
        self
    }
}
