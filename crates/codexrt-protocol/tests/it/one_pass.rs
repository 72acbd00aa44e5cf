//! The tagged unions read in one pass, against the captured read they must
//! match: for every type and every sample of it (with and without members
//! no version has), and for each sample with one member anywhere in it
//! removed or changed to another shape, a read in one pass that does not
//! fall back gives exactly what the captured read gives (or fails as it
//! fails). And every sample is read in one pass, those of the variants
//! that flatten a part of their own (the alternative members of an image
//! or an audio) included, with each way of giving or leaving out those
//! members.

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
    assert!(
        samples_fell_back.is_empty(),
        "these samples read captured: {samples_fell_back:?}"
    );
    assert!(
        mutations_fell_back > 0,
        "no mutation made a union fall back"
    );
}

/// The variants that flatten a part of their own, and the members of the
/// part's alternatives, in the order serde's untagged read tries them.
const FLATTENING: [(&str, &str, [&str; 2]); 7] = [
    ("ContentItem", "input_image", ["image_url", "file_id"]),
    ("ContentItem", "input_audio", ["audio_url", "file_id"]),
    (
        "FunctionCallOutputContentItem",
        "input_image",
        ["image_url", "file_id"],
    ),
    (
        "FunctionCallOutputContentItem",
        "input_audio",
        ["audio_url", "file_id"],
    ),
    ("ThreadItem", "imageGeneration", ["fileId", "result"]),
    ("UserInput", "image", ["url", "fileId"]),
    ("UserInput", "audio", ["url", "fileId"]),
];

#[test]
fn the_alternatives_of_a_flattened_part_read_in_one_pass_as_captured() {
    let defs = definitions(PINNED, "experimental");
    let sampler = Sampler::new(&defs);
    // Each member of the two alternatives absent, a string, `null`, or a
    // number: sixteen ways per variant.
    let ways = [None, Some(json!("x")), Some(Value::Null), Some(json!(7))];
    let mut differ = Vec::new();
    for (name, tag, members) in FLATTENING {
        let roundtrip = DEFINITIONS
            .iter()
            .find(|(definition, _)| *definition == name)
            .map(|(_, roundtrip)| *roundtrip)
            .unwrap_or_else(|| panic!("{name} is not a definition"));
        let base = sampler
            .samples(name)
            .into_iter()
            .find(|sample| sample["type"] == tag)
            .unwrap_or_else(|| panic!("no sample of {name} {tag}"));
        let Value::Object(mut base) = base else {
            panic!("{name} {tag}: the sample is not an object");
        };
        for member in members {
            base.remove(member);
        }
        let (mut read, mut fell_back) = (0, 0);
        for first in &ways {
            for second in &ways {
                let mut object = base.clone();
                for (member, way) in members.iter().zip([first, second]) {
                    if let Some(value) = way {
                        object.insert((*member).to_owned(), value.clone());
                    }
                }
                let text = Value::Object(object).to_string();
                let strings = [first, second]
                    .iter()
                    .filter(|way| way.as_ref().is_some_and(Value::is_string))
                    .count();
                let numbers = [first, second]
                    .iter()
                    .filter(|way| way.as_ref().is_some_and(Value::is_number))
                    .count();
                match compare(roundtrip, &text) {
                    Compared::Same => {
                        read += 1;
                        // Neither alternative there: the part is
                        // `Unknown`, which one pass does not build.
                        assert!(strings > 0, "{name}: {text} was read in one pass");
                    }
                    Compared::FellBack => {
                        fell_back += 1;
                        // An alternative there and nothing of the wrong
                        // type: the common shapes never fall back.
                        assert!(strings == 0 || numbers > 0, "{name}: {text} fell back");
                    }
                    Compared::Differ(what) => differ.push(format!("{name}: {what}")),
                }
            }
        }
        println!("{name} {tag}: {read} read in one pass, {fell_back} fell back");
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
