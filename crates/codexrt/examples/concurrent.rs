//! Concurrency: several sessions at once on one client.
//!
//! One `codex app-server` serves many threads. Each question gets a session
//! of its own in a task of a `JoinSet`; the turns run side by side, and
//! the answers are printed in the order the questions were asked. codex is
//! found through `CODEX_BIN`, else `codex` on `PATH`; the sessions work in
//! the current directory.
//!
//! ```text
//! cargo run -p codexrt --example concurrent
//! ```
// Printing the answers is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::{Client, PromptRunError, SessionConfig};
use tokio::task::JoinSet;

const QUESTIONS: [&str; 3] = [
    "Name a prime number between 10 and 20. Answer with the number only.",
    "Name a colour of the rainbow. Answer with one word.",
    "Name a planet of the solar system. Answer with one word.",
];

/// One question in a session of its own.
async fn ask(client: Client, question: &str) -> Result<String, PromptRunError> {
    let session = client.start_session(SessionConfig::new(".")).await?;
    let answer = session.ask(question).await?;
    session.close().await?;
    Ok(answer.text().to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect_default().await?;

    let mut tasks = JoinSet::new();
    for (index, question) in QUESTIONS.into_iter().enumerate() {
        // Clones are cheap handles to the same connection.
        let client = client.clone();
        tasks.spawn(async move { (index, ask(client, question).await) });
    }

    // Tasks finish in any order; keep each answer in its question's place.
    let mut answers = vec![String::new(); QUESTIONS.len()];
    while let Some(joined) = tasks.join_next().await {
        let (index, answer) = joined?;
        answers[index] = answer?;
    }
    for (question, answer) in QUESTIONS.iter().zip(&answers) {
        println!("{question}\n  -> {answer}");
    }

    client.shutdown().await?;
    Ok(())
}
