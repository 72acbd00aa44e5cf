//! [`Runtime`]: one conversation with a codex app-server, from spawn or
//! connect through the handshake and version check to shutdown, with typed
//! calls guarded by the server's version and negotiated API.

use std::sync::Arc;
use std::time::Duration;

use codexrt_protocol::types::{
    ClientInfo, InitializeCapabilities, InitializeParams, InitializeResponse,
    InitializedNotification,
};
use codexrt_protocol::{Api, Availability, ClientNotification, ClientRequest, MethodKind};
use codexrt_rpc::{CallOptions, OnAnswer, RpcClient, RpcConfig};
use codexrt_transport::{CloseReport, Connection, TransportError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{Instrument, Span};

use crate::events::{EventFilter, EventReceiver};
use crate::router::{Router, RouterShared};
use crate::server_request::{ServerRequestReceiver, Settled};
use crate::spans::{self, Bounded, Endpoint, RequestSpan};
use crate::turn_table::TurnTable;
use crate::{CoreError, RuntimeConfig, RuntimeStats, ServerInfo};

/// Whether the runtime still talks to its server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RuntimeState {
    /// The connection is open.
    Running,
    /// The connection is closed; the report says why.
    Closed(Arc<CloseReport>),
}

/// A running conversation with a codex app-server. Cheap to clone; every
/// clone talks to the same server.
///
/// When every clone is dropped, the router stops and the connection is torn
/// down (a child process is killed); call [`Runtime::shutdown`] for an
/// orderly, bounded stop.
#[derive(Debug, Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rpc: RpcClient,
    info: ServerInfo,
    api: Api,
    shutdown_grace: Duration,
    router: Arc<RouterShared>,
    shutdown: OnceCell<Result<Arc<CloseReport>, Arc<TransportError>>>,
    /// The `codexrt.connection` span: the connection's tasks run in it, and
    /// calls and turns made outside any span nest under it.
    span: Span,
}

impl Runtime {
    /// Starts `codex app-server` as [`RuntimeConfig::transport`] describes
    /// and connects to it.
    ///
    /// # Errors
    /// [`CoreError::Spawn`] when the program cannot be started; otherwise as
    /// for [`Runtime::connect`].
    ///
    /// # Cancel safety
    /// Not cancel safe: a child started before the future is dropped is
    /// killed when its connection is dropped, not shut down gracefully.
    pub async fn spawn(config: RuntimeConfig) -> Result<Runtime, CoreError> {
        let program = config.resolved_program();
        let span = match &config.endpoint {
            Some(endpoint) => spans::connection(Endpoint::Named(endpoint)),
            None => spans::connection(Endpoint::Stdio(&program)),
        };
        // The child's tasks start in the span, so their logs nest under it.
        let spawned = config
            .transport()
            .spawn()
            .instrument(span.clone())
            .await
            .map_err(CoreError::Spawn)?;
        span.record("pid", spawned.pid);
        Runtime::connect_in(spawned.connection, config, span).await
    }

    /// Runs the handshake over a connection of any transport: `initialize`
    /// with the client info and capabilities of `config`, the version
    /// check, then the `initialized` notification.
    ///
    /// # Errors
    /// [`CoreError::MissingUserAgent`], [`CoreError::InvalidUserAgent`],
    /// [`CoreError::IncompatibleVersion`], or the error of the `initialize`
    /// call or the `initialized` notification. On any of them the
    /// connection is shut down first; when that fails too, the error is
    /// [`CoreError::CompatibilityValidationWithShutdown`] carrying both.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the connection, which
    /// tears it down without a graceful shutdown.
    pub async fn connect(
        connection: Connection,
        config: RuntimeConfig,
    ) -> Result<Runtime, CoreError> {
        let endpoint = config.endpoint.as_deref().unwrap_or("connection");
        let span = spans::connection(Endpoint::Named(endpoint));
        Runtime::connect_in(connection, config, span).await
    }

