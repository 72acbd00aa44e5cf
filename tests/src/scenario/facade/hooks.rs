//! The hook scenarios: hooks registered through the facade
//! ([`ClientConfig::hooks`](codexrt::ClientConfig::hooks),
//! [`RunProfile::hooks`], [`SessionConfig::hooks`]) deciding, observing
//! and changing what the real codex does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt::hooks::{
    AuditLog, Decision, ElicitationAnswer, HookContext, HookEntry, HookError, HookReport, HookSet,
    IssueKind, Matcher, Phase, ShellHook, ToolEntry, ToolOutput, UserAnswers, Verdict,
    elicitation_fn, hook_fn, lifecycle_fn, post_tool_fn, tool_fn, user_input_fn,
};
use codexrt::protocol::types::{
    AskForApproval, CollaborationMode, CommandExecutionStatus, SandboxMode, TurnStartParams,
    TurnStatus, UserInput,
};
use codexrt::views::{ToolCallStatus, ToolSource};
use codexrt::{ClientError, CoreError, PromptRunError, RunProfile, SessionConfig, TurnOptions};
use codexrt_testkit::{ModelRequest, Reply, Script, TempDir};
use serde_json::{Value, json};

use super::{FacadeError, Harness};
use crate::scenario::{ScenarioError, check, check_eq};

/// What hooks saw, shared between the hook (which records) and the
/// scenario (which checks). Cheap to clone.
#[derive(Debug)]
struct Recorded<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Recorded<T> {
    fn clone(&self) -> Self {
        Recorded(Arc::clone(&self.0))
    }
}

impl<T: Clone> Recorded<T> {
    fn new() -> Self {
        Recorded(Arc::default())
    }

    /// Records `value`, from a hook.
    fn push(&self, value: T) -> Result<(), HookError> {
        self.0
            .lock()
            .map_err(|_| HookError::failed("the record's lock is poisoned"))?
            .push(value);
        Ok(())
    }

    /// Takes what was recorded so far.
    fn take(&self) -> Result<Vec<T>, FacadeError> {
        let mut seen = self
            .0
            .lock()
            .map_err(|_| ScenarioError::unexpected("an intact lock", "poisoned"))?;
        Ok(std::mem::take(&mut *seen))
    }
}

/// A writable workspace where codex asks before every non-trivial
/// command, so only the hooks decide whether a command runs.
fn asking() -> RunProfile {
    RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted)
}

/// A PreToolUse hook that gives `decision` for every `touch` command.
fn touch_hook(name: &str, decision: Decision) -> HookEntry {
    let hook = hook_fn(move |_| {
        let decision = decision.clone();
        async move { Ok(decision) }
    });
    HookEntry::new(name, hook).matcher(Matcher::any().tool("command").command("*touch *"))
}

/// The text of the one `function_call_output` of `request`.
fn tool_output(request: &ModelRequest) -> Result<String, FacadeError> {
    let outputs = request.function_call_outputs();
    check_eq("the function_call_outputs", outputs.len(), 1)?;
    Ok(outputs[0].text.clone())
}

