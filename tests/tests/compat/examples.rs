//! The examples of the `codexrt` crate (`crates/codexrt/examples`), each run
//! as a program against the real codex of every supported version and a
//! scripted model, as `examples::v0_169_0::quickstart` and so on: what they
//! print, and what the model received.
//!
//! The programs are this package's `example-*` binaries, built from the
//! examples' own sources. Each runs as a user would run it: codex through
//! `CODEX_BIN`, in the codex workspace as its current directory, with an
//! empty `HOME`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use codexrt_testkit::{Codex, CodexInstall, ModelRequest, ModelServer, Reply, Script, TempDir};
use codexrt_tests::scenario::VERSIONS;
use codexrt_tests::scenario::facade::{Endpoint, Listening};
use serde_json::{Value, json};

/// How long one example may run: its turns take well under a second each,
/// so this only bounds a hanging run.
const WAIT: Duration = Duration::from_secs(60);

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Instantiates `<version>::<case>` for every supported version,
/// each example and each extra case, and records the versions and
/// examples for the completeness check.
macro_rules! for_each_example {
    ($examples:tt, $extras:tt, [$($module:ident = $version:literal),*]) => {
        $(
            mod $module {
                for_each_example!(@tests $version, $examples);
                for_each_example!(@tests $version, $extras);
            }
        )*
        for_each_example!(@cases [$($version),*], $examples);
    };
    (@tests $version:literal, [$($example:ident),*]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $example() {
                if let Err(err) = super::$example($version).await {
                    panic!(
                        "example {} against codex {}: {}",
                        stringify!($example),
                        $version,
                        super::super::report(&*err)
                    );
                }
            }
        )*
    };
    (@cases [$($version:literal),*], [$($example:ident),*]) => {
        /// The versions and examples instantiated above.
        const EXAMPLE_CASES: (&[&str], &[&str]) =
            (&[$($version),*], &[$(stringify!($example)),*]);
    };
}

codexrt_tests::with_supported_versions!(for_each_example;
    [
        quickstart,
        streaming,
        session,
        approvals,
        dynamic_tool,
        structured_output,
        concurrent,
        streams,
        pool,
        custom_transport,
        raw_rpc,
        remote,
        blocking,
        tracing
    ],
    [failure_exits_non_zero],
);

#[test]
fn every_version_and_example_is_instantiated() {
    assert_eq!(EXAMPLE_CASES.0, VERSIONS);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/codexrt/examples");
    let mut examples: Vec<String> = std::fs::read_dir(&dir)
        .expect("the examples folder")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        // `demo` is `cargo xtask demo`'s program, run by that command.
        .filter(|name| name != "demo")
        .collect();
    examples.sort();
    let mut instantiated: Vec<&str> = EXAMPLE_CASES.1.to_vec();
    instantiated.sort();
    assert_eq!(examples, instantiated);
}

/// One finished run of an example program: what it printed, and the model
/// and codex it ran against (kept for assertions on the workspace).
struct Run {
    stdout: String,
    model: ModelServer,
    codex: Codex,
    /// The program's `TMPDIR` (and codex's), empty at the start.
    tmp: TempDir,
    _home: TempDir,
}

impl Run {
    /// The model's requests, after checking that the script was followed.
    fn requests(&self) -> Vec<ModelRequest> {
        assert_eq!(self.model.script_errors(), []);
        self.model.requests()
    }
}

/// Runs `program` with `args` against codex `version` and a model following
/// `script`, and checks that it succeeded.
async fn run(
    version: &str,
    program: &str,
    args: &[&str],
    script: Script,
) -> Result<Run, Box<dyn std::error::Error>> {
    let (run, output) = run_unchecked(version, program, args, script).await?;
    assert!(
        output.status.success(),
        "{program} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        run.stdout,
        String::from_utf8_lossy(&output.stderr),
    );
    Ok(run)
}

/// As [`run`], whatever the program's exit status; with its output.
async fn run_unchecked(
    version: &str,
    program: &str,
    args: &[&str],
    script: Script,
) -> Result<(Run, Output), Box<dyn std::error::Error>> {
    Setup::new(version, script)
        .await?
        .run(program, args, &[])
        .await
}

/// The scripted model and codex an example runs against, before it runs.
struct Setup {
    model: ModelServer,
    codex: Codex,
    /// The program's (and codex's) `HOME`, empty: codex runs commands
    /// through `bash -lc`, which reads `~/.bashrc`, and an empty `HOME`
    /// keeps the user's shell out of the runs.
    home: TempDir,
}

