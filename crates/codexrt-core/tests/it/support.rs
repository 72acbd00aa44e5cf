//! Shared helpers: a config with short limits and a runtime over a fake.

use std::time::Duration;

use codexrt_core::{CoreError, Runtime, RuntimeConfig};
use codexrt_testkit::fake::{FakeHandle, FakeScript, FakeServer};

/// A config whose limits keep failing tests short.
pub(crate) fn config() -> RuntimeConfig {
    RuntimeConfig::new("codexrt-tests", "0.0.1")
        .shutdown_grace(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(10))
}

/// Connects a runtime with `config` to a fake playing `script`.
pub(crate) async fn connect_with(
    script: FakeScript,
    config: RuntimeConfig,
) -> (Result<Runtime, CoreError>, FakeHandle) {
    let (connection, fake) = FakeServer::new(script).connect();
    (Runtime::connect(connection, config).await, fake)
}

/// Connects a runtime with the default test config; the handshake must pass.
pub(crate) async fn connect(script: FakeScript) -> (Runtime, FakeHandle) {
    let (runtime, fake) = connect_with(script, config()).await;
    (runtime.expect("handshake"), fake)
}
