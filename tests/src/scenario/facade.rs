//! Scenarios that drive `codex app-server` only through the `codexrt`
//! facade ([`codexrt::Client`], [`codexrt::Session`]): the compatibility
//! suite runs each against the real codex of every supported version, as
//! `facade::v0_169_0::one_shot_run` and so on.
//!
//! Unlike the low-level scenarios these are live only, without fixtures:
//! the facade spawns and owns its connection, and what they check (the
//! scripted model's requests, files on disk, a restarted app-server) only a
//! live run shows.
//!
//! To add a scenario: write it in `facade/cases.rs`, add it to
//! [`FacadeScenario`] and to the list in
//! [`for_each_facade_case!`](crate::for_each_facade_case).

mod automation;
mod calls;
mod cases;
mod endpoint;
mod harness;
mod hooks;
mod output;

use std::fmt;

use codexrt::{ClientError, PromptRunError};
use codexrt_testkit::TestkitError;

pub use automation::scheduled_prompts;
pub use calls::{
    account_read_offline, config_round_trip, exec_streams_output, fs_round_trip, mcp_status_listed,
    models_listed, new_field_refused_locally, review_turn_completes,
};
pub use cases::{
    approval_declined_by_default, ask_stream_deltas, concurrent_sessions,
    dropped_ask_interrupts_its_turn, fork, interrupt, missing_method_refused_locally, one_shot_run,
    output_schema_accepted, resume_after_restart, second_initialize_refused, session_keeps_context,
};
pub use endpoint::{Endpoint, Listening};
pub use harness::Harness;
pub use hooks::{
    dynamic_tool_round_trip, elicitation_answered, hook_accepts_command, hook_declines_command,
    lifecycle_hooks_fire, panicking_hook_declined, post_tool_use_sees_result, shell_hook_decides,
    slow_hook_declined, user_input_answered,
};
pub use output::{output_type_mismatch, output_type_round_trip};

use super::ScenarioError;

/// Why a facade scenario failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FacadeError {
    /// Setting up, or an expectation that did not hold.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A facade call (connect, session, shutdown) failed.
    #[error("a facade call failed")]
    Client(#[from] ClientError),
    /// A run or an ask did not complete.
    #[error("a prompt did not complete")]
    Prompt(#[from] PromptRunError),
}

impl From<TestkitError> for FacadeError {
    fn from(error: TestkitError) -> Self {
        FacadeError::Scenario(ScenarioError::Setup(error))
    }
}

/// Every facade scenario, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FacadeScenario {
    /// [`one_shot_run`].
    OneShotRun,
    /// [`session_keeps_context`].
    SessionKeepsContext,
    /// [`ask_stream_deltas`].
    AskStreamDeltas,
    /// [`approval_declined_by_default`].
    ApprovalDeclinedByDefault,
    /// [`interrupt`].
    Interrupt,
    /// [`dropped_ask_interrupts_its_turn`].
    DroppedAskInterruptsItsTurn,
    /// [`resume_after_restart`].
    ResumeAfterRestart,
    /// [`fork`].
    Fork,
    /// [`concurrent_sessions`].
    ConcurrentSessions,
    /// [`missing_method_refused_locally`].
    MissingMethodRefusedLocally,
    /// [`second_initialize_refused`].
    SecondInitializeRefused,
    /// [`output_schema_accepted`].
    OutputSchemaAccepted,
    /// [`output_type_round_trip`].
    OutputTypeRoundTrip,
    /// [`output_type_mismatch`].
    OutputTypeMismatch,
    /// [`hook_declines_command`].
    HookDeclinesCommand,
    /// [`hook_accepts_command`].
    HookAcceptsCommand,
    /// [`slow_hook_declined`].
    SlowHookDeclined,
    /// [`panicking_hook_declined`].
    PanickingHookDeclined,
    /// [`post_tool_use_sees_result`].
    PostToolUseSeesResult,
    /// [`lifecycle_hooks_fire`].
    LifecycleHooksFire,
    /// [`dynamic_tool_round_trip`].
    DynamicToolRoundTrip,
    /// [`shell_hook_decides`].
    ShellHookDecides,
    /// [`elicitation_answered`].
    ElicitationAnswered,
    /// [`user_input_answered`].
    UserInputAnswered,
    /// [`scheduled_prompts`].
    ScheduledPrompts,
    /// [`account_read_offline`].
    AccountReadOffline,
    /// [`models_listed`].
    ModelsListed,
    /// [`fs_round_trip`].
    FsRoundTrip,
    /// [`exec_streams_output`].
    ExecStreamsOutput,
    /// [`config_round_trip`].
    ConfigRoundTrip,
    /// [`mcp_status_listed`].
    McpStatusListed,
    /// [`review_turn_completes`].
    ReviewTurnCompletes,
    /// [`new_field_refused_locally`].
    NewFieldRefusedLocally,
}

