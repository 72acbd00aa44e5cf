//! Calls: correlation under concurrency, outcomes, timeouts and abandonment.

use std::collections::HashMap;
use std::time::Duration;

use codexrt_rpc::{CallOptions, ErrorObject, RpcConfig, RpcError, RpcStats};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::support::{XorShift, eventually, start, with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_answered_in_random_order_all_match() {
    const CALLS: usize = 1000;
    // All of them on the wire at once, past the default in-flight limit.
    let (client, _incoming, mut server) = start(RpcConfig::new().max_in_flight_calls(CALLS));
    let mut calls = JoinSet::new();
    for n in 0..CALLS {
        let client = client.clone();
        calls.spawn(async move {
            let result: Value = client.call("echo", json!({ "n": n })).await.unwrap();
            (n, result)
        });
    }
    let mut requests = Vec::new();
    for _ in 0..CALLS {
        requests.push(server.recv_json().await);
    }
    XorShift::new(0x5eed).shuffle(&mut requests);
    for request in &requests {
        assert_eq!(request["method"], "echo");
        server
            .send_json(&json!({ "id": request["id"], "result": request["params"] }))
            .await;
    }
    let mut mismatches = 0;
    let mut answered = 0;
    while let Some(joined) = calls.join_next().await {
        let (n, result) = joined.unwrap();
        answered += 1;
        if result != json!({ "n": n }) {
            mismatches += 1;
        }
    }
    assert_eq!((answered, mismatches), (CALLS, 0));
    assert_eq!(client.stats(), RpcStats::default());
}

/// Params that may not cross threads: the call's future must not hold them.
struct NotSend(std::marker::PhantomData<*const ()>);

impl serde::Serialize for NotSend {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

#[tokio::test]
async fn call_futures_can_be_spawned_whatever_the_params() {
    fn assert_send<T: Send>(_: &T) {}
    let (client, _incoming, _server) = start(RpcConfig::new());
    assert_send(&client.call::<Value>("m", NotSend(std::marker::PhantomData)));
    assert_send(&client.call_raw("m", NotSend(std::marker::PhantomData), CallOptions::new()));
    assert_send(&client.notify("m", NotSend(std::marker::PhantomData)));
}

#[tokio::test]
async fn results_and_peer_errors_are_returned_whole() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let server_task = tokio::spawn(async move {
        let request = server.recv_json().await;
        assert_eq!(
            request,
            json!({ "id": 1, "method": "thread/start", "params": { "cwd": "/" } })
        );
        server
            .send(r#"{"id":1,"result":{"thread": { "id" : "t1" }},"emittedAtMs":1}"#)
            .await;
        let request = server.recv_json().await;
        assert_eq!(request, json!({ "id": 2, "method": "thread/resume" }));
        server
            .send(r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"bad","data":{"why": [1]}}}"#)
            .await;
        server
    });
    let raw = client
        .call_raw("thread/start", json!({ "cwd": "/" }), CallOptions::new())
        .await
        .unwrap();
    assert_eq!(raw.get(), r#"{"thread": { "id" : "t1" }}"#);
    let err = client.call::<Value>("thread/resume", ()).await.unwrap_err();
    assert_eq!(err.to_string(), "`thread/resume` failed: error -32600: bad");
    match err {
        RpcError::Peer { method, error } => {
            let data = RawValue::from_string(r#"{"why": [1]}"#.into()).unwrap();
            assert_eq!(method, "thread/resume");
            assert_eq!(error, ErrorObject::new(-32600, "bad").with_data(data));
        }
        other => panic!("expected a peer error, got {other:?}"),
    }
    server_task.await.unwrap();
}

#[tokio::test]
async fn results_of_the_wrong_type_fail_to_decode() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let server_task = tokio::spawn(async move {
        server.recv_json().await;
        server.send(r#"{"id":1,"result":"seven"}"#).await;
        // Dropping the server would close the connection.
        server
    });
    let err = client.call::<i64>("count", ()).await.unwrap_err();
    assert_eq!(err.to_string(), "failed to decode the result of `count`");
    match err {
        RpcError::Decode { method, source } => {
            assert_eq!(method, "count");
            assert_eq!(
                source.to_string(),
                "invalid type: string \"seven\", expected i64 at line 1 column 7"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    server_task.await.unwrap();
}

#[tokio::test]
async fn params_that_cannot_be_encoded_send_nothing() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let params = HashMap::from([((1, 2), 3)]);
    let err = client.call::<Value>("bad", &params).await.unwrap_err();
    assert!(
        matches!(&err, RpcError::Encode { method, .. } if method == "bad"),
        "{err:?}"
    );
    let err = client.notify("bad", &params).await.unwrap_err();
    assert!(
        matches!(&err, RpcError::Encode { method, .. } if method == "bad"),
        "{err:?}"
    );
    client.notify("good", ()).await.unwrap();
    assert_eq!(server.recv_json().await, json!({ "method": "good" }));
}

#[tokio::test]
async fn calls_time_out_per_call_and_late_answers_are_counted() {
    let config = RpcConfig::new().call_timeout(Duration::from_millis(50));
    let (client, _incoming, mut server) = start(config);

    let err = client.call::<Value>("slow", ()).await.unwrap_err();
    assert!(
        matches!(&err, RpcError::Timeout { method, timeout, .. } if method == "slow" && *timeout == Duration::from_millis(50)),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "`slow` got no answer within 50ms");
    let options = CallOptions::new().timeout(Duration::from_millis(20));
    let err = client
        .call_with::<Value>("slower", (), options)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RpcError::Timeout { timeout, .. } if *timeout == Duration::from_millis(20)),
        "{err:?}"
    );
    eventually("the timed-out calls are forgotten", || {
        client.stats().pending_calls == 0
    })
    .await;

    assert_eq!(server.recv_json().await["id"], 1);
    assert_eq!(server.recv_json().await["id"], 2);
    server.send(r#"{"id":1,"result":"late"}"#).await;
    server
        .send(r#"{"id":2,"error":{"code":1,"message":"late"}}"#)
        .await;
    // Answered in order after the late ones, so they have been processed.
    let call = client.call::<String>("quick", ());
    let answer = async {
        assert_eq!(server.recv_json().await["id"], 3);
        server.send(r#"{"id":3,"result":"now"}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), "now");
    assert_eq!(client.stats(), with!(RpcStats { late_responses: 2 }));
}

#[tokio::test]
async fn calls_without_a_timeout_wait_for_their_answer() {
    let config = RpcConfig::new().call_timeout(Duration::from_millis(20));
    let (client, _incoming, mut server) = start(config);
    let call = client.call_with::<String>("patient", (), CallOptions::new().no_timeout());
    let answer = async {
        let request = server.recv_json().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        server
            .send_json(&json!({ "id": request["id"], "result": "worth it" }))
            .await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), "worth it");

    let config = RpcConfig::new().no_call_timeout();
    let (client, _incoming, mut server) = start(config);
    let call = client.call_with::<String>(
        "bounded",
        (),
        CallOptions::new().timeout(Duration::from_millis(20)),
    );
    let (result, _) = tokio::join!(call, server.recv_json());
    assert!(
        matches!(result, Err(RpcError::Timeout { .. })),
        "{result:?}"
    );
    assert_eq!(RpcConfig::DEFAULT_CALL_TIMEOUT, Duration::from_secs(60));
}

#[tokio::test]
async fn dropped_calls_are_forgotten_and_their_answers_counted_late() {
    const CALLS: usize = 200;
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let mut calls = JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        calls.spawn(async move { client.call::<Value>("never", ()).await });
    }
    let mut ids = Vec::new();
    for _ in 0..CALLS {
        ids.push(server.recv_json().await["id"].clone());
    }
    eventually("every call is pending", || {
        client.stats().pending_calls == CALLS
    })
    .await;
    calls.abort_all();
    while calls.join_next().await.is_some() {}
    eventually("every dropped call is forgotten", || {
        client.stats().pending_calls == 0
    })
    .await;
    for id in &ids {
        server.send_json(&json!({ "id": id, "result": null })).await;
    }
    eventually("every late answer is counted", || {
        client.stats().late_responses == 200
    })
    .await;
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            late_responses: 200
        })
    );
}

// A single-threaded runtime drops all the aborted calls before the loop runs
// again, so more cancellations arrive than the cancellation queue holds, and
// the loop has to sweep.
#[tokio::test(flavor = "current_thread")]
async fn more_dropped_calls_than_the_cancel_queue_holds_are_all_forgotten() {
    const CALLS: usize = 3000;
    // All of them on the wire at once, past the default in-flight limit.
    let (client, _incoming, mut server) = start(RpcConfig::new().max_in_flight_calls(CALLS));
    let reader = tokio::spawn(async move {
        for _ in 0..CALLS {
            server.recv().await;
        }
        server
    });
    let mut calls = JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        calls.spawn(async move { client.call::<Value>("never", ()).await });
    }
    // Once every request is written, every call is registered.
    let mut server = reader.await.unwrap();
    eventually("every call is pending", || {
        client.stats().pending_calls == CALLS
    })
    .await;
    calls.abort_all();
    while calls.join_next().await.is_some() {}
    eventually("every dropped call is forgotten", || {
        client.stats().pending_calls == 0
    })
    .await;

    // The connection still works.
    let call = client.call::<u8>("after", ());
    let answer = async {
        let request = server.recv_json().await;
        server
            .send_json(&json!({ "id": request["id"], "result": 7 }))
            .await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 7);
}

#[tokio::test]
async fn unknown_and_duplicate_ids_are_counted_and_never_delivered() {
    let (client, _incoming, mut server) = start(RpcConfig::new());
    let call = client.call::<String>("m", ());
    let server_script = async {
        let request = server.recv_json().await;
        assert_eq!(request["id"], 1);
        server.send(r#"{"id":999,"result":"unknown"}"#).await;
        server.send(r#"{"id":"1","result":"string one"}"#).await;
        server.send(r#"{"id":1,"result":"right"}"#).await;
        server.send(r#"{"id":1,"result":"duplicate"}"#).await;
        server
            .send(r#"{"id":1,"error":{"code":1,"message":"duplicate"}}"#)
            .await;
    };
    let (result, ()) = tokio::join!(call, server_script);
    assert_eq!(result.unwrap(), "right");

    // The next call gets its own answer, not one of the strays.
    let call = client.call::<String>("m", ());
    let answer = async {
        let request = server.recv_json().await;
        assert_eq!(request["id"], 2);
        server.send(r#"{"id":2,"result":"second"}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), "second");
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            unmatched_responses: 4
        })
    );
}

/// Every setting at its extreme (`usize::MAX` counts, `Duration::MAX`
/// times) neither panics in this debug build nor changes what a call does:
/// counts are lowered to `RpcConfig::MAX_COUNT`, times to `MAX_WAIT`.
#[tokio::test]
async fn extreme_settings_neither_panic_nor_change_a_call() {
    let (client_side, server_side) = codexrt_transport::memory::pair(usize::MAX);
    let config = RpcConfig::new()
        .incoming_capacity(usize::MAX)
        .max_unanswered_requests(usize::MAX)
        .max_in_flight_calls(usize::MAX)
        .call_timeout(Duration::MAX);
    let (client, _incoming) = codexrt_rpc::RpcClient::start(client_side, config);
    let mut server = crate::support::Server::new(server_side);
    let call = client.call_with::<u8>(
        "m",
        (),
        codexrt_rpc::CallOptions::new().timeout(Duration::MAX),
    );
    let answer = async {
        assert_eq!(server.recv().await, r#"{"id":1,"method":"m"}"#);
        server.send(r#"{"id":1,"result":7}"#).await;
    };
    let (result, ()) = tokio::join!(call, answer);
    assert_eq!(result.unwrap(), 7);
    let report = client.shutdown(Duration::MAX).await.unwrap();
    assert_eq!(report.reason.to_string(), "the connection was shut down");
}
