//! A real `codex app-server` driven with raw JSON through codexrt-transport
//! and codexrt-rpc, against the scripted model server.

use std::time::{Duration, Instant};

use codexrt_rpc::{Incoming, IncomingReceiver, RpcClient, RpcConfig};
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Script};
use serde_json::{Value, json};

/// The codex version these tests run.
pub(crate) const VERSION: &str = "0.169.0";

/// Longest wait for any one message from codex; a turn takes well under a
/// second, so this only bounds a failing test.
const WAIT: Duration = Duration::from_secs(60);

/// One message codex sent unasked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Notification { method: String, params: Value },
    Request { method: String, params: Value },
}

impl Event {
    pub(crate) fn method(&self) -> &str {
        match self {
            Event::Notification { method, .. } | Event::Request { method, .. } => method,
        }
    }

    pub(crate) fn params(&self) -> &Value {
        match self {
            Event::Notification { params, .. } | Event::Request { params, .. } => params,
        }
    }
}

pub(crate) struct AppServer {
    pub(crate) client: RpcClient,
    pub(crate) incoming: IncomingReceiver,
    pub(crate) model: ModelServer,
    pub(crate) codex: Codex,
    /// When the turn in progress was started.
    turn_started: Option<Instant>,
}

impl AppServer {
    /// Installs (or finds) codex, starts the model server with `script`,
    /// spawns the app-server and completes the handshake.
    pub(crate) async fn start(script: Script) -> AppServer {
        AppServer::start_with(script, json!({})).await
    }

    /// [`start`](AppServer::start) with these `capabilities` in `initialize`.
    pub(crate) async fn start_with(script: Script, capabilities: Value) -> AppServer {
        let binary = CodexInstall::new(VERSION).install().await.unwrap();
        let model = ModelServer::start(script).await.unwrap();
        let codex = Codex::new(binary, &model).unwrap();
        let spawned = codex.app_server().spawn().await.unwrap();
        let (client, incoming) = RpcClient::start(spawned.connection, RpcConfig::new());
        let init: Value = client
            .call(
                "initialize",
                json!({"clientInfo": {"name": "codexrt-testkit", "version": "0.1.0"},
                       "capabilities": capabilities}),
            )
            .await
            .unwrap();
        let user_agent = init["userAgent"].as_str().unwrap();
        // The server's version is the semver right after the first `/`.
        let version = user_agent.split_once('/').map(|(_, rest)| rest);
        assert!(
            version.is_some_and(|rest| rest.starts_with(&format!("{VERSION} "))),
            "{user_agent}"
        );
        client.notify("initialized", ()).await.unwrap();
        AppServer {
            client,
            incoming,
            model,
            codex,
            turn_started: None,
        }
    }

    /// `thread/start` in the workspace, with extra params; returns the id.
    pub(crate) async fn start_thread(&self, extra: Value) -> String {
        let mut params = json!({"cwd": self.codex.workspace()});
        merge(&mut params, extra);
        let result: Value = self.client.call("thread/start", params).await.unwrap();
        result["thread"]["id"].as_str().unwrap().to_owned()
    }

    /// `turn/start` with one text input under the `untrusted` approval
    /// policy; returns the turn id.
    pub(crate) async fn start_turn(&mut self, thread_id: &str, text: &str) -> String {
        self.turn_started = Some(Instant::now());
        let params = json!({
            "threadId": thread_id,
            "input": [{"type": "text", "text": text}],
            "approvalPolicy": "untrusted",
        });
        let result: Value = self.client.call("turn/start", params).await.unwrap();
        result["turn"]["id"].as_str().unwrap().to_owned()
    }

    /// The next message from codex; server requests are answered with
    /// `answer(method, params)`.
    pub(crate) async fn next_event(
        &mut self,
        answer: &mut impl FnMut(&str, &Value) -> Value,
    ) -> Event {
        let item = tokio::time::timeout(WAIT, self.incoming.recv())
            .await
            .expect("codex went quiet")
            .expect("codex closed the connection");
        match item {
            Incoming::Notification(notification) => Event::Notification {
                params: parse(notification.params.as_deref()),
                method: notification.method,
            },
            Incoming::Request(request) => {
                let (params, responder) = request.into_parts();
                let params = parse(params.as_deref());
                let method = responder.method().to_owned();
                responder.respond(answer(&method, &params)).unwrap();
                Event::Request { method, params }
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Every message up to and including `turn/completed`, and how long the
    /// turn took from `turn/start`.
    pub(crate) async fn run_turn(
        &mut self,
        mut answer: impl FnMut(&str, &Value) -> Value,
    ) -> (Vec<Event>, Duration) {
        let mut events = Vec::new();
        loop {
            let event = self.next_event(&mut answer).await;
            let done = event.method() == "turn/completed";
            events.push(event);
            if done {
                let elapsed = self
                    .turn_started
                    .map(|start| start.elapsed())
                    .unwrap_or_default();
                return (events, elapsed);
            }
        }
    }

    pub(crate) async fn shutdown(self) {
        self.client.shutdown(Duration::from_secs(5)).await.unwrap();
        self.model.shutdown().await;
    }
}

/// Answers that fail the test: for turns that must not ask anything.
pub(crate) fn no_requests(method: &str, params: &Value) -> Value {
    panic!("unexpected server request {method} {params}")
}

/// The params of every notification called `method`.
pub(crate) fn notifications<'e>(events: &'e [Event], method: &str) -> Vec<&'e Value> {
    events
        .iter()
        .filter(|event| matches!(event, Event::Notification { .. }) && event.method() == method)
        .map(Event::params)
        .collect()
}

/// The methods of the server requests, in order.
pub(crate) fn requests(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter(|event| matches!(event, Event::Request { .. }))
        .map(Event::method)
        .collect()
}

fn parse(raw: Option<&serde_json::value::RawValue>) -> Value {
    raw.map_or(Value::Null, |raw| serde_json::from_str(raw.get()).unwrap())
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}
