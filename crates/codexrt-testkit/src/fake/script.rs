//! [`FakeScript`] and its [`Step`]s: what a fake app-server does, in order,
//! as data that round-trips through JSON.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Handshake;
use crate::TestkitError;

/// How long an [`Expect`](Step::Expect)-like step waits for the client when
/// the script does not say otherwise.
pub const DEFAULT_EXPECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a fake app-server does, step by step. Serializable, so that the same
/// script can drive an in-process [`FakeServer`](super::FakeServer) or a
/// child process running [`run_stdio`](super::run_stdio).
///
/// In JSON, a script is `{"expect_timeout_ms": 10000, "steps": [...]}` and
/// each step an object tagged with `"step"`:
/// `{"step":"respond_to","method":"thread/start","result":{...}}`.
///
/// ```
/// use codexrt_testkit::fake::{FakeScript, Handshake, Step};
/// use serde_json::json;
///
/// let script = FakeScript::new()
///     .handshake(Handshake::new().version("0.150.0"))
///     .step(Step::respond_to("thread/start", json!({"thread": {"id": "t1"}})))
///     .step(Step::notify("thread/started", json!({"thread": {"id": "t1"}})));
/// let text = script.to_json();
/// assert_eq!(FakeScript::from_json(&text)?, script);
/// # Ok::<(), serde_json::Error>(())
/// ```
// Unknown members are refused, so that a misspelt `timeout_ms` in a
// hand-written script is an error rather than a silent default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use = "a script does nothing until a fake server runs it"]
pub struct FakeScript {
    #[serde(default = "default_expect_timeout_ms")]
    expect_timeout_ms: u64,
    #[serde(default)]
    steps: Vec<Step>,
}

