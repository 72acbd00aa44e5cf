//! The typed wire protocol of `codex app-server`, generated from the JSON
//! Schema the codex binary itself prints (`codex app-server
//! generate-json-schema`).
//!
//! This crate is pure data: serde types for every params and response,
//! the method names, traits tying each params type to its method and
//! response, and a map of which codex versions have which methods. It does
//! no IO; `codexrt-rpc` moves the messages and `codexrt-core` runs the
//! conversation.
//!
//! ```
//! use codexrt_protocol::types::{ThreadStartParams, TurnStatus};
//! use codexrt_protocol::{ClientRequest, ServerNotification};
//! use serde_json::value::RawValue;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A notification as the rpc layer hands it over: a method and raw params.
//! let params = RawValue::from_string(
//!     r#"{"threadId":"t1","turn":{"id":"u1","items":[],"status":"completed"}}"#.to_owned(),
//! )?;
//! match ServerNotification::decode("turn/completed", Some(&params))? {
//!     ServerNotification::TurnCompleted(done) => {
//!         assert_eq!(done.thread_id, "t1");
//!         assert_eq!(done.turn.status, TurnStatus::Completed);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // A request names its method and response type through its params type.
//! let start = ThreadStartParams {
//!     cwd: Some("/srv/repo".to_owned()),
//!     ..ThreadStartParams::default()
//! };
//! assert_eq!(ThreadStartParams::METHOD, "thread/start");
//! assert_eq!(serde_json::to_string(&start)?, r#"{"cwd":"/srv/repo"}"#);
//! assert!(start.experimental_fields().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # Where the types come from
//!
//! `cargo xtask schema` vendors the schema of every supported codex version
//! under `crates/codexrt-protocol/schema/<version>/` (stable and experimental
//! flavours plus a method manifest); `cargo xtask codegen` turns them into
//! `src/generated/`. To move to a new codex version, add it to the supported
//! list, run both commands and review the diff. The types follow the pinned
//! version ([`PINNED_VERSION`]); [`types`] documents the mapping rules,
//! including the backward compatibility rule that keeps fields optional when
//! an older supported version may leave them out.
//!
//! # Tolerance
//!
//! Newer servers add methods, fields, enum values and variants. None of that
//! fails decoding here: unknown methods become `Unknown` variants of
//! [`ServerNotification`] and [`ServerRequest`], unknown fields are ignored,
//! unknown enum values and union variants are kept in `Unknown`.
//!
//! # Boundaries
//!
//! This crate is data: types, method names and the per-version capability
//! tables. It sends nothing and holds no state; it does not refuse calls
//! itself (`codexrt-core` consults [`method_availability`] and
//! [`ClientRequest::experimental_fields`] before sending), and it does not
//! frame or correlate messages (`codexrt-rpc`). Its generated files are never
//! edited by hand: `cargo xtask codegen` writes them from the vendored
//! schemas, and building the crate needs neither codex nor npm.
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features.

mod availability;
mod error;
mod generated;
mod lenient;
mod message;
mod request;
mod string_enum;
mod tagged;

/// What the generated types expand to, for generated code only; not part
/// of the API and exempt from semver.
#[doc(hidden)]
pub mod __private {
    pub use crate::__string_enum as string_enum;
    pub use crate::lenient::lenient;
    pub use crate::string_enum::WireStr;

    /// The decoding of tagged unions (see the module's own doc).
    pub mod tagged {
        pub use crate::tagged::{
            Raw, Tag, attempt, capture, fall_back, in_one_pass, known, members, one_pass,
        };
    }
}

pub use availability::{
    Api, Availability, MethodKind, available_methods, is_experimental, method_availability, twin_of,
};
pub use error::DecodeError;
pub use generated::versions::{
    KNOWN_VERSION_NUMBERS, KNOWN_VERSIONS, PINNED_VERSION, TWIN_VERSIONS,
};
pub use generated::{ServerNotification, ServerRequest, methods, types};
pub use request::{ClientNotification, ClientRequest, ServerRequestParams};
