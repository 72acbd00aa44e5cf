//! [`RunProfile`] and [`SessionConfig`]: the settings of a prompt and of a
//! session, and how they map onto `thread/start`, `thread/resume`,
//! `thread/fork` and `turn/start` params.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codexrt_hooks::{HookSet, Plan};
use codexrt_protocol::types::{
    AskForApproval, ReasoningEffort, SandboxMode, SandboxPolicy, ThreadForkParams,
    ThreadResumeParams, ThreadStartParams, TurnStartParams, UserInput, UserInputImage,
};
use serde_json::Value;

use codexrt_core::TurnOptions;

use crate::{ClientConfig, ClientError, PromptRunError};

/// How to run a prompt: model, reasoning effort, sandbox, approval policy,
/// time limit, output schema and inputs beside the prompt's text.
///
/// Every setting left unset is left out of the request, so codex's own
/// configuration decides, except the sandbox, which is `read-only` unless
/// set (see the crate's [Defaults](crate#defaults)).
///
/// ```
/// use std::time::Duration;
/// use codexrt::RunProfile;
/// use codexrt::protocol::types::{AskForApproval, SandboxMode};
/// use serde_json::json;
///
/// let profile = RunProfile::new()
///     .model("gpt-5")
///     .effort("high")
///     .sandbox(SandboxMode::WorkspaceWrite)
///     .approval_policy(AskForApproval::OnRequest)
///     .timeout(Duration::from_secs(300))
///     .output_schema(json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}))
///     .local_image("screenshot.png");
/// # let _ = profile;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RunProfile {
    model: Option<String>,
    effort: Option<ReasoningEffort>,
    sandbox: Option<SandboxMode>,
    approval_policy: Option<AskForApproval>,
    timeout: Option<Duration>,
    inactivity: Option<Duration>,
    output_schema: Option<Value>,
    attachments: Vec<UserInput>,
    /// Texts sent after the prompt, put there by lifecycle hooks.
    extra_context: Vec<String>,
    hooks: Option<Arc<HookSet>>,
}

impl RunProfile {
    /// A profile that sets nothing: codex's configured model, effort and
    /// approval policy, a `read-only` sandbox, the client's turn timeout
    /// and watchdog period, free-form output and no attachments.
    pub fn new() -> Self {
        RunProfile::default()
    }

