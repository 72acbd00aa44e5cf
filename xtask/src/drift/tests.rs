//! Tests of the drift comparison: small hand-written schemas for every kind
//! of change, and the vendored 0.169.0 against the vendored 0.171.0.

use std::path::Path;

use serde_json::{Value, json};

use super::change::{render, summary};
use super::shapes::{describe, variant_keys};
use super::{Change, compare};
use crate::codegen::{Definitions, VersionInput, load, parse_manifest};

fn definitions(value: Value) -> Definitions {
    match value {
        Value::Object(map) => map,
        _ => panic!("definitions must be an object"),
    }
}

fn input(version: &str, defs: Value, manifest: Value) -> VersionInput {
    let defs = definitions(defs);
    VersionInput {
        version: version.to_owned(),
        stable: defs.clone(),
        experimental: defs,
        manifest: parse_manifest(&manifest).unwrap(),
    }
}

fn empty_manifest() -> Value {
    json!({
        "clientRequests": [],
        "clientNotifications": [],
        "serverNotifications": [],
        "serverRequests": []
    })
}

/// Every change from `old` to `new` as `breaking …` / `additive …` lines,
/// in the order the comparison finds them.
fn lines(old: &VersionInput, new: &VersionInput) -> Vec<String> {
    compare(old, new)
        .iter()
        .map(|change| {
            let mark = if change.breaking() {
                "breaking"
            } else {
                "additive"
            };
            format!("{mark} {}", change.describe())
        })
        .collect()
}

/// Compares two definition maps (no methods) and checks the whole list.
fn check_definitions(old: Value, new: Value, expected: &[&str]) {
    let old = input("1.0.0", old, empty_manifest());
    let new = input("1.1.0", new, empty_manifest());
    assert_eq!(lines(&old, &new), expected);
}

fn request(method: &str, params: Option<&str>, presence: &str, experimental: bool) -> Value {
    json!({
        "method": method,
        "params": params,
        "paramsPresence": presence,
        "response": format!("{}Response", method.replace('/', "")),
        "experimental": experimental
    })
}

#[test]
fn methods_added_removed_moved_and_changed() {
    let defs = json!({});
    let old = json!({
        "clientRequests": [
            request("a/gone", None, "none", false),
            request("b/kept", Some("BParams"), "required", false),
            request("c/promoted", None, "none", true),
            request("d/demoted", None, "none", false),
            request("e/relaxed", Some("EParams"), "required", false),
            request("f/gained", None, "none", false),
            request("g/retyped", Some("GParams"), "required", false)
        ],
        "clientNotifications": [],
        "serverNotifications": [{"method": "n/old", "params": null, "paramsPresence": "none", "experimental": false}],
        "serverRequests": []
    });
    let mut new = old.clone();
    new["clientRequests"] = json!([
        request("b/kept", Some("BParams"), "required", false),
        request("c/promoted", None, "none", false),
        request("d/demoted", None, "none", true),
        request("e/relaxed", Some("EParams"), "optional", false),
        request("f/gained", Some("FParams"), "optional", false),
        request("g/retyped", Some("GParams2"), "required", false),
        request("h/new", None, "none", true)
    ]);
    new["clientRequests"][0]["response"] = json!("BOtherResponse");
    new["serverNotifications"] = json!([
        {"method": "n/new", "params": null, "paramsPresence": "none", "experimental": false}
    ]);
    let old = input("1.0.0", defs.clone(), old);
    let new = input("1.1.0", defs, new);
    assert_eq!(
        lines(&old, &new),
        [
            "additive added h/new (experimental API)",
            "breaking removed a/gone",
            "breaking b/kept: response bkeptResponse -> BOtherResponse",
            "additive c/promoted is now in the stable API",
            "breaking d/demoted is now only in the experimental API",
            "additive e/relaxed: params EParams -> EParams (optional)",
            "additive f/gained: params none -> FParams (optional)",
            "breaking g/retyped: params GParams -> GParams2",
            "additive added n/new",
            "breaking removed n/old",
        ]
    );
}

