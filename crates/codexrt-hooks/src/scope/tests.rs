//! Unit tests of thread scopes: guards, replacement, and the order in
//! which the base set's and a scope's hooks run.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::{
    ElicitationAnswer, HookError, IssueKind, Phase, ToolUseHook, elicitation_fn, hook_fn,
    user_input_fn,
};

/// Records which hooks ran, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn hook(&self, name: &'static str, decision: Decision) -> HookEntry {
        let log = self.clone();
        HookEntry::new(
            name,
            hook_fn(move |_| {
                log.0.lock().unwrap().push(name.to_owned());
                let decision = decision.clone();
                async move { Ok(decision) }
            }),
        )
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn failing() -> impl ToolUseHook {
    hook_fn(|_| async { Err(HookError::failed("down")) })
}

fn command() -> HookContext {
    HookContext::new(Phase::PreToolUse, "t", "command").with_command("ls")
}

#[test]
fn a_guard_removes_its_scope_and_only_its_own() {
    let scopes = ThreadHooks::default();
    assert!(scopes.is_empty());
    let first = scopes.insert("t", Arc::new(HookSet::new()), Some("m1".to_owned()));
    let other = scopes.insert("u", Arc::new(HookSet::new()), None);
    assert_eq!((scopes.len(), first.thread_id()), (2, "t"));
    // Replacing t's scope: the first guard no longer owns it.
    let second = scopes.insert("t", Arc::new(HookSet::new()), Some("m2".to_owned()));
    drop(first);
    assert_eq!(scopes.len(), 2);
    assert_eq!(scopes.get("t").unwrap().model.as_deref(), Some("m2"));
    drop(second);
    assert!(scopes.get("t").is_none());
    drop(other);
    assert!(scopes.is_empty());
}

#[test]
fn only_a_scope_that_observes_widens_the_loops_stream() {
    let scopes = ThreadHooks::default();
    let deciding = HookSet::new().hook(HookEntry::new("rules", crate::CommandRules::new()));
    let _quiet = scopes.insert("t1", Arc::new(deciding), None);
    assert!(!scopes.widened());
    let observing = HookSet::new().observer(crate::ObserverEntry::new("q", Quiet));
    let watched = scopes.insert("t2", Arc::new(observing), None);
    assert!(scopes.widened());
    // Once wide, it stays wide: the loop's stream cannot narrow again.
    drop(watched);
    assert!(scopes.widened());
}

#[tokio::test]
async fn base_hooks_run_before_the_scope_hooks_in_one_chain() {
    let log = Log::default();
    let base = HookSet::new()
        .hook(log.hook("base-1", Decision::Defer))
        .hook(log.hook("base-2", Decision::Defer));
    let scope = HookSet::new()
        .hook(log.hook("scope-1", Decision::Defer))
        .hook(log.hook("scope-2", Decision::Accept))
        .hook(log.hook("scope-3", Decision::decline("never asked")));
    assert_eq!(
        decide(&base, Some(&scope), &command(), None).await,
        (Decision::Accept, Some("scope-2"))
    );
    assert_eq!(log.take(), ["base-1", "base-2", "scope-1", "scope-2"]);

    // A base decision ends the chain before the scope is asked.
    let base = HookSet::new().hook(log.hook("base", Decision::decline("no")));
    assert_eq!(
        decide(&base, Some(&scope), &command(), None).await,
        (Decision::decline("no"), Some("base"))
    );
    assert_eq!(log.take(), ["base"]);

    // Without a scope, only the base set runs, and all-defer declines.
    let base = HookSet::new().hook(log.hook("base", Decision::Defer));
    assert_eq!(
        decide(&base, None, &command(), None).await,
        (Decision::decline("no hook decided"), None)
    );
    assert_eq!(log.take(), ["base"]);
}

#[tokio::test]
async fn a_scope_failure_declines_and_is_reported_by_the_scope() {
    let log = Log::default();
    let base = HookSet::new().hook(log.hook("base", Decision::Defer));
    let scope = HookSet::new()
        .hook(HookEntry::new("broken", failing()))
        .hook(log.hook("after", Decision::Accept));
    assert_eq!(
        decide(&base, Some(&scope), &command(), None).await,
        (Decision::decline("a hook failed (error)"), Some("broken"))
    );
    assert_eq!(log.take(), ["base"]);
    assert_eq!(base.report().issues(), []);
    let issues: Vec<_> = scope
        .report()
        .issues()
        .into_iter()
        .map(|issue| (issue.hook, issue.kind))
        .collect();
    assert_eq!(issues, [("broken".to_owned(), IssueKind::Error)]);
}

