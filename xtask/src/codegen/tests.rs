//! Unit tests of the generator: naming, classification, and the whole
//! pipeline on small made-up schemas where each rule is visible.

use serde_json::{Value, json};

use super::classify::{Class, classify};
use super::history::History;
use super::input::{Definitions, VersionInput, parse_manifest};
use super::lower::{Lowered, lower};
use super::model::{Presence, Relaxed, Shape, Ty};
use super::naming::{constant, field_name, pascal};
use super::render_api::{method_infos, render_versions};
use super::render_types::{render, render_item};

#[test]
fn names() {
    let fields = [
        "threadId",
        "type",
        "_meta",
        "$schema",
        "ca-certificate",
        "PreToolUse",
        "model_reasoning_effort",
        "httpStatusCode",
        "async",
    ]
    .map(field_name);
    assert_eq!(
        fields,
        [
            "thread_id",
            "type_",
            "meta",
            "schema",
            "ca_certificate",
            "pre_tool_use",
            "model_reasoning_effort",
            "http_status_code",
            "async_",
        ]
    );
    let variants = [
        "on-request",
        "input_text",
        "AGENTS_MD",
        "openai/form",
        "commandExecution",
        "MO",
        "promax",
    ]
    .map(pascal);
    assert_eq!(
        variants,
        [
            "OnRequest",
            "InputText",
            "AgentsMd",
            "OpenaiForm",
            "CommandExecution",
            "Mo",
            "Promax"
        ]
    );
    assert_eq!(
        [
            "item/agentMessage/delta",
            "thread/inject_items",
            "error",
            "account/gatewayOAuth/read"
        ]
        .map(constant),
        [
            "ITEM_AGENT_MESSAGE_DELTA",
            "THREAD_INJECT_ITEMS",
            "ERROR",
            "ACCOUNT_GATEWAY_OAUTH_READ"
        ]
    );
    assert_eq!(field_name("mcpOAuthLogin"), "mcp_oauth_login");
    assert_eq!(pascal("gatewayOAuth"), "GatewayOAuth");
}

#[test]
fn shapes() {
    let cases = [
        (
            json!({"type": "string", "enum": ["a", "b"]}),
            Class::StringEnum,
        ),
        (
            json!({"oneOf": [{"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["b"]}]}),
            Class::StringEnum,
        ),
        (
            json!({"oneOf": [
                {"type": "object", "properties": {"type": {"type": "string", "enum": ["x"]}}, "required": ["type"]},
                {"type": "object", "properties": {"type": {"type": "string", "enum": ["y"]}, "n": {"type": "string"}}, "required": ["type", "n"]}
            ]}),
            Class::Tagged {
                tag: "type".to_owned(),
            },
        ),
        (
            json!({"oneOf": [
                {"type": "string", "enum": ["never"]},
                {"type": "object", "additionalProperties": false, "required": ["granular"],
                 "properties": {"granular": {"type": "object", "properties": {}}}}
            ]}),
            Class::External,
        ),
        (
            json!({"anyOf": [{"type": "string"}, {"type": "integer", "format": "int64"}]}),
            Class::Untagged,
        ),
        (
            json!({"anyOf": [{"$ref": "#/definitions/X"}, {"type": "null"}]}),
            Class::Nullable,
        ),
        (json!({"type": "object"}), Class::BareObject),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            Class::Map,
        ),
        (json!({"type": "string", "minLength": 1}), Class::Alias),
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            Class::Struct,
        ),
    ];
    for (schema, class) in cases {
        assert_eq!(classify(&schema), Ok(class), "{schema}");
    }
}

fn defs(value: Value) -> Definitions {
    match value {
        Value::Object(map) => map,
        _ => panic!("definitions must be an object"),
    }
}

/// A protocol with one request whose params and response exercise the rules.
fn version(version: &str, stable: Value, experimental: Value, methods: Value) -> VersionInput {
    VersionInput {
        version: version.to_owned(),
        stable: defs(stable),
        experimental: defs(experimental),
        manifest: parse_manifest(&methods).unwrap(),
    }
}

/// `defs` lowered as version 1.0.0, with one client request, `method`,
/// whose params and response are the named definitions.
fn lower_one_request(defs: Value, method: &str, params: &str, response: &str) -> Lowered {
    let methods = json!({
        "clientRequests": [{"method": method, "params": params, "paramsPresence": "required",
                            "response": response, "experimental": false}],
        "clientNotifications": [], "serverNotifications": [], "serverRequests": []
    });
    let versions = [version("1.0.0", defs.clone(), defs, methods)];
    let history = History {
        versions: &versions,
        pinned: &versions[0],
    };
    lower(&history).unwrap()
}

fn manifest() -> Value {
    json!({
        "clientRequests": [
            {"method": "thing/get", "params": "ThingGetParams", "paramsPresence": "required",
             "response": "ThingGetResponse", "experimental": false},
            {"method": "thing/reset", "params": null, "paramsPresence": "none",
             "response": "ThingGetResponse", "experimental": true}
        ],
        "clientNotifications": [],
        "serverNotifications": [],
        "serverRequests": []
    })
}

fn old_defs() -> Value {
    json!({
        "ThingGetParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "ThingGetResponse": {"type": "object",
            "properties": {"id": {"type": "string"}, "size": {"type": "integer", "format": "uint32"}},
            "required": ["id", "size"]}
    })
}

fn new_stable() -> Value {
    json!({
        "ThingGetParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "ThingGetResponse": {"type": "object",
            "properties": {
                "id": {"type": "string"},
                "size": {"type": "integer", "format": "uint32"},
                "root": {"type": "string"},
                "note": {"type": ["string", "null"]}
            },
            "required": ["id", "size", "root", "note"]}
    })
}

