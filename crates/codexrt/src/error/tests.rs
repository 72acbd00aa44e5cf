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
    });
    match timeout {
        PromptRunError::Client(ClientError::Runtime(CoreError::Timeout { method, .. })) => {
            assert_eq!(method, "turn/start");
        }
        other => panic!("{other:?}"),
    }
}
