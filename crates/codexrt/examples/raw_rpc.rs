//! The core layer: typed JSON-RPC calls to codex without the facade.
//!
//! `codexrt::Runtime` is what the facade is built on: it spawns
//! `codex app-server`, runs the handshake and version check, and sends
//! typed requests whose params name their method and response. Here it
//! starts a thread (`thread/start`) and a turn (`turn/start`, through
//! `start_turn`), prints every notification of the turn as it arrives,
//! then the outcome. Server requests (approvals and the like) nobody takes
//! get the safe answer: declined.
//!
//! codex is found through `CODEX_BIN`, else `codex` on `PATH`; the thread
//! works in the current directory.
//!
//! ```text
//! cargo run -p codexrt --example raw_rpc -- "What is in this directory?"
//! ```
// Printing the notifications is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::protocol::types::{SandboxMode, ThreadStartParams, TurnStartParams, UserInput};
use codexrt::{Runtime, RuntimeConfig, StreamKind, TurnEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Say hello in five words.".to_owned());

    // The client info codex sees in `initialize`.
    let runtime = Runtime::spawn(RuntimeConfig::new("raw-rpc-example", "0.1.0")).await?;
    println!("connected to codex {}", runtime.server_info().version);

    // Params with defaults for everything not set: codex's configuration
    // decides those. The method and the response type come with the params.
    let cwd = std::env::current_dir()?;
    let started = runtime
        .call(ThreadStartParams {
            cwd: Some(cwd.display().to_string()),
            sandbox: Some(SandboxMode::ReadOnly),
            ..ThreadStartParams::default()
        })
        .await?;
    println!("thread started: {} ({})", started.thread.id, started.model);

    let mut turn = runtime
        .start_turn(TurnStartParams {
            thread_id: started.thread.id.clone(),
            input: vec![UserInput::Text {
                text: prompt,
                text_elements: None,
            }],
            ..TurnStartParams::default()
        })
        .await?;

    // The turn's own events, in order; the stream ends with the turn.
    let mut events = turn.events().ok_or("the turn's events were taken")?;
    while let Some(event) = events.recv().await {
        match event {
            TurnEvent::Delta(delta) if delta.kind == StreamKind::AgentMessage => {
                println!("  delta: {:?}", delta.text);
            }
            TurnEvent::Delta(delta) => println!("  {:?} delta: {:?}", delta.kind, delta.text),
            TurnEvent::Notification(notification) => {
                println!("  notification: {}", notification.method());
            }
            // Kinds added by later versions of the runtime.
            _ => {}
        }
    }

    // Everything the turn produced, reassembled, whether or not the events
    // above were read.
    let outcome = turn.wait().await?;
    println!("status: {:?}", outcome.status);
    println!("final text: {}", outcome.final_text().unwrap_or_default());

    runtime.shutdown().await?;
    Ok(())
}
