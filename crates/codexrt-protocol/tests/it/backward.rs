//! Backward compatibility: what older supported servers send decodes with
//! the types generated from the pinned version.

use codexrt_protocol::types::Turn;
use serde_json::json;

use crate::generated_cases::DEFINITIONS;
use crate::schema::{OLDER, Sampler, definitions, protocol_surface};

#[test]
fn every_older_definition_decodes() {
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    let mut missing = Vec::new();
    for version in OLDER {
        let defs = definitions(version, "experimental");
        let sampler = Sampler::new(&defs);
        for name in &protocol_surface(version, &defs) {
            let Some((_, roundtrip)) = DEFINITIONS.iter().find(|(n, _)| n == name) else {
                missing.push(format!("{version} {name}"));
                continue;
            };
            for sample in sampler.samples(name) {
                match roundtrip(&sample.to_string()) {
                    Ok(decoded) if decoded.has_unknown() => {
                        unknown.push(format!("{version} {name}: {}", decoded.debug));
                    }
                    Ok(_) => {}
                    Err(err) => failures.push(format!("{version} {name}: {sample}\n    {err}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // `ReviewDelivery` lost `detached` in 0.169.0; older servers may still
    // send it, and it is kept rather than refused.
    assert_eq!(
        unknown,
        [
            r#"0.150.0 ReviewDelivery: Unknown("detached")"#,
            r#"0.160.1 ReviewDelivery: Unknown("detached")"#,
        ]
    );
    // Types of methods the pinned version no longer has.
    assert_eq!(
        missing,
        [
            "0.150.0 ThreadRollbackParams",
            "0.150.0 ThreadRollbackResponse"
        ]
    );
}

#[test]
fn a_turn_without_root_turn_id_decodes() {
    let turn: Turn = serde_json::from_value(json!({
        "id": "u1", "items": [], "status": "completed"
    }))
    .unwrap();
    assert_eq!(turn.root_turn_id, None);
    assert_eq!(
        serde_json::to_value(&turn).unwrap(),
        json!({"id": "u1", "items": [], "status": "completed"})
    );
}