    async fn connect_in(
        connection: Connection,
        config: RuntimeConfig,
        span: Span,
    ) -> Result<Runtime, CoreError> {
        let rpc_config = RpcConfig::new()
            .call_timeout(config.call_timeout)
            .max_in_flight_calls(config.max_in_flight_calls);
        let router = RouterShared::new(config.server_request_deadline);
        let handler = Router::new(Arc::clone(&router));
        // The rpc loop (and the router, its inbound handler) runs in the
        // connection's span.
        let rpc = span.in_scope(|| RpcClient::start_with_handler(connection, rpc_config, handler));
        match handshake(&rpc, &config, &span)
            .instrument(span.clone())
            .await
        {
            Ok(info) => Ok(Runtime {
                inner: Arc::new(Inner {
                    rpc,
                    info,
                    api: config.api,
                    shutdown_grace: config.shutdown_grace,
                    router,
                    shutdown: OnceCell::new(),
                    span,
                }),
            }),
            Err(error) => match rpc.shutdown(config.shutdown_grace).await {
                Ok(_) => Err(error),
                Err(shutdown) => Err(CoreError::CompatibilityValidationWithShutdown {
                    compatibility: Box::new(error),
                    shutdown: Arc::new(shutdown),
                }),
            },
        }
    }

    pub(crate) fn turns(&self) -> &Arc<TurnTable> {
        &self.inner.router.turns
    }

    /// The connection's `codexrt.connection` span (see
    /// `docs/observability.md`): the parent of the turns and calls made
    /// outside any span of their own, for work of yours that belongs to
    /// this connection.
    pub fn span(&self) -> &Span {
        &self.inner.span
    }

    /// The span a call or a turn made now nests under: the caller's
    /// current span, else the connection's.
    pub(crate) fn parent_span(&self) -> Span {
        spans::contextual_or(&self.inner.span)
    }

