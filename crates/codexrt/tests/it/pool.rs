//! `Pool` over in-process fakes reached through connectors: each
//! (re)connection calls the connector again, a closed connection is
//! reported in the figures, and the endpoint is used again once back. And a
//! `ws://` endpoint served by the test itself, whose `/readyz` is turned
//! off and on again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use codexrt::transport::CloseReason;
use codexrt::{
    Backoff, ClientConfig, EndpointState, Pool, PoolConfig, PoolEndpoint, PoolError,
    ReconnectPolicy, SessionConfig,
};
use codexrt_testkit::fake::{FakeScript, FakeServer, Handshake, Step};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{config, thread_opened, turn_ended, turn_started};

/// An endpoint whose every connection is a fake that opens one thread
/// (`NAME-N` on the N-th connection), answers its `thread/unsubscribe`,
/// then exits with status 3.
fn endpoint(name: &'static str, connections: Arc<AtomicUsize>) -> PoolEndpoint {
    endpoint_with(name, connections, config())
}

fn endpoint_with(
    name: &'static str,
    connections: Arc<AtomicUsize>,
    config: ClientConfig,
) -> PoolEndpoint {
    PoolEndpoint::connector(name, config, move || {
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

/// A `ws://` endpoint in this test: on one port, `GET /readyz` answers 200
/// while `ready` holds and 503 otherwise, and a WebSocket upgrade is
/// bridged to a fake that opens threads `ws-1`, `ws-2`, ... in directories
/// it says exist.
async fn readiness_server(ready: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let ready = Arc::clone(&ready);
            tokio::spawn(async move {
                let mut head = [0u8; 11];
                let mut seen = 0;
                while seen < head.len() {
                    seen = stream.peek(&mut head).await.unwrap();
                }
                if &head == b"GET /readyz" {
                    answer_readyz(stream, ready.load(Ordering::SeqCst)).await;
                } else {
                    let socket = tokio_tungstenite::accept_async(stream).await.unwrap();
                    bridge(socket).await;
                }
            });
        }
    });
    url
}

async fn answer_readyz(mut stream: TcpStream, ready: bool) {
    let mut request = Vec::new();
    let mut buf = [0u8; 512];
    while !request.windows(4).any(|end| end == b"\r\n\r\n") {
        let read = stream.read(&mut buf).await.unwrap();
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buf[..read]);
    }
    let status = if ready {
        "200 OK"
    } else {
        "503 Service Unavailable"
    };
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(answer.as_bytes()).await.unwrap();
}