fn new_experimental() -> Value {
    let mut defs = new_stable();
    defs["ThingGetParams"]["properties"]["preview"] = json!({"type": "boolean"});
    defs
}

#[test]
fn a_field_newer_servers_require_is_optional_and_experimental_fields_are_flagged() {
    let versions = [
        version("1.0.0", old_defs(), old_defs(), manifest()),
        version("1.1.0", new_stable(), new_experimental(), manifest()),
    ];
    let history = History {
        versions: &versions,
        pinned: &versions[1],
    };
    let lowered = lower(&history).unwrap();
    let Shape::Struct { fields, .. } = &lowered.items["ThingGetResponse"].shape else {
        panic!("ThingGetResponse is no struct");
    };
    let summary: Vec<(&str, Presence, &Relaxed, Option<&str>)> = fields
        .iter()
        .map(|f| (f.wire.as_str(), f.presence, &f.relaxed, f.since.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("id", Presence::Required, &Relaxed::No, None),
            ("note", Presence::Nullable, &Relaxed::No, Some("1.1.0")),
            (
                "root",
                Presence::Optional,
                &Relaxed::OlderServers(Some("1.1.0".to_owned())),
                Some("1.1.0")
            ),
            ("size", Presence::Required, &Relaxed::No, None),
        ]
    );
    let mut text = String::new();
    render_item(&mut text, &lowered.items["ThingGetParams"]);
    assert_eq!(
        text,
        r#"/// Params of the `thing/get` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThingGetParams {
    /// `id`, required.
    pub id: String,
    /// `preview`, optional: left out when `None`. Only in the experimental API. Absent from servers older than 1.1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
}
"#
    );
    let mut text = String::new();
    render_item(&mut text, &lowered.items["ThingResetParams"]);
    assert_eq!(
        text,
        "/// Params of the `thing/reset` request.
///
/// The method takes no params: this serializes as `null`, which the rpc layer leaves out.
///
/// Only in the experimental API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThingResetParams;
"
    );
    let infos = method_infos(&versions, &versions[1], &lowered).unwrap();
    let methods: Vec<(&str, &str, Option<&str>, bool)> = infos
        .iter()
        .map(|i| {
            (
                i.method.as_str(),
                i.params.as_str(),
                i.response.as_deref(),
                i.experimental,
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            (
                "thing/get",
                "ThingGetParams",
                Some("ThingGetResponse"),
                false
            ),
            (
                "thing/reset",
                "ThingResetParams",
                Some("ThingGetResponse"),
                true
            ),
        ]
    );
}