impl Setup {
    async fn new(version: &str, script: Script) -> Result<Setup, Box<dyn std::error::Error>> {
        let model = ModelServer::start(script).await?;
        let codex = Codex::new(CodexInstall::new(version).install().await?, &model)?;
        let home = TempDir::new("codexrt-example-home")?;
        Ok(Setup { model, codex, home })
    }

    /// Runs `program` with `args` and `env` set on top of codex's
    /// variables, in the workspace.
    async fn run(
        self,
        program: &str,
        args: &[&str],
        env: &[(&str, &OsStr)],
    ) -> Result<(Run, Output), Box<dyn std::error::Error>> {
        let Setup { model, codex, home } = self;
        let command = codex.command();
        let tmp = TempDir::new("codexrt-example-tmp")?;
        let mut child = tokio::process::Command::new(program);
        child
            .args(args)
            .env("CODEX_BIN", &command.program)
            .envs(command.env.iter().map(|(key, value)| (key, value)))
            .envs(env.iter().copied())
            .env("HOME", home.path())
            .env("TMPDIR", tmp.path())
            .current_dir(&command.current_dir)
            .kill_on_drop(true);
        let output: Output = tokio::time::timeout(WAIT, child.output())
            .await
            .map_err(|_| format!("{program} did not finish within {WAIT:?}"))??;
        let run = Run {
            stdout: String::from_utf8(output.stdout.clone())?,
            model,
            codex,
            tmp,
            _home: home,
        };
        Ok((run, output))
    }
}

/// The text of every assistant message in `request`'s input.
fn assistant_texts(request: &ModelRequest) -> Vec<&str> {
    request
        .input()
        .iter()
        .filter(|item| item["role"] == "assistant")
        .filter_map(|item| item["content"][0]["text"].as_str())
        .collect()
}

/// The texts of the `function_call_output`s in `request`'s input, in order.
fn tool_outputs(request: &ModelRequest) -> Vec<String> {
    request
        .function_call_outputs()
        .into_iter()
        .map(|output| output.text)
        .collect()
}

async fn quickstart(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-quickstart");
    let script = Script::replies([Reply::message("An empty workspace.")]);
    let run = run(version, program, &["What is here?"], script).await?;
    assert_eq!(run.stdout, "An empty workspace.\n");
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].user_texts().contains(&"What is here?"));
    Ok(())
}

async fn streaming(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-streaming");
    let text = "Streamed in several pieces.";
    let script = Script::replies([Reply::message(text).deltas(5).usage(21, 7)]);
    let run = run(version, program, &["Stream it"], script).await?;
    assert_eq!(
        run.stdout,
        format!("{text}\nusage: 21 input tokens, 7 output tokens\n")
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].user_texts().contains(&"Stream it"));
    Ok(())
}

async fn session(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-session");
    let script = Script::replies([
        Reply::message("Shelly"),
        Reply::message("Turtles carry shells."),
        Reply::message("Shelly"),
    ]);
    let run = run(version, program, &[], script).await?;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    let thread = lines[0]
        .strip_prefix("thread: ")
        .ok_or("a thread line first")?;
    assert!(!thread.is_empty());
    assert_eq!(
        lines[1..],
        [
            "1: Shelly",
            "2: Turtles carry shells.",
            "3 (resumed): Shelly"
        ]
    );
    // The resumed session's request carries the whole conversation.
    let requests = run.requests();
    assert_eq!(requests.len(), 3);
    let resumed = &requests[2];
    let asked = resumed.user_texts();
    for question in [
        "Pick a name for a pet turtle. Answer with the name only.",
        "Why did you pick that name?",
        "What was the name again? Answer with the name only.",
    ] {
        assert!(asked.contains(&question), "{question:?} in {asked:?}");
    }
    assert_eq!(
        assistant_texts(resumed),
        ["Shelly", "Turtles carry shells."]
    );
    Ok(())
}

