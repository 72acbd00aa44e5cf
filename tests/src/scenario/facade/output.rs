//! Typed structured output against the real codex: the schema of a Rust
//! type reaches the model as codex's strict JSON Schema text format, and
//! the answer comes back as a value of that type, or as a typed error that
//! keeps it.

use codexrt::{PromptRunError, SessionConfig, output_schema_for};
use codexrt_testkit::{ModelRequest, Reply, Script};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{FacadeError, Harness};
use crate::scenario::{ScenarioError, check_eq};

/// A code review, the answer the scenarios ask for: an enum, a nested
/// struct in a list, a number and an optional field.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Review {
    verdict: Verdict,
    score: u8,
    findings: Vec<Finding>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Approve,
    RequestChanges,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Finding {
    file: String,
    line: u32,
}

/// The text format codex sent to the model: `Review`'s schema, strict.
fn check_format(what: &str, request: &ModelRequest) -> Result<(), FacadeError> {
    let expected = json!({
        "type": "json_schema",
        "name": "codex_output_schema",
        "strict": true,
        "schema": output_schema_for::<Review>(),
    });
    check_eq(what, &request.body["text"]["format"], &expected)?;
    Ok(())
}

/// `Client::run_json::<Review>` and `Session::ask_json::<Review>`: the
/// model receives `Review`'s schema, and the answers parse into the exact
/// values it wrote.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn output_type_round_trip(version: &str) -> Result<(), FacadeError> {
    let first = json!({
        "verdict": "request_changes",
        "score": 3,
        "findings": [{"file": "src/lib.rs", "line": 12}, {"file": "README.md", "line": 1}],
        "note": "two problems",
    });
    let second = json!({"verdict": "approve", "score": 9, "findings": [], "note": null});
    let script = Script::replies([
        Reply::message(first.to_string()),
        Reply::message(second.to_string()),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;
    let review: Review = client.run_json(harness.workspace(), "review it").await?;
    let expected = Review {
        verdict: Verdict::RequestChanges,
        score: 3,
        findings: vec![
            Finding {
                file: "src/lib.rs".to_owned(),
                line: 12,
            },
            Finding {
                file: "README.md".to_owned(),
                line: 1,
            },
        ],
        note: Some("two problems".to_owned()),
    };
    check_eq("the run's review", &review, &expected)?;
    let session = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let review: Review = session.ask_json("review it again").await?;
    let expected = Review {
        verdict: Verdict::Approve,
        score: 9,
        findings: Vec::new(),
        note: None,
    };
    check_eq("the ask's review", &review, &expected)?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 2)?;
    check_format("the run's text format", &requests[0])?;
    check_format("the ask's text format", &requests[1])?;
    harness.finish(client).await
}

/// An answer that is not a `Review` is [`PromptRunError::InvalidOutput`]
/// with the whole answer and serde's error.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn output_type_mismatch(version: &str) -> Result<(), FacadeError> {
    let answer = "{\"verdict\":\"maybe\",\"score\":5,\"findings\":[],\"note\":null}";
    let harness = Harness::start(version, Script::replies([Reply::message(answer)])).await?;
    let client = harness.connect().await?;
    let outcome = client
        .run_json::<Review>(harness.workspace(), "review it")
        .await;
    let Err(PromptRunError::InvalidOutput(error)) = outcome else {
        return Err(ScenarioError::unexpected("`PromptRunError::InvalidOutput`", outcome).into());
    };
    check_eq("the kept answer", error.text.as_str(), answer)?;
    check_eq(
        "serde's error",
        error.source.to_string(),
        "unknown variant `maybe`, expected `approve` or `request_changes` at line 1 column 18"
            .to_owned(),
    )?;
    let requests = harness.model().requests();
    check_eq("the model requests", requests.len(), 1)?;
    check_format("the text format", &requests[0])?;
    harness.finish(client).await
}
