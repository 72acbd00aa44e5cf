//! The lines a [`Traffic`](super::Traffic) server writes, in the shapes
//! codex 0.169.0 sends (see `tests/fixtures/0.169.0/`), formatted straight
//! into the output buffer: no JSON value is built per message, and a delta
//! costs three copies.

use std::io::{self, Write};

use serde_json::{Value, json};

/// The id of the `n`th thread (0-based): shaped like codex's UUIDv7 ids.
pub(super) fn thread_id(n: u64) -> String {
    format!("00000000-0000-7000-8000-{n:012x}")
}

const TURN_ID_PREFIX: &str = "00000000-0000-7000-9000-";

/// The id of the `n`th turn of the connection (0-based).
pub(super) fn turn_id(n: u64) -> String {
    format!("{TURN_ID_PREFIX}{n:012x}")
}

/// The number of the turn with this id, when [`turn_id`] made it.
pub(super) fn turn_number(id: &str) -> Option<u64> {
    let hex = id.strip_prefix(TURN_ID_PREFIX)?;
    u64::from_str_radix(hex, 16).ok()
}

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Fills `piece` with the lowest `piece.len()` base-36 digits of `value`,
/// most significant first: a fixed-width piece of text that needs no JSON
/// escaping and differs between neighbours, so a lost or reordered delta
/// changes the text.
pub(super) fn fill_piece(mut value: u64, piece: &mut [u8]) {
    for byte in piece.iter_mut().rev() {
        *byte = DIGITS[(value % 36) as usize];
        value /= 36;
    }
}

/// Writes the text of a streamed turn: `deltas` pieces of `bytes` bytes,
/// piece `i` made from `first + i`.
pub(super) fn write_text(
    out: &mut impl Write,
    first: u64,
    deltas: u64,
    bytes: usize,
) -> io::Result<()> {
    let mut piece = vec![0_u8; bytes];
    for index in 0..deltas {
        fill_piece(first.wrapping_add(index), &mut piece);
        out.write_all(&piece)?;
    }
    Ok(())
}

/// The answer to `thread/start`: the 0.169.0 shape, with this thread's id
/// and working directory.
pub(super) fn thread_start_result(thread_id: &str, cwd: &str, emitted_s: u64) -> Value {
    json!({
        "activePermissionProfile": {"extends": null, "id": ":read-only"},
        "approvalPolicy": "on-request",
        "approvalsReviewer": "user",
        "cwd": cwd,
        "disabledPluginIds": [],
        "instructionSources": [],
        "model": "fake-model",
        "modelProvider": "fake",
        "multiAgentMode": "explicitRequestOnly",
        "reasoningEffort": null,
        "runtimeWorkspaceRoots": [cwd],
        "sandbox": {"networkAccess": false, "type": "readOnly"},
        "serviceTier": null,
        "thread": thread(thread_id, cwd, emitted_s),
    })
}

/// The `thread/started` notification's params.
pub(super) fn thread_started_params(thread_id: &str, cwd: &str, emitted_s: u64) -> Value {
    json!({"thread": thread(thread_id, cwd, emitted_s)})
}

fn thread(thread_id: &str, cwd: &str, emitted_s: u64) -> Value {
    json!({
        "agentNickname": null,
        "agentRole": null,
        "attachedToThreadId": null,
        "canAcceptDirectInput": true,
        "cliVersion": "0.169.0",
        "createdAt": emitted_s,
        "cwd": cwd,
        "daybreakEnabled": null,
        "environments": [{"cwd": cwd, "environmentId": "local", "runtimeWorkspaceRoots": [cwd]}],
        "ephemeral": false,
        "extra": null,
        "forkedFromId": null,
        "gitInfo": null,
        "historyMode": "paginated",
        "id": thread_id,
        "model": "fake-model",
        "modelProvider": "fake",
        "name": null,
        "originator": "codexrt-testkit",
        "parentThreadId": null,
        "path": null,
        "preview": "",
        "projectId": null,
        "reasoningEffort": null,
        "recencyAt": emitted_s,
        "section": null,
        "sectionEnteredAt": null,
        "sessionId": thread_id,
        "source": "vscode",
        "status": {"type": "idle"},
        "threadSource": null,
        "turns": [],
        "updatedAt": emitted_s,
    })
}

/// The answer to `turn/start`.
pub(super) fn turn_start_result(turn_id: &str) -> Value {
    json!({
        "turn": {
            "completedAt": null,
            "durationMs": null,
            "error": null,
            "id": turn_id,
            "items": [],
            "itemsView": "notLoaded",
            "rootTurnId": turn_id,
            "startedAt": null,
            "status": "inProgress",
        }
    })
}

