//! The hook chain run by `HookSet::decide`: order, matching, first decision
//! wins, and failures that never approve.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexrt_hooks::{
    AuditLog, Decision, HookContext, HookEntry, HookError, HookReport, HookSet, IssueKind, Matcher,
    Phase, ToolUseHook, hook_fn,
};
use codexrt_testkit::TempDir;
use serde_json::{Value, json};

fn command(line: &str) -> HookContext {
    HookContext::new(Phase::PreToolUse, "t", "command").with_command(line)
}

/// A hook that notes its name in `log` and returns `decision`.
fn noting(
    name: &'static str,
    log: &Arc<Mutex<Vec<&'static str>>>,
    decision: Decision,
) -> HookEntry {
    let log = Arc::clone(log);
    HookEntry::new(
        name,
        hook_fn(move |_ctx| {
            log.lock().unwrap().push(name);
            let decision = decision.clone();
            async move { Ok(decision) }
        }),
    )
}

async fn fail(kind: IssueKind) -> Result<Decision, HookError> {
    match kind {
        IssueKind::Error => Err(HookError::failed("policy store unreachable")),
        IssueKind::Timeout => std::future::pending().await,
        _ => panic!("hook bug"),
    }
}

/// A hook that fails as `kind` says and claims to run in place, so that
/// it runs in the deciding task rather than a task of its own.
struct FailsInPlace(IssueKind);

#[async_trait::async_trait]
impl ToolUseHook for FailsInPlace {
    async fn decide(&self, _ctx: &HookContext) -> Result<Decision, HookError> {
        fail(self.0).await
    }

    fn runs_in_place(&self) -> bool {
        true
    }
}

fn failing(name: &str, kind: IssueKind) -> HookEntry {
    failing_as(name, kind, false)
}

fn failing_as(name: &str, kind: IssueKind, in_place: bool) -> HookEntry {
    let entry = if in_place {
        HookEntry::new(name, FailsInPlace(kind))
    } else {
        HookEntry::new(name, hook_fn(move |_ctx| fail(kind)))
    };
    // Only the hook that hangs gets a short timeout: on a loaded machine a
    // failing hook must still fail the way it was written to.
    match kind {
        IssueKind::Timeout => entry.timeout(Duration::from_millis(50)),
        _ => entry,
    }
}

#[tokio::test]
async fn hooks_run_in_order_until_one_decides() {
    let log = Arc::default();
    let hooks = HookSet::new()
        .hook(noting("a", &log, Decision::Defer))
        .hook(noting("b", &log, Decision::Defer))
        .hook(noting("c", &log, Decision::decline("no")))
        .hook(noting("d", &log, Decision::Accept));
    assert_eq!(hooks.decide(&command("ls")).await, Decision::decline("no"));
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c"]);
}

#[tokio::test]
async fn every_hook_deferring_declines() {
    let log = Arc::default();
    let hooks = HookSet::new()
        .hook(noting("a", &log, Decision::Defer))
        .hook(noting("b", &log, Decision::Defer));
    assert_eq!(
        hooks.decide(&command("ls")).await,
        Decision::decline("no hook decided")
    );
    assert_eq!(
        HookSet::new().decide(&command("ls")).await,
        Decision::decline("no hook decided")
    );
    assert_eq!(*log.lock().unwrap(), ["a", "b"]);
}

type Log = Arc<Mutex<Vec<&'static str>>>;

/// Decides `ctx` and checks the decision and which hooks were asked.
async fn check(hooks: &HookSet, log: &Log, ctx: HookContext, expected: Decision, asked: &[&str]) {
    log.lock().unwrap().clear();
    assert_eq!(hooks.decide(&ctx).await, expected, "{ctx:?}");
    assert_eq!(*log.lock().unwrap(), asked, "{ctx:?}");
}

