//! The facade scenarios themselves: each starts a [`Harness`] on a codex
//! version, drives codex through `codexrt` alone and checks the outcome,
//! the scripted model's requests and the disk.

use std::time::Duration;

use codexrt::protocol::types::{
    AskForApproval, ClientInfo, FeedbackSaveParams, InitializeParams, SandboxMode, TurnStatus,
};
use codexrt::protocol::{Api, Availability, ClientRequest, MethodKind, method_availability};
use codexrt::{CoreError, PromptRunError, RunProfile, SessionConfig, SessionEvent};
use codexrt_testkit::{Direction, ModelRequest, Reply, Script};
use serde_json::json;

use super::harness::WAIT;
use super::{FacadeError, Harness};
use crate::scenario::{ScenarioError, check, check_eq};

/// `client.run(cwd, prompt)` returns the scripted answer, completed.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn one_shot_run(version: &str) -> Result<(), FacadeError> {
    let answer = "Hello from the scripted model";
    let harness =
        Harness::start(version, Script::replies([Reply::message(answer).deltas(3)])).await?;
    let client = harness.connect().await?;
    let result = client.run(harness.workspace(), "say hello").await?;
    check_eq("the final text", result.text(), answer)?;
    check_eq("the turn status", &result.status, &TurnStatus::Completed)?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 1)?;
    check(
        "the prompt in the model request",
        requests[0].user_texts().contains(&"say hello"),
        requests[0].user_texts(),
    )?;
    harness.finish(client).await
}

/// Two asks of one session: the model's second request carries the first
/// question and answer.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn session_keeps_context(version: &str) -> Result<(), FacadeError> {
    let (question, answer) = ("What is the answer?", "The answer is 42.");
    let script = Script::replies([
        Reply::message(answer),
        Reply::message("You asked about the answer."),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let first = session.ask(question).await?;
    check_eq("the first answer", first.text(), answer)?;
    let second = session.ask("What did I ask?").await?;
    check_eq(
        "the second answer",
        second.text(),
        "You asked about the answer.",
    )?;
    check_eq(
        "the thread of both asks",
        &second.thread_id,
        &first.thread_id,
    )?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    check_context(&requests[1], question, answer)?;
    check_asked(&requests[1], "What did I ask?")?;
    harness.finish(client).await
}

/// The text deltas of `ask_stream` join to the outcome's final text.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn ask_stream_deltas(version: &str) -> Result<(), FacadeError> {
    let answer = "Streaming, piece by piece.";
    let harness =
        Harness::start(version, Script::replies([Reply::message(answer).deltas(5)])).await?;
    let client = harness.connect().await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let mut stream = session.ask_stream("stream it").await?;
    let mut deltas = Vec::new();
    let mut outcome = None;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => deltas.push(delta),
            SessionEvent::Finished(finished) => outcome = Some(finished?),
            _ => {}
        }
    }
    let Some(outcome) = outcome else {
        return Err(ScenarioError::unexpected("a `Finished` event", deltas).into());
    };
    check_eq("the number of deltas", deltas.len(), 5)?;
    check_eq("the deltas joined", deltas.concat().as_str(), answer)?;
    check_eq("the final text", outcome.text(), answer)?;
    check_eq("the turn status", &outcome.status, &TurnStatus::Completed)?;
    harness.finish(client).await
}

/// A command under the `untrusted` policy in a writable workspace, with
/// nobody answering the approval: declined, so the file is not made, and
/// the run still completes.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn approval_declined_by_default(version: &str) -> Result<(), FacadeError> {
    let file = "made-by-codex.txt";
    let script = Script::replies([
        Reply::exec_command(format!("touch {file}")),
        Reply::message("I could not run it."),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    // A writable sandbox, so that only the declined approval keeps the file
    // from being made.
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted);
    let result = client
        .run_with_profile(harness.workspace(), "make a file", profile)
        .await?;
    check_eq("the final text", result.text(), "I could not run it.")?;
    check_eq("the turn status", &result.status, &TurnStatus::Completed)?;
    check(
        "no file from the declined command",
        !harness.workspace().join(file).exists(),
        harness.workspace(),
    )?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    let outputs = requests[1].function_call_outputs();
    check(
        "one function_call_output saying the command was rejected",
        outputs.len() == 1 && outputs[0].text.contains("rejected"),
        outputs,
    )?;
    harness.finish(client).await
}

