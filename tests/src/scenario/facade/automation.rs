//! A schedule of recurring prompts ([`Session::schedule`](codexrt::Session::schedule))
//! against the real codex: runs in order with the session's hooks, and
//! each way a schedule stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codexrt::automation::{Automation, Schedule, ScheduledRun, Stopped};
use codexrt::hooks::{
    HookContext, HookEntry, HookSet, LifecycleHook, Phase, Verdict, lifecycle_fn,
};
use codexrt::protocol::types::TurnStatus;
use codexrt::{PromptRunError, SessionConfig};
use codexrt_testkit::{Reply, Script};

use super::harness::WAIT;
use super::{FacadeError, Harness};
use crate::scenario::{ScenarioError, check, check_eq};

/// Reads every run of `automation` until it ends, each within [`WAIT`].
async fn all_runs(automation: &mut Automation) -> Result<Vec<ScheduledRun>, FacadeError> {
    let mut runs = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, automation.next()).await {
            Ok(Some(run)) => runs.push(run),
            Ok(None) => return Ok(runs),
            Err(_) => {
                return Err(ScenarioError::unexpected(
                    "the schedule's next run or its end",
                    format!("nothing within {WAIT:?} after {} runs", runs.len()),
                )
                .into());
            }
        }
    }
}

/// A session in the harness's workspace with one lifecycle hook.
fn with_lifecycle_hook(
    harness: &Harness,
    name: &str,
    hook: impl LifecycleHook + 'static,
) -> SessionConfig {
    SessionConfig::new(harness.workspace())
        .hooks(HookSet::new().hook(HookEntry::lifecycle(name, hook)))
}

/// What each run gave: its index and the answer or the error's kind.
fn summary(runs: &[ScheduledRun]) -> Vec<(u64, String)> {
    runs.iter()
        .map(|run| {
            let what = match &run.result {
                Ok(result) => result.text().to_owned(),
                Err(PromptRunError::Blocked(_)) => "blocked".to_owned(),
                Err(PromptRunError::Failed { result }) => {
                    format!("failed ({:?})", result.status == TurnStatus::Failed)
                }
                Err(other) => format!("other: {other}"),
            };
            (run.index, what)
        })
        .collect()
}

/// Four schedules on one client, each a session of its own:
/// - three runs, 50 ms apart: all three answers in order, a PreTurn
///   hook saw each, and the schedule is `Done`;
/// - a PreTurn hook that blocks the second run: one answer, then the
///   block, and the schedule is `Blocked` with nothing more sent;
/// - a turn that fails (the model answers HTTP 500): `Failed` at once;
/// - cancelled after its first run while the next waits an hour:
///   `Cancelled`, and nothing more is sent.
///
/// # Errors
/// Any [`FacadeError`].
pub async fn scheduled_prompts(version: &str) -> Result<(), FacadeError> {
    let script = Script::replies([
        Reply::message("first"),
        Reply::message("second"),
        Reply::message("third"),
        Reply::message("before the block"),
        Reply::fail(500),
        Reply::message("once before cancel"),
    ]);
    let harness = Harness::start(version, script).await?;
    let client = harness.connect().await?;

    // Three runs, with a PreTurn hook counting them.
    let pre_turns = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pre_turns);
    let counting = lifecycle_fn(move |ctx: HookContext| {
        let counter = Arc::clone(&counter);
        async move {
            if ctx.phase == Phase::PreTurn {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Verdict::Continue)
        }
    });
    let session = client
        .start_session(with_lifecycle_hook(&harness, "count", counting))
        .await?;
    let mut three = session
        .schedule(Schedule::every(Duration::from_millis(50), "report").times(3))
        .map_err(PromptRunError::from)?;
    let runs = all_runs(&mut three).await?;
    check_eq(
        "the three runs",
        summary(&runs),
        vec![
            (1, "first".to_owned()),
            (2, "second".to_owned()),
            (3, "third".to_owned()),
        ],
    )?;
    check_eq("how it stopped", three.stopped(), Some(Stopped::Done))?;
    check_eq("the PreTurn hooks run", pre_turns.load(Ordering::SeqCst), 3)?;
    let threads: Vec<&str> = runs
        .iter()
        .filter_map(|run| run.result.as_ref().ok())
        .map(|result| result.thread_id.as_str())
        .collect();
    check_eq("the runs' thread", threads, vec![session.thread_id(); 3])?;
    check(
        "the runs one period apart or more",
        runs.windows(2)
            .all(|pair| pair[1].started >= pair[0].started + Duration::from_millis(50)),
        runs.iter().map(|run| run.started).collect::<Vec<_>>(),
    )?;

    // A PreTurn hook that blocks the second run.
    let seen = Arc::new(AtomicUsize::new(0));
    let blocker = lifecycle_fn(move |ctx: HookContext| {
        let seen = Arc::clone(&seen);
        async move {
            if ctx.phase == Phase::PreTurn && seen.fetch_add(1, Ordering::SeqCst) == 1 {
                return Ok(Verdict::block("enough for today"));
            }
            Ok(Verdict::Continue)
        }
    });
    let blocked = client
        .start_session(with_lifecycle_hook(&harness, "block", blocker))
        .await?;
    let mut schedule = blocked
        .schedule(Schedule::every(Duration::from_millis(10), "report"))
        .map_err(PromptRunError::from)?;
    let runs = all_runs(&mut schedule).await?;
    check_eq(
        "the runs until the block",
        summary(&runs),
        vec![
            (1, "before the block".to_owned()),
            (2, "blocked".to_owned()),
        ],
    )?;
    check_eq(
        "how it stopped",
        schedule.stopped(),
        Some(Stopped::Blocked { index: 2 }),
    )?;
    check_eq(
        "the model requests so far",
        harness.model().requests().len(),
        4,
    )?;

    // A failed turn stops the schedule.
    let failing = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let mut schedule = failing
        .schedule(Schedule::every(Duration::from_millis(10), "report"))
        .map_err(PromptRunError::from)?;
    let runs = all_runs(&mut schedule).await?;
    check_eq(
        "the failed run",
        summary(&runs),
        vec![(1, "failed (true)".to_owned())],
    )?;
    check_eq(
        "how it stopped",
        schedule.stopped(),
        Some(Stopped::Failed { index: 1 }),
    )?;

    // Cancelled while the next run waits.
    let cancelled = client
        .start_session(SessionConfig::new(harness.workspace()))
        .await?;
    let mut schedule = cancelled
        .schedule(Schedule::every(Duration::from_secs(3600), "report"))
        .map_err(PromptRunError::from)?;
    let first = tokio::time::timeout(WAIT, schedule.next())
        .await
        .map_err(|_| ScenarioError::unexpected("the first run", "nothing in time"))?;
    check_eq(
        "the first run",
        summary(first.as_slice()),
        vec![(1, "once before cancel".to_owned())],
    )?;
    schedule.cancel();
    let rest = all_runs(&mut schedule).await?;
    check_eq("the runs after cancel", rest.len(), 0)?;
    check_eq(
        "how it stopped",
        schedule.stopped(),
        Some(Stopped::Cancelled),
    )?;
    check_eq("the model requests", harness.model().requests().len(), 6)?;
    harness.finish(client).await
}
