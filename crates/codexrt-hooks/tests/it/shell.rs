//! `ShellHook` against real `/bin/sh` scripts written to a temp folder:
//! the exit-status and stdout protocol, caps, timeouts that kill the
//! program, and the context it reads on stdin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codexrt_hooks::{
    Decision, HookContext, HookEntry, HookReport, HookSet, IssueKind, LifecycleHook, Phase, Plan,
    PostToolHook, ShellHook, ToolUseHook, Verdict,
};
use codexrt_testkit::TempDir;

use crate::lifecycle::before;

/// Writes an executable `/bin/sh` script `name` with `body` into `dir`.
fn script(dir: &TempDir, name: &str, body: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn command(line: &str) -> HookContext {
    HookContext::new(Phase::PreToolUse, "thr_1", "command").with_command(line)
}

fn named(path: &Path) -> String {
    path.display().to_string()
}

/// The hook's decision and the messages of the issues it left.
async fn decide_with(
    hook: ShellHook,
    timeout: Duration,
    ctx: &HookContext,
) -> (Decision, Vec<(IssueKind, String)>) {
    let report = HookReport::new(8);
    let hooks = HookSet::new()
        .report_to(report.clone())
        .hook(HookEntry::new("shell", hook).timeout(timeout));
    let decision = hooks.decide(ctx).await;
    let issues = report
        .issues()
        .into_iter()
        .map(|issue| (issue.kind, issue.message))
        .collect();
    (decision, issues)
}

#[tokio::test]
async fn json_on_stdout_decides() {
    let dir = TempDir::new("shell-hook").unwrap();
    let cases = [
        (r#"{"decision":"accept"}"#, Decision::Accept),
        (
            r#"{"decision":"acceptForSession"}"#,
            Decision::AcceptForSession,
        ),
        (
            r#"{"decision":"decline","reason":"not today"}"#,
            Decision::decline("not today"),
        ),
        (
            r#"{"decision":"cancel","reason":"stop"}"#,
            Decision::cancel("stop"),
        ),
        (r#"{"decision":"defer"}"#, Decision::Defer),
    ];
    for (index, (reply, expected)) in cases.into_iter().enumerate() {
        let path = script(
            &dir,
            &format!("s{index}"),
            &format!("cat >/dev/null\necho '{reply}'"),
        );
        let hook = ShellHook::new(&path);
        assert_eq!(
            hook.decide(&command("ls")).await.unwrap(),
            expected,
            "{reply}"
        );
    }
    let accept = script(&dir, "accept", r#"echo '{"decision":"accept"}'"#);
    assert_eq!(
        decide_with(
            ShellHook::new(&accept),
            Duration::from_secs(10),
            &command("ls")
        )
        .await,
        (Decision::Accept, vec![])
    );
}

#[tokio::test]
async fn exit_2_declines_with_stderr_as_the_reason() {
    let dir = TempDir::new("shell-hook").unwrap();
    let path = script(&dir, "deny", "echo '  not on my watch  ' >&2\nexit 2");
    assert_eq!(
        decide_with(
            ShellHook::new(&path),
            Duration::from_secs(10),
            &command("rm -rf /")
        )
        .await,
        (Decision::decline("not on my watch"), vec![])
    );
    let silent = script(&dir, "silent-deny", "exit 2");
    assert_eq!(
        ShellHook::new(&silent)
            .decide(&command("ls"))
            .await
            .unwrap(),
        Decision::decline(format!("`{}` refused (exit status 2)", named(&silent)))
    );
}

#[tokio::test]
async fn empty_stdout_defers_to_the_next_hook() {
    let dir = TempDir::new("shell-hook").unwrap();
    let path = script(&dir, "quiet", "cat >/dev/null\necho '   '");
    assert_eq!(
        ShellHook::new(&path).decide(&command("ls")).await.unwrap(),
        Decision::Defer
    );
    let hooks = HookSet::new()
        .hook(HookEntry::new("quiet", ShellHook::new(&path)))
        .hook(HookEntry::new(
            "rules",
            codexrt_hooks::CommandRules::new().allow("ls"),
        ));
    assert_eq!(hooks.decide(&command("ls")).await, Decision::Accept);
}

#[tokio::test]
async fn failures_decline_through_the_set() {
    let dir = TempDir::new("shell-hook").unwrap();
    let garbage = script(&dir, "garbage", "echo 'sure, go ahead'");
    let exit1 = script(&dir, "exit1", "echo 'config missing' >&2\nexit 1");
    let wrong_kind = script(&dir, "wrong", r#"echo '{"decision":"continue"}'"#);
    let unknown = script(&dir, "unknown", r#"echo '{"decision":"maybe"}'"#);
    let flood = script(&dir, "flood", "head -c 1100000 /dev/zero");
    let missing = dir.path().join("does-not-exist");
    let failed = Decision::decline("a hook failed (error)");
    let cases = [
        (
            &garbage,
            "wrote no decision object: expected value at line 1 column 1",
        ),
        (&exit1, "exited with status 1: config missing"),
        (
            &wrong_kind,
            "answered `continue`, which is not a decision in PreToolUse",
        ),
        (
            &unknown,
            "answered `maybe`, which is not a decision in PreToolUse",
        ),
        (&flood, "wrote more than 1048576 bytes to stdout"),
    ];
    for (path, message) in cases {
        assert_eq!(
            decide_with(
                ShellHook::new(path),
                Duration::from_secs(10),
                &command("ls")
            )
            .await,
            (
                failed.clone(),
                vec![(
                    IssueKind::Error,
                    format!("hook failed: `{}` {message}", named(path))
                )]
            ),
        );
    }
    let (decision, issues) = decide_with(
        ShellHook::new(&missing),
        Duration::from_secs(10),
        &command("ls"),
    )
    .await;
    assert_eq!(decision, failed);
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].1.starts_with(&format!(
            "hook failed: cannot start `{}`: ",
            named(&missing)
        )),
        "{issues:?}"
    );
}

#[tokio::test]
async fn a_hook_past_its_timeout_declines_and_is_killed() {
    let dir = TempDir::new("shell-hook").unwrap();
    let path = script(
        &dir,
        "slow",
        "sleep 1\necho late > \"$1\"\necho '{\"decision\":\"accept\"}'",
    );
    let marker = dir.path().join("marker");
    let hook = ShellHook::new(&path).arg(&marker);
    assert_eq!(
        decide_with(hook.clone(), Duration::from_millis(200), &command("ls")).await,
        (
            Decision::decline("a hook failed (timeout)"),
            vec![(IssueKind::Timeout, "timed out after 200ms".to_owned())]
        )
    );
    // Had the script lived on, it would have written the marker by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!marker.exists(), "the script outlived its timeout");
    // The same script with time to finish does write it, and accepts.
    assert_eq!(
        decide_with(hook, Duration::from_secs(10), &command("ls")).await,
        (Decision::Accept, vec![])
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "late\n");
}

#[tokio::test]
async fn the_script_reads_the_context_on_stdin() {
    let dir = TempDir::new("shell-hook").unwrap();
    let path = script(
        &dir,
        "echo-back",
        r#"input=$(cat)
tool=$(printf '%s' "$input" | sed -n 's/.*"toolName":"\([^"]*\)".*/\1/p')
line=$(printf '%s' "$input" | sed -n 's/.*"command":"\([^"]*\)".*/\1/p')
echo "$tool: $line ($GREETING in $(basename "$PWD"))" >&2
exit 2"#,
    );
    let hook = ShellHook::new("sh")
        .arg(&path)
        .env("GREETING", "hello")
        .current_dir(dir.path());
    let folder = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        hook.decide(&command("git push --force")).await.unwrap(),
        Decision::decline(format!("command: git push --force (hello in {folder})"))
    );
}

#[tokio::test]
async fn lifecycle_answers() {
    let dir = TempDir::new("shell-hook").unwrap();
    let mutate = script(
        &dir,
        "mutate",
        r#"cat >/dev/null
echo '{"decision":"mutate","plan":{"model":"gpt-5-mini","extraContext":["from the script"]}}'"#,
    );
    let quiet = script(&dir, "quiet", "cat >/dev/null");
    let block = script(&dir, "block", "echo 'outside office hours' >&2\nexit 2");
    let tool_answer = script(&dir, "tool", r#"echo '{"decision":"accept"}'"#);
    let no_plan = script(&dir, "no-plan", r#"echo '{"decision":"mutate"}'"#);

    let ctx = HookContext::new(Phase::PreTurn, "thr_1", "")
        .with_plan(Plan::new().prompt("fix it").model("gpt-5"));
    let hooks = HookSet::new()
        .hook(HookEntry::lifecycle("quiet", ShellHook::new(&quiet)))
        .hook(HookEntry::lifecycle("mutate", ShellHook::new(&mutate)));
    assert_eq!(
        before(&hooks, &ctx).await,
        Ok(Plan::new()
            .prompt("fix it")
            .model("gpt-5-mini")
            .extra_context("from the script"))
    );

    let blocking = HookSet::new().hook(HookEntry::lifecycle("block", ShellHook::new(&block)));
    assert_eq!(
        before(&blocking, &ctx).await,
        Err((
            Phase::PreTurn,
            "block".to_owned(),
            "outside office hours".to_owned()
        ))
    );

    for (path, message) in [
        (
            &tool_answer,
            "answered `accept`, which is not a decision in PreTurn",
        ),
        (&no_plan, "answered `mutate` without a plan"),
    ] {
        let error = LifecycleHook::on(&ShellHook::new(path), &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("hook failed: `{}` {message}", named(path))
        );
        let failing = HookSet::new().hook(HookEntry::lifecycle("bad", ShellHook::new(path)));
        assert_eq!(
            before(&failing, &ctx).await,
            Err((
                Phase::PreTurn,
                "bad".to_owned(),
                "the hook failed (error)".to_owned()
            ))
        );
    }
    assert_eq!(
        LifecycleHook::on(&ShellHook::new(&quiet), &ctx)
            .await
            .unwrap(),
        Verdict::Continue
    );
}

#[tokio::test]
async fn as_a_post_tool_hook_only_the_exit_status_counts() {
    let dir = TempDir::new("shell-hook").unwrap();
    let ok = script(&dir, "ok", "cat >/dev/null\necho 'anything'");
    let bad = script(&dir, "bad", "echo 'disk full' >&2\nexit 3");
    let ctx = HookContext::new(Phase::PostToolUse, "thr_1", "command").with_command("ls");
    ShellHook::new(&ok).after(&ctx).await.unwrap();
    assert_eq!(
        ShellHook::new(&bad)
            .after(&ctx)
            .await
            .unwrap_err()
            .to_string(),
        format!(
            "hook failed: `{}` exited with status 3: disk full",
            named(&bad)
        )
    );
}
