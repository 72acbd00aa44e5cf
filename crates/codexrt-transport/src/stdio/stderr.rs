//! The child's stderr: drained on a task of its own into a bounded ring of its
//! last bytes, and optionally forwarded to `tracing` line by line.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// How much stderr is read at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The longest stderr line forwarded to `tracing` as is; the rest of a longer
/// line is dropped so that one runaway line cannot flood the log.
const MAX_FORWARDED_LINE: usize = 4 * 1024;

/// Whether stderr lines are forwarded to `tracing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StderrForwarding {
    /// Stderr is only kept in the ring.
    Off,
    /// Each line also becomes an `INFO` event.
    Tracing,
}

/// The task that drains the child's stderr, and the ring it fills.
#[derive(Debug)]
pub(super) struct StderrTail {
    ring: Arc<Mutex<Ring>>,
    task: JoinHandle<()>,
}

impl StderrTail {
    /// Starts draining `stderr`. Its own task, rather than a branch of the
    /// driver's loop, guarantees that a child flooding stderr never delays a
    /// frame on stdout.
    pub(super) fn spawn(
        stderr: ChildStderr,
        ring_size: usize,
        forwarding: StderrForwarding,
        pid: u32,
    ) -> Self {
        let ring = Arc::new(Mutex::new(Ring::new(ring_size)));
        let lines = match forwarding {
            StderrForwarding::Off => None,
            StderrForwarding::Tracing => Some(LineSplitter::new(MAX_FORWARDED_LINE)),
        };
        let task = tokio::spawn(tracing::Instrument::in_current_span(drain(
            stderr,
            Arc::clone(&ring),
            lines,
            pid,
        )));
        StderrTail { ring, task }
    }

    /// Waits up to `limit` for the end of stderr, stops reading (which closes
    /// the pipe) and returns the ring's contents, lossily decoded.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future stops the drain task early.
    pub(super) async fn finish(mut self, limit: Duration) -> String {
        if tokio::time::timeout(limit, &mut self.task).await.is_err() {
            // A grandchild that left the process group may hold stderr open
            // forever; what was read so far is the tail.
            tracing::debug!("stderr still open after the child ended; stopped reading it");
            self.task.abort();
            // Wait for the cancellation so that the pipe is closed when this
            // returns.
            let _ = (&mut self.task).await;
        }
        lock(&self.ring).tail()
    }
}

impl Drop for StderrTail {
    fn drop(&mut self) {
        // The driver was dropped before it finished: the task must not keep
        // the pipe open.
        self.task.abort();
    }
}

async fn drain(
    mut stderr: ChildStderr,
    ring: Arc<Mutex<Ring>>,
    mut lines: Option<LineSplitter>,
    pid: u32,
) {
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let read = match stderr.read(&mut buf).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::debug!(pid, %err, "reading the child's stderr failed");
                break;
            }
        };
        let chunk = &buf[..read];
        lock(&ring).push(chunk);
        if let Some(lines) = &mut lines {
            lines.push(chunk, &mut |line, truncated| forward(pid, line, truncated));
        }
    }
    if let Some(lines) = &mut lines {
        lines.finish(&mut |line, truncated| forward(pid, line, truncated));
    }
}

fn forward(pid: u32, line: &[u8], truncated: bool) {
    // Already bounded by the splitter; a secret codex prints stays out of
    // the log.
    let line = crate::redact::redacted(&String::from_utf8_lossy(line));
    if truncated {
        tracing::info!(target: "codexrt_transport::stderr", pid, truncated, "{line}");
    } else {
        tracing::info!(target: "codexrt_transport::stderr", pid, "{line}");
    }
}

fn lock(ring: &Mutex<Ring>) -> std::sync::MutexGuard<'_, Ring> {
    // The ring holds plain bytes and every update leaves it consistent, so a
    // panic elsewhere while it was locked does not make it unusable.
    ring.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The last `size` bytes of a stream.
#[derive(Debug)]
pub(super) struct Ring {
    bytes: VecDeque<u8>,
    size: usize,
}

impl Ring {
    pub(super) fn new(size: usize) -> Self {
        // Grows on demand: most children write little or nothing to stderr.
        Ring {
            bytes: VecDeque::new(),
            size,
        }
    }

    /// Appends `chunk`, forgetting the oldest bytes beyond the ring's size.
    pub(super) fn push(&mut self, chunk: &[u8]) {
        let keep = &chunk[chunk.len().saturating_sub(self.size)..];
        let overflow = (self.bytes.len() + keep.len()).saturating_sub(self.size);
        self.bytes.drain(..overflow);
        self.bytes.extend(keep);
    }

    /// The bytes held, decoded as UTF-8 with invalid sequences replaced.
    /// Continuation bytes at the very start, left over from a character the
    /// ring cut in half, are skipped rather than shown as a replacement
    /// character.
    pub(super) fn tail(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut bytes = Vec::with_capacity(self.bytes.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        let cut = bytes
            .iter()
            .take(3)
            .take_while(|&&byte| byte & 0b1100_0000 == 0b1000_0000)
            .count();
        String::from_utf8_lossy(&bytes[cut..]).into_owned()
    }
}

/// Splits a byte stream into lines of at most `max_len` bytes (without the
/// `\n` and a `\r` before it); the rest of a longer line is dropped and the
/// line is flagged as truncated.
#[derive(Debug)]
pub(super) struct LineSplitter {
    /// The current line, holding at most `max_len + 1` bytes: the extra byte
    /// tells a line that ends in `\r` right at the limit from a longer one.
    line: Vec<u8>,
    max_len: usize,
    /// Bytes of the current line were dropped.
    overflow: bool,
}

impl LineSplitter {
    pub(super) fn new(max_len: usize) -> Self {
        LineSplitter {
            line: Vec::new(),
            max_len,
            overflow: false,
        }
    }

    /// Feeds `chunk`, calling `emit(line, truncated)` for every line it
    /// completes.
    pub(super) fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(&[u8], bool)) {
        while let Some(newline) = memchr::memchr(b'\n', chunk) {
            self.take(&chunk[..newline]);
            self.emit(emit);
            chunk = &chunk[newline + 1..];
        }
        self.take(chunk);
    }

    /// Emits the final line if the stream did not end with a newline.
    pub(super) fn finish(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        if !self.line.is_empty() || self.overflow {
            self.emit(emit);
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = self.max_len + 1 - self.line.len();
        if bytes.len() > room {
            self.overflow = true;
        }
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn emit(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        // After an overflow the last byte kept is from the middle of the line,
        // not its end.
        if !self.overflow && self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let truncated = self.overflow || self.line.len() > self.max_len;
        self.line.truncate(self.max_len);
        emit(&self.line, truncated);
        self.line.clear();
        self.overflow = false;
    }
}
