//! Unit tests of the WebSocket transport's pure parts: URLs, tokens,
//! credentials files and the bounding of peer text.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::target::{Medium, Target};
use super::upgrade::one_line;
use super::{BearerToken, SignedBearer, WebSocketAuth, WebSocketTransport};
use crate::TransportError;

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn tcp(host: &str, port: u16, tls: bool, host_header: &str, uri: &str, endpoint: &str) -> Target {
    Target {
        medium: Medium::Tcp {
            host: host.to_owned(),
            port,
            tls,
        },
        host_header: host_header.to_owned(),
        request_uri: uri.to_owned(),
        endpoint: endpoint.to_owned(),
    }
}

fn check_url(url: &str, expected: Result<Target, &str>) {
    let parsed = Target::parse(url).map_err(|err| match err {
        TransportError::InvalidUrl { reason } => reason,
        other => panic!("{url}: unexpected error {other}"),
    });
    match (parsed, expected) {
        (Ok(parsed), Ok(expected)) => assert_eq!(parsed, expected, "{url}"),
        (Err(reason), Err(expected)) => assert!(reason.contains(expected), "{url}: {reason}"),
        (parsed, expected) => panic!("{url}: got {parsed:?}, expected {expected:?}"),
    }
}

#[test]
fn urls() {
    check_url(
        "ws://127.0.0.1:4500",
        Ok(tcp(
            "127.0.0.1",
            4500,
            false,
            "127.0.0.1:4500",
            "/",
            "ws://127.0.0.1:4500/",
        )),
    );
    check_url(
        "ws://example.com/rpc?room=1",
        Ok(tcp(
            "example.com",
            80,
            false,
            "example.com",
            "/rpc?room=1",
            "ws://example.com/rpc",
        )),
    );
    check_url(
        "wss://example.com",
        Ok(tcp(
            "example.com",
            443,
            true,
            "example.com",
            "/",
            "wss://example.com/",
        )),
    );
    check_url(
        "ws://[::1]:9000/x",
        Ok(tcp(
            "::1",
            9000,
            false,
            "[::1]:9000",
            "/x",
            "ws://[::1]:9000/x",
        )),
    );
    check_url(
        "unix:///run/codex/app.sock",
        Ok(Target {
            medium: Medium::Unix {
                path: PathBuf::from("/run/codex/app.sock"),
            },
            host_header: "localhost".to_owned(),
            request_uri: "/".to_owned(),
            endpoint: "unix:///run/codex/app.sock".to_owned(),
        }),
    );
    check_url("unix://", Err("needs the socket's path"));
    check_url("http://example.com", Err("the scheme must be"));
    check_url("example.com:80", Err("the scheme must be"));
    check_url(
        "ws://user:secret@example.com",
        Err("credentials in the URL"),
    );
    check_url("ws://", Err("not a URL"));
    check_url("not a url", Err("not a URL"));
}

#[test]
fn minted_tokens_match_an_independent_hs256_implementation() {
    let signer = SignedBearer::new(*SECRET)
        .unwrap()
        .issuer("orchestrator")
        .audience("codex \"one\"");
    let token = signer.mint(at(1_700_000_000)).unwrap();
    // Computed with Python's `hmac` and `base64` modules.
    assert_eq!(
        token.expose_secret(),
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
         eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDMwMCwiaXNzIjoib3JjaGVzdHJhdG9yIiwiYXVkIjoiY29kZXggXCJvbmVcIiJ9.\
         WNFQAhrt3m-BYbOjIhTaxOA5OOc3dIQ3k5lQm03EZrw"
    );
}

