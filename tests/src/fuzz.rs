//! The fuzz targets of the workspace, written once and run two ways: by
//! `cargo fuzz` (the `fuzz/` folder, libFuzzer, nightly) and by a stable
//! driver ([`drive`]: a seeded generator feeding the same targets, run by
//! `cargo xtask fuzz` and, for a bounded number of cases, by the test
//! suite).
//!
//! Every target reads its input through [`arbitrary::Unstructured`], so
//! the bytes libFuzzer mutates and the bytes the seeded generator draws
//! mean the same thing: frames built from the golden transcripts (each
//! mutated by flips, cuts, insertions, splices and deep nesting), JSON-RPC
//! envelopes with random ids, methods and params, and raw bytes.
//!
//! - [`Target::Frames`]: newline framing (`LineDecoder`) of those frames
//!   joined into one byte stream, fed in random chunks, against the same
//!   bytes fed whole: the same frames, none over the limit.
//! - [`Target::Envelope`]: the rpc layer's classification of each frame
//!   ([`codexrt_rpc::classify_frame`]): the same answer twice, and a frame
//!   `serde_json` cannot read is never a message (invalid UTF-8 inside a
//!   member the classifier skips aside: it found that serde_json does not
//!   check the bytes it skips).
//! - [`Target::Typed`]: every frame with a method decoded as a typed
//!   notification and as a typed server request.
//! - [`Target::Runtime`]: a whole [`codexrt_core::Runtime`] over the memory
//!   transport, fed the frames as its server; after each case a call must
//!   still be answered.
//!
//! A target fails by panicking; [`drive`] catches the panic and reports the
//! seed and the case that reproduce it.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use codexrt_core::{CoreError, Runtime, RuntimeConfig, RuntimeState};
use codexrt_protocol::types::AccountLogoutParams;
use codexrt_protocol::{ServerNotification, ServerRequest};
use codexrt_rpc::FrameKind;
use codexrt_testkit::fake::Handshake;
use codexrt_transport::framing::LineDecoder;
use codexrt_transport::{Connection, FrameReceiver, FrameSender, memory};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The limit the frame target decodes with: small, so over-long frames
/// are common.
const FRAME_LIMIT: usize = 4096;

/// The limit of the runtime target's transport.
const RUNTIME_FRAME_LIMIT: usize = 64 * 1024;

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Newline framing.
    Frames,
    /// The rpc layer's envelope classification.
    Envelope,
    /// Typed notification and server-request decoding.
    Typed,
    /// A runtime fed random frames.
    Runtime,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [
        Target::Frames,
        Target::Envelope,
        Target::Typed,
        Target::Runtime,
    ];

    /// Its name, as `cargo xtask fuzz --target` and `fuzz/` call it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Frames => "frames",
            Target::Envelope => "envelope",
            Target::Typed => "typed",
            Target::Runtime => "runtime",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|target| target.name() == name)
    }

    /// Runs one case on `data`. Panics when the case finds a fault.
    pub fn run(self, data: &[u8]) {
        let mut input = Unstructured::new(data);
        let frames = frames(&mut input);
        match self {
            Target::Frames => check_framing(&frames, &mut input),
            Target::Envelope => frames.iter().for_each(|frame| check_envelope(frame)),
            Target::Typed => frames.iter().for_each(|frame| check_typed(frame)),
            Target::Runtime => RUNTIME.with(|cell| {
                let mut state = cell.borrow_mut();
                let fuzzer = state.get_or_insert_with(RuntimeFuzzer::start);
                fuzzer.feed(&frames);
            }),
        }
    }
}

