//! One task per endpoint: connect, watch the connection, and after a loss
//! (or a failed attempt) wait out the backoff and connect again, until the
//! pool shuts down or the retries run out.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::probe::{readyz, readyz_authority};
use super::slots::Shared;
use super::{Backoff, EndpointError, PoolEndpoint};
use crate::Client;

/// The most of an error kept in the figures.
const MAX_ERROR_LEN: usize = 300;

/// What an endpoint's task needs.
pub(crate) struct Supervisor {
    pub(crate) index: usize,
    pub(crate) endpoint: PoolEndpoint,
    pub(crate) shared: Arc<Shared>,
    pub(crate) backoff: Backoff,
    pub(crate) probe_timeout: Duration,
    /// How often a connected `ws://` endpoint is probed again.
    pub(crate) probe_interval: Option<Duration>,
    /// `true` once the pool shuts down.
    pub(crate) stop: watch::Receiver<bool>,
    /// The outcome of the first attempt, for [`Pool::connect`](super::Pool::connect).
    pub(crate) first: Option<oneshot::Sender<Result<(), EndpointError>>>,
}

impl Supervisor {
    pub(crate) async fn run(mut self) {
        // Failed attempts in a row, and delays waited since the endpoint
        // was last healthy (a loss waits too, failures or not).
        let mut failures: u32 = 0;
        let mut retries: u32 = 0;
        let mut stop = self.stop.clone();
        loop {
            let attempt = tokio::select! {
                // Stopping wins: a connection made after the pool shut
                // down would only be killed again.
                biased;
                () = stopped(&mut stop) => return,
                attempt = self.connect() => attempt,
            };
            match attempt {
                Ok(client) => {
                    failures = 0;
                    retries = 0;
                    if let Some(late) = self.shared.connected(self.index, client.clone()) {
                        let _ = late.shutdown().await;
                        return;
                    }
                    // Only now: `Pool::connect` returns with the endpoint
                    // already taking work.
                    if let Some(first) = self.first.take() {
                        let _ = first.send(Ok(()));
                    }
                    // The pool's clients have no reconnect policy: this
                    // runtime is the client's for good.
                    let runtime = client.runtime();
                    let report = loop {
                        tokio::select! {
                            biased;
                            () = stopped(&mut stop) => return,
                            report = runtime.closed() => break report,
                            ready = self.probe_later() => match ready {
                                Ok(()) => self.shared.ready_again(self.index),
                                Err(detail) => self.shared.not_ready(self.index, detail),
                            },
                        }
                    };
                    let old = self.shared.lost(self.index, report);
                    // The dead client is dropped here, outside the lock; its
                    // transport has already reaped the process.
                    drop((old, client));
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    self.shared
                        .attempt_failed(self.index, failures, one_line(&error));
                    if let Some(first) = self.first.take() {
                        let _ = first.send(Err(error));
                    }
                    if self
                        .backoff
                        .retry_limit()
                        .is_some_and(|limit| failures > limit)
                    {
                        self.shared.given_up(self.index);
                        return;
                    }
                }
            }
            let delay = self.backoff.delay(retries, random_unit());
            retries = retries.saturating_add(1);
            tokio::select! {
                biased;
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// The periodic readiness probe of a connected `ws://` endpoint: waits
    /// a period, then asks `/readyz`. Never resolves for other endpoints or
    /// without a period.
    async fn probe_later(&self) -> Result<(), String> {
        let authority = self
            .endpoint
            .client_config()
            .websocket_endpoint()
            .and_then(readyz_authority);
        let (Some(authority), Some(period)) = (authority, self.probe_interval) else {
            return std::future::pending().await;
        };
        tokio::time::sleep(period).await;
        readyz(&authority, self.probe_timeout).await
    }

    /// One attempt: the readiness probe of a `ws://` endpoint, then the
    /// connection and handshake.
    async fn connect(&self) -> Result<Client, EndpointError> {
        // Two recoveries of one endpoint would race: the pool's own is the
        // one that counts, and a client's policy is left out.
        let config = self.endpoint.client_config().clone().without_recovery();
        if let Some(authority) = config.websocket_endpoint().and_then(readyz_authority) {
            readyz(&authority, self.probe_timeout)
                .await
                .map_err(|detail| EndpointError::NotReady { detail })?;
        }
        let client = match self.endpoint.connector_fn() {
            Some(connector) => {
                let connection = connector
                    .connect()
                    .await
                    .map_err(crate::ClientError::Connect)?;
                Client::connect_with(connection, config).await?
            }
            None => Client::connect(config).await?,
        };
        Ok(client)
    }
}

/// Resolves once the pool stops (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// An error with its causes, on one line of at most [`MAX_ERROR_LEN`]
/// bytes.
fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line
}

/// A number drawn evenly from `[0, 1)`, from the standard library's
/// randomly keyed hasher: jitter needs no more than that.
pub(crate) fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11;
    // 53 bits fit an f64's mantissa exactly.
    bits as f64 / (1u64 << 53) as f64
}
