//! The rpc layer over the stdio transport against a real child process
//! (`test-child rpc-server`): calls keep completing through a stderr flood,
//! an answer over the frame size limit fails its call at once, and a child's
//! death fails every pending call with its close report.

use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use codexrt_rpc::{Incoming, Malformation, RpcClient, RpcConfig, RpcError};
use codexrt_tests::flood::Flood;
use codexrt_transport::{CloseReason, CloseReport, FrameError, Spawned, StdioTransport};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

const CHILD: &str = env!("CARGO_BIN_EXE_test-child");

/// Turns a hang into a failure; far beyond what any step needs.
const PATIENCE: Duration = Duration::from_secs(60);

/// The stderr ring size of the transport, by default.
const RING: u64 = 64 * 1024;

async fn rpc_server(stderr_per_request: u64) -> (RpcClient, codexrt_rpc::IncomingReceiver, u32) {
    let Spawned {
        connection, pid, ..
    } = StdioTransport::new(CHILD)
        .args(["rpc-server", &stderr_per_request.to_string()])
        .spawn()
        .await
        .expect("spawn test-child");
    let (client, incoming) = RpcClient::start(connection, RpcConfig::new());
    (client, incoming, pid)
}

fn echoed(method: &str, params: Value) -> Value {
    json!({"method": method, "params": params})
}

