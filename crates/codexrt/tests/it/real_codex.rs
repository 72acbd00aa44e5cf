//! Against the real codex 0.169.0 (installed into the shared cache on first
//! use) with a scripted model on loopback: the facade end to end.

use std::time::Duration;

use codexrt::protocol::types::{AskForApproval, SandboxMode, TurnStatus};
use codexrt::{Client, ClientConfig, PromptRunResult, RunProfile, SessionConfig, SessionEvent};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script};
use futures_util::StreamExt;
use serde_json::json;

/// A scripted model, codex 0.169.0 pointed at it, and a client of that
/// codex spawned through `ClientConfig`.
async fn start(replies: Vec<Reply>) -> (ModelServer, Codex, Client) {
    start_with(replies, Duration::from_secs(60)).await
}

/// [`start`] with the given limit on each turn.
async fn start_with(replies: Vec<Reply>, turn_timeout: Duration) -> (ModelServer, Codex, Client) {
    start_scripted(Script::replies(replies), |config| {
        config.turn_timeout(turn_timeout)
    })
    .await
}

/// A scripted model following `script`, codex 0.169.0 and a client with
/// the shared settings passed through `configure`.
async fn start_scripted(
    script: Script,
    configure: impl FnOnce(ClientConfig) -> ClientConfig,
) -> (ModelServer, Codex, Client) {
    let model = ModelServer::start(script).await.unwrap();
    let binary = CodexInstall::new("0.169.0").install().await.unwrap();
    let codex = Codex::new(binary, &model).unwrap();
    let command = codex.command();
    let mut config = ClientConfig::new()
        .client_info("codexrt-facade-tests", "0.0.1")
        .program(&command.program)
        .current_dir(&command.current_dir)
        .turn_timeout(Duration::from_secs(60))
        .shutdown_grace(Duration::from_secs(5));
    for (key, value) in command.env {
        config = config.env(key, value);
    }
    let config = configure(config);
    let client = Client::connect(config).await.unwrap();
    (model, codex, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_run() {
    let (model, codex, client) = start(vec![
        Reply::message("Hello from the scripted model").deltas(3),
    ])
    .await;
    let result = client.run(codex.workspace(), "say hello").await.unwrap();
    assert_eq!(result.text(), "Hello from the scripted model");
    assert!(!result.thread_id.is_empty() && !result.turn_id.is_empty());
    assert!(model.requests()[0].user_texts().contains(&"say hello"));
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_the_first_exchange_as_context() {
    let (model, codex, client) = start(vec![
        Reply::message("The answer is 42."),
        Reply::message("You asked about the answer."),
    ])
    .await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let first = session.ask("What is the answer?").await.unwrap();
    assert_eq!(first.text(), "The answer is 42.");
    let second = session.ask("What did I ask?").await.unwrap();
    assert_eq!(second.text(), "You asked about the answer.");
    assert_eq!(first.thread_id, second.thread_id);

    let requests = model.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let context = &requests[1];
    let users = context.user_texts();
    assert!(users.contains(&"What is the answer?"), "{users:?}");
    assert!(users.contains(&"What did I ask?"), "{users:?}");
    let assistant_said = context.input().iter().any(|item| {
        item["role"] == "assistant" && item["content"][0]["text"] == "The answer is 42."
    });
    assert!(assistant_said, "{:#?}", context.input());
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_stream_deltas_equal_the_final_text() {
    let (model, codex, client) =
        start(vec![Reply::message("Streaming, piece by piece.").deltas(5)]).await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let mut stream = session.ask_stream("stream it").await.unwrap();
    let mut deltas = String::new();
    let mut outcome = None;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => deltas.push_str(&delta),
            SessionEvent::Finished(finished) => outcome = Some(finished.unwrap()),
            _ => {}
        }
    }
    assert_eq!(deltas, "Streaming, piece by piece.");
    assert_eq!(outcome.unwrap().text(), deltas);
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

/// The events of one ask, read to the end: its text joined, and its
/// outcome.
fn gather(events: Vec<SessionEvent>) -> (String, PromptRunResult) {
    let mut text = String::new();
    let mut outcome = None;
    for event in events {
        match event {
            SessionEvent::TextDelta { delta, .. } => text.push_str(&delta),
            SessionEvent::Finished(finished) => outcome = Some(finished.unwrap()),
            _ => {}
        }
    }
    (text, outcome.expect("a `Finished` event"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_streams_read_with_select_and_collect() {
    // The sessions' requests come in any order: answer each by its prompt.
    let script = Script::from_fn(|request| {
        let asked = request.user_texts().last().copied().unwrap_or_default();
        let answer = match asked {
            "left" => "Left answers in pieces.",
            "right" => "Right answers in more pieces.",
            _ => "Collected to the end.",
        };
        Reply::message(answer).deltas(4)
    });
    let (model, codex, client) = start_scripted(script, |config| config).await;
    let open = || client.start_session(SessionConfig::new(codex.workspace()));
    let (left_session, right_session) = (open().await.unwrap(), open().await.unwrap());
    let mut left = left_session.ask_stream("left").await.unwrap();
    let mut right = right_session.ask_stream("right").await.unwrap();
    let (mut left_events, mut right_events) = (Vec::new(), Vec::new());
    let (mut left_done, mut right_done) = (false, false);
    while !(left_done && right_done) {
        tokio::select! {
            event = StreamExt::next(&mut left), if !left_done => match event {
                Some(event) => left_events.push(event),
                None => left_done = true,
            },
            event = StreamExt::next(&mut right), if !right_done => match event {
                Some(event) => right_events.push(event),
                None => right_done = true,
            },
        }
    }
    // A stream that ended stays ended.
    assert!(StreamExt::next(&mut left).await.is_none());
    let (left_text, left_outcome) = gather(left_events);
    let (right_text, right_outcome) = gather(right_events);
    assert_eq!(left_text, "Left answers in pieces.");
    assert_eq!(left_outcome.text(), left_text);
    assert_eq!(left_outcome.thread_id, left_session.thread_id());
    assert_eq!(right_text, "Right answers in more pieces.");
    assert_eq!(right_outcome.text(), right_text);
    assert_eq!(right_outcome.thread_id, right_session.thread_id());

    let collected: Vec<SessionEvent> = left_session
        .ask_stream("collect")
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(collected.last(), Some(SessionEvent::Finished(Ok(_)))),
        "{collected:?}"
    );
    let (text, outcome) = gather(collected);
    assert_eq!(text, "Collected to the end.");
    assert_eq!(outcome.thread_id, left_session.thread_id());
    assert_ne!(outcome.turn_id, left_outcome.turn_id);
    assert_eq!(model.requests().len(), 3);
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_answers_is_declined() {
    let (model, codex, client) = start(vec![
        Reply::exec_command("touch made-by-codex.txt"),
        Reply::message("I could not run it."),
    ])
    .await;
    // A writable sandbox, so that only the declined approval keeps the
    // file from being made.
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted);
    let result = client
        .run_with_profile(codex.workspace(), "make a file", profile)
        .await
        .unwrap();
    assert_eq!(result.text(), "I could not run it.");
    assert!(!codex.workspace().join("made-by-codex.txt").exists());
    let outputs = model.last_request().unwrap().function_call_outputs();
    assert!(
        outputs[0].text.contains("rejected"),
        "{:?}",
        outputs[0].text
    );
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_schema_reaches_the_model() {
    let schema = json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": false,
    });
    let (model, codex, client) = start(vec![Reply::message("{\"ok\":true}")]).await;
    let profile = RunProfile::new().output_schema(schema.clone());
    let result = client
        .run_with_profile(codex.workspace(), "answer in JSON", profile)
        .await
        .unwrap();
    assert_eq!(result.text(), "{\"ok\":true}");
    // codex 0.169.0 passes it as the Responses API's strict JSON Schema
    // text format.
    let body = &model.last_request().unwrap().body;
    assert_eq!(
        body["text"]["format"],
        json!({"type": "json_schema", "name": "codex_output_schema", "strict": true, "schema": schema})
    );
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

/// A thread that keeps one core busy until it is told to stop, so that the
/// client, codex and the model server fight for what is left.
struct Busy {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Busy {
    fn start() -> Busy {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = std::sync::Arc::clone(&stop);
            move || {
                let mut spins = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    spins = std::hint::black_box(spins.wrapping_add(1));
                }
                spins
            }
        });
        Busy {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_of_100k_deltas_at_once_lose_nothing_on_a_starved_machine() {
    const SESSIONS: usize = 8;
    const DELTAS: usize = 100_000;
    // A different text per session, one character per delta.
    let texts: Vec<String> = (0..SESSIONS)
        .map(|session| {
            (0..DELTAS)
                .map(|n| char::from(b'a' + ((n * 7 + session) % 26) as u8))
                .collect()
        })
        .collect();
    let replies = texts
        .iter()
        .map(|text| Reply::message(text.clone()).deltas(DELTAS))
        .collect();
    // codex itself needs a while to stream 800,000 deltas on one free core.
    let (model, codex, client) = start_with(replies, Duration::from_secs(600)).await;
    let _busy = Busy::start();
    let mut asks = Vec::new();
    for _ in 0..SESSIONS {
        let session = client
            .start_session(SessionConfig::new(codex.workspace()))
            .await
            .unwrap();
        asks.push(tokio::spawn(async move {
            let mut stream = session.ask_stream("stream a lot").await.unwrap();
            let mut deltas = String::new();
            let mut pieces = 0usize;
            let mut result = None;
            while let Some(event) = stream.next().await {
                match event {
                    SessionEvent::TextDelta { delta, .. } => {
                        pieces += 1;
                        deltas.push_str(&delta);
                    }
                    SessionEvent::Finished(finished) => result = Some(finished.unwrap()),
                    _ => {}
                }
            }
            (deltas, pieces, result.unwrap())
        }));
    }
    let mut finals = Vec::new();
    for ask in asks {
        let (deltas, pieces, result) = ask.await.unwrap();
        let text = result.text().to_owned();
        assert_eq!(text.len(), DELTAS);
        // What the stream showed, what the outcome reassembled and what
        // codex said the message was are the same text, to the byte.
        assert!(
            deltas == text,
            "the streamed pieces differ from the message"
        );
        let streamed = result
            .streamed
            .iter()
            .find(|s| s.kind == codexrt::StreamKind::AgentMessage)
            .map(|s| s.text.as_str());
        assert!(
            streamed == Some(text.as_str()),
            "the reassembled text differs"
        );
        assert!((1..=DELTAS).contains(&pieces));
        finals.push(text);
    }
    // Each session got one of the scripted texts, and each text went to one
    // session.
    finals.sort();
    let mut expected = texts;
    expected.sort();
    assert!(
        finals == expected,
        "the sessions' texts are not the scripted ones"
    );
    assert_eq!(model.script_errors(), []);
    client.shutdown().await.unwrap();
}

/// A first answer that stalls after two pieces until codex gives up on
/// it, then the answer of the next ask.
fn a_slow_turn_then_an_answer() -> Vec<Reply> {
    vec![
        Reply::message("this answer never finishes")
            .deltas(5)
            .stall_after(2, Duration::MAX),
        Reply::message("The next ask's own answer."),
    ]
}

/// After a dropped ask of turn `dropped`: the next ask waits for that turn
/// to end, gets a turn of its own and its own answer, and the thread
/// shows the dropped turn `interrupted`.
async fn the_next_ask_gets_its_own_turn(
    session: &codexrt::Session,
    model: &ModelServer,
    dropped: &str,
) {
    let next = session.ask("the next question").await.unwrap();
    assert_ne!(next.turn_id, dropped);
    assert_eq!(next.text(), "The next ask's own answer.");
    assert_eq!(session.running_turn(), None);
    let thread = session.read().await.unwrap();
    let turns: Vec<(&str, TurnStatus)> = thread
        .turns
        .iter()
        .map(|turn| (turn.id.as_str(), turn.status.clone()))
        .collect();
    assert_eq!(
        turns,
        [
            (dropped, TurnStatus::Interrupted),
            (next.turn_id.as_str(), TurnStatus::Completed)
        ]
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[1].user_texts().last(),
        Some(&"the next question"),
        "{:?}",
        requests[1].user_texts()
    );
    assert_eq!(model.script_errors(), []);
}

// One thread for the test and the tasks it spawns: what the drop spawns
// cannot run before the test's next statement.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_ask_stream_interrupts_its_turn_and_the_next_ask_gets_a_new_one() {
    let (model, codex, client) = start(a_slow_turn_then_an_answer()).await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let mut stream = session.ask_stream("a slow question").await.unwrap();
    let dropped = stream.turn_id().to_owned();
    // Mid-turn: the answer has begun.
    loop {
        match stream.next().await {
            Some(SessionEvent::TextDelta { .. }) => break,
            Some(SessionEvent::Finished(finished)) => panic!("{finished:?}"),
            Some(_) => {}
            None => panic!("the stream ended without `Finished`"),
        }
    }
    drop(stream);
    // The session keeps the turn until codex ended it.
    assert_eq!(session.running_turn().as_deref(), Some(dropped.as_str()));
    the_next_ask_gets_its_own_turn(&session, &model, &dropped).await;
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_ask_interrupts_its_turn_and_the_next_ask_gets_a_new_one() {
    let (model, codex, client) = start(a_slow_turn_then_an_answer()).await;
    let session = client
        .start_session(SessionConfig::new(codex.workspace()))
        .await
        .unwrap();
    let started = async {
        // The model is answering (and stalls), and the session knows the
        // turn: the ask is mid-turn.
        model.wait_for_requests(1).await;
        while session.running_turn().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        asked = session.ask("a slow question") => panic!("{asked:?}"),
        () = started => {}
    }
    // The ask's future is gone; its turn is still the session's.
    let dropped = session.running_turn().unwrap();
    the_next_ask_gets_its_own_turn(&session, &model, &dropped).await;
    client.shutdown().await.unwrap();
}
