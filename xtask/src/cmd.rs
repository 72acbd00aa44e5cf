//! Running child commands with a visible header and a clear failure message.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Runs `program args` in `dir`, printing a header before and the elapsed time
/// after; fails with the command line when it exits unsuccessfully.
pub(crate) fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    run_with_env(dir, &[], program, args)
}

/// Like [`run`], with extra environment variables for the child.
pub(crate) fn run_with_env(
    dir: &Path,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
) -> Result<(), String> {
    let line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    println!("\n==> {line}");
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|err| format!("could not start `{line}`: {err}"))?;
    println!(
        "<== {line}: {status} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs a command and returns its standard output.
pub(crate) fn output(dir: &Path, program: &str, args: &[&str]) -> Result<String, String> {
    let line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|err| format!("could not start `{line}`: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{line}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{line}` printed invalid UTF-8"))
}

/// The last `lines` lines of `text`, or a note that it was empty, so an error
/// message never ends in a dangling "said:".
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    if all.is_empty() {
        return "(nothing on stderr)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests;
