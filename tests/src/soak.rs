//! The soak: mixed traffic for a while, with the process's resources
//! sampled all along and growth reported as a failure. Run by `cargo
//! xtask soak --minutes N` (and for 60 s by `cargo xtask test`).
//!
//! Four workers share one client process (this one) and its runtime:
//!
//! - **streams**: a client of the fake app-server (`fake-app-server
//!   --traffic stream`) with a [`RestartPolicy`], asking for turns of
//!   streamed deltas in new sessions and checking every text;
//! - **approvals**: a client of the fake's approval traffic whose command
//!   approvals a hook accepts, checking that every command completed;
//! - **killer**: SIGKILLs the streams fake every so often; the client
//!   starts it again, and the asks in flight fail with the close report;
//! - **codex**: a client of the real codex (scripted model), asking
//!   (checking the answer) and, every third time, dropping an
//!   `ask_stream` after its first delta, which interrupts the turn.
//!
//! Every sample period the sampler reads the resident set, the open file
//! descriptors and the threads of the process (`/proc/self`), the
//! runtime's live tasks and, when the program counts its allocations
//! ([`SoakOptions::heap`]), the bytes live on the heap: the resident set
//! also holds what the allocator keeps of freed memory, the live heap only
//! what the program still holds. At the end the samples of the last third
//! are compared with those of the first third after a warm-up: growth
//! beyond a margin is a failure, and so is a worker that made no progress
//! or saw an unexpected error. [`SoakOptions`] can leave out the fake
//! workers (and the codex one), to find which part of the mix something
//! grows with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codexrt::hooks::{CommandRules, HookEntry, HookSet};
use codexrt::{Client, ClientConfig, RestartPolicy, SessionConfig, SessionEvent};
use codexrt_testkit::{Reply, Script};

use crate::procs;
use crate::scenario::facade::Harness;

/// Deltas in each fake streamed turn.
const DELTAS: u64 = 2_000;

/// Approvals in each fake approvals turn.
const APPROVALS: u64 = 50;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long.
    pub duration: Duration,
    /// How often resources are sampled.
    pub sample_every: Duration,
    /// How often the streams fake is killed.
    pub kill_every: Duration,
    /// The codex version of the codex worker; `None` leaves it out.
    pub codex: Option<String>,
    /// Whether the streams worker (and its killer) runs.
    pub streams: bool,
    /// Whether the approvals worker runs.
    pub approvals: bool,
    /// The `fake-app-server` program.
    pub fake: PathBuf,
    /// Reads the bytes live on the heap, from the program's counting
    /// allocator; `None` leaves the figure out.
    pub heap: Option<fn() -> usize>,
}

/// One sample of the process's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Seconds since the start.
    pub at_secs: u64,
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
    /// Live tokio tasks.
    pub tasks: u64,
    /// Bytes live on the heap, KiB (0 when not counted).
    pub heap_kib: u64,
}

/// What each worker did.
#[derive(Debug, Default)]
struct Counters {
    ok: AtomicU64,
    expected_failures: AtomicU64,
}

/// The outcome of a soak.
#[derive(Debug)]
pub struct SoakReport {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// Per worker: operations that succeeded, and failures that the
    /// traffic explains (an ask in flight when its server was killed).
    pub work: BTreeMap<&'static str, (u64, u64)>,
    /// What went wrong: unexpected errors, a worker without progress, or
    /// growth. Empty for a soak that passed.
    pub problems: Vec<String>,
}

/// The process's resources now, `tasks` live tasks and what `heap` reads.
fn sample(start: Instant, tasks: usize, heap: Option<fn() -> usize>) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let count = |dir: &str| {
        std::fs::read_dir(dir)
            .map(|entries| entries.count() as u64)
            .unwrap_or(0)
    };
    Sample {
        at_secs: start.elapsed().as_secs(),
        rss_kib,
        fds: count("/proc/self/fd"),
        threads: count("/proc/self/task"),
        tasks: tasks as u64,
        heap_kib: heap.map_or(0, |read| read() as u64 / 1024),
    }
}

