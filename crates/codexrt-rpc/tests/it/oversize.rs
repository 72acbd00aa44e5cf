//! Answers over the transport's frame size limit, over a memory pair that
//! enforces one: the call such an answer names fails at once with
//! `FrameTooLarge` rather than waiting for its timeout, observers still get
//! the transport's report, and other calls go on.

use std::time::Duration;

use codexrt_rpc::{Incoming, Malformation, RpcClient, RpcConfig, RpcError, RpcStats};
use codexrt_transport::{FrameError, memory};
use serde_json::{Value, json};

use crate::support::{PATIENCE, Server, next, with};

const LIMIT: usize = 4096;

/// Far longer than [`PATIENCE`]: a call that ends within `PATIENCE` did not
/// wait for its timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn start() -> (RpcClient, codexrt_rpc::IncomingReceiver, Server) {
    let (client_side, server_side) = memory::pair_with_max_frame_len(64, LIMIT);
    let config = RpcConfig::new().call_timeout(CALL_TIMEOUT);
    let (client, incoming) = RpcClient::start(client_side, config);
    (client, incoming, Server::new(server_side))
}

/// A result that makes its answer about ten times the limit.
fn padding() -> Value {
    json!({ "pad": "x".repeat(10 * LIMIT) })
}

/// Runs `work` to completion, which must take far less than the call timeout.
async fn promptly<F: Future>(work: F) -> F::Output {
    tokio::time::timeout(PATIENCE, work)
        .await
        .expect("a call waited for its timeout")
}

#[tokio::test]
async fn an_over_long_answer_fails_its_call_at_once_and_others_go_on() {
    let (client, mut incoming, mut server) = start();
    let big = client.call::<Value>("big", ());
    let small = client.call::<Value>("small", ());
    let serve = async {
        let requests = [server.recv_json().await, server.recv_json().await];
        let id_of = |method: &str| {
            let request = requests.iter().find(|r| r["method"] == method).unwrap();
            request["id"].clone()
        };
        let (big_id, small_id) = (id_of("big"), id_of("small"));
        server
            .send_json(&json!({"id": big_id, "result": padding()}))
            .await;
        server
            .send_json(&json!({"id": small_id, "result": "fine"}))
            .await;
    };
    let (big, small, ()) = promptly(async { tokio::join!(big, small, serve) }).await;
    let big_len = json!({"id": 1, "result": padding()}).to_string().len();
    match big {
        Err(RpcError::FrameTooLarge {
            method,
            seen,
            max_len,
        }) => assert_eq!((method.as_str(), seen, max_len), ("big", big_len, LIMIT)),
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
    assert_eq!(small.unwrap(), json!("fine"));
    // Observers still see the transport's report.
    match next(&mut incoming).await {
        Incoming::Malformed(report) => match report.problem {
            Malformation::Transport(FrameError::TooLong { max_len, seen, .. }) => {
                assert_eq!((max_len, seen), (LIMIT, big_len));
            }
            other => panic!("expected the transport's report, got {other:?}"),
        },
        other => panic!("expected a malformed-frame report, got {other:?}"),
    }
    // The connection goes on.
    let again = client.call::<Value>("again", ());
    let serve = async {
        let request = server.recv_json().await;
        server
            .send_json(&json!({"id": request["id"], "result": 3}))
            .await;
    };
    let (again, ()) = promptly(async { tokio::join!(again, serve) }).await;
    assert_eq!(again.unwrap(), json!(3));
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            malformed_frames: 1
        })
    );
}

#[tokio::test]
async fn an_over_long_request_does_not_fail_the_call_with_its_id() {
    // codex writes its requests id first; its ids and ours are apart.
    let (client, mut incoming, mut server) = start();
    let call = client.call::<Value>("m", ());
    let serve = async {
        let request = server.recv_json().await;
        let id = request["id"].clone();
        server
            .send_json(&json!({"id": id, "method": "item/tool/call", "params": padding()}))
            .await;
        // The report is out before the real answer is sent.
        assert!(matches!(next(&mut incoming).await, Incoming::Malformed(_)));
        server.send_json(&json!({"id": id, "result": "ok"})).await;
    };
    let (result, ()) = promptly(async { tokio::join!(call, serve) }).await;
    assert_eq!(result.unwrap(), json!("ok"));
}

#[tokio::test]
async fn an_over_long_answer_to_an_abandoned_call_is_late() {
    let (client, mut incoming, mut server) = start();
    let call = client.call_with::<Value>(
        "m",
        (),
        codexrt_rpc::CallOptions::new().timeout(Duration::from_millis(1)),
    );
    let (result, request) = tokio::join!(call, server.recv_json());
    assert!(matches!(result, Err(RpcError::Timeout { .. })));
    server
        .send_json(&json!({"id": request["id"], "result": padding()}))
        .await;
    assert!(matches!(next(&mut incoming).await, Incoming::Malformed(_)));
    assert_eq!(
        client.stats(),
        with!(RpcStats {
            late_responses: 1,
            malformed_frames: 1
        })
    );
}