#[test]
fn untagged_members_are_ordered_and_discriminators_are_strict() {
    let defs = json!({
        "ShapeParams": {"type": "object", "properties": {"shape": {"$ref": "#/definitions/AnyShape"}}, "required": ["shape"]},
        "ShapeResponse": {"type": "object"},
        "AnyShape": {"anyOf": [
            {"$ref": "#/definitions/PlainShape"},
            {"$ref": "#/definitions/FancyShape"},
            {"type": "string"}
        ]},
        "PlainShape": {"type": "object", "properties": {"kind": {"$ref": "#/definitions/PlainKind"}}, "required": ["kind"]},
        "FancyShape": {"type": "object",
            "properties": {"kind": {"$ref": "#/definitions/PlainKind"}, "sides": {"type": "integer", "format": "uint16"}},
            "required": ["kind", "sides"]},
        "PlainKind": {"type": "string", "enum": ["plain"]}
    });
    let lowered = lower_one_request(defs, "shape/set", "ShapeParams", "ShapeResponse");
    let mut text = String::new();
    render_item(&mut text, &lowered.items["AnyShape"]);
    render_item(&mut text, &lowered.items["PlainKind"]);
    render_item(&mut text, &lowered.items["ShapeResponse"]);
    assert_eq!(
        text,
        r#"/// Used by [`ShapeParams`].
///
/// Untagged: decoding tries the variants in the order listed (the most demanding first) and keeps the first that fits, or `Unknown` when none does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AnyShape {
    /// A [`FancyShape`].
    Fancy(FancyShape),
    /// A [`PlainShape`].
    Plain(PlainShape),
    /// A string.
    String(String),
    /// A variant this version does not know (or a known one whose payload did not decode), as raw JSON.
    Unknown(Value),
}
string_enum! {
    /// Used by [`FancyShape`] and [`PlainShape`].
    ///
    /// A string on the wire. Strict: any other value fails to decode, because this value tells the members of [`AnyShape`] apart.
    strict pub enum PlainKind {
        /// `plain` on the wire.
        Plain = "plain",
    }
}
/// Response to the `shape/set` request.
///
/// Carries no data: `{}` on the wire; members a newer server adds are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeResponse {}
"#
    );
}

/// Two requests, `a/one` and `a/two`, with the params type `SharedParams`,
/// and definitions `extra` besides.
fn shared_params(extra: &[&str]) -> Vec<VersionInput> {
    let mut defs = json!({
        "SharedParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "OneResponse": {"type": "object"}
    });
    for name in extra {
        defs[*name] = json!({"type": "object"});
    }
    let methods = json!({
        "clientRequests": [
            {"method": "a/one", "params": "SharedParams", "paramsPresence": "required", "response": "OneResponse", "experimental": false},
            {"method": "a/two", "params": "SharedParams", "paramsPresence": "required", "response": "OneResponse", "experimental": false}
        ],
        "clientNotifications": [], "serverNotifications": [], "serverRequests": []
    });
    vec![version("1.0.0", defs.clone(), defs, methods)]
}

