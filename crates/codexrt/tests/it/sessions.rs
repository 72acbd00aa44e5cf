//! Sessions over the fake: several asks on one thread, streamed asks,
//! interrupt and steer, resume, fork, read and close.

use std::time::Duration;

use codexrt::protocol::types::{SandboxMode, ThreadUnsubscribeStatus, TurnStatus};
use codexrt::{ClientError, PromptRunError, SessionConfig, SessionEvent};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::json;

use crate::support::{
    answer, connect, finish, params_of, thread, thread_opened, turn_ended, turn_started,
};

#[tokio::test]
async fn two_asks_run_as_two_turns_of_one_thread() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["one"]))
        .step(turn_started("u2"))
        .steps(answer("u2", &["two"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let config = SessionConfig::new("/w")
        .effort("low")
        .sandbox(SandboxMode::WorkspaceWrite);
    let session = client.start_session(config).await.unwrap();
    assert_eq!(session.thread_id(), "t1");
    let first = session.ask("first").await.unwrap();
    let second = session.ask("second").await.unwrap();
    assert_eq!((first.text(), first.turn_id.as_str()), ("one", "u1"));
    assert_eq!((second.text(), second.turn_id.as_str()), ("two", "u2"));
    assert_eq!(session.running_turn(), None);

    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        [json!({"cwd": "/w", "sandbox": "workspace-write"})]
    );
    assert_eq!(
        params_of(&log, "turn/start"),
        [
            json!({"threadId": "t1", "input": [{"type": "text", "text": "first"}], "effort": "low"}),
            json!({"threadId": "t1", "input": [{"type": "text", "text": "second"}], "effort": "low"}),
        ]
    );
}

#[tokio::test]
async fn ask_stream_deltas_add_up_to_the_final_text_which_comes_last() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["Stre", "am", "ed!"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    let mut stream = session.ask_stream("go").await.unwrap();
    assert_eq!((stream.thread_id(), stream.turn_id()), ("t1", "u1"));
    let mut deltas = String::new();
    let mut notifications = Vec::new();
    let mut finished = None;
    while let Some(event) = stream.next().await {
        assert!(finished.is_none(), "an event after the outcome: {event:?}");
        match event {
            SessionEvent::TextDelta { delta, .. } => deltas.push_str(&delta),
            SessionEvent::Notification(note) => notifications.push(note.method().to_owned()),
            SessionEvent::Finished(outcome) => finished = Some(outcome.unwrap()),
            other => panic!("{other:?}"),
        }
    }
    assert!(stream.next().await.is_none());
    let result = finished.unwrap();
    assert_eq!(deltas, "Streamed!");
    assert_eq!(result.text(), deltas);
    assert_eq!(
        notifications,
        [
            "thread/tokenUsage/updated",
            "item/completed",
            "turn/completed"
        ]
    );
    drop(stream);
    assert_eq!(session.running_turn(), None);
    finish(client, fake).await;
}

#[tokio::test]
async fn steer_and_interrupt_act_on_the_running_ask() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::respond_to("turn/steer", json!({"turnId": "u1"})))
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(turn_ended("u1", "interrupted"))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    let idle = session.interrupt().await.unwrap_err();
    assert!(
        matches!(&idle, ClientError::NoTurnRunning { thread_id } if thread_id == "t1"),
        "{idle:?}"
    );

    let control = async {
        while session.running_turn().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        session.steer("faster").await.unwrap();
        session.interrupt().await.unwrap();
    };
    let (asked, ()) = tokio::join!(session.ask("go"), control);
    let error = asked.unwrap_err();
    assert!(
        matches!(error, PromptRunError::Interrupted { .. }),
        "{error:?}"
    );
    assert_eq!(error.result().unwrap().status, TurnStatus::Interrupted);

    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "turn/steer"),
        [
            json!({"threadId": "t1", "expectedTurnId": "u1", "input": [{"type": "text", "text": "faster"}]})
        ]
    );
    assert_eq!(
        params_of(&log, "turn/interrupt"),
        [json!({"threadId": "t1", "turnId": "u1"})]
    );
}