/// One run whose model asks to `touch file`, with `profile`; returns whether the file exists afterwards and the tool output the
/// model saw.
async fn touch_run(
    version: &str,
    profile: RunProfile,
    file: &str,
) -> Result<(bool, String, Vec<Command>), FacadeError> {
    let script = Script::replies([
        Reply::exec_command(format!("touch {file}")),
        Reply::message("Done."),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let result = client
        .run_with_profile(harness.workspace(), "make a file", profile)
        .await?;
    check_eq("the final text", result.text(), "Done.")?;
    let commands = result
        .commands()
        .map(|run| Command {
            line: run.command.to_owned(),
            status: run.status.clone(),
            exit_code: run.exit_code,
            succeeded: run.succeeded(),
        })
        .collect();
    let made = harness.workspace().join(file).exists();
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    let output = tool_output(&requests[1])?;
    harness.finish(client).await?;
    Ok((made, output, commands))
}

/// What [`PromptRunResult::commands`](codexrt::PromptRunResult::commands)
/// said of one command, owned.
#[derive(Debug)]
struct Command {
    line: String,
    status: CommandExecutionStatus,
    exit_code: Option<i32>,
    succeeded: bool,
}

/// Checks that the run's one command was `touch file` and ended `status`.
fn check_one_touch(
    commands: &[Command],
    file: &str,
    status: CommandExecutionStatus,
    exit_code: Option<i32>,
) -> Result<(), FacadeError> {
    check_eq("the commands", commands.len(), 1)?;
    let command = &commands[0];
    let wanted = format!("touch {file}");
    check(
        "the command line",
        command.line.contains(&wanted),
        &command.line,
    )?;
    check_eq("the command's status", &command.status, &status)?;
    check_eq("the command's exit code", command.exit_code, exit_code)?;
    check_eq(
        "whether it succeeded",
        command.succeeded,
        status == CommandExecutionStatus::Completed && exit_code == Some(0),
    )?;
    Ok(())
}

/// A PreToolUse hook declines the command: the file is not made and the
/// model hears the command was rejected. The profile sets no approval
/// policy: with PreToolUse hooks the facade makes codex ask (`untrusted`),
/// else the writable sandbox would let the command run unasked.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn hook_declines_command(version: &str) -> Result<(), FacadeError> {
    let hooks = HookSet::new().hook(touch_hook("no-touch", Decision::decline("not here")));
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .hooks(hooks);
    let (made, output, commands) = touch_run(version, profile, "declined.txt").await?;
    check("no file from the declined command", !made, "declined.txt")?;
    check_one_touch(
        &commands,
        "declined.txt",
        CommandExecutionStatus::Declined,
        None,
    )?;
    check(
        "the output says rejected",
        output.contains("rejected"),
        &output,
    )?;
    Ok(())
}

/// A PreToolUse hook accepts the command: the file is made.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn hook_accepts_command(version: &str) -> Result<(), FacadeError> {
    let hooks = HookSet::new().hook(touch_hook("touch-ok", Decision::Accept));
    let (made, output, commands) =
        touch_run(version, asking().hooks(hooks), "accepted.txt").await?;
    check("the accepted command made its file", made, "accepted.txt")?;
    check_one_touch(
        &commands,
        "accepted.txt",
        CommandExecutionStatus::Completed,
        Some(0),
    )?;
    check(
        "the output does not say rejected",
        !output.contains("rejected"),
        &output,
    )?;
    Ok(())
}

/// A hook that sleeps past its timeout: the command is declined, the
/// report records the timeout, and the run completes.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn slow_hook_declined(version: &str) -> Result<(), FacadeError> {
    let report = HookReport::default();
    let slow = hook_fn(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(Decision::Accept)
    });
    let hooks = HookSet::new()
        .hook(HookEntry::new("slow", slow).timeout(Duration::from_millis(300)))
        .report_to(report.clone());
    let (made, output, _) = touch_run(version, asking().hooks(hooks), "slow.txt").await?;
    check("no file after the timeout", !made, "slow.txt")?;
    check(
        "the output says rejected",
        output.contains("rejected"),
        &output,
    )?;
    let issues = report.issues();
    check_eq("the issues", issues.len(), 1)?;
    check_eq("the issue's hook", issues[0].hook.as_str(), "slow")?;
    check_eq("the issue's kind", issues[0].kind, IssueKind::Timeout)?;
    check_eq("the issue's phase", issues[0].phase, Phase::PreToolUse)?;
    Ok(())
}

/// A panicking hook in a session: the command is declined, the panic's
/// text stays in the report and out of the model's input, and the next
/// ask completes.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn panicking_hook_declined(version: &str) -> Result<(), FacadeError> {
    let secret = "panic text that must stay local";
    let script = Script::replies([
        Reply::exec_command("touch panicked.txt"),
        Reply::message("I could not."),
        Reply::message("Still here."),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let report = HookReport::default();
    // The panic is the point: the hook must fail without approving.
    let panicking = hook_fn(move |ctx| async move {
        if ctx.tool_name.is_empty() {
            return Ok(Decision::decline("not a tool use"));
        }
        panic!("{secret}")
    });
    let hooks = HookSet::new()
        .hook(HookEntry::new("panics", panicking))
        .report_to(report.clone());
    let config = SessionConfig::new(harness.workspace())
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted)
        .hooks(hooks);
    let session = client.start_session(config).await?;
    let first = session.ask("make a file").await?;
    check_eq("the first answer", first.text(), "I could not.")?;
    check(
        "no file after the panic",
        !harness.workspace().join("panicked.txt").exists(),
        harness.workspace(),
    )?;
    let second = session.ask("are you there?").await?;
    check_eq("the second answer", second.text(), "Still here.")?;
    check_eq("the turn status", &second.status, &TurnStatus::Completed)?;

    let issues = report.issues();
    check_eq("the issues", issues.len(), 1)?;
    check_eq("the issue's kind", issues[0].kind, IssueKind::Panic)?;
    check(
        "the panic's text in the report",
        issues[0].message.contains(secret),
        &issues[0].message,
    )?;
    for request in harness.model().requests() {
        let body = request.body.to_string();
        check(
            "no panic text sent to the model",
            !body.contains(secret),
            &body,
        )?;
    }
    harness.finish(client).await
}

