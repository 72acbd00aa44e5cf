//! Backward compatibility: what older supported servers send decodes with
//! the types generated from the pinned version.

use std::collections::BTreeMap;

use codexrt_protocol::types::Turn;
use serde_json::json;

use crate::generated_cases::DEFINITIONS;
use crate::schema::{Sampler, definitions, older, protocol_surface};

/// What older traffic decodes to, by type and not by version: a version
/// added later with the shapes of one already listed (a patch release)
/// changes nothing here. The versions are kept for the failure message.
#[test]
fn every_older_definition_decodes() {
    let mut failures = Vec::new();
    let mut unknown: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut missing: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for version in older() {
        let defs = definitions(version, "experimental");
        let sampler = Sampler::new(&defs);
        for name in &protocol_surface(version, &defs) {
            let Some((_, roundtrip)) = DEFINITIONS.iter().find(|(n, _)| n == name) else {
                missing.entry(name.clone()).or_default().push(version);
                continue;
            };
            for sample in sampler.samples(name) {
                match roundtrip(&sample.to_string()) {
                    Ok(decoded) if decoded.has_unknown() => {
                        let key = format!("{name}: {}", decoded.debug);
                        unknown.entry(key).or_default().push(version);
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
    // `AgentMessageDisplay` a union on `mode`: the object of flags of the
    // versions before is kept raw in its `Unknown` arm, while the moderation
    // and the agent message around it stay typed (the item keeps its text).
    let display = r#"Unknown(Object {"action": String("s"), "blockType": String("s"), "checkTrustedContacts": Bool(true), "cyberTrustedAccess": Bool(true)})"#;
    let expected = [
        format!("AgentMessageDisplay: {display}"),
        format!(
            "AgentMessageModeration: AgentMessageModeration {{ display: Some({display}), \
             moderated: true }}"
        ),
        r#"ReviewDelivery: Unknown("detached")"#.to_owned(),
        format!(
            "ThreadItem: ThreadItem {{ completed_at_ms: Some(1), started_at_ms: Some(1), \
             kind: AgentMessage {{ delivery: Some(Async), id: \"s\", memory_citation: \
             Some(MemoryCitation {{ entries: [MemoryCitationEntry {{ line_end: 1, line_start: 1, \
             note: \"s\", path: \"s\" }}], thread_ids: [\"s\"] }}), moderation: \
             Some(AgentMessageModeration {{ display: Some({display}), moderated: true }}), \
             phase: Some(Commentary), questions: Some([AsyncUserInputQuestion {{ options: \
             Some([\"s\"]), title: \"s\" }}]), text: \"s\" }} }}"
        ),
    ];
    assert_eq!(
        unknown.keys().collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>(),
        "{unknown:#?}"
    );
    // Types of methods the pinned version no longer has: `thread/rollback`
    // (gone after 0.150.0) and the experimental server request
    // `currentTime/read` (gone in 0.171.0), which the runtime now refuses
    // as an unknown request.
    assert_eq!(
        missing.keys().collect::<Vec<_>>(),
        [
            "CurrentTimeReadParams",
            "CurrentTimeReadResponse",
            "ThreadRollbackParams",
            "ThreadRollbackResponse"
        ],
        "{missing:#?}"
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
