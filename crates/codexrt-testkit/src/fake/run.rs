//! The script interpreter shared by the in-process and the stdio fake: it
//! plays the steps over a [`Wire`], records what the client sent in the
//! journal, and says how the run ended.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::journal::Journal;
use super::{FakeScript, Step, StepFailure};
use crate::Frame;

/// What the client did instead of sending a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// It closed its sending side (end of stdin).
    Eof,
    /// It shut the connection down (in process only).
    Shutdown,
    /// It dropped the connection (in process only), or stopped reading
    /// (a failed write).
    Dropped,
}

pub(crate) enum Next {
    Frame(Bytes),
    Gone(Gone),
    TimedOut,
}

/// How a run ended; each wire turns it into a close report or an exit.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The client went away after the script, during `hang_forever` or at
    /// `expect_close`.
    Closed(Gone),
    /// `exit`.
    Exit(u8),
    /// `kill`.
    Kill,
    /// `truncated`: write this partial frame, then exit with status 0.
    Truncated(Bytes),
    /// A step failed; `gone` when the failure is that the client went away.
    Failed {
        failure: StepFailure,
        gone: Option<Gone>,
    },
}

/// The medium a script is played over.
pub(crate) trait Wire {
    /// The client's next frame, or why there is none, or `TimedOut` at the
    /// deadline.
    async fn next(&mut self, deadline: Option<Instant>) -> Next;
    /// Writes one frame.
    async fn send(&mut self, frame: Bytes) -> Result<(), Gone>;
    /// Waits, unless the connection is torn down meanwhile.
    async fn sleep(&mut self, duration: Duration) -> Result<(), Gone>;
    /// After the client's end of input: waits until the connection is torn
    /// down, which over stdio only a signal does.
    async fn torn_down(&mut self) -> Gone;
    /// Writes to stderr.
    fn stderr(&mut self, text: &[u8]);
    /// Ignores SIGTERM from now on, where that means something.
    fn ignore_sigterm(&mut self);
}

/// Plays a script over a wire.
pub(crate) struct Runner<'a, W> {
    wire: W,
    journal: &'a Journal,
    default_timeout: Duration,
    /// Requests received and not yet answered, most recent last.
    waiting: Vec<Value>,
    /// The 1-based number of the step being played, and its description.
    step: (usize, String),
}

/// Whether to go on with the next step.
type Flow = Result<(), Ending>;

/// Whether the client going away is how the current step ends, or a
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Planned,
    Failure,
}