/// `Session::interrupt` while the model stalls mid-stream: the ask ends as
/// [`PromptRunError::Interrupted`].
///
/// # Errors
/// Any [`FacadeError`].
pub async fn interrupt(version: &str) -> Result<(), FacadeError> {
    let reply = Reply::message("this answer never finishes")
        .deltas(5)
        .stall_after(2, Duration::MAX);
    let harness = Harness::start(version, Script::replies([reply])).await?;
    let client = harness.connect().await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let interrupter = session.clone();
    let model = harness.model();
    let stop = async move {
        // The model is streaming (and stalls after two deltas) and the
        // session knows its turn: then interrupt.
        model.wait_for_requests(1).await;
        while interrupter.running_turn().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        interrupter.interrupt().await
    };
    let stop = async move {
        tokio::time::timeout(WAIT, stop)
            .await
            .map_err(|_| ScenarioError::Hung {
                step: "waiting for the stalled turn",
                after: WAIT,
            })
    };
    let (asked, stopped) = tokio::join!(session.ask("hi"), stop);
    stopped??;
    match asked {
        Err(PromptRunError::Interrupted { result }) => {
            check_eq("the turn status", &result.status, &TurnStatus::Interrupted)?;
        }
        other => {
            return Err(ScenarioError::unexpected("`PromptRunError::Interrupted`", other).into());
        }
    }
    harness.finish(client).await
}

/// An ask dropped while the model stalls mid-answer: its turn is
/// interrupted in the background, the next ask waits for that, gets a new
/// turn and its own answer, and the thread shows the dropped turn
/// `interrupted` before the completed one.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn dropped_ask_interrupts_its_turn(version: &str) -> Result<(), FacadeError> {
    let stalled = Reply::message("this answer never finishes")
        .deltas(5)
        .stall_after(2, Duration::MAX);
    let answer = "The next ask's own answer.";
    let script = Script::replies([stalled, Reply::message(answer)]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let model = harness.model();
    let mid_turn = async {
        // The model is answering (and stalls), and the session knows the
        // turn: the ask is mid-turn.
        model.wait_for_requests(1).await;
        while session.running_turn().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let mid_turn = tokio::time::timeout(WAIT, mid_turn);
    tokio::select! {
        asked = session.ask("a slow question") => {
            return Err(ScenarioError::unexpected("an ask that stalls", asked).into());
        }
        reached = mid_turn => reached.map_err(|_| ScenarioError::Hung {
            step: "waiting for the stalled turn",
            after: WAIT,
        })?,
    }
    // The ask's future is gone; its turn is the session's until it ended.
    let dropped = session.running_turn().unwrap_or_default();
    let next = tokio::time::timeout(WAIT, session.ask("the next question"))
        .await
        .map_err(|_| ScenarioError::Hung {
            step: "the ask after the dropped one",
            after: WAIT,
        })??;
    check("a new turn", next.turn_id != dropped, &next.turn_id)?;
    check_eq("the next answer", next.text(), answer)?;
    let thread = session.read().await?;
    let turns: Vec<(String, TurnStatus)> = thread
        .turns
        .iter()
        .map(|turn| (turn.id.clone(), turn.status.clone()))
        .collect();
    check_eq(
        "the thread's turns",
        turns,
        vec![
            (dropped, TurnStatus::Interrupted),
            (next.turn_id.clone(), TurnStatus::Completed),
        ],
    )?;
    let requests = model.requests();
    check_eq("the model requests", requests.len(), 2)?;
    check_asked(&requests[1], "the next question")?;
    harness.finish(client).await
}

/// Ask once, shut the client down, resume the thread from a new app-server
/// on the same `CODEX_HOME`, and ask again: the resumed turn's model request
/// carries the first exchange.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn resume_after_restart(version: &str) -> Result<(), FacadeError> {
    let (question, answer) = ("Remember the word: otter.", "Noted: otter.");
    let script = Script::replies([
        Reply::message(answer),
        Reply::message("The word was otter."),
    ]);
    let harness = Harness::start(version, script).await?;
    let first = harness.connect().await?;
    let session = first
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    check_eq(
        "the first answer",
        session.ask(question).await?.text(),
        answer,
    )?;
    let thread_id = session.thread_id().to_owned();
    drop(session);
    first.shutdown().await?;
    drop(first);

    let second = harness.connect().await?;
    let resumed = second
        .resume_session(&thread_id, SessionConfig::new(harness.workspace()))
        .await?;
    check_eq(
        "the resumed thread",
        resumed.thread_id(),
        thread_id.as_str(),
    )?;
    let again = resumed.ask("Which word?").await?;
    check_eq("the resumed answer", again.text(), "The word was otter.")?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    check_context(&requests[1], question, answer)?;
    check_asked(&requests[1], "Which word?")?;
    harness.finish(second).await
}

