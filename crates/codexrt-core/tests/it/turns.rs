//! Turns over the fake: routing by thread and turn, early notifications,
//! reassembly, merged deltas for a slow reader, the watchdog, the deadline
//! and process death.

use std::sync::Arc;
use std::time::Duration;

use codexrt_core::{
    CoreError, RuntimeEvent, StreamKind, TURN_EVENT_CAPACITY, TurnEvent, TurnOptions, TurnOutcome,
};
use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{ThreadItemKind, TurnStartParams, TurnStatus, UserInput};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::{Value, json};

use crate::support::{config, connect, connect_with};

fn start_params() -> TurnStartParams {
    TurnStartParams {
        thread_id: "t1".to_owned(),
        input: vec![UserInput::Text {
            text: "hi".to_owned(),
            text_elements: None,
        }],
        ..TurnStartParams::default()
    }
}

fn turn(id: &str, status: &str) -> Value {
    json!({"id": id, "items": [], "status": status, "durationMs": 5})
}

fn delta(turn: &str, text: &str) -> Step {
    Step::notify(
        "item/agentMessage/delta",
        json!({"threadId": "t1", "turnId": turn, "itemId": "m1", "delta": text}),
    )
}

fn completed_item(text: &str) -> Step {
    Step::notify(
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "completedAtMs": 1, "item": {"type": "agentMessage", "id": "m1", "text": text}}),
    )
}

fn turn_completed(status: &str) -> Step {
    Step::notify(
        "turn/completed",
        json!({"threadId": "t1", "turn": turn("u1", status)}),
    )
}

fn describe(event: TurnEvent) -> String {
    match event {
        TurnEvent::Notification(note) => note.method().to_owned(),
        TurnEvent::Delta(delta) if delta.parts == 1 => format!("delta {}", delta.text),
        TurnEvent::Delta(delta) => format!("delta {} ({} parts)", delta.text, delta.parts),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn notifications_are_routed_to_their_turn_including_early_ones() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("turn/start"))
        // Before the answer: kept for the turn.
        .step(Step::notify("turn/started", json!({"threadId": "t1", "turn": turn("u1", "inProgress")})))
        .step(delta("u1", "Hel"))
        // Another turn's: not ours.
        .step(delta("u2", "nope"))
        .step(Step::respond(json!({"turn": turn("u1", "inProgress")})))
        .step(delta("u1", "lo"))
        .step(Step::notify(
            "thread/tokenUsage/updated",
            json!({"threadId": "t1", "turnId": "u1", "tokenUsage": {
                "last": {"cachedInputTokens": 0, "inputTokens": 3, "outputTokens": 2, "reasoningOutputTokens": 0, "totalTokens": 5},
                "total": {"cachedInputTokens": 0, "inputTokens": 3, "outputTokens": 2, "reasoningOutputTokens": 0, "totalTokens": 5},
            }}),
        ))
        .step(completed_item("Hello"))
        .step(turn_completed("completed"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let mut handle = runtime.start_turn(start_params()).await.unwrap();
    assert_eq!((handle.thread_id(), handle.turn_id()), ("t1", "u1"));
    let mut events = handle.events().unwrap();
    assert!(handle.events().is_none());
    let outcome = handle.wait().await.unwrap();
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        seen.push(describe(event));
    }
    assert_eq!(
        seen,
        [
            "turn/started",
            "delta Hel",
            "delta lo",
            "thread/tokenUsage/updated",
            "item/completed",
            "turn/completed",
        ]
    );
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("Hello"));
    assert_eq!(outcome.streamed.len(), 1);
    assert_eq!(outcome.streamed[0].kind, StreamKind::AgentMessage);
    assert_eq!(outcome.streamed[0].text, "Hello");
    assert_eq!(outcome.items.len(), 1);
    assert_eq!(
        outcome.token_usage.map(|usage| usage.total.total_tokens),
        Some(5)
    );
    assert_eq!(outcome.timings.duration_ms, Some(5));
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
}

