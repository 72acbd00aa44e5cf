//! Unit tests of user-agent parsing and the compatibility guard.

use semver::Version;

use super::*;

fn check(user_agent: &str, expected: Option<&str>) {
    let parsed = parse_user_agent(user_agent).ok();
    let expected = expected.map(|v| Version::parse(v).unwrap());
    assert_eq!(parsed, expected, "{user_agent:?}");
}

#[test]
fn user_agents() {
    check(
        "probe/0.169.0 (Debian 12.0.0; x86_64) xterm (probe; 0.0.1)",
        Some("0.169.0"),
    );
    check(
        "codex/0.170.0-alpha.1 (Linux; x86_64)",
        Some("0.170.0-alpha.1"),
    );
    check("fake/0.150.0", Some("0.150.0"));
    check("name/with/slashes 0.1.0", None);
    check("no-slash 0.169.0", None);
    check("codex/ (Linux)", None);
    check("codex/0.169 (Linux)", None);
    check("", None);
}

/// The server info of a fake with this version, as the handshake reads it.
fn info(version: &str) -> ServerInfo {
    ServerInfo::from_initialize(InitializeResponse {
        codex_home: String::new(),
        platform_family: String::new(),
        platform_os: String::new(),
        user_agent: format!("fake/{version}"),
    })
    .unwrap()
}

fn known(version: &(u64, u64, u64)) -> Version {
    Version::new(version.0, version.1, version.2)
}

fn oldest() -> Version {
    known(KNOWN_VERSION_NUMBERS.first().unwrap())
}

fn newest() -> Version {
    known(KNOWN_VERSION_NUMBERS.last().unwrap())
}

/// A version just below the oldest known one.
fn too_old() -> String {
    let oldest = oldest();
    match oldest.patch {
        0 => format!("{}.{}.99", oldest.major, oldest.minor - 1),
        patch => format!("{}.{}.{}", oldest.major, oldest.minor, patch - 1),
    }
}

#[test]
fn the_known_range_is_the_generated_list() {
    let parsed: Vec<Version> = codexrt_protocol::KNOWN_VERSIONS
        .iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
    assert_eq!(CompatibilityGuard::default().required(), &parsed[0]);
    assert_eq!(&newest_known_version(), parsed.last().unwrap());
    assert_eq!(
        (oldest(), newest()),
        (parsed[0].clone(), parsed.last().unwrap().clone())
    );
}

#[test]
fn guard_checks() {
    let guard = CompatibilityGuard::default();
    assert!(!guard.refuses_newer_than_known());
    let newest = newest();
    let next_minor = format!("{}.{}.0-alpha.1", newest.major, newest.minor + 1);
    let oldest = oldest().to_string();
    for fine in [&oldest, &format!("{oldest}+build.5"), &next_minor] {
        assert!(guard.check(&info(fine)).is_ok(), "{fine}");
    }
    for old in [too_old(), format!("{oldest}-alpha.1")] {
        match guard.check(&info(&old)) {
            Err(CoreError::IncompatibleVersion {
                detected,
                required,
                user_agent,
            }) => {
                assert_eq!(detected, Version::parse(&old).unwrap());
                assert_eq!(required, self::oldest());
                assert_eq!(user_agent, format!("fake/{old}"));
            }
            other => panic!("{old}: {other:?}"),
        }
    }
}

#[test]
fn a_server_newer_than_the_newest_known_version_is_flagged() {
    let newest = newest();
    let flagged = |version: &str| info(version).newer_than_known;
    assert!(!flagged(&oldest().to_string()));
    assert!(!flagged(&newest.to_string()));
    // A build of the newest known version is that version.
    assert!(!flagged(&format!("{newest}+build.5")));
    // A prerelease of the newest known version is older than it.
    assert!(!flagged(&format!("{newest}-alpha.1")));
    let next_patch = format!("{}.{}.{}", newest.major, newest.minor, newest.patch + 1);
    let next_minor = format!("{}.{}.0-alpha.1", newest.major, newest.minor + 1);
    assert!(flagged(&next_patch));
    assert!(flagged(&next_minor));
    assert!(flagged("1.0.0"));
    // A twin shares a known version's protocol, wherever it falls.
    for (twin, _) in codexrt_protocol::TWIN_VERSIONS {
        assert!(!flagged(twin), "{twin}");
    }
}

#[test]
fn a_guard_can_refuse_servers_newer_than_known() {
    let guard = CompatibilityGuard::default().refuse_newer_than_known();
    assert!(guard.refuses_newer_than_known());
    assert_eq!(guard.required(), &oldest());
    let newest = newest();
    assert!(guard.check(&info(&newest.to_string())).is_ok());
    let newer = format!("{}.{}.0", newest.major, newest.minor + 1);
    match guard.check(&info(&newer)) {
        Err(CoreError::NewerThanKnown {
            detected,
            newest_known,
            user_agent,
        }) => {
            assert_eq!(
                (detected, newest_known, user_agent),
                (
                    Version::parse(&newer).unwrap(),
                    newest,
                    format!("fake/{newer}")
                )
            );
        }
        other => panic!("{newer}: {other:?}"),
    }
    // Too old is still too old.
    assert!(matches!(
        guard.check(&info(&too_old())),
        Err(CoreError::IncompatibleVersion { .. })
    ));
}

#[test]
fn missing_user_agent() {
    let response = InitializeResponse {
        codex_home: String::new(),
        platform_family: String::new(),
        platform_os: String::new(),
        user_agent: "  ".to_owned(),
    };
    assert!(matches!(
        ServerInfo::from_initialize(response),
        Err(CoreError::MissingUserAgent)
    ));
}

#[test]
fn a_newer_version_has_the_methods_of_the_newest_known_one() {
    let newest = newest();
    let newer = Version::new(newest.major, newest.minor + 1, 0);
    let of = |method: &str, version: &Version| {
        availability(MethodKind::ClientRequest, method, version, Api::Stable)
    };
    // `thread/rollback` was only in the oldest known version.
    assert_eq!(of("thread/rollback", &oldest()), Availability::Available);
    assert_eq!(of("thread/rollback", &newest), Availability::Missing);
    assert_eq!(of("thread/rollback", &newer), Availability::Missing);
    assert_eq!(of("thread/start", &newer), Availability::Available);
    // The protocol crate itself knows nothing of the newer version.
    assert_eq!(
        method_availability(
            MethodKind::ClientRequest,
            "thread/start",
            &newer,
            Api::Stable
        ),
        Availability::NewerThanKnown
    );
}
