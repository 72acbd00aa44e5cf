//! Policy on top of the codexrt runtime: hooks around runs, sessions and
//! turns, hooks that decide codex's approval requests and answer its
//! questions, built-in policies, an audit log and dynamic tools, all
//! failing closed by construction.
//!
//! The `codexrt` facade runs these for you (`ClientConfig::hooks`,
//! `RunProfile::hooks`, `SessionConfig::hooks`); this crate is also usable
//! on its own on top of a [`Runtime`](codexrt_core::Runtime), as below.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use codexrt_core::{Runtime, RuntimeConfig};
//! use codexrt_hooks::{Decision, HookEntry, HookSet, Matcher, hook_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::spawn(RuntimeConfig::new("my-app", "1.0.0")).await?;
//! let approvals = HookSet::new()
//!     .hook(
//!         HookEntry::new("no-force-push", hook_fn(|_ctx| async {
//!             Ok(Decision::decline("force pushes are not allowed"))
//!         }))
//!         .matcher(Matcher::any().tool("command").command("git push*--force*")),
//!     )
//!     .hook(
//!         HookEntry::new("git", hook_fn(|_ctx| async { Ok(Decision::Accept) }))
//!             .matcher(Matcher::any().tool("command").command("git *"))
//!             .timeout(Duration::from_secs(2)),
//!     )
//!     .serve(&runtime)?;
//! // ... start threads and turns; every other command is declined ...
//! for issue in approvals.report().issues() {
//!     eprintln!("{}: {} ({})", issue.hook, issue.message, issue.kind);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # PreToolUse
//!
//! When codex wants to run a command, change files, widen its permissions
//! or let an MCP server ask the user, it sends the client an approval
//! request. [`HookSet::serve`] takes core's request stream and, for each of
//! those four kinds, builds a [`HookContext`] (phase
//! [`Phase::PreToolUse`], thread, turn, cwd, tool name — [`TOOL_COMMAND`],
//! [`TOOL_FILE_CHANGE`], [`TOOL_PERMISSIONS`] or `mcp:<server>` —, command
//! line, changed paths, the params as JSON, the request id as correlation
//! id, a timestamp) and runs the [`HookSet`]'s chain:
//!
//! - hooks whose [`Matcher`] matches run one after the other, in
//!   registration order, each in a task of its own with its timeout
//!   ([`DEFAULT_HOOK_TIMEOUT`], 10 s, unless set), or, for a hook that
//!   only computes ([`ToolUseHook::runs_in_place`]), in place with its
//!   panic caught and the same timeout;
//! - the first decision other than [`Decision::Defer`] is the answer;
//! - a hook that returns an error, times out or panics stops the chain
//!   with a decline; the failure, with the panic's text, goes to the
//!   [`HookReport`] and the logs, never to the server;
//! - when every hook defers, or none matches, the request gets its safe
//!   answer: decline, or nothing granted.
//!
//! [`combine`] is that rule as a pure function: its result approves only
//! what a hook's own decision approved. Dynamic tool calls, user input and
//! elicitation forms have their own sections below; other server requests
//! (legacy approvals, token refreshes, ...) are dropped, which gives them
//! core's safe answer. Requests are decided off core's router, at most
//! [`DEFAULT_CONCURRENCY`] (8) at once unless [`HookSet::concurrency`] says
//! otherwise. Only a request that some hook (or tool) will run for takes a
//! slot; one that no hook matches is answered at once, whatever the slots
//! are doing. A matched request that finds every slot busy waits for one,
//! in arrival order, without holding up the requests behind it. Core's own
//! deadline per request (60 s by default) still applies: a chain slower
//! than that gets the safe answer.
//!
//! # Codex asks only when its policy says so
//!
//! Hooks decide what codex asks about, and codex asks according to the
//! turn's approval policy: with `never` nothing reaches the hooks, with
//! `on-request` only what the model asks to escalate. Nothing in this
//! crate changes the policy. To route every non-trivial command through the
//! hooks, start turns with [`ask_before_commands`] (or threads with
//! [`ask_before_commands_in_thread`]), which set
//! `approvalPolicy: "untrusted"`. (The `codexrt` facade does that itself
//! for threads that PreToolUse hooks apply to, unless the caller set a
//! policy; see [`HookSet::has_tool_use_hooks`].)
//!
//! # File changes
//!
//! A file-change approval does not carry the paths; the item's
//! `item/started` notification does. The approval loop opens an observer
//! stream of its own on core ([`events_with`](codexrt_core::Runtime::events_with),
//! only `item/started` and `item/completed` unless observers or post-tool
//! hooks need every event) to remember the paths of file changes in
//! flight. If an event was lost to overflow of that stream, the paths are
//! empty and path matchers do not match: fail closed.
//!
//! # After the tool: post-tool hooks and observers
//!
//! From the same event stream, a task of the loop's own runs, in order and
//! off the approval path:
//!
//! - every [`EventObserver`] ([`HookSet::observer`]) for every event,
//!   `Lagged` reports included;
//! - for each `item/completed` of a command execution, file change or MCP
//!   tool call, the [`PostToolHook`]s ([`HookEntry::post_tool_use`]) whose
//!   matcher matches, in phase [`Phase::PostToolUse`], or
//!   [`Phase::PostToolUseFailure`] for a non-zero exit code or a status
//!   other than `completed`; the context's [`ToolResult`] has the status,
//!   exit code and output.
//!
//! Their failures go to the report and change nothing else. Events wait
//! for them in a queue of 1024; beyond that they are dropped and the
//! observers see a `Lagged` report, so a slow observer never holds up an
//! approval. The loop's stream is its own: the user's observers
//! ([`Runtime::events`](codexrt_core::Runtime::events)) and the turns'
//! streams are not affected by it, nor it by them.
//!
//! # Dynamic tools
//!
//! A [`ToolEntry`] ([`HookSet::tool`]) is a function the client offers the
//! model: pass [`HookSet::tool_specs`] as `dynamicTools` to `thread/start`
//! (an experimental field, so the runtime must opt into the experimental
//! API). When the model calls it, codex sends `item/tool/call`; the loop
//! runs the [`DynamicTool`] in a task of its own with its timeout
//! ([`DEFAULT_TOOL_TIMEOUT`], 30 s) and answers with its [`ToolOutput`].
//! An unknown name, an error, a timeout or a panic answers
//! `success: false` with a short neutral text ("tool `x` failed"); the
//! failure's own text goes to the report under [`Phase::DynamicTool`],
//! never to the server.
//!
//! # User input and elicitations
//!
//! When codex asks the user questions (`item/tool/requestUserInput`, in
//! plan mode), the [`UserInputHook`]s ([`HookEntry::user_input`]) whose
//! matcher matches run in order, in phase [`Phase::OnUserInput`] with tool
//! name [`TOOL_USER_INPUT`]; the first that returns answers answers. A
//! failure stops the chain, and then, as when none answers, codex gets no
//! input.
//!
//! When an MCP server asks for a form or a URL visit
//! (`mcpServer/elicitation/request`), the [`ElicitationHook`]s
//! ([`HookEntry::elicitation`]) run first, in phase
//! [`Phase::OnElicitation`]; the first [`ElicitationAnswer`] is the answer
//! and a failure declines. When all of them defer, the PreToolUse chain
//! decides as for any approval.
//!
//! codex also uses this request for its own question before it calls an
//! MCP server's tool (under the `on-request` and `untrusted` policies): a
//! form with no fields whose `_meta.codex_approval_kind` is
//! `mcp_tool_call`. That one is a tool use: only the PreToolUse chain
//! decides it, with tool name `mcp:<server>/<tool>` (or `mcp:<server>`
//! where codex does not name the tool, before 0.169), and declining it
//! makes the tool call fail.
//!
//! # Thread scopes
//!
//! [`ThreadHooks`] gives individual threads hook sets of their own, with
//! the model they run ([`HookSet::serve_scoped`]). For a thread with a
//! scope, the base set's hooks run first and the scope's after them, as
//! one chain under the same rule; a scope's tool of a name comes before
//! the base set's; a scope's observers see only its thread's
//! notifications. Dropping the [`ScopeGuard`] ends the scope.
//!
//! # Lifecycle hooks: before and after runs, sessions and turns
//!
//! A [`LifecycleHook`] ([`HookEntry::lifecycle`], or a closure through
//! [`lifecycle_fn`]) runs in the six lifecycle phases, [`Phase::PreRun`]
//! to [`Phase::PostTurn`], when its matcher matches; lifecycle contexts
//! have an empty tool name, so tool matchers leave them out, and
//! [`Matcher::phase`] picks one phase. Whoever starts the run, session or
//! turn calls the set:
//!
//! - [`HookSet::before`] with a pre-phase context whose
//!   [`plan`](HookContext::plan) ([`Plan`]: prompt, model, effort, cwd,
//!   sandbox, approval policy, output schema, extra context) is what is
//!   about to start. The hooks run in order, each seeing the plan as the
//!   ones before it left it; [`Verdict::Mutate`] replaces it, the first
//!   [`Verdict::Block`] stops everything with a [`Blocked`] error. A hook
//!   that fails (error, timeout, panic) blocks too: nothing starts on a
//!   hook's silence. A session start has no prompt, and a hook may not
//!   invent one.
//! - [`HookSet::after`] with a post-phase context carrying the
//!   [`RunOutcome`]; verdicts are ignored, failures only reported.
//!
//! # Built-in hooks
//!
//! - [`CommandRules`] and [`PathRules`]: allow and deny lists of [`glob`]
//!   patterns for command lines and changed paths; deny wins, anything not
//!   listed is deferred.
//! - [`ShellHook`]: asks an external program, writing the context as JSON
//!   to its stdin and reading the answer from its exit status and stdout
//!   (0 with nothing: no opinion; 0 with `{"decision": ...}`: that
//!   decision; 2: a refusal with stderr as the reason; anything else: a
//!   failure, so the chain fails closed). It works as a PreToolUse,
//!   post-tool and lifecycle hook; its docs give the protocol in full.
//!
//! # Audit log
//!
//! [`HookSet::audit`] with an [`AuditLog`] appends one JSON line per
//! PreToolUse answer (naming the hook that decided), post-tool result,
//! lifecycle verdict and outcome to a file. A thread of the log's own
//! writes the lines from a queue of [`AUDIT_QUEUE`] (1024): a slow disk
//! never delays an approval; lines beyond the queue are counted in
//! [`AuditLog::dropped`]. [`AuditLog::flush`] waits for what was queued.
//!
//! # Boundaries
//!
//! Hooks are policy on top of `codexrt-core`: they see contexts and return
//! decisions, answers or tool outputs, and the runtime sends them, exactly
//! once. They cannot reach the transport or write to the server, and they do
//! not start threads or turns: whoever does (the `codexrt` facade, or your
//! code on a bare runtime) calls [`HookSet::before`] and [`HookSet::after`]
//! and chooses the approval policy. The `codexrt` facade wires all of this up
//! for you; the repository's `docs/hooks.md` is the user guide.
//!
//! # Feature flags
//!
//! None: the crate has no optional cargo features.

