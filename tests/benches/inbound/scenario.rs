//! What a run is: the clients, the scenarios and their sizes, what a client
//! saw of a turn and how that is checked, and the result line a run prints
//! for the harness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use codexrt_testkit::fake::Traffic;
use serde::{Deserialize, Serialize};

use crate::report::count;

/// The bytes of every delta.
pub(crate) const DELTA_BYTES: usize = 4;
/// The slow consumer pauses this long after every this many events.
const SLOW_EVERY: u64 = 10_000;
const SLOW_PAUSE: Duration = Duration::from_millis(1);
/// A turn with no event for this long is taken for lost; no run of a
/// working client pauses for a fraction of it.
const STALL: Duration = Duration::from_secs(10);
/// The prompt every client sends.
pub(crate) const PROMPT: &str = "stream the benchmark";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    Baseline,
    Core,
    Facade,
    /// `codexrt::Pool` over [`POOL_SERVERS`] fake app-servers; sessions
    /// only.
    Pool,
    /// The facade's client over a WebSocket to the fake app-server
    /// (`--listen ws://127.0.0.1:0`); the streams and the approvals.
    WebSocket,
}

/// The fake app-servers behind the pool client.
pub(crate) const POOL_SERVERS: usize = 4;

impl Client {
    pub(crate) const ALL: [Client; 5] = [
        Client::Baseline,
        Client::Core,
        Client::Facade,
        Client::Pool,
        Client::WebSocket,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Client::Baseline => "baseline",
            Client::Core => "core",
            Client::Facade => "facade",
            Client::Pool => "pool",
            Client::WebSocket => "websocket",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|client| client.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scenario {
    /// One turn of many small deltas, the whole text at the end.
    Stream,
    /// The same, with an empty text in `item/completed` and `turn/completed`.
    StreamEmptyFinal,
    /// One turn of many command approvals, each answered `accept`.
    Approvals,
    /// The stream, read by a consumer that pauses now and then.
    SlowConsumer,
    /// Many sessions of one client at once, each a short stream.
    Sessions,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 5] = [
        Scenario::Stream,
        Scenario::StreamEmptyFinal,
        Scenario::Approvals,
        Scenario::SlowConsumer,
        Scenario::Sessions,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Stream => "stream",
            Scenario::StreamEmptyFinal => "stream-empty-final",
            Scenario::Approvals => "approvals",
            Scenario::SlowConsumer => "slow-consumer",
            Scenario::Sessions => "sessions",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    /// What the fake app-server plays for every turn.
    pub(crate) fn traffic(self, sizes: &Sizes) -> Traffic {
        match self {
            Scenario::Stream | Scenario::SlowConsumer => Traffic::stream(sizes.deltas, DELTA_BYTES),
            Scenario::StreamEmptyFinal => {
                Traffic::stream(sizes.deltas, DELTA_BYTES).empty_final_text()
            }
            Scenario::Approvals => Traffic::approvals(sizes.approvals),
            Scenario::Sessions => Traffic::stream(sizes.session_deltas, DELTA_BYTES),
        }
    }

    /// How many deltas or approvals a run of one turn gets through.
    pub(crate) fn items(self, sizes: &Sizes) -> u64 {
        match self {
            Scenario::Approvals => sizes.approvals,
            Scenario::Sessions => sizes.sessions * sizes.session_deltas,
            _ => sizes.deltas,
        }
    }

    /// How this scenario's client reads events.
    pub(crate) fn consumer(self) -> Consumer {
        Consumer {
            slow: self == Scenario::SlowConsumer,
            seen: AtomicU64::new(0),
        }
    }
}

/// The counts of a full or a quick run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub(crate) quick: bool,
    pub(crate) deltas: u64,
    pub(crate) approvals: u64,
    pub(crate) sessions: u64,
    pub(crate) session_deltas: u64,
}

impl Sizes {
    pub(crate) fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                quick,
                deltas: 100_000,
                approvals: 1_000,
                sessions: 100,
                session_deltas: 1_000,
            }
        } else {
            Sizes {
                quick,
                deltas: 1_000_000,
                approvals: 10_000,
                sessions: 1_000,
                session_deltas: 1_000,
            }
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    pub(crate) fn parse(name: &str) -> Option<Sizes> {
        match name {
            "full" => Some(Sizes::new(false)),
            "quick" => Some(Sizes::new(true)),
            _ => None,
        }
    }
}

/// How a client reads a turn's events: at full speed or, for the slow
/// consumer, with a pause after every 10,000; and never forever.
#[derive(Debug)]
pub(crate) struct Consumer {
    slow: bool,
    seen: AtomicU64,
}

impl Consumer {
    /// Counts an event, and pauses when it is the slow consumer's turn to.
    pub(crate) async fn event(&self) {
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if self.slow && seen % SLOW_EVERY == 0 {
            tokio::time::sleep(SLOW_PAUSE).await;
        }
    }

    /// Runs `reading` (a loop that calls [`Consumer::event`] for every
    /// event), failing it when no event came for [`STALL`]: a turn whose
    /// end was lost would otherwise hang the run.
    pub(crate) async fn guard(
        &self,
        reading: impl Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        tokio::select! {
            biased;
            read = reading => read,
            () = self.stalled() => Err(format!(
                "the turn never ended: no event for {} s after {} events",
                STALL.as_secs(),
                count(self.seen.load(Ordering::Relaxed))
            )),
        }
    }

