//! [`WebSocketTransport`] against a local tokio-tungstenite server over TCP
//! and a Unix socket, and against plain HTTP responders that refuse the
//! upgrade.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use codexrt_transport::{
    CloseReason, Connection, TransportError, WebSocketAuth, WebSocketTransport,
};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const GRACE: Duration = Duration::from_secs(5);

/// What the server saw of the upgrade request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Upgrade {
    uri: String,
    host: Option<String>,
    authorization: Option<String>,
}

type Seen = Arc<Mutex<Upgrade>>;

// The callback's error type is tungstenite's, large or not.
#[allow(clippy::result_large_err, reason = "the signature is tungstenite's")]
async fn accept<S>(stream: S, seen: Seen) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let header = |request: &Request, name: &str| {
        request
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    tokio_tungstenite::accept_hdr_async(stream, move |request: &Request, response: Response| {
        *seen.lock().unwrap() = Upgrade {
            uri: request.uri().to_string(),
            host: header(request, "host"),
            authorization: header(request, "authorization"),
        };
        Ok(response)
    })
    .await
    .unwrap()
}

/// A server on a loopback TCP port that accepts one WebSocket and runs
/// `script` on it; returns the URL, what the upgrade carried, and the
/// script's result.
async fn tcp_server<F, Fut, T>(script: F) -> (String, Seen, JoinHandle<T>)
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let upgrade = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        script(accept(stream, upgrade).await).await
    });
    (url, seen, task)
}

async fn connect(url: &str) -> Connection {
    WebSocketTransport::new(url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn recv(connection: &mut Connection) -> Bytes {
    connection.receiver.recv().await.unwrap().unwrap()
}

/// Sends back every text message, the second one with a line terminator,
/// until the client closes.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(message) = ws.next().await {
        match message.unwrap() {
            Message::Text(text) => {
                got.push(text.to_string());
                let back = if got.len() == 2 {
                    format!("{text}\r\n")
                } else {
                    text.to_string()
                };
                ws.send(Message::text(back)).await.unwrap();
            }
            Message::Close(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    got
}

#[tokio::test]
async fn frames_travel_as_one_text_message_each() {
    let (url, seen, server) = tcp_server(echo).await;
    let mut client = connect(&url).await;
    for frame in [r#"{"id":1}"#, r#"{"id":2}"#, r#"{"a":"b\nc"}"#] {
        client.sender.send(Bytes::from(frame)).await.unwrap();
        assert_eq!(recv(&mut client).await, frame);
    }
    let report = client.closer.shutdown(GRACE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    assert_eq!(
        server.await.unwrap(),
        [r#"{"id":1}"#, r#"{"id":2}"#, r#"{"a":"b\nc"}"#]
    );
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        Upgrade {
            uri: "/".to_owned(),
            host: Some(format!("127.0.0.1:{port}")),
            authorization: None,
        }
    );
}

#[tokio::test]
async fn the_token_goes_in_the_authorization_header() {
    let (url, seen, server) = tcp_server(echo).await;
    let client = WebSocketTransport::new(&format!("{url}/rpc?x=1"))
        .unwrap()
        .auth(WebSocketAuth::capability_token(" tok-abc ").unwrap())
        .connect()
        .await
        .unwrap();
    client.closer.shutdown(GRACE).await.unwrap();
    server.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.uri, "/rpc?x=1");
    assert_eq!(seen.authorization.as_deref(), Some("Bearer tok-abc"));
}

#[tokio::test]
async fn pings_are_answered_and_are_not_frames() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        ws.send(Message::Ping(Bytes::from_static(b"are you there")))
            .await
            .unwrap();
        let answer = ws.next().await.unwrap().unwrap();
        ws.send(Message::text("after the ping")).await.unwrap();
        ws.close(None).await.unwrap();
        answer
    })
    .await;
    let mut client = connect(&url).await;
    assert_eq!(recv(&mut client).await, "after the ping");
    assert_eq!(
        server.await.unwrap(),
        Message::Pong(Bytes::from_static(b"are you there"))
    );
}