/// A PostToolUse hook sees the command's exit code and output; a failing
/// command comes as PostToolUseFailure.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn post_tool_use_sees_result(version: &str) -> Result<(), FacadeError> {
    let script = Script::replies([
        Reply::exec_command("echo hooked-output; exit 3").call_id("call-1"),
        Reply::message("It failed."),
    ]);
    let harness = Harness::start(version, script).await?;
    let seen = Recorded::new();
    let recorder = seen.clone();
    let post = post_tool_fn(move |ctx| {
        let recorder = recorder.clone();
        async move {
            recorder.push(ctx)?;
            Ok(())
        }
    });
    let accept = hook_fn(|_| async { Ok(Decision::Accept) });
    // The profile's hooks: their thread scope ends as the run returns, and
    // the post-tool hook must still have seen the command.
    let report = HookReport::default();
    let hooks = HookSet::new()
        .hook(HookEntry::new("accept", accept).matcher(Matcher::any().tool("command")))
        .hook(HookEntry::post_tool_use("record", post))
        .report_to(report.clone());
    let client = harness.connect().await?;
    let result = client
        .run_with_profile(harness.workspace(), "run it", asking().hooks(hooks))
        .await?;
    check_eq("the final text", result.text(), "It failed.")?;
    let seen = seen.take()?;
    check_eq("the post-tool contexts", seen.len(), 1)?;
    let ctx = &seen[0];
    check_eq("the phase", ctx.phase, Phase::PostToolUseFailure)?;
    check_eq("the tool", ctx.tool_name.as_str(), "command")?;
    check_eq(
        "the thread",
        ctx.thread_id.as_str(),
        result.thread_id.as_str(),
    )?;
    check_eq(
        "the model codex reported",
        ctx.model.as_deref(),
        Some("mock-model"),
    )?;
    let outcome = ctx
        .result
        .as_ref()
        .ok_or_else(|| ScenarioError::unexpected("a tool result", "none"))?;
    check_eq("the exit code", outcome.exit_code, Some(3))?;
    check_eq("the success flag", outcome.success, false)?;
    // codex 0.150 sometimes completes a command that exited while it was
    // starting (`source: "unifiedExecStartup"`) without any output,
    // aggregated or streamed; later versions always report it.
    let reported = ctx.tool_input["aggregatedOutput"].is_string();
    let output = outcome.output.as_deref();
    let seen = if version == "0.150.0" && !reported {
        output.is_none_or(|output| output.contains("hooked-output"))
    } else {
        output.is_some_and(|output| output.contains("hooked-output"))
    };
    check(
        "the output",
        seen,
        format!("{output:?} (item {})", ctx.tool_input),
    )?;
    check_eq("no hook issues", report.issues().len(), 0)?;
    harness.finish(client).await
}

/// Records the phase of every lifecycle hook call, and in PreTurn
/// replaces the prompt and adds context; blocks turns whose prompt says
/// `forbidden`.
fn lifecycle_recorder(phases: Recorded<Phase>) -> HookEntry {
    let hook = lifecycle_fn(move |ctx: HookContext| {
        let phases = phases.clone();
        async move {
            phases.push(ctx.phase)?;
            let Some(mut plan) = ctx.plan.clone() else {
                return Ok(Verdict::Continue);
            };
            if ctx.phase != Phase::PreTurn {
                return Ok(Verdict::Continue);
            }
            let prompt = plan.prompt.clone().unwrap_or_default();
            if prompt.contains("forbidden") {
                return Ok(Verdict::block("forbidden prompt"));
            }
            plan.prompt = Some(format!("{prompt} (rewritten by a hook)"));
            plan.extra_context.push("context from a hook".to_owned());
            Ok(Verdict::Mutate(plan))
        }
    });
    HookEntry::lifecycle("recorder", hook)
}

