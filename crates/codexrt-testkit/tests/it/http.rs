//! A minimal HTTP/1.1 client over a tokio `TcpStream`, reading responses
//! incrementally (chunked or sized) so tests can watch a stream event by
//! event, pause, and reuse a kept-alive connection.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One connection to the server.
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
}

/// A response whose head has been read; its body is read on demand.
pub(crate) struct Response<'c> {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    connection: &'c mut Connection,
    framing: Framing,
    /// Body bytes read but not yet handed out as events.
    pending: Vec<u8>,
}

enum Framing {
    Chunked { done: bool },
    Sized { left: usize },
}

/// One server-sent event, its data parsed as JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) kind: String,
    pub(crate) data: Value,
}

impl Connection {
    pub(crate) async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        Ok(Connection {
            reader: BufReader::new(TcpStream::connect(addr).await?),
        })
    }

    /// Sends a request with extra headers and a body, then reads the head of
    /// the response.
    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response<'_>> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(body).await?;

        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).await?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header {line:?}")))?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(header, _)| header == name)
                .map(|(_, value)| value.clone())
        };
        let framing = if header("transfer-encoding").as_deref() == Some("chunked") {
            Framing::Chunked { done: false }
        } else {
            let left = header("content-length")
                .and_then(|len| len.parse().ok())
                .ok_or_else(|| invalid("no body framing".to_owned()))?;
            Framing::Sized { left }
        };
        Ok(Response {
            status,
            headers,
            connection: self,
            framing,
            pending: Vec::new(),
        })
    }

    /// A POST with a JSON body.
    pub(crate) async fn post_json(
        &mut self,
        path: &str,
        body: &Value,
    ) -> std::io::Result<Response<'_>> {
        let headers = [("content-type", "application/json")];
        self.send("POST", path, &headers, body.to_string().as_bytes())
            .await
    }

    /// True when the server closed the connection (EOF or a reset).
    pub(crate) async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte).await, Ok(0) | Err(_))
    }
}

impl Response<'_> {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// The next piece of the body, or `None` at its end.
    async fn next_bytes(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let reader = &mut self.connection.reader;
        match &mut self.framing {
            Framing::Chunked { done: true } | Framing::Sized { left: 0 } => Ok(None),
            Framing::Chunked { done } => {
                let mut size_line = String::new();
                if reader.read_line(&mut size_line).await? == 0 {
                    return Err(invalid("eof inside a chunked body".to_owned()));
                }
                let size = usize::from_str_radix(size_line.trim(), 16)
                    .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).await?;
                chunk.truncate(size);
                if size == 0 {
                    *done = true;
                    return Ok(None);
                }
                Ok(Some(chunk))
            }
            Framing::Sized { left } => {
                let mut chunk = vec![0; *left];
                reader.read_exact(&mut chunk).await?;
                *left = 0;
                Ok(Some(chunk))
            }
        }
    }

    /// The rest of the body.
    pub(crate) async fn body(mut self) -> std::io::Result<Vec<u8>> {
        let mut body = std::mem::take(&mut self.pending);
        while let Some(chunk) = self.next_bytes().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The rest of the body as JSON.
    pub(crate) async fn json(self) -> std::io::Result<Value> {
        let body = self.body().await?;
        serde_json::from_slice(&body).map_err(|error| invalid(error.to_string()))
    }

    /// The next server-sent event, or `None` at the end of the body.
    pub(crate) async fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|pair| pair == b"\n\n") {
                let raw: Vec<u8> = self.pending.drain(..end + 2).collect();
                return parse_event(&raw).map(Some);
            }
            match self.next_bytes().await? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None if self.pending.is_empty() => return Ok(None),
                None => return Err(invalid("body ends inside an event".to_owned())),
            }
        }
    }

    /// Every remaining event.
    pub(crate) async fn events(mut self) -> std::io::Result<Vec<Event>> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event().await? {
            events.push(event);
        }
        Ok(events)
    }
}

fn parse_event(raw: &[u8]) -> std::io::Result<Event> {
    let text = std::str::from_utf8(raw).map_err(|error| invalid(error.to_string()))?;
    let mut kind = None;
    let mut data = None;
    for line in text.lines().filter(|line| !line.is_empty()) {
        match line.split_once(": ") {
            Some(("event", value)) => kind = Some(value.to_owned()),
            Some(("data", value)) => {
                data = Some(serde_json::from_str(value).map_err(|e| invalid(e.to_string()))?)
            }
            _ => return Err(invalid(format!("unexpected event line {line:?}"))),
        }
    }
    match (kind, data) {
        (Some(kind), Some(data)) => Ok(Event { kind, data }),
        _ => Err(invalid(format!("incomplete event {text:?}"))),
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}
