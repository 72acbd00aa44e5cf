//! Every generated type against the pinned schema: a sampled value of each
//! definition (each variant in turn) decodes without falling back to
//! `Unknown`, encodes back to exactly the same JSON, and that JSON is valid
//! against the schema; what the client sends is valid too.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::generated_cases::{CLIENT_REQUESTS, DEFINITIONS, UNIT_PARAMS};
use crate::schema::{PINNED, Sampler, Validator, definitions, manifest};

#[test]
fn every_definition_round_trips_and_validates() {
    let defs = definitions(PINNED, "experimental");
    let sampler = Sampler::new(&defs);
    let validator = Validator::new(&defs);
    let mut failures = Vec::new();
    let mut samples = 0;
    for (name, roundtrip) in DEFINITIONS {
        for sample in sampler.samples(name) {
            samples += 1;
            let problem = match roundtrip(&sample.to_string()) {
                Err(err) => Some(err),
                Ok(decoded) if decoded.has_unknown() => {
                    Some(format!("fell back to Unknown: {}", decoded.debug))
                }
                Ok(decoded) if decoded.json != sample => {
                    Some(format!("re-encoded as {}", decoded.json))
                }
                Ok(decoded) => validator.check(name, &decoded.json).err(),
            };
            if let Some(problem) = problem {
                failures.push(format!("{name}: {sample}\n    {problem}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {samples} samples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every reachable definition of the schema has a generated type.
    assert_eq!(DEFINITIONS.len(), 924);
}

/// The experimental fields the schema diff says a params definition has:
/// members the stable definition lacks, and (one struct level down) members
/// a stable nested definition lacks, as dotted wire paths.
fn expected_experimental_fields(
    stable: &serde_json::Map<String, Value>,
    experimental: &serde_json::Map<String, Value>,
    name: &str,
    prefix: &str,
    out: &mut Vec<String>,
) {
    let (Some(exp), Some(st)) = (experimental.get(name), stable.get(name)) else {
        return;
    };
    for (key, prop) in exp["properties"].as_object().into_iter().flatten() {
        let path = format!("{prefix}{key}");
        if st["properties"].get(key).is_none() {
            out.push(path);
            continue;
        }
        let target = prop["$ref"]
            .as_str()
            .or_else(|| prop["anyOf"][0]["$ref"].as_str())
            .map(|r| r.trim_start_matches("#/definitions/"));
        if let Some(target) = target {
            expected_experimental_fields(stable, experimental, target, &format!("{path}."), out);
        }
    }
}

#[test]
fn what_the_client_sends_is_valid_and_knows_its_method() {
    let defs = definitions(PINNED, "experimental");
    let stable = definitions(PINNED, "stable");
    let sampler = Sampler::new(&defs);
    let validator = Validator::new(&defs);
    let methods = manifest(PINNED, "clientRequests");
    let cases: BTreeMap<&str, _> = CLIENT_REQUESTS.iter().copied().collect();
    assert_eq!(
        cases.keys().copied().collect::<Vec<_>>(),
        methods
            .iter()
            .map(|m| m.method.as_str())
            .collect::<Vec<_>>()
    );
    let mut failures = Vec::new();
    let mut with_experimental_fields = BTreeMap::new();
    for m in &methods {
        let case = cases[m.method.as_str()];
        let Some(params) = &m.params else {
            let view = case("null").unwrap();
            let response = view.response.rsplit("::").next().unwrap_or_default();
            assert_eq!(
                (view.method, view.experimental, response, view.json),
                (
                    m.method.as_str(),
                    m.experimental,
                    m.response.as_deref().unwrap_or_default(),
                    Value::Null
                ),
                "{}",
                m.method
            );
            continue;
        };
        let response = case(&sampler.sample(&defs[params.as_str()]).to_string()).map(|view| {
            view.response
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        if response.as_deref() != Ok(m.response.as_deref().unwrap_or_default()) {
            failures.push(format!("{}: responds with {response:?}", m.method));
        }
        let mut expected = Vec::new();
        if !m.experimental {
            expected_experimental_fields(&stable, &defs, params, "", &mut expected);
        }
        for sample in sampler.samples(params) {
            let view = match case(&sample.to_string()) {
                Ok(view) => view,
                Err(err) => {
                    failures.push(format!("{}: {err}", m.method));
                    continue;
                }
            };
            if (view.method, view.experimental) != (m.method.as_str(), m.experimental) {
                failures.push(format!(
                    "{}: says {} {}",
                    m.method, view.method, view.experimental
                ));
            }
            if view.json != sample {
                failures.push(format!("{}: sent {} for {sample}", m.method, view.json));
            }
            if let Err(err) = validator.check(params, &view.json) {
                failures.push(format!("{}: invalid: {err}", m.method));
            }
            let mut got: Vec<String> = view
                .experimental_fields
                .iter()
                .map(|f| (*f).to_owned())
                .collect();
            got.sort();
            expected.sort();
            if got != expected {
                failures.push(format!(
                    "{}: experimental fields {got:?}, expected {expected:?}",
                    m.method
                ));
            }
            if !got.is_empty() {
                with_experimental_fields.insert(m.method.as_str(), got.len());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The stable requests whose params have experimental-only fields, and
    // how many (all set in a sample with every member present).
    assert_eq!(
        with_experimental_fields,
        BTreeMap::from([
            ("command/exec", 1),
            ("thread/fork", 8),
            ("thread/items/list", 2),
            ("thread/list", 5),
            ("thread/metadata/update", 2),
            ("thread/resume", 5),
            ("thread/start", 12),
            ("turn/start", 9),
            ("turn/steer", 3),
        ])
    );
}

#[test]
fn params_less_methods_send_null() {
    let mut methods = Vec::new();
    for (method, roundtrip) in UNIT_PARAMS {
        let decoded = roundtrip("null").unwrap();
        assert_eq!(decoded.json, Value::Null, "{method}");
        methods.push(*method);
    }
    let mut expected: Vec<String> = [
        "clientRequests",
        "clientNotifications",
        "serverRequests",
        "serverNotifications",
    ]
    .iter()
    .flat_map(|kind| manifest(PINNED, kind))
    .filter(|m| m.params.is_none())
    .map(|m| m.method)
    .collect();
    expected.sort();
    methods.sort_unstable();
    assert_eq!(methods, expected);
    assert_eq!(
        serde_json::to_value(codexrt_protocol::types::AccountLogoutParams).unwrap(),
        json!(null)
    );
}