async fn approvals(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-approvals");
    let script = Script::replies([
        Reply::exec_command("touch approved.txt"),
        Reply::exec_command("rm approved.txt"),
        Reply::message("Created approved.txt; deleting it was refused."),
    ]);
    let run = run(version, program, &[], script).await?;
    let stdout = audit_path_masked(&run.stdout, run.tmp.path());
    assert_eq!(
        stdout,
        "codex asks to run: /bin/bash -lc 'touch approved.txt'\n\
         codex asks to run: /bin/bash -lc 'rm approved.txt'\n\
         answer: Created approved.txt; deleting it was refused.\n\
         audit log (AUDIT):\n  \
         accept by commands\n  \
         decline by commands: the command matches the deny rule `rm *`\n"
    );
    // The accepted command ran, the declined one did not; the example
    // removed its log.
    assert!(run.codex.workspace().join("approved.txt").is_file());
    // (codex keeps files of its own in `TMPDIR` too.)
    let logs: Vec<_> = std::fs::read_dir(run.tmp.path())?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("codexrt-approvals-"))
        .collect();
    assert_eq!(logs, Vec::<String>::new());
    let requests = run.requests();
    assert_eq!(requests.len(), 3);
    // The model heard that the first command ran and the second was
    // rejected.
    let outputs = tool_outputs(&requests[2]);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(
        outputs[0].contains("Process exited with code 0"),
        "{outputs:?}"
    );
    assert!(outputs[1].contains("rejected"), "{outputs:?}");
    Ok(())
}

/// `stdout` with the audit log's path replaced by `AUDIT`, after checking
/// that the log was in `tmp` (its name has the example's pid).
fn audit_path_masked(stdout: &str, tmp: &Path) -> String {
    let mut masked = String::new();
    for line in stdout.lines() {
        match line
            .strip_prefix("audit log (")
            .and_then(|rest| rest.strip_suffix("):"))
        {
            Some(path) => {
                let path = Path::new(path);
                assert_eq!(path.parent(), Some(tmp), "{line}");
                let name = path.file_name().and_then(|name| name.to_str());
                assert!(
                    name.is_some_and(
                        |name| name.starts_with("codexrt-approvals-") && name.ends_with(".jsonl")
                    ),
                    "{line}"
                );
                masked.push_str("audit log (AUDIT):\n");
            }
            None => {
                masked.push_str(line);
                masked.push('\n');
            }
        }
    }
    masked
}

async fn dynamic_tool(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-dynamic-tool");
    let script = Script::replies([
        Reply::tool_call("word_length", json!({"word": "strawberry"})),
        Reply::message("It has 10 letters."),
    ]);
    let run = run(version, program, &[], script).await?;
    assert_eq!(
        run.stdout,
        "tool call: word_length(\"strawberry\") = 10\nanswer: It has 10 letters.\n"
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].tool_names().contains(&"word_length"));
    assert_eq!(tool_outputs(&requests[1]), ["strawberry has 10 letters"]);
    Ok(())
}

async fn structured_output(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-structured-output");
    let answer = json!({"name": "turtle-db", "languages": ["Rust", "SQL"], "has_tests": true});
    let script = Script::replies([Reply::message(answer.to_string())]);
    let run = run(version, program, &[], script).await?;
    assert_eq!(
        run.stdout,
        "name: turtle-db\nlanguages: Rust, SQL\nhas tests: true\n"
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    // `Project`'s schema as schemars derives it, doc comments included,
    // closed by the facade: every property required, no others.
    let schema: Value = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Project",
        "description": "The shape of the answer, and of the schema the model is given.",
        "type": "object",
        "properties": {
            "name": {"description": "What the project is called.", "type": "string"},
            "languages": {
                "description": "The programming languages it uses.",
                "type": "array",
                "items": {"type": "string"},
            },
            "has_tests": {"description": "Whether it has tests.", "type": "boolean"},
        },
        "required": ["has_tests", "languages", "name"],
        "additionalProperties": false,
    });
    assert_eq!(
        requests[0].body["text"]["format"],
        json!({"type": "json_schema", "name": "codex_output_schema", "strict": true, "schema": schema})
    );
    Ok(())
}

async fn concurrent(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-concurrent");
    // The sessions' requests come in any order: answer each by its question.
    let script = Script::from_fn(|request| {
        let asked = request.user_texts().join("\n");
        let answer = if asked.contains("prime number") {
            "13"
        } else if asked.contains("colour of the rainbow") {
            "Green"
        } else if asked.contains("planet") {
            "Mars"
        } else {
            "an unexpected question"
        };
        Reply::message(answer)
    });
    let run = run(version, program, &[], script).await?;
    assert_eq!(
        run.stdout,
        "Name a prime number between 10 and 20. Answer with the number only.\n  -> 13\n\
         Name a colour of the rainbow. Answer with one word.\n  -> Green\n\
         Name a planet of the solar system. Answer with one word.\n  -> Mars\n"
    );
    assert_eq!(run.requests().len(), 3);
    Ok(())
}