fn default_expect_timeout_ms() -> u64 {
    millis(DEFAULT_EXPECT_TIMEOUT)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Default for FakeScript {
    fn default() -> FakeScript {
        FakeScript::new()
    }
}

impl FakeScript {
    /// An empty script: the fake waits for the client to close.
    pub fn new() -> FakeScript {
        FakeScript {
            expect_timeout_ms: default_expect_timeout_ms(),
            steps: Vec::new(),
        }
    }

    /// Appends a step.
    pub fn step(mut self, step: Step) -> FakeScript {
        self.steps.push(step);
        self
    }

    /// Appends several steps.
    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> FakeScript {
        self.steps.extend(steps);
        self
    }

    /// Appends the steps of a handshake.
    pub fn handshake(self, handshake: Handshake) -> FakeScript {
        self.steps(handshake.steps())
    }

    /// How long a step that waits for the client waits when it sets no
    /// timeout of its own. Default: [`DEFAULT_EXPECT_TIMEOUT`] (10 s).
    pub fn expect_timeout(mut self, timeout: Duration) -> FakeScript {
        self.expect_timeout_ms = millis(timeout);
        self
    }

    /// The steps, in order.
    pub fn step_list(&self) -> &[Step] {
        &self.steps
    }

    /// The default wait of steps that wait for the client.
    pub fn default_expect_timeout(&self) -> Duration {
        Duration::from_millis(self.expect_timeout_ms)
    }

    /// Parses a script from JSON.
    ///
    /// # Errors
    /// The parser's error.
    pub fn from_json(text: &str) -> Result<FakeScript, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The script as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // A script holds only strings, numbers and `Value`s: serializing it
        // cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a script from a JSON file.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the file cannot be read,
    /// [`TestkitError::FakeScript`] when it is not a script.
    pub fn load(path: impl AsRef<Path>) -> Result<FakeScript, TestkitError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| TestkitError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        FakeScript::from_json(&text).map_err(|source| TestkitError::FakeScript {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes the script to a JSON file, replacing it.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TestkitError> {
        let path = path.as_ref();
        fs::write(path, self.to_json()).map_err(|source| TestkitError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    }
}

/// One step of a [`FakeScript`].
///
/// Requests the fake is waiting to answer form a stack: [`Expect`](Step::Expect)
/// pushes the request it received, and the answering steps take the most
/// recent one (the request expected last). Two `Expect`s followed by two
/// `Respond`s therefore answer in reverse order.
///
/// Steps that wait for the client fail the script when something else
/// arrives, when the client closes, or after their timeout; so does a step
/// that needs a request when none is waiting. The first failure ends the run
/// (see [`FakeServer`](super::FakeServer) and [`run_stdio`](super::run_stdio)
/// for how it is reported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Step {
    /// Waits for the client's next message and checks that it is a request
    /// or notification with this method; a request is remembered for the
    /// answering steps.
    Expect {
        /// The method expected.
        method: String,
        /// How long to wait, in milliseconds; default: the script's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Answers the most recently expected request with a result.
    Respond {
        /// The result.
        result: Value,
    },
    /// Answers the most recently expected request with an error.
    RespondError {
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
        /// The error data, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Value>,
    },
    /// [`Expect`](Step::Expect) followed by [`Respond`](Step::Respond).
    RespondTo {
        /// The method expected.
        method: String,
        /// The result.
        result: Value,
    },
    /// Sends a notification, with an `emittedAtMs` member (the current time)
    /// beside `method` and `params` as codex does.
    Notify {
        /// The method.
        method: String,
        /// The params; left out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<Value>,
    },
    /// Sends a request of the server's own.
    Request {
        /// The request id (codex counts from 0).
        id: Value,
        /// The method.
        method: String,
        /// The params; left out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<Value>,
    },
    /// Waits for the client's answer to the server request with this id.
    ExpectResponse {
        /// The id of the server request.
        id: Value,
        /// How long to wait, in milliseconds; default: the script's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Waits for the client to close the connection; the run ends there.
    ExpectClose {
        /// How long to wait, in milliseconds; default: the script's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Does nothing for a while; client messages wait in the queue.
    Sleep {
        /// How long, in milliseconds.
        ms: u64,
    },
    /// Writes a line that is not JSON.
    Garbage {
        /// The line, without its newline.
        line: String,
    },
    /// Writes only the first `bytes` bytes of the answer to the most recently
    /// expected request (`{"id":..,"result":{}}`, cut one byte short at
    /// most), with no newline, then ends like a process that exits with
    /// status 0.
    Truncated {
        /// How many bytes of the frame to write.
        bytes: usize,
    },
    /// Answers the two most recently expected requests out of order: the
    /// later one first.
    Reorder {
        /// The result for the request expected first.
        earlier: Value,
        /// The result for the request expected second (sent first).
        later: Value,
    },
    /// Answers the most recently expected request twice with the same
    /// result.
    DuplicateResponse {
        /// The result, sent twice.
        result: Value,
    },
    /// Sends `count` notifications `{"method":..,"params":{"n":i}}`, `i`
    /// counting from 0, as fast as the client takes them.
    NotificationFlood {
        /// The method.
        method: String,
        /// How many.
        count: u64,
    },
    /// Writes `bytes` bytes of text lines to stderr (in process: to the
    /// stderr tail of the close report, which keeps the last 64 KiB).
    StderrFlood {
        /// How many bytes.
        bytes: u64,
    },
    /// Ends like a process exiting with this status.
    Exit {
        /// The exit status.
        code: u8,
    },
    /// Ends like a process killed with SIGKILL (over stdio it really is).
    Kill,
    /// Ignores SIGTERM from here on (over stdio; in process it does nothing).
    IgnoreSigterm,
    /// Stops answering: client messages are still read and recorded, but the
    /// fake never writes or exits again, even when the client closes its
    /// side (in process: until the connection is shut down or dropped).
    HangForever,
}

impl Step {
    /// [`Step::Expect`] with the script's timeout.
    pub fn expect(method: impl Into<String>) -> Step {
        Step::Expect {
            method: method.into(),
            timeout_ms: None,
        }
    }

    /// [`Step::Respond`].
    pub fn respond(result: Value) -> Step {
        Step::Respond { result }
    }

    /// [`Step::RespondError`] without data.
    pub fn respond_error(code: i64, message: impl Into<String>) -> Step {
        Step::RespondError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// [`Step::RespondTo`].
    pub fn respond_to(method: impl Into<String>, result: Value) -> Step {
        Step::RespondTo {
            method: method.into(),
            result,
        }
    }

    /// [`Step::Notify`] with params.
    pub fn notify(method: impl Into<String>, params: Value) -> Step {
        Step::Notify {
            method: method.into(),
            params: Some(params),
        }
    }

    /// [`Step::Request`] with params.
    pub fn request(id: impl Into<Value>, method: impl Into<String>, params: Value) -> Step {
        Step::Request {
            id: id.into(),
            method: method.into(),
            params: Some(params),
        }
    }

    /// [`Step::ExpectResponse`] with the script's timeout.
    pub fn expect_response(id: impl Into<Value>) -> Step {
        Step::ExpectResponse {
            id: id.into(),
            timeout_ms: None,
        }
    }

    /// [`Step::ExpectClose`] with the script's timeout.
    pub fn expect_close() -> Step {
        Step::ExpectClose { timeout_ms: None }
    }

    /// [`Step::Sleep`].
    pub fn sleep(duration: Duration) -> Step {
        Step::Sleep {
            ms: millis(duration),
        }
    }

    /// A short description for failure messages: `expect \`initialize\``.
    pub(crate) fn describe(&self) -> String {
        match self {
            Step::Expect { method, .. } => format!("expect `{method}`"),
            Step::Respond { .. } => "respond".to_owned(),
            Step::RespondError { .. } => "respond_error".to_owned(),
            Step::RespondTo { method, .. } => format!("respond_to `{method}`"),
            Step::Notify { method, .. } => format!("notify `{method}`"),
            Step::Request { method, id, .. } => format!("request `{method}` (id {id})"),
            Step::ExpectResponse { id, .. } => format!("expect_response (id {id})"),
            Step::ExpectClose { .. } => "expect_close".to_owned(),
            Step::Sleep { ms } => format!("sleep {ms} ms"),
            Step::Garbage { .. } => "garbage".to_owned(),
            Step::Truncated { .. } => "truncated".to_owned(),
            Step::Reorder { .. } => "reorder".to_owned(),
            Step::DuplicateResponse { .. } => "duplicate_response".to_owned(),
            Step::NotificationFlood { method, count } => {
                format!("notification_flood `{method}` x{count}")
            }
            Step::StderrFlood { bytes } => format!("stderr_flood {bytes} bytes"),
            Step::Exit { code } => format!("exit {code}"),
            Step::Kill => "kill".to_owned(),
            Step::IgnoreSigterm => "ignore_sigterm".to_owned(),
            Step::HangForever => "hang_forever".to_owned(),
        }
    }
}
