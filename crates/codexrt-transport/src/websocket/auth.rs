//! Credentials for the WebSocket upgrade: a bearer token sent in the
//! `Authorization` header, given as is, read from a file or minted from a
//! shared secret ([`SignedBearer`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::jwt::SignedBearer;
use crate::TransportError;

/// Credentials files larger than this are refused: a token or a shared
/// secret is a few hundred bytes at most, and the file is read whole.
const MAX_CREDENTIALS_FILE: u64 = 64 * 1024;

/// A bearer token: what goes after `Authorization: Bearer `.
///
/// Its `Debug` output is `BearerToken(<redacted>)`; it has no `Display`. The
/// token itself is only reachable through
/// [`expose_secret`](BearerToken::expose_secret).
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// A token from its text, with surrounding whitespace removed (as codex
    /// removes it from its token file).
    ///
    /// # Errors
    /// [`TransportError::InvalidCredentials`] when nothing is left, or when
    /// the token holds a control character (it could not be sent in an HTTP
    /// header).
    pub fn new(token: impl Into<String>) -> Result<Self, TransportError> {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(TransportError::InvalidCredentials {
                reason: "the bearer token is empty",
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TransportError::InvalidCredentials {
                reason: "the bearer token holds a control character",
            });
        }
        let token = if trimmed.len() == token.len() {
            token
        } else {
            trimmed.to_owned()
        };
        Ok(BearerToken(token))
    }

    /// The token's text, for sending it somewhere else yourself. Keep it out
    /// of logs.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// How a [`WebSocketTransport`](crate::WebSocketTransport) authenticates its
/// upgrade request: `Authorization: Bearer <token>`, which is what
/// `codex app-server --ws-auth ...` checks.
///
/// Its `Debug` output names the kind of credentials (and the file they came
/// from), never a token or a secret.
#[derive(Clone, Debug)]
pub struct WebSocketAuth {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Token(BearerToken),
    Signed(SignedBearer),
}

impl WebSocketAuth {
    /// A fixed bearer token: codex's capability token (`--ws-auth
    /// capability-token`), or any token minted elsewhere.
    pub fn bearer(token: BearerToken) -> Self {
        WebSocketAuth {
            kind: Kind::Token(token),
        }
    }

    /// A capability token from its text; surrounding whitespace is removed.
    ///
    /// # Errors
    /// As [`BearerToken::new`].
    pub fn capability_token(token: impl Into<String>) -> Result<Self, TransportError> {
        BearerToken::new(token).map(Self::bearer)
    }

    /// A capability token read now from `path` (for codex, the file given to
    /// `--ws-token-file`), with surrounding whitespace removed as codex does.
    /// The file is read once, here.
    ///
    /// # Errors
    /// [`TransportError::CredentialsFile`] when the file cannot be read, is
    /// not UTF-8, is larger than 64 KiB or holds only whitespace;
    /// [`TransportError::InvalidCredentials`] as for [`BearerToken::new`].
    pub fn capability_token_file(path: impl AsRef<Path>) -> Result<Self, TransportError> {
        let text = read_credentials_file(path.as_ref())?;
        Self::capability_token(text)
    }

    /// Tokens minted from a shared secret, each fresh enough for the
    /// connection it opens (see [`SignedBearer`]).
    pub fn signed_bearer(signer: SignedBearer) -> Self {
        WebSocketAuth {
            kind: Kind::Signed(signer),
        }
    }

    /// The token to send for a connection opened at `now`.
    pub(crate) fn token_at(&self, now: SystemTime) -> Result<BearerToken, TransportError> {
        match &self.kind {
            Kind::Token(token) => Ok(token.clone()),
            Kind::Signed(signer) => signer.token_at(now),
        }
    }
}

/// Reads a small UTF-8 credentials file and trims it; an empty result is an
/// error.
pub(crate) fn read_credentials_file(path: &Path) -> Result<String, TransportError> {
    use std::io::Read;

    let failed = |source: std::io::Error| TransportError::CredentialsFile {
        path: PathBuf::from(path),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(MAX_CREDENTIALS_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_CREDENTIALS_FILE {
        return Err(failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is larger than 64 KiB",
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8",
        ))
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file holds nothing but whitespace",
        )));
    }
    Ok(trimmed.to_owned())
}
