//! [`Session`]: one thread, asked several prompts in turn, with interrupt,
//! steer, fork, read and close.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use codexrt_core::TurnHandle;
use codexrt_hooks::{Phase, Plan, ScopeGuard};
use codexrt_protocol::types::{
    Thread, ThreadReadParams, ThreadStartParams, ThreadUnsubscribeParams, ThreadUnsubscribeStatus,
    TurnInterruptParams, TurnSteerParams,
};
use tokio::sync::OwnedMutexGuard;
use tracing::{Instrument, Span};

use crate::cancel::TurnGuard;
use crate::policy::{PostTurn, correlation_id, lifecycle_context};
use crate::profile::{absolute_dir, text_input, turn_start};
use crate::run::{StartedTurn, conclude, record_thread, start_turn, thread_span};
use crate::{AskStream, Client, ClientError, PromptRunError, PromptRunResult, SessionConfig};

/// How a session gets its thread.
#[derive(Debug)]
pub(crate) enum SessionKind {
    /// `thread/start`.
    Start,
    /// `thread/resume` of this thread.
    Resume(String),
    /// `thread/fork` of this thread.
    Fork(String),
}

/// A conversation on one thread, from [`Client::start_session`],
/// [`Client::resume_session`] or [`Session::fork`]. Every ask is a turn of
/// the same thread, so codex keeps the earlier exchanges as context.
///
/// Cheap to clone; clones share the thread and its running turn, so one
/// task can [`interrupt`](Session::interrupt) what another is waiting for.
///
/// **One turn at a time.** codex folds a `turn/start` sent while a turn
/// runs into that turn, so the session never sends one: an ask made while
/// another ask's turn runs waits for that turn to end, and asks waiting
/// together go in the order they came. A dropped ask (its future, or its
/// [`AskStream`] before the end) interrupts its turn in the background,
/// and the next ask waits until codex ended it; see the `# Cancel safety`
/// of [`Session::ask`].
///
/// After the client reconnected or restarted codex
/// ([`ReconnectPolicy`](crate::ReconnectPolicy),
/// [`RestartPolicy`](crate::RestartPolicy)), the next ask first resumes
/// the thread on the new server (`thread/resume` with the session's
/// settings), so the model sees the conversation so far. The turn that
/// was running when the connection dropped is not sent again.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    thread_id: String,
    config: SessionConfig,
    /// The generation of the client's runtime that has the thread loaded;
    /// on another one, the thread is resumed first.
    generation: AtomicU64,
    /// The session's running turn, from its `turn/start` answer until
    /// codex says it ended (also after the ask that started it was
    /// dropped).
    running: Mutex<Option<String>>,
    /// Held by an ask from before its PreTurn hooks until its turn is
    /// over, so that asks take turns in the order they came.
    turn_slot: Arc<tokio::sync::Mutex<()>>,
    /// The thread's settings as the hooks see them before each turn: the
    /// session's, with what PreSessionStart and earlier PreTurn hooks
    /// changed for good.
    plan: Mutex<Plan>,
    /// Keeps the session's hooks in charge of its thread, with the model
    /// it runs; `None` when no hook would read it.
    scope: Mutex<Option<ScopeGuard>>,
    /// Something that lives as long as the session (a pool's place on its
    /// endpoint): until the last clone is dropped and no dropped ask's
    /// turn is still being interrupted.
    held: Mutex<Option<Box<dyn std::fmt::Debug + Send>>>,
    /// The thread's `codexrt.thread` span, under the connection that
    /// opened the session: every ask, call and hook of the session runs
    /// in it.
    span: Span,
}

