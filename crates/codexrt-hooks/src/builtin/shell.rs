//! [`ShellHook`]: a hook that asks an external program, passing the
//! context as JSON on stdin and reading the answer from its exit status
//! and stdout.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{
    Decision, HookContext, HookError, LifecycleHook, Plan, PostToolHook, ToolUseHook, Verdict,
};

/// How much a [`ShellHook`]'s program may write to stdout: 1 MiB.
pub const SHELL_STDOUT_CAP: usize = 1024 * 1024;

/// How much a [`ShellHook`]'s program may write to stderr: 64 KiB.
pub const SHELL_STDERR_CAP: usize = 64 * 1024;

/// A hook that runs a program for every context it is asked about; it is a
/// [`ToolUseHook`], a [`PostToolHook`] and a [`LifecycleHook`].
///
/// # Protocol
///
/// For each context the program is started anew (no shell is involved:
/// use `sh` with `-c` or a script for shell syntax), with the arguments,
/// environment additions and working directory given here, and:
///
/// 1. its stdin gets the [`HookContext`] as one line of JSON (see
///    [its JSON form](HookContext#as-json)), then is closed; a program
///    that does not read it is fine;
/// 2. its stdout (at most [`SHELL_STDOUT_CAP`], 1 MiB) and stderr (at
///    most [`SHELL_STDERR_CAP`], 64 KiB) are read until it exits;
/// 3. its exit status decides:
///    - **0** with nothing but whitespace on stdout: no opinion —
///      [`Decision::Defer`], or [`Verdict::Continue`] in a lifecycle phase;
///    - **0** with a JSON object on stdout: the object's `decision` key
///      decides, with an optional `reason` string:
///      - in [`PreToolUse`](crate::Phase::PreToolUse): `"accept"`,
///        `"acceptForSession"`, `"decline"`, `"cancel"` or `"defer"`;
///      - in a lifecycle phase: `"continue"`, `"block"` or `"mutate"`;
///        `"mutate"` needs a `plan` object, whose keys replace those of
///        the current plan (keys left out keep their value, `null`
///        clears an optional one);
///    - **2**: a refusal — [`Decision::Decline`] or [`Verdict::Block`]
///      with stderr's text (trimmed) as the reason;
///    - anything else — another exit code, death by a signal, stdout that
///      is not such an object, a decision of the other kind of phase, an
///      unknown decision, output over a cap, or a program that cannot be
///      started — is a [`HookError`], so the chain fails closed: the tool
///      use is declined, the lifecycle step blocked.
///
/// As a [`PostToolHook`] only the exit status counts: 0 is fine (stdout
/// is ignored), anything else is an error recorded in the report.
///
/// The program runs under the hook's timeout
/// ([`HookEntry::timeout`](crate::HookEntry::timeout)); when it is cut off
/// (timeout, or the decision is no longer wanted) it is killed. Only the
/// program itself is killed, not processes it started, so a script should
/// `exec` its last long-running command.
#[derive(Debug, Clone)]
pub struct ShellHook {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
}

/// What a program's stdout says, when it says anything.
#[derive(Deserialize)]
struct Reply {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    plan: Option<serde_json::Map<String, Value>>,
}

/// How a run ended, before it is read as one kind of answer.
enum Answer {
    Silent,
    Reply(Reply),
    Refused(String),
}

impl ShellHook {
    /// Runs `program`, found on `PATH` unless it is a path, with no
    /// arguments.
    pub fn new(program: impl Into<OsString>) -> Self {
        ShellHook {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
        }
    }

