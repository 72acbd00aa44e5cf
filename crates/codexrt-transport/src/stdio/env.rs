//! [`EnvPolicy`]: which variables of our environment a child process starts
//! with. The default keeps what `codex` needs and nothing else, so that a
//! cloud key or a database password in the parent does not reach codex and
//! the tools it runs.

use std::ffi::{OsStr, OsString};

use tokio::process::Command;

/// Which environment variables of the current process the child starts with.
/// Variables set or removed with [`StdioTransport::env`](crate::StdioTransport::env)
/// and [`StdioTransport::env_remove`](crate::StdioTransport::env_remove) are
/// applied on top, whatever the policy.
///
/// The default is [`EnvPolicy::essential`]: the variables `codex` needs to
/// find its programs, home, locale, temporary folder, proxies and
/// certificates, its own settings (`CODEX_*`, `OPENAI_*`) and `RUST_LOG`;
/// the full list is [`ESSENTIAL_NAMES`](EnvPolicy::ESSENTIAL_NAMES) and
/// [`ESSENTIAL_PREFIXES`](EnvPolicy::ESSENTIAL_PREFIXES). Anything else a
/// tool run by codex needs (`AWS_PROFILE`, `GOPATH`, ...) is named with
/// [`EnvPolicy::essential_and`], or set with `env`;
/// [`EnvPolicy::Inherit`] restores the behaviour of
/// [`std::process::Command`].
///
/// ```
/// use codexrt_transport::EnvPolicy;
///
/// let policy = EnvPolicy::essential_and(["AWS_PROFILE"]);
/// assert!(policy.keeps("PATH".as_ref()));
/// assert!(policy.keeps("LC_ALL".as_ref()));
/// assert!(policy.keeps("AWS_PROFILE".as_ref()));
/// assert!(!policy.keeps("AWS_SECRET_ACCESS_KEY".as_ref()));
/// assert_eq!(EnvPolicy::default(), EnvPolicy::essential());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvPolicy {
    /// The child inherits the whole environment of the current process.
    Inherit,
    /// The child starts with an empty environment.
    Clear,
    /// The child starts with only these variables of the current process
    /// (those of them that are set).
    Allow(Vec<OsString>),
    /// The child starts with the variables `codex` needs (see
    /// [`ESSENTIAL_NAMES`](EnvPolicy::ESSENTIAL_NAMES) and
    /// [`ESSENTIAL_PREFIXES`](EnvPolicy::ESSENTIAL_PREFIXES)) and these
    /// names besides, those of them that are set in the current process.
    Essential(Vec<OsString>),
}

impl EnvPolicy {
    /// The variables [`EnvPolicy::Essential`] keeps by exact name: where
    /// programs are (`PATH`), who and where the user is (`HOME`, `USER`,
    /// `LOGNAME`, `SHELL`), the terminal and locale (`TERM`, `LANG`, `TZ`),
    /// the temporary folder (`TMPDIR`), proxies in both spellings,
    /// certificates (`SSL_CERT_FILE`, `SSL_CERT_DIR`) and `RUST_LOG`.
    pub const ESSENTIAL_NAMES: &'static [&'static str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "LANG",
        "TZ",
        "TMPDIR",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "RUST_LOG",
    ];

    /// The prefixes of the variables [`EnvPolicy::Essential`] keeps: the
    /// locale (`LC_*`), codex's own settings (`CODEX_*`, such as
    /// `CODEX_HOME`), the model provider's (`OPENAI_*`, such as
    /// `OPENAI_API_KEY` and `OPENAI_BASE_URL`) and the XDG folders
    /// (`XDG_*`).
    pub const ESSENTIAL_PREFIXES: &'static [&'static str] = &["LC_", "CODEX_", "OPENAI_", "XDG_"];

    /// [`EnvPolicy::Allow`] with the given variable names.
    pub fn allow<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        EnvPolicy::Allow(os_strings(names))
    }

    /// [`EnvPolicy::Essential`] with no names besides: the default.
    pub fn essential() -> Self {
        EnvPolicy::Essential(Vec::new())
    }

    /// [`EnvPolicy::Essential`] keeping these names besides.
    pub fn essential_and<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        EnvPolicy::Essential(os_strings(names))
    }

    /// Whether a variable of the current process named `name` reaches the
    /// child under this policy (before the explicit settings of
    /// [`StdioTransport::env`](crate::StdioTransport::env) and
    /// [`StdioTransport::env_remove`](crate::StdioTransport::env_remove)).
    pub fn keeps(&self, name: &OsStr) -> bool {
        match self {
            EnvPolicy::Inherit => true,
            EnvPolicy::Clear => false,
            EnvPolicy::Allow(names) => names.iter().any(|allowed| allowed == name),
            EnvPolicy::Essential(extra) => {
                is_essential(name) || extra.iter().any(|allowed| allowed == name)
            }
        }
    }

    /// Sets up `command`'s environment from the current process's.
    pub(super) fn apply(&self, command: &mut Command) {
        if *self == EnvPolicy::Inherit {
            return;
        }
        command.env_clear();
        for (name, value) in std::env::vars_os() {
            if self.keeps(&name) {
                command.env(name, value);
            }
        }
    }
}

impl Default for EnvPolicy {
    fn default() -> Self {
        EnvPolicy::essential()
    }
}

fn is_essential(name: &OsStr) -> bool {
    // Names that are not UTF-8 are none of ours.
    let Some(name) = name.to_str() else {
        return false;
    };
    EnvPolicy::ESSENTIAL_NAMES.contains(&name)
        || EnvPolicy::ESSENTIAL_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

fn os_strings<I, S>(names: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    names
        .into_iter()
        .map(|name| name.as_ref().to_os_string())
        .collect()
}
