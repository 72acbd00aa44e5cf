//! Thread scopes: [`ThreadHooks`] maps a thread id to a [`HookSet`] of its
//! own, which the approval loop runs after (or, for tools, before) the
//! base set's hooks for requests and events of that thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use codexrt_protocol::types::ToolRequestUserInputQuestion;

use codexrt_core::{EventWidener, SettledSignal};
use tokio::sync::mpsc;

use crate::builtin::{AuditEntry, AuditRecord};
use crate::serve::Control;
use crate::set::{HookEntry, ToolHook};
use crate::{
    Decision, ElicitationAnswer, HookContext, HookOutcome, HookSet, IssueKind, UserAnswers, combine,
};

/// One thread's hooks and the model its thread runs.
///
/// The approval loop looks a scope up for every request of its thread, so
/// a copy is only reference counts: the model is shared, not copied.
#[derive(Clone)]
pub(crate) struct Scope {
    pub(crate) hooks: Arc<HookSet>,
    pub(crate) model: Option<Arc<str>>,
}

#[derive(Default)]
struct Scopes {
    /// Each thread's insertion, scope, and whether its guard was dropped
    /// and the loop asked to remove it.
    threads: HashMap<String, (u64, Scope, bool)>,
    /// Tells insertions apart, so that the guard of a replaced scope does
    /// not remove the scope that replaced it.
    next: u64,
    /// The approval loop serving these scopes, which removes a released
    /// scope only after the events queued before the release.
    control: Option<mpsc::Sender<Control>>,
    /// How many scopes have observers: the loop encodes events to find
    /// their thread only when some do.
    observing: usize,
    /// Widens the loop's event stream to every event, when it started
    /// narrow (nothing observed) and a scope that observes arrives.
    widener: Option<EventWidener>,
    /// The loop's stream takes every event (a scope that observes came).
    widened: bool,
}

impl Scopes {
    /// Puts `scope` in place of whatever `thread_id` had.
    fn put(&mut self, thread_id: String, generation: u64, scope: Scope) {
        self.observing += usize::from(!scope.hooks.observers.is_empty());
        if scope.hooks.observes() && !self.widened {
            // Under the lock, so the loop's stream takes every event that
            // comes after this insertion returns.
            if let Some(widener) = &self.widener {
                widener.widen();
            }
            self.widened = true;
        }
        if let Some((_, old, _)) = self.threads.insert(thread_id, (generation, scope, false)) {
            self.observing -= usize::from(!old.hooks.observers.is_empty());
        }
    }

    /// Removes the scope of `thread_id`, if any.
    fn remove(&mut self, thread_id: &str) {
        if let Some((_, old, _)) = self.threads.remove(thread_id) {
            self.observing -= usize::from(!old.hooks.observers.is_empty());
        }
    }
}

/// The hook sets of individual threads, shared between whoever starts
/// threads and the approval loop ([`HookSet::serve_scoped`]); cheap to
/// clone, every clone sees the same scopes.
///
/// For a request or event of a thread with a scope, the loop runs the
/// base set's hooks and then the scope's as one chain (see
/// [`HookSet::serve_scoped`]).
#[derive(Clone, Default)]
pub struct ThreadHooks {
    inner: Arc<Mutex<Scopes>>,
}

impl fmt::Debug for ThreadHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHooks")
            .field("threads", &self.len())
            .finish_non_exhaustive()
    }
}

impl ThreadHooks {
    fn lock(&self) -> MutexGuard<'_, Scopes> {
        // Nothing runs under the lock but map operations, so a poisoned
        // lock still guards a consistent map.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Gives `thread_id` the scope `hooks`, with `model` as the model its
    /// hooks see in [`HookContext::model`], until the returned guard is
    /// dropped. A second insertion for the same thread replaces the first
    /// (whose guard then removes nothing).
    #[must_use = "dropping the guard removes the scope at once"]
    pub fn insert(
        &self,
        thread_id: impl Into<String>,
        hooks: Arc<HookSet>,
        model: Option<String>,
    ) -> ScopeGuard {
        let thread_id = thread_id.into();
        let mut scopes = self.lock();
        let generation = scopes.next;
        scopes.next = scopes.next.wrapping_add(1);
        let model = model.map(Arc::from);
        scopes.put(thread_id.clone(), generation, Scope { hooks, model });
        ScopeGuard {
            scopes: self.clone(),
            thread_id,
            generation,
        }
    }

    /// How many threads have a scope.
    pub fn len(&self) -> usize {
        self.lock().threads.len()
    }

    /// Whether no thread has a scope.
    pub fn is_empty(&self) -> bool {
        self.lock().threads.is_empty()
    }

