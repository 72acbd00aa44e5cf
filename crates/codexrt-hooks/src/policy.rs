//! Helpers that make codex ask before it runs tools, so PreToolUse hooks
//! see every non-trivial command whatever the user's usual policy is.

use codexrt_protocol::types::{AskForApproval, ThreadStartParams, TurnStartParams};

/// Sets `approvalPolicy: "untrusted"` on a turn: codex then asks the
/// client before every command that is not on its list of known-safe,
/// read-only commands, and before file changes outside the sandbox, so the
/// approval loop's PreToolUse hooks decide them.
///
/// The hooks never change the policy on their own: a turn started with
/// `never` or `on-request` asks less, and whatever codex does not ask about
/// runs without a PreToolUse hook. Call this (or set the field yourself)
/// where that is not what you want. It replaces any policy already set.
pub fn ask_before_commands(params: TurnStartParams) -> TurnStartParams {
    TurnStartParams {
        approval_policy: Some(AskForApproval::Untrusted),
        ..params
    }
}

/// [`ask_before_commands`] for a whole thread: sets
/// `approvalPolicy: "untrusted"` on `thread/start`, the default of every
/// turn that does not set its own.
pub fn ask_before_commands_in_thread(params: ThreadStartParams) -> ThreadStartParams {
    ThreadStartParams {
        approval_policy: Some(AskForApproval::Untrusted),
        ..params
    }
}
