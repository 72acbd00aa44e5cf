//! The `decision` a server request's span records for each kind of answer.

use serde_json::{Value, json};

use super::decision_of;

fn check(response: Value, expected: &str) {
    assert_eq!(
        decision_of(&response).as_deref(),
        Some(expected),
        "{response}"
    );
}

#[test]
fn each_kind_of_answer_names_its_decision() {
    // Approvals: the decision, or the one key of a decision with data.
    check(json!({"decision": "accept"}), "accept");
    check(json!({"decision": "acceptForSession"}), "acceptForSession");
    check(json!({"decision": "decline"}), "decline");
    check(
        json!({"decision": {"acceptWithExecpolicyAmendment": {"execpolicyAmendment": ["make"]}}}),
        "acceptWithExecpolicyAmendment",
    );
    check(
        json!({"decision": {"denied": {"rejection": "no"}}}),
        "denied",
    );
    // Elicitations, permission grants and tool calls.
    check(
        json!({"action": "cancel", "content": {"secret": "x"}}),
        "cancel",
    );
    check(
        json!({"permissions": {"fileSystem": null}, "scope": "session"}),
        "session",
    );
    check(json!({"contentItems": [], "success": true}), "success");
    check(json!({"contentItems": [], "success": false}), "failure");
    // Anything else, such as user input, is only said to be answered.
    check(json!({"answers": {"q": {"answers": ["blue"]}}}), "answered");
    check(json!({}), "answered");
}
