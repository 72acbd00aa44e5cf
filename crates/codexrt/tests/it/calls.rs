//! The protocol helpers over the fake (account, models, exec, fs, review,
//! codex's configuration, MCP): each method sends its call with the
//! expected params and returns the answer; bad input and fields the server
//! is too old for are refused before anything is sent.

use std::time::Duration;

use codexrt::protocol::types::{
    Account, CancelLoginAccountStatus, CommandExecOutputStream, CommandExecResponse, ConfigEdit,
    GetAccountResponse, ListMcpServerStatusParams, MergeStrategy, ModelListParams, ReviewTarget,
    TurnStatus,
};
use codexrt::{ClientError, CoreError, ExecCommand, ExecEvent};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::{Value, json};

use crate::support::{connect, finish};

/// The method and params of every request after the handshake.
fn sent(log: &codexrt_testkit::fake::FakeLog) -> Vec<Value> {
    log.messages()
        .skip(2)
        .map(|message| json!([message["method"], message["params"]]))
        .collect()
}

#[tokio::test]
async fn account_models_fs_config_and_mcp_send_their_calls() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "account/read",
            json!({"account": {"type": "apiKey"}, "requiresOpenaiAuth": true}),
        ))
        .step(Step::respond_to(
            "account/login/start",
            json!({"type": "apiKey"}),
        ))
        .step(Step::respond_to(
            "account/login/start",
            json!({"type": "chatgpt", "authUrl": "https://auth.test/x", "loginId": "l1"}),
        ))
        .step(Step::respond_to(
            "account/login/cancel",
            json!({"status": "canceled"}),
        ))
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::respond_to(
            "model/list",
            json!({"data": [], "nextCursor": "c2"}),
        ))
        .step(Step::respond_to("model/list", json!({"data": []})))
        .step(Step::respond_to(
            "fs/readFile",
            json!({"dataBase64": "aGkA/w=="}),
        ))
        .step(Step::respond_to("fs/writeFile", json!({})))
        .step(Step::respond_to("fs/createDirectory", json!({})))
        .step(Step::respond_to("fs/remove", json!({})))
        .step(Step::respond_to("fs/copy", json!({})))
        .step(Step::respond_to(
            "config/value/write",
            json!({"filePath": "/h/config.toml", "status": "ok", "version": "v2"}),
        ))
        .step(Step::respond_to(
            "config/batchWrite",
            json!({"filePath": "/h/config.toml", "status": "okOverridden", "version": "v3"}),
        ))
        .step(Step::respond_to(
            "mcpServerStatus/list",
            json!({"data": [], "nextCursor": null}),
        ))
        .step(Step::respond_to("config/mcpServer/reload", json!({})))
        .step(Step::respond_to(
            "command/exec",
            json!({"exitCode": 0, "stdout": "hi\n", "stderr": ""}),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let account = client.account();
    assert_eq!(
        account.read().await.unwrap(),
        GetAccountResponse {
            account: Some(Account::ApiKey),
            requires_openai_auth: true,
            ..GetAccountResponse::default()
        }
    );
    account.login_api_key("sk-test").await.unwrap();
    let login = account.login_chatgpt().await.unwrap();
    assert_eq!(
        (login.login_id.as_str(), login.auth_url.as_str()),
        ("l1", "https://auth.test/x")
    );
    assert_eq!(
        account.cancel_login("l1").await.unwrap(),
        CancelLoginAccountStatus::Canceled
    );
    account.logout().await.unwrap();
    assert_eq!(
        client
            .models()
            .all(ModelListParams::default(), 2)
            .await
            .unwrap(),
        []
    );
    let fs = client.fs();
    assert_eq!(fs.read_file("/w/a").await.unwrap(), b"hi\x00\xff");
    fs.write_file("/w/b", b"\x00\x01").await.unwrap();
    fs.create_directory_all("/w/c/d").await.unwrap();
    fs.remove_all("/w/c").await.unwrap();
    fs.copy("/w/a", "/w/e").await.unwrap();
    let config = client.codex_config();
    let written = config
        .write_value("model", json!("gpt-test"), MergeStrategy::Replace)
        .await
        .unwrap();
    assert_eq!(written.version, "v2");
    let edit = ConfigEdit {
        key_path: "features.web_search".to_owned(),
        merge_strategy: MergeStrategy::Upsert,
        value: json!(true),
    };
    config.write_batch(vec![edit]).await.unwrap();
    assert_eq!(client.mcp().all(1).await.unwrap(), []);
    client.mcp().reload().await.unwrap();
    let output = client
        .exec()
        .run(
            ExecCommand::new(["echo", "hi"])
                .cwd("/w")
                .env("A", "1")
                .env_remove("B")
                .timeout(Duration::from_millis(1500)),
        )
        .await
        .unwrap();
    assert_eq!(
        output,
        CommandExecResponse {
            exit_code: 0,
            stdout: "hi\n".to_owned(),
            stderr: String::new(),
        }
    );

    let log = finish(client, fake).await;
    let read_only = json!({"type": "readOnly", "networkAccess": false});
    assert_eq!(
        sent(&log),
        [
            json!(["account/read", {}]),
            json!(["account/login/start", {"type": "apiKey", "apiKey": "sk-test"}]),
            json!(["account/login/start", {"type": "chatgpt"}]),
            json!(["account/login/cancel", {"loginId": "l1"}]),
            json!(["account/logout", null]),
            json!(["model/list", {}]),
            json!(["model/list", {"cursor": "c2"}]),
            json!(["fs/readFile", {"path": "/w/a"}]),
            json!(["fs/writeFile", {"path": "/w/b", "dataBase64": "AAE="}]),
            json!(["fs/createDirectory", {"path": "/w/c/d", "recursive": true}]),
            json!(["fs/remove", {"path": "/w/c", "recursive": true, "force": false}]),
            json!(["fs/copy", {"sourcePath": "/w/a", "destinationPath": "/w/e", "recursive": false}]),
            json!(["config/value/write", {"keyPath": "model", "value": "gpt-test", "mergeStrategy": "replace"}]),
            json!(["config/batchWrite", {"edits": [{"keyPath": "features.web_search", "value": true, "mergeStrategy": "upsert"}]}]),
            json!(["mcpServerStatus/list", {}]),
            json!(["config/mcpServer/reload", null]),
            json!(["command/exec", {
                "command": ["echo", "hi"], "cwd": "/w", "env": {"A": "1", "B": null},
                "timeoutMs": 1500, "sandboxPolicy": read_only,
            }]),
        ]
    );
}

#[tokio::test]
async fn bad_input_and_new_fields_are_refused_before_sending() {
    // An old server: every call below must fail locally, so the fake sees
    // nothing after the handshake.
    let script = FakeScript::new()
        .handshake(Handshake::new().version("0.150.0"))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let invalid_argument = |result: Result<(), ClientError>| match result {
        Err(ClientError::InvalidArgument {
            method,
            argument,
            problem,
        }) => (method, argument, problem),
        other => panic!("expected `InvalidArgument`, got {other:?}"),
    };
    let path_problem = |result: Result<(), ClientError>| match result {
        Err(ClientError::InvalidPath {
            method, problem, ..
        }) => (method, problem),
        other => panic!("expected `InvalidPath`, got {other:?}"),
    };
    let fs = client.fs();
    assert_eq!(
        [
            path_problem(fs.read_file("a.txt").await.map(drop)),
            path_problem(fs.write_file("", b"x").await),
            path_problem(fs.copy("/w/a", "b").await),
            path_problem(fs.remove_all("../w").await),
            path_problem(fs.metadata("w").await.map(drop)),
            path_problem(
                client
                    .exec()
                    .run(ExecCommand::new(["ls"]).cwd("w"))
                    .await
                    .map(drop)
            ),
        ],
        [
            ("fs/readFile", "is not absolute"),
            ("fs/writeFile", "is empty"),
            ("fs/copy", "is not absolute"),
            ("fs/remove", "is not absolute"),
            ("fs/getMetadata", "is not absolute"),
            ("command/exec", "is not absolute"),
        ]
    );
    let exec = client.exec();
    let no_args: [&str; 0] = [];
    let size = codexrt::protocol::types::CommandExecTerminalSize { cols: 80, rows: 24 };
    assert_eq!(
        [
            invalid_argument(exec.run(ExecCommand::new(no_args)).await.map(drop)),
            invalid_argument(exec.run(ExecCommand::new([" "])).await.map(drop)),
            invalid_argument(exec.run(ExecCommand::new(["sh"]).stdin()).await.map(drop)),
            invalid_argument(exec.run(ExecCommand::new(["sh"]).tty(size)).await.map(drop)),
            invalid_argument(exec.start(ExecCommand::new(no_args)).await.map(drop)),
            invalid_argument(client.account().login_api_key("").await),
            invalid_argument(client.account().cancel_login(" ").await.map(drop)),
            invalid_argument(
                client
                    .codex_config()
                    .write_value("", json!(1), MergeStrategy::Replace)
                    .await
                    .map(drop)
            ),
            invalid_argument(
                client
                    .codex_config()
                    .write_batch(Vec::new())
                    .await
                    .map(drop)
            ),
            invalid_argument(
                client
                    .review()
                    .start("", ReviewTarget::UncommittedChanges)
                    .await
                    .map(drop)
            ),
        ],
        [
            ("command/exec", "command", "is empty"),
            ("command/exec", "command", "has a blank program"),
            ("command/exec", "streamStdin", "needs `Exec::start`"),
            ("command/exec", "tty", "needs `Exec::start`"),
            ("command/exec", "command", "is empty"),
            ("account/login/start", "apiKey", "is blank"),
            ("account/login/cancel", "loginId", "is blank"),
            ("config/value/write", "keyPath", "is blank"),
            ("config/batchWrite", "edits", "is empty"),
            ("review/start", "threadId", "is blank"),
        ]
    );
    let provider = ModelListParams {
        model_provider: Some("mock".to_owned()),
        ..ModelListParams::default()
    };
    let server_name = ListMcpServerStatusParams {
        server_name: Some("docs".to_owned()),
        ..ListMcpServerStatusParams::default()
    };
    let refused = [
        client.models().list(provider).await.map(drop),
        client.mcp().list(server_name).await.map(drop),
    ];
    let refused: Vec<String> = refused
        .into_iter()
        .map(|result| result.unwrap_err().to_string())
        .collect();
    assert_eq!(
        refused,
        [
            "`model/list`: the field `modelProvider` needs codex 0.169.0 or newer, and the server is 0.150.0",
            "`mcpServerStatus/list`: the field `serverName` needs codex 0.160.1 or newer, and the server is 0.150.0",
        ]
    );
    let log = finish(client, fake).await;
    assert_eq!(sent(&log), Vec::<Value>::new());
}

#[tokio::test]
async fn a_page_limit_too_small_is_an_error() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "model/list",
            json!({"data": [], "nextCursor": "c2"}),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let result = client.models().all(ModelListParams::default(), 1).await;
    assert!(
        matches!(
            result,
            Err(ClientError::TooManyPages {
                method: "model/list",
                pages: 1
            })
        ),
        "{result:?}"
    );
    finish(client, fake).await;
}

