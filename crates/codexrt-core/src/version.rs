//! What the handshake learns about the server ([`ServerInfo`]), how its
//! version is read from the user agent, and the [`CompatibilityGuard`] that
//! refuses servers that are too old.

use codexrt_protocol::KNOWN_VERSIONS;
use codexrt_protocol::types::InitializeResponse;
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
        Ok(ServerInfo {
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
        user_agent: user_agent.to_owned(),
    };
    let (_, rest) = user_agent.split_once('/').ok_or_else(invalid)?;
    let token = rest.split_whitespace().next().ok_or_else(invalid)?;
    Version::parse(token).map_err(|_| invalid())
}

/// Decides whether a server version is supported: at least a minimum.
///
/// The default minimum is the oldest version the compatibility suite passes,
/// the first of [`KNOWN_VERSIONS`] (0.150.0). A prerelease of the minimum
/// (`0.150.0-alpha.1`) is older than the minimum and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatibilityGuard {
    minimum: Version,
}

impl CompatibilityGuard {
    /// The oldest version this crate's protocol tables know, used when a
    /// generated constant would not parse (it always does; the tests check it).
    const FALLBACK_MINIMUM: Version = Version::new(0, 150, 0);

    /// A guard that accepts `minimum` and newer.
    pub fn minimum(minimum: Version) -> CompatibilityGuard {
        CompatibilityGuard { minimum }
    }

    /// The oldest version accepted.
    pub fn required(&self) -> &Version {
        &self.minimum
    }

    /// Checks a server's version.
    ///
    /// # Errors
    /// [`CoreError::IncompatibleVersion`] when it is older than the minimum.
    pub fn check(&self, info: &ServerInfo) -> Result<(), CoreError> {
        if info.version.cmp_precedence(&self.minimum).is_lt() {
            return Err(CoreError::IncompatibleVersion {
                detected: info.version.clone(),
                required: self.minimum.clone(),
                user_agent: info.user_agent.clone(),
            });
        }
        Ok(())
    }
}

impl Default for CompatibilityGuard {
    fn default() -> Self {
        let minimum = KNOWN_VERSIONS
            .first()
            .and_then(|version| Version::parse(version).ok())
            .unwrap_or(Self::FALLBACK_MINIMUM);
        CompatibilityGuard { minimum }
    }
}

#[cfg(test)]
mod tests;
