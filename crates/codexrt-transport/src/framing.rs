//! Newline framing: a sans-IO [`LineDecoder`] and an async [`LineReader`] on
//! top of it, shared by every line-delimited transport.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{FrameError, Inbound};

/// The default maximum frame length: 64 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// The most the reader reads at once, and the size of its buffer between long
/// frames.
const READ_CHUNK: usize = 64 * 1024;

/// Splits a byte stream into newline-delimited frames.
///
/// - `\n` ends a frame; a `\r` right before it is removed.
/// - Empty lines are skipped.
/// - A frame longer than the maximum is reported once as
///   [`FrameError::TooLong`], with its first bytes, as soon as the buffer holds
///   more than the maximum (one byte more, as a `\r` may end the line), without
///   waiting for its end. Its bytes are discarded up to the next `\n` and
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
                        return Some(Err(self.too_long(&line)));
                    }
                    if !line.is_empty() {
                        return Some(Ok(line.freeze()));
                    }
                }
                (false, None) => {
                    // One byte of slack for a `\r` whose `\n` has not arrived;
                    // the exact length is checked once the line is complete.
                    if buf.len() > self.max_len.saturating_add(1) {
                        let err = self.too_long(buf);
                        buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(Err(err));
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
            return Some(Err(self.too_long(&line)));
        }
        (!line.is_empty()).then(|| Ok(line.freeze()))
    }

    /// The report of an over-long frame of which `seen` holds what arrived.
    fn too_long(&self, seen: &[u8]) -> FrameError {
        FrameError::too_long(seen, seen.len(), self.max_len)
    }
}

/// Reads newline-delimited frames from an [`AsyncRead`].
///
/// Frames are decoded as by [`LineDecoder`]. The buffer holds at most the
/// maximum frame length plus one read (64 KiB), however long a frame the peer
/// sends. It grows by doubling while a long frame arrives, so that a frame
/// arriving in small reads still costs linear time, and it is replaced by a
/// small one as soon as a frame that made it grow is taken out (or reported
/// as too long): a connection that once carried a huge frame does not keep
/// its memory.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    buf: BytesMut,
    /// The size of the allocation this reader last gave `buf`. Frames split
    /// off `buf` share that allocation, and `buf` keeps it alive while it
    /// points into it.
    allocated: usize,
    decoder: LineDecoder,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of frames of at most `max_len` bytes.
    pub fn new(reader: R, max_len: usize) -> Self {
        LineReader {
            reader,
            buf: BytesMut::new(),
            allocated: 0,
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
                self.shrink();
                return Ok(Some(item));
            }
            if self.eof {
                return Ok(self.decoder.decode_eof(&mut self.buf));
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.grow();
            }
            // One chunk at most, so that what follows a long frame in the
            // buffer is never more than a chunk (see `shrink`).
            let mut room = (&mut self.buf).limit(READ_CHUNK);
            if self.reader.read_buf(&mut room).await? == 0 {
                self.eof = true;
            }
        }
    }

    /// Makes room for at least a quarter chunk. The decoder has just taken
    /// out what it could, so the buffer holds at most the maximum plus one
    /// byte, all of it the start of one frame.
    fn grow(&mut self) {
        // The allocation can be reused once the frames split off it are gone.
        if self.buf.try_reclaim(READ_CHUNK / 2) {
            return;
        }
        let len = self.buf.len();
        // Doubling keeps a long frame in small reads linear: each byte is
        // copied a bounded number of times. The ceiling leaves room for one
        // more read past the maximum, the read after which the decoder
        // reports the frame as too long, and no more.
        let ceiling = self.decoder.max_len().saturating_add(READ_CHUNK);
        let target = len
            .saturating_mul(2)
            .max(len.saturating_add(READ_CHUNK))
            .min(ceiling);
        // Through a `Vec`, because `BytesMut::reserve` may double the
        // allocation past the ceiling. `reserve_exact` reallocates, which the
        // allocator may do in place, so old and new need not both be held;
        // the conversions back to `BytesMut` move the allocation, spare
        // capacity included, without copying.
        let mut bytes = Vec::from(std::mem::take(&mut self.buf));
        bytes.reserve_exact(target.saturating_sub(bytes.len()));
        self.allocated = bytes.capacity();
        self.buf = BytesMut::from(Bytes::from(bytes));
    }

    /// Gives back a buffer that grew for a long frame once that frame is out.
    /// What is left in it came from the last read, so it is at most a chunk
    /// to copy, and copying it once per long frame keeps the cost linear.
    fn shrink(&mut self) {
        if self.allocated <= 2 * READ_CHUNK {
            return;
        }
        let mut small = BytesMut::with_capacity(READ_CHUNK.max(self.buf.len() + READ_CHUNK / 4));
        small.extend_from_slice(&self.buf);
        self.allocated = small.capacity();
        self.buf = small;
    }

    /// The frames still buffered are dropped; returns the inner reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

#[cfg(test)]
mod tests;
