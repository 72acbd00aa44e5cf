//! The scripted model server against a plain HTTP client: the exact events
//! of each reply, failures, exhaustion, stalls, recording, shutdown.

use std::time::Duration;

use codexrt_testkit::{ModelServer, Reply, Script, ScriptError};
use serde_json::{Value, json};

use crate::http::{Connection, Event};

const WAIT: Duration = Duration::from_secs(10);

fn event(kind: &str, data: Value) -> Event {
    Event {
        kind: kind.to_owned(),
        data,
    }
}

fn completed(id: &str, input: u64, output: u64) -> Event {
    event(
        "response.completed",
        json!({"type": "response.completed", "response": {"id": id, "usage": {
            "input_tokens": input, "input_tokens_details": null,
            "output_tokens": output, "output_tokens_details": null,
            "total_tokens": input + output,
        }}}),
    )
}

fn model_body(text: &str) -> Value {
    json!({
        "model": "mock-model",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        "tools": [{"type": "function", "name": "exec_command"}, {"type": "web_search"}],
        "stream": true,
    })
}

/// Posts one model request on a fresh connection and returns its events.
async fn events_of(server: &ModelServer, body: &Value) -> Vec<Event> {
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let response = connection.post_json("/v1/responses", body).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    response.events().await.unwrap()
}

#[tokio::test]
async fn a_message_streams_its_deltas_then_the_whole_text() {
    let script = Script::replies([Reply::message("Hello, world").deltas(3).usage(3, 2)]);
    let server = ModelServer::start(script).await.unwrap();
    let events = events_of(&server, &model_body("hi")).await;
    let delta = |text: &str| {
        event(
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "item_id": "msg-0",
                   "output_index": 0, "content_index": 0, "delta": text}),
        )
    };
    assert_eq!(
        events,
        vec![
            event(
                "response.created",
                json!({"type": "response.created", "response": {"id": "resp-0"}})
            ),
            event(
                "response.output_item.added",
                json!({"type": "response.output_item.added", "output_index": 0,
                       "item": {"type": "message", "role": "assistant", "id": "msg-0", "content": []}})
            ),
            delta("Hell"),
            delta("o, w"),
            delta("orld"),
            event(
                "response.output_item.done",
                json!({"type": "response.output_item.done", "output_index": 0,
                       "item": {"type": "message", "role": "assistant", "id": "msg-0",
                                "content": [{"type": "output_text", "text": "Hello, world", "annotations": []}]}})
            ),
            completed("resp-0", 3, 2),
        ]
    );
    assert_eq!(server.script_errors(), []);
}

