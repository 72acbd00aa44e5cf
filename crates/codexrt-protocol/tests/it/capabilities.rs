//! The capability map: which known codex versions have which methods.

use std::collections::BTreeSet;

use codexrt_protocol::{
    Api, Availability, KNOWN_VERSIONS, MethodKind, PINNED_VERSION, TWIN_VERSIONS,
    available_methods, is_experimental, method_availability, twin_of,
};
use semver::Version;

use crate::schema::manifest;

use Availability::{Available, Missing, NewerThanKnown, OlderThanKnown};

fn at(kind: MethodKind, method: &str, api: Api, versions: &[&str]) -> Vec<Availability> {
    versions
        .iter()
        .map(|v| method_availability(kind, method, &Version::parse(v).unwrap(), api))
        .collect()
}

/// The versions whose manifests the tables below state facts about.
const FACTS_AT: [&str; 4] = ["0.150.0", "0.160.1", "0.169.0", "0.171.0"];

/// A version newer than every known one, whatever the known ones are.
fn newer_than_known() -> String {
    let newest = Version::parse(KNOWN_VERSIONS.last().unwrap()).unwrap();
    format!("{}.{}.0", newest.major, newest.minor + 1)
}

#[test]
fn the_known_versions_are_the_vendored_schemas() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let mut vendored: Vec<Version> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|entry| Version::parse(entry.unwrap().file_name().to_str()?).ok())
        .collect();
    vendored.sort();
    let known: Vec<Version> = KNOWN_VERSIONS
        .iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
    assert_eq!(known, vendored);
    assert!(KNOWN_VERSIONS.contains(&PINNED_VERSION));
    for version in FACTS_AT {
        assert!(KNOWN_VERSIONS.contains(&version), "{version}");
    }
}

#[test]
fn known_versions_answer_from_their_manifests() {
    use MethodKind::ClientRequest;
    let table = |method: &str, api: Api| at(ClientRequest, method, api, &FACTS_AT);
    assert_eq!(
        table("thread/rollback", Api::Stable),
        [Available, Missing, Missing, Missing]
    );
    assert_eq!(
        table("feedback/save", Api::Stable),
        [Missing, Missing, Available, Available]
    );
    assert_eq!(
        table("thread/start", Api::Stable),
        [Available, Available, Available, Available]
    );
    // New and stable in 0.171.0.
    assert_eq!(
        table("modelProvider/default/set", Api::Stable),
        [Missing, Missing, Missing, Available]
    );
    // New in 0.171.0, only in the experimental API.
    assert_eq!(
        table("thread/search/stream", Api::Stable),
        [Missing, Missing, Missing, Missing]
    );
    assert_eq!(
        table("thread/search/stream", Api::Experimental),
        [Missing, Missing, Missing, Available]
    );
    // Experimental in 0.150.0, stable from 0.160.1.
    assert_eq!(
        table("thread/items/list", Api::Stable),
        [Missing, Available, Available, Available]
    );
    assert_eq!(
        table("thread/items/list", Api::Experimental),
        [Available, Available, Available, Available]
    );
    assert_eq!(
        table("never/existed", Api::Experimental),
        [Missing, Missing, Missing, Missing]
    );
    // The kind matters: `thread/start` is no notification.
    assert_eq!(
        at(
            MethodKind::ServerNotification,
            "thread/start",
            Api::Stable,
            &FACTS_AT
        ),
        [Missing, Missing, Missing, Missing]
    );
    assert_eq!(
        at(
            MethodKind::ServerNotification,
            "thread/search/partial",
            Api::Stable,
            &FACTS_AT
        ),
        [Missing, Missing, Missing, Available]
    );
    assert_eq!(
        at(
            MethodKind::ServerRequest,
            "currentTime/read",
            Api::Stable,
            &FACTS_AT
        ),
        [Missing, Missing, Missing, Missing]
    );
    // Experimental until 0.169.0, gone in 0.171.0.
    assert_eq!(
        at(
            MethodKind::ServerRequest,
            "currentTime/read",
            Api::Experimental,
            &FACTS_AT
        ),
        [Available, Available, Available, Missing]
    );
    // Build metadata does not matter.
    assert_eq!(
        at(
            ClientRequest,
            "feedback/save",
            Api::Stable,
            &["0.169.0+build.7"]
        ),
        [Available]
    );
}

#[test]
fn a_twin_answers_as_its_partner_and_an_unlisted_patch_as_in_between() {
    assert!(TWIN_VERSIONS.contains(&("0.169.1", "0.169.0")));
    assert_eq!(
        twin_of(&Version::new(0, 169, 1)),
        Some(Version::new(0, 169, 0))
    );
    // `currentTime/read` is in 0.169.0 and gone in 0.171.0: the twin
    // 0.169.1 has it like 0.169.0, while the unlisted 0.169.2 falls between
    // two versions that disagree, so it is missing there.
    assert_eq!(
        at(
            MethodKind::ServerRequest,
            "currentTime/read",
            Api::Experimental,
            &["0.169.0", "0.169.1", "0.169.1+build.2", "0.169.2"]
        ),
        [Available, Available, Available, Missing]
    );
    // New in 0.171.0: missing from 0.169.0 and so from its twin.
    assert_eq!(
        at(
            MethodKind::ClientRequest,
            "modelProvider/default/set",
            Api::Stable,
            &["0.169.0", "0.169.1", "0.171.0"]
        ),
        [Missing, Missing, Available]
    );
    for (twin, partner) in TWIN_VERSIONS {
        let (twin, partner) = (
            Version::parse(twin).unwrap(),
            Version::parse(partner).unwrap(),
        );
        for kind in [
            MethodKind::ClientRequest,
            MethodKind::ClientNotification,
            MethodKind::ServerNotification,
            MethodKind::ServerRequest,
        ] {
            for api in [Api::Stable, Api::Experimental] {
                assert_eq!(
                    available_methods(kind, &twin, api),
                    available_methods(kind, &partner, api),
                    "{twin} {kind:?} {api:?}"
                );
            }
        }
    }
}