/// Everything the lines of one turn share, formatted once when the turn
/// starts.
#[derive(Debug)]
pub(super) struct TurnLines {
    /// The thread id, already quoted.
    thread: String,
    /// The turn id, already quoted.
    turn: String,
    /// The working directory as a JSON string.
    cwd: String,
    /// `emittedAtMs` of every line (codex stamps each with the current
    /// time; one stamp per turn keeps the lines pre-formatted).
    emitted_ms: u64,
    /// A delta line up to its text, and after it.
    delta_head: Vec<u8>,
    delta_tail: Vec<u8>,
}

impl TurnLines {
    pub(super) fn new(thread_id: &str, turn_id: &str, cwd: &str, emitted_ms: u64) -> TurnLines {
        let thread = json_string(thread_id);
        let turn = json_string(turn_id);
        let delta_head = format!(
            r#"{{"emittedAtMs":{emitted_ms},"method":"item/agentMessage/delta","params":{{"delta":""#
        )
        .into_bytes();
        let delta_tail =
            format!(r#"","itemId":"msg-0","threadId":{thread},"turnId":{turn}}}}}"#).into_bytes();
        TurnLines {
            thread,
            turn,
            cwd: json_string(cwd),
            emitted_ms,
            delta_head,
            delta_tail,
        }
    }

    fn emitted_s(&self) -> u64 {
        self.emitted_ms / 1000
    }

    /// `thread/status/changed`: active with no flags, active waiting on an
    /// approval, or idle.
    pub(super) fn status(&self, out: &mut impl Write, status: ThreadStatus) -> io::Result<()> {
        let status = match status {
            ThreadStatus::Active => r#"{"activeFlags":[],"type":"active"}"#,
            ThreadStatus::WaitingOnApproval => {
                r#"{"activeFlags":["waitingOnApproval"],"type":"active"}"#
            }
            ThreadStatus::Idle => r#"{"type":"idle"}"#,
        };
        writeln!(
            out,
            r#"{{"emittedAtMs":{},"method":"thread/status/changed","params":{{"status":{status},"threadId":{}}}}}"#,
            self.emitted_ms, self.thread
        )
    }

    pub(super) fn turn_started(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            r#"{{"emittedAtMs":{e},"method":"turn/started","params":{{"threadId":{t},"turn":{{"completedAt":null,"durationMs":null,"error":null,"id":{u},"items":[],"itemsView":"notLoaded","rootTurnId":{u},"startedAt":{s},"status":"inProgress"}}}}}}"#,
            e = self.emitted_ms,
            t = self.thread,
            u = self.turn,
            s = self.emitted_s(),
        )
    }

    /// `turn/completed`, with the agent message's final text in its items
    /// (codex's `summary` view) when there is one.
    pub(super) fn turn_completed(
        &self,
        out: &mut impl Write,
        message: Option<&Message>,
    ) -> io::Result<()> {
        write!(
            out,
            r#"{{"emittedAtMs":{e},"method":"turn/completed","params":{{"threadId":{t},"turn":{{"completedAt":{s},"durationMs":0,"error":null,"id":{u},"items":["#,
            e = self.emitted_ms,
            t = self.thread,
            u = self.turn,
            s = self.emitted_s(),
        )?;
        if let Some(message) = message {
            self.message_item(out, message)?;
        }
        writeln!(
            out,
            r#"],"itemsView":"summary","rootTurnId":{u},"startedAt":{s},"status":"completed"}}}}}}"#,
            u = self.turn,
            s = self.emitted_s(),
        )
    }

