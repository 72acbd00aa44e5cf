//! [`Handshake`]: the usual opening of a fake app-server script, answered
//! the way codex answers `initialize`.

use serde_json::{Value, json};

use super::Step;

/// The usual opening of an app-server conversation, as steps: expect
/// `initialize`, answer it like codex does, expect `initialized`.
///
/// The answer is `{"userAgent":"fake/<version> (Linux; x86_64)",
/// "codexHome":..,"platformFamily":..,"platformOs":..}`; clients read the
/// version right after the first `/` of `userAgent`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a handshake does nothing until added to a script"]
pub struct Handshake {
    name: String,
    version: String,
    codex_home: String,
    platform_family: String,
    platform_os: String,
}

impl Default for Handshake {
    fn default() -> Handshake {
        Handshake::new()
    }
}

impl Handshake {
    /// The default handshake of a codex 0.169.0 on Linux.
    pub fn new() -> Handshake {
        Handshake {
            name: "fake".to_owned(),
            version: "0.169.0".to_owned(),
            codex_home: "/tmp/fake-codex-home".to_owned(),
            platform_family: "unix".to_owned(),
            platform_os: "linux".to_owned(),
        }
    }

    /// The version in `userAgent`. Default: `0.169.0`.
    pub fn version(mut self, version: impl Into<String>) -> Handshake {
        self.version = version.into();
        self
    }

    /// The name before the `/` in `userAgent`. Default: `fake`.
    pub fn name(mut self, name: impl Into<String>) -> Handshake {
        self.name = name.into();
        self
    }

    /// The `codexHome` of the answer. Default: `/tmp/fake-codex-home`.
    pub fn codex_home(mut self, path: impl Into<String>) -> Handshake {
        self.codex_home = path.into();
        self
    }

    /// The `platformFamily` and `platformOs` of the answer. Default: `unix`
    /// and `linux`.
    pub fn platform(mut self, family: impl Into<String>, os: impl Into<String>) -> Handshake {
        self.platform_family = family.into();
        self.platform_os = os.into();
        self
    }

    /// The answer to `initialize`.
    pub fn initialize_result(&self) -> Value {
        json!({
            "userAgent": format!("{}/{} (Linux; x86_64)", self.name, self.version),
            "codexHome": self.codex_home,
            "platformFamily": self.platform_family,
            "platformOs": self.platform_os,
        })
    }

    /// The steps: `respond_to initialize`, `expect initialized`.
    pub fn steps(&self) -> [Step; 2] {
        [
            Step::respond_to("initialize", self.initialize_result()),
            Step::expect("initialized"),
        ]
    }
}
