//! Golden transcripts under `tests/fixtures/<version>/<scenario>.jsonl`:
//! recording them from live codex, and checking that every line decodes
//! with the typed protocol.

use std::collections::HashMap;
use std::path::PathBuf;

use codexrt_protocol::types::{
    CommandExecutionRequestApprovalParams, InitializeParams, ThreadStartParams,
    TurnInterruptParams, TurnStartParams,
};
use codexrt_protocol::{ClientRequest, ServerRequestParams, methods};
use codexrt_testkit::{
    Direction, Golden, GoldenMode, KeyPattern, Line, Normalizer, Rule, TestkitError, Transcript,
    ValuePattern,
};
use semver::Version;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::events::{decode_notification, decode_request};
use super::{Scenario, ScenarioError, Target};

/// `tests/fixtures/` of this package.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The golden transcript of `scenario` recorded from codex `version`.
pub fn fixture_path(version: &str, scenario: Scenario) -> PathBuf {
    fixtures_dir()
        .join(version)
        .join(format!("{}.jsonl", scenario.name()))
}

/// The normalizer of the fixtures: the testkit's default rules (timestamps,
/// durations, generated ids, `cwd`, `codexHome`) and what else differs from
/// run to run or machine to machine:
///
/// - `path` of a thread: its rollout file, named after the date, the time
///   and the thread id;
/// - `serverName`: the host name, in `remoteControl/status/changed`;
/// - `aggregatedOutput` of a command: what the host's login shell prints
///   besides the command's own (silent) output;
/// - `processId` of a command: the process id it ran as.
///
/// A live run adds its own temporary folders (see
/// [`Finished`](super::Finished)).
pub fn fixture_normalizer() -> Normalizer {
    Normalizer::default()
        .rule(Rule::new("path", KeyPattern::exact("path"), ValuePattern::String).within(["thread"]))
        .rule(Rule::new(
            "host",
            KeyPattern::exact("serverName"),
            ValuePattern::String,
        ))
        .rule(Rule::new(
            "pid",
            KeyPattern::exact("processId"),
            ValuePattern::String,
        ))
        .rule(Rule::new(
            "output",
            KeyPattern::exact("aggregatedOutput"),
            ValuePattern::String,
        ))
}

/// `transcript` with each client line moved as late as it can go: past the
/// server's notifications, up to the next server line that carries an id (a
/// response, which may answer it, or a server request). Client lines keep
/// their order among themselves.
///
/// What codex sends, and in which order, is (nearly always) the same from
/// run to run; where the client's lines fall between codex's notifications
/// is not (whether `thread/started` is read before the client sends
/// `turn/start` is a race).
/// Moving client lines later keeps a transcript replayable: the replay then
/// sends the client every notification it waited for, and more, before it
/// expects the client's line.
pub fn canonical_order(transcript: &Transcript) -> Transcript {
    let mut lines: Vec<Line> = Vec::with_capacity(transcript.len());
    let mut held: Vec<Line> = Vec::new();
    for line in transcript {
        match line.dir {
            Direction::Out => held.push(line.clone()),
            Direction::In => {
                if line.id().is_some() {
                    lines.append(&mut held);
                }
                lines.push(line.clone());
            }
        }
    }
    lines.append(&mut held);
    Transcript::from_lines(lines)
}

/// What recording a fixture did to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureOutcome {
    /// The recording matched the file, which was left alone.
    Unchanged,
    /// The recording differed (or there was no file) and was written.
    Rewritten,
}

/// Runs `scenario` live against codex `version` with recording on, then
/// compares the normalized recording with its fixture file and rewrites the
/// file if it differs ([`GoldenMode::Update`]).
///
/// # Errors
/// The scenario's failure (nothing is written then), or
/// [`ScenarioError::Setup`] when the file cannot be read or written.
pub async fn record_fixture(
    version: &str,
    scenario: Scenario,
) -> Result<FixtureOutcome, ScenarioError> {
    let target = Target::Recording {
        version: version.to_owned(),
    };
    let finished = scenario.run(target).await?;
    let transcript = finished
        .transcript
        .ok_or_else(|| ScenarioError::unexpected("a recording", "none"))?;
    let golden = Golden::new(fixture_path(version, scenario))
        .normalizer(finished.normalizer)
        .mode(GoldenMode::Update);
    match golden.verify(&canonical_order(&transcript)) {
        Ok(()) => Ok(FixtureOutcome::Unchanged),
        Err(TestkitError::GoldenUpdated { .. }) => Ok(FixtureOutcome::Rewritten),
        Err(err) => Err(ScenarioError::Setup(err)),
    }
}