/// The events as a `Stream`: `StreamExt::next` polled against a clock
/// that drops it while nothing is queued, then `collect`, give every event
/// once, in order.
#[tokio::test]
async fn the_events_as_a_stream_lose_nothing_to_dropped_polls() {
    use futures_util::StreamExt;

    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("turn/start"))
        .step(Step::respond(json!({"turn": turn("u1", "inProgress")})))
        // Nothing comes until the client calls again.
        .step(Step::expect("account/logout"))
        .step(Step::respond(json!({})))
        .step(delta("u1", "Hel"))
        .step(delta("u1", "lo"))
        .step(completed_item("Hello"))
        .step(turn_completed("completed"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let mut handle = runtime.start_turn(start_params()).await.unwrap();
    let mut events = handle.events().unwrap();
    // Polls that find nothing and are dropped take nothing.
    for _ in 0..3 {
        let polled = tokio::time::timeout(Duration::from_millis(5), events.next()).await;
        assert!(polled.is_err(), "{polled:?}");
    }
    runtime
        .call(codexrt_protocol::types::AccountLogoutParams)
        .await
        .unwrap();
    let seen: Vec<String> = events.map(describe).collect().await;
    assert_eq!(
        seen,
        ["delta Hel", "delta lo", "item/completed", "turn/completed"]
    );
    assert_eq!(handle.wait().await.unwrap().final_text(), Some("Hello"));
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
}

fn status_changed(thread: &str, status: Value) -> Step {
    Step::notify(
        "thread/status/changed",
        json!({"threadId": thread, "status": status}),
    )
}

/// `thread/started` params as codex 0.169.0 sends them.
fn thread_started(thread: &str) -> Value {
    json!({"thread": {
        "agentNickname": null, "agentRole": null, "attachedToThreadId": null,
        "canAcceptDirectInput": true, "cliVersion": "0.169.0", "createdAt": 0, "cwd": "/w",
        "daybreakEnabled": null, "environments": [], "ephemeral": false, "extra": null,
        "forkedFromId": null, "gitInfo": null, "historyMode": "paginated", "id": thread,
        "model": "mock-model", "modelProvider": "mock", "name": null, "originator": "t",
        "parentThreadId": null, "path": "/w/t.jsonl", "preview": "", "projectId": null,
        "reasoningEffort": null, "recencyAt": 0, "section": null, "sectionEnteredAt": null,
        "sessionId": "s", "source": "vscode", "status": {"type": "idle"},
        "threadSource": null, "turns": [], "updatedAt": 0
    }})
}

/// Where a turn's stream begins: every notification of its thread that
/// comes after the answer to `turn/start` on the wire, and before it only
/// what names the turn (and what comes after that). codex sends
/// `thread/status/changed` (active) right after its answer, before
/// `turn/started`; the runtime registers the turn as it reads the answer,
/// so the status is the turn's however late the caller's task runs.
#[tokio::test]
async fn a_turns_stream_begins_at_the_answer_to_turn_start() {
    let active = || status_changed("t1", json!({"type": "active", "activeFlags": []}));
    let started = || {
        Step::notify(
            "turn/started",
            json!({"threadId": "t1", "turn": turn("u1", "inProgress")}),
        )
    };
    let answer = || Step::respond(json!({"turn": turn("u1", "inProgress")}));
    let cases: [(&str, Vec<Step>, &[&str]); 3] = [
        (
            "codex's order",
            vec![answer(), active(), started()],
            &["thread/status/changed", "turn/started"],
        ),
        (
            "turn/started before the answer",
            vec![started(), active(), answer()],
            &["turn/started", "thread/status/changed"],
        ),
        (
            "the status before the answer, nothing of the turn yet",
            vec![active(), answer(), started()],
            &["turn/started"],
        ),
    ];
    for (case, start, first) in cases {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::expect("turn/start"))
            // The thread's own start, late: not the turn's.
            .step(Step::notify("thread/started", thread_started("t1")))
            // Another thread's: not the turn's.
            .step(status_changed("t2", json!({"type": "idle"})))
            .steps(start)
            .step(delta("u1", "hi"))
            .step(status_changed("t1", json!({"type": "idle"})))
            .step(turn_completed("completed"))
            .step(Step::expect_close());
        let (runtime, fake) = connect(script).await;
        let mut handle = runtime.start_turn(start_params()).await.unwrap();
        let mut events = handle.events().unwrap();
        handle.wait().await.unwrap();
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            seen.push(describe(event));
        }
        let mut expected: Vec<&str> = first.to_vec();
        expected.extend(["delta hi", "thread/status/changed", "turn/completed"]);
        assert_eq!(seen, expected, "{case}");
        runtime.shutdown().await.unwrap();
        assert!(fake.finished().await.completed());
    }
}

