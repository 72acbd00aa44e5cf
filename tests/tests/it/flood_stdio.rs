//! A million deltas from a real child process (`fake-app-server --traffic`,
//! writing as fast as the pipe takes it) through the stdio transport, the
//! rpc loop and the runtime, to readers that read slowly, only at the end,
//! or in bursts: every delta arrives, in order, and every lifecycle event.

use std::time::Duration;

use codexrt_core::{Runtime, RuntimeConfig, StreamKind, TurnEvent, TurnEvents};
use codexrt_protocol::types::{ThreadStartParams, TurnStartParams, TurnStatus};
use codexrt_testkit::fake::Traffic;

const FAKE_APP_SERVER: &str = env!("CARGO_BIN_EXE_fake-app-server");
const DELTAS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
enum Reader {
    /// Sleeps 1 ms every 10,000 events.
    Slow,
    /// Reads nothing until the outcome is in.
    AtTheEnd,
    /// Reads 50,000 events, then sleeps 20 ms.
    Bursts,
}

#[derive(Default)]
struct Seen {
    text: String,
    deltas: u64,
    lifecycle: Vec<String>,
}

async fn read(mut events: TurnEvents, pause_every: Option<(u64, u64)>) -> Seen {
    let mut seen = Seen::default();
    let mut count = 0u64;
    while let Some(event) = events.recv().await {
        count += 1;
        match event {
            TurnEvent::Delta(delta) if delta.kind == StreamKind::AgentMessage => {
                seen.deltas += u64::from(delta.parts);
                seen.text.push_str(&delta.text);
            }
            TurnEvent::Notification(note) => seen.lifecycle.push(note.method().to_owned()),
            other => panic!("unexpected {other:?}"),
        }
        if let Some((every, ms)) = pause_every
            && count % every == 0
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
    seen
}

async fn flood(reader: Reader) {
    let traffic = Traffic::stream(DELTAS, 4);
    let mut config = RuntimeConfig::new("codexrt-tests", "0.0.1")
        .program(FAKE_APP_SERVER)
        .shutdown_grace(Duration::from_secs(5));
    for arg in traffic.args() {
        config = config.arg(arg);
    }
    let runtime = Runtime::spawn(config).await.unwrap();
    let thread = runtime.call(ThreadStartParams::default()).await.unwrap();
    let params = TurnStartParams {
        thread_id: thread.thread.id,
        ..TurnStartParams::default()
    };
    let mut handle = runtime.start_turn(params).await.unwrap();
    let expected = traffic.expected_text(handle.turn_id()).unwrap();
    let events = handle.events().unwrap();
    let (seen, outcome) = match reader {
        Reader::AtTheEnd => {
            let outcome = handle.wait().await.unwrap();
            (read(events, None).await, outcome)
        }
        Reader::Slow | Reader::Bursts => {
            let pause = match reader {
                Reader::Slow => (10_000, 1),
                _ => (50_000, 20),
            };
            let reading = tokio::spawn(read(events, Some(pause)));
            let outcome = handle.wait().await.unwrap();
            (reading.await.unwrap(), outcome)
        }
    };
    assert_eq!(outcome.status, TurnStatus::Completed, "{reader:?}");
    assert_eq!(seen.deltas, DELTAS, "{reader:?}");
    assert!(
        seen.text == expected,
        "{reader:?}: the streamed text differs"
    );
    assert!(
        outcome.final_text() == Some(expected.as_str()),
        "{reader:?}: the final text differs"
    );
    assert_eq!(
        seen.lifecycle.get(..2),
        Some(
            &[
                "thread/status/changed".to_owned(),
                "turn/started".to_owned()
            ][..]
        ),
        "{reader:?}"
    );
    assert_eq!(
        seen.lifecycle.last().map(String::as_str),
        Some("turn/completed"),
        "{reader:?}"
    );
    assert!(
        seen.lifecycle
            .iter()
            .any(|method| method == "item/completed"),
        "{reader:?}: {:?}",
        seen.lifecycle
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_from_a_child_reach_a_slow_reader() {
    flood(Reader::Slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_from_a_child_reach_a_reader_at_the_end() {
    flood(Reader::AtTheEnd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_deltas_from_a_child_reach_a_reader_in_bursts() {
    flood(Reader::Bursts).await;
}
