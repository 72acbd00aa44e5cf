//! Blocking: the client without any async code, for programs that have no
//! async runtime (needs the `blocking` feature).
//!
//! Runs one prompt with `codexrt::blocking::Client::run`, then asks a
//! session to say it again and prints the answer as it streams in, by
//! iterating the ask's `AskStream`. The client owns the tokio runtime
//! everything runs on. codex is found through `CODEX_BIN`, else `codex` on
//! `PATH`; both work in the current directory.
//!
//! ```text
//! cargo run -p codexrt --features blocking --example blocking -- "What is here?"
//! ```
// Printing the answers is the point of the program.
#![allow(clippy::print_stdout)]

use std::io::Write;

use codexrt::blocking::Client;
use codexrt::{SessionConfig, SessionEvent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Summarize this directory in one sentence.".to_owned());

    // Starts the client's runtime and codex; no `#[tokio::main]` needed.
    let client = Client::connect_default()?;
    let answer = client.run(".", prompt)?;
    println!("run: {}", answer.text());

    let session = client.start_session(SessionConfig::new("."))?;
    print!("stream: ");
    // Each `next` blocks until the next event; the last is `Finished`,
    // carrying what `ask` would have returned.
    let mut finished = None;
    for event in session.ask_stream("Say that again, in pieces.")? {
        match event {
            SessionEvent::TextDelta { delta, .. } => {
                print!("{delta}");
                std::io::stdout().flush()?;
            }
            SessionEvent::Finished(result) => finished = Some(result),
            // Item and turn notifications: not needed here.
            _ => {}
        }
    }
    println!();
    let result = finished.ok_or("the stream ended without an outcome")??;
    println!("final: {}", result.text());

    session.close()?;
    // An orderly stop; dropping the client would do the same, bounded.
    client.shutdown()?;
    Ok(())
}
