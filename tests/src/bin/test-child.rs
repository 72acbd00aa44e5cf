//! `test-child`: a small program that the transport tests run as a child
//! process, its behaviour chosen by its arguments.
//!
//! ```text
//! echo                            echo each stdin line; exit 0 at end of stdin
//! linger                          print `ready`, echo, then keep running after end of stdin
//! ignore-sigterm                  like `linger`, with SIGTERM ignored
//! stderr-flood <total> <per-line> before echoing each line, write the next <per-line>
//!                                 bytes of the flood to stderr; the rest at end of stdin
//! grandchild                      start `test-child sleep` in the same process group
//!                                 (sharing stdout and stderr), print its pid, echo
//! grandchild-linger               like `grandchild`, then keep running after end of stdin
//! setsid-grandchild               like `grandchild`, but the grandchild calls `setsid`
//!                                 first: a session and process group of its own, still
//!                                 holding stdout and stderr
//! sleep                           sleep forever
//! exit <code> <message>           write <message> to stderr, exit with <code>
//! print-and-exit <n>              print `line 0` .. `line <n-1>`, exit 0
//! long-line <len>                 print a line of <len> bytes, then `good`, exit 0
//! close-stdout                    print `bye`, close stdout, keep running
//! env                             print the environment as sorted `"KEY"="VALUE"` lines
//!                                 (Rust debug escapes, so one line each), exit 0
//! pwd                             print the working directory, exit 0
//! parent <policy> <args>..        play the SDK's side: spawn `test-child <args>..` through
//!                                 `StdioTransport` with env policy <policy> (`inherit`,
//!                                 `essential` or `essential+NAME`), print `child <pid>`,
//!                                 then every frame it writes; at the end of our stdin,
//!                                 shut it down (1 s grace) and print `shut down`
//! rpc-server <stderr-per-request> a JSON-RPC peer: answers each request `{"id","method","params"}`
//!                                 with `{"id","result":{"method","params"}}`, except method
//!                                 `hang`, which is never answered, and method `big` with
//!                                 params `{"len":<n>}`, answered with
//!                                 `{"id","result":{"pad":"xx.."}}`, <n> bytes of padding;
//!                                 writes the next <stderr-per-request> bytes of the stderr
//!                                 flood before each answer; sends
//!                                 `{"method":"tick","params":{"n":..}}` after every answer
//! ```

use std::io::{self, BufRead, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use codexrt_tests::flood::Flood;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The test reading stderr gets to see why.
            let _ = writeln!(io::stderr(), "test-child {args:?}: {err}");
            ExitCode::from(100)
        }
    }
}

fn run(args: &[&str]) -> io::Result<()> {
    match args {
        ["echo"] => echo(|_| Ok(())),
        ["linger"] => {
            say("ready")?;
            echo(|_| Ok(()))?;
            sleep_forever()
        }
        ["ignore-sigterm"] => {
            ignore_sigterm()?;
            say("ready")?;
            echo(|_| Ok(()))?;
            sleep_forever()
        }
        ["stderr-flood", total, per_line] => {
            let total = number(total)?;
            let per_line = number(per_line)?;
            let mut flood = Flood::new();
            let mut stderr = io::stderr().lock();
            echo(|_| {
                let len = per_line.min(total - flood.offset());
                flood.write_next(len, &mut stderr)
            })?;
            let rest = total - flood.offset();
            flood.write_next(rest, &mut stderr)
        }
        [mode @ ("grandchild" | "grandchild-linger")] => {
            let exe = std::env::current_exe()?;
            let grandchild = Command::new(exe)
                .arg("sleep")
                .stdin(Stdio::null())
                .spawn()?;
            say(&grandchild.id().to_string())?;
            echo(|_| Ok(()))?;
            if *mode == "grandchild-linger" {
                sleep_forever()?;
            }
            Ok(())
        }
        ["setsid-grandchild"] => {
            let mut command = Command::new(std::env::current_exe()?);
            command.arg("sleep").stdin(Stdio::null());
            leave_session(&mut command);
            let grandchild = command.spawn()?;
            say(&grandchild.id().to_string())?;
            echo(|_| Ok(()))
        }
        ["sleep"] => sleep_forever(),
        ["exit", code, message] => {
            writeln!(io::stderr(), "{message}")?;
            let code = i32::try_from(number(code)?).map_err(io::Error::other)?;
            std::process::exit(code)
        }
        ["print-and-exit", count] => {
            let mut out = io::stdout().lock();
            for line in 0..number(count)? {
                writeln!(out, "line {line}")?;
            }
            Ok(())
        }
        ["long-line", len] => {
            let mut out = io::stdout().lock();
            out.write_all(&vec![
                b'x';
                usize::try_from(number(len)?)
                    .map_err(io::Error::other)?
            ])?;
            out.write_all(b"\ngood\n")?;
            out.flush()
        }
        ["close-stdout"] => {
            say("bye")?;
            close_stdout()?;
            sleep_forever()
        }
        ["env"] => {
            let mut vars: Vec<String> = std::env::vars_os()
                .map(|(key, value)| {
                    format!("{:?}={:?}", key.to_string_lossy(), value.to_string_lossy())
                })
                .collect();
            vars.sort();
            let mut out = io::stdout().lock();
            for var in vars {
                writeln!(out, "{var}")?;
            }
            Ok(())
        }
        ["parent", policy, child @ ..] => parent(policy, child),
        ["pwd"] => say(&std::env::current_dir()?.to_string_lossy()),
        ["rpc-server", per_request] => rpc_server(number(per_request)?),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "unknown command",
        )),
    }
}