#[test]
fn a_token_is_reused_until_it_is_near_its_expiry() {
    let signer = SignedBearer::new(*SECRET)
        .unwrap()
        .lifetime(Duration::from_secs(300))
        .refresh_before(Duration::from_secs(60));
    let first = signer.token_at(at(1_000)).unwrap();
    assert_eq!(first, signer.mint(at(1_000)).unwrap());
    // A clone shares the token in use.
    assert_eq!(signer.clone().token_at(at(1_239)).unwrap(), first);
    let fresh = signer.token_at(at(1_240)).unwrap();
    assert_eq!(fresh, signer.mint(at(1_240)).unwrap());
    assert_eq!(signer.token_at(at(1_300)).unwrap(), fresh);

    // A margin as long as the lifetime mints a token for every connection.
    let every_time = SignedBearer::new(*SECRET)
        .unwrap()
        .refresh_before(Duration::from_secs(300));
    assert_eq!(
        every_time.token_at(at(5)).unwrap(),
        every_time.mint(at(5)).unwrap()
    );
    assert_eq!(
        every_time.token_at(at(6)).unwrap(),
        every_time.mint(at(6)).unwrap()
    );
}

#[test]
fn a_short_secret_is_refused() {
    let err = SignedBearer::new(&SECRET[..31]).unwrap_err();
    assert!(
        matches!(err, TransportError::InvalidCredentials { .. }),
        "{err}"
    );
}

#[test]
fn secrets_and_tokens_stay_out_of_debug_and_errors() {
    let token = BearerToken::new("  tok-123-secret \n").unwrap();
    assert_eq!(token.expose_secret(), "tok-123-secret");
    assert_eq!(format!("{token:?}"), "BearerToken(<redacted>)");
    let auth = WebSocketAuth::bearer(token);
    assert!(!format!("{auth:?}").contains("tok-123"), "{auth:?}");

    let signer = SignedBearer::new(*SECRET).unwrap().issuer("me");
    let minted = signer.token_at(at(10)).unwrap();
    let debug = format!("{:?}", WebSocketAuth::signed_bearer(signer));
    assert!(!debug.contains("0123456789"), "{debug}");
    assert!(!debug.contains(minted.expose_secret()), "{debug}");

    for bad in ["", " \t\n", "tok\r\nX-Injected: 1"] {
        let err = BearerToken::new(bad).unwrap_err();
        assert!(matches!(err, TransportError::InvalidCredentials { .. }));
        assert!(!err.to_string().contains("Injected"), "{err}");
    }
}

#[test]
fn credentials_files_are_trimmed_and_bounded() {
    let dir = std::env::temp_dir().join(format!("codexrt-ws-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, "  file-token\n").unwrap();
    let auth = WebSocketAuth::capability_token_file(&token_file).unwrap();
    assert_eq!(auth.token_at(at(0)).unwrap().expose_secret(), "file-token");

    let empty = dir.join("empty");
    std::fs::write(&empty, "\n\n").unwrap();
    let big = dir.join("big");
    std::fs::write(&big, vec![b'a'; 64 * 1024 + 1]).unwrap();
    for path in [&empty, &big, &dir.join("missing")] {
        match WebSocketAuth::capability_token_file(path) {
            Err(TransportError::CredentialsFile { path: named, .. }) => assert_eq!(&named, path),
            other => panic!("{}: {other:?}", path.display()),
        }
    }

    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, [&SECRET[..], b"\n"].concat()).unwrap();
    let from_file = SignedBearer::from_secret_file(&secret_file).unwrap();
    let from_bytes = SignedBearer::new(*SECRET).unwrap();
    assert_eq!(
        from_file.mint(at(7)).unwrap(),
        from_bytes.mint(at(7)).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn peer_text_is_made_one_bounded_line() {
    assert_eq!(
        one_line("  expired websocket jwt\n", 256),
        "expired websocket jwt"
    );
    assert_eq!(one_line("a\r\nb\u{0}c", 256), "a  b c");
    assert_eq!(one_line("abcdef", 3), "abc…");
    assert_eq!(one_line("", 3), "");
}

#[test]
fn a_unix_socket_by_path_is_the_same_as_its_url() {
    let by_path = WebSocketTransport::unix_socket("/run/codex/app.sock").unwrap();
    let by_url = WebSocketTransport::new("unix:///run/codex/app.sock").unwrap();
    assert_eq!(by_path.target, by_url.target);
    assert_eq!(by_path.endpoint(), "unix:///run/codex/app.sock");
    let err = WebSocketTransport::unix_socket("").unwrap_err();
    assert!(
        matches!(err, TransportError::InvalidUrl { reason } if reason.contains("needs a path")),
        "{err:?}"
    );
}
