//! [`CommandRules`] and [`PathRules`]: allow and deny lists of [`glob`]
//! patterns as ready-made PreToolUse hooks.

use async_trait::async_trait;

use crate::matcher::forms_of;
use crate::{Decision, HookContext, HookError, TOOL_COMMAND, TOOL_FILE_CHANGE, ToolUseHook, glob};

/// Allow and deny lists for command lines, as a [`ToolUseHook`].
///
/// For the tool [`TOOL_COMMAND`]: when the command line matches any deny
/// pattern the answer is a decline whose reason names the pattern; else,
/// when it matches any allow pattern, an accept; else the hook defers. Deny
/// wins whatever the order the rules were added in. A command whose line
/// is unknown, and every other tool, is deferred. Patterns are [`glob`]s
/// on the whole command line, such as `git status*`, tried on each of its
/// [`command_forms`](crate::command_forms): the line as codex reports it
/// (`/bin/bash -lc 'git status'`) and the script inside the shell
/// wrapper (`git status`).
///
/// An allow rule never approves a command that uses a shell operator
/// (`;`, `&`, `|`, a backtick, `$(`, `>`, `<`, a line break) the rule does
/// not itself contain: `git status*` does not approve
/// `git status; rm -rf ~`, which is deferred instead. Deny rules have no
/// such limit.
///
/// ```
/// use codexrt_hooks::{CommandRules, HookEntry, HookSet};
///
/// let hooks = HookSet::new().hook(HookEntry::new(
///     "commands",
///     CommandRules::new().allow("git *").deny("git push*--force*"),
/// ));
/// # drop(hooks);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandRules {
    allow: Vec<String>,
    deny: Vec<String>,
}

impl CommandRules {
    /// No rules: every command is deferred.
    pub fn new() -> Self {
        CommandRules::default()
    }

    /// Accepts command lines matching `pattern`, unless a deny rule matches
    /// (default: none).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.allow.push(pattern.into());
        self
    }

    /// Declines command lines matching `pattern` (default: none).
    pub fn deny(mut self, pattern: impl Into<String>) -> Self {
        self.deny.push(pattern.into());
        self
    }

    /// The decision for `ctx`, as [`ToolUseHook::decide`] returns it.
    pub fn check(&self, ctx: &HookContext) -> Decision {
        if ctx.tool_name != TOOL_COMMAND {
            return Decision::Defer;
        }
        let Some(command) = ctx.command.as_deref() else {
            return Decision::Defer;
        };
        let forms = forms_of(command);
        // Without deny rules, the script need not be unwrapped to be denied.
        if !self.deny.is_empty() {
            for form in forms.forms() {
                if let Some(rule) = self.deny.iter().find(|rule| glob(rule, form)) {
                    return Decision::decline(format!(
                        "the command matches the deny rule `{rule}`"
                    ));
                }
            }
        }
        let allowed = |form: &str| {
            self.allow
                .iter()
                .any(|rule| glob(rule, form) && !smuggles(rule, form))
        };
        if forms.forms().any(allowed) {
            return Decision::Accept;
        }
        Decision::Defer
    }
}

/// The shell operators that chain, substitute or redirect commands.
const OPERATORS: [&str; 9] = [";", "&", "|", "`", "$(", ">", "<", "\n", "\r"];

/// The first bytes of the [`OPERATORS`], as a table.
const OPERATOR_STARTS: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < OPERATORS.len() {
        table[OPERATORS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `command` uses a shell operator that the allow `rule` does not
/// spell out itself: then a `*` of the rule would be approving a second
/// command (`git status; rm -rf ~` against `git status*`), so the rule does
/// not apply.
fn smuggles(rule: &str, command: &str) -> bool {
    // Most commands have none of the operators' first bytes: one pass over
    // the command says so, instead of a search for each operator.
    if !command
        .bytes()
        .any(|byte| OPERATOR_STARTS[usize::from(byte)])
    {
        return false;
    }
    OPERATORS
        .iter()
        .any(|operator| command.contains(operator) && !rule.contains(operator))
}

#[async_trait]
impl ToolUseHook for CommandRules {
    async fn decide(&self, ctx: &HookContext) -> Result<Decision, HookError> {
        Ok(self.check(ctx))
    }

    fn runs_in_place(&self) -> bool {
        true
    }

    fn reads_input(&self) -> bool {
        false
    }
}

/// Allow and deny lists for changed paths, as a [`ToolUseHook`].
///
/// For the tool [`TOOL_FILE_CHANGE`]: when any changed path matches a deny
/// pattern the answer is a decline naming the path and the pattern; else,
/// when there is at least one path and every path matches some allow
/// pattern, an accept; else the hook defers. A file change whose paths are
/// unknown (see the crate docs) is deferred, and so is every other tool.
/// Patterns are [`glob`]s on the whole path as codex sends it (usually
/// absolute), so `*/src/*.rs` rather than `src/*.rs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathRules {
    allow: Vec<String>,
    deny: Vec<String>,
}

impl PathRules {
    /// No rules: every file change is deferred.
    pub fn new() -> Self {
        PathRules::default()
    }

    /// Accepts changes whose paths all match some allow pattern, unless a
    /// deny rule matches (default: none).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.allow.push(pattern.into());
        self
    }

    /// Declines changes where any path matches `pattern` (default: none).
    pub fn deny(mut self, pattern: impl Into<String>) -> Self {
        self.deny.push(pattern.into());
        self
    }

    /// The decision for `ctx`, as [`ToolUseHook::decide`] returns it.
    pub fn check(&self, ctx: &HookContext) -> Decision {
        if ctx.tool_name != TOOL_FILE_CHANGE || ctx.paths.is_empty() {
            return Decision::Defer;
        }
        for path in &ctx.paths {
            if let Some(rule) = self.deny.iter().find(|rule| glob(rule, path)) {
                return Decision::decline(format!("`{path}` matches the deny rule `{rule}`"));
            }
        }
        let allowed = |path: &String| self.allow.iter().any(|rule| glob(rule, path));
        if ctx.paths.iter().all(allowed) {
            return Decision::Accept;
        }
        Decision::Defer
    }
}

#[async_trait]
impl ToolUseHook for PathRules {
    async fn decide(&self, ctx: &HookContext) -> Result<Decision, HookError> {
        Ok(self.check(ctx))
    }

    fn runs_in_place(&self) -> bool {
        true
    }

    fn reads_input(&self) -> bool {
        false
    }
}