/// The margins a resource may grow by between the first and the last
/// third of the samples.
fn growth_problems(samples: &[Sample]) -> Vec<String> {
    // The first sample is the warm-up: nothing has run yet.
    let settled = samples.get(1..).unwrap_or_default();
    if settled.len() < 3 {
        return vec![format!(
            "only {} samples after the warm-up: run longer",
            settled.len()
        )];
    }
    let third = settled.len() / 3;
    let (early, late) = (&settled[..third], &settled[settled.len() - third..]);
    let max = |part: &[Sample], read: fn(&Sample) -> u64| part.iter().map(read).max().unwrap_or(0);
    let mut problems = Vec::new();
    let mut check = |what: &str, read: fn(&Sample) -> u64, margin: u64| {
        let (before, after) = (max(early, read), max(late, read));
        if after > before + margin {
            problems.push(format!(
                "{what} grew from at most {before} early to {after} late (margin {margin})"
            ));
        }
    };
    // 16 MiB, and a quarter of the early peak: the allocator keeps what a
    // busy moment took.
    let rss_margin = 16 * 1024 + max(early, |s| s.rss_kib) / 4;
    check("resident KiB", |s| s.rss_kib, rss_margin);
    // The live heap has no allocator's keep in it, so its margin is
    // tighter: 1 MiB, and a quarter of the early peak for what a busy
    // moment holds; the soak's live heap moves by about 400 KiB from one
    // sample to the next.
    let heap_margin = 1024 + max(early, |s| s.heap_kib) / 4;
    check("live heap KiB", |s| s.heap_kib, heap_margin);
    check("file descriptors", |s| s.fds, 8);
    check("threads", |s| s.threads, 4);
    check("tokio tasks", |s| s.tasks, 32);
    problems
}

