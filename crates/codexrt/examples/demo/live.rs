//! `--live`: the same session with the user's own codex login, model and
//! configuration. It stays harmless: a read-only sandbox in a scratch
//! folder, and a hook that approves only commands that read.

use std::error::Error;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexrt::hooks::CommandRules;
use codexrt::protocol::types::SandboxMode;
use codexrt::{Client, ClientConfig};
use codexrt_testkit::TempDir;
use serde_json::json;
use tokio::process::Command;

use crate::session::{ask, hooks, open_session};
use crate::show::{Show, Summary};

const NOTES: &str = "codexrt drives OpenAI Codex from Rust through `codex app-server`.\n\
                     This folder is a scratch copy made by the codexrt demo.\n";

const PROMPT: &str = "Use `ls` and `cat` to look at the files in the current folder, then \
                      say in one sentence what notes.txt is about. Do not change anything.";

/// A real model can take a while, but a demo should not hang.
const TURN_LIMIT: Duration = Duration::from_secs(300);

/// How long `codex login status` may take.
const LOGIN_CHECK_LIMIT: Duration = Duration::from_secs(30);

pub(crate) async fn run(codex: &Path, show: &Arc<Show>) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    check_login(codex).await?;
    show.title("codexrt demo: the real codex app-server with your codex login");

    let workspace = TempDir::new("codexrt-demo-live")?;
    std::fs::write(workspace.path().join("notes.txt"), NOTES)?;
    // The user's environment as it is: their `CODEX_HOME` (or `~/.codex`),
    // login and configured model.
    let config = ClientConfig::new()
        .client_info("codexrt-demo", env!("CARGO_PKG_VERSION"))
        .program(codex)
        .current_dir(workspace.path())
        .turn_timeout(TURN_LIMIT);
    let client = Client::connect(config).await?;
    let info = client.server_info();
    let version = info.version.to_string();
    show.section(1, "codex");
    show.line(
        "codex",
        &format!("{version}  {}", codex.display()),
        json!({"event": "codex", "version": version, "program": codex}),
    );
    show.line(
        "model",
        &format!("yours, from the configuration in {}", info.codex_home),
        json!({"event": "model", "kind": "live", "codexHome": info.codex_home}),
    );

    // Reading is allowed and everything else declined. An allow rule never
    // approves a line that chains (`;`, `&&`, `|`, a line break) or
    // redirects (`>`), so `cat a > b` is declined too. codex runs what it
    // knows to be read-only without asking, so the hook may see nothing at
    // all.
    let rules = CommandRules::new()
        .allow("ls")
        .allow("ls *")
        .allow("cat *")
        .allow("head *")
        .allow("wc *")
        .allow("pwd");
    let (hooks, mut commands) = hooks("read-only", rules, show);
    let report = hooks.report();
    let session = open_session(
        &client,
        workspace.path(),
        SandboxMode::ReadOnly,
        hooks,
        show,
    )
    .await?;
    let last = ask(&session, PROMPT, show, &mut commands).await?;
    show.section(4, "result");
    show.summary(&Summary::of(&last, started, report.issues().len()));
    client.shutdown().await?;
    Ok(())
}

/// Fails with what to do when `codex login status` says there is no login
/// (it exits non-zero and prints `Not logged in` on stderr).
async fn check_login(codex: &Path) -> Result<(), Box<dyn Error>> {
    let status = Command::new(codex)
        .args(["login", "status"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(LOGIN_CHECK_LIMIT, status)
        .await
        .map_err(|_| format!("`{} login status` did not answer", codex.display()))?
        .map_err(|err| format!("cannot run `{} login status`: {err}", codex.display()))?;
    if output.status.success() {
        return Ok(());
    }
    // codex prints warnings before its verdict; the verdict is the last line.
    let said = [&output.stderr, &output.stdout]
        .iter()
        .flat_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with("WARNING"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .last()
        .unwrap_or_else(|| "no answer".to_owned());
    let codex = codex.display();
    Err(format!(
        "`--live` uses your own codex login, but `codex login status` says: {said}\n\n\
         Log in once with your ChatGPT account:\n\
         \x20   {codex} login\n\
         or with an API key:\n\
         \x20   printenv OPENAI_API_KEY | {codex} login --with-api-key\n\
         then run `cargo xtask demo --live` again. \
         (`cargo xtask demo` without `--live` needs no login.)"
    )
    .into())
}