mod builtin;
mod context;
mod decision;
mod error;
mod hook;
mod input;
mod lifecycle;
mod matcher;
mod policy;
mod report;
mod scope;
mod serve;
mod set;
mod tools;

pub use builtin::{
    AUDIT_QUEUE, AuditLog, CommandRules, PathRules, SHELL_STDERR_CAP, SHELL_STDOUT_CAP, ShellHook,
};
pub use context::{
    HookContext, Phase, TOOL_COMMAND, TOOL_FILE_CHANGE, TOOL_PERMISSIONS, ToolResult, mcp_tool_name,
};
pub use decision::{Decision, HookOutcome, IssueKind, combine};
pub use error::HookError;
pub use hook::{
    EventObserver, HookFn, PostToolFn, PostToolHook, ToolUseHook, hook_fn, post_tool_fn,
};
pub use input::{
    ElicitationAnswer, ElicitationFn, ElicitationHook, TOOL_USER_INPUT, UserAnswers, UserInputFn,
    UserInputHook, elicitation_fn, user_input_fn,
};
pub use lifecycle::{Blocked, LifecycleFn, LifecycleHook, Plan, RunOutcome, Verdict, lifecycle_fn};
pub use matcher::{Matcher, command_forms, glob};
pub use policy::{ask_before_commands, ask_before_commands_in_thread};
pub use report::{DEFAULT_REPORT_CAPACITY, DecisionCounts, HookIssue, HookReport};
pub use scope::{ScopeGuard, ThreadHooks};
pub use serve::ApprovalLoop;
pub use set::{DEFAULT_CONCURRENCY, DEFAULT_HOOK_TIMEOUT, HookEntry, HookSet, ObserverEntry};
pub use tools::{
    DEFAULT_TOOL_TIMEOUT, DynamicTool, ToolCall, ToolEntry, ToolFn, ToolOutput, tool_fn,
};
