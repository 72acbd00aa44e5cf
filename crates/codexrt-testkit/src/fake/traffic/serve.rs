//! The traffic server's loop: a thread turns input lines into messages, and
//! the calling thread answers them and plays every running turn a few lines
//! at a time, round robin, into one buffered writer.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::lines::{self, Message, ThreadStatus, TurnLines};
use super::{Kind, Traffic, TrafficReport};

/// Deltas a turn writes before the next turn's turn: small enough that
/// concurrent turns interleave finely, large enough that the loop costs
/// little next to the copies.
const DELTAS_PER_ROUND: u64 = 8;

/// What the client sent, as far as the server cares.
enum Inbound {
    Request {
        /// The id as JSON text, to echo in the answer.
        id: String,
        method: String,
        params: Value,
    },
    /// The answer to a request of ours with a numeric id.
    Answer { id: u64, accepted: bool },
    /// A notification (`initialized`), or anything else that needs no reply.
    Other,
}

fn classify(line: &[u8]) -> Inbound {
    let Ok(mut message) = serde_json::from_slice::<Value>(line) else {
        return Inbound::Other;
    };
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (method, message.get("id")) {
        (Some(method), Some(id)) => Inbound::Request {
            id: id.to_string(),
            method,
            params: message
                .get_mut("params")
                .map(Value::take)
                .unwrap_or_default(),
        },
        (None, Some(id)) => match id.as_u64() {
            Some(id) => Inbound::Answer {
                id,
                accepted: message["result"]["decision"] == "accept",
            },
            None => Inbound::Other,
        },
        _ => Inbound::Other,
    }
}

/// Reads `input` line by line on a thread of its own (a blocking read cannot
/// be interrupted, so it must not hold up the writer) until it ends.
fn spawn_reader<R: Read + Send + 'static>(input: R) -> io::Result<Receiver<Inbound>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("traffic-stdin".to_owned())
        .spawn(move || {
            let mut input = BufReader::with_capacity(64 * 1024, input);
            let mut line = Vec::new();
            loop {
                line.clear();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if sender.send(classify(&line)).is_err() {
                    return;
                }
            }
        })?;
    Ok(receiver)
}

/// Where a turn is.
#[derive(Debug, Clone, Copy)]
enum Step {
    Open,
    /// Streaming: the next delta to write.
    Delta(u64),
    /// Asking approval `k`.
    Ask(u64),
    /// Waiting for the answer to approval `k`, sent with this request id.
    Waiting {
        k: u64,
        request: u64,
    },
    Answered {
        k: u64,
        request: u64,
        accepted: bool,
    },
    Close,
}

struct Turn {
    lines: TurnLines,
    step: Step,
    message: Option<Message>,
}

impl Turn {
    /// Takes the client's answer to the approval the turn waits for.
    fn answered(&mut self, accepted: bool) {
        if let Step::Waiting { k, request } = self.step {
            self.step = Step::Answered {
                k,
                request,
                accepted,
            };
        }
    }
}

enum Progress {
    Running,
    Waiting(u64),
    Done,
}

pub(super) struct Server<'t, W: Write> {
    traffic: &'t Traffic,
    out: W,
    /// The working directory of each thread, by id.
    threads: HashMap<String, String>,
    turns: Vec<Option<Turn>>,
    /// Turns that can write, in the order they get to.
    ready: VecDeque<usize>,
    /// Turns waiting for the answer to a request of ours, by request id.
    waiting: HashMap<u64, usize>,
    /// Answers to requests not sent yet: a test may feed all its input at
    /// once.
    early: HashMap<u64, bool>,
    next_request: u64,
    report: TrafficReport,
}

impl<'t, W: Write> Server<'t, W> {
    pub(super) fn new(traffic: &'t Traffic, out: W) -> Self {
        Server {
            traffic,
            out,
            threads: HashMap::new(),
            turns: Vec::new(),
            ready: VecDeque::new(),
            waiting: HashMap::new(),
            early: HashMap::new(),
            next_request: 0,
            report: TrafficReport::default(),
        }
    }

