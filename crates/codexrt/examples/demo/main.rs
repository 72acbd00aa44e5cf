//! A real codex session through the `codexrt` facade, end to end: codex's
//! answer streaming in, a command approval decided by a hook, the
//! command's result, and the outcome with token usage and timing.
//!
//! By default the model is the testkit's scripted one on loopback, so no
//! API key is needed; `--live` uses your own codex login and model
//! instead. `cargo xtask demo` installs the pinned codex and runs this;
//! by hand:
//!
//! ```text
//! cargo run -p codexrt --example demo -- --codex <path to codex> [--live] [--json]
//! ```
//!
//! Without `--codex` the program named by `CODEX_BIN` is used.

// A terminal program: it reports to its user on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod live;
mod scripted;
mod session;
mod show;

use std::error::Error;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use show::Show;

const USAGE: &str = "usage: demo [--codex <path>] [--live] [--json]

  --codex <path>  the codex executable (default: $CODEX_BIN)
  --live          your own codex login and model instead of the scripted one
  --json          one JSON object per event instead of readable text";

/// What the command line asked for.
#[derive(Debug)]
struct Args {
    codex: PathBuf,
    live: bool,
    json: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("demo: {message}");
            return ExitCode::from(2);
        }
    };
    let show = Arc::new(Show::new(args.json));
    let result = if args.live {
        live::run(&args.codex, &show).await
    } else {
        scripted::run(&args.codex, &show).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            show.end();
            eprintln!("demo: {}", chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut codex = None;
    let mut live = false;
    let mut json = false;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--codex") => {
                let path = args.next().ok_or("`--codex` needs a path")?;
                codex = Some(PathBuf::from(path));
            }
            Some("--live") => live = true,
            Some("--json") => json = true,
            Some("-h" | "--help") => return Err(USAGE.to_owned()),
            _ => {
                return Err(format!(
                    "unknown argument `{}`\n{USAGE}",
                    arg.to_string_lossy()
                ));
            }
        }
    }
    let codex = codex
        .or_else(|| {
            std::env::var_os("CODEX_BIN")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        })
        .ok_or_else(|| {
            format!(
                "no codex to run: pass `--codex <path>` or set CODEX_BIN \
                 (`cargo xtask demo` installs the pinned codex and passes it)\n{USAGE}"
            )
        })?;
    Ok(Args { codex, live, json })
}

/// An error with its sources, on one line.
fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