impl Session {
    /// Runs PreSessionStart, gets the thread as `kind` says, puts the
    /// session's hooks in charge of it and runs PostSessionStart.
    pub(crate) async fn open(
        client: Client,
        kind: SessionKind,
        mut config: SessionConfig,
    ) -> Result<Session, ClientError> {
        let extra = config.profile().shared_hooks();
        let hooks = client.hooks();
        let current = client.current().await?;
        let runtime = &current.runtime;
        hooks.start(runtime, extra.as_deref())?;
        let id = correlation_id("session");
        let known = match &kind {
            SessionKind::Start => "",
            SessionKind::Resume(thread_id) | SessionKind::Fork(thread_id) => thread_id,
        };
        let plan = config.profile().plan(None, absolute_dir(config.cwd())?);
        let plan = hooks.thread_plan(extra.as_deref(), plan);
        let ctx = lifecycle_context(Phase::PreSessionStart, known, &id, &plan);
        let mut plan = hooks.before(extra.as_deref(), ctx).await?;
        config.apply(&plan);
        crate::output::check(plan.output_schema.as_ref())?;
        let cwd = absolute_dir(config.cwd())?;
        crate::cwd::check(client.cwd_check(), runtime, &cwd).await?;
        plan.cwd = Some(cwd.clone());
        let profile = config.profile();
        // A resumed thread is named now; a new or forked one once codex
        // answered.
        let span = match &kind {
            SessionKind::Resume(thread_id) => thread_span(runtime, Some(thread_id)),
            SessionKind::Start | SessionKind::Fork(_) => thread_span(runtime, None),
        };
        let (thread_id, model) = match kind {
            SessionKind::Start => {
                let params = ThreadStartParams {
                    dynamic_tools: hooks.tool_specs(extra.as_deref()),
                    ..profile.thread_start(cwd)
                };
                let started = runtime.call(params).instrument(span.clone()).await?;
                (started.thread.id, started.model)
            }
            SessionKind::Resume(thread_id) => {
                let params = profile.thread_resume(thread_id, cwd);
                let resumed = runtime.call(params).instrument(span.clone()).await?;
                (resumed.thread.id, resumed.model)
            }
            SessionKind::Fork(thread_id) => {
                let params = profile.thread_fork(thread_id, cwd);
                let forked = runtime.call(params).instrument(span.clone()).await?;
                (forked.thread.id, forked.model)
            }
        };
        record_thread(&span, &thread_id);
        let scope = hooks.scope(&thread_id, extra.clone(), model);
        let ctx = lifecycle_context(Phase::PostSessionStart, &thread_id, &id, &plan);
        hooks
            .after(extra.as_deref(), &ctx)
            .instrument(span.clone())
            .await;
        Ok(Session {
            inner: Arc::new(Inner {
                thread_id,
                config,
                generation: AtomicU64::new(current.generation),
                client,
                running: Mutex::new(None),
                turn_slot: Arc::default(),
                plan: Mutex::new(plan),
                scope: Mutex::new(scope),
                held: Mutex::new(None),
                span,
            }),
        })
    }

