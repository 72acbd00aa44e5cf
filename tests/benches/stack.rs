//! `cargo xtask bench`: throughput of the transport and rpc layers, and of
//! the protocol's typed decode, reported as ratios against baselines
//! measured in the same run, so that the numbers mean the same on a fast
//! and a slow machine.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use codexrt_protocol::ServerNotification;
use codexrt_rpc::{Incoming, RpcClient, RpcConfig};
use codexrt_transport::framing::LineDecoder;
use codexrt_transport::memory;
use serde_json::Value;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("codexrt benchmarks (each figure is the best of 5 runs)\n");
    framing_is_linear_in_frame_size();
    framing_against_a_bare_newline_split();
    runtime.block_on(rpc_calls_against_raw_frames());
    runtime.block_on(notifications_against_a_plain_parse());
    typed_decode_against_a_plain_parse();
}

/// The best of five runs of `run`, which returns how long its measured part took.
fn best(mut run: impl FnMut() -> Duration) -> Duration {
    (0..5).map(|_| run()).min().unwrap_or_default()
}

async fn best_async<F: std::future::Future<Output = Duration>>(
    mut run: impl FnMut() -> F,
) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        best = best.min(run().await);
    }
    best
}

fn per(duration: Duration, count: usize) -> f64 {
    duration.as_nanos() as f64 / count as f64
}

/// Decodes one frame of `len` bytes arriving in 4 KiB reads.
fn decode_one_frame(len: usize) -> Duration {
    let mut input = vec![b'x'; len];
    input.push(b'\n');
    let mut decoder = LineDecoder::new(len + 1);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let started = Instant::now();
    let mut frames = 0;
    for chunk in input.chunks(4096) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buf) {
            black_box(frame.expect("a frame"));
            frames += 1;
        }
    }
    assert_eq!(frames, 1);
    started.elapsed()
}

fn framing_is_linear_in_frame_size() {
    let small = 1 << 20;
    let large = 64 << 20;
    let small_ns = per(best(|| decode_one_frame(small)), small);
    let large_ns = per(best(|| decode_one_frame(large)), large);
    println!("framing, one frame in 4 KiB reads:");
    println!("  1 MiB frame   {small_ns:8.3} ns/byte");
    println!("  64 MiB frame  {large_ns:8.3} ns/byte");
    println!(
        "  ratio 64 MiB / 1 MiB per byte: {:.2} (linear cost: about 1)\n",
        large_ns / small_ns
    );
}

fn small_frames(count: usize) -> Vec<u8> {
    let mut input = Vec::new();
    for n in 0..count {
        input.extend_from_slice(
            format!(r#"{{"method":"item/agentMessage/delta","params":{{"delta":"token {n}"}}}}"#)
                .as_bytes(),
        );
        input.push(b'\n');
    }
    input
}

fn framing_against_a_bare_newline_split() {
    const FRAMES: usize = 200_000;
    let input = small_frames(FRAMES);
    let decoder_time = best(|| {
        let mut decoder = LineDecoder::new(1 << 20);
        let mut buf = BytesMut::new();
        let started = Instant::now();
        let mut frames = 0;
        for chunk in input.chunks(64 * 1024) {
            buf.extend_from_slice(chunk);
            while let Some(frame) = decoder.decode(&mut buf) {
                black_box(frame.expect("a frame"));
                frames += 1;
            }
        }
        assert_eq!(frames, FRAMES);
        started.elapsed()
    });
    // The baseline only finds the newlines and slices: the least any framing
    // can do.
    let bare_time = best(|| {
        let input = Bytes::from(input.clone());
        let started = Instant::now();
        let mut frames = 0;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &input) {
            black_box(input.slice(start..end));
            start = end + 1;
            frames += 1;
        }
        assert_eq!(frames, FRAMES);
        started.elapsed()
    });
    println!("framing, {FRAMES} small frames in 64 KiB reads:");
    println!(
        "  LineDecoder        {:8.1} ns/frame",
        per(decoder_time, FRAMES)
    );
    println!(
        "  bare memchr split  {:8.1} ns/frame",
        per(bare_time, FRAMES)
    );
    println!(
        "  ratio: {:.2}\n",
        decoder_time.as_secs_f64() / bare_time.as_secs_f64()
    );
}

/// A peer on the far side of a memory pair that echoes each request's params
/// as its result, parsing only what it must.
fn echo_peer(mut server: codexrt_transport::Connection) {
    tokio::spawn(async move {
        while let Some(Ok(frame)) = server.receiver.recv().await {
            let request: Value = serde_json::from_slice(&frame).expect("a request");
            let answer = serde_json::json!({"id": request["id"], "result": request["params"]});
            if server
                .sender
                .send(Bytes::from(answer.to_string()))
                .await
                .is_err()
            {
                return;
            }
        }
    });
}

