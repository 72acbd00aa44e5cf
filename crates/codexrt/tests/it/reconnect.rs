//! Reconnecting over the fake: a connector that hands out one scripted
//! fake after another. What in flight fails with the close report, nothing
//! is sent again, the session resumes its thread on the new server, the
//! hooks answer the new server's requests, the attempts stop at their
//! bound or at a version the guard refuses, and the events say so.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt::hooks::{Decision, HookEntry, HookSet, hook_fn};
use codexrt::transport::{CloseReason, TransportError};
use codexrt::{
    Client, ClientConfig, ClientError, ConnectionEvent, ConnectionEvents, CoreError,
    PromptRunError, ReconnectPolicy, SessionConfig,
};
use codexrt_testkit::fake::{FakeHandle, FakeScript, FakeServer, Handshake, Step};
use serde_json::json;

use crate::support::{answer, config, params_of, thread_opened, turn_started};

/// What each connection attempt gets, in order: a fake playing the
/// script, or a refused connection.
struct Servers {
    next: Mutex<VecDeque<Option<FakeScript>>>,
    handles: Mutex<Vec<FakeHandle>>,
    asked: Mutex<u32>,
}

impl Servers {
    fn new(plan: impl IntoIterator<Item = Option<FakeScript>>) -> Arc<Servers> {
        Arc::new(Servers {
            next: Mutex::new(plan.into_iter().collect()),
            handles: Mutex::default(),
            asked: Mutex::new(0),
        })
    }

    fn connect(&self) -> Result<codexrt::Connection, TransportError> {
        *self.asked.lock().unwrap() += 1;
        match self.next.lock().unwrap().pop_front().flatten() {
            Some(script) => {
                let (connection, handle) = FakeServer::new(script).connect();
                self.handles.lock().unwrap().push(handle);
                Ok(connection)
            }
            None => Err(TransportError::Connect {
                endpoint: "fake://".to_owned(),
                source: io::Error::from(io::ErrorKind::ConnectionRefused),
            }),
        }
    }

    fn asked(&self) -> u32 {
        *self.asked.lock().unwrap()
    }

    fn handle(&self, index: usize) -> FakeHandle {
        self.handles.lock().unwrap()[index].clone()
    }
}

fn quick(attempts: u32) -> ReconnectPolicy {
    ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(2))
        .max_delay(Duration::from_millis(20))
        .max_attempts(attempts)
}

async fn client(servers: &Arc<Servers>, config: ClientConfig) -> Result<Client, ClientError> {
    let servers = Arc::clone(servers);
    Client::connect_with_connector(
        move || {
            let connected = servers.connect();
            async move { connected }
        },
        config,
    )
    .await
}

/// The next event, within a generous bound.
async fn next(events: &mut ConnectionEvents) -> ConnectionEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
}