    /// Appends an argument (default: none).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable on top of the inherited environment
    /// (default: only the inherited one).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the program in `dir` (default: the current directory).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Runs the program for `ctx` and returns its exit code, stdout and
    /// stderr, failing on a signal or output over a cap.
    async fn run(&self, ctx: &HookContext) -> Result<(i32, Vec<u8>, Vec<u8>), HookError> {
        let name = self.name();
        let mut input = serde_json::to_vec(ctx).map_err(|error| HookError::Source(error.into()))?;
        input.push(b'\n');
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .map_err(|error| HookError::failed(format!("cannot start `{name}`: {error}")))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(HookError::failed(format!("`{name}` has no pipes")));
        };
        let write = async move {
            // A program may exit without reading its input: that is its
            // right, so a broken pipe is not a failure.
            match stdin.write_all(&input).await {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error),
                _ => Ok(()),
            }
            // `stdin` is dropped here, closing the pipe.
        };
        let write = async {
            write.await.map_err(|error| {
                HookError::failed(format!("cannot write the context to `{name}`: {error}"))
            })
        };
        // `try_join!` stops at the first failure, so output over a cap
        // ends the run at once (the child is killed on drop) instead of
        // waiting for a program blocked on a full pipe.
        let (_, out, err) = tokio::try_join!(
            write,
            read_capped(stdout, SHELL_STDOUT_CAP, &name, "stdout"),
            read_capped(stderr, SHELL_STDERR_CAP, &name, "stderr"),
        )?;
        let status = child
            .wait()
            .await
            .map_err(|error| HookError::failed(format!("cannot wait for `{name}`: {error}")))?;
        match status.code() {
            Some(code) => Ok((code, out, err)),
            None => Err(HookError::failed(format!("`{name}` was killed: {status}"))),
        }
    }

    /// Runs the program and reads its answer.
    async fn answer(&self, ctx: &HookContext) -> Result<Answer, HookError> {
        let name = self.name();
        let (code, out, err) = self.run(ctx).await?;
        match code {
            0 => {
                let text = String::from_utf8_lossy(&out);
                if text.trim().is_empty() {
                    return Ok(Answer::Silent);
                }
                serde_json::from_str(&text)
                    .map(Answer::Reply)
                    .map_err(|error| {
                        HookError::failed(format!("`{name}` wrote no decision object: {error}"))
                    })
            }
            2 => {
                let reason = String::from_utf8_lossy(&err).trim().to_owned();
                Ok(Answer::Refused(if reason.is_empty() {
                    format!("`{name}` refused (exit status 2)")
                } else {
                    reason
                }))
            }
            code => Err(HookError::failed(format!(
                "`{name}` exited with status {code}: {}",
                String::from_utf8_lossy(&err).trim()
            ))),
        }
    }
}

/// Reads `pipe` to its end, failing when it holds more than `cap` bytes.
async fn read_capped(
    pipe: impl AsyncRead + Unpin,
    cap: usize,
    name: &str,
    which: &str,
) -> Result<Vec<u8>, HookError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(limit)
        .read_to_end(&mut bytes)
        .await
        .map_err(|error| HookError::failed(format!("cannot read `{name}`'s {which}: {error}")))?;
    if bytes.len() > cap {
        return Err(HookError::failed(format!(
            "`{name}` wrote more than {cap} bytes to {which}"
        )));
    }
    Ok(bytes)
}

fn unexpected(name: &str, decision: &str, ctx: &HookContext) -> HookError {
    HookError::failed(format!(
        "`{name}` answered `{decision}`, which is not a decision in {}",
        ctx.phase
    ))
}

#[async_trait]
impl ToolUseHook for ShellHook {
    async fn decide(&self, ctx: &HookContext) -> Result<Decision, HookError> {
        let reply = match self.answer(ctx).await? {
            Answer::Silent => return Ok(Decision::Defer),
            Answer::Refused(reason) => return Ok(Decision::decline(reason)),
            Answer::Reply(reply) => reply,
        };
        let name = self.name();
        let reason = || {
            reply
                .reason
                .clone()
                .unwrap_or_else(|| format!("`{name}` said {}", reply.decision))
        };
        Ok(match reply.decision.as_str() {
            "accept" => Decision::Accept,
            "acceptForSession" => Decision::AcceptForSession,
            "decline" => Decision::decline(reason()),
            "cancel" => Decision::cancel(reason()),
            "defer" => Decision::Defer,
            other => return Err(unexpected(&name, other, ctx)),
        })
    }
}

#[async_trait]
impl LifecycleHook for ShellHook {
    async fn on(&self, ctx: &HookContext) -> Result<Verdict, HookError> {
        let reply = match self.answer(ctx).await? {
            Answer::Silent => return Ok(Verdict::Continue),
            Answer::Refused(reason) => return Ok(Verdict::block(reason)),
            Answer::Reply(reply) => reply,
        };
        let name = self.name();
        match reply.decision.as_str() {
            "continue" => Ok(Verdict::Continue),
            "block" => Ok(Verdict::block(
                reply
                    .reason
                    .unwrap_or_else(|| format!("`{name}` said block")),
            )),
            "mutate" => {
                let changes = reply.plan.ok_or_else(|| {
                    HookError::failed(format!("`{name}` answered `mutate` without a plan"))
                })?;
                let current = ctx.plan.clone().unwrap_or_default();
                let mut merged = match serde_json::to_value(current) {
                    Ok(Value::Object(fields)) => fields,
                    _ => serde_json::Map::new(),
                };
                merged.extend(changes);
                serde_json::from_value::<Plan>(Value::Object(merged))
                    .map(Verdict::Mutate)
                    .map_err(|error| {
                        HookError::failed(format!("`{name}` answered an invalid plan: {error}"))
                    })
            }
            other => Err(unexpected(&name, other, ctx)),
        }
    }
}

#[async_trait]
impl PostToolHook for ShellHook {
    async fn after(&self, ctx: &HookContext) -> Result<(), HookError> {
        let name = self.name();
        match self.run(ctx).await? {
            (0, _, _) => Ok(()),
            (code, _, err) => Err(HookError::failed(format!(
                "`{name}` exited with status {code}: {}",
                String::from_utf8_lossy(&err).trim()
            ))),
        }
    }
}
