//! [`Traffic`]: a fake app-server that writes codex 0.169.0-shaped traffic as
//! fast as the pipe takes it, for benchmarks and load tests (a long stream of
//! deltas, thousands of approvals, many turns at once).

mod lines;
mod serve;
#[cfg(test)]
mod tests;
mod websocket;

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use super::{FAILURE_EXIT_CODE, Handshake};

/// The output buffer of [`Traffic::run_stdio`]: large, so that a stream is
/// written in few system calls.
const STDOUT_BUFFER: usize = 1 << 20;

/// A fake app-server that plays the same turn, at native speed, for every
/// `turn/start` it is sent.
///
/// Unlike a [`FakeScript`](super::FakeScript), nothing is scripted step by
/// step: the server answers `initialize` (with its [`Handshake`], codex
/// 0.169.0 by default), accepts `initialized`, answers every `thread/start`
/// (followed by `thread/started`) and `turn/start` with 0.169.0 result
/// shapes, answers any other request with error -32601, and plays each
/// started turn:
///
/// - [`Traffic::stream`]: `thread/status/changed` (active), `turn/started`,
///   `item/started` (an `agentMessage`), `deltas` ×
///   `item/agentMessage/delta` of `delta_bytes` bytes each, `item/completed`
///   with the whole text, `thread/status/changed` (idle) and
///   `turn/completed`, whose items hold the message again (codex's
///   `summary` view).
/// - [`Traffic::approvals`]: after `turn/started`, for each approval, as
///   codex frames it: `thread/status/changed` (waiting on approval),
///   `item/started` (a `commandExecution`), the server request
///   `item/commandExecution/requestApproval` (ids 0, 1, ... per
///   connection), and only once the client answered:
///   `serverRequest/resolved`, `thread/status/changed` (active) and
///   `item/completed`, with status `completed` for `{"decision":"accept"}`
///   and `declined` for anything else; then `thread/status/changed` (idle)
///   and `turn/completed`.
///
/// Lines are formatted straight into one buffered writer, each turn's
/// shared parts once per turn, so the server is not what a benchmark
/// measures. Turns run concurrently: each running turn writes a few lines
/// in turn, so the streams of many sessions interleave. Thread ids and
/// turn ids are UUID-shaped and numbered from 0 per connection; the text
/// of a streamed turn follows from its id ([`Traffic::expected_text`]), so
/// a client can check every delta arrived, in order, in the right turn.
///
/// When the input ends, the server finishes what can go on without the
/// client (streams) and returns; a turn waiting for an answer is dropped.
/// A client that stops reading is no error ([`TrafficReport::client_gone`]).
/// An answer to a request not sent yet is kept for it, so a test may feed
/// its whole input at once.
///
/// The program `fake-app-server` of the workspace's tests package serves
/// it over stdio from [`Traffic::args`]:
///
/// ```text
/// fake-app-server [app-server] --traffic stream --deltas 1000000 --delta-bytes 4 [--empty-final]
/// fake-app-server [app-server] --traffic approvals --approvals 10000
/// ```
///
/// In process:
///
/// ```
/// use codexrt_testkit::fake::Traffic;
///
/// let traffic = Traffic::stream(3, 4);
/// let input = concat!(
///     r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"t","version":"1"}}}"#, "\n",
///     r#"{"method":"initialized"}"#, "\n",
///     r#"{"id":2,"method":"thread/start","params":{}}"#, "\n",
///     r#"{"id":3,"method":"turn/start","params":{"threadId":"00000000-0000-7000-8000-000000000000","input":[]}}"#, "\n",
/// );
/// let mut output = Vec::new();
/// let report = traffic.serve(input.as_bytes(), &mut output)?;
/// assert_eq!(report.turns_completed, 1);
/// let text = String::from_utf8(output).unwrap();
/// assert_eq!(text.matches("item/agentMessage/delta").count(), 3);
/// let turn_id = "00000000-0000-7000-9000-000000000000";
/// assert_eq!(traffic.expected_text(turn_id).as_deref(), Some("000000010002"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "traffic does nothing until it is served"]
pub struct Traffic {
    kind: Kind,
    handshake: Handshake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stream {
        deltas: u64,
        delta_bytes: usize,
        full_final_text: bool,
    },
    Approvals {
        count: u64,
    },
}

impl Traffic {
    /// Every turn streams one agent message in `deltas` deltas of
    /// `delta_bytes` bytes (at least 1): lowercase letters and digits, so
    /// the text needs no escaping.
    pub fn stream(deltas: u64, delta_bytes: usize) -> Traffic {
        Traffic::new(Kind::Stream {
            deltas,
            delta_bytes: delta_bytes.max(1),
            full_final_text: true,
        })
    }

    /// Every turn asks `count` command approvals, one after the other.
    pub fn approvals(count: u64) -> Traffic {
        Traffic::new(Kind::Approvals { count })
    }

