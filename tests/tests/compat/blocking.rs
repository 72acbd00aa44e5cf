//! `codexrt::blocking` against the real codex of the pinned version with a
//! scripted model: runs, asks and streamed asks that block, a hook that
//! approves a command on the client's own runtime, a dropped stream that
//! interrupts its turn, the typed error inside a tokio runtime, and a
//! dropped client that leaves no codex behind.
//!
//! The tests are plain `#[test]`s: the blocking API is for threads outside
//! any tokio runtime. The scripted model runs on a runtime of its own,
//! which the test thread never enters.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt::blocking::Client;
use codexrt::hooks::{Decision, HookEntry, HookReport, HookSet, Matcher, hook_fn};
use codexrt::protocol::types::{AskForApproval, SandboxMode, TurnStatus};
use codexrt::{ClientConfig, ClientError, PromptRunError, RunProfile, SessionConfig, SessionEvent};
use codexrt_protocol::PINNED_VERSION;
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script, TempDir};
use codexrt_tests::procs;

/// Turns a hang into a failure: a turn takes well under a second.
const WAIT: Duration = Duration::from_secs(60);

/// The scripted model and codex of the pinned version, on a runtime of
/// their own.
struct Setup {
    codex: Codex,
    model: ModelServer,
    home: TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Setup {
    fn new(script: Script) -> Setup {
        let runtime = tokio::runtime::Runtime::new().expect("the model's runtime");
        let (codex, model) = runtime.block_on(async {
            let binary = CodexInstall::new(PINNED_VERSION)
                .install()
                .await
                .expect("installing codex");
            let model = ModelServer::start(script)
                .await
                .expect("starting the model server");
            let codex = Codex::new(binary, &model).expect("preparing codex");
            (codex, model)
        });
        let home = TempDir::new("codexrt-blocking-home").expect("a HOME");
        Setup {
            codex,
            model,
            home,
            runtime,
        }
    }

    fn workspace(&self) -> &Path {
        self.codex.workspace()
    }

    /// The settings of a client of this codex, with an empty `HOME`.
    fn config(&self) -> ClientConfig {
        let command = self.codex.command();
        let mut config = ClientConfig::new()
            .call_timeout(WAIT)
            .turn_timeout(WAIT)
            .program(&command.program)
            .current_dir(&command.current_dir)
            .env("HOME", self.home.path());
        for (key, value) in &command.env {
            config = config.env(key, value);
        }
        config
    }

    fn connect(&self) -> Client {
        Client::connect(self.config()).expect("connecting")
    }

    /// The texts of the last user message of each model request.
    fn asked(&self) -> Vec<String> {
        assert_eq!(self.model.script_errors(), []);
        self.model
            .requests()
            .iter()
            .map(|request| {
                request
                    .user_texts()
                    .last()
                    .copied()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    /// The app-servers of this test's codex home still running.
    fn servers(&self) -> Vec<i32> {
        let home = self.codex.home().display().to_string();
        procs::with_env_var("CODEX_HOME", &home)
            .into_iter()
            .filter(|pid| procs::is_our_child(*pid))
            .collect()
    }
}

/// The model gets its `count`th request, waited for on its own runtime.
fn wait_for_requests(setup: &Setup, count: usize) {
    setup.runtime.block_on(async {
        tokio::time::timeout(WAIT, setup.model.wait_for_requests(count))
            .await
            .expect("the model's request in time");
    });
}

#[test]
fn run_and_ask_return_the_scripted_answers() {
    let setup = Setup::new(Script::replies([
        Reply::message("A run's answer."),
        Reply::message("Shelly"),
        Reply::message("Still Shelly."),
    ]));
    let client = setup.connect();
    assert_eq!(client.server_info().version.to_string(), PINNED_VERSION);

    let run = client
        .run(setup.workspace(), "a one-shot question")
        .unwrap();
    assert_eq!(run.text(), "A run's answer.");
    assert_eq!(run.status, TurnStatus::Completed);

    let session = client
        .start_session(SessionConfig::new(setup.workspace()))
        .unwrap();
    let first = session.ask("name a turtle").unwrap();
    assert_eq!(first.text(), "Shelly");
    assert_eq!(first.thread_id, session.thread_id());
    let second = session.ask("and again").unwrap();
    assert_eq!(second.text(), "Still Shelly.");
    let turns: Vec<String> = session
        .read()
        .unwrap()
        .turns
        .into_iter()
        .map(|turn| turn.id)
        .collect();
    assert_eq!(turns, [first.turn_id, second.turn_id]);
    let stored = client.threads().read(session.thread_id()).unwrap();
    assert_eq!(stored.id, session.thread_id());

    session.close().unwrap();
    client.shutdown().unwrap();
    assert_eq!(
        setup.asked(),
        ["a one-shot question", "name a turtle", "and again"]
    );
}

#[test]
fn ask_stream_iterates_deltas_that_make_the_final_text() {
    let answer = "Streaming, piece by piece, without async.";
    let setup = Setup::new(Script::replies([Reply::message(answer).deltas(5)]));
    let client = setup.connect();
    let session = client
        .start_session(SessionConfig::new(setup.workspace()))
        .unwrap();
    let mut stream = session.ask_stream("stream it").unwrap();
    let mut deltas = Vec::new();
    let mut finished = None;
    for event in &mut stream {
        assert!(finished.is_none(), "an event after `Finished`: {event:?}");
        match event {
            SessionEvent::TextDelta { delta, .. } => deltas.push(delta),
            SessionEvent::Finished(result) => finished = Some(result),
            _ => {}
        }
    }
    assert!(stream.next().is_none(), "the stream stays ended");
    let result = finished.expect("a `Finished` event").unwrap();
    // The pieces may come joined when read slowly, never lost.
    assert!(!deltas.is_empty());
    assert_eq!(deltas.concat(), answer);
    assert_eq!(result.text(), answer);
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.turn_id, stream.turn_id());
    assert_eq!(result.thread_id, stream.thread_id());
    drop(stream);
    client.shutdown().unwrap();
    assert_eq!(setup.asked(), ["stream it"]);
}

#[test]
fn a_client_hook_approves_a_command_on_the_clients_runtime() {
    let setup = Setup::new(Script::replies([
        Reply::exec_command("touch approved.txt"),
        Reply::message("Done."),
    ]));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&threads);
    let hook = hook_fn(move |_| {
        let name = std::thread::current().name().map(str::to_owned);
        seen.lock().unwrap().push(name);
        async { Ok(Decision::Accept) }
    });
    let report = HookReport::default();
    let hooks = HookSet::new()
        .hook(
            HookEntry::new("touch-ok", hook)
                .matcher(Matcher::any().tool("command").command("*touch *")),
        )
        .report_to(report.clone());
    let client = Client::connect(setup.config().hooks(hooks)).unwrap();
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .approval_policy(AskForApproval::Untrusted);
    let result = client
        .run_with_profile(setup.workspace(), "make a file", profile)
        .unwrap();
    assert_eq!(result.text(), "Done.");
    assert!(setup.workspace().join("approved.txt").is_file());
    // The hook decided once, on a worker of the client's runtime, with
    // nothing to report.
    assert_eq!(
        *threads.lock().unwrap(),
        [Some("codexrt-blocking".to_owned())]
    );
    assert_eq!(report.issues(), []);
    assert_eq!(client.hook_report().issues(), []);
    client.shutdown().unwrap();
    let requests = setup.model.requests();
    assert_eq!(requests.len(), 2);
    let outputs = requests[1].function_call_outputs();
    assert_eq!(outputs.len(), 1);
    assert!(
        outputs[0].text.contains("Process exited with code 0"),
        "{outputs:?}"
    );
}

#[test]
fn a_dropped_stream_interrupts_its_turn() {
    let stalled = Reply::message("this answer never finishes")
        .deltas(5)
        .stall_after(2, Duration::MAX);
    let answer = "The next ask's own answer.";
    let setup = Setup::new(Script::replies([stalled, Reply::message(answer)]));
    let client = setup.connect();
    let session = client
        .start_session(SessionConfig::new(setup.workspace()))
        .unwrap();
    let mut stream = session.ask_stream("a slow question").unwrap();
    let dropped = stream.turn_id().to_owned();
    // The turn is under way (and stalls in the model): its first piece
    // came.
    let delta = stream
        .find_map(|event| match event {
            SessionEvent::TextDelta { delta, .. } => Some(delta),
            _ => None,
        })
        .expect("a first piece");
    assert!(
        "this answer never finishes".starts_with(&delta),
        "{delta:?}"
    );
    assert_eq!(session.running_turn().as_deref(), Some(dropped.as_str()));
    drop(stream);

    // The next ask waits for the dropped turn to end, then runs its own.
    let next = session.ask("the next question").unwrap();
    assert_ne!(next.turn_id, dropped);
    assert_eq!(next.text(), answer);
    let turns: Vec<(String, TurnStatus)> = session
        .read()
        .unwrap()
        .turns
        .into_iter()
        .map(|turn| (turn.id, turn.status))
        .collect();
    assert_eq!(
        turns,
        [
            (dropped, TurnStatus::Interrupted),
            (next.turn_id.clone(), TurnStatus::Completed)
        ]
    );
    client.shutdown().unwrap();
    assert_eq!(setup.asked(), ["a slow question", "the next question"]);
}

/// `Err(PromptRunError::Client(ClientError::InsideAsyncRuntime))`.
fn inside<T>(result: Result<T, PromptRunError>) -> bool {
    matches!(
        result,
        Err(PromptRunError::Client(ClientError::InsideAsyncRuntime))
    )
}

#[test]
fn inside_a_tokio_runtime_every_call_is_a_typed_error() {
    let answer = "Asked from a plain thread.";
    let setup = Setup::new(Script::replies([
        Reply::message(answer),
        Reply::message("A streamed answer.").deltas(2),
    ]));
    let client = setup.connect();
    let session = client
        .start_session(SessionConfig::new(setup.workspace()))
        .unwrap();
    let elsewhere = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    elsewhere.block_on(async {
        let connected = Client::connect(setup.config());
        assert!(
            matches!(connected, Err(ClientError::InsideAsyncRuntime)),
            "{connected:?}"
        );
        assert!(inside(client.run(setup.workspace(), "not sent")));
        assert!(inside(session.ask("not sent")));
        assert!(inside(session.ask_stream("not sent")));
        let started = client.start_session(SessionConfig::new(setup.workspace()));
        assert!(matches!(started, Err(ClientError::InsideAsyncRuntime)));
        assert!(matches!(
            session.read(),
            Err(ClientError::InsideAsyncRuntime)
        ));
        assert!(matches!(
            client.threads().read(session.thread_id()),
            Err(ClientError::InsideAsyncRuntime)
        ));
        assert!(matches!(
            client.shutdown(),
            Err(ClientError::InsideAsyncRuntime)
        ));
    });
    // Nothing reached codex: from a plain thread the client works, and the
    // model's first request is this ask's.
    assert_eq!(session.ask("from a plain thread").unwrap().text(), answer);

    // A stream taken into a runtime ends with the error, and its turn is
    // interrupted as a dropped stream's is.
    let mut stream = session.ask_stream("streamed elsewhere").unwrap();
    let turn = stream.turn_id().to_owned();
    wait_for_requests(&setup, 2);
    let ended = elsewhere.block_on(async {
        let event = stream.next();
        (event, stream.next())
    });
    match ended {
        (Some(SessionEvent::Finished(result)), None) => assert!(inside(result)),
        other => panic!("{other:?}"),
    }
    // Its turn ends (interrupted, or completed if codex was quicker), and
    // the session goes on.
    let thread = session.read().unwrap();
    assert_eq!(
        thread.turns.last().map(|turn| turn.id.as_str()),
        Some(turn.as_str())
    );

    // Dropping the last client, session and stream inside a runtime tears
    // codex down without blocking it, and without a panic.
    assert_eq!(setup.servers().len(), 1);
    elsewhere.block_on(async move {
        drop(stream);
        drop(session);
        drop(client);
    });
    eventually("codex is gone", || setup.servers().is_empty());
    assert_eq!(setup.asked(), ["from a plain thread", "streamed elsewhere"]);
}

/// Waits until `done` holds; a hang becomes a failure after [`WAIT`].
fn eventually(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "{what}: not within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dropping_the_client_shuts_codex_down() {
    let setup = Setup::new(Script::replies([Reply::message("Bye.")]));
    let client = setup.connect();
    let session = client
        .start_session(SessionConfig::new(setup.workspace()))
        .unwrap();
    assert_eq!(setup.servers().len(), 1);
    // The session keeps the runtime and codex going without the client.
    drop(client);
    assert_eq!(session.ask("one more").unwrap().text(), "Bye.");
    drop(session);
    assert_eq!(setup.servers(), Vec::<i32>::new());
}