/// Events up to and including the first one `last` matches.
async fn events_until(
    events: &mut ConnectionEvents,
    last: fn(&ConnectionEvent) -> bool,
) -> Vec<ConnectionEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next(events).await;
        let done = last(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// An event with its payload reduced to what the tests compare.
fn shape(event: &ConnectionEvent) -> String {
    match event {
        ConnectionEvent::Disconnected { report } => format!("disconnected: {report}"),
        ConnectionEvent::Attempt { attempt, .. } => format!("attempt {attempt}"),
        ConnectionEvent::AttemptFailed { attempt, error } => {
            format!("attempt {attempt} failed: {error}")
        }
        ConnectionEvent::Reconnected { attempt, server } => {
            format!("reconnected at attempt {attempt} to {}", server.version)
        }
        ConnectionEvent::GaveUp { error } => format!("gave up: {error}"),
        other => format!("{other:?}"),
    }
}

fn is_reconnected(event: &ConnectionEvent) -> bool {
    matches!(event, ConnectionEvent::Reconnected { .. })
}

fn is_gave_up(event: &ConnectionEvent) -> bool {
    matches!(event, ConnectionEvent::GaveUp { .. })
}

#[tokio::test]
async fn the_ask_in_flight_fails_and_the_next_resumes_the_thread_on_the_new_server() {
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::notify(
            "item/agentMessage/delta",
            json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": "half"}),
        ))
        .step(Step::Exit { code: 3 });
    let second = FakeScript::new()
        .handshake(Handshake::new().version("0.169.1"))
        .step(Step::respond_to("thread/resume", thread_opened("t1")))
        .step(turn_started("u2"))
        .steps(answer("u2", &["where ", "were we"]))
        .step(Step::expect_close());
    let servers = Servers::new([Some(first), Some(second)]);
    let client = client(&servers, config().reconnect(quick(3)))
        .await
        .unwrap();
    let mut events = client.connection_events();
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();

    let error = session.ask("first").await.unwrap_err();
    let PromptRunError::Client(ClientError::Runtime(core)) = &error else {
        panic!("unexpected {error:?}");
    };
    let report = core.close_report().expect("the close report");
    assert!(
        matches!(report.reason, CloseReason::ProcessExited),
        "{report}"
    );

    let seen = events_until(&mut events, is_reconnected).await;
    let shapes: Vec<String> = seen.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            format!("disconnected: {report}"),
            "attempt 1".to_owned(),
            "reconnected at attempt 1 to 0.169.1".to_owned(),
        ]
    );
    let ConnectionEvent::Attempt { delay, .. } = &seen[1] else {
        unreachable!()
    };
    let (low, high) = quick(3).delay_range(1);
    assert!(low <= *delay && *delay <= high, "{delay:?}");
    assert_eq!(client.server_info().version.to_string(), "0.169.1");

    let again = session.ask("second").await.unwrap();
    assert_eq!(
        (again.text(), again.turn_id.as_str()),
        ("where were we", "u2")
    );

    client.shutdown().await.unwrap();
    let old = servers.handle(0).finished().await;
    let new = servers.handle(1).finished().await;
    assert!(new.completed(), "{:?}", new.failure);
    // The turn the old server took is not sent again: the new one sees
    // the handshake, the resume and the one later turn.
    assert_eq!(params_of(&old, "turn/start").len(), 1);
    assert_eq!(
        new.methods(),
        ["initialize", "initialized", "thread/resume", "turn/start"]
    );
    let resumed = &params_of(&new, "thread/resume")[0];
    assert_eq!(
        (&resumed["threadId"], &resumed["cwd"]),
        (&json!("t1"), &json!("/w"))
    );
    assert_eq!(
        params_of(&new, "turn/start")[0]["input"],
        json!([{"type": "text", "text": "second"}])
    );
    assert_eq!(servers.asked(), 2);
}

#[tokio::test]
async fn the_attempts_stop_at_their_bound_and_later_calls_fail_with_gave_up() {
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::Kill);
    let servers = Servers::new([Some(first)]);
    let client = client(&servers, config().reconnect(quick(3)))
        .await
        .unwrap();
    let mut events = client.connection_events();
    let seen = events_until(&mut events, is_gave_up).await;
    let shapes: Vec<String> = seen.iter().map(shape).collect();
    let refused = "attempt {} failed: failed to connect to the app-server";
    assert_eq!(
        shapes,
        [
            format!("disconnected: {}", client.runtime().closed().await.as_ref()),
            "attempt 1".to_owned(),
            refused.replace("{}", "1"),
            "attempt 2".to_owned(),
            refused.replace("{}", "2"),
            "attempt 3".to_owned(),
            "gave up: gave up reconnecting to codex after 3 attempts".to_owned(),
        ]
    );
    assert_eq!(servers.asked(), 4);

    let error = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap_err();
    let ClientError::GaveUp { attempts, last } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(**last, ClientError::Connect(TransportError::Connect { .. })),
        "{last:?}"
    );
    let run = client.run("/w", "hello").await.unwrap_err();
    assert!(
        matches!(
            run,
            PromptRunError::Client(ClientError::GaveUp { attempts: 3, .. })
        ),
        "{run:?}"
    );
    // The stream ends with the client.
    drop(client);
    assert!(
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_new_server_the_guard_refuses_stops_the_reconnecting() {
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::Exit { code: 0 });
    let too_old = FakeScript::new().handshake(Handshake::new().version("0.1.0"));
    let servers = Servers::new([Some(first), Some(too_old), Some(FakeScript::new())]);
    let client = client(&servers, config().reconnect(quick(5)))
        .await
        .unwrap();
    let mut events = client.connection_events();
    let seen = events_until(&mut events, is_gave_up).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    let ConnectionEvent::GaveUp { error } = &seen[2] else {
        unreachable!()
    };
    let ClientError::GaveUp { attempts, last } = error.as_ref() else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(*attempts, 1);
    assert!(last.is_version_refusal(), "{last:?}");
    let ClientError::IncompatibleCodexVersion { detected, .. } = last.as_ref() else {
        panic!("unexpected {last:?}");
    };
    assert_eq!(detected.to_string(), "0.1.0");
    // One attempt, though five were allowed.
    assert_eq!(servers.asked(), 2);
}

