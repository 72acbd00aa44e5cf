//! Heap allocations per delta on the inbound path: a turn of agent-message
//! deltas from a peer over the memory transport, read through
//! `codexrt_core`'s turn events, while a global allocator counts every
//! allocation of the process.
//!
//! The peer's frames are built before counting starts and the reader's own
//! text is reserved in advance, so what is counted is the stack's work: the
//! rpc loop, the router, the outcome's text and the turn's queue. A delta
//! needs one allocation, the `String` the reader gets; the outcome's text and
//! the queues grow by doubling, which rounds to nothing per delta.
//!
//! A test binary of its own because the allocator is chosen per binary and
//! counts every thread: no other test may run meanwhile.

// A failed expectation is a failed test; the figures are printed for the
// record.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;
use std::time::Duration;

use bytes::Bytes;
use codexrt_core::{Runtime, RuntimeConfig, TurnEvent};
use codexrt_protocol::types::TurnStartParams;
use codexrt_transport::{Connection, FrameReceiver, FrameSender, memory};
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::time::timeout;

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations and reallocations of the process so far.
fn counts() -> (usize, usize) {
    let stats = HEAP.stats();
    (stats.allocations, stats.reallocations)
}

const DELTAS: usize = 100_000;
const PIECE: &str = "abcd";

/// Turns a hang into a failure; no step needs anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(120);

/// How the peer writes the deltas.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Lets the reader run after every delta, so that most deltas reach it
    /// one by one.
    OneByOne,
    /// As fast as the transport takes them: the reader may get some joined.
    Flood,
}

struct Peer {
    sender: FrameSender,
    receiver: FrameReceiver,
}

impl Peer {
    async fn expect(&mut self, method: &str) -> Value {
        let frame = timeout(PATIENCE, self.receiver.recv())
            .await
            .expect("the client wrote nothing")
            .expect("the client closed")
            .expect("a frame");
        let message: Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(message["method"], method, "{message}");
        message
    }

    async fn send(&self, frame: Bytes) {
        self.sender.send(frame).await.unwrap();
    }

    async fn send_json(&self, message: Value) {
        self.send(Bytes::from(message.to_string())).await;
    }
}

fn turn(status: &str) -> Value {
    json!({"id": "u1", "items": [], "status": status, "durationMs": 1})
}

/// Allocations and reallocations per delta of one turn of [`DELTAS`]
/// deltas written at `pace`, counted from the first delta the reader gets
/// to the last; and how many pieces the reader got them in.
async fn per_delta(pace: Pace) -> (f64, f64, usize) {
    let (client, server) = memory::pair(256);
    let Connection {
        sender,
        receiver,
        closer: _server_closer,
        ..
    } = server;
    let mut peer = Peer { sender, receiver };
    let config = RuntimeConfig::new("codexrt-tests", "0.0.1").call_timeout(PATIENCE);
    let handshake = async {
        let init = peer.expect("initialize").await;
        let agent = "codexrt-tests/0.169.0 (Debian 12.0.0; x86_64) xterm (codexrt-tests; 0.0.1)";
        let result = json!({"userAgent": agent, "codexHome": "/tmp/h",
            "platformFamily": "unix", "platformOs": "linux"});
        peer.send_json(json!({"id": init["id"], "result": result}))
            .await;
        peer.expect("initialized").await;
    };
    let (runtime, ()) = tokio::join!(Runtime::connect(client, config), handshake);
    let runtime = runtime.unwrap();

    let params = TurnStartParams {
        thread_id: "t1".to_owned(),
        ..TurnStartParams::default()
    };
    let answer = async {
        let request = peer.expect("turn/start").await;
        let result = json!({"turn": turn("inProgress")});
        peer.send_json(json!({"id": request["id"], "result": result}))
            .await;
    };
    let (handle, ()) = tokio::join!(runtime.start_turn(params), answer);
    let mut handle = handle.unwrap();
    let mut events = handle.events().unwrap();

    let delta = Bytes::from(
        json!({"method": "item/agentMessage/delta", "params":
            {"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": PIECE}})
        .to_string(),
    );
    let text = PIECE.repeat(DELTAS);
    let frames: Vec<Bytes> = std::iter::repeat_n(delta, DELTAS).collect();
    let item_started = json!({"method": "item/started", "params": {"threadId": "t1",
        "turnId": "u1", "item": {"type": "agentMessage", "id": "m1", "text": ""}}});
    let item_completed = json!({"method": "item/completed", "params": {"threadId": "t1",
        "turnId": "u1", "item": {"type": "agentMessage", "id": "m1", "text": text}}});
    let turn_completed = json!({"method": "turn/completed",
        "params": {"threadId": "t1", "turn": turn("completed")}});
    let (started, completed, ended) = (
        Bytes::from(item_started.to_string()),
        Bytes::from(item_completed.to_string()),
        Bytes::from(turn_completed.to_string()),
    );

    let writer = tokio::spawn(async move {
        peer.send(started).await;
        for frame in frames {
            peer.send(frame).await;
            if let Pace::OneByOne = pace {
                tokio::task::yield_now().await;
            }
        }
        peer.send(completed).await;
        peer.send(ended).await;
        peer
    });

    let mut joined = String::with_capacity(DELTAS * PIECE.len());
    let mut pieces = 0usize;
    let mut first = None;
    let mut last = None;
    while let Some(event) = timeout(PATIENCE, events.recv()).await.expect("stalled") {
        if let TurnEvent::Delta(delta) = event {
            if first.is_none() {
                first = Some((counts(), delta.parts));
            }
            joined.push_str(&delta.text);
            pieces += 1;
            if joined.len() == text.len() {
                last = Some(counts());
            }
        }
    }
    let outcome = handle.wait().await.unwrap();
    let _peer = writer.await.unwrap();
    assert!(joined == text, "the deltas joined differ from the text");
    assert_eq!(outcome.final_text(), Some(text.as_str()));
    assert!(
        outcome.streamed[0].text == text,
        "the outcome's stream differs"
    );

    let (((allocs0, reallocs0), parts0), (allocs1, reallocs1)) =
        (first.expect("a delta"), last.expect("every delta"));
    // Counted from after the first piece to the last: the deltas in between.
    let counted = (DELTAS - parts0 as usize) as f64;
    (
        (allocs1 - allocs0) as f64 / counted,
        (reallocs1 - reallocs0) as f64 / counted,
        pieces,
    )
}

async fn check(pace: Pace) {
    let (allocations, reallocations, pieces) = per_delta(pace).await;
    println!(
        "{pace:?}: {DELTAS} deltas read in {pieces} pieces; per delta \
         {allocations:.3} allocations, {reallocations:.3} reallocations"
    );
    // One `String` per piece the reader gets; the queue's blocks, the
    // channel's blocks and the growth of the outcome's text add a few
    // hundredths.
    let pieces_per_delta = pieces as f64 / DELTAS as f64;
    assert!(
        allocations <= pieces_per_delta + 0.1,
        "{allocations:.3} allocations per delta, for {pieces_per_delta:.3} pieces per delta"
    );
    assert!(
        reallocations <= 0.1,
        "{reallocations:.3} reallocations per delta"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_costs_one_allocation_at_most() {
    // One after the other: the allocator counts the whole process.
    check(Pace::OneByOne).await;
    check(Pace::Flood).await;
}
