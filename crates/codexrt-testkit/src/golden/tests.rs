//! Unit tests of the update-mode switch.

use std::ffi::OsStr;

use super::GoldenMode;

#[test]
fn only_1_turns_update_mode_on() {
    let check = |value: Option<&str>, expected: GoldenMode| {
        assert_eq!(
            GoldenMode::from_env_value(value.map(OsStr::new)),
            expected,
            "{value:?}"
        );
    };
    check(Some("1"), GoldenMode::Update);
    check(None, GoldenMode::Check);
    check(Some(""), GoldenMode::Check);
    check(Some("0"), GoldenMode::Check);
    check(Some("true"), GoldenMode::Check);
}