    /// The model (`model` of `thread/start`). The default is codex's
    /// configured model.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The reasoning effort (`effort` of `turn/start`), for example `low`,
    /// `medium` or `high`. The default is the model's.
    #[must_use]
    pub fn effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.effort = Some(effort.into());
        self
    }

    /// The sandbox of the thread's commands (`sandbox` of `thread/start`).
    /// The default is [`SandboxMode::ReadOnly`]; commands that must write
    /// need [`SandboxMode::WorkspaceWrite`].
    #[must_use]
    pub fn sandbox(mut self, sandbox: SandboxMode) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// When codex asks for approval (`approvalPolicy` of `thread/start`).
    /// The default is codex's configured policy, or `untrusted` when
    /// PreToolUse hooks apply (see the crate's [Hooks](crate#hooks)).
    /// Whatever the policy, an approval request nobody answers is
    /// declined.
    #[must_use]
    pub fn approval_policy(mut self, policy: AskForApproval) -> Self {
        self.approval_policy = Some(policy);
        self
    }

    /// How long the turn may run before it is interrupted and reported as
    /// [`PromptRunError::TimedOut`]. The default is
    /// [`ClientConfig::turn_timeout`](crate::ClientConfig::turn_timeout)
    /// (10 minutes unless changed). Longer than
    /// [`MAX_WAIT`](codexrt_transport::MAX_WAIT) counts as `MAX_WAIT`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout.min(codexrt_transport::MAX_WAIT));
        self
    }

    /// The period of the turn's inactivity watchdog: after a whole period
    /// in which nothing arrived for the turn, the facade asks codex
    /// (`thread/read`) whether the turn ended, and ends it from that
    /// answer when `turn/completed` was lost. The default is
    /// [`ClientConfig::turn_inactivity`](crate::ClientConfig::turn_inactivity)
    /// (30 s unless changed).
    #[must_use]
    pub fn inactivity(mut self, period: Duration) -> Self {
        self.inactivity = Some(period);
        self
    }

    /// A JSON Schema the final answer must follow (`outputSchema` of
    /// `turn/start`); read the answer with [`PromptRunResult::parse`](crate::PromptRunResult::parse).
    /// The default is free-form text.
    ///
    /// The schema is checked before the run starts a thread (and again
    /// before `turn/start`, should a hook change it): one that is not a
    /// valid JSON Schema fails the run with
    /// [`ClientError::InvalidOutputSchema`] and nothing is sent. codex
    /// passes it to the model as a strict JSON Schema format; OpenAI's
    /// strict mode also wants every object to list all its properties in
    /// `required` and to set `"additionalProperties": false`, which is the
    /// model service's rule and not checked here (a schema that breaks it
    /// fails the turn).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// The output schema of `T` ([`output_schema_for`](crate::output_schema_for)),
    /// for an answer read with [`PromptRunResult::parse::<T>`](crate::PromptRunResult::parse).
    /// Replaces any [`RunProfile::output_schema`].
    ///
    /// ```
    /// use codexrt::RunProfile;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Verdict {
    ///     ok: bool,
    /// }
    ///
    /// let profile = RunProfile::new().output_type::<Verdict>();
    /// # let _ = profile;
    /// ```
    #[cfg(feature = "schemars")]
    #[must_use]
    pub fn output_type<T>(self) -> Self
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        self.output_schema(crate::output_schema_for::<T>())
    }

    /// Adds an image by URL after the prompt's text (`{"type":"image",
    /// "url":..}`). The default is no image.
    #[must_use]
    pub fn image_url(self, url: impl Into<String>) -> Self {
        self.attachment(UserInput::Image {
            detail: None,
            source: UserInputImage::Url { url: url.into() },
        })
    }

    /// Adds an image file after the prompt's text (`{"type":"localImage",
    /// "path":..}`); codex reads it. The default is no image.
    #[must_use]
    pub fn local_image(self, path: impl AsRef<Path>) -> Self {
        self.attachment(UserInput::LocalImage {
            detail: None,
            path: path.as_ref().to_string_lossy().into_owned(),
        })
    }

    /// Adds any other input after the prompt's text: a skill, a mention,
    /// audio, or an image with a `detail`. The default is none.
    #[must_use]
    pub fn attachment(mut self, input: UserInput) -> Self {
        self.attachments.push(input);
        self
    }

    /// The inputs added after the prompt's text, in order.
    pub fn attachments(&self) -> &[UserInput] {
        &self.attachments
    }

    /// Hooks for what runs with this profile, after the client's own
    /// ([`ClientConfig::hooks`](crate::ClientConfig::hooks)): lifecycle
    /// hooks, tool-use hooks and dynamic tools that apply only to the
    /// threads this profile starts. The default is none. See the crate's
    /// [Hooks](crate#hooks) section.
    #[must_use]
    pub fn hooks(mut self, hooks: HookSet) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// The hooks set with [`RunProfile::hooks`], if any.
    pub fn hook_set(&self) -> Option<&HookSet> {
        self.hooks.as_deref()
    }

    pub(crate) fn shared_hooks(&self) -> Option<Arc<HookSet>> {
        self.hooks.clone()
    }

    /// What lifecycle hooks see and may change: this profile's settings,
    /// `prompt` (none before a session starts) and the working directory.
    pub(crate) fn plan(&self, prompt: Option<String>, cwd: String) -> Plan {
        let mut plan = Plan::default();
        plan.prompt = prompt;
        plan.model.clone_from(&self.model);
        plan.effort.clone_from(&self.effort);
        plan.cwd = Some(cwd);
        plan.sandbox = Some(self.sandbox_or_default());
        plan.approval_policy.clone_from(&self.approval_policy);
        plan.output_schema.clone_from(&self.output_schema);
        plan.extra_context.clone_from(&self.extra_context);
        plan
    }

    /// Takes over the settings of a `plan` the hooks returned (everything
    /// but the prompt and the working directory, which the caller keeps).
    pub(crate) fn apply(&mut self, plan: &Plan) {
        self.model.clone_from(&plan.model);
        self.effort.clone_from(&plan.effort);
        self.sandbox.clone_from(&plan.sandbox);
        self.approval_policy.clone_from(&plan.approval_policy);
        self.output_schema.clone_from(&plan.output_schema);
        self.extra_context.clone_from(&plan.extra_context);
    }

    /// The limits of a turn with this profile: its timeout and watchdog,
    /// else the client's.
    pub(crate) fn turn_options(&self, config: &ClientConfig) -> TurnOptions {
        TurnOptions::new()
            .deadline(self.timeout.unwrap_or(config.turn_timeout_limit()))
            .inactivity_watchdog(self.inactivity.unwrap_or(config.turn_inactivity_period()))
    }

    /// The `input` of `turn/start`: the prompt (when not blank), the
    /// hooks' extra context, then the attachments.
    pub(crate) fn input(
        &self,
        prompt: String,
        extra_context: &[String],
    ) -> Result<Vec<UserInput>, PromptRunError> {
        let mut input = Vec::with_capacity(1 + extra_context.len() + self.attachments.len());
        if !prompt.trim().is_empty() {
            input.push(text_input(prompt));
        }
        if input.is_empty() && self.attachments.is_empty() {
            return Err(PromptRunError::EmptyPrompt);
        }
        input.extend(extra_context.iter().cloned().map(text_input));
        input.extend(self.attachments.iter().cloned());
        if input.is_empty() {
            return Err(PromptRunError::EmptyPrompt);
        }
        Ok(input)
    }

    fn sandbox_or_default(&self) -> SandboxMode {
        self.sandbox.clone().unwrap_or(SandboxMode::ReadOnly)
    }

    pub(crate) fn thread_start(&self, cwd: String) -> ThreadStartParams {
        ThreadStartParams {
            cwd: Some(cwd),
            sandbox: Some(self.sandbox_or_default()),
            approval_policy: self.approval_policy.clone(),
            model: self.model.clone(),
            ..ThreadStartParams::default()
        }
    }

    pub(crate) fn thread_resume(&self, thread_id: String, cwd: String) -> ThreadResumeParams {
        ThreadResumeParams {
            thread_id,
            cwd: Some(cwd),
            sandbox: Some(self.sandbox_or_default()),
            approval_policy: self.approval_policy.clone(),
            model: self.model.clone(),
            ..ThreadResumeParams::default()
        }
    }

    pub(crate) fn thread_fork(&self, thread_id: String, cwd: String) -> ThreadForkParams {
        ThreadForkParams {
            thread_id,
            cwd: Some(cwd),
            sandbox: Some(self.sandbox_or_default()),
            approval_policy: self.approval_policy.clone(),
            model: self.model.clone(),
            ..ThreadForkParams::default()
        }
    }
}