/// Runs `test-child <child>..` as the SDK would; see the module doc.
fn parent(policy: &str, child: &[&str]) -> io::Result<()> {
    use codexrt_transport::{EnvPolicy, StdioTransport};
    let policy = match policy.split_once('+') {
        None if policy == "inherit" => EnvPolicy::Inherit,
        None if policy == "essential" => EnvPolicy::essential(),
        Some(("essential", extra)) => EnvPolicy::essential_and([extra]),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unknown policy",
            ));
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let spawned = StdioTransport::new(std::env::current_exe()?)
            .args(child)
            .env_policy(policy)
            .spawn()
            .await
            .map_err(io::Error::other)?;
        say(&format!("child {}", spawned.pid))?;
        let mut connection = spawned.connection;
        // Our stdin is read on a thread: its end is the signal to shut down.
        let (stdin_done, mut stdin_end) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
            let _ = stdin_done.send(());
        });
        loop {
            tokio::select! {
                frame = connection.receiver.recv() => match frame {
                    Some(Ok(frame)) => say(&String::from_utf8_lossy(&frame))?,
                    Some(Err(err)) => say(&format!("frame error: {err}"))?,
                    None => return Ok(()),
                },
                _ = &mut stdin_end => break,
            }
        }
        connection
            .closer
            .shutdown(Duration::from_secs(1))
            .await
            .map_err(io::Error::other)?;
        say("shut down")
    })
}

/// Answers JSON-RPC requests line by line; see the module doc.
fn rpc_server(stderr_per_request: u64) -> io::Result<()> {
    let mut flood = Flood::new();
    let mut stderr = io::stderr().lock();
    let mut ticks = 0_u64;
    let stdin = io::stdin().lock();
    let mut out = io::stdout().lock();
    for line in stdin.lines() {
        let request: serde_json::Value = serde_json::from_str(&line?).map_err(io::Error::other)?;
        if request["method"] == "hang" {
            continue;
        }
        flood.write_next(stderr_per_request, &mut stderr)?;
        let result = if request["method"] == "big" {
            let len = request["params"]["len"]
                .as_u64()
                .and_then(|len| usize::try_from(len).ok())
                .ok_or_else(|| io::Error::other("`big` needs params {\"len\": <n>}"))?;
            serde_json::json!({"pad": "x".repeat(len)})
        } else {
            serde_json::json!({"method": request["method"], "params": request["params"]})
        };
        let answer = serde_json::json!({"id": request["id"], "result": result});
        ticks += 1;
        let tick = serde_json::json!({"method": "tick", "params": {"n": ticks}});
        writeln!(out, "{answer}\n{tick}")?;
        out.flush()?;
    }
    Ok(())
}

/// Echoes stdin to stdout line by line, calling `before` ahead of each echo.
fn echo(mut before: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if stdin.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        before(&line)?;
        out.write_all(&line)?;
        out.flush()?;
    }
}

fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn number(arg: &str) -> io::Result<u64> {
    arg.parse()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("`{arg}`: {err}")))
}

fn sleep_forever() -> io::Result<()> {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[allow(unsafe_code)]
fn ignore_sigterm() -> io::Result<()> {
    // SAFETY: installing SIG_IGN runs no code of ours in a signal handler.
    let previous = unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Makes `command`'s process call `setsid` before it runs: it leaves our
/// session and process group.
#[allow(unsafe_code)]
fn leave_session(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `setsid` is async-signal-safe and touches no memory, as code
    // between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
}

#[allow(unsafe_code)]
fn close_stdout() -> io::Result<()> {
    // SAFETY: nothing writes to stdout after this; a later write would fail
    // with EBADF, not touch memory.
    let result = unsafe { libc::close(libc::STDOUT_FILENO) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
