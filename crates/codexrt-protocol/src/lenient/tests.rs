//! Unit tests of `lenient`: what reads as `None` and what still fails.

use serde::Deserialize;
use serde_json::json;

#[derive(Debug, PartialEq, Deserialize)]
struct Inner {
    flag: bool,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Outer {
    #[serde(default, deserialize_with = "super::lenient")]
    inner: Option<Inner>,
    text: String,
}

fn outer(value: serde_json::Value) -> Result<Outer, serde_json::Error> {
    serde_json::from_value(value)
}

#[test]
fn a_value_of_the_known_shape_decodes() {
    assert_eq!(
        outer(json!({"inner": {"flag": true}, "text": "t"})).unwrap(),
        Outer {
            inner: Some(Inner { flag: true }),
            text: "t".to_owned()
        }
    );
}

#[test]
fn absent_and_null_are_none() {
    for value in [json!({"text": "t"}), json!({"inner": null, "text": "t"})] {
        assert_eq!(
            outer(value).unwrap(),
            Outer {
                inner: None,
                text: "t".to_owned()
            }
        );
    }
}

#[test]
fn an_unknown_shape_is_none_and_the_object_around_it_stays() {
    for inner in [
        json!({"mode": "show", "version": 1}),
        json!("flag"),
        json!([1, 2]),
    ] {
        let decoded = outer(json!({"inner": inner, "text": "t"})).unwrap();
        assert_eq!(
            decoded,
            Outer {
                inner: None,
                text: "t".to_owned()
            },
            "{inner}"
        );
    }
}

#[test]
fn a_required_member_still_fails_the_object() {
    assert!(outer(json!({"inner": {"flag": true}})).is_err());
}

#[test]
fn broken_json_still_fails() {
    let text = r#"{"inner": {"flag": tru}, "text": "t"}"#;
    assert!(serde_json::from_str::<Outer>(text).is_err());
}