/// Runs a soak; `progress` gets a line per sample.
///
/// # Errors
/// Only when it cannot start (a client that does not connect, codex that
/// cannot be installed); what goes wrong while it runs is in the report.
pub async fn soak(
    options: SoakOptions,
    mut progress: impl FnMut(String),
) -> Result<SoakReport, String> {
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let problems: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let mark = format!("soak-{}", std::process::id());

    let streams = if options.streams {
        let client = fake_client(
            &options.fake,
            &["--traffic", "stream", "--deltas", &DELTAS.to_string()],
            &mark,
            true,
        )
        .await?;
        Some(client)
    } else {
        None
    };
    let approvals = if options.approvals {
        let hooks = HookSet::new().hook(HookEntry::new("accept", CommandRules::new().allow("*")));
        let client = Client::connect(
            fake_config(
                &options.fake,
                &[
                    "--traffic",
                    "approvals",
                    "--approvals",
                    &APPROVALS.to_string(),
                ],
                &format!("{mark}-approvals"),
            )
            .hooks(hooks),
        )
        .await
        .map_err(|err| format!("the approvals client: {err}"))?;
        Some(client)
    } else {
        None
    };
    let codex = match &options.codex {
        Some(version) => {
            let harness = Harness::start(version, codex_script())
                .await
                .map_err(|err| format!("codex {version}: {err}"))?;
            let client = harness
                .connect()
                .await
                .map_err(|err| format!("codex {version}: {err}"))?;
            Some((Arc::new(harness), client))
        }
        None => None,
    };

    let mut counters: BTreeMap<&'static str, Arc<Counters>> = BTreeMap::new();
    let mut workers = tokio::task::JoinSet::new();
    let mut worker = |name: &'static str| {
        let counters_of = Arc::new(Counters::default());
        counters.insert(name, Arc::clone(&counters_of));
        (counters_of, Arc::clone(&stop), Arc::clone(&problems))
    };

    if let Some(client) = &streams {
        let (count, stopped, report) = worker("streams");
        let client = client.clone();
        workers.spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                match stream_once(&client).await {
                    Ok(()) => count.ok.fetch_add(1, Ordering::Relaxed),
                    // Killed under it: the close report is the expected answer.
                    Err(Failure::Closed) => count.expected_failures.fetch_add(1, Ordering::Relaxed),
                    Err(Failure::Other(problem)) => {
                        push(&report, format!("streams: {problem}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        0
                    }
                };
            }
        });
    }

    if let Some(client) = &approvals {
        let (count, stopped, report) = worker("approvals");
        let client = client.clone();
        workers.spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                match approve_once(&client).await {
                    Ok(()) => count.ok.fetch_add(1, Ordering::Relaxed),
                    Err(problem) => {
                        push(&report, format!("approvals: {problem}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        0
                    }
                };
            }
        });
    }

    if streams.is_some() {
        let (count, stopped, report) = worker("killer");
        let (kill_every, killed_mark) = (options.kill_every, format!("{mark}-streams"));
        workers.spawn(async move {
            let mut last = Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if last.elapsed() < kill_every {
                    continue;
                }
                last = Instant::now();
                let pids = procs::with_env_var("CODEXRT_SOAK_MARK", &killed_mark);
                match pids.as_slice() {
                    [pid] => {
                        // Through the `kill` program: the crate has no unsafe code.
                        let killed = std::process::Command::new("kill")
                            .args(["-9", &pid.to_string()])
                            .status()
                            .is_ok_and(|status| status.success());
                        if killed {
                            count.ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // Between a kill and the restart there is none.
                    [] => {}
                    more => push(
                        &report,
                        format!("killer: {} streams fakes at once", more.len()),
                    ),
                }
            }
        });
    }

    if let Some((harness, client)) = &codex {
        let (count, stopped, report) = worker("codex");
        let client = client.clone();
        let cwd = std::env::temp_dir();
        let harness = Arc::clone(harness);
        workers.spawn(async move {
            let mut round = 0u64;
            while !stopped.load(Ordering::Relaxed) {
                round += 1;
                // The scripted model keeps every request it served: they
                // are the test's memory, not the client's.
                harness.model().forget_requests();
                match codex_once(&client, &cwd, round % 3 == 0).await {
                    Ok(()) => count.ok.fetch_add(1, Ordering::Relaxed),
                    Err(problem) => {
                        push(&report, format!("codex: {problem}"));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        0
                    }
                };
            }
        });
    }

    let metrics = tokio::runtime::Handle::current().metrics();
    let mut samples = vec![sample(start, metrics.num_alive_tasks(), options.heap)];
    while start.elapsed() < options.duration {
        let next = options
            .sample_every
            .min(options.duration.saturating_sub(start.elapsed()));
        tokio::time::sleep(next).await;
        let now = sample(start, metrics.num_alive_tasks(), options.heap);
        progress(format!(
            "soak {:>5} s  rss {:>7} KiB  heap {:>7} KiB  fds {:>4}  threads {:>3}  tasks {:>4}  {}",
            now.at_secs,
            now.rss_kib,
            now.heap_kib,
            now.fds,
            now.threads,
            now.tasks,
            counters
                .iter()
                .map(|(name, c)| format!(
                    "{name} {}+{}",
                    c.ok.load(Ordering::Relaxed),
                    c.expected_failures.load(Ordering::Relaxed)
                ))
                .collect::<Vec<_>>()
                .join("  ")
        ));
        samples.push(now);
    }
    stop.store(true, Ordering::Relaxed);
    let drained = tokio::time::timeout(Duration::from_secs(60), async {
        while workers.join_next().await.is_some() {}
    })
    .await;

    let mut problems = std::mem::take(&mut *problems.lock().unwrap_or_else(|p| p.into_inner()));
    if drained.is_err() {
        problems.push("a worker did not stop within 60 s of the end".to_owned());
    }
    let work: BTreeMap<&'static str, (u64, u64)> = counters
        .iter()
        .map(|(name, c)| {
            (
                *name,
                (
                    c.ok.load(Ordering::Relaxed),
                    c.expected_failures.load(Ordering::Relaxed),
                ),
            )
        })
        .collect();
    for (name, (ok, _)) in &work {
        if *ok == 0 {
            problems.push(format!("{name} made no progress"));
        }
    }
    problems.extend(growth_problems(&samples));

    for client in [streams, approvals].into_iter().flatten() {
        if let Err(err) = client.shutdown().await {
            problems.push(format!("a fake client's shutdown: {err}"));
        }
    }
    if let Some((harness, client)) = codex {
        match Arc::try_unwrap(harness) {
            Ok(harness) => {
                if let Err(err) = harness.finish(client).await {
                    problems.push(format!("codex's shutdown: {err}"));
                }
            }
            Err(_) => problems.push("the codex worker still holds codex".to_owned()),
        }
    }
    let left =
        procs::with_env(|var| var.starts_with(format!("CODEXRT_SOAK_MARK={mark}").as_bytes()));
    if !left.is_empty() {
        problems.push(format!("fake servers left running: {left:?}"));
    }
    Ok(SoakReport {
        samples,
        work,
        problems,
    })
}