/// The `turn/start` of `plan` in a thread that started with `thread`: the
/// effort and output schema of the plan, and the model, working directory,
/// approval policy and sandbox only where a hook changed them (codex keeps
/// such overrides for the thread's later turns). A setting a hook removed
/// cannot be removed from a running thread and stays as it was.
pub(crate) fn turn_start(
    thread_id: String,
    input: Vec<UserInput>,
    thread: &Plan,
    plan: &Plan,
) -> TurnStartParams {
    fn changed<T: Clone + PartialEq>(thread: &Option<T>, turn: &Option<T>) -> Option<T> {
        if thread == turn { None } else { turn.clone() }
    }
    TurnStartParams {
        thread_id,
        input,
        effort: plan.effort.clone(),
        output_schema: plan.output_schema.clone(),
        model: changed(&thread.model, &plan.model),
        cwd: changed(&thread.cwd, &plan.cwd),
        approval_policy: changed(&thread.approval_policy, &plan.approval_policy),
        sandbox_policy: changed(&thread.sandbox, &plan.sandbox).and_then(sandbox_policy),
        ..TurnStartParams::default()
    }
}

/// The turn-level policy of a thread-level sandbox mode, with codex's
/// defaults for everything the mode does not say; `None` for a mode this
/// version does not know, which has no policy to send.
fn sandbox_policy(mode: SandboxMode) -> Option<SandboxPolicy> {
    Some(match mode {
        SandboxMode::ReadOnly => SandboxPolicy::ReadOnly {
            network_access: None,
        },
        SandboxMode::WorkspaceWrite => SandboxPolicy::WorkspaceWrite {
            exclude_slash_tmp: None,
            exclude_tmpdir_env_var: None,
            network_access: None,
            writable_roots: None,
        },
        SandboxMode::DangerFullAccess => SandboxPolicy::DangerFullAccess,
        _ => return None,
    })
}

