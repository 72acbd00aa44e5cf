//! Tracing: one prompt, with the SDK's spans written to stderr.
//!
//! Installs a `tracing-subscriber` formatter that prints a line as each
//! span closes, so the nesting shows: the connection
//! (`codexrt.connection`), the run's thread (`codexrt.thread`), its turn
//! (`codexrt.turn`), and each call (`codexrt.request`) and server request
//! (`codexrt.server_request`) with how it ended. The answer goes to
//! stdout. `docs/observability.md` lists every span and field.
//!
//! ```text
//! cargo run -p codexrt --example tracing -- "What is in this directory?"
//! ```
// Printing the answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::Client;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Summarize this directory in one sentence.".to_owned());

    // The SDK's spans are at INFO; its warnings too, its details at DEBUG.
    // A closing span's line starts with the spans it is nested in.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(LevelFilter::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .init();

    let client = Client::connect_default().await?;
    let answer = client.run(".", prompt).await?;
    println!("{}", answer.text());
    client.shutdown().await?;
    Ok(())
}
