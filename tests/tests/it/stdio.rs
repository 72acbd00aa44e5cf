//! The stdio transport against a real child process (`test-child`): frames both
//! ways, stderr floods, the environment and spawn errors; how connections end
//! is in [`lifecycle`].

mod lifecycle;

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codexrt_tests::flood::{Flood, LONG_LINE};
use codexrt_transport::{
    CloseReason, CloseReport, Closer, Connection, EnvPolicy, FrameError, FrameReceiver, Spawned,
    StdioTransport, TransportError,
};
use tokio::time::{Instant, timeout};

const CHILD: &str = env!("CARGO_BIN_EXE_test-child");

/// How long a test waits for anything before failing. Far beyond what any step
/// needs: it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(30);

/// The transport's promise: a child's death ends its connection, report
/// included, within this bound (so the rpc layer can fail pending calls).
const DEATH_NOTICE: Duration = Duration::from_secs(1);

fn child(args: &[&str]) -> StdioTransport {
    StdioTransport::new(CHILD).args(args)
}

async fn spawn(transport: StdioTransport) -> (Connection, u32) {
    let Spawned {
        connection, pid, ..
    } = transport.spawn().await.expect("spawn test-child");
    (connection, pid)
}

type Item = Result<String, FrameError>;

/// The next item from the receiver, `None` once the connection ended.
async fn next(receiver: &mut FrameReceiver) -> Option<Item> {
    let item = timeout(PATIENCE, receiver.recv())
        .await
        .expect("the receiver stalled");
    item.map(|item| item.map(|frame| String::from_utf8(frame.to_vec()).expect("a utf-8 frame")))
}

async fn next_frame(receiver: &mut FrameReceiver) -> String {
    next(receiver)
        .await
        .expect("the connection ended")
        .expect("a frame, not a frame error")
}

/// Every item until the connection ends.
async fn rest(receiver: &mut FrameReceiver) -> Vec<Item> {
    let mut items = Vec::new();
    while let Some(item) = next(receiver).await {
        items.push(item);
    }
    items
}

fn frames(lines: &[&str]) -> Vec<Item> {
    lines.iter().map(|line| Ok((*line).to_owned())).collect()
}

/// A close report reduced to comparable values.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    reason: String,
    code: Option<i32>,
    signal: Option<i32>,
    stderr_tail: String,
}

impl Summary {
    fn of(report: &CloseReport) -> Self {
        let reason = match &report.reason {
            CloseReason::Io(err) => format!("Io({:?})", err.kind()),
            other => format!("{other:?}"),
        };
        Summary {
            reason,
            code: report.exit.and_then(|exit| exit.code()),
            signal: report.exit.and_then(|exit| exit.signal()),
            stderr_tail: report.stderr_tail.clone(),
        }
    }

    fn exited(reason: &str, code: i32, stderr_tail: &str) -> Self {
        Summary {
            reason: reason.to_owned(),
            code: Some(code),
            signal: None,
            stderr_tail: stderr_tail.to_owned(),
        }
    }

    fn killed(reason: &str, signal: i32) -> Self {
        Summary {
            reason: reason.to_owned(),
            code: None,
            signal: Some(signal),
            stderr_tail: String::new(),
        }
    }
}

async fn shutdown(closer: &Closer, grace: Duration) -> Arc<CloseReport> {
    timeout(PATIENCE, closer.shutdown(grace))
        .await
        .expect("shutdown stalled")
        .expect("shutdown failed")
}

async fn closed(closer: &Closer) -> Arc<CloseReport> {
    timeout(PATIENCE, closer.closed())
        .await
        .expect("the connection never closed")
}

#[allow(unsafe_code)]
fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    assert!(pid > 0);
    // SAFETY: `kill` takes two integers; the pid is a child of this test.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        result,
        0,
        "kill({pid}, {signal}): {}",
        io::Error::last_os_error()
    );
}