#[tokio::test]
async fn a_consumer_that_reads_late_gets_every_delta_merged_and_every_lifecycle_event() {
    let extra = 44;
    let mut script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ));
    for _ in 0..TURN_EVENT_CAPACITY + extra {
        script = script.step(delta("u1", "x"));
    }
    let script = script
        .step(completed_item("done"))
        .step(turn_completed("completed"))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    let mut handle = runtime.start_turn(start_params()).await.unwrap();
    let mut events = handle.events().unwrap();
    // Nothing is read until the turn is over.
    let outcome = handle.wait().await.unwrap();
    assert_eq!(
        outcome.streamed[0].text,
        "x".repeat(TURN_EVENT_CAPACITY + extra)
    );
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        seen.push(describe(event));
    }
    // The queue holds TURN_EVENT_CAPACITY deltas; every later one joins the
    // last of them.
    let mut expected = vec!["delta x".to_owned(); TURN_EVENT_CAPACITY - 1];
    expected.push(format!(
        "delta {} ({} parts)",
        "x".repeat(extra + 1),
        extra + 1
    ));
    expected.push("item/completed".to_owned());
    expected.push("turn/completed".to_owned());
    assert_eq!(seen, expected);
    runtime.shutdown().await.unwrap();
}

/// A long answer with characters JSON escapes, and its deltas of about
/// 1,000 bytes (cut at character boundaries).
fn long_answer() -> (String, Vec<Step>) {
    let mut text = String::new();
    while text.len() < 100_000 {
        text.push_str("a line with \"quotes\", a tab\t, é, 🦀 and \u{1}\n");
    }
    let mut deltas = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(1000);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, after) = rest.split_at(cut);
        deltas.push(delta("u1", piece));
        rest = after;
    }
    (text, deltas)
}

/// A long answer comes three times: as deltas, whole in `item/completed`,
/// and whole again in `turn/completed`. The router lends the turn's copy to
/// each of the two large frames while it decodes them; the outcome and the
/// events are whole however the reader keeps them. The fake sends
/// `turn/completed` only once the reader is done with `item/completed`
/// (it says so with a call), so that the turn's item is its own again and
/// lent for sure when the reader did not keep it.
#[tokio::test]
async fn a_long_answer_carried_whole_again_is_whole_everywhere() {
    let (text, deltas) = long_answer();
    for reader_keeps_events in [false, true] {
        let message = json!({"type": "agentMessage", "id": "m1", "text": text});
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to(
                "turn/start",
                json!({"turn": turn("u1", "inProgress")}),
            ))
            .steps(deltas.clone())
            .step(completed_item(&text))
            .step(Step::respond_to("test/itemRead", json!({})))
            .step(Step::notify(
                "turn/completed",
                json!({"threadId": "t1", "turn": {"id": "u1", "items": [message], "status": "completed"}}),
            ))
            .step(Step::expect_close());
        let (runtime, fake) = connect(script).await;
        let mut handle = runtime.start_turn(start_params()).await.unwrap();
        let mut events = handle.events().unwrap();
        let (item_read, item_was_read) = tokio::sync::oneshot::channel();
        let reading = tokio::spawn(async move {
            let (mut streamed, mut kept, mut texts) = (String::new(), Vec::new(), Vec::new());
            let mut item_read = Some(item_read);
            while let Some(event) = events.recv().await {
                let note = match &event {
                    TurnEvent::Delta(delta) => {
                        streamed.push_str(&delta.text);
                        continue;
                    }
                    TurnEvent::Notification(note) => Arc::clone(note),
                    other => panic!("unexpected event {other:?}"),
                };
                if reader_keeps_events {
                    kept.push(event);
                }
                let items = match &*note {
                    ServerNotification::ItemCompleted(done) => vec![done.item.clone()],
                    ServerNotification::TurnCompleted(done) => done.turn.items.clone(),
                    _ => Vec::new(),
                };
                drop(note);
                texts.extend(items.into_iter().map(|item| match item.kind {
                    ThreadItemKind::AgentMessage { text, .. } => text,
                    other => format!("{other:?}"),
                }));
                if let Some(item_read) = item_read.take_if(|_| texts.len() == 1) {
                    let _ = item_read.send(());
                }
            }
            (streamed, texts, kept.len())
        });
        item_was_read.await.unwrap();
        runtime.call_raw("test/itemRead", json!({})).await.unwrap();
        let outcome = handle.wait().await.unwrap();
        let (streamed, texts, kept) = reading.await.unwrap();
        assert_eq!(streamed, text);
        assert_eq!(texts, [text.as_str(), text.as_str()]);
        assert_eq!(kept, if reader_keeps_events { 2 } else { 0 });
        assert_eq!(outcome.streamed.len(), 1);
        assert_eq!(outcome.streamed[0].text, text);
        assert_eq!(outcome.items.len(), 1);
        assert_eq!(outcome.final_text(), Some(text.as_str()));
        runtime.shutdown().await.unwrap();
        assert!(fake.finished().await.completed());
    }
}