/// One frame of an input, as `arbitrary` builds it.
#[derive(Debug, Arbitrary)]
enum Piece {
    /// A line of the golden transcripts, mutated.
    Fixture {
        index: u16,
        mutations: Vec<Mutation>,
    },
    /// An envelope with random parts.
    Envelope {
        id: Id,
        method: MethodName,
        params: Params,
        result: bool,
    },
    /// Raw bytes.
    Bytes(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Mutation {
    Flip { at: u32, bit: u8 },
    Cut { at: u32 },
    Insert { at: u32, bytes: Vec<u8> },
    Splice { at: u32, other: u16 },
    Nest { depth: u16 },
    Bom,
}

#[derive(Debug, Arbitrary)]
enum Id {
    None,
    Null,
    Number(i64),
    Float(f64),
    Text(String),
    Object,
}

#[derive(Debug, Arbitrary)]
enum MethodName {
    Known(u16),
    Any(String),
    NotAString(i32),
}

#[derive(Debug, Arbitrary)]
enum Params {
    Absent,
    /// The params of a fixture line with the same index, as they are.
    Fixture(u16),
    Scalar(i64),
    Text(String),
    Array(Vec<i32>),
    Fields(Vec<(String, Scalar)>),
}

#[derive(Debug, Arbitrary)]
enum Scalar {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Scalar {
    fn value(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => json!(b),
            Scalar::Number(n) => json!(n),
            Scalar::Text(t) => json!(t),
        }
    }
}

/// The inbound messages of the golden transcripts, one line each.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let transcripts = [
            include_str!("../fixtures/0.169.0/command_approved.jsonl"),
            include_str!("../fixtures/0.169.0/command_declined.jsonl"),
            include_str!("../fixtures/0.169.0/interrupt.jsonl"),
            include_str!("../fixtures/0.169.0/model_failure.jsonl"),
            include_str!("../fixtures/0.169.0/streamed_answer.jsonl"),
            include_str!("../fixtures/0.171.0/command_approved.jsonl"),
            include_str!("../fixtures/0.150.0/streamed_answer.jsonl"),
        ];
        transcripts
            .iter()
            .flat_map(|text| text.lines())
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["dir"] == "in")
            .map(|entry| entry["msg"].to_string().into_bytes())
            .collect()
    })
}

/// The methods of the transcripts' messages.
fn methods() -> &'static [String] {
    static METHODS: OnceLock<Vec<String>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let methods: BTreeSet<String> = corpus()
            .iter()
            .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
            .filter_map(|message| message["method"].as_str().map(str::to_owned))
            .collect();
        methods.into_iter().collect()
    })
}

fn pick<T>(items: &[T], index: u16) -> Option<&T> {
    if items.is_empty() {
        None
    } else {
        items.get(usize::from(index) % items.len())
    }
}

/// The frames an input describes (without their newlines): up to 16,
/// leaving what follows for the frame target's chunk sizes.
fn frames(input: &mut Unstructured<'_>) -> Vec<Vec<u8>> {
    let count = input.int_in_range(0..=16u8).unwrap_or(0);
    let mut frames = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        match Piece::arbitrary(input) {
            Ok(piece) => frames.push(build(piece)),
            Err(_) => break,
        }
    }
    frames
}

fn build(piece: Piece) -> Vec<u8> {
    match piece {
        Piece::Bytes(bytes) => bytes,
        Piece::Fixture { index, mutations } => {
            let mut line = pick(corpus(), index).cloned().unwrap_or_default();
            for mutation in mutations.into_iter().take(8) {
                mutate(&mut line, mutation);
            }
            line
        }
        Piece::Envelope {
            id,
            method,
            params,
            result,
        } => {
            let mut message = serde_json::Map::new();
            match id {
                Id::None => {}
                Id::Null => {
                    message.insert("id".into(), Value::Null);
                }
                Id::Number(n) => {
                    // Small ids meet the runtime's own calls.
                    message.insert("id".into(), json!(n.rem_euclid(8)));
                }
                Id::Float(f) => {
                    message.insert("id".into(), json!(f));
                }
                Id::Text(t) => {
                    message.insert("id".into(), json!(t));
                }
                Id::Object => {
                    message.insert("id".into(), json!({"nested": 1}));
                }
            }
            match method {
                MethodName::Known(index) => {
                    if let Some(method) = pick(methods(), index) {
                        message.insert("method".into(), json!(method));
                    }
                }
                MethodName::Any(text) => {
                    message.insert("method".into(), json!(text));
                }
                MethodName::NotAString(n) => {
                    message.insert("method".into(), json!(n));
                }
            }
            let params = match params {
                Params::Absent => None,
                Params::Fixture(index) => pick(corpus(), index)
                    .and_then(|line| serde_json::from_slice::<Value>(line).ok())
                    .map(|message| message["params"].clone()),
                Params::Scalar(n) => Some(json!(n)),
                Params::Text(t) => Some(json!(t)),
                Params::Array(items) => Some(json!(items)),
                Params::Fields(fields) => Some(Value::Object(
                    fields
                        .iter()
                        .take(16)
                        .map(|(name, value)| (name.clone(), value.value()))
                        .collect(),
                )),
            };
            if let Some(params) = params {
                let key = if result { "result" } else { "params" };
                message.insert(key.into(), params);
            }
            Value::Object(message).to_string().into_bytes()
        }
    }
}

