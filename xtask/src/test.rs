//! `cargo xtask test`: every check CI runs, in the order that fails fastest.

use std::path::Path;
use std::time::Instant;

use crate::{cmd, codegen, tidy};

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got `{extra}`)"
        ));
    }
    let started = Instant::now();
    // Cheap checks first: a formatting slip or a forbidden edge between crates
    // should not wait behind a full build.
    cmd::run(root, "cargo", &["fmt", "--all", "--check"])?;
    println!("\n==> tidy");
    tidy::run(root)?;
    // The generated protocol must be what the vendored schemas produce; this
    // needs neither codex nor npm.
    println!("\n==> codegen --check");
    codegen::run(root, &["--check".to_owned()])?;
    cmd::run(
        root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    cmd::run(root, "cargo", &["test", "--workspace"])?;
    println!("\n==> soak, 60 s");
    crate::soak::run(root, &["--seconds".to_owned(), "60".to_owned()])?;
    // The transport's `wss` feature (TLS through rustls) is off in the
    // workspace build; its code and its TLS tests get a pass of their own.
    feature_pass(root, "codexrt-transport", &["--features", "wss"], &[])?;
    // The facade without its default `schema-check` feature (output schemas
    // sent unchecked): the workspace build above has it on, and the tests
    // package turns `schemars` on as well.
    feature_pass(root, "codexrt", &["--no-default-features"], &["--lib"])?;
    // Every interleaving of the two exactly-once paths. The models run in
    // seconds; most of the cost is one optimized build of their crates'
    // dependencies under the loom cfg, in a target folder of its own.
    println!("\n==> loom");
    crate::loom::run(root, &[])?;
    // Broken intra-doc links and malformed doc markup are warnings of rustdoc,
    // not of clippy.
    cmd::run_with_env(
        root,
        &[("RUSTDOCFLAGS", "-D warnings")],
        "cargo",
        &["doc", "--workspace", "--no-deps", "--quiet"],
    )?;
    println!(
        "\nxtask test: all checks passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Clippy and the tests of `package` built with `features` (cargo's feature
/// flags), beside the workspace's default build; `tests` narrows the tests.
fn feature_pass(
    root: &Path,
    package: &str,
    features: &[&str],
    tests: &[&str],
) -> Result<(), String> {
    let mut clippy = vec!["clippy", "-p", package];
    clippy.extend_from_slice(features);
    clippy.extend_from_slice(&["--all-targets", "--", "-D", "warnings"]);
    cmd::run(root, "cargo", &clippy)?;
    let mut test = vec!["test", "-p", package];
    test.extend_from_slice(features);
    test.extend_from_slice(tests);
    cmd::run(root, "cargo", &test)
}
