//! The end of a connection: peer death, shutdown, and dropping every handle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codexrt_rpc::{Incoming, RpcClient, RpcConfig, RpcError};
use codexrt_transport::{CloseReason, CloseReport, Connection};
use serde_json::Value;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinSet;

use crate::support::{PATIENCE, eventually, next, start};

/// The requirement: every pending call fails within a second of the peer's
/// death.
const FAIL_WITHIN: Duration = Duration::from_secs(1);

fn closed_report(result: Result<Value, RpcError>, method: &str) -> Arc<CloseReport> {
    match result {
        Err(RpcError::Closed {
            method: failed,
            report,
        }) => {
            assert_eq!(failed, method);
            report
        }
        other => panic!("expected a closed error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_death_fails_every_pending_call_with_the_report() {
    const CALLS: usize = 100;
    let (connection, mut endpoint) = Connection::channel(256);
    let (client, mut incoming) = RpcClient::start(connection, RpcConfig::new().no_call_timeout());
    let mut calls = JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        calls.spawn(async move { client.call::<Value>("wait", ()).await });
    }
    for _ in 0..CALLS {
        endpoint.outbound.recv().await.unwrap();
    }
    eventually("every call is pending", || {
        client.stats().pending_calls == CALLS
    })
    .await;

    let report = CloseReport::new(CloseReason::ProcessExited).with_stderr_tail("boom\n".into());
    let published = endpoint.report.publish(report);
    let died = Instant::now();
    drop(endpoint.inbound);
    let mut failed = 0;
    while let Some(joined) = calls.join_next().await {
        let report = closed_report(joined.unwrap(), "wait");
        assert!(Arc::ptr_eq(&report, &published));
        failed += 1;
    }
    let elapsed = died.elapsed();
    assert_eq!(failed, CALLS);
    assert!(elapsed < FAIL_WITHIN, "took {elapsed:?}");
    assert!(Arc::ptr_eq(&client.close_report().unwrap(), &published));
    assert!(Arc::ptr_eq(&client.closed().await, &published));
    assert_eq!(client.stats().pending_calls, 0);
    assert!(
        tokio::time::timeout(PATIENCE, incoming.recv())
            .await
            .unwrap()
            .is_none()
    );

    // Later calls and notifications fail at once and write nothing.
    let started = Instant::now();
    let report = closed_report(client.call::<Value>("later", ()).await, "later");
    assert!(Arc::ptr_eq(&report, &published));
    let err = client.notify("later", ()).await.unwrap_err();
    assert!(
        matches!(&err, RpcError::Closed { method, .. } if method == "later"),
        "{err:?}"
    );
    assert!(started.elapsed() < FAIL_WITHIN);
    assert_eq!(
        err.to_string(),
        "`later` failed: the process exited; last stderr line: boom"
    );
    assert_eq!(endpoint.outbound.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn without_a_transport_report_the_loop_makes_one_up_in_time() {
    let (connection, mut endpoint) = Connection::channel(8);
    let (client, _incoming) = RpcClient::start(connection, RpcConfig::new().no_call_timeout());
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<Value>("wait", ()).await }
    });
    endpoint.outbound.recv().await.unwrap();
    eventually("the call is pending", || client.stats().pending_calls == 1).await;
    // The inbound side ends, but the report publisher stays silent.
    let died = Instant::now();
    drop(endpoint.inbound);
    let report = closed_report(call.await.unwrap(), "wait");
    assert!(died.elapsed() < FAIL_WITHIN, "took {:?}", died.elapsed());
    assert!(
        matches!(report.reason, CloseReason::PeerClosed),
        "{report:?}"
    );
    drop(endpoint.report);
}

#[tokio::test]
async fn shutdown_closes_the_transport_and_fails_pending_calls() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<Value>("wait", ()).await }
    });
    server.recv().await;
    eventually("the call is pending", || client.stats().pending_calls == 1).await;
    assert_eq!(client.close_report().map(|_| ()), None);
    let report = client.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report:?}");
    let failed = closed_report(call.await.unwrap(), "wait");
    assert!(Arc::ptr_eq(&failed, &report));
    assert!(Arc::ptr_eq(&client.closed().await, &report));
    assert!(matches!(
        server.closer.closed().await.reason,
        CloseReason::PeerClosed
    ));
}

#[tokio::test]
async fn dropping_every_handle_and_the_receiver_ends_the_connection() {
    let (client, mut incoming, server) = start(RpcConfig::new());
    let other = client.clone();
    drop(client);
    drop(other);
    // The receiver alone keeps the connection: notifications still arrive
    // and server requests are still handed out.
    server.send(r#"{"method":"still here"}"#).await;
    assert!(
        matches!(next(&mut incoming).await, Incoming::Notification(n) if n.method == "still here")
    );
    assert_eq!(server.closer.report().map(|_| ()), None);
    drop(incoming);
    let report = tokio::time::timeout(PATIENCE, server.closer.closed())
        .await
        .unwrap();
    assert!(
        matches!(report.reason, CloseReason::PeerClosed),
        "{report:?}"
    );
}

#[tokio::test]
async fn dropping_the_receiver_first_then_every_handle_ends_the_connection() {
    let (client, incoming, mut server) = start(RpcConfig::new());
    drop(incoming);
    // The handle alone keeps the connection.
    let call = client.call::<u8>("m", ());
    let answer = async {
        server.recv().await;
        server.send(r#"{"id":1,"result":3}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 3);
    drop(client);
    let report = tokio::time::timeout(PATIENCE, server.closer.closed())
        .await
        .unwrap();
    assert!(
        matches!(report.reason, CloseReason::PeerClosed),
        "{report:?}"
    );
}