/// Every lifecycle phase fires: a run sees PreRun, PreTurn, PostTurn,
/// PostRun; a session PreSessionStart, PostSessionStart, then PreTurn and
/// PostTurn per ask. PreTurn's mutation reaches the model; its block
/// stops the ask before anything is sent.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn lifecycle_hooks_fire(version: &str) -> Result<(), FacadeError> {
    let script = Script::replies([Reply::message("Run done."), Reply::message("Ask done.")]);
    let harness = Harness::start(version, script).await?;
    let phases = Recorded::new();
    let hooks = HookSet::new().hook(lifecycle_recorder(phases.clone()));
    let client = harness
        .connect_configured(|config| config.hooks(hooks))
        .await?;

    let result = client.run(harness.workspace(), "hello").await?;
    check_eq("the run's answer", result.text(), "Run done.")?;
    check_eq(
        "the run's phases",
        phases.take()?,
        vec![
            Phase::PreRun,
            Phase::PreTurn,
            Phase::PostTurn,
            Phase::PostRun,
        ],
    )?;
    let request = harness
        .model()
        .last_request()
        .ok_or_else(|| ScenarioError::unexpected("a model request", "none"))?;
    let texts = request.user_texts();
    check(
        "the rewritten prompt and the extra context",
        texts.contains(&"hello (rewritten by a hook)")
            && texts.contains(&"context from a hook")
            && !texts.contains(&"hello"),
        &texts,
    )?;

    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let answer = session.ask("second").await?;
    check_eq("the ask's answer", answer.text(), "Ask done.")?;
    let blocked = session.ask("something forbidden").await;
    match blocked {
        Err(PromptRunError::Blocked(blocked)) => {
            check_eq("the blocking phase", blocked.phase, Phase::PreTurn)?;
            check_eq("the blocking hook", blocked.hook.as_str(), "recorder")?;
            check_eq("the reason", blocked.reason.as_str(), "forbidden prompt")?;
        }
        other => {
            return Err(ScenarioError::unexpected("a PreTurn block", format!("{other:?}")).into());
        }
    }
    check_eq(
        "the session's phases",
        phases.take()?,
        vec![
            Phase::PreSessionStart,
            Phase::PostSessionStart,
            Phase::PreTurn,
            Phase::PostTurn,
            Phase::PreTurn,
        ],
    )?;
    check_eq("the model requests", harness.model().requests().len(), 2)?;
    harness.finish(client).await
}

/// A dynamic tool round trip: the model calls the session's `lookup`,
/// the tool's text comes back to it. Without the experimental API the
/// session is refused locally.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn dynamic_tool_round_trip(version: &str) -> Result<(), FacadeError> {
    let script = Script::replies([
        Reply::tool_call("lookup", json!({"word": "rust"})).call_id("call-lookup"),
        Reply::message("Looked it up."),
    ]);
    let harness = Harness::start(version, script).await?;
    let lookup = || {
        let tool = tool_fn(|call| async move {
            let word = call.arguments["word"]
                .as_str()
                .unwrap_or("nothing")
                .to_owned();
            Ok(ToolOutput::text(format!(
                "definition of {word}: a metal oxide"
            )))
        });
        let schema = json!({
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
        });
        HookSet::new().tool(ToolEntry::new("lookup", "Looks a word up", schema, tool))
    };

    // The stable API refuses the experimental field before sending it.
    let stable = harness.connect().await?;
    let refused = stable
        .start_session(SessionConfig::new(harness.workspace()).hooks(lookup()))
        .await;
    match refused {
        Err(ClientError::Runtime(CoreError::ExperimentalApiRequired { .. })) => {}
        other => {
            return Err(
                ScenarioError::unexpected("ExperimentalApiRequired", format!("{other:?}")).into(),
            );
        }
    }
    stable.shutdown().await?;

    let client = harness
        .connect_configured(|config| config.enable_experimental_api())
        .await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()).hooks(lookup()))
        .await?;
    let answer = session.ask("what is rust?").await?;
    check_eq("the answer", answer.text(), "Looked it up.")?;
    let calls: Vec<_> = answer
        .tool_calls()
        .map(|call| (call.source, call.tool, call.arguments.clone(), call.status))
        .collect();
    check_eq(
        "the tool calls",
        calls,
        vec![(
            ToolSource::Dynamic { namespace: None },
            "lookup",
            json!({"word": "rust"}),
            ToolCallStatus::Completed,
        )],
    )?;
    let messages: Vec<&str> = answer.messages().map(|message| message.text).collect();
    check_eq("the messages", messages, vec!["Looked it up."])?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    let tools = requests[0].tool_names();
    check("the tool offered", tools.contains(&"lookup"), &tools)?;
    let output = tool_output(&requests[1])?;
    check(
        "the tool's text reached the model",
        output.contains("definition of rust: a metal oxide"),
        &output,
    )?;
    harness.finish(client).await
}

