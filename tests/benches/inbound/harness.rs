//! The harness: runs every client in every setup as a process of its own,
//! round robin, collects their result lines and hands them to the report.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::report::{self, Results};
use crate::scenario::{Client, RESULT_PREFIX, RunResult, Scenario, Sizes};

/// Runs per client in a setup of a full run, but for the approvals.
const RUNS: usize = 5;

/// A scenario, and whether client and server share one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Setup {
    pub(crate) scenario: Scenario,
    pub(crate) pinned: bool,
}

impl Setup {
    pub(crate) const ALL: [Setup; 6] = [
        Setup::free(Scenario::Stream),
        Setup::free(Scenario::StreamEmptyFinal),
        Setup::free(Scenario::Approvals),
        Setup {
            scenario: Scenario::Approvals,
            pinned: true,
        },
        Setup::free(Scenario::SlowConsumer),
        Setup::free(Scenario::Sessions),
    ];

    const fn free(scenario: Scenario) -> Setup {
        Setup {
            scenario,
            pinned: false,
        }
    }

    /// How many runs each client gets in this setup. An approval is a
    /// round trip between two processes, and on two CPUs most of its time
    /// is the wake-up of the other CPU, which varies from run to run far
    /// more than the clients' own work does (docs/benchmarks.md, "Anatomy
    /// of an approval on two CPUs"): the approvals get three times the
    /// runs, so that their medians rest on more than a few draws. Each
    /// takes about a second.
    pub(crate) fn runs(self, quick: bool) -> usize {
        match (quick, self.scenario) {
            (true, _) => 1,
            (false, Scenario::Approvals) => 3 * RUNS,
            (false, _) => RUNS,
        }
    }

    pub(crate) fn label(self) -> String {
        if self.pinned {
            format!("{} (1 CPU)", self.scenario.name())
        } else {
            self.scenario.name().to_owned()
        }
    }

    /// Whether `client` takes part: the baseline holds one conversation,
    /// the pool is for many sessions, and the WebSocket client compares
    /// one connection's streams and approvals with stdio's.
    pub(crate) fn takes(self, client: Client) -> bool {
        match client {
            Client::Baseline => self.scenario != Scenario::Sessions,
            Client::Pool => self.scenario == Scenario::Sessions,
            Client::WebSocket => {
                !self.pinned
                    && matches!(
                        self.scenario,
                        Scenario::Stream | Scenario::StreamEmptyFinal | Scenario::Approvals
                    )
            }
            Client::Core | Client::Facade => true,
        }
    }
}

pub(crate) fn run(quick: bool) -> ExitCode {
    let sizes = Sizes::new(quick);
    let runs = Setup::ALL
        .iter()
        .map(|setup| setup.runs(quick))
        .max()
        .unwrap_or(1);
    let pinning = taskset_available();
    println!(
        "inbound: baseline, core, facade, pool and websocket against `fake-app-server --traffic`, \
         {} run(s) each ({} of the approvals), round robin{}\n",
        Setup::free(Scenario::Stream).runs(quick),
        Setup::free(Scenario::Approvals).runs(quick),
        if quick {
            " (--quick: smaller counts)"
        } else {
            ""
        }
    );
    if !pinning {
        println!("taskset was not found: the 1-CPU approvals are skipped\n");
    }
    let mut results: Results = HashMap::new();
    for run in 1..=runs {
        for setup in Setup::ALL {
            if (setup.pinned && !pinning) || run > setup.runs(quick) {
                continue;
            }
            for client in Client::ALL
                .into_iter()
                .filter(|client| setup.takes(*client))
            {
                let result = launch(client, setup, &sizes);
                report::progress(run, setup.runs(quick), setup, client, &result);
                results.entry((client, setup)).or_default().push(result);
            }
        }
    }
    println!();
    let wrong = report::print(&results, &sizes, quick, pinning);
    if wrong {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs one client once and reads its result line.
fn launch(client: Client, setup: Setup, sizes: &Sizes) -> RunResult {
    let exe = std::env::current_exe().expect("the path of this program");
    let mut command = if setup.pinned {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "0"]).arg(exe);
        taskset
    } else {
        Command::new(exe)
    };
    command
        .args(["client", client.name(), setup.scenario.name(), sizes.name()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return failed(format!("cannot start the run: {err}")),
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // Runs fail by themselves when a turn stalls; this is for a client
    // stuck elsewhere.
    let limit = if sizes.quick {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(300)
    };
    let status = wait(&mut child, limit);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(RESULT_PREFIX));
    match (status, line) {
        (Ok(_), Some(line)) => serde_json::from_str(line)
            .unwrap_or_else(|err| failed(format!("an unreadable result ({err}): {line}"))),
        (Ok(status), None) => failed(format!(
            "the run ended ({status}) without a result; stderr: {}",
            tail(&stderr)
        )),
        (Err(()), _) => failed(format!(
            "the run took longer than {} s and was killed; stderr: {}",
            limit.as_secs(),
            tail(&stderr)
        )),
    }
}

fn failed(failure: String) -> RunResult {
    RunResult {
        seconds: 0.0,
        items: 0,
        single_session_seconds: None,
        peak_rss_kib: None,
        failure: Some(failure),
    }
}

/// Reads a pipe to its end on a thread, so the child never blocks on it.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Waits for the child, killing it past `limit`.
fn wait(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, ()> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