async fn streams(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-streams");
    // The two sessions' requests come in any order: answer each by its
    // question, in pieces, so that the streams interleave.
    let script = Script::from_fn(|request| {
        let asked = request.user_texts().last().copied().unwrap_or_default();
        let answer = if asked.contains("poetry") {
            "Rivers hum the oldest songs"
        } else if asked.contains("fact") {
            "The Nile is about 6,650 km long."
        } else if asked.contains("title") {
            "Old Songs"
        } else {
            "an unexpected question"
        };
        Reply::message(answer).deltas(3)
    });
    let run = run(version, program, &[], script).await?;
    assert_eq!(
        run.stdout,
        "poet: Rivers hum the oldest songs\n\
         scholar: The Nile is about 6,650 km long.\n\
         title: Old Songs\n"
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 3);
    // The title was asked in the poet's thread, with the poem as context.
    let last = &requests[2];
    assert!(
        last.user_texts()
            .contains(&"Write one line of poetry about rivers."),
        "{:?}",
        last.user_texts()
    );
    Ok(())
}

async fn pool(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-pool");
    // The runs' requests come in any order: answer each by its question.
    let script = Script::from_fn(|request| {
        let asked = request.user_texts().last().copied().unwrap_or_default();
        let answer = if asked.contains("prime number") {
            "13"
        } else if asked.contains("colour of the rainbow") {
            "Green"
        } else if asked.contains("planet") {
            "Mars"
        } else {
            "Shelly"
        };
        Reply::message(answer)
    });
    let run = run(version, program, &[], script).await?;
    assert_eq!(
        run.stdout,
        "Name a prime number between 10 and 20. Answer with the number only.\n  -> 13\n\
         Name a colour of the rainbow. Answer with one word.\n  -> Green\n\
         Name a planet of the solar system. Answer with one word.\n  -> Mars\n\
         session: Shelly\n\
         resumed: Shelly\n\
         2 servers, 5 turns, 0 failures\n"
    );
    // The resumed thread carried the conversation.
    let requests = run.requests();
    assert_eq!(requests.len(), 5);
    let resumed = &requests[4];
    let asked = resumed.user_texts();
    for question in [
        "Pick a name for a pet turtle. Answer with the name only.",
        "What was the name again? Answer with the name only.",
    ] {
        assert!(asked.contains(&question), "{question:?} in {asked:?}");
    }
    assert_eq!(assistant_texts(resumed), ["Shelly"]);
    Ok(())
}

async fn blocking(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-blocking");
    let first = "A workspace with nothing in it.";
    let again = "Nothing is in it.";
    let script = Script::replies([Reply::message(first), Reply::message(again).deltas(4)]);
    let run = run(version, program, &["What is here?"], script).await?;
    assert_eq!(
        run.stdout,
        format!("run: {first}\nstream: {again}\nfinal: {again}\n")
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].user_texts().contains(&"What is here?"));
    assert!(
        requests[1]
            .user_texts()
            .contains(&"Say that again, in pieces.")
    );
    Ok(())
}

async fn custom_transport(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-custom-transport");
    let script = Script::replies([Reply::message("Hello over a hand-made transport.")]);
    let run = run(version, program, &["Say hello"], script).await?;
    assert_eq!(
        run.stdout,
        format!(
            "connected to codex {version}\n\
             Hello over a hand-made transport.\n\
             closed: the connection was shut down\n"
        )
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].user_texts().contains(&"Say hello"));
    Ok(())
}