/// A large `item/completed` that does not decode: the text the turn lent
/// to it comes back, and the outcome holds the streamed answer whole.
#[tokio::test]
async fn a_long_answer_lent_to_a_frame_that_does_not_decode_comes_back() {
    let (text, deltas) = long_answer();
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        .steps(deltas)
        // `completedAtMs` is required.
        .step(Step::notify(
            "item/completed",
            json!({"threadId": "t1", "turnId": "u1", "item": {"type": "agentMessage", "id": "m1", "text": text}}),
        ))
        .step(turn_completed("completed"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let mut events = runtime.events();
    let handle = runtime.start_turn(start_params()).await.unwrap();
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.streamed.len(), 1);
    assert_eq!(outcome.streamed[0].text, text);
    assert!(outcome.items.is_empty());
    assert_eq!(outcome.final_text(), Some(text.as_str()));
    let undecodable = loop {
        match events.recv().await {
            Some(RuntimeEvent::Undecodable { method, .. }) => break method,
            Some(_) => {}
            None => panic!("no undecodable event"),
        }
    };
    assert_eq!(undecodable, "item/completed");
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
}

#[tokio::test]
async fn process_death_ends_a_pending_turn_with_the_report() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        .step(delta("u1", "partial"))
        .step(Step::StderrFlood { bytes: 64 })
        .step(Step::Exit { code: 7 });
    let (runtime, _fake) = connect(script).await;
    let handle = runtime.start_turn(start_params()).await.unwrap();
    match handle.wait().await {
        Err(CoreError::Closed { report, .. }) => {
            assert_eq!(report.exit.and_then(|status| status.code()), Some(7));
            assert!(!report.stderr_tail.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

fn thread_with(turn: Value) -> Value {
    json!({"thread": {
        "cliVersion": "0.169.0", "createdAt": 0, "cwd": "/w", "ephemeral": false, "id": "t1",
        "modelProvider": "mock", "preview": "", "sessionId": "s", "source": "appServer",
        "status": {"type": "idle"}, "turns": [turn], "updatedAt": 0,
    }})
}

#[tokio::test]
async fn the_watchdog_reconciles_a_turn_whose_completion_was_lost() {
    let mut done = turn("u1", "completed");
    done["items"] = json!([{"type": "agentMessage", "id": "m1", "text": "from thread/read"}]);
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        // First look: still running; second look: finished.
        .step(Step::respond_to(
            "thread/read",
            thread_with(turn("u1", "inProgress")),
        ))
        .step(Step::respond_to("thread/read", thread_with(done)))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let options = TurnOptions::new().inactivity_watchdog(Duration::from_millis(50));
    let handle = runtime
        .start_turn_with(start_params(), options)
        .await
        .unwrap();
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Completed);
    assert_eq!(outcome.final_text(), Some("from thread/read"));
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let read = log
        .messages()
        .find(|m| m["method"] == "thread/read")
        .unwrap();
    assert_eq!(
        read["params"],
        json!({"includeTurns": true, "threadId": "t1"})
    );
}

#[tokio::test]
async fn the_deadline_interrupts_and_fails() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let options = TurnOptions::new().deadline(Duration::from_millis(100));
    let handle = runtime
        .start_turn_with(start_params(), options)
        .await
        .unwrap();
    match handle.wait().await {
        Err(CoreError::TurnDeadline {
            thread_id,
            turn_id,
            deadline,
        }) => {
            assert_eq!((thread_id.as_str(), turn_id.as_str()), ("t1", "u1"));
            assert_eq!(deadline, Duration::from_millis(100));
        }
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let interrupt = log
        .messages()
        .find(|m| m["method"] == "turn/interrupt")
        .unwrap();
    assert_eq!(
        interrupt["params"],
        json!({"threadId": "t1", "turnId": "u1"})
    );
}

/// Runs a turn with `options` against a peer that answers `turn/start` and
/// then only reads (expecting `silent`, in order) without ever answering,
/// with a call timeout of 30 s: what `wait` returned, how long it took, and
/// the methods the peer saw.
async fn wait_on_a_silent_peer(
    silent: &[&str],
    options: TurnOptions,
) -> (Result<TurnOutcome, CoreError>, Duration, Vec<String>) {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        .steps(silent.iter().map(|method| Step::expect(*method)))
        .step(Step::expect_close());
    let config = config().call_timeout(Duration::from_secs(30));
    let (runtime, fake) = connect_with(script, config).await;
    let runtime = runtime.unwrap();
    let handle = runtime
        .start_turn_with(start_params(), options)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let result = handle.wait().await;
    let waited = started.elapsed();
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let methods = log.methods().into_iter().map(str::to_owned).collect();
    (result, waited, methods)
}

/// The failure of turn `u1` of `t1` at its deadline of 1 s.
fn assert_deadline(result: &Result<TurnOutcome, CoreError>) {
    assert!(
        matches!(
            result,
            Err(CoreError::TurnDeadline { thread_id, turn_id, deadline })
                if (thread_id.as_str(), turn_id.as_str(), *deadline)
                    == ("t1", "u1", Duration::from_secs(1))
        ),
        "{result:?}"
    );
}

/// A peer that never answers `turn/interrupt` does not hold `wait` past the
/// deadline plus the interrupt grace (500 ms), however long the call
/// timeout (30 s here; `wait` used to wait for it).
#[tokio::test]
async fn the_deadline_holds_when_the_interrupt_is_never_answered() {
    let options = TurnOptions::new().deadline(Duration::from_secs(1));
    let (result, waited, methods) = wait_on_a_silent_peer(&["turn/interrupt"], options).await;
    assert_deadline(&result);
    // 1.5 s at most, with room for a loaded machine.
    assert!(waited < Duration::from_secs(3), "wait took {waited:?}");
    assert_eq!(methods.last().map(String::as_str), Some("turn/interrupt"));
}

/// The watchdog's `thread/read`, unanswered, does not hold `wait` past the
/// deadline either: the question is given up at the deadline.
#[tokio::test]
async fn the_deadline_holds_when_the_watchdog_question_is_never_answered() {
    let options = TurnOptions::new()
        .deadline(Duration::from_secs(1))
        .inactivity_watchdog(Duration::from_millis(200));
    let silent = ["thread/read", "turn/interrupt"];
    let (result, waited, methods) = wait_on_a_silent_peer(&silent, options).await;
    assert_deadline(&result);
    assert!(waited < Duration::from_secs(3), "wait took {waited:?}");
    assert_eq!(
        methods,
        [
            "initialize",
            "initialized",
            "turn/start",
            "thread/read",
            "turn/interrupt"
        ]
    );
}

#[tokio::test]
async fn steer_names_the_expected_turn() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u1", "inProgress")}),
        ))
        .step(Step::respond_to("turn/steer", json!({"turnId": "u1"})))
        .step(turn_completed("interrupted"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let handle = runtime.start_turn(start_params()).await.unwrap();
    let input = vec![UserInput::Text {
        text: "more".to_owned(),
        text_elements: None,
    }];
    handle.steer(input).await.unwrap();
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.status, TurnStatus::Interrupted);
    assert_eq!(outcome.final_text(), None);
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let steer = log
        .messages()
        .find(|m| m["method"] == "turn/steer")
        .unwrap();
    assert_eq!(
        steer["params"],
        json!({"expectedTurnId": "u1", "input": [{"type": "text", "text": "more"}], "threadId": "t1"})
    );
}

/// codex answers a `turn/start` sent while a turn runs with that turn:
/// the second start fails with `TurnAlreadyStarted` and the first handle
/// still gets the turn's outcome, once.
#[tokio::test]
async fn a_start_answered_with_the_running_turn_is_not_joined() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("turn/start"))
        .step(Step::respond(json!({"turn": turn("u1", "inProgress")})))
        .step(Step::expect("turn/start"))
        .step(Step::respond(json!({"turn": turn("u1", "inProgress")})))
        .step(completed_item("Hello"))
        .step(turn_completed("completed"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let mut first = runtime.start_turn(start_params()).await.unwrap();
    match runtime.start_turn(start_params()).await {
        Err(CoreError::TurnAlreadyStarted { thread_id, turn_id }) => {
            assert_eq!((thread_id.as_str(), turn_id.as_str()), ("t1", "u1"));
        }
        other => panic!("{other:?}"),
    }
    let outcome = first.outcome().await.unwrap();
    assert_eq!(outcome.final_text(), Some("Hello"));
    match first.outcome().await {
        Err(CoreError::OutcomeTaken { turn_id, .. }) => assert_eq!(turn_id, "u1"),
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
}

/// The caller of `turn/start` gives up before the answer: the call goes
/// on, the turn the late answer names is interrupted, and the thread's next
/// start waits for that turn's end, then works.
#[tokio::test]
async fn a_start_abandoned_before_its_answer_is_interrupted_and_the_next_start_works() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("turn/start"))
        // Sent once the start was dropped, and answered first: the answer
        // to `turn/start` comes after the drop.
        .step(Step::respond_to("test/abandoned", json!({})))
        .step(Step::respond(json!({"turn": turn("u1", "inProgress")})))
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(Step::notify(
            "turn/completed",
            json!({"threadId": "t1", "turn": turn("u1", "interrupted")}),
        ))
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": turn("u2", "inProgress")}),
        ))
        .step(Step::notify(
            "turn/completed",
            json!({"threadId": "t1", "turn": turn("u2", "completed")}),
        ))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let abandoned = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.start_turn(start_params()).await }
    });
    tokio::time::timeout(Duration::from_secs(10), fake.wait_received(3))
        .await
        .expect("`turn/start` sent");
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    assert_eq!(
        runtime.call_raw("test/abandoned", json!({})).await.unwrap(),
        json!({})
    );

    let next = runtime.start_turn(start_params()).await.unwrap();
    assert_eq!((next.thread_id(), next.turn_id()), ("t1", "u2"));
    assert_eq!(next.wait().await.unwrap().status, TurnStatus::Completed);
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(
        log.methods(),
        [
            "initialize",
            "initialized",
            "turn/start",
            "test/abandoned",
            "turn/interrupt",
            "turn/start"
        ]
    );
    let interrupt = log.messages().nth(4).cloned();
    assert_eq!(
        interrupt,
        Some(
            json!({"id": 4, "method": "turn/interrupt", "params": {"threadId": "t1", "turnId": "u1"}})
        )
    );
}

