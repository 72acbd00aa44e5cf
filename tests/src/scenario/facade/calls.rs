//! The facade's protocol helpers against the real codex: the account, the
//! models, files, commands, codex's configuration, MCP servers and
//! reviews, each through its handle on [`codexrt::Client`].

use std::path::Path;

use codexrt::protocol::ClientRequest;
use codexrt::protocol::types::{
    CancelLoginAccountStatus, CommandExecOutputStream, CommandExecResponse, ConfigEdit,
    FsReadDirectoryEntry, GetAccountResponse, MergeStrategy, ModelListParams, ReviewTarget,
    TurnStatus, WriteStatus,
};
use codexrt::{ClientError, ExecCommand, ExecEvent, SessionConfig};
use codexrt_testkit::{Direction, Reply, Script};
use serde_json::json;

use super::{FacadeError, Harness};
use crate::scenario::{ScenarioError, check, check_eq};

/// `account/read` offline: no account, and the scripted provider needs no
/// OpenAI login; a login that does not exist cannot be cancelled; rate
/// limits are refused by codex without a login; a blank API key is
/// refused before anything is sent.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn account_read_offline(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    let account = client.account();
    check_eq(
        "the account",
        account.read().await?,
        GetAccountResponse {
            account: None,
            requires_openai_auth: false,
            user_id: None,
            workspace_routing: None,
        },
    )?;
    check_eq(
        "cancelling a login that does not exist",
        account
            .cancel_login("00000000-0000-0000-0000-000000000000")
            .await?,
        CancelLoginAccountStatus::NotFound,
    )?;
    let limits = account.rate_limits().await;
    check(
        "rate limits refused without a login",
        matches!(
            &limits,
            Err(ClientError::Runtime(codexrt::CoreError::Peer { .. }))
        ),
        &limits,
    )?;
    let blank = account.login_api_key("  ").await;
    check(
        "a blank API key refused",
        matches!(
            blank,
            Err(ClientError::InvalidArgument {
                argument: "apiKey",
                ..
            })
        ),
        &blank,
    )?;
    harness.finish(client).await
}

/// `model/list`: one page of everything equals the pages of one model
/// each, followed to the end; exactly one model is the default, none is
/// hidden; a page limit too small for them fails with `TooManyPages`.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn models_listed(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    let models = client.models();
    let page = models.list(ModelListParams::default()).await?;
    check_eq(
        "the single page's cursor",
        page.next_cursor.as_deref(),
        None,
    )?;
    check("some models", !page.data.is_empty(), &page.data)?;
    let one_each = ModelListParams {
        limit: Some(1),
        ..ModelListParams::default()
    };
    let followed = models.all(one_each.clone(), page.data.len()).await?;
    check_eq("the models page by page", &followed, &page.data)?;
    let defaults: Vec<&str> = page
        .data
        .iter()
        .filter(|model| model.is_default)
        .map(|model| model.id.as_str())
        .collect();
    check_eq("the number of default models", defaults.len(), 1)?;
    check(
        "no hidden model",
        page.data.iter().all(|model| !model.hidden),
        &page.data,
    )?;
    let short = models.all(one_each, page.data.len() - 1).await;
    check(
        "`TooManyPages` one page short",
        matches!(short, Err(ClientError::TooManyPages { .. })),
        &short,
    )?;
    harness.finish(client).await
}

/// `fs/*` in the workspace: a nested directory made, a file written with
/// bytes that are not UTF-8 and read back exactly, its metadata, the
/// directory's entries, a copy, removals; a relative path refused before
/// anything is sent, and a missing file refused by codex.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn fs_round_trip(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    let fs = client.fs();
    let root = harness.workspace().join("fs-round-trip");
    let nested = root.join("a").join("b");
    let file = nested.join("data.bin");
    let data: &[u8] = b"line one\n\xff\x00 binary\n";
    fs.create_directory_all(&nested).await?;
    fs.write_file(&file, data).await?;
    check_eq(
        "the bytes read back",
        fs.read_file(&file).await?.as_slice(),
        data,
    )?;
    check_eq(
        "the bytes on disk",
        std::fs::read(&file).ok().as_deref(),
        Some(data),
    )?;
    let metadata = fs.metadata(&file).await?;
    check_eq(
        "file, directory, symlink",
        (metadata.is_file, metadata.is_directory, metadata.is_symlink),
        (true, false, false),
    )?;
    fs.copy(&file, nested.join("copy.bin")).await?;
    fs.create_directory(root.join("c")).await?;
    let mut entries = fs.read_directory(&nested).await?;
    entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    check_eq(
        "the entries of a/b",
        entries,
        vec![entry("copy.bin", false), entry("data.bin", false)],
    )?;
    let mut top = fs.read_directory(&root).await?;
    top.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    check_eq(
        "the entries of the root",
        top,
        vec![entry("a", true), entry("c", true)],
    )?;
    fs.remove(nested.join("copy.bin")).await?;
    fs.remove_all(root.join("a")).await?;
    check("a removed", !root.join("a").exists(), &root)?;
    let missing = fs.read_file(&file).await;
    check(
        "a missing file refused by codex",
        matches!(
            &missing,
            Err(ClientError::Runtime(codexrt::CoreError::Peer { .. }))
        ),
        &missing,
    )?;
    let relative = fs.read_file("relative.txt").await;
    check(
        "a relative path refused locally",
        matches!(
            relative,
            Err(ClientError::InvalidPath {
                problem: "is not absolute",
                ..
            })
        ),
        &relative,
    )?;
    harness.finish(client).await
}

