//! Floods: a peer that writes as fast as the memory transport takes it, a
//! million deltas in one turn, consumers that read slowly, never, or in
//! bursts; answers and server requests behind a flood nobody reads; and a
//! seeded random mix of turns, streams, early notifications and reader
//! speeds. Nothing may be lost, reordered or held back.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use codexrt_core::{
    PendingServerRequest, Runtime, StreamKind, TurnEvent, TurnEvents, TurnHandle, TurnOutcome,
};
use codexrt_protocol::types::{TurnStartParams, TurnStatus};
use codexrt_transport::{Closer, Connection, FrameReceiver, FrameSender, memory};
use serde_json::{Value, json};

use crate::support::config;

/// The server's end of a memory pair, speaking just enough of the protocol.
struct Peer {
    sender: FrameSender,
    receiver: FrameReceiver,
    _closer: Closer,
}

impl Peer {
    async fn recv(&mut self) -> Value {
        let frame = tokio::time::timeout(Duration::from_secs(30), self.receiver.recv())
            .await
            .expect("the client wrote nothing")
            .expect("the client closed")
            .expect("a frame");
        serde_json::from_slice(&frame).unwrap()
    }

    async fn expect(&mut self, method: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["method"], method, "{message}");
        message
    }

    async fn send(&self, frame: String) {
        self.sender.send(Bytes::from(frame)).await.unwrap();
    }

    async fn respond(&self, id: &Value, result: Value) {
        self.send(json!({"id": id, "result": result}).to_string())
            .await;
    }

    /// Answers `initialize` as codex 0.169.0 does and takes `initialized`.
    async fn handshake(&mut self) {
        let init = self.expect("initialize").await;
        let agent = "codexrt-tests/0.169.0 (Debian 12.0.0; x86_64) xterm (codexrt-tests; 0.0.1)";
        self.respond(
            &init["id"],
            json!({"userAgent": agent, "codexHome": "/tmp/h", "platformFamily": "unix", "platformOs": "linux"}),
        )
        .await;
        self.expect("initialized").await;
    }
}

/// A runtime over a memory pair, and the peer at the other end.
async fn connect() -> (Runtime, Peer) {
    let (client, server) = memory::pair(256);
    let Connection {
        sender,
        receiver,
        closer,
        ..
    } = server;
    let mut peer = Peer {
        sender,
        receiver,
        _closer: closer,
    };
    // Floods take long in debug builds on a loaded machine; a call here may
    // wait behind one, and only its outcome is in question, not its speed.
    let config = config().call_timeout(Duration::from_secs(600));
    let (runtime, ()) = tokio::join!(Runtime::connect(client, config), peer.handshake());
    (runtime.unwrap(), peer)
}

fn turn_json(id: &str, status: &str) -> Value {
    json!({"id": id, "items": [], "status": status, "durationMs": 1})
}

fn start_params(thread: &str) -> TurnStartParams {
    TurnStartParams {
        thread_id: thread.to_owned(),
        ..TurnStartParams::default()
    }
}

/// The frames of one turn's traffic, as codex writes them.
fn turn_started(thread: &str, turn: &str) -> String {
    json!({"method": "turn/started", "params": {"threadId": thread, "turn": turn_json(turn, "inProgress")}})
        .to_string()
}

fn item_started(thread: &str, turn: &str, item: &str) -> String {
    json!({"method": "item/started", "params": {"threadId": thread, "turnId": turn, "startedAtMs": 1,
        "item": {"type": "agentMessage", "id": item, "text": ""}}})
    .to_string()
}

fn item_completed(thread: &str, turn: &str, item: &str, text: &str) -> String {
    json!({"method": "item/completed", "params": {"threadId": thread, "turnId": turn, "completedAtMs": 2,
        "item": {"type": "agentMessage", "id": item, "text": text}}})
    .to_string()
}

fn turn_completed(thread: &str, turn: &str) -> String {
    json!({"method": "turn/completed", "params": {"threadId": thread, "turn": turn_json(turn, "completed")}})
        .to_string()
}

