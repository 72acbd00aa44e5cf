//! Sessions: a conversation over several turns, closed and picked up again.
//!
//! Asks two questions in one session (the second can refer to the first),
//! closes it, then resumes the same thread by its id with
//! `Client::resume_session` and asks a third. codex is found through
//! `CODEX_BIN`, else `codex` on `PATH`; the session works in the current
//! directory.
//!
//! ```text
//! cargo run -p codexrt --example session
//! ```
// Printing the conversation is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::{Client, SessionConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect_default().await?;

    let session = client.start_session(SessionConfig::new(".")).await?;
    // The thread id is all it takes to come back to this conversation, in
    // this process or a later one: codex stores the thread.
    let thread_id = session.thread_id().to_owned();
    println!("thread: {thread_id}");

    let first = session
        .ask("Pick a name for a pet turtle. Answer with the name only.")
        .await?;
    println!("1: {}", first.text());
    let second = session.ask("Why did you pick that name?").await?;
    println!("2: {}", second.text());

    // Closing unsubscribes from the thread; it stays stored.
    session.close().await?;

    let resumed = client
        .resume_session(&thread_id, SessionConfig::new("."))
        .await?;
    let third = resumed
        .ask("What was the name again? Answer with the name only.")
        .await?;
    println!("3 (resumed): {}", third.text());

    resumed.close().await?;
    client.shutdown().await?;
    Ok(())
}
