//! What codex sends unasked, decoded with the typed protocol, and the drift
//! check every message goes through.

use codexrt_protocol::types::{
    CodexErrorInfo, ThreadItemKind, TurnCompletedNotification, TurnStatus,
};
use codexrt_protocol::{
    Api, Availability, MethodKind, ServerNotification, ServerRequest, method_availability, methods,
};
use semver::Version;
use serde_json::value::RawValue;

use super::ScenarioError;

/// One message codex sent unasked, decoded.
// Boxing the notifications would cost an allocation per message to save a
// copy, as in the generated enums themselves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// A notification.
    Notification(ServerNotification),
    /// A server request, already answered.
    Request(ServerRequest),
}

impl Event {
    /// The wire method name.
    pub fn method(&self) -> &str {
        match self {
            Event::Notification(notification) => notification.method(),
            Event::Request(request) => request.method(),
        }
    }
}

/// Decodes a notification of a server of `version`, failing on drift: a
/// method the typed protocol does not know, a known method that still
/// decodes as `Unknown`, a method the method table says this version does
/// not have, or params that do not fit their type.
///
/// # Errors
/// [`ScenarioError::Decode`] or [`ScenarioError::Drift`].
pub fn decode_notification(
    version: &Version,
    method: &str,
    params: Option<&RawValue>,
) -> Result<ServerNotification, ScenarioError> {
    let decoded = ServerNotification::decode(method, params).map_err(ScenarioError::Decode)?;
    let unknown = matches!(decoded, ServerNotification::Unknown { .. });
    check_method(
        version,
        MethodKind::ServerNotification,
        methods::ALL_SERVER_NOTIFICATIONS,
        method,
        unknown,
    )?;
    Ok(decoded)
}

/// [`decode_notification`] for server requests.
///
/// # Errors
/// [`ScenarioError::Decode`] or [`ScenarioError::Drift`].
pub fn decode_request(
    version: &Version,
    method: &str,
    params: Option<&RawValue>,
) -> Result<ServerRequest, ScenarioError> {
    let decoded = ServerRequest::decode(method, params).map_err(ScenarioError::Decode)?;
    let unknown = matches!(decoded, ServerRequest::Unknown { .. });
    check_method(
        version,
        MethodKind::ServerRequest,
        methods::ALL_SERVER_REQUESTS,
        method,
        unknown,
    )?;
    Ok(decoded)
}

fn check_method(
    version: &Version,
    kind: MethodKind,
    known: &[&str],
    method: &str,
    decoded_as_unknown: bool,
) -> Result<(), ScenarioError> {
    let kind_name = match kind {
        MethodKind::ServerRequest => "request",
        _ => "notification",
    };
    let drift = |why| ScenarioError::Drift {
        version: version.to_string(),
        kind: kind_name,
        method: method.to_owned(),
        why,
    };
    if !known.contains(&method) {
        return Err(drift("which the typed protocol does not know"));
    }
    if decoded_as_unknown {
        return Err(drift("which is known but decoded as `Unknown`"));
    }
    // The experimental API is a superset of the stable one, so this only
    // says whether the version has the method at all.
    match method_availability(kind, method, version, Api::Experimental) {
        Availability::Available => Ok(()),
        _ => Err(drift(
            "which the method table says this version does not have",
        )),
    }
}

/// The `item/agentMessage/delta` texts, in order.
pub fn agent_message_deltas(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Notification(ServerNotification::ItemAgentMessageDelta(delta)) => {
                Some(delta.delta.as_str())
            }
            _ => None,
        })
        .collect()
}

/// The texts of the agent messages of `item/completed`, in order.
pub fn completed_agent_messages(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Notification(ServerNotification::ItemCompleted(completed)) => {
                match &completed.item.kind {
                    ThreadItemKind::AgentMessage { text, .. } => Some(text.as_str()),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

/// The `codexErrorInfo` and `willRetry` of every `error` notification.
pub fn errors(events: &[Event]) -> Vec<(Option<&CodexErrorInfo>, bool)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Notification(ServerNotification::Error(error)) => {
                Some((error.error.codex_error_info.as_ref(), error.will_retry))
            }
            _ => None,
        })
        .collect()
}

/// The methods of the server requests, in order.
pub fn requests(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter(|event| matches!(event, Event::Request(_)))
        .map(Event::method)
        .collect()
}

/// The status of the one `turn/completed` among `events`.
///
/// # Errors
/// [`ScenarioError::Unexpected`] unless there is exactly one.
pub fn turn_status(events: &[Event]) -> Result<&TurnStatus, ScenarioError> {
    let completed: Vec<&TurnCompletedNotification> = events
        .iter()
        .filter_map(|event| match event {
            Event::Notification(ServerNotification::TurnCompleted(done)) => Some(done),
            _ => None,
        })
        .collect();
    match completed.as_slice() {
        [done] => Ok(&done.turn.status),
        other => Err(ScenarioError::unexpected(
            "exactly one `turn/completed`",
            other,
        )),
    }
}
