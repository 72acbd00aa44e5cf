//! Tests of the schema normalizer on small hand-written bundles.

use serde_json::{Value, json};

use super::normalize;

fn check(bundle: Value, expected: Value) {
    assert_eq!(normalize(&bundle), Ok(expected));
}

fn check_error(bundle: Value, expected: &str) {
    assert_eq!(normalize(&bundle), Err(expected.to_owned()));
}

#[test]
fn flattens_v2_and_rewrites_refs() {
    check(
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "CodexAppServerProtocol",
            "type": "object",
            "definitions": {
                "InitializeParams": {
                    "type": "object",
                    "properties": {"client": {"$ref": "#/definitions/v2/ClientInfo"}},
                },
                "RequestId": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "title": "RequestId",
                    "anyOf": [{"type": "string"}, {"type": "integer", "format": "int64"}],
                },
                "v2": {
                    "ClientInfo": {
                        "type": "object",
                        "properties": {
                            "id": {"$ref": "#/definitions/v2/RequestId"},
                            "tags": {"type": "array", "items": {"$ref": "#/definitions/v2/Tag"}},
                            "init": {"anyOf": [{"$ref": "#/definitions/InitializeParams"}, {"type": "null"}]},
                        },
                    },
                    // Shared with the root apart from `$schema`/`title`: merged.
                    "RequestId": {"anyOf": [{"type": "string"}, {"type": "integer", "format": "int64"}]},
                    "Tag": {"type": "string", "enum": ["a", "b"]},
                },
            },
        }),
        json!({"definitions": {
            "ClientInfo": {
                "type": "object",
                "properties": {
                    "id": {"$ref": "#/definitions/RequestId"},
                    "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
                    "init": {"anyOf": [{"$ref": "#/definitions/InitializeParams"}, {"type": "null"}]},
                },
            },
            "InitializeParams": {
                "type": "object",
                "properties": {"client": {"$ref": "#/definitions/ClientInfo"}},
            },
            "RequestId": {
                "title": "RequestId",
                "anyOf": [{"type": "string"}, {"type": "integer", "format": "int64"}],
            },
            "Tag": {"type": "string", "enum": ["a", "b"]},
        }}),
    );
}

#[test]
fn collision_with_a_different_body_fails() {
    check_error(
        json!({"definitions": {
            "RequestId": {"type": "string"},
            "v2": {"RequestId": {"type": "integer"}},
        }}),
        "definition `RequestId` exists at the root and in `definitions.v2` with different \
         bodies, so the two cannot share one flat map",
    );
    // Different only in prose: identical once normalized, so no collision.
    check(
        json!({"definitions": {
            "RequestId": {"type": "string", "description": "root"},
            "v2": {"RequestId": {"type": "string", "description": "v2"}},
        }}),
        json!({"definitions": {"RequestId": {"type": "string"}}}),
    );
}

#[test]
fn strips_the_description_keyword_only() {
    check(
        json!({"definitions": {
            "Tool": {
                "description": "A tool.",
                "type": "object",
                "required": ["description", "name"],
                "properties": {
                    // A property named `description`, itself described.
                    "description": {"type": "string", "description": "What it does."},
                    "name": {"type": "string", "description": "Its name.", "default": "x"},
                    "meta": {
                        "type": "object",
                        // Data, not a schema: kept as is.
                        "default": {"description": "kept", "$schema": "kept"},
                        "additionalProperties": {"description": "gone", "type": "string"},
                    },
                },
                "oneOf": [{"description": "A variant.", "title": "ToolVariant", "enum": ["description"]}],
            },
            // Definitions named like the keyword are names, not keywords.
            "Description": {"description": "gone", "type": "string"},
            "description": {"type": "boolean"},
        }}),
        json!({"definitions": {
            "Tool": {
                "type": "object",
                "required": ["description", "name"],
                "properties": {
                    "description": {"type": "string"},
                    "name": {"type": "string", "default": "x"},
                    "meta": {
                        "type": "object",
                        "default": {"description": "kept", "$schema": "kept"},
                        "additionalProperties": {"type": "string"},
                    },
                },
                "oneOf": [{"title": "ToolVariant", "enum": ["description"]}],
            },
            "Description": {"type": "string"},
            "description": {"type": "boolean"},
        }}),
    );
}

#[test]
fn strips_schema_everywhere_and_keeps_titles() {
    check(
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {
                "A": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "title": "A",
                    "type": "object",
                    "properties": {"b": {"$schema": "x", "title": "B", "type": "string"}},
                },
                "v2": {"C": {"$schema": "http://json-schema.org/draft-07/schema#", "title": "C", "type": "null"}},
            },
        }),
        json!({"definitions": {
            "A": {"title": "A", "type": "object", "properties": {"b": {"title": "B", "type": "string"}}},
            "C": {"title": "C", "type": "null"},
        }}),
    );
}

#[test]
fn rejects_what_it_cannot_normalize() {
    check_error(
        json!({"definitions": {"A": {"$ref": "#/definitions/v2/Missing"}, "B": {"$ref": "#/other"}}}),
        "2 `$ref`(s) do not resolve after flattening: #/definitions/Missing, #/other",
    );
    check_error(
        json!({"definitions": {"A": {"properties": {"x": {"nullable": true}}}}}),
        "definitions/A/properties/x: unknown JSON Schema keyword `nullable`; add it to the \
         keyword lists in xtask/src/schema/normalize.rs, saying whether it holds schemas or values",
    );
    check_error(
        json!({"definitions": {"A": {"anyOf": [{"type": "string"}, 3]}}}),
        "definitions/A/anyOf/1: expected a schema (an object or a boolean)",
    );
    check_error(
        json!({"title": "no definitions"}),
        "the bundle has no `definitions` object",
    );
}

#[test]
fn output_keys_are_sorted() {
    let normalized = normalize(&json!({"definitions": {
        "v2": {"Zeta": {"type": "object", "required": [], "properties": {"b": true, "a": false}}},
        "Alpha": {"type": "string", "title": "Alpha"},
    }}))
    .unwrap();
    assert_eq!(
        serde_json::to_string(&normalized).unwrap(),
        r#"{"definitions":{"Alpha":{"title":"Alpha","type":"string"},"Zeta":{"properties":{"a":false,"b":true},"required":[],"type":"object"}}}"#
    );
}