/// A version between two known ones has a method exactly when both
/// neighbours' manifests list it, in each API, whatever the known versions
/// are: so adding a version never makes this test wrong. For every pair of
/// adjacent known versions it asks for a patch far above the lower one,
/// which codex never published (so it never becomes known, nor a twin), and
/// for a prerelease of the upper one, which precedes it.
#[test]
fn between_and_outside_the_known_versions() {
    let known: Vec<Version> = KNOWN_VERSIONS
        .iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
    let kinds = [
        (MethodKind::ClientRequest, "clientRequests"),
        (MethodKind::ClientNotification, "clientNotifications"),
        (MethodKind::ServerNotification, "serverNotifications"),
        (MethodKind::ServerRequest, "serverRequests"),
    ];
    let listed = |version: &Version, key: &str, api: Api| -> BTreeSet<String> {
        manifest(&version.to_string(), key)
            .into_iter()
            .filter(|m| api == Api::Experimental || !m.experimental)
            .map(|m| m.method)
            .collect()
    };
    let mut checked = 0;
    for pair in known.windows(2) {
        let (low, high) = (&pair[0], &pair[1]);
        let mut prerelease = high.clone();
        prerelease.pre = semver::Prerelease::new("alpha.1").unwrap();
        let far_patch = Version::new(low.major, low.minor, low.patch + 1000);
        for between in [far_patch, prerelease] {
            assert!(*low < between && between < *high, "{between}");
            for (kind, key) in kinds {
                for api in [Api::Stable, Api::Experimental] {
                    let (below, above) = (listed(low, key, api), listed(high, key, api));
                    for method in below.union(&above) {
                        let expected = if below.contains(method) && above.contains(method) {
                            Available
                        } else {
                            Missing
                        };
                        assert_eq!(
                            method_availability(kind, method, &between, api),
                            expected,
                            "{method} at {between} ({api:?})"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} answers checked");
    // Outside the known versions nothing can be said, for any method.
    let oldest = &known[0];
    let mut before_oldest = oldest.clone();
    before_oldest.pre = semver::Prerelease::new("alpha.1").unwrap();
    let newer = newer_than_known();
    for method in ["thread/start", "feedback/save", "never/existed"] {
        assert_eq!(
            at(
                MethodKind::ClientRequest,
                method,
                Api::Stable,
                &["0.1.0", &before_oldest.to_string(), &newer, "100.0.0"]
            ),
            [
                OlderThanKnown,
                OlderThanKnown,
                NewerThanKnown,
                NewerThanKnown
            ],
            "{method}"
        );
    }
}

#[test]
fn experimental_methods_of_the_pinned_version() {
    assert!(is_experimental("thread/search/stream"));
    assert!(is_experimental("thread/sample"));
    assert!(!is_experimental("thread/start"));
    assert!(!is_experimental("modelProvider/default/set"));
    assert!(!is_experimental("turn/completed"));
    assert!(!is_experimental("thread/rollback"));
    // Gone from the pinned version: it is not one of its methods at all.
    assert!(!is_experimental("currentTime/read"));
    assert!(!is_experimental("never/existed"));
}

#[test]
fn method_counts_per_version() {
    let counts = |version: &str, api: Api| {
        let version = Version::parse(version).unwrap();
        [
            MethodKind::ClientRequest,
            MethodKind::ClientNotification,
            MethodKind::ServerNotification,
            MethodKind::ServerRequest,
        ]
        .map(|kind| available_methods(kind, &version, api).len())
    };
    assert_eq!(counts("0.171.0", Api::Stable), [110, 1, 87, 10]);
    assert_eq!(counts("0.171.0", Api::Experimental), [189, 1, 87, 10]);
    assert_eq!(counts("0.169.0", Api::Stable), [109, 1, 86, 10]);
    assert_eq!(counts("0.169.0", Api::Experimental), [184, 1, 86, 11]);
    assert_eq!(counts("0.160.1", Api::Stable), [104, 1, 83, 10]);
    assert_eq!(counts("0.160.1", Api::Experimental), [167, 1, 83, 11]);
    assert_eq!(counts("0.150.0", Api::Stable), [95, 1, 79, 10]);
    assert_eq!(counts("0.150.0", Api::Experimental), [153, 1, 79, 11]);
    // The list is the methods themselves, sorted.
    let v150 = Version::new(0, 150, 0);
    let requests = available_methods(MethodKind::ClientRequest, &v150, Api::Stable);
    assert!(requests.contains(&"thread/rollback"));
    assert!(!requests.contains(&"feedback/save"));
    assert!(requests.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        available_methods(MethodKind::ClientNotification, &v150, Api::Stable),
        ["initialized"]
    );
    assert_eq!(
        available_methods(
            MethodKind::ClientRequest,
            &Version::new(9, 0, 0),
            Api::Stable
        ),
        Vec::<&str>::new()
    );
}