    /// Sends a call under a `codexrt.request` span, a child of `parent`,
    /// with `on_answer` run on the loop as the answer is read (see
    /// [`RpcClient::call_raw_observed`]), and decodes its answer as `R`.
    pub(crate) async fn traced_call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        on_answer: Option<OnAnswer>,
        parent: &Span,
    ) -> Result<R, CoreError> {
        traced_call(&self.inner.rpc, method, params, on_answer, parent).await
    }

    /// The server as the handshake described it.
    pub fn server_info(&self) -> &ServerInfo {
        &self.inner.info
    }

    /// The API negotiated in the handshake.
    pub fn api(&self) -> Api {
        self.inner.api
    }

    /// Calls a typed request and returns its typed response.
    ///
    /// Refused locally, without sending anything, when the method is
    /// `initialize` (the runtime ran the handshake when it connected), when
    /// the method or a field that is set is experimental and the runtime did not opt into
    /// the experimental API, or when
    /// [`method_availability`](codexrt_protocol::method_availability) says
    /// the server's version does not have the method. For a version newer
    /// than every known one, the newest known version's table decides (see
    /// [`ServerInfo::newer_than_known`]); a version older than every known
    /// one is not refused: nothing is known about it.
    ///
    /// # Errors
    /// [`CoreError::AlreadyInitialized`],
    /// [`CoreError::ExperimentalApiRequired`] and
    /// [`CoreError::MethodUnavailable`] (nothing sent);
    /// [`CoreError::Peer`] and [`CoreError::Overloaded`] when the server
    /// says no; [`CoreError::Closed`] when the connection is gone (with the
    /// exit status and stderr tail); [`CoreError::Timeout`];
    /// [`CoreError::Decode`], [`CoreError::MalformedResponse`] and
    /// [`CoreError::FrameTooLarge`] when the answer cannot be read;
    /// [`CoreError::Encode`] (nothing sent).
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call; the request may already have
    /// been sent, and a late answer is dropped.
    pub async fn call<P: ClientRequest>(&self, params: P) -> Result<P::Response, CoreError> {
        self.admit(&params)?;
        self.traced_call(P::METHOD, &params, None, &self.parent_span())
            .await
    }

    /// [`call`](Runtime::call) with per-call options, such as another time
    /// limit ([`CallOptions::timeout`]) or none
    /// ([`CallOptions::no_timeout`]) for a call whose answer takes as long
    /// as the work it starts (a `command/exec`).
    ///
    /// # Errors
    /// As for [`call`](Runtime::call).
    ///
    /// # Cancel safety
    /// As for [`call`](Runtime::call).
    pub async fn call_with<P: ClientRequest>(
        &self,
        params: P,
        options: CallOptions,
    ) -> Result<P::Response, CoreError> {
        self.admit(&params)?;
        Ok(self
            .inner
            .rpc
            .call_with(P::METHOD, &params, options)
            .await?)
    }

    /// Checks whether `params` may be sent, as [`Runtime::call`] does.
    ///
    /// # Errors
    /// [`CoreError::AlreadyInitialized`],
    /// [`CoreError::ExperimentalApiRequired`] or
    /// [`CoreError::MethodUnavailable`].
    pub fn admit<P: ClientRequest>(&self, params: &P) -> Result<(), CoreError> {
        if P::METHOD == <InitializeParams as ClientRequest>::METHOD {
            return Err(CoreError::AlreadyInitialized);
        }
        if self.inner.api == Api::Stable {
            if P::EXPERIMENTAL {
                return Err(CoreError::ExperimentalApiRequired {
                    method: P::METHOD,
                    fields: Vec::new(),
                });
            }
            let fields = params.experimental_fields();
            if !fields.is_empty() {
                return Err(CoreError::ExperimentalApiRequired {
                    method: P::METHOD,
                    fields,
                });
            }
        }
        let version = &self.inner.info.version;
        match crate::version::availability(
            MethodKind::ClientRequest,
            P::METHOD,
            version,
            self.inner.api,
        ) {
            Availability::Missing => Err(CoreError::MethodUnavailable {
                method: P::METHOD,
                version: version.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Calls `method` with untyped params and returns the untyped result:
    /// the escape hatch for methods this crate does not know. No version or
    /// API check is made, and nothing is refused: an `initialize` sent this
    /// way reaches the server, which answers it with an error (codex:
    /// -32600, "Already initialized") and goes on serving the connection.
    ///
    /// # Errors
    /// As for [`Runtime::call`], without the local refusals.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`].
    pub async fn call_raw(&self, method: &str, params: Value) -> Result<Value, CoreError> {
        self.traced_call(method, params, None, &self.parent_span())
            .await
    }

    /// The stream of server requests, the first time it is asked for;
    /// `None` afterwards. Until it is taken, and after it is dropped, every
    /// server request gets its safe answer at once. It ends when the
    /// connection closes, after the requests already queued.
    pub fn server_requests(&self) -> Option<ServerRequestReceiver> {
        self.inner
            .router
            .take_requests(self.inner.rpc.closed_signal())
    }

    /// A new observer stream of every server notification, from now on
    /// (nothing earlier is kept), with a queue of
    /// [`EVENT_QUEUE_CAPACITY`](crate::EVENT_QUEUE_CAPACITY). Any number
    /// may be open at once, each with its own queue: an observer that
    /// falls behind loses events of its own stream only, and is told how
    /// many ([`RuntimeEvent::Lagged`](crate::RuntimeEvent::Lagged)). Turns
    /// never lose anything, whatever observers do.
    pub fn events(&self) -> EventReceiver {
        self.events_with(EventFilter::all())
    }

    /// A new observer stream of the notifications `filter` takes, with its
    /// queue size. See [`Runtime::events`].
    pub fn events_with(&self, filter: EventFilter) -> EventReceiver {
        self.inner.router.events.subscribe(filter)
    }

    /// The runtime's counters of unusual traffic, the rpc connection's
    /// among them.
    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            rpc: self.inner.rpc.stats(),
            duplicate_server_requests: self.inner.router.duplicate_requests(),
            turn_threads: self.turns().threads(),
        }
    }

    /// Whether the connection is still open.
    pub fn state(&self) -> RuntimeState {
        match self.inner.rpc.close_report() {
            Some(report) => RuntimeState::Closed(report),
            None => RuntimeState::Running,
        }
    }

    /// Waits until the connection is closed and returns the report.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) -> Arc<CloseReport> {
        self.inner.rpc.closed().await
    }

    /// Shuts the server down: every server request still waiting gets its
    /// safe answer, then the connection closes through the transport's
    /// ladder (close stdin, SIGTERM, SIGKILL), each step bounded by
    /// [`RuntimeConfig::shutdown_grace`]. Idempotent: later calls return the
    /// first outcome.
    ///
    /// # Errors
    /// [`CoreError::Shutdown`] when the transport could not stop the server;
    /// the connection is closed from this side all the same.
    ///
    /// # Cancel safety
    /// Dropping the future does not undo a shutdown already requested; a
    /// later call finishes it.
    pub async fn shutdown(&self) -> Result<Arc<CloseReport>, CoreError> {
        let inner = &self.inner;
        let outcome = inner
            .shutdown
            .get_or_init(|| async {
                // The rpc shutdown writes these safe answers out before it
                // closes the connection.
                inner.router.settle_all(Settled::Shutdown);
                inner
                    .rpc
                    .shutdown(inner.shutdown_grace)
                    .await
                    .map_err(Arc::new)
            })
            .await;
        outcome.clone().map_err(CoreError::Shutdown)
    }
}