#[tokio::test]
async fn keepalive_pings_a_peer_that_answers_and_the_connection_stays() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        // Reading answers the pings; three of them, then a goodbye.
        let mut pings = 0;
        while pings < 3 {
            match ws.next().await.unwrap().unwrap() {
                Message::Ping(payload) => {
                    assert!(payload.is_empty());
                    pings += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        ws.send(Message::text("still here")).await.unwrap();
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        pings
    })
    .await;
    let transport = WebSocketTransport::new(&url)
        .unwrap()
        .ping_interval(Duration::from_millis(20))
        .pong_timeout(Duration::from_millis(500));
    assert_eq!(
        transport.keepalive(),
        Some((Duration::from_millis(20), Duration::from_millis(500)))
    );
    let mut client = transport.connect().await.unwrap();
    assert_eq!(recv(&mut client).await, "still here");
    assert!(client.receiver.recv().await.is_none());
    let report = client.closer.closed().await;
    assert!(
        matches!(
            report.reason,
            CloseReason::PeerCloseFrame { code: 1005, .. }
        ),
        "{report}"
    );
    assert_eq!(server.await.unwrap(), 3);
}

#[tokio::test]
async fn a_peer_that_never_answers_a_ping_is_unresponsive() {
    let (release, held) = tokio::sync::oneshot::channel::<()>();
    let (url, _, server) = tcp_server(|ws| async move {
        // Accepts the upgrade, then reads nothing, so no pong is written:
        // a peer that hangs.
        let _ = held.await;
        drop(ws);
    })
    .await;
    let transport = WebSocketTransport::new(&url)
        .unwrap()
        .ping_interval(Duration::from_millis(50))
        .pong_timeout(Duration::from_millis(100));
    let mut client = transport.connect().await.unwrap();
    // A generous bound: the close is due after about 150 ms.
    let end = tokio::time::timeout(Duration::from_secs(5), client.receiver.recv()).await;
    assert!(matches!(end, Ok(None)), "the connection should have ended");
    let report = client.closer.closed().await;
    match report.reason {
        CloseReason::Unresponsive { timeout } => {
            assert_eq!(timeout, Duration::from_millis(100));
        }
        ref other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        report.to_string(),
        "the peer did not answer a ping within 100 ms"
    );
    let _ = release.send(());
    server.await.unwrap();
}

#[tokio::test]
async fn silence_while_the_receiver_is_full_does_not_count() {
    let (go, gone) = tokio::sync::oneshot::channel::<()>();
    let (url, _, server) = tcp_server(|mut ws| async move {
        // Sends, but never reads, so pings are never answered.
        for n in 0..5 {
            ws.send(Message::text(format!("m{n}"))).await.unwrap();
        }
        let _ = gone.await;
        ws.send(Message::text("still open")).await.unwrap();
        ws
    })
    .await;
    let transport = WebSocketTransport::new(&url)
        .unwrap()
        .channel_capacity(1)
        .ping_interval(Duration::from_millis(10))
        .pong_timeout(Duration::from_millis(200));
    let mut client = transport.connect().await.unwrap();
    // Five deadlines pass while the queue is full and the peer unread.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 0..5 {
        assert_eq!(recv(&mut client).await, format!("m{n}").as_str());
    }
    go.send(()).unwrap();
    assert_eq!(recv(&mut client).await, "still open");
    // With the queue drained, a silent peer is unresponsive again.
    assert!(client.receiver.recv().await.is_none());
    let report = client.closer.closed().await;
    assert!(
        matches!(report.reason, CloseReason::Unresponsive { .. }),
        "{report}"
    );
    drop(server.await.unwrap());
}

#[tokio::test]
async fn without_keepalive_no_ping_is_sent() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        // Anything the client sends in this window would be a ping.
        let got = tokio::time::timeout(Duration::from_millis(200), ws.next()).await;
        assert!(got.is_err(), "unexpected {got:?}");
        ws.send(Message::text("quiet")).await.unwrap();
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let transport = WebSocketTransport::new(&url)
        .unwrap()
        .ping_interval(Duration::from_millis(10))
        .disable_keepalive();
    assert_eq!(transport.keepalive(), None);
    let mut client = transport.connect().await.unwrap();
    assert_eq!(recv(&mut client).await, "quiet");
    server.await.unwrap();
}

#[tokio::test]
async fn the_peer_close_frame_goes_into_the_report() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        ws.send(Message::text("last words\n")).await.unwrap();
        ws.send(Message::binary(Bytes::from_static(b"binary too")))
            .await
            .unwrap();
        ws.close(Some(CloseFrame {
            code: CloseCode::Library(4001),
            reason: "restarting\nnow".into(),
        }))
        .await
        .unwrap();
        // The client answers the close frame.
        ws.next().await.map(|message| message.unwrap())
    })
    .await;
    let mut client = connect(&url).await;
    assert_eq!(recv(&mut client).await, "last words");
    assert_eq!(recv(&mut client).await, "binary too");
    assert!(client.receiver.recv().await.is_none());
    let report = client.closer.closed().await;
    match &report.reason {
        CloseReason::PeerCloseFrame { code, reason } => {
            assert_eq!((*code, reason.as_str()), (4001, "restarting now"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        report.to_string(),
        "the peer closed the connection with code 4001: restarting now"
    );
    assert!(matches!(
        server.await.unwrap(),
        Some(Message::Close(_)) | None
    ));
}

#[tokio::test]
async fn a_stream_that_ends_without_a_close_frame_is_peer_closed() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        ws.send(Message::text("bye")).await.unwrap();
        drop(ws);
    })
    .await;
    let mut client = connect(&url).await;
    assert_eq!(recv(&mut client).await, "bye");
    assert!(client.receiver.recv().await.is_none());
    server.await.unwrap();
    let report = client.closer.closed().await;
    assert!(matches!(report.reason, CloseReason::PeerClosed), "{report}");
}

