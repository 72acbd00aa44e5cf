//! The output schema check, and the schema of a Rust type.

use serde_json::{Value, json};

use super::check;
use crate::ClientError;

/// The problem the check finds in `schema`, if any.
fn problem_of(schema: &Value) -> Option<String> {
    match check(Some(schema)) {
        Ok(()) => None,
        Err(ClientError::InvalidOutputSchema { problem }) => Some(problem),
        Err(other) => panic!("not an invalid output schema: {other:?}"),
    }
}

#[test]
fn no_schema_and_valid_schemas_pass() {
    assert!(check(None).is_ok());
    let valid = [
        json!(true),
        json!({}),
        json!({
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": false,
        }),
        json!({"type": ["string", "null"], "pattern": "^[a-z]+$"}),
        json!({"enum": ["red", "green"]}),
        json!({
            "$defs": {"item": {"type": "string"}},
            "type": "array",
            "items": {"$ref": "#/$defs/item"},
        }),
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"n": {"type": "integer", "minimum": 0}},
            "properties": {"n": {"$ref": "#/definitions/n"}},
        }),
    ];
    for schema in valid {
        assert_eq!(problem_of(&schema), None, "{schema}");
    }
}

/// `schema` is refused with exactly `problem`.
#[cfg(feature = "schema-check")]
#[track_caller]
fn refused(schema: Value, problem: &str) {
    assert_eq!(problem_of(&schema).as_deref(), Some(problem), "{schema}");
}

#[cfg(feature = "schema-check")]
#[test]
fn invalid_schemas_are_refused_with_what_is_wrong() {
    refused(
        json!("not a schema"),
        "\"not a schema\" is not of types \"boolean\", \"object\"",
    );
    refused(json!(7), "7 is not of types \"boolean\", \"object\"");
    refused(
        json!({"type": "no-such-type"}),
        "at /type: \"no-such-type\" is not valid under any of the schemas listed in the 'anyOf' keyword",
    );
    refused(
        json!({"type": "object", "properties": {"ok": {"type": 7}}}),
        "at /properties/ok/type: 7 is not valid under any of the schemas listed in the 'anyOf' keyword",
    );
    refused(
        json!({"type": "object", "required": "ok"}),
        "at /required: \"ok\" is not of type \"array\"",
    );
    refused(
        json!({"type": "object", "properties": []}),
        "at /properties: [] is not of type \"object\"",
    );
    refused(
        json!({"type": "string", "pattern": "(unclosed"}),
        "at /pattern: \"(unclosed\" is not a \"regex\"",
    );
    refused(
        json!({"items": {"$ref": "#/$defs/missing"}}),
        "Pointer '/$defs/missing' does not exist",
    );
}

#[cfg(feature = "schema-check")]
#[test]
fn references_to_other_documents_are_refused_not_fetched() {
    refused(
        json!({"$ref": "https://example.com/schema.json"}),
        "Resource 'https://example.com/schema.json' is not present in a registry and \
         retrieving it failed: Retrieval is disabled, cannot fetch https://example.com/schema.json",
    );
    refused(
        json!({"$ref": "file:///etc/hostname"}),
        "Resource 'file:///etc/hostname' is not present in a registry and \
         retrieving it failed: Retrieval is disabled, cannot fetch file:///etc/hostname",
    );
}

#[cfg(feature = "schema-check")]
#[test]
fn a_long_problem_is_bounded() {
    let name = "x".repeat(1000);
    let problem = problem_of(&json!({"type": name})).unwrap();
    // 300 bytes: `at /type: "` and 289 of the name's.
    let expected = format!("at /type: \"{}… 780 bytes more", "x".repeat(289));
    assert_eq!(problem, expected);
}

#[cfg(feature = "schemars")]
mod typed {
    use serde_json::json;

    use super::problem_of;
    use crate::output_schema_for;

    /// A report: a nested struct, a list, an enum and an
    /// optional field.
    #[allow(dead_code, reason = "only the schema is used")]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Report {
        /// The verdict.
        status: Status,
        files: Vec<File>,
        note: Option<String>,
    }

    #[allow(dead_code, reason = "only the schema is used")]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Pass,
        Fail,
    }

    #[allow(dead_code, reason = "only the schema is used")]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct File {
        path: String,
        #[serde(default)]
        lines: u32,
    }

    #[test]
    fn every_object_is_closed_with_all_its_properties_required() {
        let schema = output_schema_for::<Report>();
        let file = json!({
            "type": "object",
            "properties": {
                "lines": {"type": "integer", "format": "uint32", "minimum": 0, "default": 0},
                "path": {"type": "string"},
            },
            "required": ["lines", "path"],
            "additionalProperties": false,
        });
        let expected = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Report",
            "description": "A report: a nested struct, a list, an enum and an\noptional field.",
            "type": "object",
            "properties": {
                "files": {"type": "array", "items": file},
                "note": {"type": ["string", "null"]},
                "status": {"description": "The verdict.", "type": "string", "enum": ["pass", "fail"]},
            },
            "required": ["files", "note", "status"],
            "additionalProperties": false,
        });
        assert_eq!(schema, expected);
        assert_eq!(problem_of(&schema), None);
    }
}
