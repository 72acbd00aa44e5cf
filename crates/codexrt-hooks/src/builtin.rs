//! Built-in hooks: allow/deny lists for commands and paths, a hook that
//! asks a shell command, and the audit log.

mod audit;
mod rules;
mod shell;

pub use audit::{AUDIT_QUEUE, AuditLog};
pub(crate) use audit::{AuditEntry, AuditRecord};
pub use rules::{CommandRules, PathRules};
pub use shell::{SHELL_STDERR_CAP, SHELL_STDOUT_CAP, ShellHook};