#[test]
fn a_params_type_shared_by_two_requests_gets_a_copy_for_the_second() {
    let versions = shared_params(&[]);
    let history = History {
        versions: &versions,
        pinned: &versions[0],
    };
    let lowered = lower(&history).unwrap();
    let infos = method_infos(&versions, &versions[0], &lowered).unwrap();
    let params: Vec<(&str, &str)> = infos
        .iter()
        .map(|i| (i.method.as_str(), i.params.as_str()))
        .collect();
    assert_eq!(params, [("a/one", "SharedParams"), ("a/two", "ATwoParams")]);
    let (mut shared, mut copy) = (String::new(), String::new());
    render_item(&mut shared, &lowered.items["SharedParams"]);
    render_item(&mut copy, &lowered.items["ATwoParams"]);
    assert!(copy.contains("pub struct ATwoParams {"), "{copy}");
    assert!(
        copy.contains("/// The members of [`SharedParams`], which `a/two` takes as well"),
        "{copy}"
    );
    // The same members.
    let members = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.trim_start().starts_with("pub ") && !line.contains("struct"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(members(&copy), members(&shared));
    assert_eq!(members(&copy), ["    pub id: String,"]);

    // A definition of that name is not overwritten.
    let versions = shared_params(&["ATwoParams"]);
    let history = History {
        versions: &versions,
        pinned: &versions[0],
    };
    assert_eq!(
        lower(&history).err().unwrap_or_default(),
        "the params type `ATwoParams` made up for `a/two`, which shares `SharedParams`, collides \
         with a definition"
    );
}

#[test]
fn unsupported_shapes_fail_with_the_definition_named() {
    let inline = json!({"inline": {"type": "object", "properties": {"a": {"type": "string"}}}});
    let err = lower_odd(inline).err().unwrap_or_default();
    assert!(
        err.starts_with("definition `OddParams`: property `inline`: inline object in a property"),
        "{err}"
    );
}

/// One version whose `OddParams` has `properties` and whose request `odd`
/// takes it, lowered.
fn lower_odd(properties: Value) -> Result<Lowered, String> {
    let defs = json!({
        "OddParams": {"type": "object", "properties": properties},
        "OddResponse": {"type": "object"}
    });
    let methods = json!({
        "clientRequests": [{"method": "odd", "params": "OddParams", "paramsPresence": "required",
                            "response": "OddResponse", "experimental": false}],
        "clientNotifications": [], "serverNotifications": [], "serverRequests": []
    });
    let versions = [version("1.0.0", defs.clone(), defs, methods)];
    let history = History {
        versions: &versions,
        pinned: &versions[0],
    };
    lower(&history)
}

#[test]
fn an_inline_integer_enum_is_its_integer_and_other_inline_enums_fail() {
    let marker =
        json!({"version": {"enum": [1], "format": "uint8", "minimum": 0, "type": "integer"}});
    let lowered = lower_odd(marker).unwrap();
    let Shape::Struct { fields, .. } = &lowered.items["OddParams"].shape else {
        panic!("OddParams is no struct");
    };
    let types: Vec<(&str, &Ty)> = fields.iter().map(|f| (f.wire.as_str(), &f.ty)).collect();
    assert_eq!(types, [("version", &Ty::U8)]);

    let err = lower_odd(json!({"mode": {"enum": ["show"], "type": "string"}}))
        .err()
        .unwrap_or_default();
    assert!(
        err.starts_with("definition `OddParams`: property `mode`: inline enum in a property"),
        "{err}"
    );
}

#[test]
fn the_report_covers_every_version_and_lists_the_overrides() {
    // 1.0.0 lacks `thing/reset`, which 1.1.0 (pinned) has in its
    // experimental API only.
    let mut old_manifest = manifest();
    old_manifest["clientRequests"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let versions = [
        version("1.0.0", old_defs(), old_defs(), old_manifest),
        version("1.1.0", new_stable(), new_experimental(), manifest()),
    ];
    let history = History {
        versions: &versions,
        pinned: &versions[1],
    };
    let lowered = lower(&history).unwrap();
    let infos = method_infos(&versions, &versions[1], &lowered).unwrap();
    let text = super::report::render(
        &versions,
        &versions[1],
        &[("1.0.1", "1.0.0")],
        &infos,
        &lowered,
    );
    let coverage: Vec<&str> = text.lines().take(12).collect();
    assert_eq!(
        coverage,
        [
            "coverage per supported version, typed = params and response types generated (from \
             the pinned version's schema):",
            "  codex 1.0.0",
            "    client requests: 1/1 typed",
            "    client notifications: 0/0",
            "    server notifications: 0/0",
            "    server requests: 0/0",
            "  codex 1.1.0 (pinned)",
            "    client requests: 1/1 typed (2/2 with experimental)",
            "    client notifications: 0/0",
            "    server notifications: 0/0",
            "    server requests: 0/0",
            "  types: 3 generated",
        ]
    );
    assert!(
        text.contains("  modelProvider/default/set -> ConfigWriteResponse\n"),
        "{text}"
    );
    assert!(
        text.contains("  1.0.0 -> 1.1.0\n    client requests, experimental API: +thing/reset\n"),
        "{text}"
    );
    assert!(text.contains("  codex 1.0.1 = codex 1.0.0\n"), "{text}");
}

#[test]
fn twins_are_rendered_with_their_partner_index_and_checked() {
    let versions = [
        version("1.0.0", old_defs(), old_defs(), manifest()),
        version("1.1.0", new_stable(), new_experimental(), manifest()),
    ];
    let text = render_versions(&versions, "1.1.0", &[("1.0.1", "1.0.0")]).unwrap();
    assert!(
        text.contains(r#"pub const TWIN_VERSIONS: &[(&str, &str)] = &[("1.0.1", "1.0.0")];"#),
        "{text}"
    );
    assert!(
        text.contains(
            "pub(crate) const TWIN_VERSION_NUMBERS: &[((u64, u64, u64), usize)] = &[((1, 0, 1), 0)];"
        ),
        "{text}"
    );
    assert_eq!(
        render_versions(&versions, "1.1.0", &[("1.0.2", "1.0.1")]).err(),
        Some("the partner 1.0.1 of twin 1.0.2 is not supported".to_owned())
    );
    assert_eq!(
        render_versions(&versions, "1.1.0", &[("1.1.0", "1.0.0")]).err(),
        Some("twin 1.1.0 is a supported version itself".to_owned())
    );
}

#[test]
fn optional_parts_that_can_fail_to_decode_are_lenient() {
    let defs = json!({
        "ItemParams": {"type": "object", "properties": {
            "part": {"$ref": "#/definitions/Part"},
            "parts": {"type": "array", "items": {"$ref": "#/definitions/Part"}},
            "required_part": {"$ref": "#/definitions/Part"},
            "nullable_part": {"anyOf": [{"$ref": "#/definitions/Part"}, {"type": "null"}]},
            "label": {"type": "string"},
            "mode": {"$ref": "#/definitions/Mode"},
            "tagged": {"$ref": "#/definitions/Tagged"}
        }, "required": ["required_part", "nullable_part"]},
        "ItemResponse": {"type": "object"},
        "Part": {"type": "object", "properties": {"flag": {"type": "boolean"}}, "required": ["flag"]},
        "Mode": {"type": "string", "enum": ["on", "off"]},
        "Tagged": {"oneOf": [
            {"type": "object", "properties": {"type": {"type": "string", "enum": ["a"]}}, "required": ["type"]},
            {"type": "object", "properties": {"type": {"type": "string", "enum": ["b"]}}, "required": ["type"]}
        ]}
    });
    let lowered = lower_one_request(defs, "item/get", "ItemParams", "ItemResponse");
    let Shape::Struct { fields, .. } = &lowered.items["ItemParams"].shape else {
        panic!("ItemParams is not a struct");
    };
    let lenient: Vec<(&str, bool)> = fields
        .iter()
        .map(|f| (f.wire.as_str(), f.lenient))
        .collect();
    // Objects and lists of them, optional or nullable, are lenient; a
    // required object fails its parent as before; scalars, tolerant enums
    // and tagged unions (which keep what they do not know) are left alone.
    assert_eq!(
        lenient,
        [
            ("label", false),
            ("mode", false),
            ("nullable_part", true),
            ("part", true),
            ("parts", true),
            ("required_part", false),
            ("tagged", false),
        ]
    );
    let mut text = String::new();
    render_item(&mut text, &lowered.items["ItemParams"]);
    assert!(
        text.contains(
            "    /// `part`, optional: left out when `None`. `None` as well when a newer server \
             sends a shape this version cannot decode.\n    #[serde(default, skip_serializing_if = \
             \"Option::is_none\", deserialize_with = \"lenient\")]\n    pub part: Option<Part>,\n"
        ),
        "{text}"
    );
}

#[test]
fn a_member_whose_type_depends_on_the_tag_is_read_in_one_pass_as_text() {
    let defs = json!({
        "ThingParams": {"type": "object", "properties": {"thing": {"$ref": "#/definitions/Thing"}}, "required": ["thing"]},
        "ThingResponse": {"type": "object"},
        "Thing": {"oneOf": [
            {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["box"]},
                "size": {"type": "integer", "format": "int64"},
                "status": {"type": "string"}
            }, "required": ["type", "size", "status"]},
            {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["bag"]},
                "size": {"type": "integer", "format": "int64"},
                "status": {"type": "integer", "format": "int64"}
            }, "required": ["type"]},
            {"type": "object", "properties": {"type": {"type": "string", "enum": ["none"]}}, "required": ["type"]}
        ]}
    });
    let lowered = lower_one_request(defs, "thing/set", "ThingParams", "ThingResponse");
    let mut text = String::new();
    render_item(&mut text, &lowered.items["Thing"]);
    let one_pass = &text[text.find("fn read_in_one_pass").unwrap()..];
    // `size` has one type: read as it. `status` has two: kept as text.
    for expected in [
        "if tagged::one_pass() {\n            return Self::read_in_one_pass(deserializer);\n        }",
        "#[serde(rename = \"type\", borrow)]\n            tag: tagged::Tag<'a>,",
        "#[serde(rename = \"size\", default)]\n            m0: Option<i64>,",
        "#[serde(rename = \"status\", default, borrow)]\n            m1: Option<tagged::Raw<'a>>,",
        "const TAGS: &[&str] = &[\"box\", \"bag\", \"none\"];",
        "0 => Thing::Box { size: m.m0?, status: m.m1.as_ref()?.decode::<String>().ok()? },",
        "1 => Thing::Bag { size: m.m0, status: match &m.m1 { Some(raw) => raw.decode::<Option<i64>>().ok()?, None => None } },",
        "2 => Thing::None,",
        "_ => return None,",
        "build(tagged::members(deserializer)?).ok_or_else(tagged::fall_back)",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in:\n{one_pass}");
    }
}