    /// The scope of `thread_id`, if it has one.
    pub(crate) fn get(&self, thread_id: &str) -> Option<Scope> {
        self.lock()
            .threads
            .get(thread_id)
            .map(|(_, scope, _)| scope.clone())
    }

    /// Whether some scope has observers, which then need each event's
    /// thread id.
    pub(crate) fn any_observers(&self) -> bool {
        self.lock().observing > 0
    }

    /// Makes the loop behind `control` remove released scopes, and lets a
    /// scope that observes widen the loop's event stream with `widener`.
    /// Returns whether some scope already observes (the stream must then
    /// take every event from the start).
    pub(crate) fn attach(
        &self,
        control: mpsc::Sender<Control>,
        widener: Option<EventWidener>,
    ) -> bool {
        let mut scopes = self.lock();
        scopes.control = Some(control);
        scopes.widener = widener;
        scopes.widened
    }

    /// Whether some scope that observes was inserted since the loop
    /// started (or before): its events must reach the observers.
    pub(crate) fn widened(&self) -> bool {
        self.lock().widened
    }

    /// The loop ended: releases still queued for it will never be carried
    /// out, so they are carried out now, and guards dropped from now on
    /// remove their scopes themselves.
    pub(crate) fn detach(&self) {
        let mut scopes = self.lock();
        scopes.control = None;
        let released: Vec<String> = scopes
            .threads
            .iter()
            .filter(|(_, (_, _, released))| *released)
            .map(|(thread_id, _)| thread_id.clone())
            .collect();
        for thread_id in released {
            scopes.remove(&thread_id);
        }
    }

    /// Removes the scope of `thread_id` if it is still the insertion
    /// `generation`.
    pub(crate) fn release(&self, thread_id: &str, generation: u64) {
        let mut scopes = self.lock();
        if scopes
            .threads
            .get(thread_id)
            .is_some_and(|(current, _, _)| *current == generation)
        {
            scopes.remove(thread_id);
        }
    }
}

/// Keeps a thread's scope in its [`ThreadHooks`]; dropping it removes the
/// scope (unless another insertion replaced it since).
///
/// While an approval loop serves the scopes, the removal waits until the
/// loop's observers and post-tool hooks have seen the events that arrived
/// before the guard was dropped, so the scope's post-tool hooks see the
/// last items of a turn that just ended; requests of the thread meanwhile
/// still run the scope's hooks.
#[derive(Debug)]
pub struct ScopeGuard {
    scopes: ThreadHooks,
    thread_id: String,
    generation: u64,
}

impl ScopeGuard {
    /// The thread the scope is for.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let mut scopes = self.scopes.lock();
        let Scopes {
            threads, control, ..
        } = &mut *scopes;
        let Some(entry) = threads
            .get_mut(&self.thread_id)
            .filter(|(generation, _, _)| *generation == self.generation)
        else {
            return;
        };
        if let Some(control) = control {
            let release = Control::Release {
                thread_id: self.thread_id.clone(),
                generation: self.generation,
            };
            // A full queue, or a loop that ended: remove it now.
            if control.try_send(release).is_ok() {
                entry.2 = true;
                return;
            }
        }
        scopes.remove(&self.thread_id);
    }
}

/// The base set's entries matching `ctx`, then the scope's, each with the
/// set whose report its failures go to.
pub(crate) fn chain<'a, 'c>(
    base: &'a HookSet,
    scope: Option<&'a HookSet>,
    ctx: &'c HookContext,
) -> impl Iterator<Item = (&'a HookSet, &'a HookEntry)> + use<'a, 'c> {
    [Some(base), scope]
        .into_iter()
        .flatten()
        .flat_map(|set| set.hooks.iter().map(move |entry| (set, entry)))
        .filter(|(_, entry)| entry.matcher.matches(ctx))
}

