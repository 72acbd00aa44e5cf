//! Connecting over the fake: the handshake's failures map onto the named
//! `ClientError` variants, and shutdown is idempotent.

use std::sync::Arc;

use codexrt::{ClientError, CompatibilityGuard};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use semver::Version;
use serde_json::{Value, json};

use crate::support::{config, connect, connect_with};

/// Connects to a fake that answers `initialize` with `answer`, and checks
/// the error's description; the fake must then see the client close.
async fn check(answer: Value, expected: &str) -> ClientError {
    let script = FakeScript::new()
        .step(Step::respond_to("initialize", answer))
        .step(Step::expect_close());
    let (client, fake) = connect_with(script, config()).await;
    let error = client.unwrap_err();
    assert_eq!(error.to_string(), expected);
    assert!(fake.finished().await.completed());
    error
}

#[tokio::test]
async fn handshake_failures_map_onto_named_errors() {
    let too_old = Handshake::new().version("0.100.0").initialize_result();
    let error = check(
        too_old,
        "codex 0.100.0 is too old: at least 0.150.0 is required (user agent \"fake/0.100.0 (Linux; x86_64)\"); \
         install a newer codex or point `CODEX_BIN` at one",
    )
    .await;
    match error {
        ClientError::IncompatibleCodexVersion {
            detected,
            required,
            user_agent,
        } => {
            assert_eq!(detected, Version::new(0, 100, 0));
            assert_eq!(required, Version::new(0, 150, 0));
            assert_eq!(user_agent, "fake/0.100.0 (Linux; x86_64)");
        }
        other => panic!("{other:?}"),
    }

    let mut missing = Handshake::new().initialize_result();
    missing["userAgent"] = Value::Null;
    let error = check(missing, "the `initialize` answer has no `userAgent`").await;
    assert!(matches!(error, ClientError::MissingInitializeUserAgent));

    let mut invalid = Handshake::new().initialize_result();
    invalid["userAgent"] = json!("no version here");
    let error = check(
        invalid,
        "cannot read a codex version from the user agent \"no version here\"",
    )
    .await;
    assert!(
        matches!(&error, ClientError::InvalidInitializeUserAgent { user_agent } if user_agent == "no version here"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_configured_guard_and_client_info_are_used() {
    let script = FakeScript::new()
        .handshake(Handshake::new().version("0.160.1"))
        .step(Step::expect_close());
    let guard = CompatibilityGuard::minimum(Version::new(0, 169, 0));
    let (client, fake) = connect_with(script, config().compatibility(guard)).await;
    assert!(matches!(
        client.unwrap_err(),
        ClientError::IncompatibleCodexVersion { .. }
    ));
    let log = fake.finished().await;
    let initialize = log.messages().next().unwrap();
    assert_eq!(
        initialize["params"]["clientInfo"],
        json!({"name": "codexrt-facade-tests", "version": "0.0.1"})
    );
}

#[tokio::test]
async fn shutdown_is_idempotent() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    assert_eq!(
        client.runtime().server_info().version,
        Version::new(0, 169, 0)
    );
    assert_eq!(client.config().client_name(), "codexrt-facade-tests");
    let first = client.shutdown().await.unwrap();
    let second = client.clone().shutdown().await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert!(fake.finished().await.completed());
}

/// A codex version newer than every one this SDK knows.
fn newer_than_known() -> String {
    let newest = codexrt::newest_known_version();
    format!("{}.{}.0", newest.major, newest.minor + 1)
}

#[tokio::test]
async fn a_newer_codex_is_accepted_and_flagged_unless_the_guard_refuses_it() {
    let newer = newer_than_known();
    let script = FakeScript::new()
        .handshake(Handshake::new().version(newer.clone()))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let info = client.server_info();
    assert_eq!(
        (info.version.to_string(), info.newer_than_known),
        (newer.clone(), true)
    );
    crate::support::finish(client, fake).await;

    let guard = CompatibilityGuard::default().refuse_newer_than_known();
    let script = FakeScript::new()
        .step(Step::respond_to(
            "initialize",
            Handshake::new().version(newer.clone()).initialize_result(),
        ))
        .step(Step::expect_close());
    let (client, fake) = connect_with(script, config().compatibility(guard)).await;
    match client.unwrap_err() {
        ClientError::CodexNewerThanKnown {
            detected,
            newest_known,
            user_agent,
        } => assert_eq!(
            (detected.to_string(), newest_known, user_agent),
            (
                newer.clone(),
                codexrt::newest_known_version(),
                format!("fake/{newer} (Linux; x86_64)")
            )
        ),
        other => panic!("{other:?}"),
    }
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(log.methods(), ["initialize"]);
}
