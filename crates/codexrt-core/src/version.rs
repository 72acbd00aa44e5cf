//! What the handshake learns about the server ([`ServerInfo`]), how its
//! version is read from the user agent, and the [`CompatibilityGuard`] that
//! refuses servers that are too old (and, if asked to, newer than any
//! version this crate knows).

use codexrt_protocol::types::InitializeResponse;
use codexrt_protocol::{
    Api, Availability, KNOWN_VERSION_NUMBERS, MethodKind, method_availability, twin_of,
};
use semver::Version;

use crate::CoreError;

/// The server as the `initialize` answer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The codex version, read from the user agent.
    pub version: Version,
    /// The user agent as sent, for example
    /// `codex/0.169.0 (Debian 12.0.0; x86_64) xterm (my-app; 1.0.0)`.
    pub user_agent: String,
    /// The server's `CODEX_HOME`.
    pub codex_home: String,
    /// The platform family, for example `unix`.
    pub platform_family: String,
    /// The operating system, for example `linux`.
    pub platform_os: String,
    /// Whether the version is newer than [`newest_known_version`], the
    /// newest one this crate's protocol tables describe. Such a server is
    /// accepted by default: the newest known method table applies to it,
    /// and what this crate does not know (methods, fields, enum values,
    /// item kinds) is kept raw in the `Unknown` arms. The runtime logs a
    /// warning once, at the handshake, and
    /// [`CompatibilityGuard::refuse_newer_than_known`] makes it an error.
    /// A twin of a known version ([`codexrt_protocol::twin_of`]) is never
    /// newer than known: its protocol is its partner's.
    pub newer_than_known: bool,
}

impl ServerInfo {
    /// Reads the server info from the `initialize` answer.
    ///
    /// # Errors
    /// [`CoreError::MissingUserAgent`] when the user agent is empty,
    /// [`CoreError::InvalidUserAgent`] when it has no version.
    pub fn from_initialize(response: InitializeResponse) -> Result<ServerInfo, CoreError> {
        if response.user_agent.trim().is_empty() {
            return Err(CoreError::MissingUserAgent);
        }
        let version = parse_user_agent(&response.user_agent)?;
        let newer_than_known =
            twin_of(&version).is_none() && version.cmp_precedence(&newest_known_version()).is_gt();
        Ok(ServerInfo {
            newer_than_known,
            version,
            user_agent: response.user_agent,
            codex_home: response.codex_home,
            platform_family: response.platform_family,
            platform_os: response.platform_os,
        })
    }
}

/// Reads the version from a codex user agent: the semantic version right
/// after the first `/`, up to the next space (`probe/0.169.0 (Debian ...)`
/// is 0.169.0, `codex/0.170.0-alpha.1 (...)` is 0.170.0-alpha.1).
///
/// # Errors
/// [`CoreError::InvalidUserAgent`] when there is no `/` or what follows it
/// is not a semantic version.
pub fn parse_user_agent(user_agent: &str) -> Result<Version, CoreError> {
    let invalid = || CoreError::InvalidUserAgent {
        user_agent: codexrt_transport::redact::peer_text(user_agent),
    };
    let (_, rest) = user_agent.split_once('/').ok_or_else(invalid)?;
    let token = rest.split_whitespace().next().ok_or_else(invalid)?;
    Version::parse(token).map_err(|_| invalid())
}

/// The newest codex version this crate's protocol tables describe: the last
/// of [`KNOWN_VERSIONS`](codexrt_protocol::KNOWN_VERSIONS).
pub fn newest_known_version() -> Version {
    let (major, minor, patch) = KNOWN_VERSION_NUMBERS.last().copied().unwrap_or_default();
    Version::new(major, minor, patch)
}

/// Whether a server of `version` has `method`, as the runtime decides
/// before sending: from the version's own manifest when it is known (or
/// between known ones), and for a version newer than every known one from
/// the newest known version's manifest, the policy for such servers.
pub(crate) fn availability(
    kind: MethodKind,
    method: &str,
    version: &Version,
    api: Api,
) -> Availability {
    match method_availability(kind, method, version, api) {
        Availability::NewerThanKnown => {
            method_availability(kind, method, &newest_known_version(), api)
        }
        other => other,
    }
}

/// Decides whether a server version is supported: at least a minimum, and,
/// if asked to, no newer than [`newest_known_version`].
///
/// The default minimum is the oldest version the compatibility suite passes,
/// the first of [`KNOWN_VERSIONS`](codexrt_protocol::KNOWN_VERSIONS) (0.150.0). A prerelease of the minimum
/// (`0.150.0-alpha.1`) is older than the minimum and refused. Newer versions
/// than the newest known are accepted unless
/// [`CompatibilityGuard::refuse_newer_than_known`] says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatibilityGuard {
    minimum: Version,
    refuse_newer: bool,
}

impl CompatibilityGuard {
    /// A guard that accepts `minimum` and newer.
    pub fn minimum(minimum: Version) -> CompatibilityGuard {
        CompatibilityGuard {
            minimum,
            refuse_newer: false,
        }
    }

    /// Refuses a server newer than [`newest_known_version`] (with
    /// [`CoreError::NewerThanKnown`]) instead of accepting it with a
    /// warning. A prerelease of a newer version is newer; a build of the
    /// newest known version (`0.169.0+build.5`) is not.
    #[must_use]
    pub fn refuse_newer_than_known(mut self) -> CompatibilityGuard {
        self.refuse_newer = true;
        self
    }

    /// The oldest version accepted.
    pub fn required(&self) -> &Version {
        &self.minimum
    }

    /// Whether a server newer than [`newest_known_version`] is refused.
    pub fn refuses_newer_than_known(&self) -> bool {
        self.refuse_newer
    }

    /// Checks a server's version.
    ///
    /// # Errors
    /// [`CoreError::IncompatibleVersion`] when it is older than the minimum;
    /// [`CoreError::NewerThanKnown`] when it is newer than the newest known
    /// version and the guard refuses those.
    pub fn check(&self, info: &ServerInfo) -> Result<(), CoreError> {
        if info.version.cmp_precedence(&self.minimum).is_lt() {
            return Err(CoreError::IncompatibleVersion {
                detected: info.version.clone(),
                required: self.minimum.clone(),
                user_agent: codexrt_transport::redact::peer_text(&info.user_agent),
            });
        }
        if self.refuse_newer && info.newer_than_known {
            return Err(CoreError::NewerThanKnown {
                detected: info.version.clone(),
                newest_known: newest_known_version(),
                user_agent: codexrt_transport::redact::peer_text(&info.user_agent),
            });
        }
        Ok(())
    }
}

impl Default for CompatibilityGuard {
    fn default() -> Self {
        // The generated list is never empty (codegen needs a version).
        let (major, minor, patch) = KNOWN_VERSION_NUMBERS.first().copied().unwrap_or_default();
        CompatibilityGuard::minimum(Version::new(major, minor, patch))
    }
}

#[cfg(test)]
mod tests;
