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

fn info(version: &str) -> ServerInfo {
    ServerInfo {
        version: Version::parse(version).unwrap(),
        user_agent: format!("fake/{version}"),
        codex_home: String::new(),
        platform_family: String::new(),
        platform_os: String::new(),
    }
}

#[test]
fn default_guard_is_the_oldest_known_version() {
    let guard = CompatibilityGuard::default();
    assert_eq!(
        guard.required(),
        &Version::parse(KNOWN_VERSIONS[0]).unwrap()
    );
    assert_eq!(guard.required(), &CompatibilityGuard::FALLBACK_MINIMUM);
}

#[test]
fn guard_checks() {
    let guard = CompatibilityGuard::default();
    assert!(guard.check(&info("0.150.0")).is_ok());
    assert!(guard.check(&info("0.170.0-alpha.1")).is_ok());
    assert!(guard.check(&info("0.150.0+build.5")).is_ok());
    for old in ["0.149.9", "0.150.0-alpha.1"] {
        match guard.check(&info(old)) {
            Err(CoreError::IncompatibleVersion {
                detected,
                required,
                user_agent,
            }) => {
                assert_eq!(detected, Version::parse(old).unwrap());
                assert_eq!(required, Version::new(0, 150, 0));
                assert_eq!(user_agent, format!("fake/{old}"));
            }
            other => panic!("{old}: {other:?}"),
        }
    }
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
