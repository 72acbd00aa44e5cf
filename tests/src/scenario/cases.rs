//! The scenarios themselves: each starts a [`Session`] on a [`Target`],
//! drives one conversation and checks what codex said. Checks of the disk
//! and of the scripted model's requests run only live.

use std::time::Duration;

use codexrt_protocol::types::{
    CodexErrorInfo, CommandExecutionApprovalDecision, SandboxMode, ThreadStartParams, TurnStatus,
};
use codexrt_protocol::{ServerNotification, methods};
use codexrt_testkit::{Reply, Script};

use super::events::{
    Event, agent_message_deltas, completed_agent_messages, errors, requests, turn_status,
};
use super::{Approvals, Finished, ScenarioError, Session, Target, check, check_eq};

/// The answer of [`streamed_answer`], sent in [`DELTAS`] pieces.
const ANSWER: &str = "Hello from the scripted model, in pieces.";
const DELTAS: usize = 4;

/// The handshake alone: the version in `userAgent` is the target's.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn handshake(target: Target) -> Result<Finished, ScenarioError> {
    let session = Session::start(target, Script::new()).await?;
    check(
        "a `userAgent` with a name before the version",
        session.user_agent().contains('/'),
        session.user_agent(),
    )?;
    session.finish().await
}

/// A streamed answer: the deltas concatenate to the completed message.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn streamed_answer(target: Target) -> Result<Finished, ScenarioError> {
    let script = Script::replies([Reply::message(ANSWER).deltas(DELTAS)]);
    let mut session = Session::start(target, script).await?;
    let thread = session.start_thread(ThreadStartParams::default()).await?;
    session.start_turn(&thread, "hi").await?;
    let events = session.run_turn(&Approvals::NoneExpected).await?;

    let deltas = agent_message_deltas(&events);
    check_eq("the number of deltas", deltas.len(), DELTAS)?;
    check_eq("the deltas joined", deltas.concat().as_str(), ANSWER)?;
    check_eq(
        "the completed agent messages",
        completed_agent_messages(&events),
        vec![ANSWER],
    )?;
    check_eq(
        "the turn status",
        turn_status(&events)?,
        &TurnStatus::Completed,
    )?;
    if let Some(model) = session.model() {
        check_eq("the model requests", model.requests().len(), 1)?;
    }
    session.finish().await
}

/// An approved command runs: its file exists.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn command_approved(target: Target) -> Result<Finished, ScenarioError> {
    let file = "approved.txt";
    let (session, events) =
        command_turn(target, file, CommandExecutionApprovalDecision::Accept).await?;
    if let Some(workspace) = session.workspace() {
        check(
            "the approved command to have made its file",
            workspace.join(file).is_file(),
            workspace,
        )?;
    }
    check_eq(
        "the turn status",
        turn_status(&events)?,
        &TurnStatus::Completed,
    )?;
    check_model_told(&session, "Process exited with code 0")?;
    session.finish().await
}

/// A declined command does not run, the turn still completes, and the
/// model is told the command was rejected.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn command_declined(target: Target) -> Result<Finished, ScenarioError> {
    let file = "declined.txt";
    let (session, events) =
        command_turn(target, file, CommandExecutionApprovalDecision::Decline).await?;
    if let Some(workspace) = session.workspace() {
        check(
            "no file from the declined command",
            !workspace.join(file).exists(),
            workspace,
        )?;
    }
    check_eq(
        "the turn status",
        turn_status(&events)?,
        &TurnStatus::Completed,
    )?;
    check_model_told(&session, "rejected by user")?;
    session.finish().await
}

/// A failed model call (HTTP 500) fails the turn after an `error`
/// notification saying so.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn model_failure(target: Target) -> Result<Finished, ScenarioError> {
    let mut session = Session::start(target, Script::replies([Reply::fail(500)])).await?;
    let thread = session.start_thread(ThreadStartParams::default()).await?;
    session.start_turn(&thread, "hi").await?;
    let events = session.run_turn(&Approvals::NoneExpected).await?;

    check_eq(
        "the `error` notifications (codexErrorInfo, willRetry)",
        errors(&events),
        vec![(Some(&CodexErrorInfo::InternalServerError), false)],
    )?;
    check_eq(
        "the turn status",
        turn_status(&events)?,
        &TurnStatus::Failed,
    )?;
    if let Some(model) = session.model() {
        check_eq("the model requests", model.requests().len(), 1)?;
    }
    session.finish().await
}

/// `turn/interrupt` while the model stalls mid-stream ends the turn as
/// interrupted.
///
/// # Errors
/// Any [`ScenarioError`].
pub async fn interrupt(target: Target) -> Result<Finished, ScenarioError> {
    let reply = Reply::message("this answer never finishes")
        .deltas(5)
        .stall_after(2, Duration::MAX);
    let mut session = Session::start(target, Script::replies([reply])).await?;
    let thread = session.start_thread(ThreadStartParams::default()).await?;
    let turn = session.start_turn(&thread, "hi").await?;

    let mut before = Vec::new();
    while agent_message_deltas(&before).len() < 2 {
        let event = session.next_event(&Approvals::NoneExpected).await?;
        if matches!(
            event,
            Event::Notification(ServerNotification::TurnCompleted(_))
        ) {
            return Err(ScenarioError::unexpected(
                "two deltas before the turn ends",
                before,
            ));
        }
        before.push(event);
    }
    session.interrupt(&thread, &turn).await?;
    let after = session.run_turn(&Approvals::NoneExpected).await?;
    check_eq(
        "deltas after the stall",
        agent_message_deltas(&after).len(),
        0,
    )?;
    check_eq(
        "the turn status",
        turn_status(&after)?,
        &TurnStatus::Interrupted,
    )?;
    session.finish().await
}

/// A turn in a writable workspace where the model runs `touch <file>` and
/// the approval is answered with `decision`; checks that exactly one
/// approval was asked.
async fn command_turn(
    target: Target,
    file: &str,
    decision: CommandExecutionApprovalDecision,
) -> Result<(Session, Vec<Event>), ScenarioError> {
    let script = Script::replies([
        Reply::exec_command(format!("touch {file}")),
        Reply::message("done"),
    ]);
    let mut session = Session::start(target, script).await?;
    // Under the default read-only sandbox an approved command runs sandboxed
    // first, and whether codex retries it unsandboxed after the write fails
    // varies from run to run; a writable workspace makes the outcome depend
    // only on the decision.
    let thread = session
        .start_thread(ThreadStartParams {
            sandbox: Some(SandboxMode::WorkspaceWrite),
            ..ThreadStartParams::default()
        })
        .await?;
    session.start_turn(&thread, "make a file").await?;
    let events = session.run_turn(&Approvals::Commands(decision)).await?;
    check_eq(
        "the server requests",
        requests(&events),
        vec![methods::ITEM_COMMAND_EXECUTION_REQUEST_APPROVAL],
    )?;
    Ok((session, events))
}

/// Live, the model's second request carries the command's output, which
/// must contain `text`.
fn check_model_told(session: &Session, text: &str) -> Result<(), ScenarioError> {
    let Some(model) = session.model() else {
        return Ok(());
    };
    let requests = model.requests();
    check_eq("the model requests", requests.len(), 2)?;
    let outputs = requests[1].function_call_outputs();
    check(
        &format!("one function_call_output containing {text:?}"),
        outputs.len() == 1 && outputs[0].text.contains(text),
        outputs,
    )
}
