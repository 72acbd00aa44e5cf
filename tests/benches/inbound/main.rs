//! `cargo xtask bench` (with `stack`): the inbound path end to end. Three
//! clients read the same codex-shaped traffic from a fast fake app-server
//! (`fake-app-server --traffic ..`, the testkit's `Traffic`) and are
//! compared side by side: rates, ratios to the baseline and peak RSS.
//!
//! - `baseline`: a hand-written loop (tokio `BufReader::lines()` and a
//!   `serde_json::Value` per line), what a user could write in 150 lines;
//! - `core`: `codexrt_core::Runtime` with a `TurnHandle`'s events and the
//!   runtime's server requests;
//! - `facade`: `codexrt::Client`, a `Session` and `ask_stream`, approvals
//!   accepted by a hook;
//! - `pool` (the sessions scenario only): `codexrt::Pool` over four fake
//!   app-servers, the same sessions spread over them, compared with the
//!   facade's one stdio client;
//! - `websocket` (the streams and the approvals): the facade's client
//!   over a WebSocket to the fake app-server, compared with the same
//!   client over stdio.
//!
//! Why one program with subcommands rather than three benches: run without
//! a subcommand (as `cargo bench` does) it is the harness; it starts itself
//! again as `inbound client <client> <scenario> <full|quick>` for every
//! single run, so each run has a process of its own and its peak RSS
//! (`VmHWM`) is that client's alone, and a client that crashes or hangs
//! fails that run, not the harness. Runs go round robin over the clients,
//! 5 of each by default (the median is reported), 1 with `--quick`, which
//! also shrinks the counts. Every run checks its result (the exact text,
//! the approvals, the turn's end); a wrong result is reported and makes the
//! harness exit with an error at the end, a slow one never does.
//!
//! ```text
//! cargo bench -p codexrt-tests --bench inbound [-- --quick]
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::expect_used,
    clippy::unwrap_used
)]

mod baseline;
mod facade;
mod harness;
mod pool;
mod report;
mod runtime;
mod scenario;

use std::process::ExitCode;

use scenario::{Client, Scenario, Sizes};

/// The fake app-server every client talks to.
const FAKE_APP_SERVER: &str = env!("CARGO_BIN_EXE_fake-app-server");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("client") => client(&args[1..]),
        _ => {
            // `cargo bench` adds `--bench`; everything else is ours.
            let quick = args.iter().any(|arg| arg == "--quick");
            if let Some(unknown) = args
                .iter()
                .find(|arg| !matches!(arg.as_str(), "--quick" | "--bench"))
            {
                eprintln!("inbound: unknown argument `{unknown}` (only `--quick`)");
                return ExitCode::from(2);
            }
            harness::run(quick)
        }
    }
}

/// One run of one client: prints its result line and exits 0 when the run
/// could be measured at all (its result may still be wrong).
fn client(args: &[String]) -> ExitCode {
    let parsed = match args {
        [client, scenario, size] => Client::parse(client)
            .zip(Scenario::parse(scenario))
            .zip(Sizes::parse(size)),
        _ => None,
    };
    let Some(((client, scenario), sizes)) = parsed else {
        eprintln!(
            "usage: inbound client <baseline|core|facade|pool|websocket> <scenario> <full|quick>"
        );
        return ExitCode::from(2);
    };
    let executor = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The client's code runs as a task on the runtime, as a service's
    // would, for every client alike. Run by `block_on` on the main thread
    // instead, every event a client's tasks hand to it crosses threads; on
    // one CPU that is a context switch each time (docs/benchmarks.md).
    let body = async move {
        match client {
            Client::Baseline => baseline::run(scenario, &sizes).await,
            Client::Core => runtime::run(scenario, &sizes).await,
            Client::Facade => facade::run(scenario, &sizes, facade::Over::Stdio).await,
            Client::WebSocket => facade::run(scenario, &sizes, facade::Over::WebSocket).await,
            Client::Pool => pool::run(scenario, &sizes).await,
        }
    };
    let measured = executor.block_on(async {
        tokio::spawn(body)
            .await
            .unwrap_or_else(|err| scenario::Measured::failed(format!("the client's task: {err}")))
    });
    scenario::print_result(measured);
    ExitCode::SUCCESS
}
