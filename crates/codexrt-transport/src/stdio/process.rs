//! The child's process group: signals to the whole group, reaping, the
//! shutdown ladder, and the last-resort kill when the driver is dropped.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use libc::{SIGKILL, SIGTERM, c_int, pid_t};
use tokio::process::Child;

/// A child that leads its own process group (spawned with
/// `process_group(0)`, so the group id is the child's pid), until it is
/// reaped.
///
/// Dropping it before the child was reaped (the driver task was dropped, for
/// instance because the runtime is shutting down) sends SIGKILL to the group
/// right away, without spawning anything; the `Child` it holds was spawned
/// with `kill_on_drop`, so Tokio then reaps the leader in the background.
#[derive(Debug)]
pub(super) struct ProcessGroup {
    child: Child,
    /// The child's pid and group id; always positive, so never one of the
    /// special values that `kill` and `killpg` read as "my own group" or
    /// "every process I may signal".
    pid: pid_t,
    status: Option<ExitStatus>,
}

impl ProcessGroup {
    /// Takes charge of a freshly spawned child.
    ///
    /// # Errors
    /// When the child has no usable pid (it was already reaped), which does
    /// not happen to a child that was just spawned.
    pub(super) fn new(child: Child) -> io::Result<Self> {
        let pid = child
            .id()
            .and_then(|id| pid_t::try_from(id).ok())
            .filter(|&pid| pid > 0)
            .ok_or_else(|| io::Error::other("the child has no pid"))?;
        Ok(ProcessGroup {
            child,
            pid,
            status: None,
        })
    }

    /// The child's pid, which is also its group id.
    pub(super) fn pid(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// Waits for the child to exit and reaps it, then kills what is left of
    /// its group (see [`kill_leftovers`](Self::kill_leftovers)). Returns the
    /// same status on every later call.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.status = Some(status);
        self.kill_leftovers();
        Ok(status)
    }

    /// The shutdown ladder after stdin was closed: gives the child `grace` to
    /// exit, then sends SIGTERM to the group and gives it `grace` again, then
    /// sends SIGKILL to the group; the child is reaped in every case.
    ///
    /// # Errors
    /// Signalling or reaping failed.
    ///
    /// # Cancel safety
    /// Not cancel safe: a dropped ladder may have signalled the group already.
    pub(super) async fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.wait_for(grace).await? {
            return Ok(status);
        }
        tracing::debug!(
            pid = self.pid,
            "child still running after stdin was closed; sending SIGTERM"
        );
        if let Err(err) = self.signal(SIGTERM) {
            // SIGKILL may still work; the error is reported if it does not.
            tracing::debug!(pid = self.pid, %err, "SIGTERM to the process group failed");
        } else if let Some(status) = self.wait_for(grace).await? {
            return Ok(status);
        }
        tracing::debug!(
            pid = self.pid,
            "child still running after SIGTERM; sending SIGKILL"
        );
        self.kill().await
    }

    /// Sends SIGKILL to the group and reaps the child.
    ///
    /// # Errors
    /// Signalling or reaping failed.
    ///
    /// # Cancel safety
    /// Cancel safe; the signal is sent on the first poll.
    pub(super) async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.signal(SIGKILL)?;
        self.wait().await
    }

    /// Waits up to `limit` for the child to exit.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub(super) async fn wait_for(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        match tokio::time::timeout(limit, self.wait()).await {
            Ok(status) => status.map(Some),
            Err(_elapsed) => Ok(None),
        }
    }

    /// Sends `signal` to the group while the child is not reaped yet. Until
    /// it is reaped, its pid (and so the group id) cannot be handed to another
    /// process, so the signal cannot reach a stranger.
    fn signal(&self, signal: c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match killpg(self.pid, signal) {
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => {
                // The group is empty: the child left it (setsid) and took no
                // one along. It is still ours to stop, by pid.
                match kill(self.pid, signal) {
                    Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Sends SIGKILL once to what is left of the group after the child was
    /// reaped, so that no grandchild outlives it as an orphan.
    ///
    /// Once the child is reaped its pid is free, but Linux does not reuse a
    /// number while it still names a live process group, so while any
    /// grandchild remains the signal reaches exactly them. Only when the group
    /// is already empty could the number have been reused, and then only a
    /// process that made itself a group leader in the microseconds between the
    /// reaping and this call would be hit. Closing that window would need
    /// `waitid(WNOWAIT)` on a blocking thread, since Tokio reaps inside `wait`.
    fn kill_leftovers(&self) {
        match killpg(self.pid, SIGKILL) {
            Ok(()) => tracing::debug!(pid = self.pid, "killed processes left in the child's group"),
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => {}
            Err(err) => tracing::debug!(pid = self.pid, %err, "killing the child's group failed"),
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Nothing can be awaited here; the `Child` dropped next has
            // `kill_on_drop` and Tokio reaps it.
            if let Err(err) = self.signal(SIGKILL) {
                tracing::debug!(pid = self.pid, %err, "killing the child's group on drop failed");
            }
        }
    }
}

/// Makes the child receive SIGKILL when the thread that spawns it ends,
/// which happens when this process dies, even by SIGKILL, so that a crash
/// of ours does not leave codex running. Linux only.
///
/// What this cannot catch: the signal goes to the child alone (the setting
/// is not inherited by its own children), and when we are SIGKILLed nothing
/// of ours is left to kill the group, so a grandchild survives unless the
/// child takes it down on its way out. The parent is, strictly, the
/// spawning *thread*: a child spawned from a thread that ends while the
/// connection lives on (a runtime's `block_on` on a short-lived thread)
/// is killed with it. Tokio's worker threads and a `#[tokio::main]` thread
/// live as long as their runtime.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(super) fn die_with_parent(command: &mut tokio::process::Command) {
    let parent = std::process::id();
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`,
    // where only async-signal-safe calls are allowed. It makes two system
    // calls, `prctl` and `getppid`, both async-signal-safe; it allocates
    // nothing (`from_raw_os_error` and `last_os_error` build an error from
    // an integer), takes no lock and touches no memory but its captured
    // integer.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // If we died between the fork and the `prctl`, the child was
            // already handed to another parent and no signal will come:
            // give up rather than run unsupervised.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// `killpg(2)`.
#[allow(unsafe_code)]
fn killpg(pgid: pid_t, signal: c_int) -> io::Result<()> {
    debug_assert!(
        pgid > 0,
        "killpg with a non-positive group id signals other processes"
    );
    // SAFETY: `killpg` takes two integers and touches no memory of ours.
    let result = unsafe { libc::killpg(pgid, signal) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `kill(2)`.
#[allow(unsafe_code)]
fn kill(pid: pid_t, signal: c_int) -> io::Result<()> {
    debug_assert!(
        pid > 0,
        "kill with a non-positive pid signals other processes"
    );
    // SAFETY: `kill` takes two integers and touches no memory of ours.
    let result = unsafe { libc::kill(pid, signal) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