#[tokio::test]
async fn shutdown_sends_what_was_queued_then_a_close_frame() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        let mut got = Vec::new();
        while let Some(message) = ws.next().await {
            got.push(message.unwrap());
        }
        got
    })
    .await;
    let client = connect(&url).await;
    client
        .sender
        .send(Bytes::from_static(b"one"))
        .await
        .unwrap();
    client
        .sender
        .send(Bytes::from_static(b"two"))
        .await
        .unwrap();
    let report = client.closer.shutdown(GRACE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    assert_eq!(
        server.await.unwrap(),
        [
            Message::text("one"),
            Message::text("two"),
            Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })),
        ]
    );
    // Idempotent, and sending fails afterwards.
    assert!(matches!(
        client.closer.shutdown(GRACE).await.unwrap().reason,
        CloseReason::Shutdown
    ));
    assert!(
        client
            .sender
            .send(Bytes::from_static(b"late"))
            .await
            .is_err()
    );
}

/// A shutdown while the peer reads slowly (the socket's buffers are full and
/// the writer holds a frame) still sends every queued frame, in order,
/// before the close frame.
#[tokio::test]
async fn shutdown_waits_for_a_slow_peer_within_the_grace() {
    const FRAMES: usize = 64;
    const LEN: usize = 256 * 1024;
    let (start_reading, reading) = tokio::sync::oneshot::channel::<()>();
    let (url, _, server) = tcp_server(|mut ws| async move {
        reading.await.unwrap();
        let mut texts = 0;
        let mut last = None;
        while let Some(message) = ws.next().await {
            match message.unwrap() {
                Message::Text(text) => {
                    assert_eq!(text.len(), LEN);
                    assert!(text.starts_with(&format!("{texts:04}")), "out of order");
                    texts += 1;
                }
                other => last = Some(other),
            }
        }
        (texts, last)
    })
    .await;
    let client = connect(&url).await;
    for index in 0..FRAMES {
        let mut frame = format!("{index:04}");
        frame.push_str(&"x".repeat(LEN - 4));
        client.sender.send(Bytes::from(frame)).await.unwrap();
    }
    let closer = client.closer.clone();
    let shutdown = tokio::spawn(async move { closer.shutdown(GRACE * 6).await });
    tokio::task::yield_now().await;
    start_reading.send(()).unwrap();
    let report = shutdown.await.unwrap().unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    let (texts, last) = server.await.unwrap();
    assert_eq!(texts, FRAMES);
    assert_eq!(
        last,
        Some(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
    );
}

#[tokio::test]
async fn dropping_every_handle_sends_a_close_frame() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        let mut got = Vec::new();
        while let Some(message) = ws.next().await {
            got.push(message.unwrap());
        }
        got
    })
    .await;
    drop(connect(&url).await);
    assert_eq!(
        server.await.unwrap(),
        [Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }))]
    );
}

#[tokio::test]
async fn an_over_long_message_closes_the_connection_with_1009() {
    let (url, _, server) = tcp_server(|mut ws| async move {
        ws.send(Message::text("x".repeat(16))).await.unwrap();
        ws.send(Message::text("y".repeat(17))).await.unwrap();
        let mut got = Vec::new();
        while let Some(Ok(message)) = ws.next().await {
            got.push(message);
        }
        got
    })
    .await;
    let mut client = WebSocketTransport::new(&url)
        .unwrap()
        .max_frame_len(16)
        .connect()
        .await
        .unwrap();
    assert_eq!(recv(&mut client).await, "x".repeat(16));
    assert!(client.receiver.recv().await.is_none());
    let report = client.closer.closed().await;
    assert!(
        matches!(
            report.reason,
            CloseReason::MessageTooLong {
                max_len: 16,
                size: 17
            }
        ),
        "{report}"
    );
    assert_eq!(
        server.await.unwrap(),
        [Message::Close(Some(CloseFrame {
            code: CloseCode::Size,
            reason: "".into(),
        }))]
    );
}

