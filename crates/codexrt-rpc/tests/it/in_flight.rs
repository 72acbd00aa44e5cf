//! The bound on our calls on the wire: at most `max_in_flight_calls` sent
//! and unanswered, later calls waiting in the order they came, a waiting call
//! still honouring its timeout and its cancellation.

use std::time::Duration;

use codexrt_rpc::{CallOptions, RpcClient, RpcConfig, RpcError, TimeoutCause};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::support::{Server, start};

/// Lets every task run until none can make progress. Time is paused in
/// these tests, so the sleep ends only once the runtime is idle; the calls'
/// timeouts are far longer.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The ids of the requests on the wire since the last look.
fn sent_ids(server: &mut Server) -> Vec<i64> {
    let mut ids = Vec::new();
    while let Some(frame) = server.receiver.try_recv() {
        let message: Value = serde_json::from_slice(&frame.unwrap()).unwrap();
        ids.push(message["id"].as_i64().unwrap());
    }
    ids
}

fn spawn_call(client: &RpcClient, n: i64) -> JoinHandle<Result<i64, RpcError>> {
    let client = client.clone();
    tokio::spawn(async move { client.call::<i64>("m", [n]).await })
}

async fn answer(server: &Server, id: i64) {
    server
        .send_json(&json!({"id": id, "result": id * 10}))
        .await;
}

#[tokio::test(start_paused = true)]
async fn at_most_n_calls_are_on_the_wire_and_slots_go_in_order() {
    const N: usize = 4;
    let (client, _incoming, mut server) = start(RpcConfig::new().max_in_flight_calls(N));
    // N + 3 calls, started in this order (ids 1 to 7).
    let calls: Vec<_> = (1..=7).map(|n| spawn_call(&client, n)).collect();
    settle().await;
    assert_eq!(sent_ids(&mut server), [1, 2, 3, 4]);
    assert_eq!(client.stats().pending_calls, N);

    // Each answer frees one slot, for the call that waited longest.
    answer(&server, 3).await;
    settle().await;
    assert_eq!(sent_ids(&mut server), [5]);
    answer(&server, 1).await;
    answer(&server, 5).await;
    settle().await;
    assert_eq!(sent_ids(&mut server), [6, 7]);
    assert_eq!(client.stats().pending_calls, N);

    for id in [2, 4, 6, 7] {
        answer(&server, id).await;
    }
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap().unwrap());
    }
    assert_eq!(results, [10, 20, 30, 40, 50, 60, 70]);
    assert_eq!(client.stats().pending_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_waiting_for_a_slot_honours_its_timeout_and_its_cancellation() {
    let (client, _incoming, mut server) = start(RpcConfig::new().max_in_flight_calls(1));
    let first = spawn_call(&client, 1);
    settle().await;
    assert_eq!(sent_ids(&mut server), [1]);

    // Waits for the slot the whole time, and is never sent.
    let err = client
        .call_with::<i64>("m", [2], CallOptions::new().timeout(Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.to_string(), matches!(err, RpcError::Timeout { cause, timeout, .. }
            if cause == TimeoutCause::InFlightLimit { limit: 1 } && timeout == Duration::from_secs(3))),
        (
            "`m` was not sent within 3s: the 1 calls the in-flight limit allows were all awaiting their answers".to_owned(),
            true
        )
    );

    // A waiting call that is dropped gives up its place.
    let dropped = spawn_call(&client, 3);
    let third = spawn_call(&client, 4);
    settle().await;
    dropped.abort();
    settle().await;
    assert_eq!(sent_ids(&mut server), Vec::<i64>::new());

    answer(&server, 1).await;
    settle().await;
    assert_eq!(sent_ids(&mut server), [4]);
    answer(&server, 4).await;
    assert_eq!(first.await.unwrap().unwrap(), 10);
    assert_eq!(third.await.unwrap().unwrap(), 40);

    // A call that times out on the wire frees its slot too.
    let err = client
        .call_with::<i64>("m", [5], CallOptions::new().timeout(Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::Timeout {
                cause: TimeoutCause::NoAnswer,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(sent_ids(&mut server), [5]);
    let sixth = spawn_call(&client, 6);
    settle().await;
    assert_eq!(sent_ids(&mut server), [6]);
    answer(&server, 6).await;
    assert_eq!(sixth.await.unwrap().unwrap(), 60);
}