fn mutate(line: &mut Vec<u8>, mutation: Mutation) {
    let at = |at: u32, len: usize| usize::try_from(at).unwrap_or(0) % (len + 1);
    match mutation {
        Mutation::Flip { at: position, bit } => {
            if !line.is_empty() {
                let i = at(position, line.len() - 1);
                line[i] ^= 1 << (bit % 8);
            }
        }
        Mutation::Cut { at: position } => {
            let i = at(position, line.len());
            line.truncate(i);
        }
        Mutation::Insert {
            at: position,
            bytes,
        } => {
            let i = at(position, line.len());
            line.splice(i..i, bytes.into_iter().take(64));
        }
        Mutation::Splice {
            at: position,
            other,
        } => {
            if let Some(other) = pick(corpus(), other) {
                let i = at(position, line.len());
                let j = at(position, other.len());
                line.truncate(i);
                line.extend_from_slice(&other[j..]);
            }
        }
        Mutation::Nest { depth } => {
            let depth = usize::from(depth % 4096);
            let mut nested = Vec::with_capacity(line.len() + 2 * depth);
            nested.extend(std::iter::repeat_n(b'[', depth));
            nested.extend_from_slice(line);
            nested.extend(std::iter::repeat_n(b']', depth));
            *line = nested;
        }
        Mutation::Bom => line.splice(0..0, *b"\xEF\xBB\xBF").for_each(drop),
    }
}

/// The frames' bytes as one stream, each followed by `\n` or `\r\n`.
fn stream(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        bytes.extend_from_slice(frame);
        if i % 3 == 2 {
            bytes.push(b'\r');
        }
        bytes.push(b'\n');
    }
    bytes
}

/// Decodes `bytes` fed in the chunks `sizes` gives (the rest at once).
/// An over-long frame is an `Err(())`: how much of it was seen when the
/// limit was passed depends on the reads, by design.
fn decode_in_chunks(bytes: &[u8], mut sizes: impl FnMut() -> usize) -> Vec<Result<Bytes, ()>> {
    let mut decoder = LineDecoder::new(FRAME_LIMIT);
    let mut buffer = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let size = sizes().clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        buffer.extend_from_slice(chunk);
        rest = tail;
        while let Some(frame) = decoder.decode(&mut buffer) {
            out.push(frame.map_err(drop));
        }
    }
    while let Some(frame) = decoder.decode_eof(&mut buffer) {
        out.push(frame.map_err(drop));
    }
    out
}

fn check_framing(frames: &[Vec<u8>], input: &mut Unstructured<'_>) {
    let bytes = stream(frames);
    let whole = decode_in_chunks(&bytes, || usize::MAX);
    let chunked = decode_in_chunks(&bytes, || {
        input.int_in_range(1..=300usize).unwrap_or(usize::MAX)
    });
    assert_eq!(chunked, whole, "framing depends on how the bytes were read");
    for frame in whole.iter().flatten() {
        assert!(
            frame.len() <= FRAME_LIMIT,
            "a frame over the limit was delivered"
        );
        assert!(!frame.contains(&b'\n'), "a frame holds a newline");
    }
}

fn check_envelope(frame: &[u8]) {
    let kind = codexrt_rpc::classify_frame(frame);
    assert_eq!(
        codexrt_rpc::classify_frame(frame),
        kind,
        "classified twice, differently"
    );
    // Invalid UTF-8 is forgiven where the classifier skips it: inside a
    // member it does not read (serde_json does not check the bytes of what
    // it skips). What it reads (method, id, params) is checked.
    let body = String::from_utf8_lossy(frame.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(frame));
    if serde_json::from_str::<Value>(&body).is_err() {
        assert!(
            matches!(kind, FrameKind::Malformed { .. }),
            "a frame serde_json cannot read was classified {kind:?}: {:?}",
            String::from_utf8_lossy(&frame[..frame.len().min(600)])
        );
    }
}

fn check_typed(frame: &[u8]) {
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(frame) else {
        return;
    };
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return;
    };
    let params = message
        .get("params")
        .and_then(|params| RawValue::from_string(params.to_string()).ok());
    let _ = ServerNotification::decode(method, params.as_deref());
    let _ = ServerRequest::decode(method, params.as_deref());
}

thread_local! {
    static RUNTIME: RefCell<Option<RuntimeFuzzer>> = const { RefCell::new(None) };
}

/// A runtime on a runtime of its own, with the server's end of its
/// connection, reused from case to case.
struct RuntimeFuzzer {
    executor: tokio::runtime::Runtime,
    /// Its server requests are not taken, so each gets the safe answer at
    /// once.
    runtime: Runtime,
    sender: FrameSender,
    receiver: FrameReceiver,
}