#[tokio::test]
async fn a_frame_that_is_not_utf8_fails_the_connection() {
    let (url, _, server) = tcp_server(echo).await;
    let client = connect(&url).await;
    client
        .sender
        .send(Bytes::from_static(b"\xff\xfe"))
        .await
        .unwrap();
    let report = client.closer.closed().await;
    match &report.reason {
        CloseReason::Io(err) => assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput),
        other => panic!("unexpected {other:?}"),
    }
    server.abort();
}

/// A plain HTTP server that answers one request with `response` and returns
/// every byte the client sent until it closed the connection.
async fn http_responder(response: &'static str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        while !got.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut buf).await.unwrap();
            assert_ne!(read, 0, "the request ended early");
            got.extend_from_slice(&buf[..read]);
        }
        stream.write_all(response.as_bytes()).await.unwrap();
        // Whatever else the client sends before it closes.
        stream.read_to_end(&mut got).await.unwrap();
        String::from_utf8(got).unwrap()
    });
    (url, task)
}

#[tokio::test]
async fn a_401_is_unauthorized_and_nothing_else_is_sent() {
    let (url, responder) = http_responder(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: 21\r\n\r\nexpired websocket jwt",
    )
    .await;
    let err = WebSocketTransport::new(&url)
        .unwrap()
        .auth(WebSocketAuth::capability_token("sekrit-token-42").unwrap())
        .connect()
        .await
        .unwrap_err();
    match &err {
        TransportError::Unauthorized { endpoint, detail } => {
            assert_eq!(endpoint, &format!("{url}/"));
            assert_eq!(detail, "expired websocket jwt");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{url}/ refused the WebSocket upgrade as unauthorized (HTTP 401: expired websocket jwt)"
        )
    );
    assert!(!format!("{err:?}").contains("sekrit"));
    let request = responder.await.unwrap();
    assert!(request.contains("\r\nAuthorization: Bearer sekrit-token-42\r\n"));
    // One request, and not a byte after it.
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    assert_eq!(
        request.find("\r\n\r\n"),
        Some(request.len() - 4),
        "{request}"
    );
}

#[tokio::test]
async fn other_refusals_carry_their_status() {
    let (url, responder) =
        http_responder("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await;
    let err = WebSocketTransport::new(&url)
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::UpgradeRefused { status: 403, detail, .. } if detail.is_empty()),
        "{err:?}"
    );
    responder.await.unwrap();

    let (url, responder) = http_responder("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let err = connect_err(&url).await;
    assert!(
        matches!(&err, TransportError::UpgradeRefused { status: 200, .. }),
        "{err:?}"
    );
    responder.await.unwrap();

    let (url, responder) =
        http_responder("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: wrong\r\n\r\n").await;
    let err = connect_err(&url).await;
    assert!(matches!(&err, TransportError::Handshake { .. }), "{err:?}");
    responder.await.unwrap();
}

