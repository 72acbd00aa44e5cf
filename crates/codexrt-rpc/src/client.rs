//! The handle users call through: [`RpcClient`], a cheap `Clone` that
//! allocates ids, serializes in the caller's task and writes its own frames.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use codexrt_transport::{CloseReport, Connection, TransportError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::OnAnswer;
use crate::call::{CANCEL_QUEUE, Caller, REGISTRATION_QUEUE, Shared};
use crate::driver::{Driver, Sink};
use crate::encode::Encoder;
use crate::incoming::IncomingReceiver;
use crate::pending::{Outcome, Pending};
use crate::responder::Replies;
use crate::{CallOptions, InboundHandler, RpcConfig, RpcError, RpcStats, TimeoutCause};

/// A handle to an rpc connection: makes calls, sends notifications, and
/// shuts the connection down.
///
/// Cloning is cheap (one reference count) and every clone talks to the same
/// connection. When every clone and the [`IncomingReceiver`] are dropped, the
/// connection's loop ends and the transport is torn down.
#[derive(Debug, Clone)]
pub struct RpcClient {
    caller: Arc<Caller>,
}

impl RpcClient {
    /// Starts the rpc loop over `connection` and returns a handle and the
    /// receiver of everything the peer sends unasked.
    ///
    /// # Panics
    /// When called outside a Tokio runtime: the loop and the reply writer are
    /// spawned tasks.
    pub fn start(connection: Connection, config: RpcConfig) -> (RpcClient, IncomingReceiver) {
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity);
        let client = Self::spawn(connection, &config, Sink::Channel(incoming_tx));
        (client, IncomingReceiver { rx: incoming_rx })
    }

    /// Starts the rpc loop over `connection` with `handler` taking
    /// everything the peer sends unasked, on the loop itself: no queue and
    /// no task between the frame and the handler, and nothing the peer
    /// sends waits behind a slow reader. See [`InboundHandler`] for what a
    /// handler must promise. [`RpcConfig::incoming_capacity`] does not
    /// apply.
    ///
    /// # Panics
    /// When called outside a Tokio runtime: the loop and the reply writer are
    /// spawned tasks.
    pub fn start_with_handler(
        connection: Connection,
        config: RpcConfig,
        handler: impl InboundHandler,
    ) -> RpcClient {
        Self::spawn(connection, &config, Sink::Handler(Box::new(handler)))
    }

    fn spawn(connection: Connection, config: &RpcConfig, sink: Sink) -> RpcClient {
        let Connection {
            sender,
            receiver,
            closer,
            ..
        } = connection;
        let encoder = Encoder::new(config.jsonrpc);
        let shared = Arc::new(Shared::default());
        let (registrations_tx, registrations_rx) = mpsc::channel(REGISTRATION_QUEUE);
        let (cancels_tx, cancels_rx) = mpsc::channel(CANCEL_QUEUE);
        let (closed_tx, closed_rx) = watch::channel(None);
        let replies = Replies::spawn(sender.clone(), config.max_unanswered_requests, encoder);
        let reply_flusher = replies.flusher();
        let driver = Driver {
            receiver,
            closer: closer.clone(),
            registrations: registrations_rx,
            cancels: cancels_rx,
            sink,
            replies,
            pending: Pending::with_gauge(Arc::clone(&shared.counters.pending_calls)),
            shared: Arc::clone(&shared),
            closed: closed_tx,
        };
        // The loop's logs belong to whatever span the connection was
        // started in (the runtime's connection span, say).
        tokio::spawn(driver.run().in_current_span());
        let caller = Caller {
            next_id: AtomicI64::new(1),
            encoder,
            call_timeout: config.call_timeout,
            in_flight: tokio::sync::Semaphore::new(config.max_in_flight_calls),
            max_in_flight: config.max_in_flight_calls,
            sender,
            closer,
            registrations: registrations_tx,
            cancels: cancels_tx,
            closed: closed_rx,
            shared,
            reply_flusher,
        };
        RpcClient {
            caller: Arc::new(caller),
        }
    }

    /// Calls `method` with `params` and decodes the result as `R`, with the
    /// connection's timeout (60 s unless configured).
    ///
    /// `params` is serialized when `call` is called; the future does not hold
    /// it. Params that serialize to `null` (`()`, `None`) are left out of the
    /// message.
    ///
    /// # Errors
    /// [`RpcError::Peer`] when the peer answers with an error,
    /// [`RpcError::MalformedResponse`] when its answer cannot be read,
    /// [`RpcError::FrameTooLarge`] when its answer exceeds the transport's
    /// frame size limit,
    /// [`RpcError::Closed`] when the connection is or becomes closed,
    /// [`RpcError::Timeout`] when no answer arrives in time (or no slot
    /// among the calls on the wire, see [`RpcConfig::max_in_flight_calls`]),
    /// [`RpcError::Encode`] when `params` cannot be serialized (nothing is
    /// sent), [`RpcError::Decode`] when the result is not an `R`.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call: its id is forgotten and a late
    /// answer is counted and dropped. The request may already have been sent.
    pub fn call<'a, R: DeserializeOwned>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
    ) -> impl Future<Output = Result<R, RpcError>> + Send + 'a {
        self.call_with(method, params, CallOptions::new())
    }

    /// [`call`](RpcClient::call) with per-call options.
    ///
    /// # Errors
    /// As for [`call`](RpcClient::call).
    ///
    /// # Cancel safety
    /// As for [`call`](RpcClient::call).
    pub fn call_with<'a, R: DeserializeOwned>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
        options: CallOptions,
    ) -> impl Future<Output = Result<R, RpcError>> + Send + 'a {
        let raw = self.call_raw(method, params, options);
        async move {
            let raw = raw.await?;
            serde_json::from_str(raw.get()).map_err(|source| RpcError::Decode {
                method: method.to_owned(),
                source,
            })
        }
    }

    /// Calls `method` with `params` and returns the result as the raw JSON
    /// the peer sent.
    ///
    /// # Errors
    /// As for [`call`](RpcClient::call), except that nothing is decoded.
    ///
    /// # Cancel safety
    /// As for [`call`](RpcClient::call).
    pub fn call_raw<'a>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
        options: CallOptions,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send + 'a {
        self.exchange_raw(method, params, options, None, None)
    }

    /// [`call_raw`](RpcClient::call_raw), with `on_answer` run on the
    /// connection's loop the moment the answer is read: before the loop
    /// handles any later frame, and before the caller wakes. It is for work
    /// that must fall in line with the frames around the answer, such as
    /// starting to route what follows it somewhere; it must be quick and
    /// must not block, as the loop waits for it.
    ///
    /// It runs once for an answer (a result or an error) to a call still
    /// waiting for it, and not at all when the call ends otherwise (timeout,
    /// closed connection, an unreadable answer, or the caller gone), with
    /// one exception: an answer read in the instant the call times out can
    /// run it and still be counted late, the call failing with
    /// [`RpcError::Timeout`]. So whatever it sets up must be undone when the
    /// call fails, as when its future is dropped.
    ///
    /// # Errors
    /// As for [`call_raw`](RpcClient::call_raw).
    ///
    /// # Cancel safety
    /// As for [`call`](RpcClient::call): `on_answer` may have run when the
    /// future is dropped.
    pub fn call_raw_observed<'a>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
        options: CallOptions,
        on_answer: OnAnswer,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send + 'a {
        self.exchange_raw(method, params, options, Some(on_answer), None)
    }

    /// [`call_raw`](RpcClient::call_raw), with `on_answer` as for
    /// [`call_raw_observed`](RpcClient::call_raw_observed) when given, and
    /// the call's id recorded in `span` as its field `id` the moment the id
    /// is chosen (nothing is recorded when `span` has no such field). It
    /// lets a layer above, which knows what the call is for, trace it
    /// under its own span with the id the peer sees.
    ///
    /// # Errors
    /// As for [`call_raw`](RpcClient::call_raw).
    ///
    /// # Cancel safety
    /// As for [`call_raw_observed`](RpcClient::call_raw_observed).
    pub fn call_raw_traced<'a>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
        options: CallOptions,
        on_answer: Option<OnAnswer>,
        span: &tracing::Span,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send + 'a {
        self.exchange_raw(method, params, options, on_answer, Some(span))
    }

    fn exchange_raw<'a>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
        options: CallOptions,
        on_answer: Option<OnAnswer>,
        span: Option<&tracing::Span>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send + 'a {
        let caller = &*self.caller;
        let number = caller.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(span) = span {
            span.record("id", number);
        }
        let id = crate::RequestId::Integer(number);
        let frame = caller.encoder.request(&id, method, &params);
        let timeout = options.resolve(caller.call_timeout);
        async move {
            let frame = frame.map_err(|source| RpcError::Encode {
                method: method.to_owned(),
                source,
            })?;
            let mut cause = TimeoutCause::InFlightLimit {
                limit: caller.max_in_flight,
            };
            // The guard outlives the timed part, so that a timeout can still
            // find an outcome the loop sent in the same instant.
            let (mut call, reply) = caller.call(id);
            let exchange = async {
                // The semaphore is never closed, so the permit always comes;
                // it is held until the call ends, however it ends.
                let _slot = caller.in_flight.acquire().await.ok();
                cause = TimeoutCause::NoAnswer;
                caller.exchange(&mut call, reply, frame, on_answer).await
            };
            let outcome = match timeout {
                Some(limit) => {
                    let result = tokio::time::timeout(limit, exchange).await;
                    match result {
                        Ok(outcome) => outcome,
                        Err(_elapsed) => match call.give_up() {
                            // The loop counted this answer delivered: so it is.
                            Some(outcome) => outcome,
                            None => {
                                return Err(RpcError::Timeout {
                                    method: method.to_owned(),
                                    timeout: limit,
                                    cause,
                                });
                            }
                        },
                    }
                }
                None => exchange.await,
            };
            match outcome {
                Outcome::Answer(Ok(result)) => Ok(result),
                Outcome::Answer(Err(error)) => Err(RpcError::Peer {
                    method: method.to_owned(),
                    error,
                }),
                Outcome::Malformed(frame) => Err(RpcError::unreadable_answer(method, frame)),
                Outcome::Closed(report) => Err(RpcError::Closed {
                    method: method.to_owned(),
                    report,
                }),
            }
        }
    }

    /// Sends a notification: a message the peer does not answer.
    ///
    /// `params` is serialized when `notify` is called; params that serialize
    /// to `null` are left out of the message.
    ///
    /// # Errors
    /// [`RpcError::Closed`] when the connection is closed,
    /// [`RpcError::Encode`] when `params` cannot be serialized.
    ///
    /// # Cancel safety
    /// If the future is dropped before it completes, the notification may or
    /// may not have been queued for sending.
    pub fn notify<'a>(
        &'a self,
        method: &'a str,
        params: impl Serialize,
    ) -> impl Future<Output = Result<(), RpcError>> + Send + 'a {
        let caller = &*self.caller;
        let frame = caller.encoder.notification(method, &params);
        async move {
            let frame = frame.map_err(|source| RpcError::Encode {
                method: method.to_owned(),
                source,
            })?;
            let closed = |report| RpcError::Closed {
                method: method.to_owned(),
                report,
            };
            if let Some(report) = caller.report() {
                return Err(closed(report));
            }
            match caller.sender.send(frame).await {
                Ok(()) => Ok(()),
                Err(_) => Err(closed(caller.final_report().await)),
            }
        }
    }

    /// Shuts the connection down through the transport, giving the peer
    /// `grace` at each step of the transport's shutdown ladder, and returns
    /// the transport's close report. Pending calls then fail with
    /// [`RpcError::Closed`].
    ///
    /// Replies to server requests given before the call are handed to the
    /// transport first (waiting at most `grace` for that), so an answer is
    /// not cut off by the shutdown that follows it.
    ///
    /// # Errors
    /// The transport's error when it could not stop the peer; the connection
    /// is closed from this side all the same.
    ///
    /// # Cancel safety
    /// Dropping the future does not undo a shutdown that was requested.
    pub async fn shutdown(&self, grace: Duration) -> Result<Arc<CloseReport>, TransportError> {
        if self.caller.closer.report().is_none() {
            // Past `grace` the replies are given up: the shutdown must end.
            let _ = tokio::time::timeout(grace, self.caller.reply_flusher.flush()).await;
        }
        self.caller.closer.shutdown(grace).await
    }

    /// Waits until the connection is closed and every pending call has
    /// failed, and returns the close report.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) -> Arc<CloseReport> {
        let mut closed = self.caller.closed.clone();
        let published = match closed.wait_for(Option::is_some).await {
            Ok(report) => report.clone(),
            Err(_) => None,
        };
        match published {
            Some(report) => report,
            None => self.caller.closer.closed().await,
        }
    }

    /// A signal that the connection closed, which keeps nothing open: for
    /// something that must end with the connection without holding it.
    pub fn closed_signal(&self) -> ClosedSignal {
        ClosedSignal(self.caller.closed.clone())
    }

    /// The close report, once the connection is closed and every pending call
    /// has failed.
    pub fn close_report(&self) -> Option<Arc<CloseReport>> {
        self.caller.report()
    }

    /// A snapshot of the connection's counters.
    pub fn stats(&self) -> RpcStats {
        self.caller.shared.counters.snapshot()
    }
}

/// Becomes ready once the connection of an [`RpcClient`] has closed
/// ([`RpcClient::closed_signal`]). Unlike the client, holding it keeps
/// neither the connection nor the rpc loop alive.
#[derive(Debug, Clone)]
pub struct ClosedSignal(watch::Receiver<Option<Arc<CloseReport>>>);

impl ClosedSignal {
    /// Waits until the connection is closed (or its loop is gone).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait(&mut self) {
        // An error means the loop ended without a report: closed as well.
        let _ = self.0.wait_for(Option::is_some).await;
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.0.borrow().is_some() || self.0.has_changed().is_err()
    }
}
