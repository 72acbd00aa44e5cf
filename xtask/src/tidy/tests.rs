//! Tests of the tidy checks on hand-written inputs.

use serde_json::json;

use super::{dependency_problems, edge_problem, opens_with_module_doc};

#[test]
fn layer_edges() {
    let check = |from: &str, to: &str, allowed: bool| {
        assert_eq!(edge_problem(from, to).is_none(), allowed, "{from} -> {to}");
    };
    check("codexrt-rpc", "codexrt-transport", true);
    check("codexrt-transport", "codexrt-rpc", false);
    check("codexrt-protocol", "codexrt-rpc", false);
    check("codexrt-rpc", "codexrt-protocol", false);
    check("codexrt-core", "codexrt-protocol", true);
    check("codexrt-core", "codexrt-hooks", false);
    check("codexrt-hooks", "codexrt-core", true);
    check("codexrt-hooks", "codexrt", false);
    check("codexrt", "codexrt-hooks", true);
    check("codexrt", "codexrt-testkit", false);
    check("codexrt-core", "codexrt-testkit", false);
    check("codexrt-testkit", "codexrt-rpc", true);
    check("codexrt-tests", "codexrt-testkit", true);
    check("xtask", "codexrt-core", true);
}

#[test]
fn dev_dependencies_are_free() {
    let metadata = json!({"packages": [
        {"name": "codexrt-rpc", "dependencies": [
            {"name": "codexrt-transport", "kind": null},
            {"name": "codexrt-testkit", "kind": "dev"},
            {"name": "tokio", "kind": null},
        ]},
        {"name": "codexrt-transport", "dependencies": [
            {"name": "codexrt-rpc", "kind": null},
            {"name": "codexrt-core", "kind": "build"},
        ]},
    ]});
    assert_eq!(
        dependency_problems(&metadata),
        vec![
            "codexrt-transport depends on codexrt-core: that edge breaks the layer stack \
             (allowed: none; see docs/ARCHITECTURE.md)"
                .to_owned(),
            "codexrt-transport depends on codexrt-rpc: that edge breaks the layer stack \
             (allowed: none; see docs/ARCHITECTURE.md)"
                .to_owned(),
        ]
    );
}

#[test]
fn module_doc_header() {
    assert!(opens_with_module_doc("//! What this is for.\n"));
    assert!(opens_with_module_doc(
        "\u{feff}//! With a byte order mark.\n"
    ));
    assert!(!opens_with_module_doc(
        "// A plain comment.\n//! Too late.\n"
    ));
    assert!(!opens_with_module_doc("\n//! After a blank line.\n"));
    assert!(!opens_with_module_doc("use std::io;\n"));
}