fn entry(name: &str, directory: bool) -> FsReadDirectoryEntry {
    FsReadDirectoryEntry {
        file_name: name.to_owned(),
        is_directory: directory,
        is_file: !directory,
    }
}

/// `command/exec`: streamed, the output of each stream joins to exactly
/// what the command wrote (also for some 290 KB in many pieces) and the
/// result carries its exit code; buffered,
/// the same output comes in the result; under the default read-only
/// sandbox a write fails and leaves no file.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn exec_streams_output(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    let script = "printf 'one\\n'; printf 'two' >&2; printf 'three\\n'; exit 7";
    let command = ExecCommand::new(["sh", "-c", script]).cwd(harness.workspace());
    let mut stream = client.exec().start(command.clone()).await?;
    let (mut stdout, mut stderr, mut finished) = (Vec::new(), Vec::new(), None);
    while let Some(event) = stream.next().await {
        match event {
            ExecEvent::Output {
                stream: CommandExecOutputStream::Stdout,
                data,
                ..
            } => stdout.extend(data),
            ExecEvent::Output { data, .. } => stderr.extend(data),
            ExecEvent::Finished(result) => finished = Some(result?),
            other => return Err(ScenarioError::unexpected("output or the end", other).into()),
        }
    }
    check_eq("the streamed stdout", stdout.as_slice(), b"one\nthree\n")?;
    check_eq("the streamed stderr", stderr.as_slice(), b"two")?;
    check_eq(
        "the streamed result",
        finished,
        Some(CommandExecResponse {
            exit_code: 7,
            stdout: String::new(),
            stderr: String::new(),
        }),
    )?;
    check_eq(
        "the buffered result",
        client.exec().run(command).await?,
        CommandExecResponse {
            exit_code: 7,
            stdout: "one\nthree\n".to_owned(),
            stderr: "two".to_owned(),
        },
    )?;
    // Much output, many deltas: joined, it is exactly what was written.
    let count = 50_000;
    let many = ExecCommand::new(["seq", "1", &count.to_string()])
        .cwd(harness.workspace())
        .no_output_cap();
    let mut stream = client.exec().start(many).await?;
    let (mut output, mut pieces, mut exit) = (Vec::new(), 0, None);
    while let Some(event) = stream.next().await {
        match event {
            ExecEvent::Output { data, .. } => {
                output.extend(data);
                pieces += 1;
            }
            ExecEvent::Finished(result) => exit = Some(result?.exit_code),
            other => return Err(ScenarioError::unexpected("output or the end", other).into()),
        }
    }
    let expected: String = (1..=count).map(|n| format!("{n}\n")).collect();
    check_eq("the exit code of seq", exit, Some(0))?;
    check(
        "seq's output, exact",
        output == expected.as_bytes(),
        (output.len(), expected.len(), pieces),
    )?;
    let made = harness.workspace().join("made-by-exec.txt");
    let write = format!("echo x > '{}'", made.display());
    let refused = client
        .exec()
        .run(ExecCommand::new(["sh", "-c", write.as_str()]).cwd(harness.workspace()))
        .await?;
    check(
        "a write under the read-only sandbox fails",
        refused.exit_code != 0,
        &refused,
    )?;
    check("no file written", !made.exists(), &made)?;
    harness.finish(client).await
}