/// Writes `body` as an executable `/bin/sh` script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> Result<PathBuf, FacadeError> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let io =
        |error: std::io::Error| ScenarioError::unexpected("a written script", error.to_string());
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    Ok(path)
}

/// An external program decides: the shell-command hook declines one
/// command (exit 2) and accepts another (JSON on stdout); the audit log
/// has both decisions.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn shell_hook_decides(version: &str) -> Result<(), FacadeError> {
    let script_reply = Script::replies([
        Reply::exec_command("touch denied.txt").call_id("call-denied"),
        Reply::exec_command("touch allowed.txt").call_id("call-allowed"),
        Reply::message("One of two."),
    ]);
    let harness = Harness::start(version, script_reply).await?;
    let dir = TempDir::new("codexrt-shell-hook")?;
    let program = script(
        dir.path(),
        "policy.sh",
        "input=$(cat)\n\
         case \"$input\" in\n\
           *denied.txt*) echo 'denied.txt is off limits' >&2; exit 2 ;;\n\
         esac\n\
         echo '{\"decision\":\"accept\"}'\n",
    )?;
    let audit_path = dir.path().join("audit.jsonl");
    let audit = AuditLog::create(&audit_path)
        .map_err(|error| ScenarioError::unexpected("an audit log", error.to_string()))?;
    let hooks = HookSet::new()
        .hook(
            HookEntry::new("policy", ShellHook::new(&program))
                .matcher(Matcher::any().tool("command")),
        )
        .audit(audit.clone());
    let client = harness
        .connect_configured(|config| config.hooks(hooks))
        .await?;
    let result = client
        .run_with_profile(harness.workspace(), "make two files", asking())
        .await?;
    check_eq("the final text", result.text(), "One of two.")?;
    check(
        "denied.txt not made",
        !harness.workspace().join("denied.txt").exists(),
        harness.workspace(),
    )?;
    check(
        "allowed.txt made",
        harness.workspace().join("allowed.txt").exists(),
        harness.workspace(),
    )?;
    audit
        .flush()
        .await
        .map_err(|error| ScenarioError::unexpected("a flushed audit log", error.to_string()))?;
    let text = std::fs::read_to_string(&audit_path)
        .map_err(|error| ScenarioError::unexpected("the audit log", error.to_string()))?;
    let decisions: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["phase"] == "PreToolUse")
        .map(|record| {
            (
                record["decision"].as_str().unwrap_or_default().to_owned(),
                record["hook"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    check_eq(
        "the audited decisions",
        decisions,
        vec![
            ("decline".to_owned(), "policy".to_owned()),
            ("accept".to_owned(), "policy".to_owned()),
        ],
    )?;
    harness.finish(client).await
}

/// Where the `mcp-elicit-server` program of this package is: beside the
/// test binary's `deps` folder.
fn mcp_server_program() -> Result<PathBuf, FacadeError> {
    let exe = std::env::current_exe()
        .map_err(|error| ScenarioError::unexpected("the test's path", error.to_string()))?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| ScenarioError::unexpected("a target folder", exe.display().to_string()))?;
    let program = dir.join("mcp-elicit-server");
    check("the MCP server built", program.exists(), &program)?;
    Ok(program)
}

/// An MCP server's form reaches an OnElicitation hook, whose answer goes
/// back through the tool to the model; codex's own approval of the MCP
/// tool call goes to the PreToolUse hooks as tool `mcp:elicit/ask_color`
/// (or `mcp:elicit` where codex does not name the tool).
///
/// # Errors
/// Any [`FacadeError`].
pub async fn elicitation_answered(version: &str) -> Result<(), FacadeError> {
    let program = Value::String(mcp_server_program()?.display().to_string());
    let extra = format!("[mcp_servers.elicit]\ncommand = {program}\nargs = []\n");
    let script = Script::replies([
        Reply::tool_call("ask_color", json!({}))
            .namespace("mcp__elicit")
            .call_id("call-color"),
        Reply::message("Blue it is."),
    ]);
    let harness = Harness::start_with_config(version, script, &extra).await?;
    let forms = Recorded::new();
    let recorder = forms.clone();
    let answer = elicitation_fn(move |ctx| {
        let recorder = recorder.clone();
        async move {
            recorder.push(ctx)?;
            Ok(Some(ElicitationAnswer::Accept {
                content: Some(json!({"color": "blue"})),
            }))
        }
    });
    let approve = hook_fn(|_| async { Ok(Decision::Accept) });
    let hooks = HookSet::new()
        .hook(HookEntry::new("mcp-ok", approve).matcher(Matcher::any().tool("mcp:elicit*")))
        .hook(HookEntry::elicitation("form", answer));
    let client = harness
        .connect_configured(|config| config.hooks(hooks))
        .await?;
    let profile = RunProfile::new().approval_policy(AskForApproval::OnRequest);
    let result = client
        .run_with_profile(harness.workspace(), "ask me for a color", profile)
        .await?;
    check_eq("the final text", result.text(), "Blue it is.")?;
    let forms = forms.take()?;
    check_eq("the forms seen", forms.len(), 1)?;
    check_eq("the form's phase", forms[0].phase, Phase::OnElicitation)?;
    check_eq("the form's tool", forms[0].tool_name.as_str(), "mcp:elicit")?;
    let request = harness
        .model()
        .last_request()
        .ok_or_else(|| ScenarioError::unexpected("a model request", "none"))?;
    let body = request.body.to_string();
    check(
        "the form's answer in the tool output",
        body.contains("action=accept content=") && body.contains("blue"),
        &body,
    )?;
    check_eq("no hook issues", client.hook_report().issues().len(), 0)?;
    harness.finish(client).await
}

/// codex asks the user a question (plan mode, `request_user_input`): the
/// client's OnUserInput hook answers, and the answer reaches the model.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn user_input_answered(version: &str) -> Result<(), FacadeError> {
    let question = json!({"questions": [{
        "id": "colour", "header": "Colour", "question": "Which colour?",
        "options": [
            {"label": "blue", "description": "like the sky"},
            {"label": "red", "description": "like fire"}
        ]
    }]});
    let script = Script::replies([
        Reply::tool_call("request_user_input", question).call_id("call-ask"),
        Reply::message("Blue, then."),
    ]);
    let harness = Harness::start(version, script).await?;
    let asked = Recorded::new();
    let recorder = asked.clone();
    let answer = user_input_fn(move |ctx, questions| {
        let recorder = recorder.clone();
        async move {
            recorder.push(ctx)?;
            Ok(Some(
                questions
                    .iter()
                    .map(|question| (question.id.clone(), vec!["blue".to_owned()]))
                    .collect::<UserAnswers>(),
            ))
        }
    });
    let hooks = HookSet::new().hook(HookEntry::user_input("colours", answer));
    let client = harness
        .connect_configured(|config| config.hooks(hooks).enable_experimental_api())
        .await?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    // Questions are only allowed in plan mode, which the facade does not
    // set; the turn goes through the runtime on the session's thread.
    let plan: CollaborationMode =
        serde_json::from_value(json!({"mode": "plan", "settings": {"model": "mock-model"}}))
            .map_err(|error| {
                ScenarioError::unexpected("a collaboration mode", error.to_string())
            })?;
    let params = TurnStartParams {
        thread_id: session.thread_id().to_owned(),
        input: vec![UserInput::Text {
            text: "pick a colour".to_owned(),
            text_elements: None,
        }],
        collaboration_mode: Some(plan),
        ..TurnStartParams::default()
    };
    let options = TurnOptions::new().deadline(super::harness::WAIT);
    let turn = client
        .runtime()
        .start_turn_with(params, options)
        .await
        .map_err(ClientError::from)?;
    let outcome = turn.wait().await.map_err(ClientError::from)?;
    check_eq("the turn status", &outcome.status, &TurnStatus::Completed)?;
    check_eq("the final text", outcome.final_text(), Some("Blue, then."))?;
    let asked = asked.take()?;
    check_eq("the questions asked", asked.len(), 1)?;
    check_eq("the phase", asked[0].phase, Phase::OnUserInput)?;
    check_eq(
        "the thread",
        asked[0].thread_id.as_str(),
        session.thread_id(),
    )?;
    let requests = harness.model().requests();
    let last = requests
        .last()
        .ok_or_else(|| ScenarioError::unexpected("a model request", "none"))?;
    let output = tool_output(last)?;
    let output: Value = serde_json::from_str(&output).unwrap_or(Value::String(output));
    check_eq(
        "the answer the model got",
        output,
        json!({"answers": {"colour": {"answers": ["blue"]}}}),
    )?;
    harness.finish(client).await
}