impl FacadeScenario {
    /// Every facade scenario, in the order the suite lists them.
    pub const ALL: [FacadeScenario; 33] = [
        FacadeScenario::OneShotRun,
        FacadeScenario::SessionKeepsContext,
        FacadeScenario::AskStreamDeltas,
        FacadeScenario::ApprovalDeclinedByDefault,
        FacadeScenario::Interrupt,
        FacadeScenario::DroppedAskInterruptsItsTurn,
        FacadeScenario::ResumeAfterRestart,
        FacadeScenario::Fork,
        FacadeScenario::ConcurrentSessions,
        FacadeScenario::MissingMethodRefusedLocally,
        FacadeScenario::SecondInitializeRefused,
        FacadeScenario::OutputSchemaAccepted,
        FacadeScenario::OutputTypeRoundTrip,
        FacadeScenario::OutputTypeMismatch,
        FacadeScenario::HookDeclinesCommand,
        FacadeScenario::HookAcceptsCommand,
        FacadeScenario::SlowHookDeclined,
        FacadeScenario::PanickingHookDeclined,
        FacadeScenario::PostToolUseSeesResult,
        FacadeScenario::LifecycleHooksFire,
        FacadeScenario::DynamicToolRoundTrip,
        FacadeScenario::ShellHookDecides,
        FacadeScenario::ElicitationAnswered,
        FacadeScenario::UserInputAnswered,
        FacadeScenario::ScheduledPrompts,
        FacadeScenario::AccountReadOffline,
        FacadeScenario::ModelsListed,
        FacadeScenario::FsRoundTrip,
        FacadeScenario::ExecStreamsOutput,
        FacadeScenario::ConfigRoundTrip,
        FacadeScenario::McpStatusListed,
        FacadeScenario::ReviewTurnCompletes,
        FacadeScenario::NewFieldRefusedLocally,
    ];

