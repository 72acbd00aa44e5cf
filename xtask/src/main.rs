//! Project automation: `cargo xtask <command>`.
//!
//! Commands:
//! - `add-version`: make a codex release a supported version, every step
//!   after editing the list included.
//! - `bench`: benchmarks that report ratios against baselines.
//! - `compat`: the compatibility suite against real codex versions.
//! - `demo`: a real codex session through the `codexrt` facade, against a
//!   scripted model (no API key, no prior codex install) or, with `--live`,
//!   the user's own codex login.
//! - `drift`: how far the newest codex on npm has drifted from the newest
//!   supported version (the release-day check; not part of `test`).
//! - `fixtures`: check or re-record the golden transcripts of real codex.
//! - `fuzz`: the fuzz targets through their stable driver, for long runs.
//! - `loom`: the loom models of the exactly-once paths.
//! - `schema`: install codex versions from npm and vendor their protocol
//!   schema and method manifest.
//! - `twin`: accept a patch release as the twin of a supported version once
//!   its generated schema proves identical.
//! - `soak`: mixed traffic for a while, failing on resource growth.
//! - `test`: everything CI runs (format, lints, tests, tidy checks).
//! - `tidy`: the workspace's own invariants (dependency direction between our
//!   crates, a `//!` line at the top of every source file, the tests the
//!   reliability matrix names).

// The tool reports to its user on the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod add_version;
mod bench;
mod cmd;
mod codegen;
mod codex;
mod compat;
mod demo;
mod drift;
mod fixtures;
mod fuzz;
mod loom;
mod schema;
mod soak;
mod test;
mod tidy;
mod twin;
mod versions;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  add-version <version> [--pin] support a codex release: list, schema, codegen, fixtures, compat
  bench   [--quick] throughput of the stack and of three clients against baselines, as ratios
  codegen [--check] [--report] generate codexrt-protocol's types from the vendored schemas
  compat  [--version <version>] every scenario against real codex (all supported versions)
  demo    [--live] [--json] a real codex session through the facade (scripted model, or your login)
  drift   [--version <v>] [--against <v>] | --from <v> --to <v> protocol drift of codex on npm
          (default: npm's latest against the newest supported version); fails on breaking drift
  fixtures check | record <version|all> [<scenario|all>] golden transcripts of real codex
  fuzz    [--target <frames|envelope|typed|runtime|all>] [--cases N] [--seed S] the fuzz targets'
          stable driver, optimized (1,000,000 cases of each by default; a random seed, printed)
  loom    the loom models of a call's ending and a server request's one answer (optimized,
          built with `--cfg codexrt_loom` into target/loom)
  schema  [--check] [<version>...] vendor codex's protocol schema and method manifest
          (--check without versions also proves every listed twin again)
  soak    [--minutes N | --seconds N] [--codex <version> | --no-codex] [--no-streams]
          [--no-approvals] mixed traffic (fake and real codex, kills, interrupts) for N minutes
          (1 by default); fails on growth of memory (resident or live heap), fds, threads or tasks
  test    format check, clippy, the whole test suite and tidy (what CI runs)
  tidy    dependency direction between crates, `//!` file headers and the tests
          docs/reliability.md names
  twin    <twin> <partner> accept a patch release whose schema is byte-identical to a supported one's";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("add-version") => add_version::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("codegen") => codegen::run(&root, &args[1..]),
        Some("compat") => compat::run(&root, &args[1..]),
        Some("demo") => demo::run(&root, &args[1..]),
        Some("drift") => drift::run(&root, &args[1..]),
        Some("fixtures") => fixtures::run(&root, &args[1..]),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        Some("loom") => loom::run(&root, &args[1..]),
        Some("schema") => schema::run(&root, &args[1..]),
        Some("soak") => soak::run(&root, &args[1..]),
        Some("test") => test::run(&root, &args[1..]),
        Some("tidy") => tidy::run(&root),
        Some("twin") => twin::run(&root, &args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this package's folder, known at compile
/// time, so the commands work from any current directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