/// The remote example against codex listening on a WebSocket with a
/// capability token: it connects to the URL with the token file, never
/// spawning codex (`CODEX_BIN` points nowhere), and runs the prompt in the
/// folder it was given.
async fn remote(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-remote");
    let script = Script::replies([Reply::message("Hello from a server elsewhere.")]);
    let setup = Setup::new(version, script).await?;
    let command = setup.codex.command();
    let (server, _) = Listening::start(
        Endpoint::WebSocketToken,
        &command,
        setup.home.path().to_path_buf(),
        version,
    )
    .await?;
    let url = server.url().to_owned();
    let token_file = server
        .credentials_file()
        .ok_or("the token endpoint has a token file")?
        .to_path_buf();
    let workspace = setup.codex.workspace().to_path_buf();
    let env: [(&str, &OsStr); 4] = [
        ("CODEX_APP_SERVER_URL", OsStr::new(&url)),
        ("CODEX_APP_SERVER_TOKEN_FILE", token_file.as_os_str()),
        ("CODEX_REMOTE_CWD", workspace.as_os_str()),
        ("CODEX_BIN", OsStr::new("/nonexistent/codex")),
    ];
    let (run, output) = setup.run(program, &["Say hello"], &env).await?;
    server.stop().await;
    assert!(
        output.status.success(),
        "{program} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        run.stdout,
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(
        run.stdout,
        format!("connected to codex {version} at {url}\nHello from a server elsewhere.\n")
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].user_texts().contains(&"Say hello"));
    Ok(())
}

async fn raw_rpc(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-raw-rpc");
    let script = Script::replies([Reply::message("Hi from the core.").deltas(2)]);
    let run = run(version, program, &["Say hi"], script).await?;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], format!("connected to codex {version}"));
    assert!(
        lines[1].starts_with("thread started: ") && lines[1].ends_with(" (mock-model)"),
        "{}",
        lines[1]
    );
    // The notifications of the turn, in order, then the outcome.
    let position = |wanted: &str| lines.iter().position(|line| *line == wanted);
    let started = position("  notification: turn/started").ok_or("turn/started")?;
    let completed = position("  notification: turn/completed").ok_or("turn/completed")?;
    assert!(started < completed, "{lines:?}");
    // The reply came in two deltas, printed between the two, which joined
    // are the answer.
    let deltas: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| Some((index, line.strip_prefix("  delta: ")?)))
        .map(|(index, quoted)| Ok((index, serde_json::from_str::<String>(quoted)?)))
        .collect::<Result<_, serde_json::Error>>()?;
    assert_eq!(deltas.len(), 2, "{lines:?}");
    assert!(
        deltas
            .iter()
            .all(|(index, _)| started < *index && *index < completed),
        "{lines:?}"
    );
    let joined: String = deltas.iter().map(|(_, delta)| delta.as_str()).collect();
    assert_eq!(joined, "Hi from the core.");
    assert_eq!(
        lines[lines.len() - 2..],
        ["status: Completed", "final text: Hi from the core."]
    );
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].user_texts().contains(&"Say hi"));
    Ok(())
}

/// A failing run makes the example fail: codex reports the model's HTTP
/// error as a failed turn, and the program prints the error (the `Debug`
/// form `main` gives a returned error) and exits with 1.
async fn tracing(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-tracing");
    let script = Script::replies([Reply::message("Traced.")]);
    let (run, output) = run_unchecked(version, program, &["Trace this"], script).await?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(output.status.success(), "{}\n{stderr}", output.status);
    assert_eq!(run.stdout, "Traced.\n");
    assert_eq!(run.requests().len(), 1);
    // A closing span's line starts with the spans it is nested in: the
    // turn's names its thread and connection, and the call that started
    // it ends with its outcome, inside the turn.
    let chain = [
        "codexrt.connection{endpoint=stdio:",
        &format!("codex_version={version}}}:codexrt.thread{{thread_id="),
        "}:codexrt.turn{thread_id=",
    ];
    let nested = |line: &&str| {
        let mut rest = *line;
        chain.iter().all(|part| match rest.find(part) {
            Some(at) => {
                rest = &rest[at + part.len()..];
                true
            }
            None => false,
        })
    };
    let closes: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(" close "))
        .filter(nested)
        .collect();
    assert!(
        closes.iter().any(
            |line| line.contains(":codexrt.request{method=turn/start id=")
                && line.contains(" outcome=ok duration_ms=")
        ),
        "{stderr}"
    );
    assert!(
        closes.iter().any(|line| !line.contains("codexrt.request{")),
        "no close line of the turn itself:\n{stderr}"
    );
    Ok(())
}

async fn failure_exits_non_zero(version: &str) -> TestResult {
    let program = env!("CARGO_BIN_EXE_example-quickstart");
    let script = Script::replies([Reply::fail(400)]);
    let (run, output) = run_unchecked(version, program, &["What is here?"], script).await?;
    assert_eq!(output.status.code(), Some(1), "{}", output.status);
    assert_eq!(run.stdout, "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("Error: Failed"), "{stderr}");
    assert_eq!(run.model.requests().len(), 1);
    Ok(())
}
