//! Settings of a connection ([`RpcConfig`]) and of one call ([`CallOptions`]).

use std::time::Duration;

/// Whether outbound messages carry `"jsonrpc": "2.0"`.
///
/// Inbound messages are accepted either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JsonRpcField {
    /// Leave the member out, as `codex app-server` does. The default.
    #[default]
    Omit,
    /// Write `"jsonrpc":"2.0"` first in every message, for strict JSON-RPC 2.0
    /// peers.
    Include,
}

/// Settings of an rpc connection, passed to [`RpcClient::start`](crate::RpcClient::start).
///
/// ```
/// use std::time::Duration;
/// use codexrt_rpc::{JsonRpcField, RpcConfig};
///
/// let config = RpcConfig::new()
///     .jsonrpc_field(JsonRpcField::Include)
///     .call_timeout(Duration::from_secs(5));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct RpcConfig {
    pub(crate) jsonrpc: JsonRpcField,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) incoming_capacity: usize,
    pub(crate) max_unanswered_requests: usize,
    pub(crate) max_in_flight_calls: usize,
}

impl RpcConfig {
    /// The default timeout of a call: 60 seconds.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default capacity of the incoming queue: 4096 items.
    pub const DEFAULT_INCOMING_CAPACITY: usize = 4096;
    /// The default limit of server requests handed out and not yet answered:
    /// 256.
    pub const DEFAULT_MAX_UNANSWERED_REQUESTS: usize = 256;

    /// The default limit of our calls sent and not yet answered: 256.
    pub const DEFAULT_MAX_IN_FLIGHT_CALLS: usize = 256;

    /// The largest value the count settings take
    /// ([`incoming_capacity`](Self::incoming_capacity),
    /// [`max_unanswered_requests`](Self::max_unanswered_requests),
    /// [`max_in_flight_calls`](Self::max_in_flight_calls)): larger values
    /// are lowered to it. It is Tokio's limit for a semaphore or a bounded
    /// queue (`usize::MAX >> 3`), far beyond what memory allows anyway.
    pub const MAX_COUNT: usize = tokio::sync::Semaphore::MAX_PERMITS;

    /// The default settings.
    pub fn new() -> Self {
        RpcConfig {
            jsonrpc: JsonRpcField::Omit,
            call_timeout: Some(Self::DEFAULT_CALL_TIMEOUT),
            incoming_capacity: Self::DEFAULT_INCOMING_CAPACITY,
            max_unanswered_requests: Self::DEFAULT_MAX_UNANSWERED_REQUESTS,
            max_in_flight_calls: Self::DEFAULT_MAX_IN_FLIGHT_CALLS,
        }
    }

    /// Whether outbound messages carry `"jsonrpc": "2.0"`. The default is
    /// [`JsonRpcField::Omit`].
    #[must_use]
    pub fn jsonrpc_field(mut self, field: JsonRpcField) -> Self {
        self.jsonrpc = field;
        self
    }

    /// How long a call waits for its answer unless its [`CallOptions`] say
    /// otherwise; longer than [`MAX_WAIT`](codexrt_transport::MAX_WAIT)
    /// counts as `MAX_WAIT`. The default is
    /// [`RpcConfig::DEFAULT_CALL_TIMEOUT`] (60 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout.min(codexrt_transport::MAX_WAIT));
        self
    }

    /// Calls wait for their answer without a time limit unless their
    /// [`CallOptions`] set one. The default is a 60 s timeout.
    #[must_use]
    pub fn no_call_timeout(mut self) -> Self {
        self.call_timeout = None;
        self
    }

    /// How many items (notifications, server requests, malformed-frame
    /// reports) the queue of an [`IncomingReceiver`](crate::IncomingReceiver)
    /// holds (at least 1, at most [`RpcConfig::MAX_COUNT`]); when it is full, the connection stops reading
    /// until there is room. The default is
    /// [`RpcConfig::DEFAULT_INCOMING_CAPACITY`] (4096).
    #[must_use]
    pub fn incoming_capacity(mut self, capacity: usize) -> Self {
        self.incoming_capacity = capacity.clamp(1, Self::MAX_COUNT);
        self
    }

    /// How many server requests may be handed out and not yet answered (at
    /// least 1, at most [`RpcConfig::MAX_COUNT`]). Beyond it, server requests are answered at once with
    /// [`ErrorObject::OVERLOADED`](crate::ErrorObject::OVERLOADED). The
    /// default is [`RpcConfig::DEFAULT_MAX_UNANSWERED_REQUESTS`] (256).
    #[must_use]
    pub fn max_unanswered_requests(mut self, limit: usize) -> Self {
        self.max_unanswered_requests = limit.clamp(1, Self::MAX_COUNT);
        self
    }

    /// How many of our calls may be on the wire at once, sent and not yet
    /// answered (at least 1, at most [`RpcConfig::MAX_COUNT`]). A call
    /// beyond it waits for a slot before its request is written; slots go
    /// to waiting calls in the order they asked (first come, first served),
    /// as earlier calls end. A call ends, and frees its slot, with its
    /// answer, its timeout, its cancellation (the future dropped) or the
    /// closing of the connection; a request whose call timed out or was
    /// dropped may still be pending at the peer.
    ///
    /// The wait for a slot counts against the call's timeout: a call still
    /// waiting when it expires fails with [`RpcError::Timeout`](crate::RpcError::Timeout)
    /// whose cause is [`TimeoutCause::InFlightLimit`](crate::TimeoutCause::InFlightLimit),
    /// and nothing of it was sent. Dropping a waiting call gives up its
    /// place. The default is [`RpcConfig::DEFAULT_MAX_IN_FLIGHT_CALLS`]
    /// (256).
    #[must_use]
    pub fn max_in_flight_calls(mut self, limit: usize) -> Self {
        self.max_in_flight_calls = limit.clamp(1, Self::MAX_COUNT);
        self
    }
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig::new()
    }
}

/// Settings of one call, for [`RpcClient::call_with`](crate::RpcClient::call_with)
/// and [`RpcClient::call_raw`](crate::RpcClient::call_raw).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    pub(crate) timeout: TimeoutSetting,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum TimeoutSetting {
    #[default]
    Connection,
    After(Duration),
    Never,
}

impl CallOptions {
    /// Options that use the connection's defaults.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Fails the call with [`RpcError::Timeout`](crate::RpcError::Timeout)
    /// when no answer arrived within `timeout`, counted from the first poll of
    /// the call's future and including any wait for room to send the request.
    /// Longer than [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as
    /// `MAX_WAIT`. The default is the connection's
    /// [`RpcConfig::call_timeout`] (60 s unless configured).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = TimeoutSetting::After(timeout.min(codexrt_transport::MAX_WAIT));
        self
    }

    /// Waits for the answer without a time limit: the call then ends only with
    /// an answer or when the connection closes. The default is the
    /// connection's [`RpcConfig::call_timeout`].
    #[must_use]
    pub fn no_timeout(mut self) -> Self {
        self.timeout = TimeoutSetting::Never;
        self
    }

    pub(crate) fn resolve(self, config_timeout: Option<Duration>) -> Option<Duration> {
        match self.timeout {
            TimeoutSetting::Connection => config_timeout,
            TimeoutSetting::After(timeout) => Some(timeout),
            TimeoutSetting::Never => None,
        }
    }
}