async fn connect_err(url: &str) -> TransportError {
    WebSocketTransport::new(url)
        .unwrap()
        .connect()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn connect_failures_are_typed() {
    // A port that was free a moment ago refuses connections.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = connect_err(&url).await;
    match &err {
        TransportError::Connect { endpoint, source } => {
            assert_eq!(endpoint, &format!("{url}/"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("unexpected {other:?}"),
    }

    let err = connect_err("unix:///nonexistent/codexrt/app.sock").await;
    assert!(
        matches!(&err, TransportError::Connect { endpoint, .. } if endpoint == "unix:///nonexistent/codexrt/app.sock"),
        "{err:?}"
    );

    // A server that accepts the connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let err = WebSocketTransport::new(&url)
        .unwrap()
        .connect_timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::ConnectTimeout { timeout, .. } if *timeout == Duration::from_millis(100)),
        "{err:?}"
    );
    drop(listener);

    let err = WebSocketTransport::new("http://127.0.0.1:1").unwrap_err();
    assert!(matches!(err, TransportError::InvalidUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn unix_sockets_carry_the_same_frames() {
    let dir = std::env::temp_dir().join(format!("codexrt-ws-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let seen = Seen::default();
    let upgrade = Arc::clone(&seen);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        echo(accept(stream, upgrade).await).await
    });
    let url = format!("unix://{}", path.display());
    let mut client = connect(&url).await;
    for frame in ["first", "second"] {
        client.sender.send(Bytes::from(frame)).await.unwrap();
        assert_eq!(recv(&mut client).await, frame);
    }
    let report = client.closer.shutdown(GRACE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    assert_eq!(server.await.unwrap(), ["first", "second"]);
    assert_eq!(
        *seen.lock().unwrap(),
        Upgrade {
            uri: "/".to_owned(),
            host: Some("localhost".to_owned()),
            authorization: None,
        }
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(not(feature = "wss"))]
#[tokio::test]
async fn wss_needs_the_feature() {
    let err = WebSocketTransport::new("wss://example.com").unwrap_err();
    assert!(
        matches!(&err, TransportError::InvalidUrl { reason } if reason.contains("`wss` cargo feature")),
        "{err:?}"
    );
}

/// A TLS handshake with a server that answers in plain HTTP fails as a
/// handshake, not as a refusal.
#[cfg(feature = "wss")]
#[tokio::test]
async fn wss_to_a_server_without_tls_is_a_handshake_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
    });
    let err = connect_err(&format!("wss://localhost:{port}")).await;
    assert!(
        matches!(&err, TransportError::Handshake { endpoint, .. } if *endpoint == format!("wss://localhost:{port}/")),
        "{err:?}"
    );
    server.await.unwrap();
}

/// A throwaway self-signed certificate for `localhost` and its key, made for
/// these tests only (valid until 2126).
#[cfg(feature = "wss")]
const LOCALHOST_CERT: &str = "\
-----BEGIN CERTIFICATE-----
MIIBkjCCATigAwIBAgIUPgoABTABy05RAOpEWwoUkxNOBpIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMzA5MTUzNFoYDzIxMjYxMTA5
MDkxNTM0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQWUQHSfPbDG8xbYt10FBWlBiFUvsZP3RmnPpoFaMqG4n/T7OA/DaOw
EqcFc/kdV++qJ93QZmOqY3rkE3v77Wndo2YwZDAdBgNVHQ4EFgQUCLYlllG8A3oi
eMiGCLMz+yWIdMYwHwYDVR0jBBgwFoAUCLYlllG8A3oieMiGCLMz+yWIdMYwFAYD
VR0RBA0wC4IJbG9jYWxob3N0MAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0EAwIDSAAw
RQIhANUNpclGNBa3YsJDGip7mVmrzDjKiOr+v7f2yJFVTnNnAiB1FuVnsxRYWaKZ
rxCkm4TwSRITypr3XiOfymdpj9plFA==
-----END CERTIFICATE-----
";

#[cfg(feature = "wss")]
const LOCALHOST_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUZ3uKPr7y7Y0ojfn
cYB7Zo/FduPt7d81FLcyR1yiSw6hRANCAAQWUQHSfPbDG8xbYt10FBWlBiFUvsZP
3RmnPpoFaMqG4n/T7OA/DaOwEqcFc/kdV++qJ93QZmOqY3rkE3v77Wnd
-----END PRIVATE KEY-----
";

/// An echo server behind TLS with the `localhost` certificate; returns the
/// `wss://` URL.
#[cfg(feature = "wss")]
async fn tls_echo_server() -> (String, JoinHandle<Option<Vec<String>>>) {
    use codexrt_transport::rustls;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let cert = CertificateDer::from_pem_slice(LOCALHOST_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(LOCALHOST_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://localhost:{}", listener.local_addr().unwrap().port());
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // A client that refuses the certificate ends the handshake.
        let stream = acceptor.accept(stream).await.ok()?;
        Some(echo(accept(stream, Seen::default()).await).await)
    });
    (url, task)
}

#[cfg(feature = "wss")]
#[tokio::test]
async fn wss_carries_frames_over_tls() {
    use codexrt_transport::rustls;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let (url, server) = tls_echo_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(LOCALHOST_CERT.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut client = WebSocketTransport::new(&url)
        .unwrap()
        .tls_config(Arc::new(config))
        .connect()
        .await
        .unwrap();
    client
        .sender
        .send(Bytes::from_static(b"over tls"))
        .await
        .unwrap();
    assert_eq!(recv(&mut client).await, "over tls");
    let report = client.closer.shutdown(GRACE).await.unwrap();
    assert!(matches!(report.reason, CloseReason::Shutdown), "{report}");
    assert_eq!(server.await.unwrap(), Some(vec!["over tls".to_owned()]));
}

/// The default configuration trusts the public roots only: a self-signed
/// certificate is refused.
#[cfg(feature = "wss")]
#[tokio::test]
async fn wss_verifies_the_certificate_by_default() {
    let (url, server) = tls_echo_server().await;
    let err = connect_err(&url).await;
    match &err {
        TransportError::Handshake { source, .. } => {
            assert!(source.to_string().contains("certificate"), "{source}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.await.unwrap(), None);
}