/// The state letter of process `pid` in /proc (`R`, `S`, `Z`, ...), or `None`
/// when there is no such process.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the state follows it.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits until process `pid` is gone, or (when `zombie_ok`) a zombie, and
/// returns its last state.
async fn wait_until_dead(pid: u32, zombie_ok: bool) -> Option<char> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = process_state(pid);
        let dead = state.is_none() || (zombie_ok && state == Some('Z'));
        if dead || Instant::now() >= deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_round_trip_in_order() {
    let (connection, pid) = spawn(child(&["echo"])).await;
    let Connection {
        sender,
        mut receiver,
        closer,
        ..
    } = connection;
    let sent: Vec<String> = (0..5_000)
        .map(|i| format!("{{\"id\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 700)))
        .collect();
    let to_send = sent.clone();
    // A clone: dropping the last sender would close the child's stdin.
    let task_sender = sender.clone();
    let writer = tokio::spawn(async move {
        for frame in to_send {
            task_sender.send(Bytes::from(frame)).await.expect("send");
        }
    });
    let mut received = Vec::with_capacity(sent.len());
    for _ in 0..sent.len() {
        received.push(next_frame(&mut receiver).await);
    }
    writer.await.expect("writer task");
    assert_eq!(received, sent);

    let report = shutdown(&closer, Duration::from_secs(10)).await;
    assert_eq!(Summary::of(&report), Summary::exited("Shutdown", 0, ""));
    // Reaped by the transport, not left a zombie.
    assert_eq!(process_state(pid), None);
    assert_eq!(rest(&mut receiver).await, Vec::<Item>::new());
    // Shutdown is idempotent: the same report again.
    let again = closer
        .shutdown(Duration::ZERO)
        .await
        .expect("second shutdown");
    assert!(Arc::ptr_eq(&report, &again));
    assert!(sender.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stderr_flood_never_stalls_stdout() {
    const TOTAL: u64 = 100 * 1024 * 1024;
    const FRAMES: u64 = 1_000;
    // Most of the flood goes out interleaved with the frames, 80 KiB before
    // each echo (more than a pipe holds), the single 3 MiB line included.
    const PER_FRAME: u64 = 80 * 1024;
    const RING: usize = 64 * 1024;
    const { assert!(LONG_LINE.end < FRAMES * PER_FRAME) };

    let transport = child(&["stderr-flood", &TOTAL.to_string(), &PER_FRAME.to_string()])
        .stderr_ring_size(RING)
        .forward_stderr_to_tracing();
    let (connection, _pid) = spawn(transport).await;
    let Connection {
        sender,
        mut receiver,
        closer,
        ..
    } = connection;
    // One frame at a time: each echo proves that the child's stderr chunk
    // before it was read.
    for i in 0..FRAMES {
        let frame = format!("frame {i}");
        sender.send(Bytes::from(frame.clone())).await.expect("send");
        assert_eq!(next_frame(&mut receiver).await, frame);
    }
    // The child writes the rest of the flood when its stdin closes.
    let report = shutdown(&closer, PATIENCE).await;
    let expected_tail = Flood::new().bytes(TOTAL - RING as u64..TOTAL);
    let expected_tail = String::from_utf8(expected_tail).expect("the flood is ascii");
    assert_eq!(expected_tail.len(), RING);
    assert_eq!(
        Summary::of(&report),
        Summary::exited("Shutdown", 0, &expected_tail)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_written_before_exit_is_delivered() {
    // A small queue, so the last frames wait for the reader after the exit.
    let (connection, _pid) = spawn(child(&["print-and-exit", "2000"]).channel_capacity(4)).await;
    let Connection {
        mut receiver,
        closer,
        ..
    } = connection;
    let expected: Vec<Item> = (0..2000).map(|i| Ok(format!("line {i}"))).collect();
    assert_eq!(rest(&mut receiver).await, expected);
    let report = closed(&closer).await;
    assert_eq!(
        Summary::of(&report),
        Summary::exited("ProcessExited", 0, "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_line_is_reported_once_then_reading_resumes() {
    let transport = child(&["long-line", "5000"]).max_frame_len(1024);
    let (connection, _pid) = spawn(transport).await;
    let Connection {
        mut receiver,
        closer,
        ..
    } = connection;
    let items = rest(&mut receiver).await;
    match items.as_slice() {
        [
            Err(FrameError::TooLong {
                max_len: 1024,
                seen,
                prefix,
            }),
            Ok(good),
        ] => {
            // Reported once past the limit, which may be before the line's
            // end arrived, depending on how the pipe splits it.
            assert!((1025..=5000).contains(seen), "seen {seen}");
            assert_eq!(prefix[..], [b'x'; FrameError::PREFIX_LEN]);
            assert_eq!(good, "good");
        }
        other => panic!("expected a report and `good`, got {other:?}"),
    }
    let report = closed(&closer).await;
    assert_eq!(
        Summary::of(&report),
        Summary::exited("ProcessExited", 0, "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_with_a_newline_fails_the_connection() {
    let (connection, pid) = spawn(child(&["echo"])).await;
    let Connection {
        sender,
        mut receiver,
        closer,
        ..
    } = connection;
    sender
        .send(Bytes::from_static(b"two\nframes"))
        .await
        .expect("send");
    assert_eq!(rest(&mut receiver).await, Vec::<Item>::new());
    let report = closed(&closer).await;
    assert_eq!(
        Summary::of(&report),
        Summary::killed("Io(InvalidInput)", libc::SIGKILL)
    );
    assert_eq!(process_state(pid), None);
}

/// Runs `test-child env` with `transport`'s settings and compares the
/// environment it saw with `expected`.
async fn check_env(transport: StdioTransport, expected: Vec<(OsString, OsString)>) {
    let (connection, _pid) = spawn(transport.arg("env")).await;
    let Connection {
        mut receiver,
        closer,
        ..
    } = connection;
    let mut expected: Vec<String> = expected
        .iter()
        .map(|(key, value)| format!("{:?}={:?}", key.to_string_lossy(), value.to_string_lossy()))
        .collect();
    expected.sort();
    assert_eq!(
        rest(&mut receiver).await,
        expected.into_iter().map(Ok).collect::<Vec<Item>>()
    );
    let report = closed(&closer).await;
    assert_eq!(
        Summary::of(&report),
        Summary::exited("ProcessExited", 0, "")
    );
}

fn var(key: &str, value: &str) -> (OsString, OsString) {
    (key.into(), value.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_follows_the_policy() {
    let base = || StdioTransport::new(CHILD);
    check_env(base().env_policy(EnvPolicy::Clear), vec![]).await;
    check_env(
        base()
            .env_policy(EnvPolicy::Clear)
            .env("A", "1")
            .env("B", "2")
            .env_remove("B"),
        vec![var("A", "1")],
    )
    .await;

    let path = std::env::var_os("PATH").expect("PATH is set for tests");
    check_env(
        base()
            .env_policy(EnvPolicy::allow(["PATH", "CODEXRT_TESTS_NEVER_SET"]))
            .env("EXTRA", "x"),
        vec![("PATH".into(), path), var("EXTRA", "x")],
    )
    .await;

    let mut inherited: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(key, _)| key != "PATH" && key != "EXTRA")
        .collect();
    inherited.push(var("EXTRA", "y"));
    check_env(
        base()
            .env_policy(EnvPolicy::Inherit)
            .env_remove("PATH")
            .env("EXTRA", "y"),
        inherited,
    )
    .await;
}

/// Runs `test-child parent <policy> env` (a process playing the SDK, whose
/// environment this test sets without touching its own) and returns the
/// environment its child saw, as `KEY=VALUE` strings.
fn env_through_parent(policy: &str) -> Vec<String> {
    let mut output = std::process::Command::new(CHILD)
        .args(["parent", policy, "env"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/home/someone")
        .env("LC_TIME", "C")
        .env("CODEX_HOME", "/tmp/codex-home")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("https_proxy", "http://proxy:3128")
        .env("XDG_CONFIG_HOME", "/home/someone/.config")
        .env("CLOUD_SECRET_KEY", "sk-live-123")
        .env("DATABASE_PASSWORD", "hunter2")
        .env("MY_TOOL_HOME", "/opt/tool")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run test-child parent");
    // Held open until the end: its end would tell the parent to shut down.
    let stdin = output.stdin.take();
    let output = output
        .wait_with_output()
        .expect("wait for test-child parent");
    drop(stdin);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines = stdout.lines();
    assert!(lines.next().is_some_and(|line| line.starts_with("child ")));
    let mut vars: Vec<String> = lines
        .map(|line| line.replace('"', ""))
        .filter(|line| line != "shut down")
        .collect();
    vars.sort_unstable();
    vars
}

#[test]
fn the_essential_policy_keeps_what_codex_needs_and_no_secret() {
    let essentials = [
        "CODEX_HOME=/tmp/codex-home",
        "HOME=/home/someone",
        "LC_TIME=C",
        "OPENAI_BASE_URL=http://127.0.0.1:9/v1",
        "PATH=/usr/bin:/bin",
        "XDG_CONFIG_HOME=/home/someone/.config",
        "https_proxy=http://proxy:3128",
    ];
    // The default of `StdioTransport`, `RuntimeConfig` and `ClientConfig`.
    assert_eq!(env_through_parent("essential"), essentials);
    let mut with_extra = essentials.to_vec();
    with_extra.push("MY_TOOL_HOME=/opt/tool");
    with_extra.sort_unstable();
    assert_eq!(env_through_parent("essential+MY_TOOL_HOME"), with_extra);
    let mut everything = essentials.to_vec();
    everything.extend([
        "CLOUD_SECRET_KEY=sk-live-123",
        "DATABASE_PASSWORD=hunter2",
        "MY_TOOL_HOME=/opt/tool",
    ]);
    everything.sort_unstable();
    assert_eq!(env_through_parent("inherit"), everything);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_working_directory_is_applied() {
    let dir = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).expect("manifest dir");
    let (connection, _pid) = spawn(child(&["pwd"]).current_dir(&dir)).await;
    let Connection { mut receiver, .. } = connection;
    let printed = dir.to_string_lossy().into_owned();
    assert_eq!(rest(&mut receiver).await, vec![Ok(printed)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_a_spawn_error_naming_it() {
    let program = "/nonexistent/codexrt-missing-program";
    let err = StdioTransport::new(program)
        .spawn()
        .await
        .expect_err("spawned a missing program");
    assert_eq!(err.to_string(), format!("failed to spawn `{program}`"));
    match err {
        TransportError::Spawn {
            program: named,
            source,
        } => {
            assert_eq!(
                (named.as_str(), source.kind()),
                (program, io::ErrorKind::NotFound)
            );
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_directory_that_is_not_one_is_rejected() {
    for dir in [
        Path::new(CHILD),
        Path::new("/nonexistent/codexrt-missing-dir"),
    ] {
        let err = child(&["echo"])
            .current_dir(dir)
            .spawn()
            .await
            .expect_err("spawned");
        match err {
            TransportError::WorkingDir { path } => assert_eq!(path, PathBuf::from(dir)),
            other => panic!("expected a working directory error, got {other:?}"),
        }
    }
}

/// Senders write small frames to the pipe themselves while the writer task
/// is idle, and queue the rest: from many tasks at once, with frames too
/// big to be written directly mixed in, every frame arrives once and each
/// sender's frames keep their order. Randomized; the seed is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_keep_their_order_past_an_idle_writer() {
    const SENDERS: u64 = 8;
    const FRAMES: u64 = 2_000;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_nanos() as u64)
        | 1;
    println!("seed {seed}");
    let (connection, _pid) = spawn(child(&["echo"])).await;
    let Connection {
        sender,
        mut receiver,
        closer,
        ..
    } = connection;
    let mut tasks = Vec::new();
    for task in 0..SENDERS {
        let sender = sender.clone();
        let mut state = seed.wrapping_mul(task + 1);
        tasks.push(tokio::spawn(async move {
            for n in 0..FRAMES {
                // xorshift64: sizes, pauses and the sending call vary.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let pad = match state % 10 {
                    0 => 5_000 + (state >> 8) % 6_000,
                    _ => (state >> 8) % 200,
                };
                let frame = Bytes::from(format!("{task} {n} {}", "x".repeat(pad as usize)));
                if state % 3 == 0 {
                    let mut frame = frame;
                    loop {
                        match sender.try_send(frame) {
                            Ok(()) => break,
                            Err(codexrt_transport::TrySendError::Full(back)) => {
                                frame = back;
                                tokio::task::yield_now().await;
                            }
                            Err(err) => panic!("try_send: {err}"),
                        }
                    }
                } else {
                    sender.send(frame).await.expect("send");
                }
                if state % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    let mut next_of = vec![0u64; SENDERS as usize];
    for _ in 0..SENDERS * FRAMES {
        let frame = next_frame(&mut receiver).await;
        let mut words = frame.split(' ');
        let task: usize = words
            .next()
            .and_then(|w| w.parse().ok())
            .expect("a task number");
        let n: u64 = words
            .next()
            .and_then(|w| w.parse().ok())
            .expect("a frame number");
        assert_eq!(n, next_of[task], "sender {task} out of order (seed {seed})");
        next_of[task] += 1;
    }
    for task in tasks {
        task.await.expect("sender task");
    }
    assert_eq!(next_of, vec![FRAMES; SENDERS as usize], "seed {seed}");
    let report = shutdown(&closer, Duration::from_secs(10)).await;
    assert_eq!(Summary::of(&report), Summary::exited("Shutdown", 0, ""));
}

/// Every size and time setting at its extreme neither panics (in this debug
/// build) nor loses a frame: a 300 KB line with `max_frame_len(usize::MAX)`
/// arrives whole, and a shutdown with `Duration::MAX` of grace waits for the
/// child, which exits when its stdin closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_settings_neither_panic_nor_lose_frames() {
    let extreme = |args: &[&str]| {
        child(args)
            .max_frame_len(usize::MAX)
            .channel_capacity(usize::MAX)
            .stderr_ring_size(usize::MAX)
    };
    let (connection, _pid) = spawn(extreme(&["long-line", "300000"])).await;
    let Connection {
        mut receiver,
        closer,
        ..
    } = connection;
    assert_eq!(
        rest(&mut receiver).await,
        [Ok("x".repeat(300_000)), Ok("good".to_owned())]
    );
    let report = closed(&closer).await;
    assert_eq!(
        Summary::of(&report),
        Summary::exited("ProcessExited", 0, "")
    );

    let (connection, _pid) = spawn(extreme(&["echo"])).await;
    let report = connection
        .closer
        .shutdown(Duration::MAX)
        .await
        .expect("shutdown");
    assert_eq!(Summary::of(&report), Summary::exited("Shutdown", 0, ""));
}

/// Every event logged on this thread, with its fields written out.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A short stderr line with a bearer token, then a 65 KB line with a key
/// and a password assignment in it: the close report holds them redacted
/// and shows the last line bounded, in `Display` and `Debug`; the
/// forwarded log lines have no secret either.
#[tokio::test]
async fn a_huge_stderr_line_with_secrets_is_bounded_and_redacted() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.clone());
    let message = format!(
        "note: sent Bearer abcdefgh12345678\n{} OPENAI_API_KEY=sk-live-abcdefgh12345678 DB_PASSWORD=hunter22 {}",
        "x".repeat(60_000),
        "x".repeat(5_000)
    );
    let (connection, _pid) =
        spawn(child(&["exit", "3", &message]).forward_stderr_to_tracing()).await;
    let report = closed(&connection.closer).await;
    let display = report.to_string();
    let debug = format!("{report:?}");
    let logs = captured
        .0
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .join("\n");
    for shown in [&display, &debug, &report.stderr_tail, &logs] {
        assert!(!shown.contains("abcdefgh"), "{}", &shown[..200]);
        assert!(!shown.contains("hunter22"), "{}", &shown[..200]);
    }
    for shown in [&display, &debug] {
        assert!(shown.len() < 4096 + 200, "{} bytes", shown.len());
    }
    assert!(
        display.starts_with("the process exited (exit status: 3); last stderr line: xxx"),
        "{}",
        &display[..100]
    );
    assert!(
        display.ends_with("… 60954 bytes more"),
        "{}",
        &display[display.len() - 40..]
    );
    assert!(
        report
            .stderr_tail
            .contains(" OPENAI_API_KEY=[redacted] DB_PASSWORD=[redacted] "),
        "the tail keeps the line, redacted"
    );
    assert!(
        logs.contains("note: sent Bearer [redacted]"),
        "{}",
        &logs[..200]
    );
}