/// `config/read`, `config/value/write` and `config/batchWrite` in the
/// harness's isolated `CODEX_HOME`: the scripted model's settings read,
/// values written to its `config.toml` and read back.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn config_round_trip(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    let config = client.codex_config();
    let before = config.read().await?;
    check_eq(
        "the model and provider",
        (
            before.config.model.as_deref(),
            before.config.model_provider.as_deref(),
        ),
        (Some("mock-model"), Some("mock")),
    )?;
    check_eq(
        "no reasoning effort",
        before.config.model_reasoning_effort,
        None,
    )?;
    let file = harness.codex_home().join("config.toml");
    let written = config
        .write_value(
            "model_reasoning_effort",
            json!("high"),
            MergeStrategy::Replace,
        )
        .await?;
    check_eq(
        "the write's status and file",
        (&written.status, Path::new(&written.file_path)),
        (&WriteStatus::Ok, file.as_path()),
    )?;
    let after = config.read().await?;
    check_eq(
        "the reasoning effort read back",
        after.config.model_reasoning_effort.as_deref(),
        Some("high"),
    )?;
    config
        .write_batch(vec![
            ConfigEdit {
                key_path: "model_reasoning_effort".to_owned(),
                merge_strategy: MergeStrategy::Replace,
                value: json!("low"),
            },
            ConfigEdit {
                key_path: "developer_instructions".to_owned(),
                merge_strategy: MergeStrategy::Replace,
                value: json!("Be brief."),
            },
        ])
        .await?;
    let batch = config.read().await?;
    check_eq(
        "the batch read back",
        (
            batch.config.model_reasoning_effort.as_deref(),
            batch.config.developer_instructions.as_deref(),
        ),
        (Some("low"), Some("Be brief.")),
    )?;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    check(
        "the values in config.toml",
        text.contains("model_reasoning_effort = \"low\"")
            && text.contains("developer_instructions = \"Be brief.\""),
        &text,
    )?;
    harness.finish(client).await
}

/// `mcpServerStatus/list` with no MCP server configured is empty, and
/// `config/mcpServer/reload` succeeds.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn mcp_status_listed(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let client = harness.connect().await?;
    check_eq("the MCP servers", client.mcp().all(4).await?, Vec::new())?;
    client.mcp().reload().await?;
    harness.finish(client).await
}

/// `review/start` with custom instructions on a session's thread: a turn
/// handle that completes with the scripted model's answer, and the model
/// saw the instructions.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn review_turn_completes(version: &str) -> Result<(), FacadeError> {
    let instructions = "Review the greeting in hello.txt";
    let answer = "Looks fine to me.";
    let harness = Harness::start(version, Script::replies([Reply::message(answer)])).await?;
    let client = harness.connect().await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let target = ReviewTarget::Custom {
        instructions: instructions.to_owned(),
    };
    let review = client.review().start(session.thread_id(), target).await?;
    check_eq(
        "the review's thread",
        review.thread_id(),
        session.thread_id(),
    )?;
    let outcome = review.wait().await.map_err(ClientError::from)?;
    check_eq(
        "the review's status",
        &outcome.status,
        &TurnStatus::Completed,
    )?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 1)?;
    check(
        "the instructions in the model request",
        requests[0]
            .input()
            .iter()
            .any(|item| item.to_string().contains(instructions)),
        requests[0].input(),
    )?;
    harness.finish(client).await
}

/// `model/list` with `modelProvider`, a field new in 0.169.0: refused
/// locally with `FieldUnavailable` and nothing sent on older versions,
/// sent on newer ones. The version is checked against the vendored schema
/// of the version, what the binary printed about itself.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn new_field_refused_locally(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let (client, recording) = harness.connect_recorded().await?;
    let params = ModelListParams {
        model_provider: Some("mock".to_owned()),
        ..ModelListParams::default()
    };
    let result = client.models().list(params).await;
    let transcript = recording.finish().await?.into_transcript()?;
    let method = ModelListParams::METHOD;
    let sent = transcript.methods(Direction::Out).contains(&method);
    let known = has_param_field(version, "ModelListParams", "modelProvider")?;
    if known {
        check("`modelProvider` accepted", result.is_ok(), &result)?;
        check(
            "`model/list` sent",
            sent,
            transcript.methods(Direction::Out),
        )?;
    } else {
        check(
            "`ClientError::FieldUnavailable`",
            matches!(
                result,
                Err(ClientError::FieldUnavailable {
                    field: "modelProvider",
                    ..
                })
            ),
            &result,
        )?;
        check("nothing sent", !sent, transcript.methods(Direction::Out))?;
    }
    harness.finish(client).await
}

/// Whether the vendored stable schema of `version` has `field` in the
/// properties of `definition`.
fn has_param_field(version: &str, definition: &str, field: &str) -> Result<bool, FacadeError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/codexrt-protocol/schema")
        .join(version)
        .join("stable.json");
    let unreadable = |detail: String| {
        FacadeError::from(ScenarioError::Unexpected {
            expected: format!("the vendored schema {}", path.display()),
            actual: detail,
        })
    };
    let text = std::fs::read_to_string(&path).map_err(|err| unreadable(err.to_string()))?;
    let schema: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| unreadable(err.to_string()))?;
    let definitions = schema
        .get("definitions")
        .or_else(|| schema.get("$defs"))
        .ok_or_else(|| unreadable("no definitions".to_owned()))?;
    let properties = definitions[definition]["properties"]
        .as_object()
        .ok_or_else(|| unreadable(format!("no properties of {definition}")))?;
    Ok(properties.contains_key(field))
}
