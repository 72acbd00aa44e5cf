//! Custom transports: carry codex's frames over a medium of your own.
//!
//! The facade talks to codex through a `Connection`: a pair of frame queues
//! and a closer. `Connection::channel` gives you that connection and the
//! `Endpoint` that serves it; whatever moves frames between the endpoint
//! and codex is a transport. This one starts `codex app-server` with
//! `tokio::process` and pumps newline-delimited JSON over its stdin and
//! stdout, the same medium the built-in transport uses, written out in a
//! page; a WebSocket or a Unix socket would take the same shape. The
//! connection is handed to `Client::connect_with`, and everything above it
//! works as usual.
//!
//! The program is `CODEX_BIN`, else `codex` on `PATH`; it runs in the
//! current directory.
//!
//! ```text
//! cargo run -p codexrt --example custom_transport -- "What is in this directory?"
//! ```
// Printing the answer is the point of the program.
#![allow(clippy::print_stdout)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use codexrt::transport::{CloseReason, Control, Endpoint};
use codexrt::{Client, ClientConfig, CloseReport, Connection};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How many frames may wait in each direction before senders wait.
const QUEUE: usize = 64;

/// Starts `program app-server` and returns the connection to it.
fn spawn_codex(program: &str) -> std::io::Result<Connection> {
    let mut child = Command::new(program)
        .arg("app-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // codex's logs go where ours go.
        .stderr(Stdio::inherit())
        // If this program dies without a shutdown, codex goes with it.
        .kill_on_drop(true)
        .spawn()?;
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;

    let (connection, endpoint) = Connection::channel(QUEUE);
    tokio::spawn(pump(child, stdin, stdout, endpoint));
    Ok(connection)
}

fn missing(pipe: &str) -> std::io::Error {
    std::io::Error::other(format!("the child's {pipe} was not piped"))
}

/// Moves frames both ways until one side goes away or a shutdown is asked
/// for, then publishes why the connection closed: every transport must,
/// so that the client can always say what happened.
async fn pump(mut child: Child, stdin: ChildStdin, stdout: ChildStdout, mut endpoint: Endpoint) {
    // A real transport would cap the line length; `lines` does not.
    let mut lines = BufReader::new(stdout).lines();
    let mut stdin = Some(stdin);
    let reason = loop {
        tokio::select! {
            // A frame from the client: one line on codex's stdin.
            frame = endpoint.outbound.recv() => {
                let (Some(frame), Some(writer)) = (frame, stdin.as_mut()) else {
                    break CloseReason::Dropped;
                };
                if let Err(err) = write_line(writer, &frame).await {
                    break CloseReason::Io(Arc::new(err));
                }
            }
            // A line from codex: one frame for the client.
            line = lines.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => {
                    if endpoint.inbound.send(Ok(line.into_bytes().into())).await.is_err() {
                        break CloseReason::Dropped;
                    }
                }
                Ok(None) => break CloseReason::PeerClosed,
                Err(err) => break CloseReason::Io(Arc::new(err)),
            },
            control = endpoint.control.recv() => match control {
                Some(Control::Shutdown { grace, done }) => {
                    // Closing codex's stdin asks it to exit; after `grace`
                    // it is killed.
                    drop(stdin.take());
                    let exit = stop(&mut child, grace).await;
                    let report = CloseReport::new(CloseReason::Shutdown).with_exit(exit);
                    endpoint.report.publish(report);
                    done.finish(Ok(()));
                    return;
                }
                // Requests added by later versions of the transport API.
                Some(_) => {}
                None => break CloseReason::Dropped,
            },
        }
    };
    drop(stdin);
    let exit = stop(&mut child, Duration::ZERO).await;
    endpoint
        .report
        .publish(CloseReport::new(reason).with_exit(exit));
}

async fn write_line(writer: &mut ChildStdin, frame: &[u8]) -> std::io::Result<()> {
    writer.write_all(frame).await?;
    writer.write_all(b"\n").await?;
    writer.flush().await
}

/// Waits up to `grace` for the child to exit, then kills it; its exit
/// status when it could be read.
async fn stop(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Ok(Ok(status)) = tokio::time::timeout(grace, child.wait()).await {
        return Some(status);
    }
    // Kill errors only mean it is already gone; `wait` says how it ended.
    let _ = child.start_kill();
    child.wait().await.ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Say hello in five words.".to_owned());
    let program = std::env::var("CODEX_BIN").unwrap_or_else(|_| "codex".to_owned());

    let connection = spawn_codex(&program)?;
    // The handshake and the version check run over our transport. The
    // config's program, environment and directory are not used: the
    // transport decided those.
    let client = Client::connect_with(connection, ClientConfig::new()).await?;
    println!(
        "connected to codex {}",
        client.runtime().server_info().version
    );

    let answer = client.run(".", prompt).await?;
    println!("{}", answer.text());

    let report = client.shutdown().await?;
    println!("closed: {}", report.reason);
    Ok(())
}
