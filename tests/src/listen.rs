//! Starting a `codex app-server --listen ..` and waiting until it listens,
//! for every suite that reaches codex over a socket.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codexrt_transport::framing::LineReader;
use tokio::process::{Child, ChildStderr, Command};

/// How long codex may take to start listening; it takes about a second.
pub const STARTUP: Duration = Duration::from_secs(60);

/// Spawns `command` (a `codex app-server` command line, with its home and
/// environment) with `--listen listen` and `args`, and waits until it
/// listens. For a TCP address codex prints `listening on: URL` once it has
/// bound its port; for a Unix socket it prints nothing, and the socket at
/// `socket` appears instead. Its stderr is drained from then on, so that it
/// never blocks on a full pipe; it is killed when the child is dropped.
///
/// Returns the child and the URL to connect to: `ws://127.0.0.1:PORT` or
/// `unix://PATH`.
///
/// # Errors
/// What went wrong, when codex cannot be spawned, exits first, or does not
/// listen within [`STARTUP`].
pub async fn listen(
    mut command: Command,
    listen: &str,
    args: &[std::ffi::OsString],
    socket: Option<&Path>,
) -> Result<(Child, String), String> {
    command
        .arg("--listen")
        .arg(listen)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|err| format!("cannot spawn codex: {err}"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| "codex's stderr was not piped".to_owned())?;
    let stderr = LineReader::new(stderr, 64 * 1024);
    let url = match socket {
        Some(path) => {
            drain(stderr);
            let appeared = tokio::time::timeout(STARTUP, async {
                while !path.exists() {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!("codex exited before listening: {status}"));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(())
            })
            .await;
            appeared.map_err(|_| format!("codex did not create {}", path.display()))??;
            format!("unix://{}", path.display())
        }
        None => listening_on(stderr)
            .await
            .map_err(|why| format!("codex did not say where it listens: {why}"))?,
    };
    Ok((child, url))
}

/// Reads codex's stderr up to `listening on: URL`, then drains the rest.
async fn listening_on(mut stderr: LineReader<ChildStderr>) -> Result<String, String> {
    let mut seen = String::new();
    let found = tokio::time::timeout(STARTUP, async {
        loop {
            let line = match stderr.next_frame().await {
                Ok(Some(Ok(line))) => line,
                Ok(Some(Err(_))) => continue,
                Ok(None) => return Err(format!("codex ended; stderr:\n{seen}")),
                Err(err) => return Err(format!("reading codex's stderr: {err}")),
            };
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some(url) = line.trim().strip_prefix("listening on: ") {
                return Ok(url.to_owned());
            }
            if seen.len() < 16 * 1024 {
                seen.push_str(&line);
                seen.push('\n');
            }
        }
    })
    .await
    .map_err(|_| format!("nothing within {STARTUP:?}"))??;
    drain(stderr);
    Ok(found)
}

/// Keeps reading codex's stderr so that it never blocks on a full pipe.
fn drain(mut stderr: LineReader<ChildStderr>) {
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_frame().await {} });
}
