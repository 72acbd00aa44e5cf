//! The readiness probe of a WebSocket endpoint: `GET /readyz` on the
//! app-server's own port, answered 200 once it takes connections.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of the answer that is read: the status line is all that
/// matters, and a peer must not make us buffer more.
const MAX_HEAD: usize = 1024;

/// The `host:port` of a `ws://` endpoint; `None` for other schemes (a Unix
/// socket serves no `/readyz`, and a `wss://` one is behind a TLS proxy
/// whose own health is not the app-server's).
pub(crate) fn readyz_authority(endpoint: &str) -> Option<String> {
    let rest = endpoint.strip_prefix("ws://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return None;
    }
    // A port is what follows the last colon outside an IPv6 literal.
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !port.is_empty() && !port.contains(']') && !host.is_empty());
    Some(if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    })
}

/// Asks `authority` for `/readyz` within `timeout`: `Ok` on status 200,
/// else what was seen, on one bounded line.
pub(crate) async fn readyz(authority: &str, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, get(authority)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("GET /readyz got no answer within {timeout:?}")),
    }
}

async fn get(authority: &str) -> Result<(), String> {
    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|err| format!("cannot connect to {authority}: {err}"))?;
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|err| format!("cannot send GET /readyz: {err}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|pair| pair == b"\r\n") && head.len() < MAX_HEAD {
        let read = stream
            .read(&mut buf)
            .await
            .map_err(|err| format!("cannot read the answer to GET /readyz: {err}"))?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buf[..read]);
    }
    let line = head
        .split(|&byte| byte == b'\r' || byte == b'\n')
        .next()
        .unwrap_or(&[]);
    let line = String::from_utf8_lossy(&line[..line.len().min(200)]);
    let status = line.split(' ').nth(1);
    if line.starts_with("HTTP/1.") && status == Some("200") {
        Ok(())
    } else if line.is_empty() {
        Err("GET /readyz got an empty answer".to_owned())
    } else {
        Err(format!("GET /readyz answered {line:?}"))
    }
}