#[tokio::test]
async fn matchers_pick_the_hooks_asked() {
    let log: Log = Arc::default();
    let hooks = HookSet::new()
        .hook(
            noting("files", &log, Decision::AcceptForSession)
                .matcher(Matcher::any().tool("file_change").path("src/*.rs")),
        )
        .hook(noting("git", &log, Decision::Accept).matcher(Matcher::any().command("git *")))
        .hook(noting("rest", &log, Decision::cancel("unknown")));
    check(
        &hooks,
        &log,
        command("git status"),
        Decision::Accept,
        &["git"],
    )
    .await;
    check(
        &hooks,
        &log,
        command("gitk"),
        Decision::cancel("unknown"),
        &["rest"],
    )
    .await;
    let files = |paths: &[&str]| {
        HookContext::new(Phase::PreToolUse, "t", "file_change").with_paths(paths.iter().copied())
    };
    check(
        &hooks,
        &log,
        files(&["README.md", "src/lib.rs"]),
        Decision::AcceptForSession,
        &["files"],
    )
    .await;
    check(
        &hooks,
        &log,
        files(&["README.md"]),
        Decision::cancel("unknown"),
        &["rest"],
    )
    .await;
    check(
        &hooks,
        &log,
        files(&[]),
        Decision::cancel("unknown"),
        &["rest"],
    )
    .await;
}

#[tokio::test]
async fn failures_decline_and_are_reported_in_a_task_or_in_place() {
    let kinds = [IssueKind::Error, IssueKind::Timeout, IssueKind::Panic];
    for (kind, in_place) in kinds
        .into_iter()
        .flat_map(|kind| [(kind, false), (kind, true)])
    {
        let log = Arc::default();
        let report = HookReport::new(8);
        let hooks = HookSet::new()
            .report_to(report.clone())
            .hook(noting("first", &log, Decision::Defer))
            .hook(failing_as("broken", kind, in_place))
            .hook(noting("later", &log, Decision::Accept));
        let mut ctx = command("ls");
        ctx.correlation_id = "7".to_owned();
        let decision = hooks.decide(&ctx).await;
        assert_eq!(
            decision,
            Decision::decline(format!("a hook failed ({kind})"))
        );
        assert_eq!(*log.lock().unwrap(), ["first"], "{kind}");
        let issues = report.issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        let issue = &issues[0];
        assert_eq!(
            (
                issue.hook.as_str(),
                issue.phase,
                issue.kind,
                issue.correlation_id.as_str()
            ),
            ("broken", Phase::PreToolUse, kind, "7")
        );
        let expected = match kind {
            IssueKind::Error => "hook failed: policy store unreachable",
            IssueKind::Timeout => "timed out after 50ms",
            _ => "panicked: hook bug",
        };
        assert_eq!(issue.message, expected);
        // The set keeps working after a failure.
        assert!(!hooks.decide(&ctx).await.is_approval());
        assert_eq!(report.issues().len(), 2);
    }
}

#[tokio::test]
async fn the_report_is_bounded() {
    let report = HookReport::new(2);
    let hooks = HookSet::new()
        .report_to(report.clone())
        .hook(failing("broken", IssueKind::Error));
    for _ in 0..5 {
        hooks.decide(&command("ls")).await;
    }
    assert_eq!(report.issues().len(), 2);
    assert_eq!(report.dropped(), 3);
    assert_eq!(report.drain().len(), 2);
    assert!(report.issues().is_empty());
}

