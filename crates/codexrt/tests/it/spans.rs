//! The `tracing` spans of a run over the fake, seen by a capturing
//! subscriber: each documented span with its fields, and how they nest
//! (connection > thread > turn > request / server request).
//!
//! The subscriber is the default of this test's thread only, and the test
//! runs on a current-thread runtime, so every task of the run reports to it
//! and no other test of the binary does.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use codexrt::hooks::{Decision, HookEntry, HookSet, hook_fn};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::json;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::support::{answer, config, connect_with, finish, thread_opened, turn_started};

/// One span as the subscriber saw it: its name, every field recorded (at
/// creation or later), and its parent's index among the captured spans.
#[derive(Debug, Clone, PartialEq)]
struct Captured {
    name: &'static str,
    fields: BTreeMap<String, String>,
    parent: Option<usize>,
}

/// A layer that keeps every `codexrt.*` span, in creation order.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

/// A span's index among the captured ones, kept in its extensions.
struct Index(usize);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `display(..)` values print their `Display` through `Debug`.
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = attrs.metadata().name();
        if !name.starts_with("codexrt.") {
            return;
        }
        let span = ctx.span(id).expect("a new span is in the registry");
        let parent = span
            .parent()
            .and_then(|parent| parent.extensions().get::<Index>().map(|index| index.0));
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap();
        span.extensions_mut().insert(Index(spans.len()));
        spans.push(Captured {
            name,
            fields,
            parent,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(index) = span.extensions().get::<Index>().map(|index| index.0) else {
            return;
        };
        values.record(&mut Fields(&mut self.0.lock().unwrap()[index].fields));
    }
}

/// The fields `names` of `span`, `-` for one not recorded.
fn fields(span: &Captured, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| {
            span.fields
                .get(*name)
                .cloned()
                .unwrap_or_else(|| "-".to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_run_traces_its_connection_thread_turn_calls_and_server_requests() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::request(
            7,
            "item/commandExecution/requestApproval",
            json!({"itemId": "c1", "startedAtMs": 0, "threadId": "t1", "turnId": "u1",
                   "command": "make", "cwd": "/w"}),
        ))
        .step(Step::expect_response(7))
        .steps(answer("u1", &["Hel", "lo"]))
        .step(Step::expect_close());
    let allow = hook_fn(|_| async { Ok(Decision::Accept) });
    let hooks = HookSet::new().hook(HookEntry::new("allow-all", allow));
    let (client, fake) = connect_with(script, config().hooks(hooks)).await;
    let client = client.unwrap();
    let result = client.run(".", "say hello").await.unwrap();
    assert_eq!(result.text(), "Hello");
    let log = finish(client, fake).await;
    // The hook's decision is the one the server got.
    let answer = log
        .messages()
        .find(|message| message["id"] == 7 && message.get("result").is_some())
        .cloned();
    assert_eq!(
        answer,
        Some(json!({"id": 7, "result": {"decision": "accept"}}))
    );

    let spans = capture.0.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|span| span.name).collect();
    assert_eq!(
        names,
        [
            "codexrt.connection",
            "codexrt.request",
            "codexrt.thread",
            "codexrt.request",
            "codexrt.turn",
            "codexrt.request",
            "codexrt.server_request",
        ]
    );
    let [
        connection,
        initialize,
        thread,
        thread_start,
        turn,
        turn_start,
        approval,
    ] = &spans[..]
    else {
        unreachable!("the names were checked above");
    };

    assert_eq!(
        fields(connection, &["endpoint", "pid", "codex_version"]),
        ["connection", "-", "0.169.0"]
    );
    assert_eq!(connection.parent, None);
    assert_eq!(fields(thread, &["thread_id"]), ["t1"]);
    assert_eq!(thread.parent, Some(0));
    assert_eq!(
        fields(turn, &["thread_id", "turn_id", "model"]),
        ["t1", "u1", "-"]
    );
    assert_eq!(turn.parent, Some(2));

    // Each call: its method, the id on the wire, how it ended, and how
    // long it took (a whole number of milliseconds, whatever it was).
    assert_eq!(
        fields(initialize, &["method", "id", "outcome"]),
        ["initialize", "1", "ok"]
    );
    assert_eq!(initialize.parent, Some(0));
    assert_eq!(
        fields(thread_start, &["method", "id", "outcome"]),
        ["thread/start", "2", "ok"]
    );
    assert_eq!(thread_start.parent, Some(2));
    assert_eq!(
        fields(turn_start, &["method", "id", "outcome"]),
        ["turn/start", "3", "ok"]
    );
    assert_eq!(turn_start.parent, Some(4));
    for call in [initialize, thread_start, turn_start] {
        let duration = &call.fields["duration_ms"];
        assert!(duration.parse::<u64>().is_ok(), "duration_ms = {duration}");
    }

    // The approval nests under its turn, with the hook that decided it.
    assert_eq!(
        fields(approval, &["kind", "id", "decision", "hook"]),
        [
            "item/commandExecution/requestApproval",
            "7",
            "accept",
            "allow-all"
        ]
    );
    assert_eq!(approval.parent, Some(4));
}

