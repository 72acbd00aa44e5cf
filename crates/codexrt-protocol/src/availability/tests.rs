//! Unit tests of the lookup behind the capability map.

use semver::Version;

use super::{MethodKind, presence, twin_of};
use crate::generated::versions::{
    CLIENT_NOTIFICATIONS, CLIENT_REQUESTS, KNOWN_VERSION_NUMBERS, KNOWN_VERSIONS, PINNED_INDEX,
    PINNED_VERSION, SERVER_NOTIFICATIONS, SERVER_REQUESTS, TWIN_VERSION_NUMBERS, TWIN_VERSIONS,
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

#[test]
fn twin_numbers_match_the_names() {
    let rows: Vec<(String, &str)> = TWIN_VERSION_NUMBERS
        .iter()
        .map(|((a, b, c), partner)| (format!("{a}.{b}.{c}"), KNOWN_VERSIONS[*partner]))
        .collect();
    let names: Vec<(String, &str)> = TWIN_VERSIONS
        .iter()
        .map(|(twin, partner)| ((*twin).to_owned(), *partner))
        .collect();
    assert_eq!(rows, names);
    for (twin, partner) in TWIN_VERSIONS {
        assert!(!KNOWN_VERSIONS.contains(twin), "{twin}");
        let twin = Version::parse(twin).unwrap();
        assert_eq!(twin_of(&twin), Some(Version::parse(partner).unwrap()));
    }
}

#[test]
fn twins_are_matched_by_precedence() {
    let twin = |text: &str| twin_of(&Version::parse(text).unwrap());
    let partner = Some(Version::new(0, 169, 0));
    assert_eq!(twin("0.169.1"), partner);
    assert_eq!(twin("0.169.1+build.3"), partner);
    assert_eq!(twin("0.169.1-alpha.1"), None);
    assert_eq!(twin("0.169.2"), None);
    // A known version is no twin, of itself or anything else.
    assert_eq!(twin("0.169.0"), None);
}
