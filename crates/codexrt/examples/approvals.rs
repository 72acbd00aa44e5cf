//! Approvals: decide which commands codex may run, and keep an audit log.
//!
//! A PreToolUse policy answers codex's approval requests: a hook that
//! prints every command codex asks about (and leaves the decision to the
//! next hook), then `CommandRules` that allow `touch` and deny `rm`.
//! Anything no hook decides is declined. Every decision goes to an
//! `AuditLog` in the system's temporary directory, which is read back and
//! printed at the end.
//!
//! The run may write in the current directory (`workspace-write`), and
//! since the profile sets no approval policy the facade makes codex ask
//! before every command that is not known to be harmless. codex is found
//! through `CODEX_BIN`, else `codex` on `PATH`.
//!
//! ```text
//! cargo run -p codexrt --example approvals
//! ```
// Printing the decisions is the point of the program.
#![allow(clippy::print_stdout)]

use codexrt::hooks::{AuditLog, CommandRules, Decision, HookEntry, HookSet, Matcher, hook_fn};
use codexrt::protocol::types::SandboxMode;
use codexrt::{Client, RunProfile};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One file per process, so that two runs never share a log.
    let audit_path =
        std::env::temp_dir().join(format!("codexrt-approvals-{}.jsonl", std::process::id()));
    let audit = AuditLog::create(&audit_path)?;

    // Hooks run in registration order; the first one that does not defer
    // decides. This one only watches.
    let announce = hook_fn(|ctx| async move {
        let command = ctx.command.as_deref().unwrap_or("?");
        println!("codex asks to run: {command}");
        Ok(Decision::Defer)
    });
    // codex reports a command line as its shell runs it, for example
    // `/bin/bash -lc 'touch approved.txt'`; patterns are tried on that line
    // and on the script inside it (`touch approved.txt`). Deny wins over
    // allow, and an allow rule never approves a line that chains or
    // redirects commands (`;`, `&&`, `|`, `>`, ...) unless the rule spells
    // the operator out. A command matching neither is deferred and, with
    // nobody else to decide, declined.
    let rules = CommandRules::new().allow("touch *").deny("rm *");
    let policy = HookSet::new()
        .hook(HookEntry::new("announce", announce).matcher(Matcher::any().tool("command")))
        .hook(HookEntry::new("commands", rules))
        .audit(audit.clone());

    let client = Client::connect_default().await?;
    let profile = RunProfile::new()
        .sandbox(SandboxMode::WorkspaceWrite)
        .hooks(policy);
    let result = client
        .run_with_profile(
            ".",
            "Create an empty file approved.txt with `touch`, then delete it with `rm`.",
            profile,
        )
        .await?;
    println!("answer: {}", result.text());
    client.shutdown().await?;

    // The log is written by a thread of its own: wait for what is queued.
    audit.flush().await?;
    let log = std::fs::read_to_string(&audit_path)?;
    println!("audit log ({}):", audit_path.display());
    for line in log.lines() {
        let record: codexrt::serde_json::Value = codexrt::serde_json::from_str(line)?;
        if record["phase"] != "PreToolUse" {
            continue;
        }
        let decision = record["decision"].as_str().unwrap_or("?");
        let hook = record["hook"].as_str().unwrap_or("no hook");
        match record["reason"].as_str() {
            Some(reason) => println!("  {decision} by {hook}: {reason}"),
            None => println!("  {decision} by {hook}"),
        }
    }
    std::fs::remove_file(&audit_path)?;
    Ok(())
}