fn thread_delta(thread: &str, turn: &str) -> Step {
    Step::notify(
        "item/agentMessage/delta",
        json!({"threadId": thread, "turnId": turn, "itemId": "m1", "delta": "hi"}),
    )
}

/// A round trip after which everything the fake sent before is routed.
async fn settle(runtime: &codexrt_core::Runtime) {
    runtime
        .call(codexrt_protocol::types::AccountLogoutParams)
        .await
        .unwrap();
}

/// A runtime that runs one turn in each of many threads, one after the
/// other, keeps turn state for the thread whose turn runs and for no
/// ended one, stragglers after each end included.
#[tokio::test]
async fn the_turns_of_ended_threads_are_forgotten() {
    const THREADS: usize = 300;
    let mut script = FakeScript::new().handshake(Handshake::new());
    for i in 0..THREADS {
        let (thread, turn_id) = (format!("t{i}"), format!("u{i}"));
        script = script
            .step(Step::expect("turn/start"))
            .step(Step::respond(json!({"turn": turn(&turn_id, "inProgress")})))
            // The count, while the turn runs.
            .step(Step::respond_to("account/logout", json!({})))
            // Then the turn goes on.
            .step(Step::respond_to("account/logout", json!({})))
            .step(thread_delta(&thread, &turn_id))
            .step(Step::notify(
                "turn/completed",
                json!({"threadId": thread, "turn": turn(&turn_id, "completed")}),
            ))
            // After the end: ignored.
            .step(thread_delta(&thread, &turn_id));
    }
    let script = script
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    for i in 0..THREADS {
        let params = TurnStartParams {
            thread_id: format!("t{i}"),
            ..start_params()
        };
        let handle = runtime.start_turn(params).await.unwrap();
        settle(&runtime).await;
        assert_eq!(runtime.stats().turn_threads, 1, "during turn {i}");
        settle(&runtime).await;
        let outcome = handle.wait().await.unwrap();
        assert_eq!(
            (outcome.status, outcome.streamed[0].text.as_str()),
            (TurnStatus::Completed, "hi"),
            "turn {i}"
        );
    }
    settle(&runtime).await;
    assert_eq!(runtime.stats().turn_threads, 0);
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
}

