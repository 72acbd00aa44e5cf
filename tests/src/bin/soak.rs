//! `soak [--minutes N | --seconds N] [--codex VERSION | --no-codex]
//! [--no-streams] [--no-approvals]`: the soak of `codexrt_tests::soak`,
//! run by `cargo xtask soak`. Prints a line per sample, the work each
//! worker did and the verdict; exits with 1 when the soak found a problem.
//! The `--no-*` flags leave a worker out, to find which part of the mix
//! something grows with.

// The program reports to its user on the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use cap::Cap;
use codexrt_tests::soak::{SoakOptions, soak};

/// Counts the bytes live on the heap (two atomic updates per allocation),
/// so that the samples can tell what the program holds from what the
/// allocator keeps.
#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const USAGE: &str = "usage: soak [--minutes N | --seconds N] [--codex VERSION | --no-codex] \
                     [--no-streams] [--no-approvals]";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match options(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(usage) => {
            eprintln!("{usage}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "soak for {:?}, sampling every {:?}, killing the streams fake every {:?}, codex {}{}{}",
        options.duration,
        options.sample_every,
        options.kill_every,
        options.codex.as_deref().unwrap_or("left out"),
        if options.streams { "" } else { ", no streams" },
        if options.approvals {
            ""
        } else {
            ", no approvals"
        },
    );
    match soak(options, |line| println!("{line}")).await {
        Ok(report) => {
            for (worker, (ok, expected)) in &report.work {
                println!(
                    "{worker:<10} {ok:>7} done  {expected:>5} failed as expected (killed under them)"
                );
            }
            if let (Some(first), Some(last)) = (report.samples.get(1), report.samples.last()) {
                println!(
                    "from {} s to {} s: rss {} -> {} KiB, heap {} -> {} KiB, fds {} -> {}, threads {} -> {}, tasks {} -> {}",
                    first.at_secs,
                    last.at_secs,
                    first.rss_kib,
                    last.rss_kib,
                    first.heap_kib,
                    last.heap_kib,
                    first.fds,
                    last.fds,
                    first.threads,
                    last.threads,
                    first.tasks,
                    last.tasks
                );
            }
            if report.problems.is_empty() {
                println!("soak passed");
                ExitCode::SUCCESS
            } else {
                for problem in &report.problems {
                    println!("problem: {problem}");
                }
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            println!("the soak could not start: {err}");
            ExitCode::FAILURE
        }
    }
}

fn options(args: Vec<String>) -> Result<SoakOptions, String> {
    let mut duration = Duration::from_secs(60);
    // The newest supported version, the one `cargo xtask demo` pins.
    let mut codex = codexrt_tests::scenario::VERSIONS
        .last()
        .map(|version| version.to_string());
    let (mut streams, mut approvals) = (true, true);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--no-codex" => codex = None,
            "--no-streams" => streams = false,
            "--no-approvals" => approvals = false,
            "--minutes" | "--seconds" | "--codex" => {
                let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--codex" => codex = Some(value),
                    unit => {
                        let n: u64 = value.parse().map_err(|_| format!("{flag} {value:?}"))?;
                        duration =
                            Duration::from_secs(if unit == "--minutes" { n * 60 } else { n });
                    }
                }
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    // Ten samples at least, at most one every 10 s.
    let sample_every = (duration / 10).clamp(Duration::from_secs(1), Duration::from_secs(10));
    Ok(SoakOptions {
        duration,
        sample_every,
        kill_every: (duration / 6).clamp(Duration::from_secs(5), Duration::from_secs(60)),
        codex,
        streams,
        approvals,
        heap: Some(|| HEAP.allocated()),
        // Built beside this program, by the same cargo command.
        fake: std::env::current_exe()
            .map_err(|err| format!("where this program is: {err}"))?
            .with_file_name("fake-app-server"),
    })
}
