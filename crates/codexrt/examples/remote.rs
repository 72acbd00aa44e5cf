//! Remote: a prompt on an app-server that is already running, reached over
//! a WebSocket (`ws://`, or `wss://` with the transport's `wss` feature) or
//! a Unix socket (`unix:///PATH`), instead of one this program spawns.
//!
//! Start the server first, on the machine that holds the code (see
//! `docs/transports.md` for tunnels, systemd and Kubernetes):
//!
//! ```text
//! codex app-server --listen ws://127.0.0.1:4500 \
//!     --ws-auth capability-token --ws-token-file /run/secrets/codex-token
//! ```
//!
//! Then:
//!
//! ```text
//! CODEX_APP_SERVER_URL=ws://127.0.0.1:4500 \
//! CODEX_APP_SERVER_TOKEN_FILE=/run/secrets/codex-token \
//! CODEX_REMOTE_CWD=/srv/checkout \
//!     cargo run -p codexrt --example remote -- "What does this project do?"
//! ```
//!
//! - `CODEX_APP_SERVER_URL`: where the server listens (required).
//! - `CODEX_APP_SERVER_TOKEN_FILE`: a capability token, for a server
//!   started with `--ws-auth capability-token`; leave it out for a Unix
//!   socket, which codex serves without a token.
//! - `CODEX_REMOTE_CWD`: the folder the thread works in, a path on the
//!   server's machine (default: this program's current folder, which is
//!   right when the server runs here).
// Printing the answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::{Client, ClientConfig, WebSocketAuth, WebSocketTransport};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Summarize this directory in one sentence.".to_owned());
    let url = std::env::var("CODEX_APP_SERVER_URL")
        .map_err(|_| "set CODEX_APP_SERVER_URL to the app-server's address")?;
    let cwd = match std::env::var_os("CODEX_REMOTE_CWD") {
        Some(dir) => dir.into(),
        None => std::env::current_dir()?,
    };

    let mut transport = WebSocketTransport::new(&url)?;
    if let Some(file) = std::env::var_os("CODEX_APP_SERVER_TOKEN_FILE") {
        // The token is read once here, kept out of `Debug` output and
        // errors, and sent only in the upgrade request's header.
        transport = transport.auth(WebSocketAuth::capability_token_file(file)?);
    }
    // Refused credentials fail here, typed:
    // `ClientError::Connect(TransportError::Unauthorized { .. })`.
    let client = Client::connect(ClientConfig::new().websocket(transport)).await?;
    println!(
        "connected to codex {} at {}",
        client.server_info().version,
        url
    );

    let answer = client.run(&cwd, prompt).await?;
    println!("{}", answer.text());

    // Closes this connection only: the server keeps running for others.
    client.shutdown().await?;
    Ok(())
}