fn push(problems: &std::sync::Mutex<Vec<String>>, problem: String) {
    let mut problems = problems.lock().unwrap_or_else(|p| p.into_inner());
    // Bounded: the first hundred say enough.
    if problems.len() < 100 {
        problems.push(problem);
    }
}

fn fake_config(program: &std::path::Path, args: &[&str], mark: &str) -> ClientConfig {
    let mut config = ClientConfig::new()
        .program(program)
        .env("CODEXRT_SOAK_MARK", mark)
        .shutdown_grace(Duration::from_secs(2));
    for arg in args {
        config = config.arg(*arg);
    }
    config
}

async fn fake_client(
    program: &std::path::Path,
    args: &[&str],
    mark: &str,
    restart: bool,
) -> Result<Client, String> {
    let mut config = fake_config(program, args, &format!("{mark}-streams"));
    if restart {
        config = config.restart(
            RestartPolicy::new()
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(200))
                .max_attempts(1_000),
        );
    }
    Client::connect(config)
        .await
        .map_err(|err| format!("the streams client: {err}"))
}

enum Failure {
    Closed,
    Other(String),
}

/// One streamed turn of the fake, its text checked.
async fn stream_once(client: &Client) -> Result<(), Failure> {
    // A session started just before a kill resumes its thread on the new
    // server, which the fake cannot do (it knows no `thread/resume`): that
    // is the kill's doing too.
    let closed = |err: &dyn std::fmt::Display, report: bool| {
        let text = err.to_string();
        if report || text.contains("`thread/resume` failed") {
            Failure::Closed
        } else {
            Failure::Other(text)
        }
    };
    let session = client
        .start_session(SessionConfig::new(std::env::temp_dir()))
        .await
        .map_err(|err| closed(&err, err.close_report().is_some()))?;
    let mut stream = session
        .ask_stream("stream")
        .await
        .map_err(|err| closed(&err, err.close_report().is_some()))?;
    let mut streamed = 0usize;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => streamed += delta.len(),
            SessionEvent::Finished(outcome) => {
                let result = outcome.map_err(|err| closed(&err, err.close_report().is_some()))?;
                if result.text().len() != streamed || streamed == 0 {
                    return Err(Failure::Other(format!(
                        "streamed {streamed} bytes, the final text has {}",
                        result.text().len()
                    )));
                }
            }
            _ => {}
        }
    }
    let _ = session.close().await;
    Ok(())
}

/// One approvals turn of the fake: every command accepted and completed.
async fn approve_once(client: &Client) -> Result<(), String> {
    let result = client
        .run(std::env::temp_dir(), "approve")
        .await
        .map_err(|err| err.to_string())?;
    let completed = result
        .commands()
        .filter(|c| c.succeeded() || c.exit_code.is_some())
        .count();
    if completed as u64 != APPROVALS {
        return Err(format!("{completed} of {APPROVALS} commands ran"));
    }
    Ok(())
}

