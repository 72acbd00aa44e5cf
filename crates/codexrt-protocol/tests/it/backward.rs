//! Backward compatibility: what older supported servers send decodes with
//! the types generated from the pinned version.

use codexrt_protocol::types::Turn;
use serde_json::json;

use crate::generated_cases::DEFINITIONS;
use crate::schema::{Sampler, definitions, older, protocol_surface};

#[test]
fn every_older_definition_decodes() {
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    let mut missing = Vec::new();
    for version in older() {
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
    // send it, and it is kept rather than refused. 0.171.0 made
    // `AgentMessageDisplay` a union on `mode`: 0.169.0's object of flags is
    // kept raw in its `Unknown` arm, while the moderation and the agent
    // message around it stay typed (the item keeps its text).
    let display = r#"Unknown(Object {"action": String("s"), "blockType": String("s"), "checkTrustedContacts": Bool(true), "cyberTrustedAccess": Bool(true)})"#;
    assert_eq!(
        unknown,
        [
            r#"0.150.0 ReviewDelivery: Unknown("detached")"#.to_owned(),
            r#"0.160.1 ReviewDelivery: Unknown("detached")"#.to_owned(),
            format!("0.169.0 AgentMessageDisplay: {display}"),
            format!(
                "0.169.0 AgentMessageModeration: AgentMessageModeration {{ display: Some({display}), \
                 moderated: true }}"
            ),
            format!(
                "0.169.0 ThreadItem: ThreadItem {{ completed_at_ms: Some(1), started_at_ms: Some(1), \
                 kind: AgentMessage {{ delivery: Some(Async), id: \"s\", memory_citation: \
                 Some(MemoryCitation {{ entries: [MemoryCitationEntry {{ line_end: 1, line_start: 1, \
                 note: \"s\", path: \"s\" }}], thread_ids: [\"s\"] }}), moderation: \
                 Some(AgentMessageModeration {{ display: Some({display}), moderated: true }}), \
                 phase: Some(Commentary), questions: Some([AsyncUserInputQuestion {{ options: \
                 Some([\"s\"]), title: \"s\" }}]), text: \"s\" }} }}"
            ),
        ]
    );
    // Types of methods the pinned version no longer has: `thread/rollback`
    // (gone after 0.150.0) and the experimental server request
    // `currentTime/read` (gone in 0.171.0), which the runtime now refuses
    // as an unknown request.
    assert_eq!(
        missing,
        [
            "0.150.0 CurrentTimeReadParams",
            "0.150.0 CurrentTimeReadResponse",
            "0.150.0 ThreadRollbackParams",
            "0.150.0 ThreadRollbackResponse",
            "0.160.1 CurrentTimeReadParams",
            "0.160.1 CurrentTimeReadResponse",
            "0.169.0 CurrentTimeReadParams",
            "0.169.0 CurrentTimeReadResponse"
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
