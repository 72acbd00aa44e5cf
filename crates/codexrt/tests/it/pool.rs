//! `Pool` over in-process fakes reached through connectors: each
//! (re)connection calls the connector again, a closed connection is
//! reported in the figures, and the endpoint is used again once back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codexrt::transport::CloseReason;
use codexrt::{Backoff, EndpointState, Pool, PoolConfig, PoolEndpoint, SessionConfig};
use codexrt_testkit::fake::{FakeScript, FakeServer, Handshake, Step};
use serde_json::json;

use crate::support::{config, thread_opened};

/// An endpoint whose every connection is a fake that opens one thread
/// (`NAME-N` on the N-th connection), answers its `thread/unsubscribe`,
/// then exits with status 3.
fn endpoint(name: &'static str, connections: Arc<AtomicUsize>) -> PoolEndpoint {
    PoolEndpoint::connector(name, config(), move || {
        let n = connections.fetch_add(1, Ordering::SeqCst) + 1;
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to(
                "thread/start",
                thread_opened(&format!("{name}-{n}")),
            ))
            .step(Step::respond_to(
                "thread/unsubscribe",
                json!({"status": "unsubscribed"}),
            ))
            .step(Step::Exit { code: 3 });
        let (connection, _fake) = FakeServer::new(script).connect();
        Box::pin(async move { Ok(connection) })
    })
}

#[tokio::test]
async fn connectors_are_called_for_every_connection() {
    let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let endpoints = [endpoint("a", Arc::clone(&a)), endpoint("b", Arc::clone(&b))];
    let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
    let pool = Pool::connect(PoolConfig::new(endpoints).backoff(backoff))
        .await
        .unwrap();
    assert_eq!((a.load(Ordering::SeqCst), b.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(pool.endpoints(), ["a", "b"]);

    let first = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    let second = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    assert_eq!((first.endpoint(), first.thread_id()), ("a", "a-1"));
    assert_eq!((second.endpoint(), second.thread_id()), ("b", "b-1"));

    // `a` exits after the close: the pool connects it again.
    first.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while pool.stats().endpoint("a").unwrap().connects < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(a.load(Ordering::SeqCst), 2);
    let stats = pool.stats();
    let a_stats = stats.endpoint("a").unwrap();
    assert_eq!(a_stats.state, EndpointState::Healthy);
    assert_eq!(
        (a_stats.losses, a_stats.sessions, a_stats.sessions_total),
        (1, 0, 1)
    );
    let report = a_stats.last_close.clone().unwrap();
    assert!(
        matches!(report.reason, CloseReason::ProcessExited),
        "{report}"
    );
    assert_eq!(report.exit.and_then(|status| status.code()), Some(3));

    // The least loaded endpoint is `a` again, on its new connection.
    let third = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    assert_eq!((third.endpoint(), third.thread_id()), ("a", "a-2"));
    assert!(pool.client("a").is_some());
    assert!(pool.client("nowhere").is_none());
    drop((second, third));
    pool.shutdown().await.unwrap();
    let states: Vec<EndpointState> = pool
        .stats()
        .endpoints
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(states, [EndpointState::ShutDown, EndpointState::ShutDown]);
    // After shutdown, nothing is placed.
    let refused = pool
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, codexrt::PoolError::ShutDown),
        "{refused:?}"
    );
}
