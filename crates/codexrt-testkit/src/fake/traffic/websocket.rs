//! The traffic over a WebSocket, as `codex app-server --listen ws://..`
//! serves it: one message per text frame. The server's lines become frames
//! as they are written, through the same buffer as on stdio, so that the
//! two media can be compared; the client's frames are read back as lines.
//!
//! The framing is written here rather than through a WebSocket library on
//! purpose: the server side of a benchmark should cost as little as the
//! stdio one, a header and a copy per message. Only what a client of the
//! benchmark sends is handled: text frames (possibly continued), close, and
//! pings, which are read and dropped (a run lasts seconds, less than any
//! keepalive interval).

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The largest message read from the client; the benchmark's are small.
const MAX_MESSAGE: u64 = 16 << 20;

/// Answers the client's upgrade request on `stream`.
///
/// # Errors
/// When reading or writing fails, or the request is not a WebSocket
/// upgrade.
pub(super) fn accept(stream: &mut TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(&*stream);
    let mut key = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the connection ended in the upgrade request"));
        }
        if line.len() > 8 * 1024 {
            return Err(invalid("an upgrade request line over 8 KiB"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':')
            && name.trim().eq_ignore_ascii_case("sec-websocket-key")
        {
            key = Some(value.trim().to_owned());
        }
    }
    // The client sends nothing more until it has the answer, so the reader
    // holds nothing past the request.
    if !reader.buffer().is_empty() {
        return Err(invalid("bytes after the upgrade request"));
    }
    let key = key.ok_or_else(|| invalid("no Sec-WebSocket-Key"))?;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(answer.as_bytes())?;
    stream.flush()
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The client's messages as lines: each text message, then a newline.
/// A close frame ends the input.
pub(super) struct FrameLines<R> {
    inner: BufReader<R>,
    message: Vec<u8>,
    at: usize,
    closed: bool,
}

impl<R: Read> FrameLines<R> {
    pub(super) fn new(inner: R) -> Self {
        FrameLines {
            inner: BufReader::new(inner),
            message: Vec::new(),
            at: 0,
            closed: false,
        }
    }

    /// Reads frames up to the end of the next text message into `message`,
    /// with a newline; `false` at the end of the input.
    fn next_message(&mut self) -> io::Result<bool> {
        self.message.clear();
        self.at = 0;
        loop {
            let mut head = [0u8; 2];
            match self.inner.read_exact(&mut head) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(err) => return Err(err),
            }
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0f;
            let masked = head[1] & 0x80 != 0;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut bytes = [0u8; 2];
                    self.inner.read_exact(&mut bytes)?;
                    u64::from(u16::from_be_bytes(bytes))
                }
                127 => {
                    let mut bytes = [0u8; 8];
                    self.inner.read_exact(&mut bytes)?;
                    u64::from_be_bytes(bytes)
                }
                short => u64::from(short),
            };
            if len > MAX_MESSAGE || self.message.len() as u64 + len > MAX_MESSAGE {
                return Err(invalid("a client message over 16 MiB"));
            }
            let mut mask = [0u8; 4];
            if masked {
                self.inner.read_exact(&mut mask)?;
            }
            let start = self.message.len();
            let len = usize::try_from(len).map_err(|_| invalid("a frame too long"))?;
            self.message.resize(start + len, 0);
            self.inner.read_exact(&mut self.message[start..])?;
            if masked {
                for (i, byte) in self.message[start..].iter_mut().enumerate() {
                    *byte ^= mask[i % 4];
                }
            }
            match opcode {
                // Text, or the continuation of one.
                0x0 | 0x1 if fin => {
                    self.message.push(b'\n');
                    return Ok(true);
                }
                0x0 | 0x1 => {}
                0x8 => {
                    self.closed = true;
                    return Ok(false);
                }
                // Ping, pong, binary: not part of the conversation.
                _ => self.message.truncate(start),
            }
        }
    }
}

impl<R: Read> Read for FrameLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.message.len() && (self.closed || !self.next_message()?) {
            return Ok(0);
        }
        let n = buf.len().min(self.message.len() - self.at);
        buf[..n].copy_from_slice(&self.message[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The server's lines as text frames, unmasked as a server sends them,
/// into a buffered writer.
pub(super) struct LineFrames<W: Write> {
    out: BufWriter<W>,
    /// The start of a line whose newline has not been written yet.
    partial: Vec<u8>,
}

impl<W: Write> LineFrames<W> {
    pub(super) fn new(out: W, buffer: usize) -> Self {
        LineFrames {
            out: BufWriter::with_capacity(buffer, out),
            partial: Vec::new(),
        }
    }

    fn frame(out: &mut BufWriter<W>, payload: &[u8]) -> io::Result<()> {
        let len = payload.len();
        if len < 126 {
            // `len` is below 126, so it fits the byte.
            out.write_all(&[0x81, len as u8])?;
        } else if let Ok(short) = u16::try_from(len) {
            out.write_all(&[0x81, 126])?;
            out.write_all(&short.to_be_bytes())?;
        } else {
            out.write_all(&[0x81, 127])?;
            out.write_all(&(len as u64).to_be_bytes())?;
        }
        out.write_all(payload)
    }
}

impl<W: Write> Write for LineFrames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline);
            if self.partial.is_empty() {
                Self::frame(&mut self.out, line)?;
            } else {
                self.partial.extend_from_slice(line);
                let whole = std::mem::take(&mut self.partial);
                Self::frame(&mut self.out, &whole)?;
            }
            rest = &after[1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