/// Fork a session after one ask: the fork's ask works, and its model
/// request carries the parent's exchange.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn fork(version: &str) -> Result<(), FacadeError> {
    let (question, answer) = ("Pick a colour.", "Teal.");
    let script = Script::replies([Reply::message(answer), Reply::message("You picked teal.")]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let parent = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    check_eq(
        "the parent's answer",
        parent.ask(question).await?.text(),
        answer,
    )?;
    let forked = parent.fork().await?;
    check(
        "a new thread for the fork",
        forked.thread_id() != parent.thread_id(),
        forked.thread_id(),
    )?;
    let result = forked.ask("Which colour?").await?;
    check_eq("the fork's answer", result.text(), "You picked teal.")?;
    check_eq(
        "the fork's thread",
        result.thread_id.as_str(),
        forked.thread_id(),
    )?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    check_context(&requests[1], question, answer)?;
    check_asked(&requests[1], "Which colour?")?;
    harness.finish(client).await
}

/// Two sessions of one client with turns running at the same time: the
/// model answers each by its prompt, and each ask gets its own answer.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn concurrent_sessions(version: &str) -> Result<(), FacadeError> {
    const PROMPTS: [(&str, &str); 2] = [
        ("Name an even number.", "Two."),
        ("Name an odd number.", "Three."),
    ];
    // Each answer pauses midway, so that both turns are running at once.
    let script = Script::from_fn(|request: &ModelRequest| {
        let texts = request.user_texts();
        match PROMPTS.iter().find(|(prompt, _)| texts.contains(prompt)) {
            Some((_, answer)) => Reply::message(*answer)
                .deltas(2)
                .stall_after(1, Duration::from_millis(300)),
            None => Reply::message("unexpected prompt"),
        }
    });
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let even = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let odd = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    // Both model requests in flight means both turns were running.
    let model = harness.model();
    let overlap = async {
        tokio::time::timeout(WAIT, model.wait_for_requests(2))
            .await
            .map_err(|_| ScenarioError::Hung {
                step: "waiting for both turns' model requests",
                after: WAIT,
            })?;
        check(
            "both turns running while the model answers",
            even.running_turn().is_some() && odd.running_turn().is_some(),
            (even.running_turn(), odd.running_turn()),
        )
    };
    let (even_result, odd_result, overlapped) =
        tokio::join!(even.ask(PROMPTS[0].0), odd.ask(PROMPTS[1].0), overlap);
    let (even_result, odd_result) = (even_result?, odd_result?);
    overlapped?;
    check_eq(
        "the first session's answer",
        even_result.text(),
        PROMPTS[0].1,
    )?;
    check_eq(
        "the second session's answer",
        odd_result.text(),
        PROMPTS[1].1,
    )?;
    check_eq(
        "the first session's thread",
        even_result.thread_id.as_str(),
        even.thread_id(),
    )?;
    check_eq(
        "the second session's thread",
        odd_result.thread_id.as_str(),
        odd.thread_id(),
    )?;
    check_eq("the model requests", harness.model().requests().len(), 2)?;
    harness.finish(client).await
}

/// `feedback/save` through `client.runtime().call(..)`: on a version the
/// method table says lacks it (0.150.0, 0.160.1), refused locally with
/// [`CoreError::MethodUnavailable`] and nothing sent; on one that has it
/// (0.169.0), sent, whatever codex answers. The table's word is checked
/// against the stable methods of the version's vendored manifest, what the
/// binary printed about itself.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn missing_method_refused_locally(version: &str) -> Result<(), FacadeError> {
    let harness = Harness::start(version, Script::new()).await?;
    let (client, recording) = harness.connect_recorded().await?;
    let server = client.runtime().server_info().version.clone();
    let method = FeedbackSaveParams::METHOD;
    let availability = method_availability(MethodKind::ClientRequest, method, &server, Api::Stable);
    check_eq(
        "the method table's word on `feedback/save`",
        availability == Availability::Available,
        has_stable_method(version, method)?,
    )?;
    let params = FeedbackSaveParams {
        classification: "bug".to_owned(),
        save_path: harness.workspace().join("feedback").display().to_string(),
        ..FeedbackSaveParams::default()
    };
    let result = client.runtime().call(params).await;
    // Frames the client queued before `finish` are recorded; the
    // connection keeps working.
    let transcript = recording.finish().await?.into_transcript()?;
    let sent = transcript.methods(Direction::Out).contains(&method);
    let refused = matches!(result, Err(CoreError::MethodUnavailable { .. }));
    if availability == Availability::Missing {
        check("`CoreError::MethodUnavailable`", refused, &result)?;
        check("nothing sent", !sent, transcript.methods(Direction::Out))?;
    } else {
        check("no local refusal", !refused, &result)?;
        check(
            "`feedback/save` sent",
            sent,
            transcript.methods(Direction::Out),
        )?;
    }
    harness.finish(client).await
}