/// The PreToolUse answer of `entries` (already matched against `ctx`), in
/// order, under [`combine`], with the name of the hook whose decision or
/// failure it is (`None` when no hook decided, nor when `stop`, the
/// signal of the request decided, stopped a hook: core answered then).
/// Each hook runs guarded by the set it belongs to, whose report gets its
/// failure.
pub(crate) async fn decide_chain<'a>(
    entries: impl Iterator<Item = (&'a HookSet, &'a HookEntry)>,
    ctx: &HookContext,
    stop: Option<&SettledSignal>,
) -> (Decision, Option<&'a str>) {
    // Every hook before the one that decides deferred, and `combine`
    // skips deferrals: the chain's answer is that of its last outcome.
    let mut last = None;
    let mut decider = None;
    // One copy of the context for every hook of the chain that runs in a
    // task of its own, which must own what it reads; a hook that runs in
    // place borrows it.
    let mut shared: Option<Arc<HookContext>> = None;
    for (set, entry) in entries {
        let ToolHook::Pre(hook) = &entry.hook else {
            continue;
        };
        let decided = if hook.runs_in_place() {
            set.guarded_in_place(&entry.name, entry.timeout, ctx, stop, hook.decide(ctx))
                .await
        } else {
            let hook = Arc::clone(hook);
            let owned = Arc::clone(shared.get_or_insert_with(|| Arc::new(ctx.clone())));
            let run = async move { hook.decide_shared(owned).await };
            set.guarded(&entry.name, entry.timeout, ctx, stop, run)
                .await
        };
        let outcome = match decided {
            Ok(decision) => HookOutcome::Decided(decision),
            Err(kind) => HookOutcome::Failed(kind),
        };
        let answered = match &outcome {
            HookOutcome::Decided(decision) => Some(decision),
            HookOutcome::Failed(_) => None,
        };
        set.report_ref().count(&entry.name, answered);
        if !matches!(outcome, HookOutcome::Decided(Decision::Defer)) {
            let stopped = matches!(outcome, HookOutcome::Failed(IssueKind::Stopped));
            last = Some(outcome);
            decider = (!stopped).then_some(entry.name.as_str());
            break;
        }
    }
    let decision = combine(last);
    tracing::debug!(
        tool = %ctx.tool_name,
        id = %ctx.correlation_id,
        ?decision,
        hook = decider,
        "hooks decided"
    );
    (decision, decider)
}

/// The PreToolUse decision for `ctx`: the base set's chain, then the
/// scope's, as one chain under [`combine`].
pub(crate) async fn decide<'a>(
    base: &'a HookSet,
    scope: Option<&'a HookSet>,
    ctx: &HookContext,
    stop: Option<&SettledSignal>,
) -> (Decision, Option<&'a str>) {
    let (decision, decider) = decide_chain(chain(base, scope, ctx), ctx, stop).await;
    // Each set's log sees the chain's answer: each audits what it was
    // part of.
    for set in [Some(base), scope].into_iter().flatten() {
        set.record_audit(|| AuditRecord::new(ctx, AuditEntry::tool_decision(&decision, decider)));
    }
    (decision, decider)
}

/// The first answer of the user-input hooks matching `ctx`, base set
/// first; `None` when all defer or one fails. `stop` stops a hook as in
/// [`decide_chain`].
pub(crate) async fn answer_user_input<'a>(
    base: &'a HookSet,
    scope: Option<&'a HookSet>,
    ctx: &HookContext,
    questions: &[ToolRequestUserInputQuestion],
    stop: Option<&SettledSignal>,
) -> (Option<UserAnswers>, Option<&'a str>) {
    for (set, entry) in chain(base, scope, ctx) {
        let ToolHook::UserInput(hook) = &entry.hook else {
            continue;
        };
        let hook = Arc::clone(hook);
        let owned = ctx.clone();
        let questions = questions.to_vec();
        let run = async move { hook.answer(&owned, &questions).await };
        match set
            .guarded(&entry.name, entry.timeout, ctx, stop, run)
            .await
        {
            Ok(Some(answers)) => return (Some(answers), Some(&entry.name)),
            Ok(None) => {}
            Err(IssueKind::Stopped) => return (None, None),
            // A failed hook might have refused what a later one would
            // answer: stop, and answer nothing.
            Err(_) => return (None, Some(&entry.name)),
        }
    }
    (None, None)
}

/// The first answer of the elicitation hooks matching `ctx`, base set
/// first; a failure answers [`ElicitationAnswer::Decline`], and `None`
/// means all deferred. `stop` stops a hook as in [`decide_chain`].
pub(crate) async fn answer_elicitation<'a>(
    base: &'a HookSet,
    scope: Option<&'a HookSet>,
    ctx: &HookContext,
    stop: Option<&SettledSignal>,
) -> (Option<ElicitationAnswer>, Option<&'a str>) {
    for (set, entry) in chain(base, scope, ctx) {
        let ToolHook::Elicitation(hook) = &entry.hook else {
            continue;
        };
        let hook = Arc::clone(hook);
        let owned = ctx.clone();
        let run = async move { hook.answer(&owned).await };
        match set
            .guarded(&entry.name, entry.timeout, ctx, stop, run)
            .await
        {
            Ok(Some(answer)) => return (Some(answer), Some(&entry.name)),
            Ok(None) => {}
            Err(IssueKind::Stopped) => return (Some(ElicitationAnswer::Decline), None),
            Err(_) => return (Some(ElicitationAnswer::Decline), Some(&entry.name)),
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests;
