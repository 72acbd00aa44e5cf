//! Tests of the twin comparison and of the edit `twin` makes to the
//! versions file.

use super::{add_twin, same_file};

const MANIFEST: &str = r#"{
  "version": "0.169.0",
  "clientRequests": [
    {"method": "thread/start", "params": "ThreadStartParams", "paramsPresence": "required", "response": "ThreadStartResponse", "experimental": false}
  ],
  "clientNotifications": [],
  "serverNotifications": [],
  "serverRequests": []
}
"#;

#[test]
fn schemas_must_match_byte_for_byte() {
    let schema = "{\n  \"definitions\": {}\n}\n";
    for name in ["stable.json", "experimental.json"] {
        assert!(same_file(name, schema, Some(schema)), "{name}");
        // Equal as JSON is not enough: the vendored bytes are the proof.
        assert!(
            !same_file(name, "{\"definitions\": {}}\n", Some(schema)),
            "{name}"
        );
        assert!(!same_file(name, schema, None), "{name}");
    }
}

#[test]
fn manifests_may_differ_in_their_version_only() {
    let twin = MANIFEST.replace("0.169.0", "0.169.1");
    assert!(same_file("manifest.json", &twin, Some(MANIFEST)));
    let experimental = twin.replace("\"experimental\": false", "\"experimental\": true");
    assert!(!same_file("manifest.json", &experimental, Some(MANIFEST)));
    let renamed = twin.replace("ThreadStartResponse", "ThreadStartedResponse");
    assert!(!same_file("manifest.json", &renamed, Some(MANIFEST)));
    assert!(!same_file("manifest.json", &twin, Some("not json")));
    assert!(!same_file("manifest.json", &twin, None));
}

const FILE: &str = r#"//! The list.

/// The twins.
pub(crate) const TWIN_CODEX_VERSIONS: [(&str, &str); 1] = [("0.169.1", "0.169.0")];
"#;

#[test]
fn a_new_twin_goes_into_the_list_in_version_order() {
    let edited = add_twin(FILE, "0.160.2", "0.160.1").unwrap();
    assert_eq!(
        edited,
        FILE.replace(
            r#"[(&str, &str); 1] = [("0.169.1", "0.169.0")]"#,
            r#"[(&str, &str); 2] = [("0.160.2", "0.160.1"), ("0.169.1", "0.169.0")]"#
        )
    );
    assert_eq!(add_twin(FILE, "0.169.1", "0.169.0").unwrap(), FILE);
    let empty = FILE.replace(
        r#"[(&str, &str); 1] = [("0.169.1", "0.169.0")]"#,
        "[(&str, &str); 0] = []",
    );
    assert_eq!(add_twin(&empty, "0.169.1", "0.169.0").unwrap(), FILE);
}
