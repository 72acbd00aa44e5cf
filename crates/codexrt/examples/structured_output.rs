//! Structured output: an answer in JSON that fits a Rust type.
//!
//! `Client::run_json::<Project>` sends the JSON Schema of `Project`
//! (derived with schemars, every field required and nothing else allowed,
//! as OpenAI's strict structured outputs want) as the run's output schema,
//! and reads the final answer into a `Project`. It needs the `schemars`
//! feature of codexrt, and `serde` and `schemars` for the derives.
//! codex is found through `CODEX_BIN`, else `codex` on `PATH`; the run
//! works in the current directory.
//!
//! ```text
//! cargo run -p codexrt --features schemars --example structured_output
//! ```
// Printing the parsed answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::Client;
use schemars::JsonSchema;
use serde::Deserialize;

/// The shape of the answer, and of the schema the model is given.
#[derive(Debug, Deserialize, JsonSchema)]
struct Project {
    /// What the project is called.
    name: String,
    /// The programming languages it uses.
    languages: Vec<String>,
    /// Whether it has tests.
    has_tests: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect_default().await?;
    // The schema constrains the model, not this program: an answer that is
    // not a `Project` is `PromptRunError::InvalidOutput`, with the answer.
    let project: Project = client
        .run_json(
            ".",
            "Look at this directory: what is the project called, which \
             programming languages does it use, and does it have tests?",
        )
        .await?;
    client.shutdown().await?;

    println!("name: {}", project.name);
    println!("languages: {}", project.languages.join(", "));
    println!("has tests: {}", project.has_tests);
    Ok(())
}
