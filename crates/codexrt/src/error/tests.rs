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

fn closed(report: &Arc<codexrt_transport::CloseReport>) -> CoreError {
    CoreError::Closed {
        method: "turn/start".to_owned(),
        report: Arc::clone(report),
    }
}

fn failed_with(info: Option<codexrt_protocol::types::CodexErrorInfo>) -> PromptRunError {
    use codexrt_protocol::types::{TurnError, TurnStatus};
    PromptRunError::Failed {
        result: Box::new(crate::PromptRunResult {
            thread_id: "t1".to_owned(),
            turn_id: "u1".to_owned(),
            status: TurnStatus::Failed,
            items: Vec::new(),
            streamed: Vec::new(),
            usage: None,
            error: Some(TurnError {
                codex_error_info: info,
                message: "the model failed".to_owned(),
                ..TurnError::default()
            }),
            timings: codexrt_core::TurnTimings::default(),
            elapsed: Duration::ZERO,
        }),
    }
}

/// What each kind of error says about retrying, and where its close
/// report is.
#[test]
fn retryable_errors_and_close_reports() {
    use codexrt_protocol::types::CodexErrorInfo;
    use codexrt_transport::{CloseReason, CloseReport};

    let report = Arc::new(CloseReport::new(CloseReason::PeerClosed));
    let overloaded = || CoreError::Overloaded {
        method: "turn/start".to_owned(),
        message: "busy".to_owned(),
    };
    let refused = || TransportError::Connect {
        endpoint: "ws://127.0.0.1:1".to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    };
    let gave_up = ClientError::GaveUp {
        attempts: 3,
        last: Arc::new(ClientError::from(closed(&report))),
    };
    let timeout = || CoreError::Timeout {
        method: "turn/start".to_owned(),
        timeout: Duration::from_secs(1),
        cause: codexrt_core::TimeoutCause::NoAnswer,
    };
    // (error, retryable, has the report)
    let cases: Vec<(PromptRunError, bool, bool)> = vec![
        (ClientError::from(overloaded()).into(), true, false),
        (ClientError::Connect(refused()).into(), true, false),
        (ClientError::from(closed(&report)).into(), false, true),
        (gave_up.into(), false, true),
        (ClientError::from(timeout()).into(), false, false),
        (ClientError::from(too_old()).into(), false, false),
        (
            failed_with(Some(CodexErrorInfo::ServerOverloaded)),
            true,
            false,
        ),
        (
            failed_with(Some(CodexErrorInfo::InternalServerError)),
            true,
            false,
        ),
        (
            failed_with(Some(CodexErrorInfo::UsageLimitExceeded)),
            false,
            false,
        ),
        (
            failed_with(Some(CodexErrorInfo::ContextWindowExceeded)),
            false,
            false,
        ),
        (failed_with(None), false, false),
        (
            PromptRunError::from(CoreError::TurnDeadline {
                thread_id: "t1".to_owned(),
                turn_id: "u1".to_owned(),
                deadline: Duration::from_secs(1),
            }),
            false,
            false,
        ),
        (PromptRunError::EmptyPrompt, false, false),
    ];
    for (error, retryable, has_report) in cases {
        assert_eq!(error.is_retryable(), retryable, "{error:?}");
        let found = error.close_report();
        assert_eq!(found.is_some(), has_report, "{error:?}");
        if let Some(found) = found {
            assert!(Arc::ptr_eq(found, &report), "{error:?}");
        }
        if let PromptRunError::Client(client) = &error {
            assert_eq!(client.is_retryable(), retryable, "{error:?}");
        }
    }
}
