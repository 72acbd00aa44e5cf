//! Tests of how rpc errors map onto the runtime's error.

use codexrt_rpc::RpcError;

use super::CoreError;

#[test]
fn an_over_long_answer_keeps_its_kind() {
    let error = CoreError::from(RpcError::FrameTooLarge {
        method: "thread/read".to_owned(),
        seen: 70_000_000,
        max_len: 67_108_864,
    });
    match &error {
        CoreError::FrameTooLarge {
            method,
            seen,
            max_len,
        } => assert_eq!(
            (method.as_str(), *seen, *max_len),
            ("thread/read", 70_000_000, 67_108_864)
        ),
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "the answer to `thread/read` exceeds the frame limit of 67108864 bytes (at least 70000000 bytes)"
    );
    assert!(!error.is_retryable());
}