fn question(id: &str) -> ToolRequestUserInputQuestion {
    ToolRequestUserInputQuestion {
        header: "h".to_owned(),
        id: id.to_owned(),
        question: "which colour?".to_owned(),
        ..ToolRequestUserInputQuestion::default()
    }
}

fn answers(id: &str, answer: &str) -> UserAnswers {
    UserAnswers::from([(id.to_owned(), vec![answer.to_owned()])])
}

#[tokio::test]
async fn user_input_takes_the_first_answer_base_first() {
    let ctx = HookContext::new(Phase::OnUserInput, "t", crate::TOOL_USER_INPUT);
    let log = Log::default();
    let answering = |name: &'static str, answer: Option<UserAnswers>| {
        let log = log.clone();
        HookEntry::user_input(
            name,
            user_input_fn(move |_, questions| {
                log.0.lock().unwrap().push(name.to_owned());
                let answer = answer.clone();
                async move {
                    assert_eq!(questions, [question("colour")]);
                    Ok(answer)
                }
            }),
        )
    };
    let base = HookSet::new()
        .hook(answering("base-defers", None))
        // PreToolUse hooks are not part of the user-input chain.
        .hook(log.hook("pre", Decision::Accept));
    let scope = HookSet::new()
        .hook(answering("scope-answers", Some(answers("colour", "blue"))))
        .hook(answering("never", Some(answers("colour", "red"))));
    let questions = [question("colour")];
    assert_eq!(
        answer_user_input(&base, Some(&scope), &ctx, &questions, None).await,
        (Some(answers("colour", "blue")), Some("scope-answers"))
    );
    assert_eq!(log.take(), ["base-defers", "scope-answers"]);
    assert_eq!(
        answer_user_input(&base, None, &ctx, &questions, None).await,
        (None, None)
    );
    assert_eq!(log.take(), ["base-defers"]);

    // A failure stops the chain: nothing is answered.
    let broken = HookSet::new().hook(HookEntry::user_input(
        "broken",
        user_input_fn(|_, _| async { Err(HookError::failed("down")) }),
    ));
    assert_eq!(
        answer_user_input(&broken, Some(&scope), &ctx, &questions, None).await,
        (None, Some("broken"))
    );
    assert_eq!(log.take(), Vec::<String>::new());
}

#[tokio::test]
async fn elicitation_failures_decline_and_deferring_leaves_none() {
    let ctx = HookContext::new(Phase::OnElicitation, "t", "mcp:files");
    let accept = HookSet::new().hook(HookEntry::elicitation(
        "accept",
        elicitation_fn(|_| async {
            Ok(Some(ElicitationAnswer::Accept {
                content: Some(json!({"name": "x"})),
            }))
        }),
    ));
    let defer = HookSet::new().hook(HookEntry::elicitation(
        "defer",
        elicitation_fn(|_| async { Ok(None) }),
    ));
    let broken = HookSet::new().hook(HookEntry::elicitation(
        "broken",
        elicitation_fn(|_| async { panic!("oops") }),
    ));
    assert_eq!(
        answer_elicitation(&defer, Some(&accept), &ctx, None).await,
        (
            Some(ElicitationAnswer::Accept {
                content: Some(json!({"name": "x"}))
            }),
            Some("accept")
        )
    );
    assert_eq!(
        answer_elicitation(&defer, None, &ctx, None).await,
        (None, None)
    );
    assert_eq!(
        answer_elicitation(&broken, Some(&accept), &ctx, None).await,
        (Some(ElicitationAnswer::Decline), Some("broken"))
    );
}

/// An observer that looks at nothing.
struct Quiet;

#[async_trait::async_trait]
impl crate::EventObserver for Quiet {
    async fn on_event(&self, _event: &codexrt_core::RuntimeEvent) -> Result<(), HookError> {
        Ok(())
    }
}

#[test]
fn the_count_of_observing_scopes_follows_inserts_replacements_and_removals() {
    let watching = || Arc::new(HookSet::new().observer(crate::ObserverEntry::new("q", Quiet)));
    let scopes = ThreadHooks::default();
    assert!(!scopes.any_observers());
    let a = scopes.insert("a", watching(), None);
    let b = scopes.insert("b", watching(), None);
    assert!(scopes.any_observers());
    // Replacing a's scope with one that does not observe, and dropping the
    // replaced guard, leaves b alone observing.
    let a2 = scopes.insert("a", Arc::new(HookSet::new()), None);
    drop(a);
    drop(b);
    assert!(!scopes.any_observers());
    assert_eq!(scopes.len(), 1);
    drop(a2);
    assert!(scopes.is_empty());
    assert!(!scopes.any_observers());
}