impl RuntimeFuzzer {
    fn start() -> RuntimeFuzzer {
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("a tokio runtime for the fuzzer: {err}"));
        let (runtime, sender, receiver) = executor.block_on(async {
            let (client, server) = memory::pair_with_max_frame_len(256, RUNTIME_FRAME_LIMIT);
            let Connection {
                sender,
                mut receiver,
                ..
            } = server;
            let config = RuntimeConfig::new("codexrt-fuzz", "0.0.1")
                .call_timeout(Duration::from_secs(5))
                .server_request_deadline(Duration::from_millis(50))
                .shutdown_grace(Duration::from_secs(1));
            let serve = async {
                let request = receiver.recv().await;
                let id = request
                    .and_then(Result::ok)
                    .and_then(|frame| serde_json::from_slice::<Value>(&frame).ok())
                    .map(|message| message["id"].clone())
                    .unwrap_or(Value::Null);
                let answer = json!({"id": id, "result": Handshake::new().initialize_result()});
                let _ = sender.send(Bytes::from(answer.to_string())).await;
            };
            let (runtime, ()) = tokio::join!(Runtime::connect(client, config), serve);
            let runtime = runtime.unwrap_or_else(|err| panic!("the fuzzer's handshake: {err}"));
            (runtime, sender, receiver)
        });
        RuntimeFuzzer {
            executor,
            runtime,
            sender,
            receiver,
        }
    }

    /// Sends `frames` as the server, then checks that a call is still
    /// answered.
    fn feed(&mut self, frames: &[Vec<u8>]) {
        let RuntimeFuzzer {
            executor,
            runtime,
            sender,
            receiver,
        } = self;
        executor.block_on(async {
            for frame in frames {
                if sender.send(Bytes::copy_from_slice(frame)).await.is_err() {
                    panic!("the runtime closed its connection: {:?}", runtime.state());
                }
            }
            // A call after the frames is answered, or fails typed (a fuzzed
            // answer may have taken its id), but never times out or closes.
            let call = runtime.call(AccountLogoutParams);
            let answer = async {
                while let Some(Ok(frame)) = receiver.recv().await {
                    let Ok(message) = serde_json::from_slice::<Value>(&frame) else {
                        continue;
                    };
                    if message["method"] == "account/logout" {
                        let reply = json!({"id": message["id"], "result": {}});
                        let _ = sender.send(Bytes::from(reply.to_string())).await;
                        return;
                    }
                }
            };
            let (called, ()) = tokio::join!(call, answer);
            assert!(
                !matches!(
                    called,
                    Err(CoreError::Timeout { .. } | CoreError::Closed { .. })
                ),
                "the call after the frames: {called:?}"
            );
            assert!(
                matches!(runtime.state(), RuntimeState::Running),
                "the runtime closed: {:?}",
                runtime.state()
            );
        });
    }
}

/// What a run of [`drive`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driven {
    /// The target.
    pub target: &'static str,
    /// The cases run.
    pub cases: u64,
    /// The seed they came from.
    pub seed: u64,
}

/// A case that panicked: what reproduces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The target.
    pub target: &'static str,
    /// The seed of the run.
    pub seed: u64,
    /// The case (0 for the first).
    pub case: u64,
    /// The case's bytes, which `cargo fuzz run <target> <file>` takes too.
    pub input: Vec<u8>,
    /// The panic's message.
    pub message: String,
}

/// The stable driver: `cases` cases of `target`, each from bytes a
/// splitmix64 generator seeded with `seed` draws (from 0 to 4 KiB of them).
///
/// # Errors
/// The first case that panicked.
pub fn drive(target: Target, cases: u64, seed: u64) -> Result<Driven, Box<Failure>> {
    let mut state = seed;
    let mut data = Vec::with_capacity(4096);
    for case in 0..cases {
        let len = usize::try_from(splitmix(&mut state) % 4097).unwrap_or(0);
        data.clear();
        while data.len() < len {
            data.extend_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        data.truncate(len);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target.run(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".to_owned());
            // The runtime's state may be what failed: start afresh.
            RUNTIME.with(|cell| cell.borrow_mut().take());
            return Err(Box::new(Failure {
                target: target.name(),
                seed,
                case,
                input: data,
                message,
            }));
        }
    }
    Ok(Driven {
        target: target.name(),
        cases,
        seed,
    })
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