#[tokio::test]
async fn resume_fork_read_and_close_send_their_calls() {
    let mut read = json!({"thread": thread("t2")});
    read["thread"]["turns"] = json!([{"id": "u1", "items": [], "status": "completed"}]);
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/resume", thread_opened("t1")))
        .step(Step::respond_to("thread/fork", thread_opened("t2")))
        .step(Step::respond_to("thread/read", read))
        .step(Step::respond_to(
            "thread/unsubscribe",
            json!({"status": "unsubscribed"}),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let config = SessionConfig::new("/w").model("gpt-test");
    let session = client.resume_session("t1", config).await.unwrap();
    assert_eq!(session.thread_id(), "t1");
    let fork = session.fork().await.unwrap();
    assert_eq!(fork.thread_id(), "t2");
    assert_eq!(
        format!("{:?}", fork.config()),
        format!("{:?}", session.config())
    );
    let thread = fork.read().await.unwrap();
    assert_eq!((thread.id.as_str(), thread.turns.len()), ("t2", 1));
    assert_eq!(
        fork.close().await.unwrap(),
        ThreadUnsubscribeStatus::Unsubscribed
    );

    let log = finish(client, fake).await;
    let expected = |method: &str, params| (method.to_owned(), params);
    let sent: Vec<_> = log
        .messages()
        .skip(2)
        .map(|message| {
            expected(
                message["method"].as_str().unwrap(),
                message["params"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            expected(
                "thread/resume",
                json!({"threadId": "t1", "cwd": "/w", "sandbox": "read-only", "model": "gpt-test"})
            ),
            expected(
                "thread/fork",
                json!({"threadId": "t1", "cwd": "/w", "sandbox": "read-only", "model": "gpt-test"})
            ),
            expected(
                "thread/read",
                json!({"threadId": "t2", "includeTurns": true})
            ),
            expected("thread/unsubscribe", json!({"threadId": "t2"})),
        ]
    );
}

/// A thread as `thread/read` answers it, holding `turn`.
fn thread_holding(turn: serde_json::Value) -> serde_json::Value {
    let mut thread = thread("t1");
    thread["turns"] = json!([turn]);
    json!({ "thread": thread })
}

/// The steps of a turn `u1` whose `turn/completed` never comes: a
/// delta, then silence; `thread/read` first says it runs, then that it
/// completed.
fn a_turn_whose_completion_is_lost() -> Vec<Step> {
    let running = json!({"id": "u1", "items": [], "status": "inProgress"});
    let done = json!({"id": "u1", "status": "completed", "durationMs": 7, "items": [
        {"type": "agentMessage", "id": "m1", "text": "from thread/read"}
    ]});
    vec![
        turn_started("u1"),
        Step::notify(
            "item/agentMessage/delta",
            json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": "from"}),
        ),
        Step::respond_to("thread/read", thread_holding(running)),
        Step::respond_to("thread/read", thread_holding(done)),
    ]
}

/// The facade's turns have an inactivity watchdog: a lost `turn/completed`
/// ends the ask from `thread/read`, long before the turn's timeout.
#[tokio::test]
async fn the_watchdog_ends_an_ask_whose_completion_was_lost() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .steps(a_turn_whose_completion_is_lost())
        .step(Step::expect_close());
    // The client's default period is long; the session's own is short.
    let (client, fake) = connect(script).await;
    assert_eq!(
        codexrt::ClientConfig::new().turn_inactivity_period(),
        Duration::from_secs(30)
    );
    let config = SessionConfig::new("/w").inactivity(Duration::from_millis(50));
    let session = client.start_session(config).await.unwrap();
    // Within the test config's turn timeout of 20 s, a deadline would be
    // `TimedOut`: `Ok` is the watchdog's doing.
    let result = session.ask("hi").await.unwrap();
    assert_eq!(
        (result.turn_id.as_str(), result.text()),
        ("u1", "from thread/read")
    );
    assert_eq!(session.running_turn(), None);
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/read"),
        [
            json!({"threadId": "t1", "includeTurns": true}),
            json!({"threadId": "t1", "includeTurns": true})
        ]
    );
}

/// The client's watchdog period applies to runs as well.
#[tokio::test]
async fn the_clients_watchdog_period_applies_to_runs() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .steps(a_turn_whose_completion_is_lost())
        .step(Step::expect_close());
    let config = crate::support::config().turn_inactivity(Duration::from_millis(50));
    let (client, fake) = crate::support::connect_with(script, config).await;
    let client = client.unwrap();
    let result = client.run("/w", "hi").await.unwrap();
    assert_eq!(result.text(), "from thread/read");
    finish(client, fake).await;
}

/// An ask dropped while its `turn/start` is unanswered: the turn the late
/// answer names is interrupted, and the session's next ask waits for its
/// end, then runs a turn of its own.
#[tokio::test]
async fn an_ask_dropped_during_turn_start_has_its_turn_interrupted_and_the_next_ask_works() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::expect("turn/start"))
        // Sent once the ask was dropped, and answered first.
        .step(Step::respond_to("test/abandoned", json!({})))
        .step(Step::respond(json!({"turn": {
            "id": "u1", "items": [], "status": "inProgress", "durationMs": 7,
        }})))
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(turn_ended("u1", "interrupted"))
        .step(turn_started("u2"))
        .steps(answer("u2", &["two"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    let dropped = tokio::spawn({
        let session = session.clone();
        async move { session.ask("first").await }
    });
    tokio::time::timeout(Duration::from_secs(10), fake.wait_received(4))
        .await
        .expect("`turn/start` sent");
    dropped.abort();
    assert!(dropped.await.unwrap_err().is_cancelled());
    client
        .runtime()
        .call_raw("test/abandoned", json!({}))
        .await
        .unwrap();

    let second = session.ask("second").await.unwrap();
    assert_eq!((second.text(), second.turn_id.as_str()), ("two", "u2"));
    assert_eq!(session.running_turn(), None);
    let log = finish(client, fake).await;
    assert_eq!(
        log.methods()[2..],
        [
            "thread/start",
            "turn/start",
            "test/abandoned",
            "turn/interrupt",
            "turn/start"
        ]
    );
    assert_eq!(
        params_of(&log, "turn/interrupt"),
        [json!({"threadId": "t1", "turnId": "u1"})]
    );
}
