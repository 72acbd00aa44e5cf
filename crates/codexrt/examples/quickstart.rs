//! Quickstart: one prompt, one answer.
//!
//! Starts `codex app-server` (found through `CODEX_BIN`, else `codex` on
//! `PATH`), runs one prompt in a new thread working in the current
//! directory, and prints the final answer.
//!
//! ```text
//! cargo run -p codexrt --example quickstart -- "What does this project do?"
//! ```
// Printing the answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The prompt is the first argument, or a default question.
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Summarize this directory in one sentence.".to_owned());

    let client = Client::connect_default().await?;
    // `run` starts a thread in ".", sends the prompt and waits for the turn
    // to complete; a failed or interrupted turn is an `Err`.
    let answer = client.run(".", prompt).await?;
    println!("{}", answer.text());

    // An orderly stop: codex gets the chance to exit on its own.
    client.shutdown().await?;
    Ok(())
}
