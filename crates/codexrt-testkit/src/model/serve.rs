//! The scripted model server's insides: the shared record, the accept loop
//! and the handler that turns one HTTP request into a scripted response.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::reply::ReplyKind;
use super::stream::{self, EventStreamBody};
use crate::{ModelRequest, Reply, Script, ScriptError};

/// The path codex posts model requests to, given a `base_url` ending in `/v1`.
pub(crate) const RESPONSES_PATH: &str = "/v1/responses";

type ResponseBody = Either<Full<Bytes>, EventStreamBody>;

/// What the server's tasks and its handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of model requests recorded so far, for waiters.
    pub(crate) served: watch::Sender<usize>,
}

/// The script and everything recorded. The lock is held only for short,
/// synchronous steps, never across an await.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) script: Script,
    pub(crate) requests: Vec<ModelRequest>,
    /// Model requests let go by `ModelServer::forget_requests`, still
    /// counted in the indexes of later ones.
    pub(crate) forgotten: usize,
    pub(crate) other_requests: Vec<ModelRequest>,
    pub(crate) errors: Vec<ScriptError>,
}

impl Shared {
    pub(crate) fn new(script: Script) -> Shared {
        Shared {
            state: Mutex::new(State {
                script,
                requests: Vec::new(),
                forgotten: 0,
                other_requests: Vec::new(),
                errors: Vec::new(),
            }),
            served: watch::Sender::new(0),
        }
    }

    /// The state. A panic while it was held (only a responder can panic, and
    /// that is caught) leaves it consistent, so poisoning is ignored.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts connections until `stop` fires or its sender is dropped, then
/// aborts and awaits every connection task, so nothing outlives the server.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // Stopping wins over a pending accept, so a stopped server takes
            // no new connection.
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    connections.spawn(serve_connection(stream, shared));
                }
                Err(error) => {
                    // Running out of descriptors is the usual cause; pausing
                    // keeps the loop from spinning while it lasts.
                    tracing::warn!(%error, "model server failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            // Reaps finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        // codex hanging up mid-stream (an interrupted turn) ends up here;
        // it is not a failure of the server.
        tracing::debug!(%error, "model server connection ended");
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            tracing::debug!(%error, "model server could not read a request body");
            return Ok(full(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "unreadable body",
            ));
        }
    };
    let mut record = ModelRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: Value::Null,
    };
    tracing::debug!(method = %record.method, path = %record.path, "model server request");

    if parts.method != Method::POST || record.path != RESPONSES_PATH {
        record.body = lenient_body(&bytes);
        let message = format!(
            "codexrt-testkit model server: no route for {} {}",
            record.method, record.path
        );
        shared.state().other_requests.push(record);
        return Ok(full(StatusCode::NOT_FOUND, "text/plain", message));
    }

    let parsed = serde_json::from_slice::<Value>(&bytes);
    let (index, reply) = {
        let mut state = shared.state();
        let index = state.forgotten + state.requests.len();
        let reply = match parsed {
            Ok(body) => {
                record.body = body;
                state.script.next(&record, index)
            }
            Err(error) => {
                record.body = lenient_body(&bytes);
                Err(ScriptError::InvalidBody {
                    request: index,
                    error: error.to_string(),
                })
            }
        };
        state.requests.push(record);
        let reply = reply.and_then(|reply| check(reply, index));
        if let Err(error) = &reply {
            state.errors.push(error.clone());
        }
        // Published under the lock, so that concurrent requests can only
        // raise the count, never set it back.
        shared
            .served
            .send_replace(state.forgotten + state.requests.len());
        (index, reply)
    };

    Ok(match reply {
        Ok(reply) => respond(&reply, index),
        Err(error) => {
            let status = match error {
                ScriptError::InvalidBody { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let body = serde_json::json!({
                "error": {
                    "message": format!("codexrt-testkit model server: {error}"),
                    "type": "server_error",
                }
            });
            full(status, "application/json", body.to_string())
        }
    })
}

/// Refuses replies that cannot be sent as given: a 1xx status cannot end a
/// response, and numbers outside 100–999 are no status at all.
fn check(reply: Reply, index: usize) -> Result<Reply, ScriptError> {
    if let ReplyKind::Fail { status, .. } = &reply.kind
        && !StatusCode::from_u16(*status).is_ok_and(|status| !status.is_informational())
    {
        return Err(ScriptError::InvalidReply {
            request: index,
            reason: format!("{status} is not a final HTTP status (200-999)"),
        });
    }
    Ok(reply)
}

fn respond(reply: &Reply, index: usize) -> Response<ResponseBody> {
    if let ReplyKind::Fail { status, body } = &reply.kind {
        // `check` let only valid statuses through.
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return full(status, "application/json", body.clone());
    }
    let steps = stream::steps(reply, index).unwrap_or_default();
    let mut response = Response::new(Either::Right(EventStreamBody::new(steps)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn full(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// JSON when the bytes are JSON, text when they are not, `null` when empty.
fn lenient_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
