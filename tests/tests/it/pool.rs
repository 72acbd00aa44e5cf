//! `codexrt::Pool` over real `fake-app-server` processes serving codex-shaped
//! traffic: placement on the least loaded endpoint, bounded places with
//! first-come-first-served waiting, a killed endpoint retried and used
//! again, an unreachable one backed off, and no process left behind.

use std::path::Path;
use std::time::Duration;

use codexrt::{
    Backoff, ClientConfig, CoreError, EndpointState, Pool, PoolConfig, PoolEndpoint, PoolError,
    PromptRunError, SessionConfig,
};
use codexrt_testkit::TempDir;
use codexrt_testkit::fake::Traffic;
use codexrt_tests::procs;
use tokio::time::timeout;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-app-server");

/// Turns a hang into a failure; far beyond what any step needs.
const PATIENCE: Duration = Duration::from_secs(30);

/// The deltas of each fake turn.
const DELTAS: u64 = 50;

/// The variable that marks this test's processes, so that they can be
/// found (and found gone) by their environment.
const MARK: &str = "CODEXRT_POOL_TEST_MARK";

/// A stdio endpoint running `program` as a traffic fake, marked `mark`.
fn fake_endpoint(name: &str, program: &Path, mark: &str) -> PoolEndpoint {
    let config = ClientConfig::new()
        .program(program)
        .arg("--traffic")
        .arg("stream")
        .arg("--deltas")
        .arg(DELTAS.to_string())
        .env(MARK, mark)
        .shutdown_grace(Duration::from_secs(2));
    PoolEndpoint::new(name, config)
}

fn fake_endpoints(names: &[&str], mark: &str) -> Vec<PoolEndpoint> {
    names
        .iter()
        .map(|name| fake_endpoint(name, Path::new(FAKE), &format!("{mark}-{name}")))
        .collect()
}

/// A mark no other test uses.
fn unique_mark(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// The live processes whose environment has `MARK` starting with `mark`.
fn marked_pids(mark: &str) -> Vec<i32> {
    let needle = format!("{MARK}={mark}");
    procs::with_env(|var| var.starts_with(needle.as_bytes()))
}

/// Waits until `check` holds, polling; fails after [`PATIENCE`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let waited = timeout(PATIENCE, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} did not happen within {PATIENCE:?}");
}

/// The expected text of a traffic turn.
fn expected(turn_id: &str) -> String {
    Traffic::stream(DELTAS, 4).expected_text(turn_id).unwrap()
}

fn sessions_by_endpoint(pool: &Pool) -> Vec<(String, usize, u64)> {
    pool.stats()
        .endpoints
        .into_iter()
        .map(|endpoint| (endpoint.name, endpoint.sessions, endpoint.sessions_total))
        .collect()
}

