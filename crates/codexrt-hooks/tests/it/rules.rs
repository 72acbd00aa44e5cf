//! The built-in allow/deny lists, `CommandRules` and `PathRules`, as
//! tables of contexts and decisions.

use codexrt_hooks::{
    CommandRules, Decision, HookContext, HookEntry, HookSet, PathRules, Phase, ToolUseHook,
};

fn command(line: &str) -> HookContext {
    HookContext::new(Phase::PreToolUse, "t", "command").with_command(line)
}

fn files(paths: &[&str]) -> HookContext {
    HookContext::new(Phase::PreToolUse, "t", "file_change").with_paths(paths.iter().copied())
}

#[tokio::test]
async fn command_rules() {
    // The deny rule comes last on purpose: deny wins whatever the order.
    let rules = CommandRules::new()
        .allow("git *")
        .allow("cargo test*")
        .deny("git push*--force*");
    let cases = [
        (command("git status"), Decision::Accept),
        (command("cargo test -p x"), Decision::Accept),
        (
            command("git push origin main --force"),
            Decision::decline("the command matches the deny rule `git push*--force*`"),
        ),
        (command("rm -rf /"), Decision::Defer),
        (command("gitk"), Decision::Defer),
        // Inside codex's shell wrapper the script decides.
        (command("/bin/bash -lc 'git status'"), Decision::Accept),
        (
            command("/bin/bash -lc 'git push origin main --force'"),
            Decision::decline("the command matches the deny rule `git push*--force*`"),
        ),
        // A `*` of an allow rule does not approve a second command.
        (command("git status; rm -rf ~"), Decision::Defer),
        (command("/bin/bash -lc 'git log | sh'"), Decision::Defer),
        (command("git log > /etc/passwd"), Decision::Defer),
        (command("git log $(rm -rf ~)"), Decision::Defer),
        (command("git log\nrm -rf ~"), Decision::Defer),
        (
            HookContext::new(Phase::PreToolUse, "t", "command"),
            Decision::Defer,
        ),
        (files(&["git status"]), Decision::Defer),
        (
            HookContext::new(Phase::PreToolUse, "t", "mcp:github").with_command("git status"),
            Decision::Defer,
        ),
    ];
    for (ctx, expected) in cases {
        assert_eq!(rules.check(&ctx), expected, "{ctx:?}");
        assert_eq!(rules.decide(&ctx).await.unwrap(), expected, "{ctx:?}");
    }
    // A rule that spells the operator out may approve it.
    let piped = CommandRules::new().allow("git log | head*");
    assert_eq!(piped.check(&command("git log | head -5")), Decision::Accept);
    let denied_first = CommandRules::new().deny("git *").allow("git *");
    assert_eq!(
        denied_first.check(&command("git log")),
        Decision::decline("the command matches the deny rule `git *`")
    );
}

#[tokio::test]
async fn path_rules() {
    let rules = PathRules::new()
        .allow("*/src/*.rs")
        .allow("*/README.md")
        .deny("*/.git/*")
        .deny("*.env");
    let cases = [
        (files(&["/p/src/lib.rs"]), Decision::Accept),
        (files(&["/p/src/lib.rs", "/p/README.md"]), Decision::Accept),
        (files(&["/p/src/lib.rs", "/p/Cargo.toml"]), Decision::Defer),
        (
            files(&["/p/src/lib.rs", "/p/.git/config"]),
            Decision::decline("`/p/.git/config` matches the deny rule `*/.git/*`"),
        ),
        (
            files(&["/p/prod.env"]),
            Decision::decline("`/p/prod.env` matches the deny rule `*.env`"),
        ),
        // Unknown paths: no opinion.
        (files(&[]), Decision::Defer),
        (command("cat /p/src/lib.rs"), Decision::Defer),
    ];
    for (ctx, expected) in cases {
        assert_eq!(rules.check(&ctx), expected, "{ctx:?}");
        assert_eq!(rules.decide(&ctx).await.unwrap(), expected, "{ctx:?}");
    }
}

#[tokio::test]
async fn rules_compose_in_a_set() {
    let hooks = HookSet::new()
        .hook(HookEntry::new(
            "paths",
            PathRules::new().allow("/p/*").deny("/p/secret*"),
        ))
        .hook(HookEntry::new("commands", CommandRules::new().allow("ls*")));
    assert_eq!(hooks.decide(&command("ls -la")).await, Decision::Accept);
    assert_eq!(
        hooks.decide(&command("rm x")).await,
        Decision::decline("no hook decided")
    );
    assert_eq!(hooks.decide(&files(&["/p/a"])).await, Decision::Accept);
    assert_eq!(
        hooks.decide(&files(&["/p/secret.txt"])).await,
        Decision::decline("`/p/secret.txt` matches the deny rule `/p/secret*`")
    );
}
