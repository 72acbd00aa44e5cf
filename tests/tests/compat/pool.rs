//! `codexrt::Pool` over three real `codex app-server`s of the pinned
//! version, each with its own `CODEX_HOME`, sharing one scripted model:
//! twelve sessions spread evenly, one server killed in the middle of its
//! turns (its sessions fail at once with the close report, new sessions go
//! to the other two), the killed one restarted by the pool and used again,
//! threads resumed where their home is, and no process left at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexrt::{
    Backoff, ClientConfig, CoreError, EndpointState, Pool, PoolConfig, PoolEndpoint, PoolError,
    PooledSession, PromptRunError, SessionConfig,
};
use codexrt_protocol::PINNED_VERSION;
use codexrt_testkit::{Codex, CodexInstall, ModelServer, Reply, Script, TempDir};
use codexrt_tests::procs;
use codexrt_transport::CloseReport;
use tokio::task::JoinSet;

/// Turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(60);

/// How long the model holds each `slow` answer: long enough that the
/// killed server's turns are surely still running.
const HOLD: Duration = Duration::from_secs(4);

/// The answer to the last user message: `slow N` is answered `answer N`
/// after a pause, `quick N` at once.
fn model_script() -> Script {
    Script::from_fn(|request| {
        let asked = request.user_texts().last().map(|text| text.to_string());
        let asked = asked.unwrap_or_default();
        let (kind, number) = asked.split_once(' ').unwrap_or(("", ""));
        let reply = Reply::message(format!("answer {number}")).deltas(3);
        match kind {
            "slow" => reply.stall_after(1, HOLD),
            _ => reply,
        }
    })
}

/// The live processes whose environment sets `CODEX_HOME` to `home`:
/// codex and the shells it starts (its environment snapshot runs in a
/// process group of its own).
fn pids_of(home: &Path) -> Vec<i32> {
    procs::with_env_var("CODEX_HOME", &home.display().to_string())
}

/// The app-servers this test started with `CODEX_HOME` at `home`: its own
/// children among [`pids_of`].
fn servers_of(home: &Path) -> Vec<i32> {
    pids_of(home)
        .into_iter()
        .filter(|pid| procs::is_our_child(*pid))
        .collect()
}

