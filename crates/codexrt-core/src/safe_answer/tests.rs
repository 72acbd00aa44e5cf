//! The safe answer of every server request kind, as wire JSON.

use codexrt_protocol::{MethodKind, PINNED_VERSION, available_methods};
use serde_json::{Value, json};

use super::*;

fn check(method: &str, expected: Value) {
    let actual = match SafeAnswer::for_method(method) {
        SafeAnswer::Result(value) => json!({ "result": value }),
        SafeAnswer::Error(error) => {
            json!({ "error": {"code": error.code, "message": error.message} })
        }
    };
    assert_eq!(actual, expected, "{method}");
}

#[test]
fn every_kind() {
    let no_handler = json!({"error": {"code": -32603, "message": NO_HANDLER_MESSAGE}});
    let denied = json!({"result": {"decision": {"denied": {"rejection": LEGACY_REJECTION}}}});
    check(
        "item/commandExecution/requestApproval",
        json!({"result": {"decision": "decline"}}),
    );
    check(
        "item/fileChange/requestApproval",
        json!({"result": {"decision": "decline"}}),
    );
    check(
        "item/permissions/requestApproval",
        json!({"result": {"permissions": {}}}),
    );
    check(
        "item/tool/call",
        json!({"result": {"contentItems": [], "success": false}}),
    );
    check(
        "item/tool/requestUserInput",
        json!({"result": {"answers": {}}}),
    );
    check(
        "mcpServer/elicitation/request",
        json!({"result": {"action": "decline"}}),
    );
    check("execCommandApproval", denied.clone());
    check("applyPatchApproval", denied);
    check("account/chatgptAuthTokens/refresh", no_handler.clone());
    check("attestation/generate", no_handler);
    // Experimental until codex 0.169.0 and gone since: unknown to the
    // types, so refused as any unknown request.
    check(
        "currentTime/read",
        json!({"error": {"code": -32601, "message": "unknown server request `currentTime/read`"}}),
    );
    check(
        "item/new/kind",
        json!({"error": {"code": -32601, "message": "unknown server request `item/new/kind`"}}),
    );
}

/// Every server request the pinned version knows (experimental included)
/// has a safe answer of its own rather than the unknown-method error.
#[test]
fn the_table_covers_every_known_kind() {
    let version = semver::Version::parse(PINNED_VERSION).unwrap();
    let kinds = available_methods(
        MethodKind::ServerRequest,
        &version,
        codexrt_protocol::Api::Experimental,
    );
    assert_eq!(kinds.len(), 10);
    for method in kinds {
        if let SafeAnswer::Error(error) = SafeAnswer::for_method(method) {
            assert_ne!(error.code, ErrorObject::METHOD_NOT_FOUND, "{method}");
        }
    }
}