    pub(super) fn run<R: Read + Send + 'static>(mut self, input: R) -> io::Result<TrafficReport> {
        let inbound = spawn_reader(input)?;
        match self.serve(&inbound) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => self.report.client_gone = true,
            Err(err) => return Err(err),
        }
        Ok(self.report)
    }

    fn serve(&mut self, inbound: &Receiver<Inbound>) -> io::Result<()> {
        let mut input_open = true;
        loop {
            // Input first: an answer lets a turn go on, a request starts one.
            while input_open {
                match inbound.try_recv() {
                    Ok(message) => self.handle(message)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => input_open = false,
                }
            }
            if let Some(index) = self.ready.pop_front() {
                self.advance(index)?;
                continue;
            }
            self.out.flush()?;
            if !input_open {
                // Nothing can move any more: what still waits for an
                // answer never gets one.
                return Ok(());
            }
            match inbound.recv() {
                Ok(message) => self.handle(message)?,
                Err(_) => input_open = false,
            }
        }
    }

    fn handle(&mut self, message: Inbound) -> io::Result<()> {
        match message {
            Inbound::Request { id, method, params } => self.answer(&id, &method, &params),
            Inbound::Answer { id, accepted } => {
                match self.waiting.remove(&id) {
                    Some(index) => {
                        if let Some(turn) = self.turns[index].as_mut() {
                            turn.answered(accepted);
                        }
                        self.ready.push_back(index);
                    }
                    None => {
                        self.early.insert(id, accepted);
                    }
                }
                Ok(())
            }
            Inbound::Other => Ok(()),
        }
    }

    fn answer(&mut self, id: &str, method: &str, params: &Value) -> io::Result<()> {
        let now = now_ms();
        match method {
            "initialize" => self.respond(id, &self.traffic.handshake.initialize_result()),
            "thread/start" => {
                let thread_id = lines::thread_id(self.report.threads);
                self.report.threads += 1;
                let cwd = params["cwd"].as_str().unwrap_or("/").to_owned();
                self.respond(
                    id,
                    &lines::thread_start_result(&thread_id, &cwd, now / 1000),
                )?;
                let params = lines::thread_started_params(&thread_id, &cwd, now / 1000);
                self.notify(now, "thread/started", &params)?;
                self.threads.insert(thread_id, cwd);
                Ok(())
            }
            "turn/start" => {
                let thread_id = params["threadId"].as_str().unwrap_or_default();
                let Some(cwd) = self.threads.get(thread_id) else {
                    let message = format!("thread not found: {thread_id}");
                    return self.respond_error(id, -32600, &message);
                };
                let number = self.report.turns_started;
                let turn_id = lines::turn_id(number);
                let lines = TurnLines::new(thread_id, &turn_id, cwd, now);
                self.report.turns_started += 1;
                self.respond(id, &lines::turn_start_result(&turn_id))?;
                let message = match self.traffic.kind {
                    Kind::Stream {
                        deltas,
                        delta_bytes,
                        full_final_text,
                    } => Some(Message {
                        first: number.wrapping_mul(deltas),
                        deltas,
                        bytes: delta_bytes,
                        full_text: full_final_text,
                    }),
                    Kind::Approvals { .. } => None,
                };
                self.turns.push(Some(Turn {
                    lines,
                    step: Step::Open,
                    message,
                }));
                self.ready.push_back(self.turns.len() - 1);
                Ok(())
            }
            _ => self.respond_error(id, -32601, &format!("method not found: {method}")),
        }
    }

    fn respond(&mut self, id: &str, result: &Value) -> io::Result<()> {
        writeln!(self.out, r#"{{"id":{id},"result":{result}}}"#)
    }

    fn respond_error(&mut self, id: &str, code: i64, message: &str) -> io::Result<()> {
        let error = json!({"code": code, "message": message});
        writeln!(self.out, r#"{{"error":{error},"id":{id}}}"#)
    }

    fn notify(&mut self, now: u64, method: &str, params: &Value) -> io::Result<()> {
        let method = Value::from(method);
        writeln!(
            self.out,
            r#"{{"emittedAtMs":{now},"method":{method},"params":{params}}}"#
        )
    }

    /// Lets turn `index` write its next few lines.
    fn advance(&mut self, index: usize) -> io::Result<()> {
        let Some(mut turn) = self.turns[index].take() else {
            return Ok(());
        };
        let progress = self.play(&mut turn)?;
        match progress {
            Progress::Running => {
                self.turns[index] = Some(turn);
                self.ready.push_back(index);
            }
            Progress::Waiting(request) => {
                match self.early.remove(&request) {
                    Some(accepted) => {
                        turn.answered(accepted);
                        self.ready.push_back(index);
                    }
                    None => {
                        self.waiting.insert(request, index);
                    }
                }
                self.turns[index] = Some(turn);
            }
            Progress::Done => self.report.turns_completed += 1,
        }
        Ok(())
    }

    fn play(&mut self, turn: &mut Turn) -> io::Result<Progress> {
        let out = &mut self.out;
        let lines = &turn.lines;
        match turn.step {
            Step::Open => {
                lines.status(out, ThreadStatus::Active)?;
                lines.turn_started(out)?;
                turn.step = match turn.message {
                    Some(_) => {
                        lines.message_started(out)?;
                        Step::Delta(0)
                    }
                    None => Step::Ask(0),
                };
            }
            Step::Delta(next) => {
                let Some(message) = turn.message else {
                    turn.step = Step::Close;
                    return Ok(Progress::Running);
                };
                let end = message.deltas.min(next.saturating_add(DELTAS_PER_ROUND));
                let mut piece = [0_u8; 64];
                let mut long_piece = Vec::new();
                let piece: &mut [u8] = if message.bytes <= piece.len() {
                    &mut piece[..message.bytes]
                } else {
                    long_piece.resize(message.bytes, 0);
                    &mut long_piece
                };
                for index in next..end {
                    lines::fill_piece(message.first.wrapping_add(index), piece);
                    lines.delta(out, piece)?;
                }
                turn.step = if end == message.deltas {
                    lines.message_completed(out, &message)?;
                    Step::Close
                } else {
                    Step::Delta(end)
                };
            }
            Step::Ask(k) => {
                let Kind::Approvals { count } = self.traffic.kind else {
                    turn.step = Step::Close;
                    return Ok(Progress::Running);
                };
                if k == count {
                    turn.step = Step::Close;
                    return Ok(Progress::Running);
                }
                let request = self.next_request;
                self.next_request += 1;
                lines.status(out, ThreadStatus::WaitingOnApproval)?;
                lines.command_started(out, k)?;
                lines.approval_request(out, request, k)?;
                turn.step = Step::Waiting { k, request };
                return Ok(Progress::Waiting(request));
            }
            Step::Waiting { request, .. } => return Ok(Progress::Waiting(request)),
            Step::Answered {
                k,
                request,
                accepted,
            } => {
                if accepted {
                    self.report.approvals_accepted += 1;
                } else {
                    self.report.approvals_declined += 1;
                }
                lines.resolved(out, request)?;
                lines.status(out, ThreadStatus::Active)?;
                lines.command_completed(out, k, accepted)?;
                turn.step = Step::Ask(k + 1);
            }
            Step::Close => {
                lines.status(out, ThreadStatus::Idle)?;
                lines.turn_completed(out, turn.message.as_ref())?;
                return Ok(Progress::Done);
            }
        }
        Ok(Progress::Running)
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