/// The scripted model of the codex worker: a short answer, or a long one
/// that stalls after its first deltas for the asks that drop their stream.
fn codex_script() -> Script {
    Script::from_fn(|request| {
        // The last user text is the ask's own; earlier ones are history.
        if request
            .user_texts()
            .last()
            .is_some_and(|text| text.contains("drop me"))
        {
            Reply::message("a long answer that will not be read")
                .deltas(8)
                .stall_after(2, Duration::MAX)
        } else {
            Reply::message("pong").deltas(2)
        }
    })
}

/// One ask of the real codex, or one dropped `ask_stream`.
async fn codex_once(client: &Client, cwd: &std::path::Path, drop_it: bool) -> Result<(), String> {
    let session = client
        .start_session(SessionConfig::new(cwd))
        .await
        .map_err(|err| err.to_string())?;
    if drop_it {
        let mut stream = session
            .ask_stream("drop me")
            .await
            .map_err(|err| err.to_string())?;
        loop {
            match stream.next().await {
                Some(SessionEvent::TextDelta { .. }) => break,
                Some(SessionEvent::Finished(outcome)) => {
                    return Err(format!(
                        "the stalled turn finished: {:?}",
                        outcome.map(|r| r.status)
                    ));
                }
                Some(_) => {}
                None => return Err("the stream ended before a delta".to_owned()),
            }
        }
        drop(stream);
        // The next ask waits for the interrupted turn to end.
        let after = session.ask("ping").await.map_err(|err| err.to_string())?;
        if after.text() != "pong" {
            return Err(format!("after the interrupt: {:?}", after.text()));
        }
    } else {
        let result = session.ask("ping").await.map_err(|err| err.to_string())?;
        if result.text() != "pong" {
            return Err(format!("the answer: {:?}", result.text()));
        }
    }
    let _ = session.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Sample, growth_problems};

    fn samples(rss: &[u64], fds: &[u64]) -> Vec<Sample> {
        rss.iter()
            .zip(fds)
            .enumerate()
            .map(|(i, (&rss_kib, &fds))| Sample {
                at_secs: i as u64 * 10,
                rss_kib,
                fds,
                threads: 3,
                tasks: 20,
                heap_kib: 0,
            })
            .collect()
    }

    #[test]
    fn flat_resources_pass_and_each_kind_of_growth_is_named() {
        let flat = samples(
            &[5_000, 20_000, 21_000, 20_500, 20_800, 21_000, 20_900],
            &[9, 25, 25, 26, 25, 25, 25],
        );
        assert_eq!(growth_problems(&flat), Vec::<String>::new());

        let leaking_fds = samples(
            &[5_000, 20_000, 20_000, 20_000, 20_000, 20_000, 20_000],
            &[9, 25, 25, 30, 34, 40, 41],
        );
        assert_eq!(
            growth_problems(&leaking_fds),
            ["file descriptors grew from at most 25 early to 41 late (margin 8)"]
        );

        // 16 MiB plus a quarter of the early peak (20,000 KiB): 21,384 KiB.
        let leaking_memory = samples(
            &[5_000, 20_000, 20_000, 30_000, 35_000, 41_000, 41_385],
            &[25; 7],
        );
        assert_eq!(
            growth_problems(&leaking_memory),
            ["resident KiB grew from at most 20000 early to 41385 late (margin 21384)"]
        );

        // 1 MiB plus a quarter of the early peak (1,200 KiB): 1,324 KiB.
        let mut leaking_heap = flat.clone();
        for (sample, heap_kib) in leaking_heap
            .iter_mut()
            .zip([900, 1_200, 1_100, 1_600, 2_000, 2_300, 2_525])
        {
            sample.heap_kib = heap_kib;
        }
        assert_eq!(
            growth_problems(&leaking_heap),
            ["live heap KiB grew from at most 1200 early to 2525 late (margin 1324)"]
        );
        leaking_heap[6].heap_kib = 2_524;
        assert_eq!(growth_problems(&leaking_heap), Vec::<String>::new());

        assert_eq!(
            growth_problems(&flat[..3]),
            ["only 2 samples after the warm-up: run longer"]
        );
    }
}
