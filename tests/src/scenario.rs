//! Scenarios that drive `codex app-server` through our lowest layers
//! (transport, rpc and the typed protocol): the compatibility suite runs
//! them against every supported codex version, the fixture suite against
//! the golden transcripts recorded from those versions.
//!
//! A scenario is an async function of a [`Target`]: the real codex of a
//! version ([`Target::Live`]), the same while recording every frame
//! ([`Target::Recording`]), or a recorded
//! [`Transcript`](codexrt_testkit::Transcript) replayed in place of codex
//! ([`Target::Replay`]). The scenario code is the same for all
//! three; what only a live run can show (files on disk, the requests the
//! scripted model received) is checked only live. Every message codex sends
//! is decoded with the typed protocol and checked for drift: a method the
//! protocol does not know, or one the method table says the version lacks,
//! fails the run with its name.
//!
//! To add a scenario: write it in `scenario/cases.rs`, add it to
//! [`Scenario`] and to the lists in [`for_each_case!`](crate::for_each_case),
//! and record its fixtures with `cargo xtask fixtures record all <scenario>`.

mod cases;
mod error;
mod events;
pub mod facade;
mod fixture;
mod session;

use std::fmt;

pub use cases::{
    command_approved, command_declined, handshake, interrupt, model_failure, streamed_answer,
};
pub use error::{ScenarioError, check, check_eq};
pub use events::{
    Event, agent_message_deltas, completed_agent_messages, decode_notification, decode_request,
    errors, requests, turn_status,
};
pub use fixture::{
    FixtureOutcome, canonical_order, check_transcript_decodes, fixture_normalizer, fixture_path,
    fixtures_dir, record_fixture,
};
pub use session::{Approvals, Finished, Session, Target, version_from_user_agent};

/// The codex versions the suites run against: those the typed protocol was
/// generated for.
pub use codexrt_protocol::KNOWN_VERSIONS as VERSIONS;

/// Every scenario, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scenario {
    /// [`handshake`].
    Handshake,
    /// [`streamed_answer`].
    StreamedAnswer,
    /// [`command_approved`].
    CommandApproved,
    /// [`command_declined`].
    CommandDeclined,
    /// [`model_failure`].
    ModelFailure,
    /// [`interrupt`].
    Interrupt,
}

impl Scenario {
    /// Every scenario, in the order the suites list them.
    pub const ALL: [Scenario; 6] = [
        Scenario::Handshake,
        Scenario::StreamedAnswer,
        Scenario::CommandApproved,
        Scenario::CommandDeclined,
        Scenario::ModelFailure,
        Scenario::Interrupt,
    ];

    /// The name: the test function's and the fixture file's.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Handshake => "handshake",
            Scenario::StreamedAnswer => "streamed_answer",
            Scenario::CommandApproved => "command_approved",
            Scenario::CommandDeclined => "command_declined",
            Scenario::ModelFailure => "model_failure",
            Scenario::Interrupt => "interrupt",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    /// Runs the scenario on `target`.
    ///
    /// # Errors
    /// The first thing that went wrong or did not hold.
    pub async fn run(self, target: Target) -> Result<Finished, ScenarioError> {
        match self {
            Scenario::Handshake => handshake(target).await,
            Scenario::StreamedAnswer => streamed_answer(target).await,
            Scenario::CommandApproved => command_approved(target).await,
            Scenario::CommandDeclined => command_declined(target).await,
            Scenario::ModelFailure => model_failure(target).await,
            Scenario::Interrupt => interrupt(target).await,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Instantiates a test for every supported version and scenario, named
/// `v0_169_0::streamed_answer` and so on, so that
/// `cargo test --test compat v0_160_1::` selects a version. Each test is
/// `$run(version, scenario).await`, with `$run` an async function of a
/// `&'static str` and a [`Scenario`].
///
/// The versions come from [`with_supported_versions!`](crate::with_supported_versions),
/// which `cargo xtask codegen` writes from the supported list; the
/// scenarios must be [`Scenario::ALL`]. Both suites check that the cases
/// are [`VERSIONS`] and [`Scenario::ALL`], so nothing can be left out.
#[macro_export]
macro_rules! for_each_case {
    ($run:ident) => {
        $crate::with_supported_versions!($crate::for_each_case; @cases $run,
            [handshake, streamed_answer, command_approved, command_declined, model_failure,
             interrupt],);
    };
    (@cases $run:ident, [$($scenario:ident),*], [$($module:ident = $version:literal),*]) => {
        $crate::for_each_case!(@versions $run, [$($scenario),*], $($module = $version),*);

        /// The versions and scenarios instantiated above, for the check
        /// that they are all of them.
        #[allow(dead_code)]
        const CASES: (&[&str], &[&str]) = (&[$($version),*], &[$(stringify!($scenario)),*]);
    };
    (@versions $run:ident, $scenarios:tt, $($module:ident = $version:literal),*) => {
        $(
            mod $module {
                $crate::for_each_case!(@scenarios $run, $version, $scenarios);
            }
        )*
    };
    (@scenarios $run:ident, $version:literal, [$($scenario:ident),*]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let scenario = $crate::scenario::Scenario::from_name(stringify!($scenario))
                    .expect("every scenario of `for_each_case!` is a `Scenario`");
                super::$run($version, scenario).await;
            }
        )*
    };
}
