//! The heap an over-long answer costs: while a 40 MiB answer streams from a
//! child process through the stdio transport (limit 8 MiB) and the rpc
//! layer, the process's heap grows by at most 1.1 times the limit, and the
//! call fails with `FrameTooLarge`.
//!
//! A test binary of its own, with a single test, because it counts every
//! allocation of the process through a global allocator: no other test may
//! allocate meanwhile, and the allocator is chosen per binary.

// A failed expectation is a failed test; the figures are printed for the
// record.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;
use std::time::Duration;

use cap::Cap;
use codexrt_rpc::{RpcClient, RpcConfig, RpcError};
use codexrt_transport::{Spawned, StdioTransport};
use serde_json::{Value, json};
use tokio::time::timeout;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const CHILD: &str = env!("CARGO_BIN_EXE_test-child");

const LIMIT: usize = 8 << 20;
const ANSWER: usize = 40 << 20;

/// Turns a hang into a failure; no step needs anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(60);

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_answer_costs_at_most_the_limit_in_heap() {
    let Spawned { connection, .. } = StdioTransport::new(CHILD)
        .args(["rpc-server", "0"])
        .max_frame_len(LIMIT)
        .spawn()
        .await
        .expect("spawn test-child");
    let config = RpcConfig::new().call_timeout(Duration::from_secs(30));
    let (client, _incoming) = RpcClient::start(connection, config);
    // Whatever the first call sets up lazily is in place before counting.
    let warm: Value = client.call("warm", ()).await.expect("a first call");
    assert_eq!(warm["method"], "warm");

    // The allocator keeps the highest count since the process started, not
    // since a point of our choosing: the peak measured from here is an upper
    // bound of the one during the call, and exact if the start-up never went
    // as high, which `before` shows.
    let baseline = HEAP.allocated();
    let before = HEAP.max_allocated().saturating_sub(baseline);
    let big = client.call::<Value>("big", json!({ "len": ANSWER }));
    match timeout(PATIENCE, big).await.expect("the call stalled") {
        Err(RpcError::FrameTooLarge { max_len, .. }) => assert_eq!(max_len, LIMIT),
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
    let peak = HEAP.max_allocated().saturating_sub(baseline);
    let after = HEAP.allocated().saturating_sub(baseline);
    println!(
        "limit {:.2} MiB, answer {:.2} MiB: peak extra heap {:.2} MiB ({:.3} x limit; \
         {:.2} MiB before the call), {:.2} MiB still held after it",
        mib(LIMIT),
        mib(ANSWER),
        mib(peak),
        peak as f64 / LIMIT as f64,
        mib(before),
        mib(after),
    );
    // The reader's buffer did grow to the limit: the count is not vacuous.
    assert!(peak >= LIMIT, "peak extra heap {peak} bytes");
    assert!(
        peak <= LIMIT + LIMIT / 10,
        "peak extra heap {peak} bytes for a limit of {LIMIT}"
    );
    // And it was given back.
    assert!(after < LIMIT / 10, "{after} bytes still held");

    client
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}
