//! Structured output: an answer in JSON that fits a schema, read into a
//! Rust struct.
//!
//! `RunProfile::output_schema` asks the model to answer with JSON matching
//! a JSON Schema; the final text is then parsed with serde into `Project`
//! (the one example that needs a dependency besides `codexrt` and `tokio`:
//! `serde` with its `derive` feature).
//! codex is found through `CODEX_BIN`, else `codex` on `PATH`; the run
//! works in the current directory.
//!
//! ```text
//! cargo run -p codexrt --example structured_output
//! ```
// Printing the parsed answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::serde_json::{self, json};
use codexrt::{Client, RunProfile};
use serde::Deserialize;

/// The shape of the answer; the schema below describes the same fields.
#[derive(Debug, Deserialize)]
struct Project {
    name: String,
    languages: Vec<String>,
    has_tests: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Strict schemas (every property required, nothing else allowed) are
    // what OpenAI models follow most reliably.
    let schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "languages": {"type": "array", "items": {"type": "string"}},
            "has_tests": {"type": "boolean"},
        },
        "required": ["name", "languages", "has_tests"],
        "additionalProperties": false,
    });

    let client = Client::connect_default().await?;
    let profile = RunProfile::new().output_schema(schema);
    let result = client
        .run_with_profile(
            ".",
            "Look at this directory: what is the project called, which \
             programming languages does it use, and does it have tests?",
            profile,
        )
        .await?;
    client.shutdown().await?;

    // The schema constrains the model, not this program: parsing can still
    // fail, and that is an error like any other.
    let project: Project = serde_json::from_str(result.text())?;
    println!("name: {}", project.name);
    println!("languages: {}", project.languages.join(", "));
    println!("has tests: {}", project.has_tests);
    Ok(())
}
