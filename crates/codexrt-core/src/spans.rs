//! The runtime's `tracing` spans: one per connection, per turn, per call
//! and per server request, named and shaped as `docs/observability.md`
//! describes. Without a subscriber that wants them, each is a disabled span
//! and nothing is formatted, timed or allocated for it.

use std::ffi::OsStr;
use std::fmt;

use codexrt_rpc::RequestId;
use tokio::time::Instant;
use tracing::Span;
use tracing::field::{Empty, display};

use crate::CoreError;

/// What a connection span's `endpoint` says.
pub(crate) enum Endpoint<'a> {
    /// A name given in the config, or `connection`.
    Named(&'a str),
    /// A child started from this program: `stdio:PROGRAM`.
    Stdio(&'a OsStr),
}

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Named(name) => Bounded(name).fmt(f),
            Endpoint::Stdio(program) => write!(f, "stdio:{}", Bounded(&program.to_string_lossy())),
        }
    }
}

/// The span of one connection: `endpoint` now, `pid` for a child process,
/// `codex_version` once the handshake told it.
pub(crate) fn connection(endpoint: Endpoint<'_>) -> Span {
    tracing::info_span!(
        "codexrt.connection",
        endpoint = %endpoint,
        pid = Empty,
        codex_version = Empty,
    )
}

/// The span of one turn, a child of `parent`; `turn_id` is recorded once
/// `turn/start` answered.
pub(crate) fn turn(parent: &Span, thread_id: &str, model: Option<&str>) -> Span {
    let span = tracing::info_span!(
        parent: parent,
        "codexrt.turn",
        thread_id = %Bounded(thread_id),
        turn_id = Empty,
        model = Empty,
    );
    if let Some(model) = model {
        span.record("model", display(Bounded(model)));
    }
    span
}

/// The span of one server request, a child of `parent` (its turn's span,
/// else the connection's); `decision` is recorded when it is answered or
/// settled, `hook` by the hooks that decided it.
pub(crate) fn server_request(parent: &Span, kind: &str, id: &RequestId) -> Span {
    tracing::info_span!(
        parent: parent,
        "codexrt.server_request",
        kind = %Bounded(kind),
        id = %ShownId(id),
        decision = Empty,
        hook = Empty,
    )
}

/// The caller's current span when there is one, else `fallback`: a call or
/// a turn nests under the work that made it (a facade thread's span, the
/// user's own), and under the connection when it was made outside any span.
pub(crate) fn contextual_or(fallback: &Span) -> Span {
    let current = Span::current();
    if current.is_none() {
        fallback.clone()
    } else {
        current
    }
}

/// The span of one of our calls, `codexrt.request`, with its `outcome` and
/// `duration_ms` recorded when it ends; a call whose future is dropped
/// first ends as `cancelled`.
pub(crate) struct RequestSpan {
    span: Span,
    /// Set only when a subscriber takes the span: a disabled one is not
    /// timed.
    started: Option<Instant>,
}

impl RequestSpan {
    /// Opens the span of a call of `method`, a child of `parent`; `id` is
    /// recorded by the rpc layer as it chooses the id.
    pub(crate) fn start(method: &str, parent: &Span) -> RequestSpan {
        let span = tracing::info_span!(
            parent: parent,
            "codexrt.request",
            method = %Bounded(method),
            id = Empty,
            outcome = Empty,
            duration_ms = Empty,
        );
        let started = (!span.is_disabled()).then(Instant::now);
        RequestSpan { span, started }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Records how the call ended.
    pub(crate) fn end<T>(mut self, result: &Result<T, CoreError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(error) => outcome_of(error),
        };
        self.record(outcome);
    }

    fn record(&mut self, outcome: &'static str) {
        if let Some(started) = self.started.take() {
            let elapsed = started.elapsed().as_millis();
            self.span.record("outcome", display(outcome));
            self.span
                .record("duration_ms", u64::try_from(elapsed).unwrap_or(u64::MAX));
        }
    }
}

impl Drop for RequestSpan {
    fn drop(&mut self) {
        // `end` took the start already; only a dropped call gets here with it.
        self.record("cancelled");
    }
}

/// The `outcome` of a call that failed: who or what ended it, in the terms
/// [`CoreError`] keeps apart.
fn outcome_of(error: &CoreError) -> &'static str {
    match error {
        CoreError::Peer { .. } => "error",
        CoreError::Overloaded { .. } => "overloaded",
        CoreError::Closed { .. } => "closed",
        CoreError::Timeout { .. } => "timeout",
        CoreError::Decode { .. }
        | CoreError::MalformedResponse { .. }
        | CoreError::FrameTooLarge { .. } => "unreadable",
        CoreError::Encode { .. } => "unsent",
        _ => "failed",
    }
}

/// How many bytes of text a span field shows: ids, versions and model
/// names are far shorter; a peer's longer text is cut.
const FIELD_TEXT: usize = 256;

/// Text for a span field, redacted and cut at [`FIELD_TEXT`] bytes as
/// [`redact::bounded`](codexrt_transport::redact::bounded) does, and
/// formatted only when a subscriber records it.
pub(crate) struct Bounded<'a>(pub(crate) &'a str);

impl fmt::Display for Bounded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&codexrt_transport::redact::bounded(self.0, FIELD_TEXT))
    }
}

/// A request id for a log line or a span: a string id is the peer's text,
/// so a long one is cut short.
pub(crate) struct ShownId<'a>(pub(crate) &'a RequestId);

impl fmt::Display for ShownId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        match self.0 {
            RequestId::String(id) => match id.char_indices().nth(SHOWN) {
                Some((end, _)) => write!(f, "{:?}… ({} bytes)", &id[..end], id.len()),
                None => write!(f, "{id:?}"),
            },
            id => write!(f, "{id}"),
        }
    }
}
