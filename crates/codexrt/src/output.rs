//! Structured output: an output schema is checked as a JSON Schema before
//! anything is sent with it, and a final answer is read as JSON into a
//! Rust type.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ClientError, PromptRunResult};

#[cfg(feature = "schemars")]
mod typed;

#[cfg(feature = "schemars")]
pub use typed::output_schema_for;

/// The most of the validator's description kept in
/// [`ClientError::InvalidOutputSchema`]: enough for the keyword, where it
/// is and what is wrong, short enough for a log line.
#[cfg(feature = "schema-check")]
const MAX_PROBLEM: usize = 300;

/// The most of a final answer an [`OutputError`] shows in its message; the
/// whole answer is in [`OutputError::text`].
const MAX_SHOWN: usize = 300;

/// Checks the output schema of a run, session or ask, if there is one.
///
/// # Errors
/// [`ClientError::InvalidOutputSchema`] naming what is wrong.
pub(crate) fn check(schema: Option<&Value>) -> Result<(), ClientError> {
    match schema.and_then(problem) {
        None => Ok(()),
        Some(problem) => Err(ClientError::InvalidOutputSchema { problem }),
    }
}

/// What is wrong with `schema` as a JSON Schema, if anything: it must
/// follow its draft's meta-schema (2020-12 unless its `$schema` names
/// another) and compile, which takes every `$ref` resolving inside the
/// schema and every `pattern` being a regular expression.
///
/// Offline: a `$ref` to another document is an error, never a request.
/// Building `jsonschema` without its HTTP and file features is not enough
/// for that, since another crate of the program may turn them on.
#[cfg(feature = "schema-check")]
fn problem(schema: &Value) -> Option<String> {
    let error = jsonschema::options().offline().build(schema).err()?;
    let at = error.instance_path().to_string();
    let text = if at.is_empty() {
        error.to_string()
    } else {
        format!("at {at}: {error}")
    };
    Some(codexrt_transport::redact::bounded(&text, MAX_PROBLEM))
}

/// Without the `schema-check` feature a schema is sent as it is.
#[cfg(not(feature = "schema-check"))]
fn problem(_schema: &Value) -> Option<String> {
    None
}

/// A final answer that is not the JSON value expected: not JSON at all, or
/// JSON of another shape. The turn itself completed.
#[derive(Debug, thiserror::Error)]
#[error(
    "the answer of turn {turn_id} of thread {thread_id} is not the JSON expected: {}",
    shown(text)
)]
#[non_exhaustive]
pub struct OutputError {
    /// The thread the turn ran in.
    pub thread_id: String,
    /// The turn.
    pub turn_id: String,
    /// The final answer, whole ([`PromptRunResult::text`]: empty when the
    /// turn produced no agent message).
    pub text: String,
    /// Why it is not the value expected, with the line and column.
    #[source]
    pub source: serde_json::Error,
}

/// The answer as the message shows it: quoted, secrets redacted, bounded.
fn shown(text: &str) -> String {
    format!("{:?}", codexrt_transport::redact::bounded(text, MAX_SHOWN))
}

impl PromptRunResult {
    /// Reads the final text ([`PromptRunResult::text`]) as JSON into `T`:
    /// the answer of a run or ask with an
    /// [`output_schema`](crate::RunProfile::output_schema) that `T`
    /// deserializes from. An output schema constrains the model, not this
    /// program, so the answer is checked here again, by `T`'s
    /// `Deserialize`.
    ///
    /// ```
    /// # fn read(result: &codexrt::PromptRunResult) -> Result<(), codexrt::OutputError> {
    /// #[derive(serde::Deserialize)]
    /// struct Verdict {
    ///     ok: bool,
    /// }
    ///
    /// let verdict: Verdict = result.parse()?;
    /// # let _ = verdict.ok;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`OutputError`] with the whole answer and serde's error when the
    /// text is not JSON that `T` deserializes from.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, OutputError> {
        serde_json::from_str(self.text()).map_err(|source| OutputError {
            thread_id: self.thread_id.clone(),
            turn_id: self.turn_id.clone(),
            text: self.text().to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests;