#[tokio::test]
async fn a_session_traces_its_asks_under_its_thread_with_failures_and_safe_answers() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .step(Step::request(
            "a-1",
            "item/commandExecution/requestApproval",
            json!({"itemId": "c1", "startedAtMs": 0, "threadId": "t1", "turnId": "u1",
                   "command": "rm -rf /", "cwd": "/w"}),
        ))
        .step(Step::expect_response("a-1"))
        .steps(answer("u1", &["done"]))
        .step(Step::expect("thread/read"))
        .step(Step::respond_error(-32600, "no such thread"))
        .step(Step::expect_close());
    let (client, fake) = connect_with(script, config()).await;
    let client = client.unwrap();
    let session = client
        .start_session(codexrt::SessionConfig::new("/w"))
        .await
        .unwrap();
    assert_eq!(session.ask("clean up").await.unwrap().text(), "done");
    assert!(session.read().await.is_err());
    drop(session);
    let log = finish(client, fake).await;
    // No hooks are set, so nobody decided: the approval got the safe
    // answer of its kind.
    let answer = log
        .messages()
        .find(|message| message["id"] == "a-1" && message.get("result").is_some())
        .cloned();
    assert_eq!(
        answer,
        Some(json!({"id": "a-1", "result": {"decision": "decline"}}))
    );

    let spans = capture.0.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|span| span.name).collect();
    assert_eq!(
        names,
        [
            "codexrt.connection",
            "codexrt.request",
            "codexrt.thread",
            "codexrt.request",
            "codexrt.turn",
            "codexrt.request",
            "codexrt.server_request",
            "codexrt.request",
        ]
    );
    let thread = &spans[2];
    assert_eq!(fields(thread, &["thread_id"]), ["t1"]);
    assert_eq!(thread.parent, Some(0));
    assert_eq!(
        fields(&spans[3], &["method", "outcome"]),
        ["thread/start", "ok"]
    );
    assert_eq!(spans[3].parent, Some(2));
    assert_eq!(spans[4].parent, Some(2));
    assert_eq!(
        fields(&spans[5], &["method", "outcome"]),
        ["turn/start", "ok"]
    );
    assert_eq!(spans[5].parent, Some(4));
    // A string id is shown quoted; the safe answer is recorded as such,
    // and no hook is named.
    assert_eq!(
        fields(&spans[6], &["kind", "id", "decision", "hook"]),
        [
            "item/commandExecution/requestApproval",
            "\"a-1\"",
            "safe",
            "-"
        ]
    );
    assert_eq!(spans[6].parent, Some(4));
    // The failed read is the thread's, with the server's refusal.
    assert_eq!(
        fields(&spans[7], &["method", "id", "outcome"]),
        ["thread/read", "4", "error"]
    );
    assert_eq!(spans[7].parent, Some(2));
}