/// A second `initialize` after the handshake: the typed call is refused
/// with [`CoreError::AlreadyInitialized`] and nothing is sent; sent raw,
/// codex refuses it (-32600, "Already initialized") and the connection
/// goes on: a run afterwards completes.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn second_initialize_refused(version: &str) -> Result<(), FacadeError> {
    let answer = "still initialized once";
    let harness = Harness::start(version, Script::replies([Reply::message(answer)])).await?;
    let (client, recording) = harness.connect_recorded().await?;
    let runtime = client.runtime();
    let typed = runtime
        .call(InitializeParams {
            capabilities: None,
            client_info: ClientInfo {
                name: "again".to_owned(),
                title: None,
                version: "2".to_owned(),
            },
        })
        .await;
    check(
        "`CoreError::AlreadyInitialized`",
        matches!(typed, Err(CoreError::AlreadyInitialized)),
        &typed,
    )?;
    let raw = runtime
        .call_raw(
            "initialize",
            json!({"clientInfo": {"name": "again", "version": "2"}}),
        )
        .await;
    let refusal = match &raw {
        Err(CoreError::Peer { code, message, .. }) => Some((*code, message.as_str())),
        _ => None,
    };
    check_eq(
        "codex's answer to a second `initialize`",
        refusal,
        Some((-32600, "Already initialized")),
    )?;
    let result = client.run(harness.workspace(), "are you there").await?;
    check_eq("the final text after it", result.text(), answer)?;
    let transcript = recording.finish().await?.into_transcript()?;
    let initializes = transcript
        .methods(Direction::Out)
        .into_iter()
        .filter(|method| *method == "initialize")
        .count();
    check_eq(
        "`initialize` sent by the handshake and the raw call only",
        initializes,
        2,
    )?;
    harness.finish(client).await
}

/// `run_with_profile` with an output schema: the run completes and the
/// model request carries the schema as the `json_schema` text format.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn output_schema_accepted(version: &str) -> Result<(), FacadeError> {
    let schema = json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": false,
    });
    let answer = "{\"ok\":true}";
    let harness = Harness::start(version, Script::replies([Reply::message(answer)])).await?;
    let client = harness.connect().await?;
    let profile = RunProfile::new().output_schema(schema.clone());
    let result = client
        .run_with_profile(harness.workspace(), "answer in JSON", profile)
        .await?;
    check_eq("the final text", result.text(), answer)?;
    check_eq("the turn status", &result.status, &TurnStatus::Completed)?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 1)?;
    let format = &requests[0].body["text"]["format"];
    check_eq(
        "the text format's type",
        &format["type"],
        &json!("json_schema"),
    )?;
    check_eq("the text format's schema", &format["schema"], &schema)?;
    harness.finish(client).await
}

/// The request carries `question` from the user and `answer` from the
/// assistant.
fn check_context(request: &ModelRequest, question: &str, answer: &str) -> Result<(), FacadeError> {
    check_asked(request, question)?;
    let said = request
        .input()
        .iter()
        .any(|item| item["role"] == "assistant" && item["content"][0]["text"] == answer);
    check(
        &format!("the assistant's {answer:?} in the model request"),
        said,
        request.input(),
    )?;
    Ok(())
}

/// The request carries `prompt` from the user.
fn check_asked(request: &ModelRequest, prompt: &str) -> Result<(), FacadeError> {
    let texts = request.user_texts();
    check(
        &format!("the user's {prompt:?} in the model request"),
        texts.contains(&prompt),
        texts,
    )?;
    Ok(())
}

/// Whether `version`'s vendored manifest lists `method` as a stable client
/// request.
fn has_stable_method(version: &str, method: &str) -> Result<bool, FacadeError> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/codexrt-protocol/schema")
        .join(version)
        .join("manifest.json");
    let unreadable = |detail: String| {
        FacadeError::from(ScenarioError::Unexpected {
            expected: format!("the vendored manifest {}", path.display()),
            actual: detail,
        })
    };
    let text = std::fs::read_to_string(&path).map_err(|err| unreadable(err.to_string()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| unreadable(err.to_string()))?;
    let requests = manifest["clientRequests"]
        .as_array()
        .ok_or_else(|| unreadable("no `clientRequests` list".to_owned()))?;
    Ok(requests
        .iter()
        .any(|m| m["method"] == method && m["experimental"] == false))
}
