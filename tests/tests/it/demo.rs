//! The `demo` example (what `cargo xtask demo` runs) end to end: run
//! against the real codex 0.169.0, judged by its output and exit status.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use codexrt_testkit::{CodexHome, CodexInstall, ModelServer, Reply, Script, TempDir};
use serde_json::Value;

/// The demo program: the example's source built as a program of this
/// package (see its `Cargo.toml`).
fn demo_executable() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_example-demo"))
}

async fn pinned_codex() -> PathBuf {
    let binary = CodexInstall::new("0.169.0").install().await.unwrap();
    binary.program().to_path_buf()
}

fn run_demo(args: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(demo_executable());
    command.args(args);
    configure(&mut command);
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripted_demo_runs_a_session_with_an_approved_command() {
    let codex = pinned_codex().await;
    let output = run_demo(&["--codex", codex.to_str().unwrap()], |_| {});
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        text(&output.stderr)
    );
    // The sections in order, each with its key line.
    let expected = [
        "1. codex",
        "0.169.0",
        "2. session",
        "codex ›   I am codex, running as `codex app-server`",
        "3. approval",
        "approved  echo hello from codex > greeting.txt  (hook \"allow-echo\"",
        "ran       exit 0  echo hello from codex > greeting.txt",
        "4. result",
        "Done: greeting.txt now says \"hello from codex\".",
        "greeting.txt contains \"hello from codex\"",
        "status    completed",
        "tokens    3900 in (0 cached) · 75 out · 3975 total",
        "time      last turn",
    ];
    let mut rest = stdout.as_str();
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("`{line}` missing or out of order in:\n{stdout}"));
        rest = &rest[at + line.len()..];
    }
    assert!(
        !stdout.contains("{\""),
        "raw JSON in the text output:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripted_demo_prints_json_lines_with_json() {
    let codex = pinned_codex().await;
    let output = run_demo(&["--codex", codex.to_str().unwrap(), "--json"], |_| {});
    assert!(output.status.success(), "{}", text(&output.stderr));
    let events: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let of = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|event| event["event"] == kind)
            .collect()
    };
    assert!(of("delta").len() >= 8);
    let approvals = of("approval");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["decision"], "approved");
    assert_eq!(approvals[0]["hook"], "allow-echo");
    assert_eq!(
        approvals[0]["command"],
        "echo hello from codex > greeting.txt"
    );
    let commands = of("command");
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["exitCode"], 0);
    assert_eq!(commands[0]["seenBy"], "show-result");
    let outcome = events.last().unwrap();
    assert_eq!(outcome["event"], "outcome");
    assert_eq!(outcome["status"], "completed");
    assert_eq!(outcome["usage"]["totalTokens"], 3975);
    assert_eq!(outcome["hookIssues"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_demo_without_a_login_says_how_to_log_in() {
    let codex = pinned_codex().await;
    let home = TempDir::new("codexrt-demo-no-login").unwrap();
    let codex_home = home.path().join(".codex");
    std::fs::create_dir(&codex_home).unwrap();
    let output = run_demo(&["--codex", codex.to_str().unwrap(), "--live"], |command| {
        command
            .env("HOME", home.path())
            .env("CODEX_HOME", &codex_home)
            .env_remove("OPENAI_API_KEY");
    });
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("`--live` uses your own codex login"),
        "{stderr}"
    );
    assert!(stderr.contains("Not logged in"), "{stderr}");
    assert!(stderr.contains(" login\n"), "{stderr}");
    assert!(stderr.contains("login --with-api-key"), "{stderr}");
    assert!(text(&output.stdout).is_empty());
}

/// `--live` with a login (an API key saved by `codex login`) and a
/// configuration that happens to point at the scripted model: the live
/// mode's own hook lets codex read and refuses a command that writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_demo_approves_reading_and_declines_writing() {
    let codex = pinned_codex().await;
    let model = ModelServer::start(Script::replies([
        Reply::exec_command("ls"),
        Reply::exec_command("rm notes.txt"),
        Reply::message("notes.txt describes codexrt."),
    ]))
    .await
    .unwrap();
    let codex_home = CodexHome::new(&model.base_url()).unwrap();
    let home = TempDir::new("codexrt-demo-live-home").unwrap();
    let mut login = Command::new(&codex)
        .args(["login", "--with-api-key"])
        .env("CODEX_HOME", codex_home.path())
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = login.stdin.take().unwrap();
    stdin.write_all(b"sk-not-a-real-key\n").unwrap();
    drop(stdin);
    assert!(login.wait().unwrap().success());

    let output = run_demo(&["--codex", codex.to_str().unwrap(), "--live"], |command| {
        command
            .env("HOME", home.path())
            .env("CODEX_HOME", codex_home.path());
    });
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        text(&output.stderr)
    );
    assert!(stdout.contains("sandbox read-only"), "{stdout}");
    assert!(
        stdout.contains("approved  ls  (hook \"read-only\""),
        "{stdout}"
    );
    assert!(stdout.contains("exit 0  ls"), "{stdout}");
    assert!(
        stdout.contains("declined  rm notes.txt  (hook \"read-only\""),
        "{stdout}"
    );
    assert!(stdout.contains("notes.txt describes codexrt."), "{stdout}");
    assert!(stdout.contains("status    completed"), "{stdout}");
    assert!(
        stdout.contains("not run   rm notes.txt  (declined"),
        "{stdout}"
    );
    // What codex told the model about `rm`: the last tool output.
    let outputs = model.last_request().unwrap().function_call_outputs();
    let refused = &outputs.last().unwrap().text;
    assert!(refused.contains("rejected"), "{refused}");
    assert_eq!(model.script_errors(), []);
}