fn delta(kind: StreamKind, thread: &str, turn: &str, item: &str, text: &str) -> String {
    let (method, extra) = match kind {
        StreamKind::AgentMessage => ("item/agentMessage/delta", None),
        StreamKind::Reasoning => ("item/reasoning/textDelta", Some(("contentIndex", 0))),
        StreamKind::ReasoningSummary => {
            ("item/reasoning/summaryTextDelta", Some(("summaryIndex", 0)))
        }
        StreamKind::CommandOutput => ("item/commandExecution/outputDelta", None),
        StreamKind::FileChangeOutput => ("item/fileChange/outputDelta", None),
        _ => ("item/plan/delta", None),
    };
    let mut params = json!({"threadId": thread, "turnId": turn, "itemId": item, "delta": text});
    if let Some((key, value)) = extra {
        params[key] = json!(value);
    }
    json!({"method": method, "params": params}).to_string()
}

/// What a reader saw of one turn: the methods of every notification and,
/// per item and stream, the text of its deltas joined.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    lifecycle: Vec<String>,
    texts: BTreeMap<(String, String), String>,
    deltas: u64,
}

impl Seen {
    fn add(&mut self, event: TurnEvent) {
        match event {
            TurnEvent::Delta(delta) => {
                self.deltas += u64::from(delta.parts);
                let key = (delta.item_id.to_string(), format!("{:?}", delta.kind));
                self.texts.entry(key).or_default().push_str(&delta.text);
            }
            TurnEvent::Notification(note) => self.lifecycle.push(note.method().to_owned()),
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// How a reader takes a turn's events.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// Sleeps 1 ms every `every` events.
    Slow { every: u64 },
    /// Reads nothing until the turn's outcome is in, then everything.
    Never,
    /// Reads `burst` events, then sleeps `pause_ms`.
    Bursts { burst: u64, pause_ms: u64 },
    /// Reads as fast as it can.
    Eager,
}

async fn read_all(mut events: TurnEvents, reader: Reader) -> Seen {
    let mut seen = Seen::default();
    let mut count = 0u64;
    while let Some(event) = events.recv().await {
        seen.add(event);
        count += 1;
        match reader {
            Reader::Slow { every } if count % every == 0 => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Reader::Bursts { burst, pause_ms } if count % burst == 0 => {
                tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            }
            _ => {}
        }
    }
    seen
}

/// Starts a turn on thread `t1`, which the peer answers as turn `u1`.
async fn start_turn_u1(runtime: &Runtime, peer: &mut Peer) -> TurnHandle {
    let start = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.start_turn(start_params("t1")).await }
    });
    let request = peer.expect("turn/start").await;
    let result = json!({"turn": turn_json("u1", "inProgress")});
    peer.respond(&request["id"], result).await;
    start.await.unwrap().unwrap()
}

/// One turn of `count` agent-message deltas, each a different piece, with
/// the whole text in `item/completed`; the reader reads as `reader` says.
async fn flood_one_turn(count: u64, reader: Reader) {
    let (runtime, mut peer) = connect().await;
    let mut handle = start_turn_u1(&runtime, &mut peer).await;
    let events = handle.events().unwrap();
    let writer = tokio::spawn(async move {
        let mut text = String::new();
        peer.send(turn_started("t1", "u1")).await;
        peer.send(item_started("t1", "u1", "m1")).await;
        for n in 0..count {
            let piece = format!("{n:x}.");
            text.push_str(&piece);
            peer.send(delta(StreamKind::AgentMessage, "t1", "u1", "m1", &piece))
                .await;
        }
        peer.send(item_completed("t1", "u1", "m1", &text)).await;
        peer.send(turn_completed("t1", "u1")).await;
        (peer, text)
    });
    let outcome: TurnOutcome;
    let seen = match reader {
        Reader::Never => {
            // The outcome comes while nobody has read a single event.
            outcome = handle.wait().await.unwrap();
            read_all(events, Reader::Eager).await
        }
        _ => {
            let reading = tokio::spawn(read_all(events, reader));
            outcome = handle.wait().await.unwrap();
            reading.await.unwrap()
        }
    };
    let (_peer, text) = writer.await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some(text.as_str()));
    assert_eq!(outcome.streamed.len(), 1);
    assert!(
        outcome.streamed[0].text == text,
        "the outcome's stream differs"
    );
    assert_eq!(
        seen.lifecycle,
        [
            "turn/started",
            "item/started",
            "item/completed",
            "turn/completed"
        ]
    );
    assert_eq!(seen.deltas, count, "{reader:?}: deltas counted");
    let streamed = seen
        .texts
        .get(&("m1".to_owned(), "AgentMessage".to_owned()));
    assert!(
        streamed == Some(&text),
        "{reader:?}: the streamed text differs from what was sent"
    );
}