/// Notifications for turns nobody starts are kept for the latest sixteen
/// such turns; the threads of the older ones are forgotten with them.
#[tokio::test]
async fn the_threads_of_forgotten_unclaimed_turns_are_forgotten() {
    let mut script = FakeScript::new().handshake(Handshake::new());
    for i in 0..40 {
        script = script.step(thread_delta(&format!("other{i}"), "u1"));
    }
    let script = script
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    settle(&runtime).await;
    assert_eq!(runtime.stats().turn_threads, 16);
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
}

/// Notifications framed as codex frames them are decoded from their frame
/// unchecked; the others after a full parse. Observers see the same either
/// way, and a notification that does not decode is reported once.
#[tokio::test]
async fn every_notification_is_seen_once_whichever_way_its_frame_is_read() {
    let status = json!({"threadId": "t1", "status": {"type": "idle"}});
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::notify("thread/status/changed", status.clone()))
        // Params not last: read in full.
        .step(Step::Garbage {
            line: format!(
                r#"{{"method":"thread/status/changed","params":{status},"jsonrpc":"2.0"}}"#
            ),
        })
        .step(Step::notify(
            "thread/status/changed",
            json!({"threadId": 5}),
        ))
        .step(Step::notify(
            "item/agentMessage/delta",
            json!({"threadId": "t1", "turnId": "u1", "delta": "no item id"}),
        ))
        // A method this version does not know, framed as codex would.
        .step(Step::Garbage {
            line: r#"{"method":"custom/marker","params":{"k":[1]}}"#.to_owned(),
        })
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let mut events = runtime.events();
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        let described = match event {
            RuntimeEvent::Notification(notification) => match &*notification {
                ServerNotification::Unknown { method, params } => {
                    format!(
                        "unknown {method} {}",
                        params.as_deref().map_or("", |p| p.get())
                    )
                }
                known => format!("notification {}", serde_json::to_string(known).unwrap()),
            },
            RuntimeEvent::Undecodable { method, .. } => format!("undecodable {method}"),
            other => format!("other {other:?}"),
        };
        let last = described.starts_with("unknown");
        seen.push(described);
        if last {
            break;
        }
    }
    let decoded = format!(
        "notification {}",
        json!({"method": "thread/status/changed", "params": status})
    );
    assert_eq!(
        seen,
        [
            decoded.clone(),
            decoded,
            "undecodable thread/status/changed".to_owned(),
            "undecodable item/agentMessage/delta".to_owned(),
            r#"unknown custom/marker {"k":[1]}"#.to_owned(),
        ]
    );
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
}
