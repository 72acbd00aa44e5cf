//! The local app-server daemon: `codex app-server daemon start` runs one
//! app-server per `CODEX_HOME` in the background, serving its control
//! socket; [`Client::connect_daemon`] connects to it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use codexrt_transport::{TransportError, WebSocketTransport};

use crate::{Client, ClientConfig, ClientError};

/// The control socket of the local app-server daemon of `codex_home`:
/// `CODEX_HOME/app-server-control/app-server-control.sock`. With `None`,
/// the home is `$CODEX_HOME`, else `$HOME/.codex`, as codex resolves it.
///
/// This is also where `codex app-server --listen unix://` (no path) listens.
///
/// # Errors
/// [`ClientError::Connect`] with
/// [`TransportError::InvalidUrl`] when `codex_home` is `None` and neither
/// `CODEX_HOME` nor `HOME` is set.
pub fn daemon_socket_path(codex_home: Option<&Path>) -> Result<PathBuf, ClientError> {
    let home = match codex_home {
        Some(home) => home.to_path_buf(),
        None => default_codex_home(std::env::var_os("CODEX_HOME"), std::env::var_os("HOME"))?,
    };
    Ok(home
        .join("app-server-control")
        .join("app-server-control.sock"))
}

fn default_codex_home(
    codex_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ClientError> {
    match (codex_home, home) {
        (Some(codex_home), _) if !codex_home.is_empty() => Ok(PathBuf::from(codex_home)),
        (_, Some(home)) if !home.is_empty() => Ok(PathBuf::from(home).join(".codex")),
        _ => Err(ClientError::Connect(TransportError::InvalidUrl {
            reason: "the daemon's socket is in CODEX_HOME, and neither CODEX_HOME nor HOME is set",
        })),
    }
}

impl Client {
    /// Connects to the local app-server daemon (started with `codex
    /// app-server daemon start`) over its control socket,
    /// [`daemon_socket_path`]`(None)`, runs the handshake and checks codex's
    /// version. The daemon serves its socket without credentials: access is
    /// the socket file's permissions.
    ///
    /// The program, arguments, environment and working directory of
    /// `config` are not used; for a daemon of another `CODEX_HOME`, give
    /// [`WebSocketTransport::unix_socket`]`(`[`daemon_socket_path`]`(Some(home))?)`
    /// to [`ClientConfig::websocket`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), codexrt::ClientError> {
    /// let client = codexrt::Client::connect_daemon(codexrt::ClientConfig::new()).await?;
    /// println!("the daemon runs codex {}", client.server_info().version);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the socket path is unknown or nothing
    /// listens there (the daemon is not running); otherwise as for
    /// [`Client::connect`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future drops the connection.
    pub async fn connect_daemon(config: ClientConfig) -> Result<Client, ClientError> {
        let transport = WebSocketTransport::unix_socket(daemon_socket_path(None)?)
            .map_err(ClientError::Connect)?;
        Client::connect(config.websocket(transport)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_is_in_codex_home_or_under_home() {
        let home = |codex_home: Option<&str>, home: Option<&str>| {
            default_codex_home(codex_home.map(OsString::from), home.map(OsString::from))
                .map_err(|err| err.to_string())
        };
        assert_eq!(
            home(Some("/srv/codex"), Some("/home/u")),
            Ok(PathBuf::from("/srv/codex"))
        );
        assert_eq!(
            home(None, Some("/home/u")),
            Ok(PathBuf::from("/home/u/.codex"))
        );
        assert_eq!(
            home(Some(""), Some("/home/u")),
            Ok(PathBuf::from("/home/u/.codex"))
        );
        assert!(home(None, None).is_err());
        assert!(home(Some(""), Some("")).is_err());
        assert_eq!(
            daemon_socket_path(Some(Path::new("/srv/codex"))).ok(),
            Some(PathBuf::from(
                "/srv/codex/app-server-control/app-server-control.sock"
            ))
        );
    }
}
