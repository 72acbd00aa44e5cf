//! Tests of the edit `add-version` makes to the versions file.

use super::add_to_list;

const FILE: &str = r#"//! The list.

/// Every version.
pub(crate) const SUPPORTED_CODEX_VERSIONS: [&str; 3] = ["0.150.0", "0.160.1", "0.169.0"];

/// The pinned one.
pub(crate) const PINNED_CODEX_VERSION: &str = "0.169.0";
"#;

#[test]
fn a_new_version_goes_into_the_list_in_version_order() {
    let edited = add_to_list(FILE, "0.171.0", false).unwrap();
    assert_eq!(
        edited,
        FILE.replace(
            r#"[&str; 3] = ["0.150.0", "0.160.1", "0.169.0"]"#,
            r#"[&str; 4] = ["0.150.0", "0.160.1", "0.169.0", "0.171.0"]"#
        )
    );
    // 0.160.10 is newer than 0.160.1 and older than 0.169.0, and a
    // prerelease is older than its release.
    let edited = add_to_list(FILE, "0.160.10", false).unwrap();
    assert!(edited.contains(r#"[&str; 4] = ["0.150.0", "0.160.1", "0.160.10", "0.169.0"]"#));
    let edited = add_to_list(FILE, "0.169.0-alpha.1", false).unwrap();
    assert!(edited.contains(r#"["0.150.0", "0.160.1", "0.169.0-alpha.1", "0.169.0"]"#));
}

#[test]
fn pinning_rewrites_the_pinned_version() {
    let edited = add_to_list(FILE, "0.171.0", true).unwrap();
    assert!(edited.contains(r#"pub(crate) const PINNED_CODEX_VERSION: &str = "0.171.0";"#));
    // A listed version can be pinned; listing it again changes nothing.
    let pinned = add_to_list(FILE, "0.160.1", true).unwrap();
    assert_eq!(
        pinned,
        FILE.replace(r#"&str = "0.169.0";"#, r#"&str = "0.160.1";"#)
    );
    assert_eq!(add_to_list(FILE, "0.160.1", false).unwrap(), FILE);
}

#[test]
fn a_list_spread_over_lines_by_rustfmt_is_read_as_well() {
    let spread = FILE.replace(
        r#"["0.150.0", "0.160.1", "0.169.0"];"#,
        "[\n    \"0.150.0\",\n    \"0.160.1\",\n    \"0.169.0\",\n];",
    );
    let edited = add_to_list(&spread, "0.171.0", false).unwrap();
    assert!(edited.contains(r#"[&str; 4] = ["0.150.0", "0.160.1", "0.169.0", "0.171.0"];"#));
}

#[test]
fn a_file_without_the_list_is_an_error() {
    assert_eq!(
        add_to_list("//! nothing here\n", "0.171.0", false),
        Err(
            "xtask/src/versions.rs has no `pub(crate) const SUPPORTED_CODEX_VERSIONS: \
             [&str; N] = [..];`"
                .to_owned()
        )
    );
}