async fn rpc_calls_against_raw_frames() {
    const CALLS: usize = 20_000;
    const IN_FLIGHT: usize = 32;
    let rpc_time = best_async(|| async {
        let (client_side, server_side) = memory::pair(256);
        echo_peer(server_side);
        let (client, _incoming) = RpcClient::start(client_side, RpcConfig::new());
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..IN_FLIGHT {
            let client = client.clone();
            tasks.spawn(async move {
                for n in (worker..CALLS).step_by(IN_FLIGHT) {
                    let echoed: u64 = client.call("echo", n).await.expect("a call");
                    assert_eq!(echoed, n as u64);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a worker");
        }
        started.elapsed()
    })
    .await;
    // The baseline: the same frames and the same peer, with ids matched by
    // hand and no rpc layer: one writer and one reader on the raw pair.
    let raw_time = best_async(|| async {
        let (client_side, server_side) = memory::pair(256);
        echo_peer(server_side);
        let codexrt_transport::Connection {
            sender,
            mut receiver,
            ..
        } = client_side;
        let started = Instant::now();
        let writer = tokio::spawn(async move {
            for n in 0..CALLS {
                let frame = format!(r#"{{"id":{n},"method":"echo","params":{n}}}"#);
                sender.send(Bytes::from(frame)).await.expect("send");
            }
            sender
        });
        for _ in 0..CALLS {
            let frame = receiver.recv().await.expect("open").expect("a frame");
            black_box(serde_json::from_slice::<Value>(&frame).expect("an answer"));
        }
        drop(writer.await);
        started.elapsed()
    })
    .await;
    println!("rpc calls over the memory pair, {CALLS} calls ({IN_FLIGHT} in flight):");
    println!(
        "  RpcClient::call            {:8.0} ns/call",
        per(rpc_time, CALLS)
    );
    println!(
        "  raw frames, ids by hand    {:8.0} ns/call",
        per(raw_time, CALLS)
    );
    println!(
        "  ratio: {:.2}\n",
        rpc_time.as_secs_f64() / raw_time.as_secs_f64()
    );
}

async fn notifications_against_a_plain_parse() {
    const NOTIFICATIONS: usize = 200_000;
    let frames: Vec<Bytes> = small_frames(NOTIFICATIONS)
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(Bytes::copy_from_slice)
        .collect();
    let routed = best_async(|| {
        let frames = frames.clone();
        async move {
            let (client_side, server) = memory::pair(1024);
            // Room for every notification: this measures routing, not the
            // overflow policy.
            let config = RpcConfig::new().incoming_capacity(NOTIFICATIONS + 1);
            let (_client, mut incoming) = RpcClient::start(client_side, config);
            let started = Instant::now();
            let sender = server.sender.clone();
            tokio::spawn(async move {
                for frame in frames {
                    sender.send(frame).await.expect("send");
                }
            });
            for _ in 0..NOTIFICATIONS {
                match incoming.recv().await {
                    Some(Incoming::Notification(notification)) => {
                        black_box(notification);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            let elapsed = started.elapsed();
            drop(server);
            elapsed
        }
    })
    .await;
    // The baseline: parsing each frame into a `Value`, what a client without
    // raw params would do, with no transport and no routing at all.
    let parsed = best(|| {
        let started = Instant::now();
        for frame in &frames {
            black_box(serde_json::from_slice::<Value>(frame).expect("json"));
        }
        started.elapsed()
    });
    println!("inbound notifications, {NOTIFICATIONS} frames:");
    println!(
        "  transport + rpc routing to the receiver  {:8.0} ns/notification",
        per(routed, NOTIFICATIONS)
    );
    println!(
        "  serde_json::Value parse alone            {:8.0} ns/notification",
        per(parsed, NOTIFICATIONS)
    );
    println!(
        "  ratio: {:.2}",
        routed.as_secs_f64() / parsed.as_secs_f64()
    );
}

/// The params of an `item/completed` as codex 0.171.0 writes them, holding
/// `item`.
fn item_completed(item: &str) -> String {
    format!(
        r#"{{"completedAtMs":0,"contentTokenCount":null,"item":{item},"threadId":"thr-1","turnId":"turn-1"}}"#
    )
}

/// `ServerNotification::decode_text` against a `serde_json::Value` parse of
/// the same params: a command's completion, and a user message with an
/// image, given by a URL and by a 1 MiB data URL (a variant whose part has
/// alternative members, read in one pass like the others).
fn typed_decode_against_a_plain_parse() {
    let command = item_completed(
        r#"{"aggregatedOutput":null,"command":"/bin/bash -lc 'touch approved.txt'","commandActions":[{"command":"touch approved.txt","type":"unknown"}],"completedAtMs":0,"cwd":"/work","durationMs":0,"exitCode":0,"id":"call-0","pluginId":null,"processId":"41","scriptPath":null,"source":"unifiedExecStartup","startedAtMs":0,"status":"completed","type":"commandExecution"}"#,
    );
    let image = |url: &str| {
        item_completed(&format!(
            r#"{{"clientId":null,"completedAtMs":0,"content":[{{"text":"what is in this picture?","text_elements":[],"type":"text"}},{{"type":"image","url":"{url}"}}],"id":"item-1","startedAtMs":0,"type":"userMessage"}}"#
        ))
    };
    let data_url = format!("data:image/png;base64,{}", "QUJD".repeat(256 * 1024));
    let cases = [
        ("a command's completion", command, 100_000),
        (
            "a user message, image URL",
            image("https://example.com/a.png"),
            100_000,
        ),
        ("a user message, 1 MiB data URL", image(&data_url), 100),
    ];
    println!("typed decode of `item/completed` params, against a serde_json::Value parse:");
    for (what, params, count) in cases {
        let typed = best(|| {
            let started = Instant::now();
            for _ in 0..count {
                let decoded = ServerNotification::decode_text("item/completed", Some(&params));
                assert!(
                    matches!(decoded, Ok(ServerNotification::ItemCompleted(_))),
                    "{what} did not decode"
                );
                black_box(decoded.ok());
            }
            started.elapsed()
        });
        let parsed = best(|| {
            let started = Instant::now();
            for _ in 0..count {
                black_box(serde_json::from_str::<Value>(&params).expect("json"));
            }
            started.elapsed()
        });
        println!(
            "  {what:<32} typed {:>10.0} ns, Value {:>10.0} ns, ratio {:.2}",
            per(typed, count),
            per(parsed, count),
            typed.as_secs_f64() / parsed.as_secs_f64()
        );
    }
}
