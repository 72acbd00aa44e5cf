//! [`SignedBearer`]: HS256 JSON Web Tokens minted from a shared secret, the
//! credentials of `codex app-server --ws-auth signed-bearer-token`.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::auth::{BearerToken, read_credentials_file};
use crate::TransportError;

/// codex refuses to start with a shorter shared secret, so a shorter one
/// cannot match any server.
pub(crate) const MIN_SECRET_LEN: usize = 32;

const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 60);
const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(60);

/// The JOSE header of every token: HS256 is the one algorithm codex accepts.
const HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;

/// Mints signed bearer tokens: JSON Web Tokens signed with HMAC-SHA256
/// (`HS256`) under a shared secret, for `codex app-server --ws-auth
/// signed-bearer-token --ws-shared-secret-file FILE`.
///
/// Each token carries `iat` (issued at) and `exp` (expiry, `iat` plus the
/// [lifetime](SignedBearer::lifetime)), and `iss` and `aud` when set. codex
/// checks the signature and `exp` (allowing `--ws-max-clock-skew-seconds`,
/// 30 by default), and `iss` and `aud` when it was started with
/// `--ws-issuer` and `--ws-audience`.
///
/// A token is checked once, when a connection is opened; a token is reused
/// for new connections until it is within
/// [`refresh_before`](SignedBearer::refresh_before) of its expiry, and a
/// fresh one is minted after that. Clones share the token in use.
///
/// The secret and the tokens never appear in `Debug` output, errors or logs.
///
/// ```
/// use std::time::Duration;
/// use codexrt_transport::{SignedBearer, WebSocketAuth};
///
/// # fn main() -> Result<(), codexrt_transport::TransportError> {
/// let signer = SignedBearer::new(*b"0123456789abcdef0123456789abcdef")?
///     .issuer("my-orchestrator")
///     .audience("codex")
///     .lifetime(Duration::from_secs(600));
/// let auth = WebSocketAuth::signed_bearer(signer);
/// assert!(!format!("{auth:?}").contains("0123456789"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct SignedBearer {
    secret: Arc<[u8]>,
    issuer: Option<String>,
    audience: Option<String>,
    lifetime: Duration,
    refresh_before: Duration,
    current: Arc<Mutex<Option<Minted>>>,
}

struct Minted {
    token: BearerToken,
    refresh_at: SystemTime,
}

impl SignedBearer {
    /// A signer with the shared secret's bytes. codex trims whitespace from
    /// its secret file, so pass the file's content without it (or use
    /// [`from_secret_file`](SignedBearer::from_secret_file)).
    ///
    /// # Errors
    /// [`TransportError::InvalidCredentials`] when the secret is shorter than
    /// 32 bytes, which codex refuses.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, TransportError> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_LEN {
            return Err(TransportError::InvalidCredentials {
                reason: "the shared secret is shorter than 32 bytes, which codex refuses",
            });
        }
        Ok(SignedBearer {
            secret: secret.into(),
            issuer: None,
            audience: None,
            lifetime: DEFAULT_LIFETIME,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            current: Arc::default(),
        })
    }

    /// A signer with the secret read now from `path` (the file given to
    /// codex's `--ws-shared-secret-file`), trimmed as codex trims it.
    ///
    /// # Errors
    /// [`TransportError::CredentialsFile`] when the file cannot be read, is
    /// not UTF-8, is larger than 64 KiB or holds only whitespace;
    /// [`TransportError::InvalidCredentials`] as for [`new`](Self::new).
    pub fn from_secret_file(path: impl AsRef<Path>) -> Result<Self, TransportError> {
        Self::new(read_credentials_file(path.as_ref())?)
    }

    /// The `iss` claim, which codex compares with `--ws-issuer`. Default:
    /// none.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self.current = Arc::default();
        self
    }

    /// The `aud` claim, which codex compares with `--ws-audience`. Default:
    /// none.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self.current = Arc::default();
        self
    }

    /// How long a token is valid after it is minted, in whole seconds.
    /// Default: 5 minutes.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self.current = Arc::default();
        self
    }

    /// How long before its expiry a token is replaced by a fresh one for new
    /// connections. Default: 1 minute; a margin as long as the lifetime mints
    /// a token for every connection.
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self.current = Arc::default();
        self
    }

    /// Mints a token issued at `issued_at` and expiring a
    /// [lifetime](Self::lifetime) later, without touching the token in use.
    /// For tokens to hand to other clients, or to see how a server treats
    /// an old one.
    ///
    /// # Errors
    /// None in practice: HMAC accepts keys of any length. The `Result`
    /// leaves room for signers that can fail.
    pub fn mint(&self, issued_at: SystemTime) -> Result<BearerToken, TransportError> {
        let iat = issued_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let exp = iat.saturating_add(self.lifetime.as_secs());
        let mut claims = format!("{{\"iat\":{iat},\"exp\":{exp}");
        if let Some(issuer) = &self.issuer {
            claims.push_str(",\"iss\":");
            push_json_string(&mut claims, issuer);
        }
        if let Some(audience) = &self.audience {
            claims.push_str(",\"aud\":");
            push_json_string(&mut claims, audience);
        }
        claims.push('}');
        let mut token = BASE64URL_NOPAD.encode(HEADER);
        token.push('.');
        token.push_str(&BASE64URL_NOPAD.encode(claims.as_bytes()));
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).map_err(|_| {
            TransportError::InvalidCredentials {
                reason: "the shared secret cannot key HMAC-SHA256",
            }
        })?;
        mac.update(token.as_bytes());
        let signature = mac.finalize().into_bytes();
        token.push('.');
        token.push_str(&BASE64URL_NOPAD.encode(&signature));
        BearerToken::new(token)
    }

    /// The token for a connection opened at `now`: the one in use while it
    /// is fresh enough, else a new one.
    pub(crate) fn token_at(&self, now: SystemTime) -> Result<BearerToken, TransportError> {
        // A panic elsewhere while the lock was held cannot leave the slot
        // half written: it holds a whole token or none.
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(minted) = current.as_ref()
            && now < minted.refresh_at
        {
            return Ok(minted.token.clone());
        }
        let token = self.mint(now)?;
        let keep_for = self.lifetime.saturating_sub(self.refresh_before);
        *current = Some(Minted {
            token: token.clone(),
            refresh_at: now.checked_add(keep_for).unwrap_or(now),
        });
        Ok(token)
    }
}

impl fmt::Debug for SignedBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedBearer")
            .field("secret", &format_args!("<redacted>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .field("refresh_before", &self.refresh_before)
            .finish_non_exhaustive()
    }
}

/// Appends `text` as a JSON string literal.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