/// A text input without text elements.
pub(crate) fn text_input(text: String) -> UserInput {
    UserInput::Text {
        text,
        text_elements: None,
    }
}

/// The working directory as codex wants it: absolute (`.` components
/// dropped, symbolic links kept), as a string.
pub(crate) fn absolute_dir(dir: &Path) -> Result<String, ClientError> {
    let dir = std::path::absolute(dir).map_err(ClientError::CurrentDir)?;
    Ok(dir.to_string_lossy().into_owned())
}

/// The settings of a [`Session`](crate::Session): its working directory
/// and the [`RunProfile`] settings that apply to a whole thread.
///
/// ```
/// use codexrt::SessionConfig;
/// use codexrt::protocol::types::SandboxMode;
///
/// let config = SessionConfig::new("/srv/repo")
///     .model("gpt-5")
///     .sandbox(SandboxMode::WorkspaceWrite);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct SessionConfig {
    cwd: PathBuf,
    profile: RunProfile,
}

impl SessionConfig {
    /// A session working in `cwd` (resolved against the current directory
    /// when relative), with the defaults of [`RunProfile::new`].
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        SessionConfig {
            cwd: cwd.into(),
            profile: RunProfile::new(),
        }
    }

    /// The working directory.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// As [`RunProfile::model`]; sent when the thread starts, resumes or
    /// forks.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.profile = self.profile.model(model);
        self
    }

    /// As [`RunProfile::effort`]; sent with every ask.
    #[must_use]
    pub fn effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.profile = self.profile.effort(effort);
        self
    }

    /// As [`RunProfile::sandbox`]: `read-only` by default; sent when the
    /// thread starts, resumes or forks.
    #[must_use]
    pub fn sandbox(mut self, sandbox: SandboxMode) -> Self {
        self.profile = self.profile.sandbox(sandbox);
        self
    }

    /// As [`RunProfile::approval_policy`]; sent when the thread starts,
    /// resumes or forks.
    #[must_use]
    pub fn approval_policy(mut self, policy: AskForApproval) -> Self {
        self.profile = self.profile.approval_policy(policy);
        self
    }

    /// As [`RunProfile::timeout`]; the limit of every ask.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.profile = self.profile.timeout(timeout);
        self
    }

    /// As [`RunProfile::inactivity`]; the watchdog of every ask.
    #[must_use]
    pub fn inactivity(mut self, period: Duration) -> Self {
        self.profile = self.profile.inactivity(period);
        self
    }

    /// As [`RunProfile::output_schema`]; sent with every ask. Checked
    /// before the session's thread starts (and before each ask, should a
    /// hook change it).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.profile = self.profile.output_schema(schema);
        self
    }

    /// As [`RunProfile::output_type`]; sent with every ask.
    #[cfg(feature = "schemars")]
    #[must_use]
    pub fn output_type<T>(mut self) -> Self
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        self.profile = self.profile.output_type::<T>();
        self
    }

    /// As [`RunProfile::hooks`]: hooks for this session's thread only,
    /// after the client's own. The default is none.
    #[must_use]
    pub fn hooks(mut self, hooks: HookSet) -> Self {
        self.profile = self.profile.hooks(hooks);
        self
    }

    /// The hooks set with [`SessionConfig::hooks`], if any.
    pub fn hook_set(&self) -> Option<&HookSet> {
        self.profile.hook_set()
    }

    pub(crate) fn profile(&self) -> &RunProfile {
        &self.profile
    }

    /// Takes over what a PreSessionStart hook changed.
    pub(crate) fn apply(&mut self, plan: &Plan) {
        self.profile.apply(plan);
        if let Some(cwd) = &plan.cwd {
            self.cwd = PathBuf::from(cwd);
        }
    }
}

#[cfg(test)]
mod tests;
