//! The handshake: what is sent, how the version is read, and refusals that
//! shut the server down.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt_core::{
    CallOptions, CompatibilityGuard, CoreError, RuntimeState, RuntimeStats, TimeoutCause,
    newest_known_version,
};
use codexrt_protocol::types::{
    AccountLogoutParams, ClientInfo, InitializeParams, LogoutAccountResponse,
};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use semver::Version;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span;

use crate::support::{config, connect, connect_with};

#[tokio::test]
async fn handshake_sends_initialize_then_initialized() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let (connection, fake) = codexrt_testkit::fake::FakeServer::new(script).connect();
    let runtime = codexrt_core::Runtime::connect(
        connection,
        config().opt_out_notification_methods(["item/reasoning/textDelta"]),
    )
    .await
    .unwrap();
    let info = runtime.server_info();
    assert_eq!(info.version, Version::new(0, 169, 0));
    assert_eq!(info.user_agent, "fake/0.169.0 (Linux; x86_64)");
    assert_eq!(info.codex_home, "/tmp/fake-codex-home");
    assert_eq!(
        (info.platform_family.as_str(), info.platform_os.as_str()),
        ("unix", "linux")
    );
    assert!(matches!(runtime.state(), RuntimeState::Running));
    runtime.shutdown().await.unwrap();
    // Idempotent: the second call returns the first outcome.
    runtime.shutdown().await.unwrap();
    assert!(matches!(runtime.state(), RuntimeState::Closed(_)));
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let messages: Vec<_> = log.messages().cloned().collect();
    assert_eq!(
        messages,
        [
            json!({"id": 1, "method": "initialize", "params": {
                "capabilities": {"optOutNotificationMethods": ["item/reasoning/textDelta"]},
                "clientInfo": {"name": "codexrt-tests", "version": "0.0.1"},
            }}),
            json!({"method": "initialized"}),
        ]
    );
}

/// A second `initialize`: a typed call is refused before anything is sent
/// (the handshake initialized the connection); sent raw, the peer's refusal
/// (codex's, as the fake plays it) is a `Peer` error and the connection
/// goes on.
#[tokio::test]
async fn a_second_initialize_is_refused_locally_and_the_peer_refusal_kept_apart() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect("initialize"))
        .step(Step::respond_error(-32600, "Already initialized"))
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let again = || InitializeParams {
        capabilities: None,
        client_info: ClientInfo {
            name: "again".to_owned(),
            title: None,
            version: "2".to_owned(),
        },
    };
    for refused in [
        runtime.call(again()).await,
        runtime.call_with(again(), CallOptions::new()).await,
    ] {
        assert!(
            matches!(refused, Err(CoreError::AlreadyInitialized)),
            "{refused:?}"
        );
    }
    assert!(matches!(
        runtime.admit(&again()),
        Err(CoreError::AlreadyInitialized)
    ));
    match runtime
        .call_raw(
            "initialize",
            json!({"clientInfo": {"name": "again", "version": "2"}}),
        )
        .await
    {
        Err(CoreError::Peer {
            method,
            code,
            message,
            data,
        }) => assert_eq!(
            (method.as_str(), code, message.as_str(), data),
            ("initialize", -32600, "Already initialized", None)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        runtime.call(AccountLogoutParams).await.unwrap(),
        LogoutAccountResponse {}
    );
    assert!(matches!(runtime.state(), RuntimeState::Running));
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    // The refused typed calls took no id: the raw one is 2.
    assert_eq!(
        log.messages().skip(2).cloned().collect::<Vec<_>>(),
        [
            json!({"id": 2, "method": "initialize", "params": {
                "clientInfo": {"name": "again", "version": "2"},
            }}),
            json!({"id": 3, "method": "account/logout"}),
        ]
    );
}

