//! The tagged unions read in one pass, against the captured read they must
//! match: for every type and every sample of it (with and without members
//! no version has), and for each sample with one member anywhere in it
//! removed or changed to another shape, a read in one pass that does not
//! fall back gives exactly what the captured read gives (or fails as it
//! fails). And every sample is read in one pass, but those of the variants
//! that flatten a part of their own.

use std::collections::BTreeSet;

use codexrt_protocol::__private::tagged;
use serde_json::{Value, json};

use crate::generated_cases::DEFINITIONS;
use crate::roundtrip::{Decoded, RoundTrip};
use crate::schema::{PINNED, Sampler, definitions};

/// Values of every shape, to put where a member was.
fn other_shapes() -> [Value; 5] {
    [json!(7), json!("zz"), Value::Null, json!([]), json!({})]
}

/// `value` with one change: for every member of every object in it, the
/// object without it, and with each of [`other_shapes`] in its place.
fn mutations(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match value {
        Value::Object(object) => {
            for (key, member) in object {
                let mut without = object.clone();
                without.remove(key);
                out.push(Value::Object(without));
                for shape in other_shapes() {
                    let mut changed = object.clone();
                    changed.insert(key.clone(), shape);
                    out.push(Value::Object(changed));
                }
                for inner in mutations(member) {
                    let mut changed = object.clone();
                    changed.insert(key.clone(), inner);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                for inner in mutations(item) {
                    let mut changed = items.clone();
                    changed[index] = inner;
                    out.push(Value::Array(changed));
                }
            }
        }
        _ => {}
    }
    out
}

/// How `text` reads as one type in one pass, against the captured read.
enum Compared {
    Same,
    FellBack,
    Differ(String),
}

fn compare(roundtrip: RoundTrip, text: &str) -> Compared {
    let captured = roundtrip(text);
    let (one_pass, fell_back) = tagged::attempt(|| roundtrip(text));
    if fell_back {
        return Compared::FellBack;
    }
    let show = |read: &Result<Decoded, String>| match read {
        Ok(decoded) => format!("{} / {}", decoded.json, decoded.debug),
        Err(_) => "an error".to_owned(),
    };
    let same = match (&captured, &one_pass) {
        (Ok(captured), Ok(one_pass)) => {
            captured.json == one_pass.json && captured.debug == one_pass.debug
        }
        (Err(_), Err(_)) => true,
        _ => false,
    };
    if same {
        Compared::Same
    } else {
        Compared::Differ(format!(
            "{text}\n  captured: {}\n  one pass: {}",
            show(&captured),
            show(&one_pass)
        ))
    }
}

#[test]
fn one_pass_reads_every_sample_and_its_mutations_as_the_captured_read() {
    let defs = definitions(PINNED, "experimental");
    let samplers = [Sampler::new(&defs), Sampler::with_extra_members(&defs)];
    let mut differ = Vec::new();
    let mut samples_fell_back = BTreeSet::new();
    let (mut compared, mut mutations_fell_back) = (0_usize, 0_usize);
    for (name, roundtrip) in DEFINITIONS {
        for (extra_members, sampler) in samplers.iter().enumerate() {
            for sample in sampler.samples(name) {
                match compare(*roundtrip, &sample.to_string()) {
                    Compared::Same => {}
                    Compared::FellBack => {
                        let tag = sample["type"].as_str().unwrap_or("?");
                        samples_fell_back.insert(format!("{name} {tag}"));
                    }
                    Compared::Differ(what) => differ.push(format!("{name}: {what}")),
                }
                compared += 1;
                // The members no version has change nothing here.
                if extra_members == 1 {
                    continue;
                }
                for mutated in mutations(&sample) {
                    match compare(*roundtrip, &mutated.to_string()) {
                        Compared::Same => {}
                        Compared::FellBack => mutations_fell_back += 1,
                        Compared::Differ(what) => differ.push(format!("{name}: {what}")),
                    }
                    compared += 1;
                }
            }
        }
    }
    println!("{compared} texts compared; {mutations_fell_back} mutations fell back");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    let flattening = [
        "ContentItem input_audio",
        "ContentItem input_image",
        "FunctionCallOutputContentItem input_audio",
        "FunctionCallOutputContentItem input_image",
        "ThreadItem imageGeneration",
        "UserInput audio",
        "UserInput image",
    ];
    assert_eq!(
        samples_fell_back,
        BTreeSet::from(flattening.map(str::to_owned)),
        "the samples read captured"
    );
    assert!(
        mutations_fell_back > 0,
        "no mutation made a union fall back"
    );
}
