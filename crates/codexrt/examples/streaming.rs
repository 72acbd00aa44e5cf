//! Streaming: print an answer as it is written, then the token usage.
//!
//! Starts a session in the current directory and asks one question with
//! `Session::ask_stream`, printing each text delta the moment it arrives.
//! codex is found through `CODEX_BIN`, else `codex` on `PATH`.
//!
//! ```text
//! cargo run -p codexrt --example streaming -- "Explain this directory's layout"
//! ```
// Printing the answer is the point of the program.
#![allow(clippy::print_stdout)]

use std::io::Write;

use codexrt::{Client, SessionConfig, SessionEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Describe the files in this directory.".to_owned());

    let client = Client::connect_default().await?;
    let session = client.start_session(SessionConfig::new(".")).await?;

    let mut stream = session.ask_stream(prompt).await?;
    // The stream ends with exactly one `Finished`, carrying what `ask`
    // would have returned.
    let mut finished = None;
    while let Some(event) = stream.next().await {
        match event {
            SessionEvent::TextDelta { delta, .. } => {
                print!("{delta}");
                // Deltas rarely end in a newline: flush so they show up now.
                std::io::stdout().flush()?;
            }
            SessionEvent::Finished(result) => finished = Some(result),
            // Item and turn notifications: not needed here.
            _ => {}
        }
    }
    println!();

    let result = finished.ok_or("the stream ended without an outcome")??;
    match &result.usage {
        Some(usage) => println!(
            "usage: {} input tokens, {} output tokens",
            usage.last.input_tokens, usage.last.output_tokens
        ),
        None => println!("usage: not reported"),
    }

    session.close().await?;
    client.shutdown().await?;
    Ok(())
}