/// The close report of an ask that failed because the connection closed.
fn close_report(failed: &PromptRunError) -> Option<Arc<CloseReport>> {
    let PromptRunError::Client(client) = failed else {
        return None;
    };
    match client.as_runtime()? {
        CoreError::Closed { report, .. } => Some(Arc::clone(report)),
        _ => None,
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} did not happen within {PATIENCE:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_three_survives_a_killed_server() {
    let binary = CodexInstall::new(PINNED_VERSION).install().await.unwrap();
    let model = ModelServer::start(model_script()).await.unwrap();
    let names = ["a", "b", "c"];
    let codexes: Vec<Codex> = names
        .iter()
        .map(|_| Codex::new(binary.clone(), &model).unwrap())
        .collect();
    // codex snapshots the login shell of each new thread (`bash -lc`): an
    // empty `HOME` keeps the user's shell start-up out of it.
    let home = TempDir::new("codexrt-pool-home").unwrap();
    let endpoints = names.iter().zip(&codexes).map(|(name, codex)| {
        let config = ClientConfig::new()
            .program(binary.program())
            .env("HOME", home.path())
            .current_dir(codex.workspace())
            .shutdown_grace(Duration::from_secs(5));
        PoolEndpoint::with_home(*name, config, codex.home())
    });
    // The first retry waits 2 to 4 s: time enough to see new sessions
    // avoid the lost server before it is back.
    let backoff = Backoff::new(Duration::from_secs(4), Duration::from_secs(4));
    let pool = Pool::connect(
        PoolConfig::new(endpoints)
            .max_sessions_per_endpoint(8)
            .backoff(backoff),
    )
    .await
    .unwrap();
    let workspace = TempDir::new("codexrt-pool-workspace").unwrap();
    let cwd = workspace.path().to_path_buf();

    // Twelve sessions: four on each server.
    let mut sessions = Vec::new();
    for _ in 0..12 {
        sessions.push(pool.start_session(SessionConfig::new(&cwd)).await.unwrap());
    }
    let per_endpoint: Vec<usize> = pool.stats().endpoints.iter().map(|e| e.sessions).collect();
    assert_eq!(per_endpoint, [4, 4, 4]);

    // Every session asks a slow question at once.
    let mut asks: JoinSet<(
        usize,
        PooledSession,
        Result<String, PromptRunError>,
        Instant,
    )> = JoinSet::new();
    for (index, session) in sessions.into_iter().enumerate() {
        asks.spawn(async move {
            let answer = session.ask(format!("slow {index}")).await;
            let text = answer.map(|answer| answer.text().to_owned());
            (index, session, text, Instant::now())
        });
    }
    eventually("all twelve turns reach the model", || {
        model.requests().len() == 12
    })
    .await;

    // Kill `b` in the middle of its four turns.
    let b_home = codexes[1].home();
    let first_b = servers_of(b_home);
    assert_eq!(first_b.len(), 1, "{first_b:?}");
    let killed_at = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-9", &first_b[0].to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // While `b` is away, new sessions go to `a` and `c`.
    eventually("b is taken out", || {
        pool.stats().endpoint("b").unwrap().state != EndpointState::Healthy
    })
    .await;
    let mut during = Vec::new();
    for _ in 0..2 {
        during.push(pool.start_session(SessionConfig::new(&cwd)).await.unwrap());
    }
    let mut landed: Vec<&str> = during.iter().map(|session| session.endpoint()).collect();
    landed.sort_unstable();
    assert_eq!(landed, ["a", "c"]);

    // `b`'s sessions failed fast, with the report; the others answered.
    let mut kept = Vec::new();
    while let Some(joined) = tokio::time::timeout(PATIENCE, asks.join_next())
        .await
        .unwrap()
    {
        let (index, session, outcome, ended) = joined.unwrap();
        if session.endpoint() == "b" {
            let failed = outcome.unwrap_err();
            let Some(report) = close_report(&failed) else {
                panic!("session {index} on b did not fail with the close report: {failed:?}");
            };
            assert_eq!(
                report.exit.and_then(|status| status.signal()),
                Some(9),
                "{report}"
            );
            assert!(
                ended.duration_since(killed_at) < Duration::from_secs(2),
                "session {index} failed only after {:?}",
                ended.duration_since(killed_at)
            );
        } else {
            assert_eq!(outcome.unwrap(), format!("answer {index}"));
            kept.push(session);
        }
    }
    assert_eq!(kept.len(), 8);

    // The pool starts `b` again, and the next session goes there.
    eventually("b is back", || {
        let stats = pool.stats();
        let b = stats.endpoint("b").unwrap();
        b.state == EndpointState::Healthy && b.connects == 2
    })
    .await;
    let second_b = servers_of(b_home);
    assert_eq!(second_b.len(), 1, "{second_b:?}");
    assert_ne!(second_b, first_b);
    let on_b = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(on_b.endpoint(), "b");
    let answer = on_b.ask("quick 99").await.unwrap();
    assert_eq!(answer.text(), "answer 99");

    let b = pool.stats().endpoint("b").cloned().unwrap();
    assert_eq!(
        (b.losses, b.sessions, b.sessions_total, b.turns, b.failures),
        (1, 1, 5, 5, 4)
    );
    let a = pool.stats().endpoint("a").cloned().unwrap();
    assert_eq!(
        (a.state, a.losses, a.failures),
        (EndpointState::Healthy, 0, 0)
    );

    // A thread is resumed where its home is; another home does not have it.
    let thread = kept[0].thread_id().to_owned();
    let home = kept[0].endpoint().to_owned();
    let elsewhere = if home == "a" { "c" } else { "a" };
    let resumed = pool
        .resume_session(&home, &thread, SessionConfig::new(&cwd))
        .await
        .unwrap();
    assert_eq!(resumed.endpoint(), home);
    let answer = resumed.ask("quick 100").await.unwrap();
    assert_eq!(answer.text(), "answer 100");
    let refused = pool
        .resume_session(elsewhere, &thread, SessionConfig::new(&cwd))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, PoolError::Client { endpoint, .. } if endpoint == elsewhere),
        "{refused:?}"
    );

    drop((kept, during, on_b, resumed));
    tokio::time::timeout(PATIENCE, pool.shutdown())
        .await
        .unwrap()
        .unwrap();
    for codex in &codexes {
        assert_eq!(pids_of(codex.home()), Vec::<i32>::new());
    }
    assert!(
        first_b
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    );
    assert_eq!(model.script_errors(), []);
}
