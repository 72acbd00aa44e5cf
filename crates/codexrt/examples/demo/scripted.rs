//! The default mode: the real `codex app-server` against the testkit's
//! scripted model on loopback, in a fresh `CODEX_HOME`, `HOME` and
//! workspace, so it needs no API key and touches nothing of the user's.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexrt::hooks::CommandRules;
use codexrt::protocol::types::SandboxMode;
use codexrt::{Client, ClientConfig};
use codexrt_testkit::{CodexHome, ModelServer, Reply, Script, TempDir};
use serde_json::json;

use crate::session::{ask, hooks, open_session};
use crate::show::{Show, Summary};

/// The command the scripted model asks to run, and the file it writes.
const COMMAND: &str = "echo hello from codex > greeting.txt";
const GREETING_FILE: &str = "greeting.txt";

const FIRST_PROMPT: &str = "Who are you, in one sentence?";
const FIRST_ANSWER: &str = "I am codex, running as `codex app-server` and driven from Rust \
                            through the codexrt facade; this answer is streamed in pieces.";
const SECOND_PROMPT: &str = "Please leave a greeting in greeting.txt.";
const SECOND_ANSWER: &str = "Done: greeting.txt now says \"hello from codex\".";

/// A turn can only be slow here if something is broken.
const TURN_LIMIT: Duration = Duration::from_secs(120);

pub(crate) async fn run(codex: &Path, show: &Arc<Show>) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    show.title("codexrt demo: the real codex app-server, a scripted model, no API key");

    // Three model requests: the first answer; in the second turn the
    // command, then the answer after it ran.
    let model = ModelServer::start(Script::replies([
        // A pause halfway, so that the pieces are seen to arrive.
        Reply::message(FIRST_ANSWER)
            .deltas(8)
            .stall_after(4, Duration::from_millis(400))
            .usage(1200, 40),
        Reply::exec_command(COMMAND).usage(1300, 20),
        Reply::message(SECOND_ANSWER).deltas(4).usage(1400, 15),
    ]))
    .await?;
    let home = CodexHome::new(&model.base_url())?;
    let workspace = TempDir::new("codexrt-demo-workspace")?;
    // codex runs commands through a login shell, which reads the shell
    // profile under `HOME`: an empty one keeps the user's out of the demo.
    let user_home = TempDir::new("codexrt-demo-home")?;

    let config = ClientConfig::new()
        .client_info("codexrt-demo", env!("CARGO_PKG_VERSION"))
        .program(codex)
        .current_dir(workspace.path())
        .env("CODEX_HOME", home.path())
        .env("HOME", user_home.path())
        .turn_timeout(TURN_LIMIT);
    let client = Client::connect(config).await?;
    let version = client.runtime().server_info().version.to_string();
    show.section(1, "codex");
    show.line(
        "codex",
        &format!("{version}  {}", codex.display()),
        json!({"event": "codex", "version": version, "program": codex}),
    );
    show.line(
        "model",
        &format!("scripted, on {} (no API key needed)", model.base_url()),
        json!({"event": "model", "kind": "scripted", "baseUrl": model.base_url()}),
    );

    // Only `echo` may run. The hooks make the facade start the thread with
    // the `untrusted` approval policy, so codex asks before the command
    // and the hook decides.
    let (hooks, mut commands) = hooks(
        "allow-echo",
        // The rule spells out the redirect: an allow rule never approves
        // an operator it does not contain.
        CommandRules::new().allow("echo * > greeting.txt"),
        show,
    );
    let report = hooks.report();
    let session = open_session(
        &client,
        workspace.path(),
        SandboxMode::WorkspaceWrite,
        hooks,
        show,
    )
    .await?;
    ask(&session, FIRST_PROMPT, show, &mut commands).await?;
    let last = ask(&session, SECOND_PROMPT, show, &mut commands).await?;

    show.section(4, "result");
    let greeting = std::fs::read_to_string(workspace.path().join(GREETING_FILE))
        .map_err(|err| format!("the approved command left no {GREETING_FILE}: {err}"))?;
    show.line(
        "file",
        &format!("{GREETING_FILE} contains \"{}\"", greeting.trim_end()),
        json!({"event": "file", "path": GREETING_FILE, "text": greeting}),
    );
    show.summary(&Summary::of(&last, started, report.issues().len()));

    client.shutdown().await?;
    let errors = model.script_errors();
    model.shutdown().await;
    if !errors.is_empty() {
        return Err(format!("the scripted model saw unexpected requests: {errors:?}").into());
    }
    Ok(())
}
