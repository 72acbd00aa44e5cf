//! The child's stdin as one gate that both the writer task and the frame
//! senders go through: a sender whose frame finds the writer idle, with
//! nothing queued before it, writes the frame to the pipe itself, at once,
//! instead of waking the writer task to do it. An answer that the task
//! reading the connection decides then reaches the child without any other
//! task running.
//!
//! Order is kept by one count under the gate's lock: a frame that is not
//! written at once reserves its place (`queued`) before it enters the queue,
//! and the writer gives a place back only when it takes the frame out, after
//! marking itself busy. So no frame is written directly while an earlier one
//! waits in the queue, sits in the writer's buffer, or is half written.
//!
//! A direct write is one non-blocking `writev` of the frame and its newline
//! (no copy to join them), only for frames of at most `PIPE_BUF` bytes with
//! their newline, which a pipe takes whole or not at all. Should a system write part of one anyway,
//! the rest is kept here and the writer writes it before anything else.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use tokio::net::unix::pipe;
use tokio::sync::Notify;

use crate::connection::{Attempt, WriteNow};

/// The largest write (frame and newline) a pipe takes whole or not at all;
/// POSIX guarantees at least 512, Linux and macOS have 4096 or more.
const ATOMIC_WRITE: usize = 4096;

#[derive(Debug)]
pub(super) struct Gate {
    state: Mutex<State>,
    /// Wakes the writer for a rest left by a partial direct write.
    rest_written: Notify,
}

#[derive(Debug)]
struct State {
    /// `None` once stdin is closed.
    pipe: Option<pipe::Sender>,
    /// Frames queued, or on their way into the queue, not yet taken out.
    queued: usize,
    /// The writer holds frames it took out and has not flushed.
    busy: bool,
    /// No more direct writes: the writer is stopping.
    stopped: bool,
    /// What a partial direct write left, to go out before anything else.
    rest: Option<Bytes>,
}

impl Gate {
    pub(super) fn new(pipe: pipe::Sender) -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(State {
                pipe: Some(pipe),
                queued: 0,
                busy: false,
                stopped: false,
                rest: None,
            }),
            rest_written: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Held for a few assignments and one non-blocking system call, never
        // across user code: a poisoned lock still guards consistent data.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The writer took a frame out of the queue.
    pub(super) fn took(&self) {
        let mut state = self.lock();
        state.busy = true;
        state.queued = state.queued.saturating_sub(1);
    }

    /// The writer flushed and found the queue empty: direct writes may
    /// start, unless a frame is on its way into the queue.
    pub(super) fn flushed(&self) {
        let mut state = self.lock();
        if state.queued == 0 && state.rest.is_none() {
            state.busy = false;
        }
    }

    /// The rest of a partially written frame, if one is waiting.
    pub(super) fn take_rest(&self) -> Option<Bytes> {
        let mut state = self.lock();
        let rest = state.rest.take();
        if rest.is_some() {
            state.busy = true;
        }
        rest
    }

    /// Resolves when a partial direct write left a rest.
    pub(super) async fn rest_left(&self) {
        self.rest_written.notified().await;
    }

    /// No more direct writes; frames go through the queue, which closes.
    pub(super) fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Closes stdin.
    pub(super) fn close(&self) {
        self.lock().pipe = None;
    }
}

impl WriteNow for Gate {
    fn write_now(&self, frame: &Bytes) -> Attempt {
        let mut state = self.lock();
        let fits = frame.len() < ATOMIC_WRITE && memchr::memchr(b'\n', frame).is_none();
        let idle = !state.busy && state.queued == 0 && !state.stopped && state.rest.is_none();
        let (true, true, Some(pipe)) = (fits, idle, state.pipe.as_ref()) else {
            state.queued += 1;
            return Attempt::Queue;
        };
        let len = frame.len() + 1;
        let line = [io::IoSlice::new(frame), io::IoSlice::new(b"\n")];
        match pipe.try_write_vectored(&line) {
            Ok(written) if written == len => Attempt::Written,
            Ok(written) => {
                let mut rest = Vec::with_capacity(len.saturating_sub(written));
                rest.extend_from_slice(frame.get(written..).unwrap_or_default());
                rest.push(b'\n');
                state.rest = Some(Bytes::from(rest));
                state.busy = true;
                drop(state);
                self.rest_written.notify_one();
                Attempt::Written
            }
            // A full pipe (or one tokio has not seen writable yet), or one
            // the child closed: the writer waits for room, or meets the
            // error and reports it.
            Err(_) => {
                state.queued += 1;
                Attempt::Queue
            }
        }
    }

    fn unqueue(&self) {
        let mut state = self.lock();
        state.queued = state.queued.saturating_sub(1);
    }
}

/// The writer's side of the gate: the pipe as an `AsyncWrite`.
#[derive(Debug)]
pub(super) struct GateWriter(pub(super) Arc<Gate>);

impl AsyncWrite for GateWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let state = self.0.lock();
        let Some(pipe) = state.pipe.as_ref() else {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        };
        loop {
            ready!(pipe.poll_write_ready(cx))?;
            match pipe.try_write(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no buffer of its own to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.close();
        Poll::Ready(Ok(()))
    }
}

impl Drop for GateWriter {
    /// The writer gone means stdin closed, whoever still holds a sender.
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests;
