//! The stable driver of the fuzz targets (`codexrt_tests::fuzz`), run by
//! `cargo xtask fuzz`:
//!
//! ```text
//! fuzz [--target frames|envelope|typed|runtime|all] [--cases N] [--seed S]
//! fuzz --target <name> --input <file>     # one saved case again
//! ```
//!
//! Runs N cases (1,000,000 by default) of each target from seed S (random
//! by default, printed), and prints the cases, the time and the rate. A case
//! that panics is written to `target/fuzz-failures/` (the bytes `cargo fuzz
//! run <target> <file>` takes as well) and the program exits with 1.

// The program reports to its user on the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use codexrt_tests::fuzz::{Target, drive};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(usage) => {
            eprintln!("{usage}");
            eprintln!(
                "usage: fuzz [--target frames|envelope|typed|runtime|all] [--cases N] [--seed S]"
            );
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode, String> {
    let mut targets = Target::ALL.to_vec();
    let mut cases: u64 = 1_000_000;
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_nanos() as u64)
        .unwrap_or(1);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--target" if value == "all" => targets = Target::ALL.to_vec(),
            "--target" => {
                targets =
                    vec![Target::from_name(&value).ok_or_else(|| format!("no target {value:?}"))?];
            }
            "--cases" => cases = value.parse().map_err(|_| format!("--cases {value:?}"))?,
            "--seed" => seed = value.parse().map_err(|_| format!("--seed {value:?}"))?,
            "--input" => {
                // One saved case, run again as it was.
                let data = std::fs::read(&value).map_err(|err| format!("{value}: {err}"))?;
                for target in &targets {
                    target.run(&data);
                    println!("{}: {value} passed", target.name());
                }
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    println!("seed {seed}");
    for target in targets {
        let started = Instant::now();
        match drive(target, cases, seed) {
            Ok(driven) => {
                let seconds = started.elapsed().as_secs_f64();
                println!(
                    "{:<9} {:>12} cases, 0 panics, {:>8.1} s, {:>10.0} cases/s",
                    driven.target,
                    driven.cases,
                    seconds,
                    driven.cases as f64 / seconds.max(1e-9)
                );
            }
            Err(failure) => {
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/fuzz-failures");
                let file = dir.join(format!(
                    "{}-{}-{}.bin",
                    failure.target, failure.seed, failure.case
                ));
                let saved = std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(&file, &failure.input))
                    .map(|()| file.display().to_string())
                    .unwrap_or_else(|err| format!("(not saved: {err})"));
                println!(
                    "{}: case {} of seed {} panicked: {}\ninput: {saved}",
                    failure.target, failure.case, failure.seed, failure.message
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