    fn new(kind: Kind) -> Traffic {
        Traffic {
            kind,
            handshake: Handshake::new(),
        }
    }

    /// `item/completed` and `turn/completed` carry an empty text instead of
    /// the whole message. Default: the whole message. Approvals are not
    /// affected.
    pub fn empty_final_text(mut self) -> Traffic {
        if let Kind::Stream {
            full_final_text, ..
        } = &mut self.kind
        {
            *full_final_text = false;
        }
        self
    }

    /// The answer to `initialize`. Default: [`Handshake::new`] (codex
    /// 0.169.0). Not part of [`Traffic::args`].
    pub fn handshake(mut self, handshake: Handshake) -> Traffic {
        self.handshake = handshake;
        self
    }

    /// The text a streamed turn with this id sends, joined; `None` for
    /// approvals, and for an id this server does not make.
    pub fn expected_text(&self, turn_id: &str) -> Option<String> {
        let Kind::Stream {
            deltas,
            delta_bytes,
            ..
        } = self.kind
        else {
            return None;
        };
        let number = lines::turn_number(turn_id)?;
        let capacity = usize::try_from(deltas).ok()?.checked_mul(delta_bytes)?;
        let mut text = Vec::with_capacity(capacity);
        lines::write_text(&mut text, number.wrapping_mul(deltas), deltas, delta_bytes).ok()?;
        String::from_utf8(text).ok()
    }

    /// The command-line arguments that describe this traffic, as
    /// [`Traffic::from_args`] reads them:
    /// `--traffic stream --deltas N --delta-bytes B [--empty-final]` or
    /// `--traffic approvals --approvals N`.
    pub fn args(&self) -> Vec<String> {
        match self.kind {
            Kind::Stream {
                deltas,
                delta_bytes,
                full_final_text,
            } => {
                let mut args = vec![
                    "--traffic".to_owned(),
                    "stream".to_owned(),
                    "--deltas".to_owned(),
                    deltas.to_string(),
                    "--delta-bytes".to_owned(),
                    delta_bytes.to_string(),
                ];
                if !full_final_text {
                    args.push("--empty-final".to_owned());
                }
                args
            }
            Kind::Approvals { count } => vec![
                "--traffic".to_owned(),
                "approvals".to_owned(),
                "--approvals".to_owned(),
                count.to_string(),
            ],
        }
    }

    /// Reads what [`Traffic::args`] writes, in any order. Defaults: 1,000
    /// deltas of 4 bytes, 1,000 approvals.
    ///
    /// # Errors
    /// [`TrafficArgsError`] for a missing or unknown `--traffic`, an unknown
    /// flag, a flag of the other kind, or a value that is not a number.
    pub fn from_args<I, S>(args: I) -> Result<Traffic, TrafficArgsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let mut args = args.iter().map(AsRef::as_ref);
        let mut kind = None;
        let mut deltas = None;
        let mut delta_bytes = None;
        let mut empty_final = false;
        let mut approvals = None;
        while let Some(flag) = args.next() {
            match flag {
                "--empty-final" => empty_final = true,
                "--traffic" | "--deltas" | "--delta-bytes" | "--approvals" => {
                    let value = args.next().ok_or(TrafficArgsError::MissingValue {
                        flag: flag.to_owned(),
                    })?;
                    match flag {
                        "--traffic" => kind = Some(value.to_owned()),
                        "--deltas" => deltas = Some(number(flag, value)?),
                        "--delta-bytes" => delta_bytes = Some(number(flag, value)?),
                        _ => approvals = Some(number(flag, value)?),
                    }
                }
                other => return Err(TrafficArgsError::UnknownArgument(other.to_owned())),
            }
        }
        let misplaced = |flag: &str| TrafficArgsError::NotForThisKind {
            flag: flag.to_owned(),
        };
        match kind.as_deref() {
            Some("stream") => {
                if approvals.is_some() {
                    return Err(misplaced("--approvals"));
                }
                let bytes = usize::try_from(delta_bytes.unwrap_or(4)).map_err(|_| {
                    TrafficArgsError::NotANumber {
                        flag: "--delta-bytes".to_owned(),
                        value: delta_bytes.unwrap_or_default().to_string(),
                    }
                })?;
                let traffic = Traffic::stream(deltas.unwrap_or(1000), bytes);
                Ok(if empty_final {
                    traffic.empty_final_text()
                } else {
                    traffic
                })
            }
            Some("approvals") => {
                for (flag, given) in [
                    ("--deltas", deltas.is_some()),
                    ("--delta-bytes", delta_bytes.is_some()),
                    ("--empty-final", empty_final),
                ] {
                    if given {
                        return Err(misplaced(flag));
                    }
                }
                Ok(Traffic::approvals(approvals.unwrap_or(1000)))
            }
            Some(other) => Err(TrafficArgsError::UnknownKind(other.to_owned())),
            None => Err(TrafficArgsError::MissingKind),
        }
    }

    /// Serves one client: reads its messages from `input` (on a thread of
    /// its own, which is left behind if the input never ends) and writes
    /// the server's to `output`, until the input ended and nothing can go
    /// on. Buffer `output` yourself; it is flushed whenever the server
    /// waits for input.
    ///
    /// # Errors
    /// When writing fails, except for a closed pipe, which ends the run
    /// with [`TrafficReport::client_gone`]; when the reading thread cannot
    /// be started.
    pub fn serve<R, W>(&self, input: R, output: W) -> io::Result<TrafficReport>
    where
        R: Read + Send + 'static,
        W: Write,
    {
        serve::Server::new(self, output).run(input)
    }

    /// Serves this process's stdin and stdout (through a 1 MiB buffer) and
    /// returns the exit code to end the process with: 0, or 70
    /// ([`FAILURE_EXIT_CODE`](super::FAILURE_EXIT_CODE)) after writing the
    /// error to stderr.
    pub fn run_stdio(&self) -> ExitCode {
        let served = self.serve(
            io::stdin(),
            BufWriter::with_capacity(STDOUT_BUFFER, stdout()),
        );
        match served {
            Ok(_) => ExitCode::SUCCESS,
            Err(err) => {
                let _ = writeln!(io::stderr(), "fake app-server: cannot write: {err}");
                ExitCode::from(FAILURE_EXIT_CODE)
            }
        }
    }
}

