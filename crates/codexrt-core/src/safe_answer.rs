//! The fail-closed answer to each kind of server request: what the runtime
//! sends when nobody answered in time, the request was dropped, the runtime
//! shuts down, or nobody took the stream of server requests.

use codexrt_protocol::methods;
use codexrt_protocol::types::{
    ApplyPatchApprovalResponse, CommandExecutionApprovalDecision,
    CommandExecutionRequestApprovalResponse, DynamicToolCallResponse, ExecCommandApprovalResponse,
    FileChangeApprovalDecision, FileChangeRequestApprovalResponse, McpServerElicitationAction,
    McpServerElicitationRequestResponse, PermissionsRequestApprovalResponse, ReviewDecision,
    ToolRequestUserInputResponse,
};
use codexrt_rpc::{ErrorObject, Responder};
use serde::Serialize;
use serde_json::Value;

/// The rejection text of a denied legacy approval; codex shows it to the
/// model as the reason.
pub(crate) const LEGACY_REJECTION: &str = "declined by the client: no answer was given";

/// The message of the error answer to kinds that have no safe result.
pub(crate) const NO_HANDLER_MESSAGE: &str = "the client has no handler for this request";

/// A safe answer, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SafeAnswer {
    /// A result of the request's own response type.
    Result(Value),
    /// A JSON-RPC error, for kinds whose every result would grant something
    /// (credentials, attestations) or that are unknown.
    Error(ErrorObject),
}

impl SafeAnswer {
    /// The safe answer to a request of `method`. Keyed by method rather than
    /// by decoded params, so that a request whose params do not decode is
    /// still refused in its own kind's terms.
    pub(crate) fn for_method(method: &str) -> SafeAnswer {
        match method {
            methods::ITEM_COMMAND_EXECUTION_REQUEST_APPROVAL => {
                result(CommandExecutionRequestApprovalResponse {
                    decision: CommandExecutionApprovalDecision::Decline,
                })
            }
            methods::ITEM_FILE_CHANGE_REQUEST_APPROVAL => {
                result(FileChangeRequestApprovalResponse {
                    decision: FileChangeApprovalDecision::Decline,
                })
            }
            methods::ITEM_PERMISSIONS_REQUEST_APPROVAL => {
                result(PermissionsRequestApprovalResponse::default())
            }
            methods::ITEM_TOOL_CALL => result(DynamicToolCallResponse {
                content_items: Vec::new(),
                success: false,
            }),
            methods::ITEM_TOOL_REQUEST_USER_INPUT => {
                result(ToolRequestUserInputResponse::default())
            }
            methods::MCP_SERVER_ELICITATION_REQUEST => {
                result(McpServerElicitationRequestResponse {
                    meta: None,
                    action: McpServerElicitationAction::Decline,
                    content: None,
                })
            }
            methods::EXEC_COMMAND_APPROVAL => result(ExecCommandApprovalResponse {
                decision: legacy_denial(),
            }),
            methods::APPLY_PATCH_APPROVAL => result(ApplyPatchApprovalResponse {
                decision: legacy_denial(),
            }),
            methods::ACCOUNT_CHATGPT_AUTH_TOKENS_REFRESH | methods::ATTESTATION_GENERATE => {
                SafeAnswer::Error(ErrorObject::new(
                    ErrorObject::INTERNAL_ERROR,
                    NO_HANDLER_MESSAGE,
                ))
            }
            _ => SafeAnswer::Error(ErrorObject::new(
                ErrorObject::METHOD_NOT_FOUND,
                format!("unknown server request `{method}`"),
            )),
        }
    }

    /// Sends this answer through `responder`.
    pub(crate) fn send(&self, responder: Responder) {
        match self {
            // A `Value` always serializes, so the encode error `respond`
            // could return cannot happen here.
            SafeAnswer::Result(value) => {
                let _ = responder.respond(value);
            }
            SafeAnswer::Error(error) => responder.respond_error(error.clone()),
        }
    }
}

fn legacy_denial() -> ReviewDecision {
    ReviewDecision::Denied {
        rejection: LEGACY_REJECTION.to_owned(),
    }
}

fn result(response: impl Serialize) -> SafeAnswer {
    match serde_json::to_value(response) {
        Ok(value) => SafeAnswer::Result(value),
        // The response types are plain data that always serialize; should
        // one ever fail, refusing with an error is still fail-closed.
        Err(_) => SafeAnswer::Error(ErrorObject::new(
            ErrorObject::INTERNAL_ERROR,
            NO_HANDLER_MESSAGE,
        )),
    }
}

#[cfg(test)]
mod tests;
