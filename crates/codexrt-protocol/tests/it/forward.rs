//! Forward compatibility: what a newer server may send (unknown methods,
//! fields, enum values, variants) decodes, and what this version does not
//! know is kept and written back unchanged.

use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{CodexErrorInfo, ThreadItemKind, TurnStatus};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::generated_cases::DEFINITIONS;
use crate::schema::{PINNED, Sampler, definitions};

#[test]
fn an_unknown_notification_method_is_kept() {
    let params = RawValue::from_string(r#"{"a":1}"#.to_owned()).unwrap();
    let decoded = ServerNotification::decode("thread/teleported", Some(&params)).unwrap();
    match &decoded {
        ServerNotification::Unknown { method, params } => {
            assert_eq!(method, "thread/teleported");
            assert_eq!(params.as_deref().map(RawValue::get), Some(r#"{"a":1}"#));
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[test]
fn an_unknown_item_type_inside_a_known_notification_is_kept() {
    let item = json!({"type": "brandNew", "id": "i1", "sparkles": [1, 2]});
    let params = json!({
        "threadId": "t1", "turnId": "u1", "completedAtMs": 5,
        "item": {"startedAtMs": 4, "type": "brandNew", "id": "i1", "sparkles": [1, 2]}
    });
    let raw = RawValue::from_string(params.to_string()).unwrap();
    let ServerNotification::ItemCompleted(done) =
        ServerNotification::decode("item/completed", Some(&raw)).unwrap()
    else {
        panic!("item/completed did not decode as ItemCompleted");
    };
    // The common members stay typed; the rest is the unknown variant.
    assert_eq!(done.item.started_at_ms, Some(4));
    assert_eq!(done.item.kind, ThreadItemKind::Unknown(item));
    assert_eq!(
        serde_json::to_value(ServerNotification::ItemCompleted(done)).unwrap(),
        json!({"method": "item/completed", "params": params})
    );
}

#[test]
fn unknown_members_everywhere_are_ignored() {
    let defs = definitions(PINNED, "experimental");
    let sampler = Sampler::with_extra_members(&defs);
    let mut failures = Vec::new();
    for (name, roundtrip) in DEFINITIONS {
        for sample in sampler.samples(name) {
            match roundtrip(&sample.to_string()) {
                Ok(decoded) if decoded.has_unknown() => {
                    failures.push(format!("{name}: fell back to Unknown: {}", decoded.debug));
                }
                Ok(_) => {}
                Err(err) => failures.push(format!("{name}: {err}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_unknown_string_enum_value_round_trips() {
    let status: TurnStatus = serde_json::from_value(json!("paused")).unwrap();
    assert_eq!(status, TurnStatus::Unknown("paused".to_owned()));
    assert_eq!(status.as_str(), "paused");
    assert_eq!(serde_json::to_value(&status).unwrap(), json!("paused"));

    // Every string enum keeps an unknown value, except the strict ones that
    // tell untagged union members apart.
    let defs = definitions(PINNED, "experimental");
    let mut strict = Vec::new();
    for (name, roundtrip) in DEFINITIONS {
        let schema = &defs[*name];
        let is_string_enum = schema["enum"].is_array()
            || schema["oneOf"]
                .as_array()
                .is_some_and(|m| m.iter().all(|m| m["enum"].is_array()));
        if !is_string_enum {
            continue;
        }
        match roundtrip(r#""zzNewValue""#) {
            Ok(decoded) => {
                assert_eq!(decoded.debug, r#"Unknown("zzNewValue")"#, "{name}");
                assert_eq!(decoded.json, json!("zzNewValue"), "{name}");
            }
            Err(_) => strict.push(*name),
        }
    }
    assert_eq!(
        strict,
        [
            "McpElicitationArrayType",
            "McpElicitationBooleanType",
            "McpElicitationNumberType",
            "McpElicitationStringType",
        ]
    );
}

/// The tag of a `oneOf` whose members all require a single-value string
/// property, as the generator finds it.
fn tag_of(schema: &Value) -> Option<&str> {
    let members = schema["oneOf"].as_array()?;
    let first = members.first()?.as_object()?;
    ["type", "method", "mode", "kind", "handlerType"]
        .into_iter()
        .find(|tag| {
            first.contains_key("properties")
                && members.iter().all(|m| {
                    m["properties"][*tag]["enum"]
                        .as_array()
                        .is_some_and(|e| e.len() == 1)
                })
        })
}

#[test]
fn an_unknown_variant_of_every_tagged_union_is_kept() {
    let defs = definitions(PINNED, "experimental");
    let sampler = Sampler::new(&defs);
    let mut checked = 0;
    for (name, roundtrip) in DEFINITIONS {
        let Some(tag) = tag_of(&defs[*name]) else {
            continue;
        };
        // A sample of the first variant (with the common members of a struct
        // like `ThreadItem`) under a tag no version has.
        let mut value = sampler.samples(name).remove(0);
        value[tag] = json!("zzNewVariant");
        value["zzPayload"] = json!({"a": [1]});
        let decoded = roundtrip(&value.to_string()).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(decoded.has_unknown(), "{name}: {}", decoded.debug);
        assert_eq!(decoded.json, value, "{name}");
        checked += 1;
    }
    // Every tagged union of 0.171.0, and every struct with a tagged part
    // (`ThreadItem`, …): 47 at 0.169.0.
    assert_eq!(checked, 51);
}

#[test]
fn unknown_values_of_mixed_unions_are_kept() {
    let info: CodexErrorInfo = serde_json::from_value(json!("quotaMelted")).unwrap();
    assert_eq!(info, CodexErrorInfo::Unknown(json!("quotaMelted")));
    let info: CodexErrorInfo =
        serde_json::from_value(json!({"brandNewFailure": {"httpStatusCode": 418}})).unwrap();
    assert_eq!(
        info,
        CodexErrorInfo::Unknown(json!({"brandNewFailure": {"httpStatusCode": 418}}))
    );
    let known: CodexErrorInfo =
        serde_json::from_value(json!({"httpConnectionFailed": {"httpStatusCode": 502}})).unwrap();
    assert_eq!(
        known,
        CodexErrorInfo::HttpConnectionFailed {
            http_status_code: Some(502)
        }
    );
    assert_eq!(
        serde_json::from_value::<CodexErrorInfo>(json!("internalServerError")).unwrap(),
        CodexErrorInfo::InternalServerError
    );
}