/// Sends a call under a `codexrt.request` span, a child of `parent`, and
/// decodes its answer as `R`; the span's outcome is the decoded one.
async fn traced_call<R: DeserializeOwned>(
    rpc: &RpcClient,
    method: &str,
    params: impl Serialize,
    on_answer: Option<OnAnswer>,
    parent: &Span,
) -> Result<R, CoreError> {
    let request = RequestSpan::start(method, parent);
    let call = rpc.call_raw_traced(
        method,
        params,
        CallOptions::new(),
        on_answer,
        request.span(),
    );
    let result = async {
        let raw = call.await?;
        serde_json::from_str(raw.get()).map_err(|source| CoreError::Decode {
            method: method.to_owned(),
            source,
        })
    }
    .instrument(request.span().clone())
    .await;
    request.end(&result);
    result
}

async fn handshake(
    rpc: &RpcClient,
    config: &RuntimeConfig,
    span: &Span,
) -> Result<ServerInfo, CoreError> {
    let capabilities = InitializeCapabilities {
        experimental_api: (config.api == Api::Experimental).then_some(true),
        opt_out_notification_methods: (!config.opt_out_notifications.is_empty())
            .then(|| config.opt_out_notifications.clone()),
        ..InitializeCapabilities::default()
    };
    let params = InitializeParams {
        capabilities: Some(capabilities),
        client_info: ClientInfo {
            name: config.client_name.clone(),
            title: None,
            version: config.client_version.clone(),
        },
    };
    let method = <InitializeParams as ClientRequest>::METHOD;
    let answer: Value = traced_call(rpc, method, &params, None, span).await?;
    // Checked before decoding, so that a server without a user agent is
    // told apart from an answer of the wrong shape.
    if answer.get("userAgent").is_none_or(Value::is_null) {
        return Err(CoreError::MissingUserAgent);
    }
    let response: InitializeResponse =
        serde_json::from_value(answer).map_err(|source| CoreError::Decode {
            method: method.to_owned(),
            source,
        })?;
    let info = ServerInfo::from_initialize(response)?;
    if !span.is_disabled() {
        let version = info.version.to_string();
        span.record("codex_version", tracing::field::display(Bounded(&version)));
    }
    config.compatibility.check(&info)?;
    if info.newer_than_known {
        warn_newer_than_known(&info.version);
    }
    rpc.notify(InitializedNotification::METHOD, InitializedNotification)
        .await?;
    Ok(info)
}

/// Says, once per handshake, that the server is newer than any version this
/// crate knows and what that means. The version is the peer's text, so it
/// is cut short when it is long (a prerelease tag can be).
fn warn_newer_than_known(detected: &semver::Version) {
    const SHOWN: usize = 64;
    let detected = detected.to_string();
    let shown = match detected.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &detected[..end]),
        None => detected,
    };
    let newest = crate::newest_known_version();
    tracing::warn!(
        detected = %shown,
        newest_known = %newest,
        "codex {shown} is newer than {newest}, the newest version codexrt knows: \
         the {newest} method table applies, and what codexrt does not know is kept raw"
    );
}
