//! Streams: two sessions answering at once, read side by side.
//!
//! `codexrt::AskStream` is a `futures::Stream`, so the stream adapters of
//! `futures` (here `futures-util`'s `StreamExt`) and `tokio::select!` work
//! on it directly. Two sessions are asked at once; their pieces of text
//! arrive interleaved and are gathered per session. A last ask is read with
//! `StreamExt::collect`. Besides `codexrt` and `tokio` it needs
//! `futures-util` (or `futures`) for `StreamExt`. codex is found through
//! `CODEX_BIN`, else `codex` on `PATH`; the sessions work in the current
//! directory.
//!
//! ```text
//! cargo run -p codexrt --example streams
//! ```
// Printing the answers is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::{AskStream, Client, PromptRunError, SessionConfig, SessionEvent};
use futures_util::StreamExt;

/// One session's answer as its events come in.
#[derive(Default)]
struct Answer {
    text: String,
    done: bool,
}

impl Answer {
    /// Takes one event of the session's stream; `None` is its end.
    fn take(&mut self, event: Option<SessionEvent>) -> Result<(), PromptRunError> {
        match event {
            Some(SessionEvent::TextDelta { delta, .. }) => {
                self.text.push_str(&delta);
            }
            // The outcome: an error if the turn did not complete.
            Some(SessionEvent::Finished(outcome)) => {
                outcome?;
            }
            Some(_) => {}
            None => self.done = true,
        }
        Ok(())
    }
}

/// Reads both streams to their end, whichever has an event first.
async fn side_by_side(
    mut left: AskStream,
    mut right: AskStream,
) -> Result<(Answer, Answer), PromptRunError> {
    let (mut a, mut b) = (Answer::default(), Answer::default());
    while !(a.done && b.done) {
        tokio::select! {
            event = StreamExt::next(&mut left), if !a.done => a.take(event)?,
            event = StreamExt::next(&mut right), if !b.done => b.take(event)?,
        }
    }
    Ok((a, b))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect_default().await?;
    let poet = client.start_session(SessionConfig::new(".")).await?;
    let scholar = client.start_session(SessionConfig::new(".")).await?;

    let poem = poet
        .ask_stream("Write one line of poetry about rivers.")
        .await?;
    let fact = scholar
        .ask_stream("State one fact about rivers in one line.")
        .await?;
    let (poem, fact) = side_by_side(poem, fact).await?;
    println!("poet: {}", poem.text);
    println!("scholar: {}", fact.text);

    // `StreamExt::collect` reads a whole ask into a `Vec` of its events.
    let events: Vec<SessionEvent> = poet
        .ask_stream("Give the poem a title of two words.")
        .await?
        .collect()
        .await;
    let mut title = Answer::default();
    for event in events {
        title.take(Some(event))?;
    }
    println!("title: {}", title.text);

    client.shutdown().await?;
    Ok(())
}
