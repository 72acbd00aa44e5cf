//! Unit tests of `string_enum!`: both flavours through serde and by hand.

// The macro makes its enums `pub`, which here means public inside a test
// module.
#![allow(unreachable_pub)]

use serde_json::json;

use crate::__private::string_enum;

string_enum! {
    /// A tolerant enum.
    pub enum Mode {
        /// `read-only` on the wire.
        ReadOnly = "read-only",
        /// `full` on the wire.
        Full = "full",
    }
}

string_enum! {
    /// A strict enum.
    strict pub enum Kind {
        /// `number` on the wire.
        Number = "number",
        /// `integer` on the wire.
        Integer = "integer",
    }
}

#[test]
fn tolerant_enums_keep_unknown_values() {
    let decoded: Vec<Mode> =
        serde_json::from_value(json!(["read-only", "full", "partial"])).unwrap();
    assert_eq!(
        decoded,
        [
            Mode::ReadOnly,
            Mode::Full,
            Mode::Unknown("partial".to_owned())
        ]
    );
    assert_eq!(
        serde_json::to_value(&decoded).unwrap(),
        json!(["read-only", "full", "partial"])
    );
    assert_eq!(Mode::ReadOnly.to_string(), "read-only");
    assert_eq!("full".parse::<Mode>(), Ok(Mode::Full));
    assert_eq!(
        serde_json::from_value::<Mode>(json!(3))
            .unwrap_err()
            .to_string(),
        "invalid type: integer `3`, expected a Mode string"
    );
}

#[test]
fn strict_enums_refuse_unknown_values() {
    let decoded: Kind = serde_json::from_value(json!("integer")).unwrap();
    assert_eq!(decoded, Kind::Integer);
    assert_eq!(Kind::from_wire("number"), Some(Kind::Number));
    assert_eq!(Kind::from_wire("string"), None);
    assert_eq!(
        serde_json::from_value::<Kind>(json!("string"))
            .unwrap_err()
            .to_string(),
        "unknown variant `string`, expected `number` or `integer`"
    );
    assert_eq!(serde_json::to_value(Kind::Number).unwrap(), json!("number"));
}