#[test]
fn the_alternatives_of_a_flattened_part_are_read_in_one_pass_in_order() {
    let defs = json!({
        "MediaParams": {"type": "object", "properties": {"media": {"$ref": "#/definitions/Media"}}, "required": ["media"]},
        "MediaResponse": {"type": "object"},
        "Media": {"oneOf": [
            {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["image"]},
                "detail": {"type": "string"}
            }, "required": ["type"], "anyOf": [
                {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
                {"type": "object", "properties": {"fileId": {"type": "string"}}, "required": ["fileId"]}
            ]},
            {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["text"]},
                "text": {"type": "string"}
            }, "required": ["type", "text"]}
        ]}
    });
    let lowered = lower_one_request(defs, "media/set", "MediaParams", "MediaResponse");
    let text = render(&lowered, "1.0.0", &["1.0.0"], "crate::__private");
    let one_pass = &text[text.find("fn read_in_one_pass").unwrap()..];
    // The alternatives' members join the struct; the first alternative
    // whose members are all there is built, and none there falls back.
    for expected in [
        "#[serde(rename = \"fileId\", default)]\n            m1: Option<String>,",
        "#[serde(rename = \"url\", default)]\n            m3: Option<String>,",
        "0 => Media::Image { detail: m.m0, source: if m.m3.is_some() { MediaImage::Url { url: m.m3? } } \
         else if m.m1.is_some() { MediaImage::FileId { file_id: m.m1? } } else { return None } },",
        "1 => Media::Text { text: m.m2? },",
    ] {
        assert!(
            one_pass.contains(expected),
            "{expected}\nnot in:\n{one_pass}"
        );
    }
}
