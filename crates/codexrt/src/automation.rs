//! Recurring prompts on a session: a [`Schedule`] given to
//! [`Session::schedule`] sends the same prompt every period, at most a
//! number of times, and stops on the first failed turn or hook block
//! unless told to go on. Each run is an ordinary [`Session::ask`], so the
//! session's and the client's hooks apply to it as to any other ask.
//!
//! ```no_run
//! use std::time::Duration;
//! use codexrt::automation::Schedule;
//! # async fn demo(session: codexrt::Session) -> Result<(), codexrt::ClientError> {
//! let schedule = Schedule::every(Duration::from_secs(600), "Check CI and summarize new failures")
//!     .times(6);
//! let mut automation = session.schedule(schedule)?;
//! while let Some(run) = automation.next().await {
//!     match run.result {
//!         Ok(result) => println!("run {}: {}", run.index, result.text()),
//!         Err(err) => eprintln!("run {} failed: {err}", run.index),
//!     }
//! }
//! println!("stopped: {:?}", automation.stopped());
//! # Ok(())
//! # }
//! ```

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::{ClientError, PromptRunError, PromptRunResult, Session};

/// How many finished runs wait unread before the schedule waits for its
/// reader (it never drops one).
const UNREAD_RUNS: usize = 16;

/// When and how often to send a prompt; see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct Schedule {
    prompt: String,
    period: Duration,
    first_after: Duration,
    times: Option<u64>,
    continue_after_failure: bool,
    continue_after_block: bool,
}

impl Schedule {
    /// Sends `prompt` at once and then every `period`, until cancelled.
    ///
    /// A run that takes longer than the period delays the next one, which
    /// then starts as soon as the session is free: runs never overlap (a
    /// session runs one turn at a time) and missed periods are not made
    /// up in a burst. A `period` of zero runs the prompt back to back.
    pub fn every(period: Duration, prompt: impl Into<String>) -> Self {
        Schedule {
            prompt: prompt.into(),
            period,
            first_after: Duration::ZERO,
            times: None,
            continue_after_failure: false,
            continue_after_block: false,
        }
    }

    /// At most `runs` runs, then the schedule stops with
    /// [`Stopped::Done`]. The default is no limit; `0` runs nothing.
    #[must_use]
    pub fn times(mut self, runs: u64) -> Self {
        self.times = Some(runs);
        self
    }

    /// Waits `delay` before the first run. The default is to run at once.
    #[must_use]
    pub fn first_after(mut self, delay: Duration) -> Self {
        self.first_after = delay;
        self
    }

    /// Goes on after a run that did not complete (failed, interrupted,
    /// timed out, or a call that failed). The default is to stop with
    /// [`Stopped::Failed`]. Going on, a client whose connection is gone
    /// for good (no [`ReconnectPolicy`](crate::ReconnectPolicy) or
    /// [`RestartPolicy`](crate::RestartPolicy), or one that gave up) fails
    /// every later run, so bound such a schedule with [`Schedule::times`].
    #[must_use]
    pub fn continue_after_failure(mut self) -> Self {
        self.continue_after_failure = true;
        self
    }

    /// Goes on after a run that a PreTurn hook blocked. The default is to
    /// stop with [`Stopped::Blocked`].
    #[must_use]
    pub fn continue_after_block(mut self) -> Self {
        self.continue_after_block = true;
        self
    }

    /// The prompt.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// One run of a schedule.
#[derive(Debug)]
#[non_exhaustive]
pub struct ScheduledRun {
    /// 1 for the first run, and so on.
    pub index: u64,
    /// When the run was started (its ask was made).
    pub started: Instant,
    /// What the ask returned.
    pub result: Result<PromptRunResult, PromptRunError>,
}

/// Why a schedule stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopped {
    /// It made the number of runs [`Schedule::times`] allowed.
    Done,
    /// The run of this index did not complete (see its result).
    Failed {
        /// The run.
        index: u64,
    },
    /// A PreTurn hook blocked the run of this index.
    Blocked {
        /// The run.
        index: u64,
    },
    /// [`Automation::cancel`] was called or the [`Automation`] dropped. A
    /// run in progress then was interrupted, and is not reported.
    Cancelled,
}