/// Carries the WebSocket's text messages to a fake and the fake's frames
/// back, until either side ends.
async fn bridge(socket: tokio_tungstenite::WebSocketStream<TcpStream>) {
    static THREADS: AtomicUsize = AtomicUsize::new(0);
    // Over a WebSocket the facade asks about the working directory first.
    let directory = json!({
        "createdAtMs": 0, "isDirectory": true, "isFile": false, "isSymlink": false,
        "modifiedAtMs": 0,
    });
    let opens = (0..4).flat_map(|_| {
        let n = THREADS.fetch_add(1, Ordering::SeqCst) + 1;
        [
            Step::respond_to("fs/getMetadata", directory.clone()),
            Step::respond_to("thread/start", thread_opened(&format!("ws-{n}"))),
        ]
    });
    let script = FakeScript::new().handshake(Handshake::new()).steps(opens);
    let (connection, _fake) = FakeServer::new(script).connect();
    let (sender, mut receiver) = (connection.sender, connection.receiver);
    let (mut sink, mut stream) = socket.split();
    let inbound = async move {
        while let Some(Ok(Message::Text(text))) = stream.next().await {
            if sender
                .send(Bytes::copy_from_slice(text.as_bytes()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let outbound = async move {
        while let Some(Ok(frame)) = receiver.recv().await {
            let text = String::from_utf8(frame.to_vec()).unwrap();
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
}

async fn wait_for_state(pool: &Pool, done: impl Fn(&EndpointState) -> bool) -> EndpointState {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let state = pool.stats().endpoint("ws").unwrap().state.clone();
            if done(&state) {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the state within 10 s")
}

/// A connected endpoint whose `/readyz` fails takes no new sessions but
/// keeps its own, and takes new ones again once `/readyz` answers.
#[tokio::test]
async fn an_endpoint_whose_readyz_fails_takes_no_new_sessions_until_it_answers() {
    let ready = Arc::new(AtomicBool::new(true));
    let url = readiness_server(Arc::clone(&ready)).await;
    let endpoint = PoolEndpoint::url("ws", &url, config()).unwrap();
    let pool = Pool::connect(
        PoolConfig::new([endpoint])
            .probe_interval(Some(Duration::from_millis(20)))
            .acquire_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let first = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    assert_eq!(first.thread_id().len(), "ws-N".len());

    ready.store(false, Ordering::SeqCst);
    let state = wait_for_state(&pool, |state| {
        matches!(state, EndpointState::NotReady { .. })
    })
    .await;
    let EndpointState::NotReady { detail } = &state else {
        unreachable!()
    };
    assert!(detail.contains("503"), "{detail}");
    let refused = pool
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PoolError::AcquireTimeout { .. }),
        "{refused:?}"
    );
    // The connection and the session it holds are untouched.
    let stats = pool.stats();
    let ws = stats.endpoint("ws").unwrap();
    assert_eq!((ws.connects, ws.losses, ws.sessions), (1, 0, 1));

    ready.store(true, Ordering::SeqCst);
    wait_for_state(&pool, |state| *state == EndpointState::Healthy).await;
    let second = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    assert_ne!(second.thread_id(), first.thread_id());
    pool.shutdown().await.unwrap();
}

/// A fork takes a place of its own on its session's endpoint: with room
/// for two, the second fork waits and times out until a place is given back.
#[tokio::test]
async fn a_fork_takes_a_place_of_its_own_on_the_same_endpoint() {
    let endpoint = PoolEndpoint::connector("one", config(), || {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to("thread/start", thread_opened("t1")))
            .step(Step::respond_to("thread/fork", thread_opened("t2")))
            .step(Step::respond_to(
                "thread/unsubscribe",
                json!({"status": "unsubscribed"}),
            ))
            .step(Step::respond_to("thread/fork", thread_opened("t3")));
        let (connection, _fake) = FakeServer::new(script).connect();
        Box::pin(async move { Ok(connection) })
    })
    .max_sessions(2);
    let pool =
        Pool::connect(PoolConfig::new([endpoint]).acquire_timeout(Duration::from_millis(200)))
            .await
            .unwrap();
    let session = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    let fork = session.fork().await.unwrap();
    assert_eq!((fork.endpoint(), fork.thread_id()), ("one", "t2"));
    assert_eq!(pool.stats().endpoint("one").unwrap().sessions, 2);

    let full = session.fork().await.unwrap_err();
    assert!(matches!(full, PoolError::AcquireTimeout { .. }), "{full:?}");

    fork.close().await.unwrap();
    assert_eq!(pool.stats().endpoint("one").unwrap().sessions, 1);
    let again = session.fork().await.unwrap();
    assert_eq!(again.thread_id(), "t3");
    assert_eq!(pool.stats().endpoint("one").unwrap().sessions, 2);
    pool.shutdown().await.unwrap();
}

/// An endpoint's own reconnect policy is left out: the pool alone connects
/// it again, once, after its process exits.
#[tokio::test]
async fn an_endpoint_reconnects_through_the_pool_only() {
    let connections = Arc::new(AtomicUsize::new(0));
    let policy = ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(2));
    let endpoint = endpoint_with("a", Arc::clone(&connections), config().reconnect(policy));
    let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
    let pool = Pool::connect(PoolConfig::new([endpoint]).backoff(backoff))
        .await
        .unwrap();
    assert!(
        pool.client("a")
            .unwrap()
            .config()
            .reconnect_policy()
            .is_none()
    );
    let session = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    session.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while pool.stats().endpoint("a").unwrap().connects < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let stats = pool.stats();
    let a = stats.endpoint("a").unwrap();
    assert_eq!((a.losses, a.connects), (1, 2));
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    pool.shutdown().await.unwrap();
}

/// A dropped ask's turn keeps its session's place until codex ended it:
/// while the interrupt waits for its answer, the endpoint (room for one)
/// takes no other session, even though the pooled session itself is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_asks_turn_keeps_the_place_until_it_ended() {
    let endpoint = PoolEndpoint::connector("one", config(), || {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to("thread/start", thread_opened("t1")))
            .step(turn_started("u1"))
            .step(Step::expect("turn/interrupt"))
            // The interrupt is slow to be answered.
            .step(Step::sleep(Duration::from_secs(2)))
            .step(Step::respond(json!({})))
            .step(turn_ended("u1", "interrupted"))
            .step(Step::respond_to("thread/start", thread_opened("t2")));
        let (connection, _fake) = FakeServer::new(script).connect();
        Box::pin(async move { Ok(connection) })
    })
    .max_sessions(1);
    let pool =
        Pool::connect(PoolConfig::new([endpoint]).acquire_timeout(Duration::from_millis(200)))
            .await
            .unwrap();
    let session = pool.start_session(SessionConfig::new("/w")).await.unwrap();
    let asked = tokio::time::timeout(Duration::from_millis(300), session.ask("go")).await;
    assert!(asked.is_err(), "the turn never ends by itself: {asked:?}");
    drop(session);

    let refused = pool
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PoolError::AcquireTimeout { .. }),
        "{refused:?}"
    );
    assert_eq!(pool.stats().endpoint("one").unwrap().sessions, 1);

    // Once codex ended the turn, the place is free again.
    let next = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match pool.start_session(SessionConfig::new("/w")).await {
                Ok(session) => return session,
                Err(PoolError::AcquireTimeout { .. }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(next.thread_id(), "t2");
    pool.shutdown().await.unwrap();
}