/// A delta of process `id` on `stream` with `text`.
fn delta(id: &str, stream: &str, text: &[u8]) -> Step {
    use data_encoding::BASE64;
    Step::notify(
        "command/exec/outputDelta",
        json!({"processId": id, "stream": stream, "deltaBase64": BASE64.encode(text), "capReached": false}),
    )
}

#[tokio::test]
async fn a_streamed_command_yields_its_output_then_its_result() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("command/exec"))
        .step(delta("p1", "stdout", b"one "))
        .step(delta("other", "stdout", b"not ours"))
        .step(delta("p1", "stdout", b"two\n"))
        .step(delta("p1", "stderr", b"\xffwarn"))
        .step(delta("p1", "stdout", b"three\n"))
        .step(Step::respond(
            json!({"exitCode": 3, "stdout": "", "stderr": ""}),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let command = ExecCommand::new(["sh", "-c", "x"]).process_id("p1");
    let mut stream = client.exec().start(command).await.unwrap();
    assert_eq!(stream.process_id(), "p1");
    let (mut stdout, mut stderr, mut result) = (Vec::new(), Vec::new(), None);
    while let Some(event) = stream.next().await {
        assert!(result.is_none(), "an event after `Finished`: {event:?}");
        match event {
            ExecEvent::Output {
                stream: CommandExecOutputStream::Stdout,
                data,
                cap_reached: false,
            } => stdout.extend(data),
            ExecEvent::Output {
                stream: CommandExecOutputStream::Stderr,
                data,
                cap_reached: false,
            } => stderr.extend(data),
            ExecEvent::Finished(finished) => result = Some(finished.unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    // However the pieces were joined, each stream's bytes are exact and
    // in order, another process's are not among them, and the result
    // comes last.
    assert_eq!(stdout, b"one two\nthree\n");
    assert_eq!(stderr, b"\xffwarn");
    assert_eq!(result.map(|done| done.exit_code), Some(3));
    assert!(stream.next().await.is_none());
    drop(stream);
    let log = finish(client, fake).await;
    assert_eq!(
        sent(&log),
        [json!(["command/exec", {
            "command": ["sh", "-c", "x"],
            "processId": "p1",
            "streamStdoutStderr": true,
            "sandboxPolicy": {"type": "readOnly", "networkAccess": false},
        }])]
    );
}

#[tokio::test]
async fn a_dropped_stream_terminates_its_command() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("command/exec"))
        .step(Step::respond_to("command/exec/terminate", json!({})))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let command = ExecCommand::new(["sleep", "100"]).process_id("p9");
    let stream = client.exec().start(command).await.unwrap();
    fake.wait_received(3).await;
    drop(stream);
    fake.wait_received(4).await;
    let log = finish(client, fake).await;
    assert_eq!(
        sent(&log)[1],
        json!(["command/exec/terminate", {"processId": "p9"}])
    );
}

/// The answer to `review/start` on `t1` in thread `review_thread`.
fn review_started(review_thread: &str) -> Step {
    Step::respond_to(
        "review/start",
        json!({"reviewThreadId": review_thread, "turn": {"id": "r1", "items": [], "status": "inProgress"}}),
    )
}

#[tokio::test]
async fn a_review_is_a_turn_handle_of_its_thread() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(review_started("t1"))
        .step(Step::notify(
            "turn/completed",
            json!({"threadId": "t1", "turn": {"id": "r1", "items": [], "status": "completed"}}),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let target = ReviewTarget::BaseBranch {
        branch: "main".to_owned(),
    };
    let review = client.review().start("t1", target).await.unwrap();
    assert_eq!((review.thread_id(), review.turn_id()), ("t1", "r1"));
    assert_eq!(review.wait().await.unwrap().status, TurnStatus::Completed);
    let log = finish(client, fake).await;
    assert_eq!(
        sent(&log),
        [json!(["review/start", {
            "threadId": "t1",
            "target": {"type": "baseBranch", "branch": "main"},
            "delivery": "inline",
        }])]
    );
}

#[tokio::test]
async fn a_review_in_another_thread_is_refused() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(review_started("t2"))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let result = client
        .review()
        .start("t1", ReviewTarget::UncommittedChanges)
        .await;
    match result {
        Err(ClientError::Runtime(CoreError::ReviewDetached {
            thread_id,
            review_thread_id,
        })) => assert_eq!(
            (thread_id.as_str(), review_thread_id.as_str()),
            ("t1", "t2")
        ),
        other => panic!("expected `ReviewDetached`, got {other:?}"),
    }
    finish(client, fake).await;
}