#[test]
fn definitions_added_and_removed_breaking_when_a_kept_method_reached_them() {
    let manifest = json!({
        "clientRequests": [request("x/run", Some("RunParams"), "required", false)],
        "clientNotifications": [],
        "serverNotifications": [],
        "serverRequests": []
    });
    let object = json!({"type": "object", "properties": {}});
    let old = input(
        "1.0.0",
        json!({
            "RunParams": {"type": "object", "properties": {"mode": {"$ref": "#/definitions/Mode"}}},
            "xrunResponse": object,
            "Mode": {"type": "string", "enum": ["a"]},
            "Orphan": object
        }),
        manifest.clone(),
    );
    let new = input(
        "1.1.0",
        json!({
            "RunParams": {"type": "object", "properties": {"mode": {"$ref": "#/definitions/Mode2"}}},
            "xrunResponse": object,
            "Mode2": {"type": "string", "enum": ["a"]}
        }),
        manifest,
    );
    assert_eq!(
        lines(&old, &new),
        [
            "additive added Mode2",
            "breaking removed Mode, which x/run reached",
            "additive removed Orphan, which no kept method reached",
            "breaking RunParams.mode: Mode -> Mode2",
        ]
    );
}

#[test]
fn fields_added_removed_and_required_or_not() {
    let old = json!({"Thing": {
        "type": "object",
        "properties": {
            "gone": {"type": "string"},
            "goneOptional": {"type": "string"},
            "nowRequired": {"type": "string"},
            "nowOptional": {"type": "string"},
            "same": {"type": "string"}
        },
        "required": ["gone", "nowOptional", "same"]
    }});
    let new = json!({"Thing": {
        "type": "object",
        "properties": {
            "added": {"type": ["string", "null"]},
            "addedRequired": {"type": "string"},
            "nowRequired": {"type": "string"},
            "nowOptional": {"type": "string"},
            "same": {"type": "string"}
        },
        "required": ["addedRequired", "nowRequired", "same"]
    }});
    check_definitions(
        old,
        new,
        &[
            "additive added Thing.added (optional)",
            "breaking added Thing.addedRequired (required)",
            "breaking removed Thing.gone (required)",
            "additive removed Thing.goneOptional (optional)",
            "additive Thing.nowOptional is no longer required",
            "breaking Thing.nowRequired is now required",
        ],
    );
}

#[test]
fn type_changes_inside_inline_objects_arrays_and_maps() {
    let old = json!({"Outer": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "format": "int32"},
            "name": {"type": "string"},
            "list": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
            "inner": {
                "anyOf": [
                    {"type": "object", "properties": {"deep": {"$ref": "#/definitions/A"}}},
                    {"type": "null"}
                ]
            }
        }
    }});
    let new = json!({"Outer": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "format": "int64"},
            "name": {"type": ["string", "null"]},
            "list": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "env": {"type": "object", "additionalProperties": {"type": "integer"}},
            "inner": {
                "anyOf": [
                    {"type": "object", "properties": {"deep": {"$ref": "#/definitions/B"}}},
                    {"type": "null"}
                ]
            }
        }
    }});
    check_definitions(
        old,
        new,
        &[
            "breaking Outer.count: integer (int32) -> integer (int64)",
            "breaking Outer.env: map of string -> map of integer",
            "breaking Outer.inner.deep: A -> B",
            "breaking Outer.list[].id: string -> integer",
            "breaking Outer.name: string -> string | null",
        ],
    );
}

#[test]
fn a_definition_that_changes_shape_is_one_type_change() {
    check_definitions(
        json!({"Display": {"type": "object", "properties": {"action": {"type": "string"}}}}),
        json!({"Display": {"oneOf": [
            {"type": "object", "properties": {"mode": {"type": "string", "enum": ["show"]}}},
            {"type": "object", "properties": {"mode": {"type": "string", "enum": ["hide"]}}}
        ]}}),
        &["breaking Display: object -> union"],
    );
}

#[test]
fn enum_values_added_and_removed() {
    check_definitions(
        json!({"Effort": {"type": "string", "enum": ["low", "high", "max"]}}),
        json!({"Effort": {"type": "string", "enum": ["low", "high", "medium"]}}),
        &[
            r#"additive Effort: added "medium""#,
            r#"breaking Effort: removed "max""#,
        ],
    );
}

#[test]
fn tagged_variants_added_removed_and_compared_inside() {
    let variant = |tag: &str, extra: Value| {
        let mut properties = json!({"type": {"type": "string", "enum": [tag]}});
        if let (Some(properties), Value::Object(extra)) = (properties.as_object_mut(), extra) {
            properties.extend(extra);
        }
        json!({"type": "object", "properties": properties, "required": ["type"]})
    };
    let old = json!({"Item": {"oneOf": [
        variant("text", json!({"text": {"type": "string"}})),
        variant("image", json!({}))
    ]}});
    let new = json!({"Item": {"oneOf": [
        variant("text", json!({"text": {"type": "string"}, "lang": {"type": "string"}})),
        variant("audio", json!({}))
    ]}});
    check_definitions(
        old,
        new,
        &[
            "additive Item: added [type=audio]",
            "breaking Item: removed [type=image]",
            "additive added Item[type=text].lang (optional)",
        ],
    );
}

