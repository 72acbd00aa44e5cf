//! Pools: prompts spread over several `codex app-server`s.
//!
//! Starts two app-servers behind one `Pool`, runs three questions side by
//! side (each on the least loaded server), then holds a conversation in a
//! session, which stays on its server, closes it and resumes its thread by
//! id on the server that stored it. Last, the pool's figures. Both servers
//! inherit the environment, so they share `CODEX_HOME`; give each a home
//! of its own with `PoolEndpoint::with_home`. codex is found through
//! `CODEX_BIN`, else `codex` on `PATH`; the work happens in the current
//! directory.
//!
//! ```text
//! cargo run -p codexrt --example pool
//! ```
// Printing the answers is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::{ClientConfig, Pool, PoolConfig, PoolEndpoint, SessionConfig};
use tokio::task::JoinSet;

const QUESTIONS: [&str; 3] = [
    "Name a prime number between 10 and 20. Answer with the number only.",
    "Name a colour of the rainbow. Answer with one word.",
    "Name a planet of the solar system. Answer with one word.",
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = PoolConfig::new([
        PoolEndpoint::new("left", ClientConfig::new()),
        PoolEndpoint::new("right", ClientConfig::new()),
    ])
    .max_sessions_per_endpoint(4);
    let pool = Pool::connect(config).await?;

    // Each run takes a place on the least loaded server until it returns.
    let mut runs = JoinSet::new();
    for (index, question) in QUESTIONS.into_iter().enumerate() {
        let pool = pool.clone();
        runs.spawn(async move { (index, pool.run(".", question).await) });
    }
    let mut answers = vec![String::new(); QUESTIONS.len()];
    while let Some(joined) = runs.join_next().await {
        let (index, answer) = joined?;
        answers[index] = answer?.text().to_owned();
    }
    for (question, answer) in QUESTIONS.iter().zip(&answers) {
        println!("{question}\n  -> {answer}");
    }

    // A session lives on one server; its thread is stored in that
    // server's `CODEX_HOME`.
    let session = pool.start_session(SessionConfig::new(".")).await?;
    let first = session
        .ask("Pick a name for a pet turtle. Answer with the name only.")
        .await?;
    println!("session: {}", first.text());
    let (thread_id, home) = (
        session.thread_id().to_owned(),
        session.endpoint().to_owned(),
    );
    session.close().await?;

    // The thread lives where it was stored: resume it there.
    let resumed = pool
        .resume_session(&home, &thread_id, SessionConfig::new("."))
        .await?;
    let again = resumed
        .ask("What was the name again? Answer with the name only.")
        .await?;
    println!("resumed: {}", again.text());
    drop(resumed);

    let stats = pool.stats();
    let turns: u64 = stats.endpoints.iter().map(|endpoint| endpoint.turns).sum();
    let failures: u64 = stats
        .endpoints
        .iter()
        .map(|endpoint| endpoint.failures)
        .sum();
    println!(
        "{} servers, {turns} turns, {failures} failures",
        stats.endpoints.len()
    );
    pool.shutdown().await?;
    Ok(())
}
