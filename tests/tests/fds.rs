//! File descriptor hygiene of the stdio transport: every pipe and process
//! handle is closed once a connection is over, however it ended. A test binary
//! of its own with a single test, because it counts the descriptors of the
//! whole process and no other test may open any meanwhile.

// A failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io;
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{CloseReason, Connection, Spawned, StdioTransport};
use tokio::time::{Instant, timeout};

const CHILD: &str = env!("CARGO_BIN_EXE_test-child");

/// Turns a hang into a failure; no step needs anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(30);

fn open_fds() -> usize {
    // The directory handle itself is open while counting, every time alike.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

async fn spawn(args: &[&str]) -> (Connection, u32) {
    let Spawned {
        connection, pid, ..
    } = StdioTransport::new(CHILD)
        .args(args)
        .spawn()
        .await
        .expect("spawn test-child");
    (connection, pid)
}

/// Waits until the open descriptors are back to `expected` and returns the
/// last count: a connection that ends on its own closes its pipes right after
/// publishing its report, on its own task.
async fn settled_fds(expected: usize) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let open = open_fds();
        if open == expected || Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn round_trip_and_shut_down() {
    let (mut connection, _pid) = spawn(&["echo"]).await;
    connection
        .sender
        .send(Bytes::from_static(b"ping"))
        .await
        .expect("send");
    let echo = timeout(PATIENCE, connection.receiver.recv())
        .await
        .expect("echo");
    assert_eq!(
        echo.map(|frame| frame.expect("a frame")),
        Some(Bytes::from_static(b"ping"))
    );
    let report = timeout(PATIENCE, connection.closer.shutdown(Duration::from_secs(5)))
        .await
        .expect("shutdown stalled")
        .expect("shutdown");
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
}

#[allow(unsafe_code)]
fn kill_9(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: `kill` takes two integers; the pid is a child of this test.
    let result = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(result, 0, "kill: {}", io::Error::last_os_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_descriptor_is_closed_when_a_connection_ends() {
    // The first child sets up what the runtime keeps for all later ones (its
    // SIGCHLD handling), so the baseline is taken after it.
    round_trip_and_shut_down().await;
    let baseline = open_fds();

    // A shutdown returns once everything is closed.
    round_trip_and_shut_down().await;
    assert_eq!(open_fds(), baseline, "after a shutdown");

    let (connection, _pid) = spawn(&["exit", "3", "bye"]).await;
    let report = timeout(PATIENCE, connection.closer.closed())
        .await
        .expect("exit");
    assert!(
        matches!(report.reason, CloseReason::ProcessExited),
        "{report}"
    );
    drop(connection);
    assert_eq!(
        settled_fds(baseline).await,
        baseline,
        "after the child exited"
    );

    let (connection, pid) = spawn(&["grandchild"]).await;
    kill_9(pid);
    let report = timeout(PATIENCE, connection.closer.closed())
        .await
        .expect("kill");
    assert!(
        matches!(report.reason, CloseReason::ProcessExited),
        "{report}"
    );
    drop(connection);
    assert_eq!(
        settled_fds(baseline).await,
        baseline,
        "after the child was killed"
    );

    let (connection, _pid) = spawn(&["linger"]).await;
    drop(connection);
    assert_eq!(
        settled_fds(baseline).await,
        baseline,
        "after the connection was dropped"
    );
}
