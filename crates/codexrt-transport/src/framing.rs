//! Newline framing: a sans-IO [`LineDecoder`] and an async [`LineReader`] on
//! top of it, shared by every line-delimited transport.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{FrameError, Inbound};

/// The default maximum frame length: 64 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// How much free space the reader keeps in its buffer before each read.
const READ_CHUNK: usize = 64 * 1024;

/// Splits a byte stream into newline-delimited frames.
///
/// - `\n` ends a frame; a `\r` right before it is removed.
/// - Empty lines are skipped.
/// - A frame longer than the maximum is reported once as
///   [`FrameError::TooLong`]; its bytes are discarded up to the next `\n` and
///   decoding resumes after it. The buffer never holds much more than the
///   maximum.
/// - Every byte is examined once, so the cost is linear in the input however it
///   is split into reads.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_len: usize,
    /// Where the search for the next `\n` resumes: bytes before it were already
    /// searched.
    scanned: usize,
    /// Set while the rest of an over-long frame is being thrown away.
    discarding: bool,
}

impl LineDecoder {
    /// A decoder that accepts frames of at most `max_len` bytes (not counting
    /// the line terminator).
    pub fn new(max_len: usize) -> Self {
        LineDecoder {
            max_len,
            scanned: 0,
            discarding: false,
        }
    }

    /// The maximum frame length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Takes the next complete frame (or frame error) out of `buf`, or returns
    /// `None` when `buf` holds no complete frame yet.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Inbound> {
        loop {
            let found = memchr::memchr(b'\n', &buf[self.scanned..]).map(|at| self.scanned + at);
            match (self.discarding, found) {
                (true, Some(newline)) => {
                    buf.advance(newline + 1);
                    self.scanned = 0;
                    self.discarding = false;
                }
                (true, None) => {
                    buf.clear();
                    self.scanned = 0;
                    return None;
                }
                (false, Some(newline)) => {
                    let mut line = buf.split_to(newline + 1);
                    self.scanned = 0;
                    line.truncate(newline);
                    if line.last() == Some(&b'\r') {
                        line.truncate(newline - 1);
                    }
                    if line.len() > self.max_len {
                        return Some(Err(self.too_long()));
                    }
                    if !line.is_empty() {
                        return Some(Ok(line.freeze()));
                    }
                }
                (false, None) => {
                    // One byte of slack for a `\r` whose `\n` has not arrived;
                    // the exact length is checked once the line is complete.
                    if buf.len() > self.max_len + 1 {
                        buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(Err(self.too_long()));
                    }
                    self.scanned = buf.len();
                    return None;
                }
            }
        }
    }

    /// Like [`decode`](Self::decode), for when the stream has ended: the bytes
    /// after the last `\n` form a final frame of their own.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Inbound> {
        if let Some(item) = self.decode(buf) {
            return Some(item);
        }
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) || buf.is_empty() {
            buf.clear();
            return None;
        }
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.max_len {
            return Some(Err(self.too_long()));
        }
        (!line.is_empty()).then(|| Ok(line.freeze()))
    }

    fn too_long(&self) -> FrameError {
        FrameError::TooLong {
            max_len: self.max_len,
        }
    }
}

/// Reads newline-delimited frames from an [`AsyncRead`].
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    buf: BytesMut,
    decoder: LineDecoder,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of frames of at most `max_len` bytes.
    pub fn new(reader: R, max_len: usize) -> Self {
        LineReader {
            reader,
            buf: BytesMut::new(),
            decoder: LineDecoder::new(max_len),
            eof: false,
        }
    }

    /// The next frame or frame error; `Ok(None)` at the end of the stream,
    /// after the final unterminated frame (if any) was returned.
    ///
    /// # Errors
    /// The reader's I/O error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes already read stay buffered for the next call.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Inbound>> {
        loop {
            if let Some(item) = self.decoder.decode(&mut self.buf) {
                return Ok(Some(item));
            }
            if self.eof {
                return Ok(self.decoder.decode_eof(&mut self.buf));
            }
            // Grow by at least the current length so that a long frame arriving
            // in small reads costs amortized linear time.
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK.max(self.buf.len()));
            }
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                self.eof = true;
            }
        }
    }

    /// The frames still buffered are dropped; returns the inner reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

#[cfg(test)]
mod tests;