#[tokio::test]
async fn prerelease_version() {
    let script = FakeScript::new()
        .handshake(Handshake::new().version("0.170.0-alpha.1"))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    assert_eq!(
        runtime.server_info().version,
        Version::parse("0.170.0-alpha.1").unwrap()
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn too_old_is_refused_and_the_server_shut_down() {
    let handshake = Handshake::new().version("0.149.0");
    let script = FakeScript::new()
        .step(Step::respond_to(
            "initialize",
            handshake.initialize_result(),
        ))
        .step(Step::expect_close());
    let (result, fake) = connect_with(script, config()).await;
    match result {
        Err(CoreError::IncompatibleVersion {
            detected,
            required,
            user_agent,
        }) => {
            assert_eq!(detected, Version::new(0, 149, 0));
            assert_eq!(required, Version::new(0, 150, 0));
            assert_eq!(user_agent, "fake/0.149.0 (Linux; x86_64)");
        }
        other => panic!("{other:?}"),
    }
    // The fake saw the connection closed, and no `initialized`.
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(log.methods(), ["initialize"]);
}

#[tokio::test]
async fn an_unanswered_initialize_times_out_and_the_server_is_shut_down() {
    let script = FakeScript::new()
        .step(Step::expect("initialize"))
        .step(Step::expect_close());
    let config = config().call_timeout(Duration::from_millis(200));
    let (result, fake) = connect_with(script, config).await;
    match result {
        Err(CoreError::Timeout {
            method,
            timeout,
            cause,
        }) => assert_eq!(
            (method.as_str(), timeout, cause),
            (
                "initialize",
                Duration::from_millis(200),
                TimeoutCause::NoAnswer
            )
        ),
        other => panic!("{other:?}"),
    }
    // The fake saw the connection closed, and no `initialized`.
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(log.methods(), ["initialize"]);
}

fn init_answer(user_agent: Option<&str>) -> serde_json::Value {
    let mut answer = json!({"codexHome": "/h", "platformFamily": "unix", "platformOs": "linux"});
    if let Some(user_agent) = user_agent {
        answer["userAgent"] = json!(user_agent);
    }
    answer
}

#[tokio::test]
async fn malformed_user_agent() {
    let script = FakeScript::new()
        .step(Step::respond_to(
            "initialize",
            init_answer(Some("codex 0.169.0")),
        ))
        .step(Step::expect_close());
    let (result, fake) = connect_with(script, config()).await;
    match result {
        Err(CoreError::InvalidUserAgent { user_agent }) => assert_eq!(user_agent, "codex 0.169.0"),
        other => panic!("{other:?}"),
    }
    assert!(fake.finished().await.completed());
}

#[tokio::test]
async fn missing_user_agent() {
    let script = FakeScript::new()
        .step(Step::respond_to("initialize", init_answer(None)))
        .step(Step::expect_close());
    let (result, fake) = connect_with(script, config()).await;
    assert!(
        matches!(result, Err(CoreError::MissingUserAgent)),
        "{result:?}"
    );
    assert!(fake.finished().await.completed());
}

#[tokio::test]
async fn a_program_that_cannot_start() {
    let config = config().program("/nonexistent/codexrt/codex");
    match codexrt_core::Runtime::spawn(config).await {
        Err(CoreError::Spawn(source)) => {
            assert!(
                source.to_string().contains("/nonexistent/codexrt/codex"),
                "{source}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The messages of the warnings logged on the thread where it is the
/// default subscriber (a current-thread test runs everything there).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().unwrap().push(message.0);
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// A version newer than any known: the newest known, two minors up.
fn newer_than_known() -> String {
    let newest = newest_known_version();
    format!("{}.{}.0", newest.major, newest.minor + 2)
}

#[tokio::test]
async fn a_newer_server_is_accepted_flagged_and_said_once() {
    let warnings = Warnings::default();
    let _default = tracing::subscriber::set_default(warnings.clone());
    let newer = newer_than_known();
    let script = FakeScript::new()
        .handshake(Handshake::new().version(newer.clone()))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let info = runtime.server_info();
    assert_eq!(
        (info.version.to_string(), info.newer_than_known),
        (newer.clone(), true)
    );
    runtime.shutdown().await.unwrap();
    assert!(fake.finished().await.completed());
    let newest = newest_known_version();
    assert_eq!(
        warnings.take(),
        [format!(
            "codex {newer} is newer than {newest}, the newest version codexrt knows: \
             the {newest} method table applies, and what codexrt does not know is kept raw"
        )]
    );

    // The newest known version itself is not flagged, and nothing is said.
    let script = FakeScript::new()
        .handshake(Handshake::new().version(newest.to_string()))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    assert!(!runtime.server_info().newer_than_known);
    runtime.shutdown().await.unwrap();
    assert_eq!(warnings.take(), Vec::<String>::new());
}

#[tokio::test]
async fn a_guard_that_refuses_newer_versions_shuts_the_server_down() {
    let newer = newer_than_known();
    let handshake = Handshake::new().version(newer.clone());
    let script = FakeScript::new()
        .step(Step::respond_to(
            "initialize",
            handshake.initialize_result(),
        ))
        .step(Step::expect_close());
    let guard = CompatibilityGuard::default().refuse_newer_than_known();
    let (result, fake) = connect_with(script, config().compatibility(guard)).await;
    match result {
        Err(CoreError::NewerThanKnown {
            detected,
            newest_known,
            user_agent,
        }) => assert_eq!(
            (detected.to_string(), newest_known, user_agent),
            (
                newer.clone(),
                newest_known_version(),
                format!("fake/{newer} (Linux; x86_64)")
            )
        ),
        other => panic!("{other:?}"),
    }
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(log.methods(), ["initialize"]);
}

/// The `initialize` answer a wrapper prefixed with a UTF-8 byte order mark.
const BOM_ANSWER: &str = "\u{feff}{\"id\":1,\"result\":{\"userAgent\":\"fake/0.169.0 (Linux; x86_64)\",\
\"codexHome\":\"/tmp/fake-codex-home\",\"platformFamily\":\"unix\",\"platformOs\":\"linux\"}}";

#[tokio::test]
async fn a_byte_order_mark_before_the_first_frame_is_skipped_in_memory() {
    let (ours, theirs) = codexrt_transport::memory::pair(16);
    let peer = tokio::spawn(async move {
        let mut receiver = theirs.receiver;
        let initialize = receiver.recv().await.unwrap().unwrap();
        assert!(initialize.starts_with(br#"{"id":1,"method":"initialize""#));
        theirs
            .sender
            .send(bytes::Bytes::from_static(BOM_ANSWER.as_bytes()))
            .await
            .unwrap();
        let initialized = receiver.recv().await.unwrap().unwrap();
        assert_eq!(initialized, r#"{"method":"initialized"}"#);
        (receiver, theirs.sender)
    });
    let runtime = codexrt_core::Runtime::connect(ours, config())
        .await
        .unwrap();
    assert_eq!(runtime.server_info().version, Version::new(0, 169, 0));
    let _peer = peer.await.unwrap();
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_byte_order_mark_before_the_first_frame_is_skipped_over_stdio() {
    use std::os::unix::fs::PermissionsExt;
    let dir = codexrt_testkit::TempDir::new("codexrt-bom").unwrap();
    let script = dir.path().join("codex");
    // A child that answers `initialize` with the mark first, then reads
    // until its stdin closes, keeping its stdout open (a closed stdout
    // ends the connection).
    std::fs::write(
        &script,
        format!("#!/bin/sh\nread -r line\nprintf '%s\\n' '{BOM_ANSWER}'\nwhile read -r line; do :; done\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = codexrt_core::Runtime::spawn(config().program(script.as_os_str()))
        .await
        .unwrap();
    assert_eq!(runtime.server_info().version, Version::new(0, 169, 0));
    assert_eq!(runtime.server_info().codex_home, "/tmp/fake-codex-home");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_banner_and_a_notification_before_the_handshake_do_not_stop_it() {
    let (ours, theirs) = codexrt_transport::memory::pair(16);
    let peer = tokio::spawn(async move {
        // A wrapper's banner and a warning, before codex has read anything.
        for early in [
            "Starting codex app-server (wrapper v2)...",
            r#"{"method":"configWarning","params":{"summary":"early","details":null}}"#,
        ] {
            theirs.sender.send(bytes::Bytes::from(early)).await.unwrap();
        }
        let mut receiver = theirs.receiver;
        let initialize = receiver.recv().await.unwrap().unwrap();
        assert!(initialize.starts_with(br#"{"id":1,"method":"initialize""#));
        let answer = BOM_ANSWER.trim_start_matches('\u{feff}');
        theirs
            .sender
            .send(bytes::Bytes::from(answer.to_owned()))
            .await
            .unwrap();
        let initialized = receiver.recv().await.unwrap().unwrap();
        assert_eq!(initialized, r#"{"method":"initialized"}"#);
        (receiver, theirs.sender)
    });
    let runtime = codexrt_core::Runtime::connect(ours, config())
        .await
        .unwrap();
    assert_eq!(runtime.server_info().version, Version::new(0, 169, 0));
    let mut expected = RuntimeStats::default();
    expected.rpc.malformed_frames = 1;
    assert_eq!(runtime.stats(), expected);
    let _peer = peer.await.unwrap();
    runtime.shutdown().await.unwrap();
}
