//! The client side of the WebSocket opening handshake (RFC 6455, section 4):
//! one HTTP/1.1 upgrade request, one response read within bounds.
//!
//! Written here rather than left to tungstenite's client handshake because
//! that one logs the whole request, `Authorization` header included, at
//! trace level, and because a refused upgrade must come back typed, with a
//! bounded piece of the body. Frames are tungstenite's from the first byte
//! after the response head on.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::auth::BearerToken;
use super::target::Target;
use crate::TransportError;

/// The most the response head (status line and headers) may take.
const MAX_HEAD_LEN: usize = 16 * 1024;

/// How much of a refusal's body is read for its detail.
const MAX_BODY_READ: usize = 1024;

/// How many characters of a refusal's body an error keeps.
const MAX_DETAIL_CHARS: usize = 256;

/// How many headers the response may have.
const MAX_HEADERS: usize = 64;

/// Sends the upgrade request for `target` on `stream` and reads the answer.
/// Returns the bytes read past the response head: the first frames, when
/// the server sent them at once.
///
/// # Errors
/// [`TransportError::Unauthorized`] for HTTP 401,
/// [`TransportError::UpgradeRefused`] for any other status but 101,
/// [`TransportError::Handshake`] when the stream fails or the answer is not
/// a valid upgrade.
pub(crate) async fn upgrade<S>(
    stream: &mut S,
    target: &Target,
    token: Option<&BearerToken>,
) -> Result<Vec<u8>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let failed = |source: io::Error| TransportError::Handshake {
        endpoint: target.endpoint.clone(),
        source,
    };
    let key = generate_key();
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n",
        target.request_uri, target.host_header,
    );
    if let Some(token) = token {
        request.push_str("Authorization: Bearer ");
        request.push_str(token.expose_secret());
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let written = async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await
    };
    let result = written.await;
    drop(request);
    result.map_err(failed)?;

    let mut buf = Vec::with_capacity(1024);
    let (head_len, status, head) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                break (len, status, Head::of(&response));
            }
            Ok(httparse::Status::Partial) => {}
            Err(err) => {
                return Err(failed(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the upgrade response is not valid HTTP: {err}"),
                )));
            }
        }
        if buf.len() >= MAX_HEAD_LEN {
            return Err(failed(io::Error::new(
                io::ErrorKind::InvalidData,
                "the upgrade response head exceeds 16 KiB",
            )));
        }
        let room = MAX_HEAD_LEN - buf.len();
        let read = (&mut *stream)
            .take(room as u64)
            .read_buf(&mut buf)
            .await
            .map_err(failed)?;
        if read == 0 {
            return Err(failed(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before answering the upgrade",
            )));
        }
    };
    let rest = buf.split_off(head_len);

    if status == 101 {
        let accepted = head.upgrade_websocket
            && head.connection_upgrade
            && head.accept.as_deref() == Some(derive_accept_key(key.as_bytes()).as_str());
        if !accepted {
            return Err(failed(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server answered 101 without a valid WebSocket upgrade",
            )));
        }
        return Ok(rest);
    }

    let detail = refusal_detail(stream, rest, head.content_length).await;
    let endpoint = target.endpoint.clone();
    Err(if status == 401 {
        TransportError::Unauthorized { endpoint, detail }
    } else {
        TransportError::UpgradeRefused {
            endpoint,
            status,
            detail,
        }
    })
}

/// What the handshake needs from the response headers.
struct Head {
    upgrade_websocket: bool,
    connection_upgrade: bool,
    accept: Option<String>,
    content_length: Option<usize>,
}

impl Head {
    fn of(response: &httparse::Response<'_, '_>) -> Head {
        let mut head = Head {
            upgrade_websocket: false,
            connection_upgrade: false,
            accept: None,
            content_length: None,
        };
        for header in response.headers.iter() {
            let value = String::from_utf8_lossy(header.value);
            let value = value.trim();
            if header.name.eq_ignore_ascii_case("upgrade") {
                head.upgrade_websocket = value.eq_ignore_ascii_case("websocket");
            } else if header.name.eq_ignore_ascii_case("connection") {
                head.connection_upgrade = value
                    .split(',')
                    .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
            } else if header.name.eq_ignore_ascii_case("sec-websocket-accept") {
                head.accept = Some(value.to_owned());
            } else if header.name.eq_ignore_ascii_case("content-length") {
                head.content_length = value.parse().ok();
            }
        }
        head
    }
}

/// The start of a refusal's body, as one line of at most
/// [`MAX_DETAIL_CHARS`] characters. Only a body with a `Content-Length` is
/// waited for; a failure to read it just leaves the detail shorter.
async fn refusal_detail<S>(
    stream: &mut S,
    mut body: Vec<u8>,
    content_length: Option<usize>,
) -> String
where
    S: AsyncRead + Unpin,
{
    let wanted = content_length.unwrap_or(0).min(MAX_BODY_READ);
    body.truncate(MAX_BODY_READ);
    while body.len() < wanted {
        let room = (wanted - body.len()) as u64;
        match (&mut *stream).take(room).read_buf(&mut body).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if let Some(length) = content_length {
        body.truncate(length);
    }
    one_line(&String::from_utf8_lossy(&body), MAX_DETAIL_CHARS)
}

/// `text` trimmed, with control characters replaced by spaces, cut to at
/// most `max_chars` characters (an ellipsis marks a cut).
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    let mut line: String = text
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max_chars).is_some() {
        line.push('…');
    }
    line
}
