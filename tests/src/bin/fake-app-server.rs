//! `fake-app-server`: the testkit's fake `codex app-server` as a child
//! process, either scripted, for the stdio-level faults the in-process fake
//! cannot show (stderr floods, death by SIGKILL, SIGTERM ignored), or as a
//! source of codex-shaped traffic at native speed, for benchmarks.
//!
//! ```text
//! fake-app-server <script.json> [--record <out.jsonl>]
//! fake-app-server [app-server] --traffic stream [--deltas N] [--delta-bytes B] [--empty-final]
//! fake-app-server [app-server] --traffic approvals [--approvals N]
//! fake-app-server [app-server] --traffic .. --listen ws://127.0.0.1:0
//! ```
//!
//! The script is a `codexrt_testkit::fake::FakeScript` in JSON; with
//! `--record`, every frame the client sends is appended to the file as a
//! transcript line. With `--traffic`, the program serves
//! `codexrt_testkit::fake::Traffic`; a leading `app-server` is skipped, so
//! that a runtime configured with this program starts it as it would start
//! codex. With `--listen`, it serves the traffic to the first client of a
//! WebSocket listener instead, after printing `listening on: ws://..` on
//! stderr as codex does. Exit status 2 means the arguments or the script were unusable;
//! otherwise the script decides (70 for a failed step, or for traffic that
//! could not be written).

use std::io::{self, Write};
use std::process::ExitCode;

use codexrt_testkit::fake::{FakeScript, StdioFake, Traffic};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match args.split_first() {
        Some((first, rest)) if first == "app-server" => rest,
        _ => &args[..],
    };
    if args.iter().any(|arg| arg == "--traffic") {
        // `--listen ws://HOST:PORT` serves the traffic over a WebSocket.
        let (listen, rest): (Option<&String>, Vec<String>) =
            match args.iter().position(|arg| arg == "--listen") {
                Some(at) => (
                    args.get(at + 1),
                    args.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != at && *i != at + 1)
                        .map(|(_, arg)| arg.clone())
                        .collect(),
                ),
                None => (None, args.to_vec()),
            };
        return match (Traffic::from_args(&rest), listen) {
            (Ok(traffic), Some(listen)) => traffic.run_websocket(listen),
            (Ok(_), None) if rest.len() != args.len() => usage("`--listen` takes ws://HOST:PORT"),
            (Ok(traffic), None) => traffic.run_stdio(),
            (Err(err), _) => usage(&err.to_string()),
        };
    }
    let (script, record) = match args {
        [script] => (script, None),
        [script, flag, record] if flag == "--record" => (script, Some(record)),
        _ => {
            return usage(
                "usage: fake-app-server <script.json> [--record <out.jsonl>] \
                 | [app-server] --traffic <stream|approvals> ..",
            );
        }
    };
    let script = match FakeScript::load(script) {
        Ok(script) => script,
        Err(err) => return usage(&err.to_string()),
    };
    let mut fake = StdioFake::new(script);
    if let Some(record) = record {
        fake = fake.record(record);
    }
    fake.run()
}

fn usage(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "fake-app-server: {message}");
    ExitCode::from(2)
}
