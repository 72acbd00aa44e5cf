//! A one-shot channel on loom's primitives, standing in for Tokio's in the
//! loom models. It keeps the parts of Tokio's contract the pending-call
//! table relies on:
//!
//! - `send` fails, handing the value back, once the receiver is closed or
//!   dropped; otherwise the value is stored and the receiver woken.
//! - After `close`, `try_recv` still returns a value sent before the close.
//! - A successful `send` happens before the `try_recv` or the poll that
//!   returns its value (Tokio's state word is updated with acquire-release
//!   ordering; here a mutex gives the same edge).
//!
//! Tokio's own implementation is checked by Tokio's loom tests; the models
//! check our use of the contract.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use loom::future::AtomicWaker;
use loom::sync::{Arc, Mutex};

pub(crate) mod error {
    /// The sender was dropped without a value.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct RecvError;

    /// Why `try_recv` found no value.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum TryRecvError {
        /// No value yet.
        Empty,
        /// No value will come.
        Closed,
    }
}

use error::{RecvError, TryRecvError};

struct State<T> {
    value: Option<T>,
    receiver_closed: bool,
    sender_gone: bool,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    waker: AtomicWaker,
}

impl<T> Inner<T> {
    fn state(&self) -> loom::sync::MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            receiver_closed: false,
            sender_gone: false,
        }),
        waker: AtomicWaker::new(),
    });
    (
        Sender {
            inner: Some(Arc::clone(&inner)),
        },
        Receiver { inner },
    )
}

pub(crate) struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender")
    }
}

impl<T> Sender<T> {
    pub(crate) fn send(mut self, value: T) -> Result<(), T> {
        let Some(inner) = self.inner.take() else {
            return Err(value);
        };
        let mut state = inner.state();
        state.sender_gone = true;
        if state.receiver_closed {
            return Err(value);
        }
        state.value = Some(value);
        drop(state);
        inner.waker.wake();
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.state().receiver_closed)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.state().sender_gone = true;
            inner.waker.wake();
        }
    }
}

pub(crate) struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver")
    }
}

impl<T> Receiver<T> {
    pub(crate) fn close(&mut self) {
        self.inner.state().receiver_closed = true;
    }

    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner.state();
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_gone || state.receiver_closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.inner.state();
        state.receiver_closed = true;
        // A value nobody will read is dropped with the receiver.
        drop(state.value.take());
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner.waker.register_by_ref(cx.waker());
        match this.try_recv() {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}
