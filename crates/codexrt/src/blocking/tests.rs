//! The blocking client's refusals, without codex: inside a tokio runtime,
//! and a codex that cannot start. The compatibility suite runs it against
//! the real codex.

use codexrt_core::CoreError;

use super::Client;
use crate::{ClientConfig, ClientError};

#[test]
fn connecting_inside_a_tokio_runtime_is_refused_before_anything_starts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // A program that does not exist: were it started, the error would be
    // another.
    let config = ClientConfig::new().program("codexrt-test-no-such-program");
    let connected = runtime.block_on(async { Client::connect(config) });
    assert!(
        matches!(connected, Err(ClientError::InsideAsyncRuntime)),
        "{connected:?}"
    );
    let connected =
        runtime.block_on(async { Client::connect_url("ws://127.0.0.1:9", ClientConfig::new()) });
    assert!(
        matches!(connected, Err(ClientError::InsideAsyncRuntime)),
        "{connected:?}"
    );
}

#[test]
fn a_codex_that_cannot_start_is_the_async_clients_error() {
    let config = ClientConfig::new().program("codexrt-test-no-such-program");
    let connected = Client::connect(config);
    assert!(
        matches!(connected, Err(ClientError::Runtime(CoreError::Spawn(_)))),
        "{connected:?}"
    );
    // A URL that is not a WebSocket one is refused as the async client
    // refuses it.
    let connected = Client::connect_url("http://127.0.0.1:9", ClientConfig::new());
    assert!(
        matches!(connected, Err(ClientError::Connect(_))),
        "{connected:?}"
    );
}

#[test]
fn the_errors_say_what_happened() {
    assert_eq!(
        ClientError::InsideAsyncRuntime.to_string(),
        "the blocking API cannot wait inside an async runtime; use the async client there"
    );
    let error = ClientError::BlockingRuntime(std::io::Error::other("no threads"));
    assert_eq!(
        error.to_string(),
        "cannot start the blocking client's runtime"
    );
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("no threads"));
}