#[test]
fn variant_keys_fall_back_to_titles_refs_values_and_single_keys() {
    let members = [
        json!({"title": "Named", "type": "object", "properties": {}}),
        json!({"$ref": "#/definitions/Other"}),
        json!({"type": "string", "enum": ["unit"]}),
        json!({"type": "object", "properties": {"custom": {"type": "string"}}, "required": ["custom"]}),
        json!({"type": "string", "enum": ["a", "b"]}),
        json!({"type": "string", "enum": ["c", "d"]}),
    ];
    assert_eq!(
        variant_keys(&members),
        [
            "Named",
            "Other",
            r#""unit""#,
            "{custom}",
            "string enum",
            "string enum#2"
        ]
    );
}

#[test]
fn descriptions_name_what_a_node_is() {
    for (schema, text) in [
        (json!({"$ref": "#/definitions/Turn"}), "Turn"),
        (
            json!({"type": ["integer", "null"], "format": "int64"}),
            "integer (int64) | null",
        ),
        (
            json!({"type": "array", "items": {"$ref": "#/definitions/Turn"}}),
            "array of Turn",
        ),
        (
            json!({"anyOf": [{"$ref": "#/definitions/Turn"}, {"type": "null"}]}),
            "Turn | null",
        ),
        (
            json!({"anyOf": [{"$ref": "#/definitions/B"}, {"$ref": "#/definitions/A"}]}),
            "A | B",
        ),
        (json!({"type": "string", "enum": ["a"]}), "string enum"),
        (
            json!({"type": "object", "additionalProperties": true}),
            "object",
        ),
        (json!({}), "any"),
        (json!(true), "any"),
    ] {
        assert_eq!(describe(&schema), text, "{schema}");
    }
}

#[test]
fn the_report_groups_and_the_summary_counts() {
    let changes = [
        Change::FieldAdded {
            path: "A.b".to_owned(),
            required: false,
        },
        Change::DefinitionAdded {
            name: "A".to_owned(),
        },
        Change::FieldRemoved {
            path: "A.c".to_owned(),
            required: true,
        },
    ];
    assert_eq!(
        render(&changes),
        "definitions (1):\n  additive  added A\nfields (2):\n  breaking  removed A.c \
         (required)\n  additive  added A.b (optional)\n"
    );
    assert_eq!(
        summary(&changes, "1.0.0", "1.1.0"),
        "drift from codex 1.0.0 to codex 1.1.0: 1 breaking, 2 additive"
    );
    assert_eq!(
        summary(&[], "1.1.0", "1.1.0"),
        "drift from codex 1.1.0 to codex 1.1.0: none"
    );
}

#[test]
fn a_version_compared_with_itself_has_no_drift() {
    let versions = vendored(&["0.171.0"]);
    assert_eq!(compare(&versions[0], &versions[0]), []);
}

fn vendored(versions: &[&str]) -> Vec<VersionInput> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crates/codexrt-protocol/schema");
    load(&schema, versions).unwrap()
}

#[test]
fn the_vendored_0_169_0_against_0_171_0() {
    let versions = vendored(&["0.169.0", "0.171.0"]);
    let found = lines(&versions[0], &versions[1]);
    for expected in [
        "additive added modelProvider/default/set",
        "additive added thread/realtime/list (experimental API)",
        "additive added thread/search/stream (experimental API)",
        "additive added thread/search/cancel (experimental API)",
        "additive added thread/search/stream/cancel (experimental API)",
        "additive added thread/search/partial",
        "breaking removed currentTime/read (experimental API)",
        "breaking removed Project.position (required)",
        "breaking AgentMessageDisplay: object -> union",
        "additive added McpServerToolCallParams.environmentId (optional)",
        "additive added McpServerStatus.environmentId (optional)",
        "additive added ThreadItem[type=mcpToolCall].environmentId (optional)",
    ] {
        assert!(
            found.iter().any(|line| line == expected),
            "missing `{expected}` in:\n{}",
            found.join("\n")
        );
    }
    // The server request is the one removed method, and of its kind.
    let changes = compare(&versions[0], &versions[1]);
    let removed: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::MethodRemoved { .. }))
        .collect();
    assert_eq!(
        removed,
        [&Change::MethodRemoved {
            kind: crate::codegen::Kind::ServerRequest,
            method: "currentTime/read".to_owned(),
            experimental: true,
        }]
    );
    let breaking: Vec<&String> = found.iter().filter(|l| l.starts_with("breaking")).collect();
    assert_eq!(breaking.len(), 3, "{breaking:#?}");
}