    async fn stalled(&self) {
        let mut before = self.seen.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(STALL).await;
            let now = self.seen.load(Ordering::Relaxed);
            if now == before {
                return;
            }
            before = now;
        }
    }
}

/// What a client saw of one turn.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    pub(crate) turn_id: String,
    /// The deltas of the agent message, joined.
    pub(crate) text: String,
    /// Command items that completed (so were accepted).
    pub(crate) commands_completed: u64,
    /// Approvals the client answered itself (the facade's hook answers
    /// for it, unseen).
    pub(crate) approvals_answered: Option<u64>,
    /// Whether the turn ended `completed`.
    pub(crate) completed: bool,
    /// How it ended otherwise, when the client was told.
    pub(crate) ending: Option<String>,
    /// From sending `turn/start` to the end of the turn.
    pub(crate) elapsed: Duration,
}

impl Turn {
    /// Whether the turn is what the fake app-server sent.
    pub(crate) fn check(
        &self,
        scenario: Scenario,
        traffic: &Traffic,
        sizes: &Sizes,
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        if !self.completed {
            let ending = self.ending.as_deref().unwrap_or("no end was seen");
            problems.push(format!("the turn did not complete ({ending})"));
        }
        if scenario == Scenario::Approvals {
            let expected = sizes.approvals;
            if self.commands_completed != expected {
                problems.push(format!(
                    "{} of {} commands completed",
                    count(self.commands_completed),
                    count(expected)
                ));
            }
            if let Some(answered) = self
                .approvals_answered
                .filter(|answered| *answered != expected)
            {
                problems.push(format!(
                    "{} of {} approvals answered",
                    count(answered),
                    count(expected)
                ));
            }
        } else {
            match traffic.expected_text(&self.turn_id) {
                Some(expected) if expected == self.text => {}
                Some(expected) => problems.push(text_difference(&self.text, &expected)),
                None => problems.push(format!("no text is expected for turn `{}`", self.turn_id)),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

fn text_difference(got: &str, expected: &str) -> String {
    let first = got
        .bytes()
        .zip(expected.bytes())
        .position(|(got, expected)| got != expected)
        .unwrap_or(got.len().min(expected.len()));
    format!(
        "the text differs: {} of {} bytes, the first difference at byte {}",
        count(got.len() as u64),
        count(expected.len() as u64),
        count(first as u64)
    )
}

/// What a client measured, before the process adds its peak RSS.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    pub(crate) seconds: f64,
    pub(crate) items: u64,
    pub(crate) single_session_seconds: Option<f64>,
    pub(crate) failure: Option<String>,
}

impl Measured {
    /// A run of one turn, checked.
    pub(crate) fn turn(
        turn: Result<Turn, String>,
        scenario: Scenario,
        traffic: &Traffic,
        sizes: &Sizes,
    ) -> Measured {
        match turn {
            Ok(turn) => Measured {
                seconds: turn.elapsed.as_secs_f64(),
                items: scenario.items(sizes),
                single_session_seconds: None,
                failure: turn.check(scenario, traffic, sizes).err(),
            },
            Err(failure) => Measured::failed(failure),
        }
    }

    /// A run of many sessions at once, after one alone; each checked.
    pub(crate) fn sessions(
        single: Result<Turn, String>,
        all: Vec<Result<Turn, String>>,
        wall: Duration,
        traffic: &Traffic,
        sizes: &Sizes,
    ) -> Measured {
        let single = match single {
            Ok(single) => single,
            Err(failure) => return Measured::failed(format!("the single session: {failure}")),
        };
        let check = |turn: Result<Turn, String>| {
            turn.and_then(|turn| turn.check(Scenario::Sessions, traffic, sizes))
        };
        let single_seconds = single.elapsed.as_secs_f64();
        let total = all.len();
        let failures: Vec<String> = std::iter::once(Ok(single))
            .chain(all)
            .filter_map(|turn| check(turn).err())
            .collect();
        Measured {
            seconds: wall.as_secs_f64(),
            items: Scenario::Sessions.items(sizes),
            single_session_seconds: Some(single_seconds),
            failure: failures.first().map(|first| {
                format!(
                    "{} of {} sessions wrong; the first: {first}",
                    count(failures.len() as u64),
                    count(total as u64 + 1)
                )
            }),
        }
    }

    pub(crate) fn failed(failure: String) -> Measured {
        Measured {
            failure: Some(failure),
            ..Measured::default()
        }
    }
}

/// The line a run prints for the harness, after this prefix.
pub(crate) const RESULT_PREFIX: &str = "inbound-result ";

/// A run's result, as the harness reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunResult {
    pub(crate) seconds: f64,
    pub(crate) items: u64,
    pub(crate) single_session_seconds: Option<f64>,
    /// `VmHWM` of the client's process, in KiB.
    pub(crate) peak_rss_kib: Option<u64>,
    pub(crate) failure: Option<String>,
}

impl RunResult {
    /// Items per second, for a run that measured a time.
    pub(crate) fn per_second(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| self.items as f64 / self.seconds)
    }
}

pub(crate) fn print_result(measured: Measured) {
    let result = RunResult {
        seconds: measured.seconds,
        items: measured.items,
        single_session_seconds: measured.single_session_seconds,
        peak_rss_kib: peak_rss_kib(),
        failure: measured.failure,
    };
    println!(
        "{RESULT_PREFIX}{}",
        serde_json::to_string(&result).expect("a result encodes")
    );
}

/// The peak resident set size of this process (`VmHWM`), on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
