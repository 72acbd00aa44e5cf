//! Dynamic tools: give the model a function that runs in this process.
//!
//! Declares a `word_length` tool with a JSON schema for its arguments and
//! an async closure that answers it, registers it on a session, and asks a
//! question the model can answer by calling it. Declaring tools uses an
//! experimental field of codex's API, so the client opts in with
//! `enable_experimental_api`. codex is found through `CODEX_BIN`, else
//! `codex` on `PATH`; the session works in the current directory.
//!
//! ```text
//! cargo run -p codexrt --example dynamic_tool
//! ```
// Printing the tool calls and the answer is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::hooks::{HookError, HookSet, ToolEntry, ToolOutput, tool_fn};
use codexrt::serde_json::json;
use codexrt::{Client, ClientConfig, SessionConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The tool's body: arguments in, text out. An error here reaches the
    // model only as a neutral "tool failed".
    let word_length = tool_fn(|call| async move {
        let word = call.arguments["word"]
            .as_str()
            .ok_or_else(|| HookError::failed("`word` must be a string"))?;
        let length = word.chars().count();
        println!("tool call: word_length({word:?}) = {length}");
        Ok(ToolOutput::text(format!("{word} has {length} letters")))
    });
    // What the model is told about the tool.
    let schema = json!({
        "type": "object",
        "properties": {"word": {"type": "string", "description": "the word to measure"}},
        "required": ["word"],
    });
    let tools = HookSet::new().tool(ToolEntry::new(
        "word_length",
        "Counts the letters of a word",
        schema,
        word_length,
    ));

    let config = ClientConfig::new().enable_experimental_api();
    let client = Client::connect(config).await?;
    let session = client
        .start_session(SessionConfig::new(".").hooks(tools))
        .await?;
    let answer = session
        .ask("How many letters does the word 'strawberry' have? Use the word_length tool.")
        .await?;
    println!("answer: {}", answer.text());

    session.close().await?;
    client.shutdown().await?;
    Ok(())
}
