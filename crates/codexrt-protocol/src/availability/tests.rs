//! Unit tests of the lookup behind the capability map.

use super::{MethodKind, presence};
use crate::generated::versions::{
    CLIENT_NOTIFICATIONS, CLIENT_REQUESTS, KNOWN_VERSION_NUMBERS, KNOWN_VERSIONS, PINNED_INDEX,
    PINNED_VERSION, SERVER_NOTIFICATIONS, SERVER_REQUESTS,
};

#[test]
fn tables_are_sorted_for_binary_search() {
    for table in [
        CLIENT_REQUESTS,
        CLIENT_NOTIFICATIONS,
        SERVER_NOTIFICATIONS,
        SERVER_REQUESTS,
    ] {
        assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

#[test]
fn version_numbers_match_the_names() {
    let names: Vec<String> = KNOWN_VERSION_NUMBERS
        .iter()
        .map(|(a, b, c)| format!("{a}.{b}.{c}"))
        .collect();
    assert_eq!(names, KNOWN_VERSIONS);
    assert_eq!(KNOWN_VERSIONS[PINNED_INDEX], PINNED_VERSION);
}

#[test]
fn lookup_is_per_kind() {
    let row = presence(MethodKind::ClientRequest, "thread/rollback").map(|r| (r.0, r.1, r.2));
    assert_eq!(row, Some(("thread/rollback", 0b001, 0b001)));
    assert!(presence(MethodKind::ServerNotification, "thread/rollback").is_none());
    assert!(presence(MethodKind::ClientNotification, "initialized").is_some());
}