    pub(super) fn message_started(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            r#"{{"emittedAtMs":{e},"method":"item/started","params":{{"item":{{"completedAtMs":null,"delivery":null,"id":"msg-0","memoryCitation":null,"moderation":null,"phase":null,"questions":null,"startedAtMs":{e},"text":"","type":"agentMessage"}},"startedAtMs":{e},"threadId":{t},"turnId":{u}}}}}"#,
            e = self.emitted_ms,
            t = self.thread,
            u = self.turn,
        )
    }

    /// One `item/agentMessage/delta` with `piece` as its text.
    pub(super) fn delta(&self, out: &mut impl Write, piece: &[u8]) -> io::Result<()> {
        out.write_all(&self.delta_head)?;
        out.write_all(piece)?;
        out.write_all(&self.delta_tail)?;
        out.write_all(b"\n")
    }

    pub(super) fn message_completed(
        &self,
        out: &mut impl Write,
        message: &Message,
    ) -> io::Result<()> {
        write!(
            out,
            r#"{{"emittedAtMs":{e},"method":"item/completed","params":{{"completedAtMs":{e},"contentTokenCount":null,"item":"#,
            e = self.emitted_ms,
        )?;
        self.message_item(out, message)?;
        writeln!(
            out,
            r#","threadId":{t},"turnId":{u}}}}}"#,
            t = self.thread,
            u = self.turn,
        )
    }

    fn message_item(&self, out: &mut impl Write, message: &Message) -> io::Result<()> {
        write!(
            out,
            r#"{{"completedAtMs":{e},"delivery":null,"id":"msg-0","memoryCitation":null,"moderation":null,"phase":null,"questions":null,"startedAtMs":{e},"text":""#,
            e = self.emitted_ms,
        )?;
        if message.full_text {
            write_text(out, message.first, message.deltas, message.bytes)?;
        }
        out.write_all(br#"","type":"agentMessage"}"#)
    }

    /// `item/started` of the command that approval `k` is about.
    pub(super) fn command_started(&self, out: &mut impl Write, k: u64) -> io::Result<()> {
        writeln!(
            out,
            r#"{{"emittedAtMs":{e},"method":"item/started","params":{{"item":{{"aggregatedOutput":null,"command":"/bin/bash -lc 'touch approved-{k}.txt'","commandActions":[{{"command":"touch approved-{k}.txt","type":"unknown"}}],"completedAtMs":null,"cwd":{c},"durationMs":null,"exitCode":null,"id":"call-{k}","pluginId":null,"processId":null,"scriptPath":null,"source":"agent","startedAtMs":{e},"status":"inProgress","type":"commandExecution"}},"startedAtMs":{e},"threadId":{t},"turnId":{u}}}}}"#,
            e = self.emitted_ms,
            c = self.cwd,
            t = self.thread,
            u = self.turn,
        )
    }

    /// The server request `item/commandExecution/requestApproval` with id
    /// `request` for command `k`.
    pub(super) fn approval_request(
        &self,
        out: &mut impl Write,
        request: u64,
        k: u64,
    ) -> io::Result<()> {
        writeln!(
            out,
            r#"{{"id":{request},"method":"item/commandExecution/requestApproval","params":{{"availableDecisions":["accept",{{"acceptWithExecpolicyAmendment":{{"execpolicy_amendment":["touch","approved-{k}.txt"]}}}},"cancel"],"command":"/bin/bash -lc 'touch approved-{k}.txt'","commandActions":[{{"command":"touch approved-{k}.txt","type":"unknown"}}],"cwd":{c},"environmentId":"local","itemId":"call-{k}","kind":"command","proposedExecpolicyAmendment":["touch","approved-{k}.txt"],"startedAtMs":{e},"threadId":{t},"turnId":{u}}}}}"#,
            e = self.emitted_ms,
            c = self.cwd,
            t = self.thread,
            u = self.turn,
        )
    }

    /// `serverRequest/resolved` for the request with id `request`.
    pub(super) fn resolved(&self, out: &mut impl Write, request: u64) -> io::Result<()> {
        writeln!(
            out,
            r#"{{"emittedAtMs":{e},"method":"serverRequest/resolved","params":{{"requestId":{request},"threadId":{t}}}}}"#,
            e = self.emitted_ms,
            t = self.thread,
        )
    }

    /// `item/completed` of command `k`: ran and exited 0 when accepted,
    /// `declined` otherwise.
    pub(super) fn command_completed(
        &self,
        out: &mut impl Write,
        k: u64,
        accepted: bool,
    ) -> io::Result<()> {
        let (duration, exit_code, process, status) = if accepted {
            ("0", "0", r#""4242""#, "completed")
        } else {
            ("null", "null", "null", "declined")
        };
        writeln!(
            out,
            r#"{{"emittedAtMs":{e},"method":"item/completed","params":{{"completedAtMs":{e},"contentTokenCount":null,"item":{{"aggregatedOutput":null,"command":"/bin/bash -lc 'touch approved-{k}.txt'","commandActions":[{{"command":"touch approved-{k}.txt","type":"unknown"}}],"completedAtMs":{e},"cwd":{c},"durationMs":{duration},"exitCode":{exit_code},"id":"call-{k}","pluginId":null,"processId":{process},"scriptPath":null,"source":"unifiedExecStartup","startedAtMs":{e},"status":"{status}","type":"commandExecution"}},"threadId":{t},"turnId":{u}}}}}"#,
            e = self.emitted_ms,
            c = self.cwd,
            t = self.thread,
            u = self.turn,
        )
    }
}

/// What `thread/status/changed` says.
#[derive(Debug, Clone, Copy)]
pub(super) enum ThreadStatus {
    Active,
    WaitingOnApproval,
    Idle,
}

/// The streamed agent message of a turn, for the lines that carry its
/// final text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Message {
    /// The number piece 0 is made from.
    pub(super) first: u64,
    pub(super) deltas: u64,
    pub(super) bytes: usize,
    /// Whether `item/completed` and `turn/completed` carry the text, or an
    /// empty one.
    pub(super) full_text: bool,
}

fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}