/// Checks that every line of a transcript recorded from codex `version`
/// decodes with the typed protocol: the client's requests as their params
/// type, the responses as the response type of their request's method,
/// notifications and server requests through `decode` without drift (see
/// [`decode_notification`]), and the client's answers to server requests as
/// their response type.
///
/// # Errors
/// The first line that does not, as [`ScenarioError::Unexpected`] naming
/// the line, or the drift error.
pub fn check_transcript_decodes(
    version: &str,
    transcript: &Transcript,
) -> Result<(), ScenarioError> {
    let version: Version = version
        .parse()
        .map_err(|_| ScenarioError::unexpected("a semver codex version", version))?;
    // Request ids (as JSON text) to methods, per side that sent them.
    let mut client_requests: HashMap<String, String> = HashMap::new();
    let mut server_requests: HashMap<String, String> = HashMap::new();
    for (index, line) in transcript.iter().enumerate() {
        let number = index + 1;
        check_line(&version, line, &mut client_requests, &mut server_requests).map_err(|err| {
            ScenarioError::unexpected(format!("line {number} to decode"), err.to_string())
        })?;
    }
    Ok(())
}

fn check_line(
    version: &Version,
    line: &Line,
    client_requests: &mut HashMap<String, String>,
    server_requests: &mut HashMap<String, String>,
) -> Result<(), ScenarioError> {
    let Some(msg) = line.msg() else {
        return Err(ScenarioError::unexpected(
            "a JSON message",
            line.to_json_line(),
        ));
    };
    let id = line.id().map(Value::to_string);
    match (line.dir, line.method(), id) {
        (Direction::Out, Some(method), Some(id)) => {
            decode_client_request(line, method)?;
            client_requests.insert(id, method.to_owned());
        }
        (Direction::Out, Some(method), None) => {
            if !methods::ALL_CLIENT_NOTIFICATIONS.contains(&method) {
                return Err(ScenarioError::unexpected("a client notification", method));
            }
        }
        (Direction::Out, None, Some(id)) => {
            let method = server_requests
                .get(&id)
                .ok_or_else(|| ScenarioError::unexpected("an answer to a server request", &id))?;
            decode_client_answer(line, method)?;
        }
        (Direction::In, Some(method), id) => {
            let params = msg
                .get("params")
                .map(serde_json::value::to_raw_value)
                .transpose()
                .map_err(|err| ScenarioError::unexpected("params to copy", err.to_string()))?;
            match id {
                Some(id) => {
                    decode_request(version, method, params.as_deref())?;
                    server_requests.insert(id, method.to_owned());
                }
                None => {
                    decode_notification(version, method, params.as_deref())?;
                }
            }
        }
        (Direction::In, None, Some(id)) => {
            let method = client_requests
                .get(&id)
                .ok_or_else(|| ScenarioError::unexpected("a response to a client request", &id))?;
            if msg.get("error").is_none() {
                decode_response(line, method)?;
            }
        }
        _ => return Err(ScenarioError::unexpected("a JSON-RPC message", msg)),
    }
    Ok(())
}

/// Calls `$check::<P>()` for the `P` among the listed params types whose
/// method is `$method`, or fails naming the method: the list holds every
/// client request the scenarios send.
macro_rules! by_client_request {
    ($method:expr, $check:ident, $line:expr, [$($params:ty),* $(,)?]) => {
        match $method {
            $(method if method == <$params as ClientRequest>::METHOD => $check::<$params>($line),)*
            other => Err(ScenarioError::unexpected(
                "a client request the fixture check knows (add its params type)",
                other,
            )),
        }
    };
}

fn decode_client_request(line: &Line, method: &str) -> Result<(), ScenarioError> {
    fn params<P: ClientRequest + DeserializeOwned>(line: &Line) -> Result<(), ScenarioError> {
        decoded(P::METHOD, line.decode_params::<P>())
    }
    by_client_request!(
        method,
        params,
        line,
        [
            InitializeParams,
            ThreadStartParams,
            TurnStartParams,
            TurnInterruptParams
        ]
    )
}

fn decode_response(line: &Line, method: &str) -> Result<(), ScenarioError> {
    fn response<P: ClientRequest>(line: &Line) -> Result<(), ScenarioError> {
        decoded(P::METHOD, line.decode_result::<P::Response>())
    }
    by_client_request!(
        method,
        response,
        line,
        [
            InitializeParams,
            ThreadStartParams,
            TurnStartParams,
            TurnInterruptParams
        ]
    )
}

fn decode_client_answer(line: &Line, method: &str) -> Result<(), ScenarioError> {
    fn answer<P: ServerRequestParams>(line: &Line) -> Result<(), ScenarioError> {
        decoded(P::METHOD, line.decode_result::<P::Response>())
    }
    match method {
        method if method == CommandExecutionRequestApprovalParams::METHOD => {
            answer::<CommandExecutionRequestApprovalParams>(line)
        }
        other => Err(ScenarioError::unexpected(
            "a server request the fixture check knows (add its params type)",
            other,
        )),
    }
}

fn decoded<T>(method: &str, result: Result<T, serde_json::Error>) -> Result<(), ScenarioError> {
    result.map(drop).map_err(|err| {
        ScenarioError::unexpected(format!("`{method}` to decode as its type"), err.to_string())
    })
}