/// A tiny xorshift64 generator: enough randomness without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Random chains of real hooks (accepting, declining, deferring, failing,
/// timing out, panicking): the chain approves only when the first hook
/// that did not defer approved, and the audit log names that hook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_chains_never_approve_what_no_hook_approved() {
    let dir = TempDir::new("chain-audit").unwrap();
    let log = AuditLog::create(dir.path().join("audit.jsonl")).unwrap();
    let mut audited = Vec::new();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for run in 0..300 {
        let len = (rng.next() % 5) as usize;
        let mut hooks = HookSet::new()
            .report_to(HookReport::new(16))
            .audit(log.clone());
        let mut expected = Decision::decline("no hook decided");
        let mut decider = Value::Null;
        let mut decided = false;
        for index in 0..len {
            let choice = rng.next() % 6;
            let name = format!("h{index}");
            let (entry, outcome) = match choice {
                0 => (
                    HookEntry::new(name, hook_fn(|_| async { Ok(Decision::Accept) })),
                    Some(Decision::Accept),
                ),
                1 => (
                    HookEntry::new(name, hook_fn(|_| async { Ok(Decision::decline("d")) })),
                    Some(Decision::decline("d")),
                ),
                2 => (
                    HookEntry::new(name, hook_fn(|_| async { Ok(Decision::Defer) })),
                    None,
                ),
                3 => (
                    failing(&name, IssueKind::Error),
                    Some(failed(IssueKind::Error)),
                ),
                4 => (
                    failing(&name, IssueKind::Timeout).timeout(Duration::from_millis(1)),
                    Some(failed(IssueKind::Timeout)),
                ),
                _ => (
                    failing(&name, IssueKind::Panic),
                    Some(failed(IssueKind::Panic)),
                ),
            };
            hooks = hooks.hook(entry);
            if let (false, Some(outcome)) = (decided, outcome) {
                expected = outcome;
                decider = json!(format!("h{index}"));
                decided = true;
            }
        }
        let decision = hooks.decide(&command("ls")).await;
        assert_eq!(decision, expected, "run {run}");
        let (name, reason) = match &expected {
            Decision::Accept => ("accept", Value::Null),
            Decision::Decline { reason } => ("decline", json!(reason)),
            other => panic!("unexpected {other:?}"),
        };
        audited.push(json!({"decision": name, "reason": reason, "hook": decider}));
    }
    log.flush().await.unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            json!({"decision": line["decision"], "reason": line["reason"], "hook": line["hook"]})
        })
        .collect();
    assert_eq!(lines, audited);
    assert_eq!(log.dropped(), 0);
}

fn failed(kind: IssueKind) -> Decision {
    Decision::decline(format!("a hook failed ({kind})"))
}

/// The report counts what each hook answered, per hook: decisions,
/// deferrals and failures, only for the hooks that were asked.
#[tokio::test]
async fn the_report_counts_each_hooks_decisions() {
    let rules = codexrt_hooks::CommandRules::new().allow("ls*").deny("rm *");
    let hooks = HookSet::new()
        .hook(HookEntry::new("rules", rules))
        .hook(failing("broken", IssueKind::Error))
        .hook(noting("never", &Arc::default(), Decision::Accept));
    for line in ["ls", "ls -la", "rm -rf /", "cat x"] {
        hooks.decide(&command(line)).await;
    }
    let counts = hooks.report().decisions();
    let names: Vec<&str> = counts.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["broken", "rules"]);
    let (rules, broken) = (counts[1].1, counts[0].1);
    assert_eq!(
        (
            rules.accepted,
            rules.declined,
            rules.deferred,
            rules.total()
        ),
        (2, 1, 1, 4)
    );
    assert_eq!((broken.failed, broken.total()), (1, 1));
}

/// The closures of `hook_fn` share one context along a chain: no copy of
/// it per hook.
#[tokio::test]
async fn hook_fn_hooks_share_one_context() {
    let seen: Arc<Mutex<Vec<Arc<HookContext>>>> = Arc::default();
    let keeping = |name: &'static str, decision: Decision| {
        let seen = Arc::clone(&seen);
        HookEntry::new(
            name,
            hook_fn(move |ctx| {
                seen.lock().unwrap().push(ctx);
                let decision = decision.clone();
                async move { Ok(decision) }
            }),
        )
    };
    let hooks = HookSet::new()
        .hook(keeping("first", Decision::Defer))
        .hook(keeping("second", Decision::Accept));
    assert_eq!(hooks.decide(&command("ls")).await, Decision::Accept);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(Arc::ptr_eq(&seen[0], &seen[1]));
    assert_eq!(seen[0].command.as_deref(), Some("ls"));
}
