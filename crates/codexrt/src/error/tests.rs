//! How the runtime's errors map onto the facade's.

use std::sync::Arc;
use std::time::Duration;

use codexrt_core::CoreError;
use codexrt_transport::TransportError;
use semver::Version;

use super::{ClientError, PromptRunError};

fn too_old() -> CoreError {
    CoreError::IncompatibleVersion {
        detected: Version::new(0, 100, 0),
        required: Version::new(0, 150, 0),
        user_agent: "codex/0.100.0".to_owned(),
    }
}

#[test]
fn a_failed_shutdown_after_a_refused_handshake_keeps_both_mapped() {
    let shutdown = Arc::new(TransportError::Stop {
        pid: 7,
        source: std::io::Error::other("no such process"),
    });
    let error = ClientError::from(CoreError::CompatibilityValidationWithShutdown {
        compatibility: Box::new(too_old()),
        shutdown,
    });
    match &error {
        ClientError::CompatibilityValidationWithShutdown { compatibility, .. } => {
            assert!(matches!(
                **compatibility,
                ClientError::IncompatibleCodexVersion { .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().ends_with(
            "; shutting the server down failed as well: failed to stop the child process (pid 7)"
        ),
        "{error}"
    );
}

#[test]
fn a_turn_deadline_is_a_timeout_and_other_runtime_errors_pass_through() {
    let deadline = PromptRunError::from(CoreError::TurnDeadline {
        thread_id: "t1".to_owned(),
        turn_id: "u1".to_owned(),
        deadline: Duration::from_secs(3),
    });
    assert_eq!(
        deadline.to_string(),
        "turn u1 of thread t1 did not end within 3s"
    );
    let timeout = PromptRunError::from(CoreError::Timeout {
        method: "turn/start".to_owned(),
        timeout: Duration::from_secs(1),
        cause: codexrt_core::TimeoutCause::NoAnswer,
    });
    match timeout {
        PromptRunError::Client(ClientError::Runtime(CoreError::Timeout { method, .. })) => {
            assert_eq!(method, "turn/start");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_newer_version_keeps_its_versions_and_user_agent() {
    let error = ClientError::from(CoreError::NewerThanKnown {
        detected: Version::new(0, 180, 0),
        newest_known: Version::new(0, 169, 0),
        user_agent: "codex/0.180.0 (Linux)".to_owned(),
    });
    match &error {
        ClientError::CodexNewerThanKnown {
            detected,
            newest_known,
            user_agent,
        } => assert_eq!(
            (detected, newest_known, user_agent.as_str()),
            (
                &Version::new(0, 180, 0),
                &Version::new(0, 169, 0),
                "codex/0.180.0 (Linux)"
            )
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "codex 0.180.0 is newer than 0.169.0, the newest version this SDK knows \
         (user agent \"codex/0.180.0 (Linux)\"), and the compatibility guard refuses newer versions"
    );
}