fn row(name: &str, sessions: usize, total: u64) -> (String, usize, u64) {
    (name.to_owned(), sessions, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_go_to_the_least_loaded_endpoint_and_stay_there() {
    let mark = unique_mark("placement");
    let config = PoolConfig::new(fake_endpoints(&["a", "b", "c"], &mark));
    let pool = Pool::connect(config).await.unwrap();
    let cwd = std::env::temp_dir();

    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(pool.start_session(SessionConfig::new(&cwd)).await.unwrap());
    }
    let places: Vec<&str> = sessions.iter().map(|session| session.endpoint()).collect();
    assert_eq!(places, ["a", "b", "c", "a", "b", "c"]);
    assert_eq!(
        sessions_by_endpoint(&pool),
        [row("a", 2, 2), row("b", 2, 2), row("c", 2, 2)]
    );

    // Each session's turns run on its own endpoint, text exact.
    for session in &sessions[..3] {
        let answer = session.ask("hello").await.unwrap();
        assert_eq!(answer.text(), expected(&answer.turn_id));
    }
    let turns: Vec<u64> = pool.stats().endpoints.iter().map(|e| e.turns).collect();
    assert_eq!(turns, [1, 1, 1]);

    // Freeing two places on `b` makes it the least loaded.
    let b: Vec<usize> = (0..sessions.len())
        .filter(|&i| sessions[i].endpoint() == "b")
        .collect();
    sessions.remove(b[1]);
    sessions.remove(b[0]);
    assert_eq!(
        sessions_by_endpoint(&pool),
        [row("a", 2, 2), row("b", 0, 2), row("c", 2, 2)]
    );
    let next = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(next.endpoint(), "b");
    // A tie goes to the endpoint given the fewest so far (`a` before `c`
    // by order), so the load stays even.
    let after = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(after.endpoint(), "b");
    let third = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(third.endpoint(), "a");

    // A run holds a place only while it runs.
    let answer = pool.run(&cwd, "one shot").await.unwrap();
    assert_eq!(answer.text(), expected(&answer.turn_id));
    assert_eq!(pool.stats().sessions(), 7);

    drop((sessions, next, after, third));
    pool.shutdown().await.unwrap();
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
    let states: Vec<EndpointState> = pool
        .stats()
        .endpoints
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(
        states,
        [
            EndpointState::ShutDown,
            EndpointState::ShutDown,
            EndpointState::ShutDown
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_waits_at_most_its_timeout_for_room() {
    let mark = unique_mark("bounded");
    let config = PoolConfig::new(fake_endpoints(&["a", "b"], &mark))
        .max_sessions_per_endpoint(1)
        .acquire_timeout(Duration::from_millis(200));
    let pool = Pool::connect(config).await.unwrap();
    let cwd = std::env::temp_dir();
    let first = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    let second = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!((first.endpoint(), second.endpoint()), ("a", "b"));

    let refused = pool
        .start_session(SessionConfig::new(&cwd))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PoolError::AcquireTimeout { waited } if waited == Duration::from_millis(200)),
        "{refused:?}"
    );
    let refused = pool.run(&cwd, "no room").await.unwrap_err();
    assert!(
        matches!(refused, PoolError::AcquireTimeout { .. }),
        "{refused:?}"
    );
    // The callers that gave up left the queue.
    assert_eq!(pool.stats().waiting, 0);

    // Room again: the next caller gets it at once.
    first.close().await.unwrap_err();
    let again = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(again.endpoint(), "a");
    drop((again, second));
    pool.shutdown().await.unwrap();
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_first_come_first_served() {
    let mark = unique_mark("fair");
    let config = PoolConfig::new(fake_endpoints(&["a", "b"], &mark)).max_sessions_per_endpoint(1);
    let pool = Pool::connect(config).await.unwrap();
    let cwd = std::env::temp_dir();
    let first = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    let second = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();

    // Five callers queue in order: each is queued before the next starts.
    let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut waiters = Vec::new();
    for caller in 0..5 {
        let pool_for_caller = pool.clone();
        let order = order_tx.clone();
        let cwd = cwd.clone();
        waiters.push(tokio::spawn(async move {
            let session = pool_for_caller
                .start_session(SessionConfig::new(&cwd))
                .await
                .unwrap();
            order.send((caller, session.endpoint().to_owned())).unwrap();
            // The place is handed on as the session drops.
        }));
        eventually("the caller queues", || pool.stats().waiting == caller + 1).await;
    }
    // One place frees up on `b`: the callers pass it along, in order.
    drop(second);
    let mut served = Vec::new();
    for _ in 0..5 {
        served.push(timeout(PATIENCE, order_rx.recv()).await.unwrap().unwrap());
    }
    let b = || "b".to_owned();
    assert_eq!(served, [(0, b()), (1, b()), (2, b()), (3, b()), (4, b())]);
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(
        sessions_by_endpoint(&pool),
        [row("a", 1, 1), row("b", 0, 6)]
    );
    drop(first);
    pool.shutdown().await.unwrap();
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_endpoint_fails_its_sessions_and_comes_back() {
    let mark = unique_mark("killed");
    let config = PoolConfig::new(fake_endpoints(&["a", "b"], &mark)).backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
    ));
    let pool = Pool::connect(config).await.unwrap();
    let cwd = std::env::temp_dir();
    let on_a = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    let on_b = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!((on_a.endpoint(), on_b.endpoint()), ("a", "b"));
    let first_b = marked_pids(&format!("{mark}-b"));
    assert_eq!(first_b.len(), 1, "{first_b:?}");

    // SIGKILL `b`'s process: its session fails at once, with the report.
    assert_eq!(kill_9(first_b[0]), 0);
    let failed = timeout(PATIENCE, on_b.ask("hello"))
        .await
        .unwrap()
        .unwrap_err();
    let PromptRunError::Client(client) = &failed else {
        panic!("{failed:?}")
    };
    let Some(CoreError::Closed { report, .. }) = client.as_runtime() else {
        panic!("{failed:?}")
    };
    assert_eq!(
        report
            .exit
            .and_then(|status| std::os::unix::process::ExitStatusExt::signal(&status)),
        Some(9),
        "{report}"
    );
    // `a` is untouched.
    let answer = on_a.ask("hello").await.unwrap();
    assert_eq!(answer.text(), expected(&answer.turn_id));

    // The pool starts `b` again and puts it back to work.
    eventually("b is back", || {
        pool.stats()
            .endpoint("b")
            .is_some_and(|b| b.state == EndpointState::Healthy && b.connects == 2)
    })
    .await;
    let b = pool.stats().endpoint("b").cloned().unwrap();
    assert_eq!((b.losses, b.sessions, b.sessions_total), (1, 0, 1));
    assert!(b.last_close.is_some());
    let second_b = marked_pids(&format!("{mark}-b"));
    assert_eq!(second_b.len(), 1, "{second_b:?}");
    assert_ne!(second_b, first_b);
    let again = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(again.endpoint(), "b");
    let answer = again.ask("hello").await.unwrap();
    assert_eq!(answer.text(), expected(&answer.turn_id));
    let b = pool.stats().endpoint("b").cloned().unwrap();
    assert_eq!((b.turns, b.failures), (2, 1));

    drop((on_a, on_b, again));
    pool.shutdown().await.unwrap();
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
}

/// SIGKILL to `pid`, through the `kill` program (the crate forbids unsafe
/// code); its exit status.
fn kill_9(pid: i32) -> i32 {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_retried_until_it_answers() {
    let mark = unique_mark("unreachable");
    let dir = TempDir::new("pool-unreachable").unwrap();
    // `late` names a program that does not exist yet.
    let late_program = dir.path().join("late-app-server");
    let endpoints = vec![
        fake_endpoint("up", Path::new(FAKE), &format!("{mark}-up")),
        fake_endpoint("late", &late_program, &format!("{mark}-late")),
    ];
    let config = PoolConfig::new(endpoints).backoff(Backoff::new(
        Duration::from_millis(20),
        Duration::from_millis(100),
    ));
    let pool = Pool::connect(config).await.unwrap();
    eventually("two failed attempts", || {
        pool.stats()
            .endpoint("late")
            .is_some_and(|late| late.connect_failures >= 2)
    })
    .await;
    let late = pool.stats().endpoint("late").cloned().unwrap();
    assert!(
        matches!(late.state, EndpointState::Retrying { failures } if failures >= 1),
        "{late:?}"
    );
    assert_eq!(late.connects, 0);
    let error = late.last_error.unwrap();
    assert!(error.contains("failed to start the app-server"), "{error}");
    // Meanwhile everything goes to `up`.
    let cwd = std::env::temp_dir();
    let first = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(first.endpoint(), "up");

    std::os::unix::fs::symlink(FAKE, &late_program).unwrap();
    eventually("late joins", || {
        pool.stats()
            .endpoint("late")
            .is_some_and(|late| late.state == EndpointState::Healthy)
    })
    .await;
    let second = pool.start_session(SessionConfig::new(&cwd)).await.unwrap();
    assert_eq!(second.endpoint(), "late");
    drop((first, second));
    pool.shutdown().await.unwrap();
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_given_up_on_fails_its_callers_at_once() {
    let mark = unique_mark("given-up");
    let missing = Path::new("/nonexistent/codexrt-pool-test/app-server");
    let endpoints = vec![
        fake_endpoint("up", Path::new(FAKE), &format!("{mark}-up")),
        fake_endpoint("gone", missing, &format!("{mark}-gone")),
    ];
    let config = PoolConfig::new(endpoints.clone())
        .backoff(Backoff::new(Duration::from_millis(10), Duration::from_millis(20)).max_retries(2));
    let pool = Pool::connect(config).await.unwrap();
    eventually("gone is given up on", || {
        pool.stats()
            .endpoint("gone")
            .is_some_and(|gone| gone.state == EndpointState::Down)
    })
    .await;
    assert_eq!(pool.stats().endpoint("gone").unwrap().connect_failures, 3);
    let refused = pool
        .resume_session(
            "gone",
            "some-thread",
            SessionConfig::new(std::env::temp_dir()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, PoolError::EndpointDown { endpoint, last_close: None } if endpoint == "gone"),
        "{refused:?}"
    );
    let unknown = pool
        .resume_session("nowhere", "t", SessionConfig::new(std::env::temp_dir()))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PoolError::UnknownEndpoint { .. }),
        "{unknown:?}"
    );
    pool.shutdown().await.unwrap();

    // A pool none of whose endpoints comes up is an error, with each one's.
    let config = PoolConfig::new([fake_endpoint("gone", missing, &mark)]);
    let refused = Pool::connect(config).await.unwrap_err();
    let PoolError::NoEndpointUp { failures } = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].endpoint, "gone");
    assert!(matches!(
        Pool::connect(PoolConfig::new(Vec::new())).await,
        Err(PoolError::NoEndpoints)
    ));
    let twice = PoolConfig::new([endpoints[0].clone(), endpoints[0].clone()]);
    assert!(matches!(
        Pool::connect(twice).await,
        Err(PoolError::DuplicateEndpoint { name }) if name == "up"
    ));
    assert_eq!(marked_pids(&mark), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_pool_leaves_no_process() {
    let mark = unique_mark("dropped");
    let pool = Pool::connect(PoolConfig::new(fake_endpoints(&["a", "b", "c"], &mark)))
        .await
        .unwrap();
    assert_eq!(marked_pids(&mark).len(), 3);
    let session = pool
        .start_session(SessionConfig::new(std::env::temp_dir()))
        .await
        .unwrap();
    drop(pool);
    // The session still holds its endpoint's client; the others go.
    eventually("two processes end", || marked_pids(&mark).len() == 1).await;
    drop(session);
    eventually("every process ends", || marked_pids(&mark).is_empty()).await;
}