#[tokio::test]
async fn tool_calls_stream_one_function_call_item() {
    let script = Script::replies([
        Reply::exec_command("touch x"),
        Reply::tool_call("lookup", json!({"key": "a", "n": 1})).call_id("call-lookup"),
    ]);
    let server = ModelServer::start(script).await.unwrap();
    let call = |index: usize, name: &str, arguments: &str, call_id: &str| {
        let id = format!("resp-{index}");
        vec![
            event(
                "response.created",
                json!({"type": "response.created", "response": {"id": id}}),
            ),
            event(
                "response.output_item.done",
                json!({"type": "response.output_item.done", "item": {
                    "type": "function_call", "name": name, "arguments": arguments, "call_id": call_id,
                }}),
            ),
            completed(&id, 16, 8),
        ]
    };
    assert_eq!(
        events_of(&server, &model_body("run")).await,
        call(0, "exec_command", r#"{"cmd":"touch x"}"#, "call-0")
    );
    assert_eq!(
        events_of(&server, &model_body("look")).await,
        call(1, "lookup", r#"{"key":"a","n":1}"#, "call-lookup")
    );
}

#[tokio::test]
async fn raw_events_are_sent_as_given_with_their_type() {
    let script = Script::replies([Reply::raw_events([
        ("response.created", json!({"response": {"id": "r"}})),
        ("custom.event", json!({"type": "explicit", "n": 1})),
        ("odd", json!([1, 2])),
    ])]);
    let server = ModelServer::start(script).await.unwrap();
    assert_eq!(
        events_of(&server, &model_body("x")).await,
        vec![
            event(
                "response.created",
                json!({"type": "response.created", "response": {"id": "r"}})
            ),
            event("custom.event", json!({"type": "explicit", "n": 1})),
            event("odd", json!([1, 2])),
        ]
    );
}

#[tokio::test]
async fn failures_answer_with_their_status_and_body() {
    let script = Script::replies([
        Reply::fail(503),
        Reply::fail_with_body(429, r#"{"error":{"message":"slow down"}}"#),
        Reply::fail(42),
        Reply::fail(101),
    ]);
    let server = ModelServer::start(script).await.unwrap();
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let mut answer = async |expected_status: u16| {
        let response = connection
            .post_json("/v1/responses", &model_body("x"))
            .await
            .unwrap();
        assert_eq!(response.status, expected_status);
        assert_eq!(response.header("content-type"), Some("application/json"));
        response.json().await.unwrap()
    };
    assert_eq!(
        answer(503).await,
        json!({"error": {"message": "scripted failure (HTTP 503)", "type": "server_error"}})
    );
    assert_eq!(
        answer(429).await,
        json!({"error": {"message": "slow down"}})
    );
    for (request, status) in [(2, 42), (3, 101)] {
        let reason = format!("{status} is not a final HTTP status (200-999)");
        let message = format!(
            "codexrt-testkit model server: the reply to model request #{request} is invalid: {reason}"
        );
        assert_eq!(
            answer(500).await,
            json!({"error": {"type": "server_error", "message": message}})
        );
    }
    let invalid = |request: usize, status: u16| ScriptError::InvalidReply {
        request,
        reason: format!("{status} is not a final HTTP status (200-999)"),
    };
    assert_eq!(server.script_errors(), [invalid(2, 42), invalid(3, 101)]);
}

#[tokio::test]
async fn an_exhausted_script_answers_500_and_records_an_error() {
    let server = ModelServer::start(Script::replies([Reply::message("only")]))
        .await
        .unwrap();
    events_of(&server, &model_body("first")).await;
    assert_eq!(server.remaining_replies(), 0);
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let response = connection
        .post_json("/v1/responses", &model_body("second"))
        .await
        .unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(
        response.json().await.unwrap(),
        json!({"error": {"type": "server_error", "message":
            "codexrt-testkit model server: model request #1 arrived after the script's last reply"}})
    );
    assert_eq!(
        server.script_errors(),
        [ScriptError::Exhausted { request: 1 }]
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn requests_are_recorded_whole_and_other_paths_get_404() {
    let server = ModelServer::start(Script::replies([Reply::message("ok")]))
        .await
        .unwrap();
    let body = json!({
        "model": "mock-model",
        "tools": [{"type": "function", "name": "exec_command"}, {"type": "web_search"}],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "<environment_context/>"},
                {"type": "input_text", "text": "hi"},
            ]},
            {"type": "function_call", "name": "exec_command", "arguments": "{}", "call_id": "c1"},
            {"type": "function_call_output", "call_id": "c1", "output": "exec command rejected by user"},
            {"type": "function_call_output", "call_id": "c2",
             "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
        ],
    });
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let headers = [("content-type", "application/json"), ("x-test", "yes")];
    let response = connection
        .send(
            "POST",
            "/v1/responses?trace=1",
            &headers,
            body.to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    response.body().await.unwrap();
    let response = connection
        .send("GET", "/v1/models", &[], b"")
        .await
        .unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(
        String::from_utf8(response.body().await.unwrap()).unwrap(),
        "codexrt-testkit model server: no route for GET /v1/models"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = server.last_request().unwrap();
    assert_eq!(request, requests[0]);
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.query.as_deref()
        ),
        ("POST", "/v1/responses", Some("trace=1"))
    );
    assert_eq!(request.header("X-Test"), Some("yes"));
    assert_eq!(request.body, body);
    assert_eq!(request.input().len(), 5);
    assert_eq!(request.user_texts(), ["<environment_context/>", "hi"]);
    assert_eq!(request.tool_names(), ["exec_command", "web_search"]);
    let outputs: Vec<(String, String)> = request
        .function_call_outputs()
        .into_iter()
        .map(|output| (output.call_id, output.text))
        .collect();
    assert_eq!(
        outputs,
        [
            ("c1".to_owned(), "exec command rejected by user".to_owned()),
            ("c2".to_owned(), "a\nb".to_owned())
        ]
    );

    let others = server.other_requests();
    assert_eq!(others.len(), 1);
    assert_eq!(
        (
            others[0].method.as_str(),
            others[0].path.as_str(),
            &others[0].body
        ),
        ("GET", "/v1/models", &Value::Null)
    );
    assert_eq!(server.script_errors(), []);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_and_recorded() {
    let server = ModelServer::start(Script::replies([Reply::message("unused")]))
        .await
        .unwrap();
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let response = connection
        .send("POST", "/v1/responses", &[], b"not json")
        .await
        .unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(server.remaining_replies(), 1);
    assert_eq!(server.last_request().unwrap().body, json!("not json"));
    assert!(matches!(
        server.script_errors().as_slice(),
        [ScriptError::InvalidBody { request: 0, .. }]
    ));
}

#[tokio::test]
async fn queued_replies_come_before_the_responder_which_sees_the_request() {
    let script = Script::from_fn(|request| {
        let texts = request.user_texts().join("+");
        if texts == "boom" {
            panic!("the responder refuses {texts}");
        }
        Reply::message(format!("echo {texts}")).deltas(1)
    });
    let server = ModelServer::start(script).await.unwrap();
    server.push(Reply::message("queued").deltas(1));
    let final_text = |events: Vec<Event>| events[2].data["delta"].clone();
    assert_eq!(
        final_text(events_of(&server, &model_body("a")).await),
        "queued"
    );
    assert_eq!(
        final_text(events_of(&server, &model_body("b")).await),
        "echo b"
    );

    let mut connection = Connection::open(server.addr()).await.unwrap();
    let response = connection
        .post_json("/v1/responses", &model_body("boom"))
        .await
        .unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(
        server.script_errors(),
        [ScriptError::ResponderPanicked { request: 2 }]
    );
    // The server carries on after a panic.
    assert_eq!(
        final_text(events_of(&server, &model_body("c")).await),
        "echo c"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_serves_several_requests() {
    let script = Script::replies([Reply::message("one"), Reply::exec_command("ls")]);
    let server = ModelServer::start(script).await.unwrap();
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let first = connection
        .post_json("/v1/responses", &model_body("1"))
        .await
        .unwrap();
    assert_eq!(first.events().await.unwrap().len(), 7);
    let second = connection
        .post_json("/v1/responses", &model_body("2"))
        .await
        .unwrap();
    assert_eq!(second.events().await.unwrap().len(), 3);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stall_holds_the_stream_until_the_server_stops() {
    let script = Script::replies([Reply::message("abcdef")
        .deltas(3)
        .stall_after(1, Duration::MAX)]);
    let server = ModelServer::start(script).await.unwrap();
    let mut connection = Connection::open(server.addr()).await.unwrap();
    let mut response = connection
        .post_json("/v1/responses", &model_body("x"))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(WAIT, response.next_event())
            .await
            .unwrap();
        kinds.push(event.unwrap().unwrap().kind);
    }
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta"
        ]
    );
    // Nothing follows the first delta: the stream is stalled, not finished.
    let more = tokio::time::timeout(Duration::from_millis(300), response.next_event()).await;
    assert!(more.is_err(), "expected a stall, got {more:?}");
    drop(response);

    tokio::time::timeout(WAIT, server.shutdown()).await.unwrap();
    assert!(
        tokio::time::timeout(WAIT, connection.is_closed())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_finite_stall_resumes_the_stream() {
    let script =
        Script::replies([Reply::exec_command("x").stall_after(1, Duration::from_millis(100))]);
    let server = ModelServer::start(script).await.unwrap();
    let kinds: Vec<String> = events_of(&server, &model_body("x"))
        .await
        .into_iter()
        .map(|event| event.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.done",
            "response.completed"
        ]
    );
}

#[tokio::test]
async fn a_five_megabyte_message_arrives_whole_in_many_deltas() {
    let text: String = (0..5 * 1024 * 1024 / 8)
        .map(|n| format!("{:07x} ", n % 0xfff_ffff))
        .collect();
    let server = ModelServer::start(Script::replies([Reply::message(text.clone()).deltas(5000)]))
        .await
        .unwrap();
    let events = events_of(&server, &model_body("big")).await;
    let deltas: Vec<&str> = events
        .iter()
        .filter(|event| event.kind == "response.output_text.delta")
        .map(|event| event.data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas.len(), 5000);
    assert_eq!(deltas.concat(), text);
    let done = &events[events.len() - 2];
    assert_eq!(done.data["item"]["content"][0]["text"], text.as_str());
}

#[tokio::test]
async fn waiting_for_requests_ends_when_they_arrive() {
    let server = ModelServer::start(Script::replies([Reply::message("a"), Reply::message("b")]))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, server.wait_for_requests(0))
        .await
        .unwrap();
    let addr = server.addr();
    let client = tokio::spawn(async move {
        for text in ["1", "2"] {
            let mut connection = Connection::open(addr).await.unwrap();
            let response = connection
                .post_json("/v1/responses", &model_body(text))
                .await
                .unwrap();
            response.body().await.unwrap();
        }
    });
    tokio::time::timeout(WAIT, server.wait_for_requests(2))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    client.await.unwrap();
}

#[tokio::test]
async fn dropping_or_shutting_down_closes_the_port() {
    for shut_down in [false, true] {
        let server = ModelServer::start(Script::new()).await.unwrap();
        let addr = server.addr();
        let mut idle = Connection::open(addr).await.unwrap();
        if shut_down {
            server.shutdown().await;
        } else {
            drop(server);
        }
        // An open keep-alive connection is closed too.
        assert!(tokio::time::timeout(WAIT, idle.is_closed()).await.unwrap());
        let refused = tokio::time::timeout(WAIT, async {
            loop {
                if Connection::open(addr).await.is_err() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(refused.is_ok(), "the port still accepts connections");
    }
}