impl<'a, W: Wire> Runner<'a, W> {
    pub(crate) fn new(wire: W, journal: &'a Journal, script: &FakeScript) -> Runner<'a, W> {
        Runner {
            wire,
            journal,
            default_timeout: script.default_expect_timeout(),
            waiting: Vec::new(),
            step: (0, String::new()),
        }
    }

    /// Plays every step, then waits for the client to close; returns the
    /// wire and how the run ended. The journal is marked finished by the
    /// caller, once the ending is acted on.
    pub(crate) async fn run(mut self, steps: &[Step]) -> (W, Ending) {
        let ending = self.play(steps).await;
        if let Ending::Failed { failure, .. } = &ending {
            self.journal.log().failure = Some(failure.clone());
        }
        (self.wire, ending)
    }

    async fn play(&mut self, steps: &[Step]) -> Ending {
        for (index, step) in steps.iter().enumerate() {
            self.step = (index + 1, step.describe());
            if let Err(ending) = self.play_step(step).await {
                // `exit`, `kill`, `expect_close`, ... end the run by design:
                // they count as done.
                if !matches!(ending, Ending::Failed { .. }) {
                    self.journal.log().steps_completed += 1;
                }
                return ending;
            }
            self.journal.log().steps_completed += 1;
        }
        self.step = (steps.len() + 1, "end of script".to_owned());
        // After the script, the only thing the client may do is close.
        match self.receive(None, Closing::Planned).await {
            Ok(frame) => self.fail(format!(
                "the client sent {} after the end of the script",
                describe(&frame)
            )),
            Err(ending) => ending,
        }
    }

    async fn play_step(&mut self, step: &Step) -> Flow {
        match step {
            Step::Expect { method, timeout_ms } => self.expect(method, *timeout_ms).await,
            Step::Respond { result } => {
                let id = self.take_waiting()?;
                self.send_json(&json!({"id": id, "result": result})).await
            }
            Step::RespondError {
                code,
                message,
                data,
            } => {
                let id = self.take_waiting()?;
                let mut error = json!({"code": code, "message": message});
                if let Some(data) = data {
                    error["data"] = data.clone();
                }
                self.send_json(&json!({"id": id, "error": error})).await
            }
            Step::RespondTo { method, result } => {
                self.expect(method, None).await?;
                let id = self.take_waiting()?;
                self.send_json(&json!({"id": id, "result": result})).await
            }
            Step::Notify { method, params } => self.notify(method, params.as_ref()).await,
            Step::Request { id, method, params } => {
                let mut request = json!({"id": id, "method": method});
                if let Some(params) = params {
                    request["params"] = params.clone();
                }
                self.send_json(&request).await
            }
            Step::ExpectResponse { id, timeout_ms } => self.expect_response(id, *timeout_ms).await,
            Step::ExpectClose { timeout_ms } => {
                let frame = self
                    .receive(Some(self.timeout(*timeout_ms)), Closing::Planned)
                    .await?;
                Err(self.fail(format!(
                    "expected the client to close, got {}",
                    describe(&frame)
                )))
            }
            Step::Sleep { ms } => {
                let slept = self.wire.sleep(Duration::from_millis(*ms)).await;
                slept.map_err(|gone| self.gone(gone, Closing::Failure))
            }
            Step::Garbage { line } => self.send(Bytes::from(line.clone())).await,
            Step::Truncated { bytes } => {
                let id = self.take_waiting()?;
                let frame = json!({"id": id, "result": {}}).to_string();
                // Cut at least one byte, so that the frame is really partial.
                let keep = (*bytes).min(frame.len().saturating_sub(1));
                Err(Ending::Truncated(Bytes::from(frame).slice(..keep)))
            }
            Step::Reorder { earlier, later } => {
                let later_id = self.take_waiting()?;
                let earlier_id = self.take_waiting()?;
                self.send_json(&json!({"id": later_id, "result": later}))
                    .await?;
                self.send_json(&json!({"id": earlier_id, "result": earlier}))
                    .await
            }
            Step::DuplicateResponse { result } => {
                let id = self.take_waiting()?;
                let answer = json!({"id": id, "result": result});
                self.send_json(&answer).await?;
                self.send_json(&answer).await
            }
            Step::NotificationFlood { method, count } => {
                for n in 0..*count {
                    self.notify(method, Some(&json!({"n": n}))).await?;
                }
                Ok(())
            }
            Step::StderrFlood { bytes } => {
                stderr_flood(&mut self.wire, *bytes);
                Ok(())
            }
            Step::Exit { code } => Err(Ending::Exit(*code)),
            Step::Kill => Err(Ending::Kill),
            Step::IgnoreSigterm => {
                self.wire.ignore_sigterm();
                Ok(())
            }
            Step::HangForever => Err(self.hang().await),
        }
    }

    async fn expect(&mut self, method: &str, timeout_ms: Option<u64>) -> Flow {
        let frame = self
            .receive(Some(self.timeout(timeout_ms)), Closing::Failure)
            .await?;
        let message = frame.json();
        let got = message
            .and_then(|m| m.get("method"))
            .and_then(Value::as_str);
        if got != Some(method) {
            return Err(self.fail(format!("expected `{method}`, got {}", describe(&frame))));
        }
        if let Some(id) = message.and_then(|m| m.get("id")) {
            self.waiting.push(id.clone());
        }
        Ok(())
    }

    async fn expect_response(&mut self, id: &Value, timeout_ms: Option<u64>) -> Flow {
        let frame = self
            .receive(Some(self.timeout(timeout_ms)), Closing::Failure)
            .await?;
        let answers = frame.json().is_some_and(|message| {
            message.get("method").is_none()
                && message.get("id") == Some(id)
                && (message.get("result").is_some() || message.get("error").is_some())
        });
        if answers {
            Ok(())
        } else {
            Err(self.fail(format!(
                "expected the answer to request {id}, got {}",
                describe(&frame)
            )))
        }
    }

    /// Reads and records frames until the connection is torn down.
    async fn hang(&mut self) -> Ending {
        loop {
            match self.wire.next(None).await {
                Next::Frame(bytes) => {
                    if let Err(ending) = self.record(&bytes) {
                        return ending;
                    }
                }
                Next::Gone(Gone::Eof) => return Ending::Closed(self.wire.torn_down().await),
                Next::Gone(gone) => return Ending::Closed(gone),
                Next::TimedOut => {}
            }
        }
    }

    /// The client's next frame, recorded, waiting at most `wait`. The
    /// client going away ends the run either way.
    async fn receive(&mut self, wait: Option<Duration>, closing: Closing) -> Result<Frame, Ending> {
        let deadline = wait.map(|wait| Instant::now() + wait);
        match self.wire.next(deadline).await {
            Next::Frame(bytes) => self.record(&bytes),
            Next::Gone(gone) => Err(self.gone(gone, closing)),
            Next::TimedOut => Err(self.fail(format!(
                "nothing received within {} ms",
                wait.unwrap_or_default().as_millis()
            ))),
        }
    }

    fn record(&mut self, bytes: &[u8]) -> Result<Frame, Ending> {
        let frame = Frame::from_bytes(bytes);
        match self.journal.receive(frame.clone()) {
            Ok(()) => Ok(frame),
            Err(err) => Err(self.fail(format!("cannot write the record file: {err}"))),
        }
    }

    /// The ending for a client that went away during the current step.
    fn gone(&self, gone: Gone, closing: Closing) -> Ending {
        if closing == Closing::Planned {
            return Ending::Closed(gone);
        }
        let what = match gone {
            Gone::Eof => "closed its side of the connection",
            Gone::Shutdown => "shut the connection down",
            Gone::Dropped => "dropped the connection",
        };
        Ending::Failed {
            failure: self.failure(format!("the client {what}")),
            gone: Some(gone),
        }
    }

    fn fail(&self, message: String) -> Ending {
        Ending::Failed {
            failure: self.failure(message),
            gone: None,
        }
    }

    fn failure(&self, message: String) -> StepFailure {
        StepFailure {
            step: self.step.0,
            description: self.step.1.clone(),
            message,
        }
    }

    fn timeout(&self, timeout_ms: Option<u64>) -> Duration {
        timeout_ms.map_or(self.default_timeout, Duration::from_millis)
    }

    fn take_waiting(&mut self) -> Result<Value, Ending> {
        self.waiting
            .pop()
            .ok_or_else(|| self.fail("no request is waiting for an answer".to_owned()))
    }

    async fn notify(&mut self, method: &str, params: Option<&Value>) -> Flow {
        let mut notification = json!({"method": method, "emittedAtMs": now_ms()});
        if let Some(params) = params {
            notification["params"] = params.clone();
        }
        self.send_json(&notification).await
    }

    async fn send_json(&mut self, message: &Value) -> Flow {
        self.send(Bytes::from(message.to_string())).await
    }

    async fn send(&mut self, frame: Bytes) -> Flow {
        let sent = self.wire.send(frame).await;
        sent.map_err(|gone| self.gone(gone, Closing::Failure))
    }
}

/// Writes `total` bytes of numbered text lines to the wire's stderr, in
/// chunks of up to 64 KiB.
fn stderr_flood<W: Wire>(wire: &mut W, total: u64) {
    const CHUNK: usize = 64 * 1024;
    let mut written = 0_u64;
    let mut line_number = 0_u64;
    let mut chunk = Vec::with_capacity(CHUNK + 128);
    while written < total {
        chunk.clear();
        while chunk.len() < CHUNK && written + (chunk.len() as u64) < total {
            let _ = writeln!(chunk, "fake app-server stderr flood line {line_number}");
            line_number += 1;
        }
        let left = usize::try_from(total - written).unwrap_or(usize::MAX);
        chunk.truncate(left);
        wire.stderr(&chunk);
        written += chunk.len() as u64;
    }
}

/// Milliseconds since the Unix epoch, like codex's `emittedAtMs`.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A frame, described for a failure message.
pub(crate) fn describe(frame: &Frame) -> String {
    let text = match frame {
        Frame::Json(value) => value.to_string(),
        Frame::Raw(text) => format!("the non-JSON frame {text:?}"),
        Frame::TooLong { max_len } => format!("a frame longer than {max_len} bytes"),
    };
    let Some(message) = frame.json() else {
        return text;
    };
    let method = message.get("method").map(|method| match method.as_str() {
        Some(name) => format!("`{name}`"),
        None => method.to_string(),
    });
    let kind = match (method, message.get("id")) {
        (Some(method), Some(id)) => format!("request {method} (id {id})"),
        (Some(method), None) => format!("notification {method}"),
        (None, Some(id)) => format!("a response to id {id}"),
        (None, None) => "a message".to_owned(),
    };
    const MAX: usize = 200;
    if text.len() <= MAX {
        format!("{kind}: {text}")
    } else {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{kind}: {}…", &text[..cut])
    }
}
