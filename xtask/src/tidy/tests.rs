//! Tests of the tidy checks on hand-written inputs.

use serde_json::json;

use super::matrix::{Entry, defines_fn, entries, problems as matrix_problems};
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

/// A matrix with one row naming two tests, one naming none and one in a
/// second file.
const MATRIX: &str = "\
# Reliability

## The matrix

Prose before the table.

| Area | Case | File | Test | Figure |
|---|---|---|---|---|
| Framing | garbage | `a/framing.rs` | `garbage_lines`, `crlf_lines` | 10 frames |
| Framing | depth | — | no test yet | — |
| Peer | silence | `b/peer.rs` | `a_silent_peer` | a timeout |

## After the matrix

| File | Test |
|---|---|
| `c/ignored.rs` | `not_checked` |
";

fn files(name: &str) -> Option<String> {
    match name {
        "a/framing.rs" => Some(
            "#[test]\nfn garbage_lines() {}\n\
             proptest! {\n    #[test]\n    fn crlf_lines(x in 0..1) {}\n}\n"
                .to_owned(),
        ),
        "b/peer.rs" => Some("async fn a_silent_peer_and_more() {}\n".to_owned()),
        _ => None,
    }
}

#[test]
fn the_matrix_rows_name_their_tests() {
    let entry = |line: usize, file: &str, test: &str| Entry {
        line,
        file: file.to_owned(),
        test: test.to_owned(),
    };
    assert_eq!(
        entries(MATRIX),
        Ok(vec![
            entry(9, "a/framing.rs", "garbage_lines"),
            entry(9, "a/framing.rs", "crlf_lines"),
            entry(11, "b/peer.rs", "a_silent_peer"),
        ])
    );
}

#[test]
fn a_present_test_passes_and_a_missing_one_is_named() {
    assert_eq!(
        matrix_problems(MATRIX, files),
        vec!["docs/reliability.md:11: no `fn a_silent_peer` in `b/peer.rs`".to_owned()]
    );
    let fixed = MATRIX.replace("`a_silent_peer`", "`a_silent_peer_and_more`");
    assert_eq!(matrix_problems(&fixed, files), Vec::<String>::new());
    let moved = MATRIX.replace("`b/peer.rs`", "`b/gone.rs`");
    assert_eq!(
        matrix_problems(&moved, files),
        vec!["docs/reliability.md:11: `b/gone.rs` names a file that does not exist".to_owned()]
    );
}

#[test]
fn a_malformed_matrix_is_a_problem() {
    let check = |doc: &str, expected: &str| {
        assert_eq!(
            matrix_problems(doc, files),
            vec![expected.to_owned()],
            "{doc}"
        );
    };
    check(
        "# Reliability\n",
        "docs/reliability.md: no `## The matrix` heading",
    );
    check(
        "## The matrix\n\nNo table.\n",
        "docs/reliability.md: no table after `## The matrix`",
    );
    check(
        "## The matrix\n\n| Path | Test |\n|---|---|\n",
        "docs/reliability.md: the matrix has no `File` column",
    );
    check(
        "## The matrix\n\n| File | Test |\n|---|---|\n| `a.rs`, `b.rs` | `x` |\n",
        "docs/reliability.md: line 5: a row naming tests needs exactly one file in \
         backticks, found 2",
    );
}

#[test]
fn a_function_is_found_only_under_its_whole_name() {
    let check = |source: &str, found: bool| {
        assert_eq!(defines_fn(source, "one_test"), found, "{source}");
    };
    check("fn one_test() {}", true);
    check("    async fn one_test() {}", true);
    check("fn one_test<T>() {}", true);
    check("fn one_test_more() {}", false);
    check("fn not_one_test() {}", false);
    check("// calls one_test()", false);
    check("defn one_test() {}", false);
    check("fn one_test", false);
}