#[tokio::test]
async fn the_client_hooks_answer_the_new_server_requests() {
    let approval = Step::request(
        7,
        "item/commandExecution/requestApproval",
        json!({"itemId": "i", "startedAtMs": 0, "threadId": "t1", "turnId": "u2",
               "command": "make", "cwd": "/w"}),
    );
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::Exit { code: 1 });
    let second = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/resume", thread_opened("t1")))
        .step(turn_started("u2"))
        .step(approval)
        .step(Step::expect_response(7))
        .steps(answer("u2", &["made"]))
        .step(Step::expect_close());
    let servers = Servers::new([Some(first), Some(second)]);
    let approve = hook_fn(|_ctx| async { Ok(Decision::Accept) });
    let hooks = HookSet::new().hook(HookEntry::new("approve", approve));
    let client = client(&servers, config().hooks(hooks).reconnect(quick(3)))
        .await
        .unwrap();
    let mut events = client.connection_events();
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    events_until(&mut events, is_reconnected).await;
    let done = session.ask("make it").await.unwrap();
    assert_eq!(done.text(), "made");
    client.shutdown().await.unwrap();
    let log = servers.handle(1).finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    // `accept` comes only from the hook; the safe answer is `decline`.
    assert_eq!(
        log.response_to(&json!(7)).map(|answer| &answer["result"]),
        Some(&json!({"decision": "accept"}))
    );
}

#[tokio::test]
async fn without_a_policy_a_dropped_connection_ends_the_client() {
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::Exit { code: 2 });
    let servers = Servers::new([Some(first), Some(FakeScript::new())]);
    let client = client(&servers, config()).await.unwrap();
    let error = client.run("/w", "hello").await.unwrap_err();
    let PromptRunError::Client(ClientError::Runtime(error)) = &error else {
        panic!("unexpected {error:?}");
    };
    assert!(error.close_report().is_some(), "{error:?}");
    let again = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap_err();
    assert!(
        again
            .as_runtime()
            .and_then(CoreError::close_report)
            .is_some(),
        "{again:?}"
    );
    assert_eq!(servers.asked(), 1);
}

/// A connector that panics while reconnecting: the calls waiting for the
/// new runtime get `GaveUp` with `ReconnectAborted`, and nothing hangs.
#[tokio::test]
async fn a_connector_that_panics_ends_the_reconnecting_with_gave_up() {
    let first = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::Kill);
    let servers = Servers::new([Some(first)]);
    let connector = {
        let servers = Arc::clone(&servers);
        move || {
            let asked = servers.asked();
            let connected = servers.connect();
            async move {
                assert!(
                    asked == 0,
                    "a reconnection panics, as a buggy connector might"
                );
                connected
            }
        }
    };
    let client = Client::connect_with_connector(connector, config().reconnect(quick(5)))
        .await
        .unwrap();
    let mut events = client.connection_events();
    let seen = events_until(&mut events, is_gave_up).await;
    let shapes: Vec<String> = seen.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            format!("disconnected: {}", client.runtime().closed().await.as_ref()),
            "attempt 1".to_owned(),
            "gave up: gave up reconnecting to codex after 1 attempts".to_owned(),
        ]
    );
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client.start_session(SessionConfig::new("/w")),
    )
    .await
    .expect("the call ends")
    .unwrap_err();
    let ClientError::GaveUp { attempts: 1, last } = &error else {
        panic!("unexpected {error:?}");
    };
    assert!(matches!(**last, ClientError::ReconnectAborted), "{last:?}");
}
