//! Where a WebSocket connection goes, parsed from its URL: a host and port
//! (`ws://`, `wss://`) or a Unix socket (`unix://PATH`).

use std::path::PathBuf;

use tokio_tungstenite::tungstenite::http::Uri;

use crate::TransportError;

/// The parsed destination of a WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) medium: Medium,
    /// The `Host` header of the upgrade request.
    pub(crate) host_header: String,
    /// The request target of the upgrade request: path and query.
    pub(crate) request_uri: String,
    /// How errors name the destination: the URL without its query, or the
    /// socket's path.
    pub(crate) endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Medium {
    Tcp { host: String, port: u16, tls: bool },
    Unix { path: PathBuf },
}

impl Target {
    /// The Unix socket at `path`.
    pub(crate) fn unix(path: PathBuf) -> Target {
        let endpoint = format!("unix://{}", path.display());
        // codex accepts any request target on its socket; `localhost` is
        // what WebSocket clients conventionally send there.
        Target {
            medium: Medium::Unix { path },
            host_header: "localhost".to_owned(),
            request_uri: "/".to_owned(),
            endpoint,
        }
    }

    pub(crate) fn parse(url: &str) -> Result<Target, TransportError> {
        let invalid = |reason| TransportError::InvalidUrl { reason };
        if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(invalid(
                    "`unix://` needs the socket's path, as in `unix:///run/codex.sock`",
                ));
            }
            return Ok(Target::unix(PathBuf::from(path)));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| invalid("not a URL of the form `ws://HOST:PORT/PATH`"))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(invalid("the scheme must be `ws`, `wss` or `unix`")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "credentials in the URL are not supported; pass them as `WebSocketAuth`",
            ));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid("the URL has no host"));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let request_uri = uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        let request_uri = if request_uri.is_empty() {
            "/".to_owned()
        } else {
            request_uri
        };
        let scheme = if tls { "wss" } else { "ws" };
        let endpoint = format!("{scheme}://{}{}", authority.as_str(), uri.path());
        // An IPv6 literal is bracketed in URLs and `Host` headers only.
        let bare_host = host
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(host);
        Ok(Target {
            medium: Medium::Tcp {
                host: bare_host.to_owned(),
                port,
                tls,
            },
            host_header: authority.as_str().to_owned(),
            request_uri,
            endpoint,
        })
    }
}
