//! JSON-RPC over codexrt transports: envelopes, id correlation and inbound
//! routing, for `codex app-server` and any peer speaking its dialect.
//!
//! [`RpcClient::start`] takes a transport [`Connection`](codexrt_transport::Connection)
//! and spawns one loop that reads every inbound frame. It returns a cheap,
//! cloneable [`RpcClient`] for calls and notifications, and one
//! [`IncomingReceiver`] for everything the peer sends unasked.
//!
//! ```
//! use codexrt_rpc::{Incoming, RpcClient, RpcConfig};
//! use codexrt_transport::memory;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (client_side, mut server) = memory::pair(16);
//! let (client, mut incoming) = RpcClient::start(client_side, RpcConfig::new());
//!
//! // A peer that answers one call and then sends a notification.
//! let peer = tokio::spawn(async move {
//!     let request = server.receiver.recv().await.unwrap().unwrap();
//!     assert_eq!(request, r#"{"id":1,"method":"add","params":[2,3]}"#);
//!     server.sender.send(r#"{"id":1,"result":5}"#.into()).await.unwrap();
//!     server.sender.send(r#"{"method":"done"}"#.into()).await.unwrap();
//!     server // kept open until the end
//! });
//!
//! let sum: i64 = client.call("add", [2, 3]).await?;
//! assert_eq!(sum, 5);
//! match incoming.recv().await {
//!     Some(Incoming::Notification(notification)) => assert_eq!(notification.method, "done"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # let _server = peer.await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Messages
//!
//! Messages are JSON objects, one per frame, shaped as JSON-RPC 2.0 with or
//! without the `"jsonrpc"` member: inbound messages are accepted either way,
//! and outbound ones leave it out unless [`JsonRpcField::Include`] is
//! configured. Members this layer does not read are ignored. A UTF-8 byte
//! order mark at the start of a frame (some wrappers write one before the
//! first line, or before every line) is skipped; anywhere else it makes the
//! frame invalid, as in JSON. Each frame is parsed once; `params`, `result` and error `data` stay raw JSON
//! ([`RawValue`](serde_json::value::RawValue)) for the layer above to decode.
//! An [`InboundHandler`] that decodes params anyway may take notifications
//! and requests with their params not yet checked, and check them as it
//! decodes ([`InboundHandler::unchecked_notification`],
//! [`InboundHandler::unchecked_request`]): then even the params are read
//! once. This crate knows no method names.
//!
//! Outbound frames never contain a newline byte, so that line-framed media
//! can carry them; params and results that serialize to `null` are written as
//! such, except that `null` params are left out.
//!
//! A frame that is not a valid message (invalid JSON, a bad id, both a
//! result and an error, …) is reported as [`Incoming::Malformed`] with an
//! excerpt, counted in [`RpcStats::malformed_frames`], and the connection
//! carries on. Frames the transport had to skip are reported the same way.
//!
//! A malformed frame that has no `method` but a valid id (an integer or a
//! string) is an answer that cannot be read. If a call with that id is
//! waiting, the call fails at once with [`RpcError::MalformedResponse`],
//! whose report is the same as the one on the [`IncomingReceiver`]: the
//! caller learns its call is over, and observers of the report stream still
//! see every malformed frame. The id is found even when the frame fails to
//! deserialize, such as `{"id":7,"error":"boom"}` or an error object without
//! a `message`, by a second, lenient parse that only such frames pay for;
//! frames that are not JSON, not an object, or whose id is `null`, invalid
//! or repeated name no call. An unreadable answer to an abandoned call is
//! also counted in [`RpcStats::late_responses`]; one that matches no call is
//! only a malformed frame.
//!
//! # Frame size limit
//!
//! The transport owns the limit on the size of a frame (64 MiB by default
//! for a child process). It does not deliver a longer frame: it reports it
//! as soon as the limit is passed, with the frame's first bytes (1 KiB), and
//! skips the rest. This layer hands the report on as [`Incoming::Malformed`]
//! (a [`Malformation::Transport`]), and reads those first bytes for the id
//! of the call the frame answers, leniently, since the frame is cut: the
//! top-level members in order must show an integer or string `id` and a
//! `result` or `error` member, with no `method` before them. If they do and
//! that call is waiting, it fails at once with [`RpcError::FrameTooLarge`]
//! instead of waiting for its timeout. An answer whose `id` comes after a
//! long member names no call; its call waits for its timeout as before.
//!
//! # Calls
//!
//! Every call ends exactly once: with its result, the peer's error
//! ([`RpcError::Peer`]), an answer that cannot be read
//! ([`RpcError::MalformedResponse`], see [Messages](#messages)), an answer
//! over the frame size limit ([`RpcError::FrameTooLarge`], see
//! [Frame size limit](#frame-size-limit)), a timeout ([`RpcError::Timeout`], 60 s by default,
//! see [`RpcConfig::call_timeout`] and [`CallOptions`]), or the closing of the
//! connection ([`RpcError::Closed`], carrying the transport's
//! [`CloseReport`](codexrt_transport::CloseReport)). When the peer goes away,
//! every pending call fails within a second, and later calls fail at once
//! without writing anything. Dropping a call's future abandons it; an answer
//! that arrives for an abandoned call, for an unknown id or a second time for
//! the same id is counted in [`RpcStats`] and dropped, never handed to
//! another caller.
//!
//! At most [`RpcConfig::max_in_flight_calls`] of our calls (256 by default)
//! are on the wire at once, sent and unanswered; later calls wait for a slot
//! in the order they came, before anything of theirs is written. The wait
//! counts against the call's timeout: a call that expires while waiting
//! fails with [`RpcError::Timeout`] whose cause is
//! [`TimeoutCause::InFlightLimit`], never sent.
//!
//! # Incoming traffic and buffering
//!
//! Nothing the peer sends is dropped while someone takes it. There are two
//! ways to take it:
//!
//! - [`RpcClient::start`] gives an [`IncomingReceiver`]: notifications,
//!   server requests and malformed-frame reports arrive in order on one
//!   queue of [`RpcConfig::incoming_capacity`] items (4096 by default). When
//!   the queue is full the loop stops reading frames until there is room,
//!   which holds the peer back (its writes block once the pipe is full).
//!   Answers that arrive behind the unread items wait for them too.
//! - [`RpcClient::start_with_handler`] calls an [`InboundHandler`] on the
//!   loop for each item, with the method and the params borrowed from the
//!   frame: no copy, no queue, no task in between. The handler never waits,
//!   so answers are routed the moment they are read, whatever else is
//!   unread. This is how `codexrt-core` routes.
//!
//! Each server request comes with a [`Responder`] that answers it exactly
//! once; dropping it unanswered replies with [`ErrorObject::INTERNAL_ERROR`].
//! At most [`RpcConfig::max_unanswered_requests`] (256 by default) server
//! requests may be handed out and unanswered (or answered but not yet
//! written); beyond that, requests are answered with
//! [`ErrorObject::OVERLOADED`] and counted in
//! [`RpcStats::overloaded_requests`]. The loop keeps
//! 32 reply slots of its own for these error replies, so refusing a request
//! never waits; if even those are taken because the peer stops reading while
//! it keeps sending requests, the refusal is dropped and counted in
//! [`RpcStats::unsent_replies`].
//!
//! Once the [`IncomingReceiver`] is dropped, server requests are answered
//! with [`ErrorObject::METHOD_NOT_FOUND`] and notifications are discarded,
//! both counted.
//!
//! # Lifetime
//!
//! [`RpcClient::shutdown`] closes the connection through the transport. When
//! every [`RpcClient`] and the [`IncomingReceiver`] are dropped, the loop ends
//! and drops its share of the transport, which then tears the medium down
//! (for a child process: kills it).
//!
//! # Boundaries
//!
//! This crate is the only one that parses frames, and it knows ids and
//! envelopes, never method names: what a method means and what its params look
//! like is `codexrt-protocol`'s, and deciding what to call and how to answer
//! the server is `codexrt-core`'s. Below it, `codexrt-transport` owns the
//! medium, its size limits and the close report this crate passes on.
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features.

