//! `fake-app-server`: the testkit's scripted fake `codex app-server` as a
//! child process, for the stdio-level faults the in-process fake cannot show
//! (stderr floods, death by SIGKILL, SIGTERM ignored).
//!
//! ```text
//! fake-app-server <script.json> [--record <out.jsonl>]
//! ```
//!
//! The script is a `codexrt_testkit::fake::FakeScript` in JSON; with
//! `--record`, every frame the client sends is appended to the file as a
//! transcript line. Exit status 2 means the arguments or the script were
//! unusable; otherwise the script decides (70 for a failed step).

use std::io::{self, Write};
use std::process::ExitCode;

use codexrt_testkit::fake::{FakeScript, StdioFake};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (script, record) = match args.as_slice() {
        [script] => (script, None),
        [script, flag, record] if flag == "--record" => (script, Some(record)),
        _ => return usage("usage: fake-app-server <script.json> [--record <out.jsonl>]"),
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