    /// Keeps `value` until the session is gone: its last clone dropped,
    /// and the turn of a dropped ask ended.
    pub(crate) fn hold(&self, value: impl std::fmt::Debug + Send + 'static) {
        *self
            .inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(value));
    }

    /// The session's thread.
    pub fn thread_id(&self) -> &str {
        &self.inner.thread_id
    }

    /// The thread's `codexrt.thread` span (see the crate's
    /// [Observability](crate#observability)): the session's asks, turns,
    /// calls and hooks nest under it; work of yours that belongs to the
    /// session can too.
    pub fn span(&self) -> &Span {
        &self.inner.span
    }

    /// Calls `params` on the client's runtime now, under the thread's span.
    async fn call<P: codexrt_protocol::ClientRequest>(
        &self,
        params: P,
    ) -> Result<P::Response, ClientError> {
        let runtime = self.inner.client.live_runtime().await?;
        Ok(runtime
            .call(params)
            .instrument(self.inner.span.clone())
            .await?)
    }

    /// The settings the session was started with.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The session's running turn, if any: from the answer to its
    /// `turn/start` until codex says it ended, also when the ask that
    /// started it was dropped (its turn is being interrupted).
    pub fn running_turn(&self) -> Option<String> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `prompt` as a new turn and waits for it to end. `Ok` means
    /// the turn completed.
    ///
    /// One turn runs at a time on a thread: while another ask's turn runs
    /// (or a dropped ask's turn is being interrupted), this ask waits for
    /// it to end before its PreTurn hooks run and its `turn/start` is
    /// sent; asks waiting together go in the order they came.
    ///
    /// # Errors
    /// As for [`Client::run_with`](crate::Client::run_with), and
    /// [`ClientError::Runtime`] with
    /// [`CoreError::TurnAlreadyStarted`](crate::CoreError::TurnAlreadyStarted)
    /// when codex answered `turn/start` with a turn that was already
    /// running (one started elsewhere on the thread): the prompt went
    /// into that turn, and it is not joined.
    ///
    /// # Cancel safety
    /// Dropping the future before the turn ended interrupts the turn:
    /// a task on the runtime sends `turn/interrupt` (at most 10 s, a
    /// warning in the log when it fails) and waits for codex to end the
    /// turn. Until then [`Session::running_turn`] still names it,
    /// [`Session::interrupt`] applies to it and the next ask waits. The
    /// PostTurn hooks of a dropped ask do not run. Dropped before codex
    /// answered `turn/start`, the turn is unknown to the session: the
    /// runtime interrupts it once the answer comes (see
    /// [`Runtime::start_turn`](codexrt_core::Runtime::start_turn)), and the
    /// next ask's `turn/start` waits for that.
    pub async fn ask(&self, prompt: impl Into<String>) -> Result<PromptRunResult, PromptRunError> {
        self.ask_with_schema(prompt.into(), None).await
    }

    /// Sends `prompt` as a new turn asking for an answer shaped as `T`
    /// (the schema of [`output_schema_for::<T>()`](crate::output_schema_for),
    /// for this turn only, in place of the session's
    /// [`output_schema`](crate::SessionConfig::output_schema)), waits for
    /// it to end and reads the answer into `T`
    /// ([`PromptRunResult::parse`]).
    ///
    /// # Errors
    /// As for [`Session::ask`], and [`PromptRunError::InvalidOutput`] when
    /// the turn completed with an answer that is not JSON `T` deserializes
    /// from.
    ///
    /// # Cancel safety
    /// As for [`Session::ask`].
    #[cfg(feature = "schemars")]
    pub async fn ask_json<T>(&self, prompt: impl Into<String>) -> Result<T, PromptRunError>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        let schema = crate::output_schema_for::<T>();
        let result = self.ask_with_schema(prompt.into(), Some(schema)).await?;
        Ok(result.parse()?)
    }

    /// [`Session::ask`], with `schema` as the turn's output schema when
    /// given.
    async fn ask_with_schema(
        &self,
        prompt: String,
        schema: Option<serde_json::Value>,
    ) -> Result<PromptRunResult, PromptRunError> {
        async {
            let (turn, slot, post) = self.start(prompt, schema).await?;
            let sent_at = turn.sent_at;
            let mut guard = self.guard(turn.handle, slot);
            let waited = guard.outcome().await;
            drop(guard);
            let result = conclude(waited, sent_at);
            let outcome = post.outcome(&result);
            post.run(outcome).await;
            result
        }
        .instrument(self.inner.span.clone())
        .await
    }

    /// Sends `prompt` as a new turn and streams its events: text deltas,
    /// the other notifications, and last the outcome
    /// ([`SessionEvent::Finished`](crate::SessionEvent::Finished)). Waits
    /// for a running turn first, as [`Session::ask`] does.
    ///
    /// # Errors
    /// [`PromptRunError::EmptyPrompt`], or [`PromptRunError::Client`] when
    /// `turn/start` fails (as for [`Session::ask`]); how the turn ended
    /// comes through the stream.
    ///
    /// # Cancel safety
    /// Dropping the future interrupts the turn, as for [`Session::ask`];
    /// so does dropping the [`AskStream`] before
    /// [`SessionEvent::Finished`](crate::SessionEvent::Finished).
    pub async fn ask_stream(&self, prompt: impl Into<String>) -> Result<AskStream, PromptRunError> {
        let (mut turn, slot, post) = self
            .start(prompt.into(), None)
            .instrument(self.inner.span.clone())
            .await?;
        let events = turn.handle.events();
        let sent_at = turn.sent_at;
        let guard = self.guard(turn.handle, slot);
        Ok(AskStream::new(guard, events, sent_at, post))
    }

    /// Keeps `handle`'s turn as the session's running one, and `slot`
    /// held, until the turn is over, even when the ask is dropped first.
    fn guard(&self, handle: TurnHandle, slot: OwnedMutexGuard<()>) -> TurnGuard {
        let session = Arc::clone(&self.inner);
        let turn_id = handle.turn_id().to_owned();
        let on_end = move || {
            let mut running = session
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if running.as_deref() == Some(turn_id.as_str()) {
                *running = None;
            }
            drop(running);
            // The next ask may start now.
            drop(slot);
        };
        TurnGuard::new(handle, Some(Box::new(on_end)))
    }

    /// Runs PreTurn and starts the turn, with `schema` as its output
    /// schema when given.
    async fn start(
        &self,
        prompt: String,
        schema: Option<serde_json::Value>,
    ) -> Result<(StartedTurn, OwnedMutexGuard<()>, PostTurn), PromptRunError> {
        let inner = &self.inner;
        // One turn at a time: wait for the one running (or being
        // interrupted) to end.
        let slot = Arc::clone(&inner.turn_slot).lock_owned().await;
        let profile = inner.config.profile();
        let extra = profile.shared_hooks();
        let hooks = inner.client.hooks();
        let runtime = self.attached().await?;
        let thread_plan = inner
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut ask = thread_plan.clone();
        ask.prompt = Some(prompt);
        if schema.is_some() {
            ask.output_schema = schema;
        }
        let id = correlation_id("turn");
        let ctx = lifecycle_context(Phase::PreTurn, &inner.thread_id, &id, &ask);
        let plan = hooks.before(extra.as_deref(), ctx).await?;
        let input = profile.input(plan.prompt.clone().unwrap_or_default(), &plan.extra_context)?;
        // The session's own schema was checked when it started.
        if plan.output_schema != thread_plan.output_schema {
            crate::output::check(plan.output_schema.as_ref())?;
        }
        let options = profile.turn_options(inner.client.config());
        let params = turn_start(inner.thread_id.clone(), input, &thread_plan, &plan);
        if let Some(model) = plan
            .model
            .as_ref()
            .filter(|_| plan.model != thread_plan.model)
        {
            // The thread's hooks see the model the turn runs from now on.
            let scope = hooks.scope(&inner.thread_id, extra.clone(), model.clone());
            *inner.scope.lock().unwrap_or_else(PoisonError::into_inner) = scope;
        }
        let turn = start_turn(&runtime, params, options).await?;
        {
            // codex keeps a turn's overrides for the thread's later turns.
            let mut kept = inner.plan.lock().unwrap_or_else(PoisonError::into_inner);
            kept.model.clone_from(&plan.model);
            kept.cwd.clone_from(&plan.cwd);
            kept.approval_policy.clone_from(&plan.approval_policy);
            kept.sandbox.clone_from(&plan.sandbox);
        }
        let turn_id = turn.handle.turn_id().to_owned();
        let mut ctx = lifecycle_context(Phase::PostTurn, &inner.thread_id, &id, &plan);
        ctx.turn_id = Some(turn_id.clone());
        let post = PostTurn::new(inner.client.clone(), extra, ctx);
        *self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(turn_id);
        Ok((turn, slot, post))
    }

    /// The client's runtime now, with the thread loaded on it: after a
    /// reconnect, the thread is resumed first with the session's settings.
    async fn attached(&self) -> Result<codexrt_core::Runtime, ClientError> {
        let inner = &self.inner;
        let current = inner.client.current().await?;
        if inner.generation.load(Ordering::Acquire) != current.generation {
            let cwd = inner
                .plan
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cwd
                .clone();
            let cwd = match cwd {
                Some(cwd) => cwd,
                None => absolute_dir(inner.config.cwd())?,
            };
            let profile = inner.config.profile();
            let extra = profile.shared_hooks();
            inner
                .client
                .hooks()
                .start(&current.runtime, extra.as_deref())?;
            let params = profile.thread_resume(inner.thread_id.clone(), cwd);
            current.runtime.call(params).await?;
            inner
                .generation
                .store(current.generation, Ordering::Release);
        }
        Ok(current.runtime)
    }

    fn running_or_err(&self) -> Result<String, ClientError> {
        self.running_turn()
            .ok_or_else(|| ClientError::NoTurnRunning {
                thread_id: self.inner.thread_id.clone(),
            })
    }

    /// Asks codex to stop the running turn (`turn/interrupt`); the waiting
    /// ask then ends with [`PromptRunError::Interrupted`]. A dropped ask's
    /// turn counts as running until codex ended it.
    ///
    /// # Errors
    /// [`ClientError::NoTurnRunning`] when no turn is running (nothing
    /// sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call; codex may have acted.
    pub async fn interrupt(&self) -> Result<(), ClientError> {
        let params = TurnInterruptParams {
            thread_id: self.inner.thread_id.clone(),
            turn_id: self.running_or_err()?,
        };
        self.call(params).await?;
        Ok(())
    }

    /// Adds `prompt` to the running turn (`turn/steer`).
    ///
    /// # Errors
    /// [`ClientError::NoTurnRunning`] when no turn is running (nothing
    /// sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn steer(&self, prompt: impl Into<String>) -> Result<(), ClientError> {
        let params = TurnSteerParams {
            thread_id: self.inner.thread_id.clone(),
            expected_turn_id: self.running_or_err()?,
            input: vec![text_input(prompt.into())],
            ..TurnSteerParams::default()
        };
        self.call(params).await?;
        Ok(())
    }

    /// Copies the thread into a new one (`thread/fork`) with this session's
    /// settings, and returns a session on the copy. The session hooks run
    /// as for [`Client::start_session`], and the copy gets this session's
    /// hooks.
    ///
    /// # Errors
    /// As for [`Client::start_session`].
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn fork(&self) -> Result<Session, ClientError> {
        let kind = SessionKind::Fork(self.inner.thread_id.clone());
        Session::open(self.inner.client.clone(), kind, self.inner.config.clone()).await
    }

    /// The thread with its turns (`thread/read`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing changes on the server.
    pub async fn read(&self) -> Result<Thread, ClientError> {
        let params = ThreadReadParams {
            thread_id: self.inner.thread_id.clone(),
            include_turns: Some(true),
        };
        Ok(self.call(params).await?.thread)
    }

    /// Stops following the thread (`thread/unsubscribe`); codex unloads it
    /// once no client follows it. The thread stays stored and can be
    /// resumed.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Session::interrupt`].
    pub async fn close(self) -> Result<ThreadUnsubscribeStatus, ClientError> {
        let params = ThreadUnsubscribeParams {
            thread_id: self.inner.thread_id.clone(),
        };
        Ok(self.call(params).await?.status)
    }
}