fn kill(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    #[allow(unsafe_code)]
    // SAFETY: kill(2) only sends a signal; the pid is our own child's.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_keep_completing_through_a_100_mb_stderr_flood() {
    const CALLS: u64 = 1_000;
    const STDERR_PER_CALL: u64 = 100 * 1024;
    let (client, mut incoming, _pid) = rpc_server(STDERR_PER_CALL).await;

    // The server sends a `tick` notification after every answer; they must
    // arrive in order, and reading them must not be what keeps calls moving.
    let ticks = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(item) = incoming.recv().await {
            match item {
                Incoming::Notification(tick) if tick.method == "tick" => {
                    let params: Value =
                        serde_json::from_str(tick.params.expect("tick params").get())
                            .expect("json");
                    seen.push(params["n"].as_u64().expect("a tick number"));
                }
                other => panic!("unexpected incoming item {other:?}"),
            }
        }
        seen
    });

    // Fifty calls in flight at a time.
    let mut calls = tokio::task::JoinSet::new();
    for worker in 0..50_u64 {
        let client = client.clone();
        calls.spawn(async move {
            for n in (worker..CALLS).step_by(50) {
                let result: Value = client.call("echo", json!({"n": n})).await.expect("call");
                assert_eq!(result, echoed("echo", json!({"n": n})));
            }
        });
    }
    timeout(PATIENCE, async {
        while let Some(done) = calls.join_next().await {
            done.expect("a calling task");
        }
    })
    .await
    .expect("calls stalled");

    let report = client
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    assert_eq!(report.exit.and_then(|status| status.code()), Some(0));
    let total = CALLS * STDERR_PER_CALL;
    let tail = Flood::new().bytes(total - RING..total);
    assert_eq!(report.stderr_tail.as_bytes(), tail.as_slice());

    drop(client);
    let ticks = timeout(PATIENCE, ticks)
        .await
        .expect("ticks stalled")
        .expect("tick task");
    assert_eq!(ticks, (1..=CALLS).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_answer_fails_its_call_at_once_while_others_complete() {
    const LIMIT: usize = 1 << 20;
    let Spawned { connection, .. } = StdioTransport::new(CHILD)
        .args(["rpc-server", "0"])
        .max_frame_len(LIMIT)
        .spawn()
        .await
        .expect("spawn test-child");
    // Failing with the timeout would be `Timeout`, not `FrameTooLarge`.
    let config = RpcConfig::new().call_timeout(Duration::from_secs(30));
    let (client, mut incoming) = RpcClient::start(connection, config);
    let reports = tokio::spawn(async move {
        let mut reports = Vec::new();
        while let Some(item) = incoming.recv().await {
            match item {
                Incoming::Notification(tick) if tick.method == "tick" => {}
                Incoming::Malformed(report) => reports.push(report),
                other => panic!("unexpected incoming item {other:?}"),
            }
        }
        reports
    });

    // Calls before and after the big one in the child's queue.
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..20 {
        let client = client.clone();
        calls.spawn(async move {
            let result: Value = client.call("echo", json!({"n": n})).await?;
            assert_eq!(result, echoed("echo", json!({"n": n})));
            Ok::<_, RpcError>(())
        });
    }
    let big = client.call::<Value>("big", json!({"len": 8 * LIMIT}));
    match timeout(PATIENCE, big).await.expect("the call stalled") {
        Err(RpcError::FrameTooLarge {
            method,
            seen,
            max_len,
        }) => {
            assert_eq!((method.as_str(), max_len), ("big", LIMIT));
            assert!(seen > LIMIT && seen < 8 * LIMIT, "seen {seen}");
        }
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
    timeout(PATIENCE, async {
        while let Some(done) = calls.join_next().await {
            done.expect("a calling task").expect("an echo call");
        }
    })
    .await
    .expect("calls stalled");
    let after: Value = client.call("after", ()).await.expect("a call after");
    assert_eq!(after, echoed("after", Value::Null));

    client
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    drop(client);
    let reports = timeout(PATIENCE, reports)
        .await
        .expect("incoming stalled")
        .expect("incoming task");
    match reports.as_slice() {
        [report] => assert!(
            matches!(
                &report.problem,
                Malformation::Transport(FrameError::TooLong { max_len: LIMIT, .. })
            ),
            "{report:?}"
        ),
        other => panic!("expected one malformed-frame report, got {other:?}"),
    }
}

/// The exit status and reason of a report, for whole-value comparison.
fn ending(report: &CloseReport) -> (String, Option<i32>, Option<i32>) {
    let exit = report.exit;
    (
        format!("{:?}", report.reason),
        exit.and_then(|status| status.code()),
        exit.and_then(|status| status.signal()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_call_fails_every_pending_call_with_the_report() {
    let (client, _incoming, pid) = rpc_server(0).await;
    let mut pending = tokio::task::JoinSet::new();
    for n in 0..100 {
        let client = client.clone();
        pending.spawn(async move { client.call::<Value>("hang", json!({"n": n})).await });
    }
    // The server reads requests in order: once a later call is answered, the
    // hundred `hang` requests have reached it and are waiting there.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let probe: Value = client.call("probe", ()).await.expect("probe");
    assert_eq!(probe, echoed("probe", Value::Null));
    assert_eq!(client.stats().pending_calls, 100);

    let killed = Instant::now();
    kill(pid, libc::SIGKILL);
    let mut reports: Vec<Arc<CloseReport>> = Vec::new();
    while let Some(outcome) = timeout(PATIENCE, pending.join_next())
        .await
        .expect("calls stalled")
    {
        match outcome.expect("a calling task") {
            Err(RpcError::Closed { method, report, .. }) => {
                assert_eq!(method, "hang");
                reports.push(report);
            }
            other => panic!("a pending call ended with {other:?}"),
        }
    }
    let elapsed = killed.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "pending calls failed after {elapsed:?}"
    );
    assert_eq!(reports.len(), 100);
    let expected = ("ProcessExited".to_owned(), None, Some(libc::SIGKILL));
    for report in &reports {
        assert_eq!(ending(report), expected);
        assert!(
            Arc::ptr_eq(report, &reports[0]),
            "every call carries the same report"
        );
    }

    // A call made afterwards fails at once, with the same report.
    let started = Instant::now();
    match client.call::<Value>("late", ()).await {
        Err(RpcError::Closed { report, .. }) => assert!(Arc::ptr_eq(&report, &reports[0])),
        other => panic!("a call after the death ended with {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(client.stats().pending_calls, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_exits_mid_call_is_reported_with_its_code_and_stderr() {
    let Spawned { connection, .. } = StdioTransport::new(CHILD)
        .args(["exit", "3", "fatal: configuration is broken"])
        .spawn()
        .await
        .expect("spawn test-child");
    let (client, _incoming) = RpcClient::start(connection, RpcConfig::new());
    match timeout(PATIENCE, client.call::<Value>("initialize", json!({}))).await {
        Ok(Err(RpcError::Closed { report, .. })) => {
            assert_eq!(ending(&report), ("ProcessExited".to_owned(), Some(3), None));
            assert_eq!(report.stderr_tail, "fatal: configuration is broken\n");
            assert_eq!(
                report.to_string(),
                "the process exited (exit status: 3); last stderr line: fatal: configuration is broken"
            );
        }
        other => panic!("the call ended with {other:?}"),
    }
}