impl Traffic {
    /// Listens on `listen` (`ws://HOST:PORT`; port 0 picks one), says
    /// `listening on: ws://HOST:PORT` on stderr as codex does, and serves the
    /// first client to connect over a WebSocket, one message per text
    /// frame; returns the exit code as [`Traffic::run_stdio`] does (and 2
    /// when `listen` is not a `ws://` address that can be bound).
    pub fn run_websocket(&self, listen: &str) -> ExitCode {
        let Some(address) = listen.strip_prefix("ws://") else {
            let _ = writeln!(
                io::stderr(),
                "fake app-server: `--listen` takes ws://HOST:PORT"
            );
            return ExitCode::from(2);
        };
        let listener = match std::net::TcpListener::bind(address.trim_end_matches('/')) {
            Ok(listener) => listener,
            Err(err) => {
                let _ = writeln!(
                    io::stderr(),
                    "fake app-server: cannot listen on {listen}: {err}"
                );
                return ExitCode::from(2);
            }
        };
        let served = listener.local_addr().and_then(|bound| {
            writeln!(io::stderr(), "listening on: ws://{bound}")?;
            let (mut stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            websocket::accept(&mut stream)?;
            let input = websocket::FrameLines::new(stream.try_clone()?);
            let output = websocket::LineFrames::new(stream, STDOUT_BUFFER);
            self.serve(input, output)
        });
        match served {
            Ok(_) => ExitCode::SUCCESS,
            Err(err) => {
                let _ = writeln!(io::stderr(), "fake app-server: {err}");
                ExitCode::from(FAILURE_EXIT_CODE)
            }
        }
    }
}

/// Standard output without the line buffering of [`io::Stdout`], which
/// would split a large buffer at its last newline.
#[cfg(unix)]
fn stdout() -> Box<dyn Write> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout()),
    }
}

#[cfg(not(unix))]
fn stdout() -> Box<dyn Write> {
    Box::new(io::stdout())
}

fn number(flag: &str, value: &str) -> Result<u64, TrafficArgsError> {
    value.parse().map_err(|_| TrafficArgsError::NotANumber {
        flag: flag.to_owned(),
        value: value.to_owned(),
    })
}

/// What a [`Traffic`] server did, once it returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrafficReport {
    /// Threads started.
    pub threads: u64,
    /// Turns started.
    pub turns_started: u64,
    /// Turns that reached `turn/completed`.
    pub turns_completed: u64,
    /// Approvals answered `accept`.
    pub approvals_accepted: u64,
    /// Approvals answered with anything else.
    pub approvals_declined: u64,
    /// The client stopped reading before the server was done.
    pub client_gone: bool,
}

/// Arguments [`Traffic::from_args`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrafficArgsError {
    /// No `--traffic`.
    #[error("`--traffic stream` or `--traffic approvals` is missing")]
    MissingKind,
    /// `--traffic` names no kind of traffic.
    #[error("unknown traffic `{0}` (expected `stream` or `approvals`)")]
    UnknownKind(String),
    /// A flag that takes a value came last.
    #[error("`{flag}` needs a value")]
    MissingValue {
        /// The flag.
        flag: String,
    },
    /// A flag's value is not a number that fits.
    #[error("`{flag}` needs a number, not `{value}`")]
    NotANumber {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
    },
    /// A flag of the other kind of traffic.
    #[error("`{flag}` does not apply to this kind of traffic")]
    NotForThisKind {
        /// The flag.
        flag: String,
    },
    /// Not a flag of traffic.
    #[error("unknown argument `{0}`")]
    UnknownArgument(String),
}