mod call;
mod client;
mod config;
mod driver;
mod encode;
mod envelope;
mod error;
mod id;
mod incoming;
mod pending;
mod responder;
mod sniff;
mod stats;
mod sync;

pub use client::{ClosedSignal, RpcClient};
pub use config::{CallOptions, JsonRpcField, RpcConfig};
pub use envelope::{Malformation, MalformedFrame};
pub use error::{ErrorObject, RpcError, TimeoutCause};
pub use id::RequestId;
pub use incoming::{
    InboundHandler, Incoming, IncomingReceiver, IncomingRequest, Notification, UncheckedRequest,
};
pub use pending::OnAnswer;
pub use responder::Responder;
pub use stats::RpcStats;

/// What [`classify_frame`] made of a frame.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKind {
    /// The answer to a call.
    Response,
    /// A request of the peer.
    Request,
    /// A notification of the peer.
    Notification,
    /// Not a valid message.
    Malformed {
        /// The malformation.
        problem: Malformation,
        /// Whether it still names the call it answers (which then fails).
        answers: bool,
    },
}

/// Classifies one inbound frame exactly as the rpc loop does. For the
/// workspace's fuzz harness only: hidden, and not part of the API.
#[doc(hidden)]
pub fn classify_frame(frame: &[u8]) -> FrameKind {
    match envelope::parse(frame) {
        Ok(envelope::Message::Response { .. }) => FrameKind::Response,
        Ok(envelope::Message::Request { .. }) => FrameKind::Request,
        Ok(envelope::Message::Notification { .. }) => FrameKind::Notification,
        Err(rejected) => FrameKind::Malformed {
            problem: rejected.frame.problem,
            answers: rejected.answer_to.is_some(),
        },
    }
}