/// A running [`Schedule`]: its runs, in order, through [`Automation::next`]
/// (or as a [`futures_core::Stream`]), and how it stopped.
///
/// Dropping it cancels the schedule, as [`Automation::cancel`] does.
#[derive(Debug)]
pub struct Automation {
    runs: mpsc::Receiver<ScheduledRun>,
    cancel: watch::Sender<bool>,
    stopped: Arc<Mutex<Option<Stopped>>>,
}

impl Session {
    /// Starts `schedule` on this session, on the current tokio runtime.
    ///
    /// # Errors
    /// [`ClientError::NoRuntime`] when called outside a tokio runtime.
    pub fn schedule(&self, schedule: Schedule) -> Result<Automation, ClientError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        let (runs_tx, runs) = mpsc::channel(UNREAD_RUNS);
        let (cancel, cancelled) = watch::channel(false);
        let stopped = Arc::new(Mutex::new(None));
        let task = Task {
            session: self.clone(),
            schedule,
            runs: runs_tx,
            cancelled,
            stopped: Arc::clone(&stopped),
        };
        handle.spawn(task.run());
        Ok(Automation {
            runs,
            cancel,
            stopped,
        })
    }
}

impl Automation {
    /// The next finished run, in order; `None` once the schedule stopped
    /// and every run was read (then [`Automation::stopped`] says why).
    ///
    /// # Cancel safety
    /// Cancel safe: a run leaves the queue only when this returns it.
    pub async fn next(&mut self) -> Option<ScheduledRun> {
        self.runs.recv().await
    }

    /// Stops the schedule: no new run starts, and a run in progress is
    /// dropped, which interrupts its turn (see [`Session::ask`]'s
    /// `# Cancel safety`). Runs that finished before are still read
    /// through [`Automation::next`], then it returns `None`.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    /// Why the schedule stopped; `None` while it runs.
    pub fn stopped(&self) -> Option<Stopped> {
        self.stopped.lock().ok().and_then(|stopped| stopped.clone())
    }
}

impl Drop for Automation {
    fn drop(&mut self) {
        self.cancel.send_replace(true);
    }
}

impl futures_core::Stream for Automation {
    type Item = ScheduledRun;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ScheduledRun>> {
        self.runs.poll_recv(cx)
    }
}

/// The schedule's task.
struct Task {
    session: Session,
    schedule: Schedule,
    runs: mpsc::Sender<ScheduledRun>,
    cancelled: watch::Receiver<bool>,
    stopped: Arc<Mutex<Option<Stopped>>>,
}

impl Task {
    async fn run(mut self) {
        let mut cancelled = self.cancelled.clone();
        let stopped = tokio::select! {
            // Cancellation wins over a run that finishes in the same poll.
            biased;
            _ = cancelled.wait_for(|cancel| *cancel) => Stopped::Cancelled,
            stopped = self.runs() => stopped,
        };
        tracing::debug!(?stopped, "schedule stopped");
        if let Ok(mut slot) = self.stopped.lock() {
            *slot = Some(stopped);
        }
        // Dropping the sender (with `self`) ends the reader's `next`
        // after the runs already queued.
    }

    /// Runs the schedule until it stops by itself.
    async fn runs(&mut self) -> Stopped {
        let start = tokio::time::Instant::now() + self.schedule.first_after;
        let mut ticks = (!self.schedule.period.is_zero()).then(|| {
            let mut ticks = tokio::time::interval_at(start, self.schedule.period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticks
        });
        if ticks.is_none() {
            tokio::time::sleep_until(start).await;
        }
        let mut index = 0;
        loop {
            if self.schedule.times.is_some_and(|times| index >= times) {
                return Stopped::Done;
            }
            if let Some(ticks) = &mut ticks {
                ticks.tick().await;
            }
            index += 1;
            let started = Instant::now();
            let result = self.session.ask(self.schedule.prompt.clone()).await;
            let stop = match &result {
                Ok(_) => None,
                Err(PromptRunError::Blocked(_)) => {
                    (!self.schedule.continue_after_block).then_some(Stopped::Blocked { index })
                }
                Err(_) => {
                    (!self.schedule.continue_after_failure).then_some(Stopped::Failed { index })
                }
            };
            let run = ScheduledRun {
                index,
                started,
                result,
            };
            if self.runs.send(run).await.is_err() {
                // The reader is gone, and with it the automation: that
                // cancels it.
                return Stopped::Cancelled;
            }
            if let Some(stop) = stop {
                return stop;
            }
        }
    }
}