    /// The name: the test function's.
    pub fn name(self) -> &'static str {
        match self {
            FacadeScenario::OneShotRun => "one_shot_run",
            FacadeScenario::SessionKeepsContext => "session_keeps_context",
            FacadeScenario::AskStreamDeltas => "ask_stream_deltas",
            FacadeScenario::ApprovalDeclinedByDefault => "approval_declined_by_default",
            FacadeScenario::Interrupt => "interrupt",
            FacadeScenario::DroppedAskInterruptsItsTurn => "dropped_ask_interrupts_its_turn",
            FacadeScenario::ResumeAfterRestart => "resume_after_restart",
            FacadeScenario::Fork => "fork",
            FacadeScenario::ConcurrentSessions => "concurrent_sessions",
            FacadeScenario::MissingMethodRefusedLocally => "missing_method_refused_locally",
            FacadeScenario::SecondInitializeRefused => "second_initialize_refused",
            FacadeScenario::OutputSchemaAccepted => "output_schema_accepted",
            FacadeScenario::OutputTypeRoundTrip => "output_type_round_trip",
            FacadeScenario::OutputTypeMismatch => "output_type_mismatch",
            FacadeScenario::HookDeclinesCommand => "hook_declines_command",
            FacadeScenario::HookAcceptsCommand => "hook_accepts_command",
            FacadeScenario::SlowHookDeclined => "slow_hook_declined",
            FacadeScenario::PanickingHookDeclined => "panicking_hook_declined",
            FacadeScenario::PostToolUseSeesResult => "post_tool_use_sees_result",
            FacadeScenario::LifecycleHooksFire => "lifecycle_hooks_fire",
            FacadeScenario::DynamicToolRoundTrip => "dynamic_tool_round_trip",
            FacadeScenario::ShellHookDecides => "shell_hook_decides",
            FacadeScenario::ElicitationAnswered => "elicitation_answered",
            FacadeScenario::UserInputAnswered => "user_input_answered",
            FacadeScenario::ScheduledPrompts => "scheduled_prompts",
            FacadeScenario::AccountReadOffline => "account_read_offline",
            FacadeScenario::ModelsListed => "models_listed",
            FacadeScenario::FsRoundTrip => "fs_round_trip",
            FacadeScenario::ExecStreamsOutput => "exec_streams_output",
            FacadeScenario::ConfigRoundTrip => "config_round_trip",
            FacadeScenario::McpStatusListed => "mcp_status_listed",
            FacadeScenario::ReviewTurnCompletes => "review_turn_completes",
            FacadeScenario::NewFieldRefusedLocally => "new_field_refused_locally",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Option<FacadeScenario> {
        FacadeScenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    /// Runs the scenario against codex `version`.
    ///
    /// # Errors
    /// The first thing that went wrong or did not hold.
    pub async fn run(self, version: &str) -> Result<(), FacadeError> {
        match self {
            FacadeScenario::OneShotRun => one_shot_run(version).await,
            FacadeScenario::SessionKeepsContext => session_keeps_context(version).await,
            FacadeScenario::AskStreamDeltas => ask_stream_deltas(version).await,
            FacadeScenario::ApprovalDeclinedByDefault => {
                approval_declined_by_default(version).await
            }
            FacadeScenario::Interrupt => interrupt(version).await,
            FacadeScenario::DroppedAskInterruptsItsTurn => {
                dropped_ask_interrupts_its_turn(version).await
            }
            FacadeScenario::ResumeAfterRestart => resume_after_restart(version).await,
            FacadeScenario::Fork => fork(version).await,
            FacadeScenario::ConcurrentSessions => concurrent_sessions(version).await,
            FacadeScenario::MissingMethodRefusedLocally => {
                missing_method_refused_locally(version).await
            }
            FacadeScenario::SecondInitializeRefused => second_initialize_refused(version).await,
            FacadeScenario::OutputSchemaAccepted => output_schema_accepted(version).await,
            FacadeScenario::OutputTypeRoundTrip => output_type_round_trip(version).await,
            FacadeScenario::OutputTypeMismatch => output_type_mismatch(version).await,
            FacadeScenario::HookDeclinesCommand => hook_declines_command(version).await,
            FacadeScenario::HookAcceptsCommand => hook_accepts_command(version).await,
            FacadeScenario::SlowHookDeclined => slow_hook_declined(version).await,
            FacadeScenario::PanickingHookDeclined => panicking_hook_declined(version).await,
            FacadeScenario::PostToolUseSeesResult => post_tool_use_sees_result(version).await,
            FacadeScenario::LifecycleHooksFire => lifecycle_hooks_fire(version).await,
            FacadeScenario::DynamicToolRoundTrip => dynamic_tool_round_trip(version).await,
            FacadeScenario::ShellHookDecides => shell_hook_decides(version).await,
            FacadeScenario::ElicitationAnswered => elicitation_answered(version).await,
            FacadeScenario::UserInputAnswered => user_input_answered(version).await,
            FacadeScenario::ScheduledPrompts => scheduled_prompts(version).await,
            FacadeScenario::AccountReadOffline => account_read_offline(version).await,
            FacadeScenario::ModelsListed => models_listed(version).await,
            FacadeScenario::FsRoundTrip => fs_round_trip(version).await,
            FacadeScenario::ExecStreamsOutput => exec_streams_output(version).await,
            FacadeScenario::ConfigRoundTrip => config_round_trip(version).await,
            FacadeScenario::McpStatusListed => mcp_status_listed(version).await,
            FacadeScenario::ReviewTurnCompletes => review_turn_completes(version).await,
            FacadeScenario::NewFieldRefusedLocally => new_field_refused_locally(version).await,
        }
    }
}

impl fmt::Display for FacadeScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Instantiates a test for every supported version and facade scenario,
/// named `facade::v0_169_0::one_shot_run` and so on. Each test is
/// `$run(version, scenario).await`, with `$run` an async function of a
/// `&'static str` and a [`FacadeScenario`].
///
/// The versions come from [`with_supported_versions!`](crate::with_supported_versions);
/// the scenarios must be [`FacadeScenario::ALL`]. The suite checks that the
/// cases are [`VERSIONS`](super::VERSIONS) and [`FacadeScenario::ALL`].
#[macro_export]
macro_rules! for_each_facade_case {
    ($run:ident) => {
        $crate::with_supported_versions!($crate::for_each_facade_case; @cases $run,
            [one_shot_run, session_keeps_context, ask_stream_deltas,
             approval_declined_by_default, interrupt, dropped_ask_interrupts_its_turn,
             resume_after_restart, fork,
             concurrent_sessions, missing_method_refused_locally, second_initialize_refused,
             output_schema_accepted,
             output_type_round_trip, output_type_mismatch,
             hook_declines_command, hook_accepts_command, slow_hook_declined, panicking_hook_declined,
             post_tool_use_sees_result, lifecycle_hooks_fire, dynamic_tool_round_trip, shell_hook_decides, elicitation_answered,
             user_input_answered, scheduled_prompts, account_read_offline, models_listed,
             fs_round_trip, exec_streams_output, config_round_trip, mcp_status_listed,
             review_turn_completes, new_field_refused_locally],);
    };
    (@cases $run:ident, [$($scenario:ident),*], [$($module:ident = $version:literal),*]) => {
        $crate::for_each_facade_case!(@versions $run, [$($scenario),*], $($module = $version),*);

        /// The versions and scenarios instantiated above, for the check
        /// that they are all of them.
        #[allow(dead_code)]
        const FACADE_CASES: (&[&str], &[&str]) =
            (&[$($version),*], &[$(stringify!($scenario)),*]);
    };
    (@versions $run:ident, $scenarios:tt, $($module:ident = $version:literal),*) => {
        $(
            mod $module {
                $crate::for_each_facade_case!(@scenarios $run, $version, $scenarios);
            }
        )*
    };
    (@scenarios $run:ident, $version:literal, [$($scenario:ident),*]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let scenario =
                    $crate::scenario::facade::FacadeScenario::from_name(stringify!($scenario))
                        .expect("every scenario of `for_each_facade_case!` is a `FacadeScenario`");
                super::$run($version, scenario).await;
            }
        )*
    };
}
