//! Process hygiene over many connections: a thousand runtimes spawned,
//! handshaken and shut down against the fake app-server leave the open
//! descriptors and the threads where they were and no child behind, not
//! even a zombie. A test binary of its own with a single test, because it
//! counts the descriptors, threads and children of the whole process.

// A failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig};
use codexrt_testkit::TempDir;
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use codexrt_transport::CloseReason;
use tokio::time::{Instant, timeout};

const FAKE: &str = env!("CARGO_BIN_EXE_fake-app-server");

/// How many connections the test opens and closes, one after the other.
const CYCLES: usize = 1_000;

/// Turns a hang into a failure; no step needs anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(30);

fn open_fds() -> usize {
    // The directory handle itself is open while counting, every time alike.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a `Threads:` line")
}

/// Every child of this process, zombies included: each thread lists the
/// children it started.
fn children() -> Vec<u32> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let path = task.expect("a task").path().join("children");
        // A thread that ended meanwhile has no file any more.
        let Ok(list) = std::fs::read_to_string(path) else {
            continue;
        };
        children.extend(
            list.split_whitespace()
                .map(|pid| pid.parse::<u32>().expect("a pid")),
        );
    }
    children
}

/// Waits until `count()` is back to `expected` and returns the last count:
/// a connection's pipes close, and idle blocking threads end, on their own
/// time.
async fn settled(expected: usize, count: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = count();
        if now == expected || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn cycle(config: &RuntimeConfig) {
    let runtime = timeout(PATIENCE, Runtime::spawn(config.clone()))
        .await
        .expect("spawn and handshake stalled")
        .expect("spawn and handshake");
    let report = timeout(PATIENCE, runtime.shutdown())
        .await
        .expect("shutdown stalled")
        .expect("shutdown");
    assert!(
        matches!(report.reason, CloseReason::Shutdown)
            && report.exit.and_then(|exit| exit.code()) == Some(0),
        "{report}"
    );
}

#[test]
fn a_thousand_connections_leave_no_descriptor_thread_or_child_behind() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Idle blocking threads end soon, so the count settles quickly.
        .thread_keep_alive(Duration::from_millis(100))
        .enable_all()
        .build()
        .expect("a runtime");
    let threads_before = threads();
    let dir = TempDir::new("codexrt-cycles").expect("a temporary folder");
    let script = dir.path().join("script.json");
    FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close())
        .save(&script)
        .expect("save the script");
    let config = RuntimeConfig::new("codexrt-cycles", "0.0.1")
        .program(FAKE)
        .arg(&script)
        .shutdown_grace(Duration::from_secs(5));
    runtime.block_on(async {
        // The first child sets up what the runtime keeps for all later ones
        // (its SIGCHLD handling), so the baseline is taken after it.
        cycle(&config).await;
        let fds_before = settled(open_fds(), open_fds).await;
        for _ in 0..CYCLES {
            cycle(&config).await;
        }
        assert_eq!(settled(fds_before, open_fds).await, fds_before, "open fds");
        assert_eq!(
            settled(threads_before, threads).await,
            threads_before,
            "threads"
        );
        assert_eq!(children(), Vec::<u32>::new(), "children left");
    });
}
