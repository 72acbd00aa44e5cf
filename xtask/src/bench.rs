//! `cargo xtask bench [--quick]`: the benchmarks, built with optimizations;
//! they print ratios against baselines measured in the same run.
//!
//! - `stack`: the transport and rpc layers against bare framing and parsing.
//! - `inbound`: the inbound path end to end, a hand-written baseline client,
//!   codexrt-core and the facade against the fake app-server's traffic
//!   (`docs/benchmarks.md`). `--quick` runs each client once, on smaller
//!   counts, as a smoke test.
//!
//! A wrong result in either fails the command; a slow one never does.

use std::path::Path;

use crate::cmd;

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => {
            return Err(format!(
                "`cargo xtask bench` takes only `--quick` (got `{}`)",
                args.join(" ")
            ));
        }
    };
    let bench = |name: &str, extra: &[&str]| {
        let mut args = vec!["bench", "--package", "codexrt-tests", "--bench", name];
        if !extra.is_empty() {
            args.push("--");
            args.extend_from_slice(extra);
        }
        cmd::run(root, "cargo", &args)
    };
    // Both run even when the first fails, so one report never hides the
    // other.
    let stack = bench("stack", &[]);
    let inbound = bench("inbound", if quick { &["--quick"] } else { &[] });
    match (stack, inbound) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(err), Ok(())) | (Ok(()), Err(err)) => Err(err),
        (Err(stack), Err(inbound)) => Err(format!("{stack}; {inbound}")),
    }
}