const MILLION: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_reach_a_slow_reader_whole() {
    flood_one_turn(MILLION, Reader::Slow { every: 10_000 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_reach_a_reader_that_reads_only_at_the_end() {
    flood_one_turn(MILLION, Reader::Never).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_reach_a_reader_in_bursts() {
    flood_one_turn(
        MILLION,
        Reader::Bursts {
            burst: 50_000,
            pause_ms: 20,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_requests_behind_an_unread_flood_are_handled_at_once() {
    const FLOOD: u64 = 100_000;
    let (runtime, mut peer) = connect().await;
    let mut requests = runtime.server_requests().unwrap();
    let mut handle = start_turn_u1(&runtime, &mut peer).await;
    // Taken, and left unread until the end.
    let events = handle.events().unwrap();
    let read = tokio::spawn({
        let runtime = runtime.clone();
        async move {
            runtime
                .call_raw("thread/read", json!({"threadId": "t1"}))
                .await
        }
    });
    let call = peer.expect("thread/read").await;
    peer.send(turn_started("t1", "u1")).await;
    for n in 0..FLOOD {
        peer.send(delta(
            StreamKind::AgentMessage,
            "t1",
            "u1",
            "m1",
            &format!("{n}"),
        ))
        .await;
    }
    let approval = json!({"id": 0, "method": "item/commandExecution/requestApproval", "params": {
        "threadId": "t1", "turnId": "u1", "itemId": "c1", "startedAtMs": 1, "command": "touch x"}});
    peer.send(approval.to_string()).await;
    peer.respond(&call["id"], json!({"answered": "behind the flood"}))
        .await;

    // Both are handled while 100,000 events wait unread.
    assert_eq!(
        read.await.unwrap().unwrap(),
        json!({"answered": "behind the flood"})
    );
    let pending = tokio::time::timeout(Duration::from_secs(30), requests.recv())
        .await
        .expect("the request came")
        .unwrap();
    let PendingServerRequest::CommandExecutionApproval(approval) = pending else {
        panic!("expected a command approval");
    };
    approval.decline().unwrap();
    let answer = peer.recv().await;
    assert_eq!(answer, json!({"id": 0, "result": {"decision": "decline"}}));

    peer.send(turn_completed("t1", "u1")).await;
    let outcome = handle.wait().await.unwrap();
    let seen = read_all(events, Reader::Eager).await;
    assert_eq!(seen.deltas, FLOOD);
    assert_eq!(seen.lifecycle, ["turn/started", "turn/completed"]);
    let expected: String = (0..FLOOD).map(|n| n.to_string()).collect();
    assert!(outcome.final_text() == Some(expected.as_str()));
}

/// A small, seeded generator, so that a failing case can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pieces of text with what JSON must escape, and more than one byte per
/// character.
fn piece(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "a", "bc", " ", "\n", "\"", "\\", "é", "日本", "🦀", "\t", "x y",
    ];
    (0..1 + rng.below(4))
        .map(|_| PARTS[rng.below(PARTS.len() as u64) as usize])
        .collect()
}

/// One generated turn: the frames in order, and what its reader must see.
struct GenTurn {
    thread: String,
    turn: String,
    frames: Vec<String>,
    expected: Seen,
    /// How many frames go out before `turn/start` is answered.
    early: usize,
}

fn generate_turn(rng: &mut Rng, index: usize) -> GenTurn {
    let thread = format!("t{index}");
    let turn = format!("u{index}");
    let mut frames = vec![turn_started(&thread, &turn)];
    let mut expected = Seen::default();
    expected.lifecycle.push("turn/started".to_owned());
    for item in 0..1 + rng.below(3) {
        let message = format!("m{item}");
        let reasoning = format!("r{item}");
        frames.push(item_started(&thread, &turn, &message));
        expected.lifecycle.push("item/started".to_owned());
        let mut text = String::new();
        for _ in 0..rng.below(3000) {
            // Reasoning interleaved with the message now and then.
            let (kind, id) = if rng.below(5) == 0 {
                (StreamKind::Reasoning, &reasoning)
            } else {
                (StreamKind::AgentMessage, &message)
            };
            let piece = piece(rng);
            if kind == StreamKind::AgentMessage {
                text.push_str(&piece);
            }
            frames.push(delta(kind, &thread, &turn, id, &piece));
            expected.deltas += 1;
            let key = (id.clone(), format!("{kind:?}"));
            expected.texts.entry(key).or_default().push_str(&piece);
        }
        frames.push(item_completed(&thread, &turn, &message, &text));
        expected.lifecycle.push("item/completed".to_owned());
    }
    frames.push(turn_completed(&thread, &turn));
    expected.lifecycle.push("turn/completed".to_owned());
    let early = rng.below(frames.len() as u64 / 2) as usize;
    GenTurn {
        thread,
        turn,
        frames,
        expected,
        early,
    }
}

fn random_reader(rng: &mut Rng) -> Reader {
    match rng.below(4) {
        0 => Reader::Slow {
            every: 1 + rng.below(500),
        },
        1 => Reader::Never,
        2 => Reader::Bursts {
            burst: 1 + rng.below(2000),
            pause_ms: rng.below(5),
        },
        _ => Reader::Eager,
    }
}

async fn random_case(seed: u64) {
    let mut rng = Rng(seed | 1);
    let turns: Vec<GenTurn> = (0..2 + rng.below(4) as usize)
        .map(|index| generate_turn(&mut rng, index))
        .collect();
    let readers: Vec<Reader> = turns.iter().map(|_| random_reader(&mut rng)).collect();
    let (runtime, mut peer) = connect().await;

    // Every turn is started at once; the peer sends each turn's early part,
    // then answers its start, then interleaves the rest of all turns.
    let mut starts = Vec::new();
    for turn in &turns {
        let runtime = runtime.clone();
        let params = start_params(&turn.thread);
        starts.push(tokio::spawn(
            async move { runtime.start_turn(params).await },
        ));
    }
    let mut requests = BTreeMap::new();
    for _ in &turns {
        let request = peer.expect("turn/start").await;
        let thread = request["params"]["threadId"].as_str().unwrap().to_owned();
        requests.insert(thread, request["id"].clone());
    }
    let mut cursors: Vec<usize> = turns.iter().map(|turn| turn.early).collect();
    for turn in &turns {
        for frame in &turn.frames[..turn.early] {
            peer.send(frame.clone()).await;
        }
        let result = json!({"turn": turn_json(&turn.turn, "inProgress")});
        peer.respond(&requests[&turn.thread], result).await;
    }
    let mut handles = Vec::new();
    for start in starts {
        handles.push(start.await.unwrap().unwrap());
    }
    let mut readings = Vec::new();
    for (mut handle, reader) in handles.into_iter().zip(readers.clone()) {
        let events = handle.events().unwrap();
        readings.push(tokio::spawn(async move {
            match reader {
                Reader::Never => {
                    let outcome = handle.wait().await;
                    (read_all(events, Reader::Eager).await, outcome)
                }
                _ => {
                    let reading = tokio::spawn(read_all(events, reader));
                    let outcome = handle.wait().await;
                    (reading.await.unwrap(), outcome)
                }
            }
        }));
    }
    let writer = tokio::spawn(async move {
        let mut rng = Rng(seed.rotate_left(17) | 1);
        loop {
            let open: Vec<usize> = (0..turns.len())
                .filter(|&i| cursors[i] < turns[i].frames.len())
                .collect();
            if open.is_empty() {
                break;
            }
            let i = open[rng.below(open.len() as u64) as usize];
            let run = 1 + rng.below(50) as usize;
            let end = (cursors[i] + run).min(turns[i].frames.len());
            for frame in &turns[i].frames[cursors[i]..end] {
                peer.send(frame.clone()).await;
            }
            cursors[i] = end;
        }
        (peer, turns)
    });
    let mut seen = Vec::new();
    for reading in readings {
        let (got, outcome) = reading.await.unwrap();
        assert_eq!(
            outcome.unwrap().status,
            TurnStatus::Completed,
            "seed {seed}"
        );
        seen.push(got);
    }
    let (_peer, turns) = writer.await.unwrap();
    for ((turn, got), reader) in turns.iter().zip(&seen).zip(&readers) {
        assert_eq!(
            got.lifecycle, turn.expected.lifecycle,
            "seed {seed}, {reader:?}"
        );
        assert_eq!(got.deltas, turn.expected.deltas, "seed {seed}, {reader:?}");
        assert!(
            got.texts == turn.expected.texts,
            "seed {seed}, {reader:?}: texts differ"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_mixes_of_turns_streams_and_readers_lose_nothing() {
    let seed = std::env::var("CODEXRT_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |since| since.as_nanos() as u64)
        });
    println!("seed {seed} (set CODEXRT_SEED to run it again)");
    let mut rng = Rng(seed | 1);
    for _ in 0..8 {
        random_case(rng.next()).await;
    }
}
