//! The report: a line per run as it ends, then the medians side by side with
//! their ratios to the baseline, the targets with PASS or MISS, and every
//! wrong result.

use std::collections::HashMap;

use crate::harness::Setup;
use crate::scenario::{Client, POOL_SERVERS, RunResult, Sizes};

pub(crate) type Results = HashMap<(Client, Setup), Vec<RunResult>>;

const MIB: f64 = 1024.0;

/// `1234567` as `1,234,567`.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1000000` as `1 M`, `10000` as `10 k`: for headers.
fn short(value: u64) -> String {
    match value {
        v if v >= 1_000_000 && v % 1_000_000 == 0 => format!("{} M", v / 1_000_000),
        v if v >= 1_000 && v % 1_000 == 0 => format!("{} k", v / 1_000),
        v => count(v),
    }
}

fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0}/s")
    }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / MIB)
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

pub(crate) fn progress(run: usize, runs: usize, setup: Setup, client: Client, result: &RunResult) {
    let figure = result.per_second().map_or_else(|| "-".to_owned(), rate);
    let rss = result
        .peak_rss_kib
        .map_or_else(|| "-".to_owned(), |kib| mib(kib as f64));
    let verdict = match &result.failure {
        Some(failure) => format!("  WRONG: {failure}"),
        None => String::new(),
    };
    println!(
        "  [{run}/{runs}] {:<24} {:<8} {:>12}  {:>10} peak RSS  {:>7.2} s{verdict}",
        setup.label(),
        client.name(),
        figure,
        rss,
        result.seconds,
    );
}

/// The medians of one client in one setup.
#[derive(Debug, Default)]
struct Summary {
    per_second: Option<f64>,
    seconds: Option<f64>,
    single_seconds: Option<f64>,
    rss_kib: Option<f64>,
    wrong: bool,
    ran: bool,
}

fn summarize(runs: Option<&Vec<RunResult>>) -> Summary {
    let Some(runs) = runs.filter(|runs| !runs.is_empty()) else {
        return Summary::default();
    };
    let measured: Vec<&RunResult> = runs.iter().filter(|run| run.seconds > 0.0).collect();
    Summary {
        per_second: median(measured.iter().filter_map(|run| run.per_second()).collect()),
        seconds: median(measured.iter().map(|run| run.seconds).collect()),
        single_seconds: median(
            measured
                .iter()
                .filter_map(|run| run.single_session_seconds)
                .collect(),
        ),
        rss_kib: median(
            runs.iter()
                .filter_map(|run| run.peak_rss_kib.map(|kib| kib as f64))
                .collect(),
        ),
        wrong: runs.iter().any(|run| run.failure.is_some()),
        ran: true,
    }
}

struct Table {
    summaries: HashMap<(Client, Setup), Summary>,
}

impl Table {
    fn get(&self, client: Client, setup: Setup) -> &Summary {
        static EMPTY: Summary = Summary {
            per_second: None,
            seconds: None,
            single_seconds: None,
            rss_kib: None,
            wrong: false,
            ran: false,
        };
        self.summaries.get(&(client, setup)).unwrap_or(&EMPTY)
    }

    fn rate_cell(&self, client: Client, setup: Setup) -> String {
        let summary = self.get(client, setup);
        let baseline = self.get(Client::Baseline, setup).per_second;
        let Some(per_second) = summary.per_second else {
            return if summary.ran {
                "✗".to_owned()
            } else {
                "n/a".to_owned()
            };
        };
        let ratio = baseline.map_or_else(String::new, |baseline| {
            format!(" ({:.2}×)", per_second / baseline)
        });
        let mark = if summary.wrong { " ✗" } else { "" };
        format!("{}{ratio}{mark}", rate(per_second))
    }

    fn rss_cell(&self, client: Client, setup: Setup) -> String {
        let summary = self.get(client, setup);
        let Some(kib) = summary.rss_kib else {
            return "n/a".to_owned();
        };
        let mark = if summary.wrong { " ✗" } else { "" };
        match self.get(Client::Baseline, setup).rss_kib {
            Some(baseline) if client != Client::Baseline => format!(
                "{} ({:.2}×, {:+.1} MiB){mark}",
                mib(kib),
                kib / baseline,
                (kib - baseline) / MIB
            ),
            _ => format!("{}{mark}", mib(kib)),
        }
    }
}

fn print_table(header: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([header[column].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    line(header);
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    line(&rule);
    for row in rows {
        line(row);
    }
    println!();
}

const STREAM: Setup = Setup::ALL[0];
const STREAM_EMPTY: Setup = Setup::ALL[1];
const APPROVALS: Setup = Setup::ALL[2];
const APPROVALS_PINNED: Setup = Setup::ALL[3];
const SLOW: Setup = Setup::ALL[4];
const SESSIONS: Setup = Setup::ALL[5];

/// Prints the tables, the targets and the wrong results; says whether any
/// result was wrong.
pub(crate) fn print(results: &Results, sizes: &Sizes, quick: bool, pinning: bool) -> bool {
    let table = Table {
        summaries: results
            .iter()
            .map(|(key, runs)| (*key, summarize(Some(runs))))
            .collect(),
    };
    println!(
        "medians of {} run(s), {} of the approvals; ratios are to the baseline (rates: higher \
         is better; RSS: lower is better); ✗ marks a wrong result\n",
        STREAM.runs(quick),
        APPROVALS.runs(quick),
    );
    let deltas = short(sizes.deltas);
    let approvals = short(sizes.approvals);
    let header = [
        "client".to_owned(),
        format!("{deltas} deltas/s"),
        "same, empty final text".to_owned(),
        format!("{approvals} approvals/s"),
        "approvals/s, 1 CPU".to_owned(),
        "peak RSS, stream".to_owned(),
    ];
    let rows: Vec<Vec<String>> = Client::ALL
        .into_iter()
        .filter(|client| *client != Client::Pool)
        .map(|client| {
            vec![
                client.name().to_owned(),
                table.rate_cell(client, STREAM),
                table.rate_cell(client, STREAM_EMPTY),
                table.rate_cell(client, APPROVALS),
                if pinning {
                    table.rate_cell(client, APPROVALS_PINNED)
                } else {
                    "skipped (no taskset)".to_owned()
                },
                table.rss_cell(client, STREAM),
            ]
        })
        .collect();
    print_table(&header, &rows);
    print_spread(results, pinning);

    let sessions = count(sizes.sessions);
    let header = [
        "client".to_owned(),
        "slow consumer, peak RSS".to_owned(),
        "slow consumer, every delta, completed".to_owned(),
        format!("{sessions} sessions at once, wall"),
        "wall, ratio to facade".to_owned(),
        format!("one session × {sessions}"),
        format!("{sessions} sessions, all exact"),
    ];
    let facade_wall = table.get(Client::Facade, SESSIONS).seconds;
    let rows: Vec<Vec<String>> = Client::ALL
        .into_iter()
        .filter(|client| *client != Client::WebSocket)
        .map(|client| {
            let slow = table.get(client, SLOW);
            let all = table.get(client, SESSIONS);
            let seconds =
                |value: Option<f64>| value.map_or("n/a".to_owned(), |s| format!("{s:.2} s"));
            let exact = |summary: &Summary| match (summary.ran, summary.wrong) {
                (false, _) => "n/a",
                (true, false) => "yes",
                (true, true) => "NO ✗",
            };
            vec![
                client.name().to_owned(),
                table.rss_cell(client, SLOW),
                exact(slow).to_owned(),
                seconds(all.seconds),
                match (all.seconds, facade_wall) {
                    (Some(wall), Some(facade)) if wall > 0.0 => format!("{:.2}×", facade / wall),
                    _ => "n/a".to_owned(),
                },
                seconds(
                    all.single_seconds
                        .map(|single| single * sizes.sessions as f64),
                ),
                exact(all).to_owned(),
            ]
        })
        .collect();
    print_table(&header, &rows);

    print_targets(&table, sizes, pinning);
    print_pool(&table, sizes);
    print_websocket(&table);
    print_wrong(results)
}

/// The slowest and the fastest run of each client in the approvals, under
/// the table: on two CPUs their medians move with the wake-ups of the other
/// CPU, and the spread shows by how much.
fn print_spread(results: &Results, pinning: bool) {
    let mut setups = vec![APPROVALS];
    if pinning {
        setups.push(APPROVALS_PINNED);
    }
    for setup in setups {
        let spreads: Vec<String> = Client::ALL
            .into_iter()
            .filter_map(|client| {
                let rates: Vec<f64> = results
                    .get(&(client, setup))?
                    .iter()
                    .filter_map(RunResult::per_second)
                    .collect();
                let slowest = rates.iter().copied().reduce(f64::min)?;
                let fastest = rates.iter().copied().reduce(f64::max)?;
                Some(format!(
                    "{} {}–{}",
                    client.name(),
                    rate(slowest),
                    rate(fastest)
                ))
            })
            .collect();
        if !spreads.is_empty() {
            println!(
                "{}, slowest–fastest run: {}",
                setup.label(),
                spreads.join(", ")
            );
        }
    }
    println!();
}

fn print_targets(table: &Table, sizes: &Sizes, pinning: bool) {
    println!("targets (MISS is reported, not an error; a wrong result is):");
    for client in [Client::Core, Client::Facade] {
        let stream_target = if client == Client::Core { 0.95 } else { 0.9 };
        let mut rate_targets = vec![
            (STREAM, "stream", stream_target),
            (STREAM_EMPTY, "stream, empty final text", stream_target),
            (APPROVALS, "approvals", 0.8),
        ];
        if pinning {
            rate_targets.push((APPROVALS_PINNED, "approvals, 1 CPU", 0.6));
        }
        for (setup, what, target) in rate_targets {
            let verdict = judge(table, client, setup, |client, baseline| {
                let ratio = client.per_second? / baseline.per_second?;
                Some((format!("{ratio:.2}×"), ratio >= target))
            });
            target_line(client, &format!("{what} ≥ {target:.2}× baseline"), &verdict);
        }
        for (setup, what, slack) in [
            (STREAM, "peak RSS, stream", 8.0),
            (
                SLOW,
                "peak RSS, slow consumer (every delta, completed)",
                16.0,
            ),
        ] {
            let verdict = judge(table, client, setup, |client, baseline| {
                let over = (client.rss_kib? - baseline.rss_kib?) / MIB;
                Some((format!("{over:+.1} MiB"), over <= slack))
            });
            target_line(
                client,
                &format!("{what} ≤ baseline + {slack:.0} MiB"),
                &verdict,
            );
        }
        let sessions = table.get(client, SESSIONS);
        let verdict = match (sessions.ran, sessions.wrong) {
            (false, _) => "n/a".to_owned(),
            (true, false) => "all exact  PASS".to_owned(),
            (true, true) => "FAIL (wrong results, see below)".to_owned(),
        };
        target_line(
            client,
            &format!("{} sessions at once, all exact", count(sizes.sessions)),
            &verdict,
        );
    }
    println!();
}

/// The pool's line: the same sessions over four servers rather than one
/// client, all exact, and how the wall times compare (reported, not a
/// target: the fake servers share the machine's CPUs with the client).
fn print_pool(table: &Table, sizes: &Sizes) {
    let pool = table.get(Client::Pool, SESSIONS);
    let facade = table.get(Client::Facade, SESSIONS);
    let verdict = match (pool.ran, pool.wrong) {
        (false, _) => "n/a".to_owned(),
        (true, true) => "FAIL (wrong results, see below)".to_owned(),
        (true, false) => match (pool.seconds, facade.seconds) {
            (Some(wall), Some(one)) if wall > 0.0 => format!(
                "all exact  PASS; wall {wall:.2} s vs {one:.2} s over one client ({:.2}× its speed)",
                one / wall
            ),
            _ => "all exact  PASS".to_owned(),
        },
    };
    target_line(
        Client::Pool,
        &format!(
            "{} sessions over {POOL_SERVERS} servers, all exact",
            count(sizes.sessions)
        ),
        &verdict,
    );
    println!();
}

/// The WebSocket client's lines: the same facade and the same traffic as
/// over stdio, and its rates as a ratio to stdio's (reported, not a
/// target).
fn print_websocket(table: &Table) {
    for (setup, what) in [
        (STREAM, "stream"),
        (STREAM_EMPTY, "stream, empty final text"),
        (APPROVALS, "approvals"),
    ] {
        let over_ws = table.get(Client::WebSocket, setup);
        let over_stdio = table.get(Client::Facade, setup);
        let verdict = match (over_ws.ran, over_ws.wrong) {
            (false, _) => "n/a".to_owned(),
            (true, true) => "FAIL (wrong result, see below)".to_owned(),
            (true, false) => match (over_ws.per_second, over_stdio.per_second) {
                (Some(ws), Some(stdio)) if stdio > 0.0 => format!(
                    "correct; {} vs {} over stdio ({:.2}×)",
                    rate(ws),
                    rate(stdio),
                    ws / stdio
                ),
                _ => "correct".to_owned(),
            },
        };
        target_line(
            Client::WebSocket,
            &format!("{what}, the facade over a WebSocket"),
            &verdict,
        );
    }
    println!();
}

/// PASS or MISS from `measure` (what was measured, and whether it meets the
/// target), unless a result was wrong or missing.
fn judge(
    table: &Table,
    client: Client,
    setup: Setup,
    measure: impl Fn(&Summary, &Summary) -> Option<(String, bool)>,
) -> String {
    let summary = table.get(client, setup);
    let baseline = table.get(Client::Baseline, setup);
    if summary.wrong {
        return "FAIL (wrong result, see below)".to_owned();
    }
    if baseline.wrong {
        return "n/a (the baseline's result was wrong)".to_owned();
    }
    match measure(summary, baseline) {
        Some((measured, true)) => format!("{measured}  PASS"),
        Some((measured, false)) => format!("{measured}  MISS"),
        None => "n/a".to_owned(),
    }
}

fn target_line(client: Client, target: &str, verdict: &str) {
    println!("  {:<9} {target:<62} {verdict}", client.name());
}

/// Lists every wrong result; says whether there was one.
fn print_wrong(results: &Results) -> bool {
    let mut wrong: Vec<String> = Vec::new();
    for setup in Setup::ALL {
        for client in Client::ALL {
            let Some(runs) = results.get(&(client, setup)) else {
                continue;
            };
            for (index, run) in runs.iter().enumerate() {
                if let Some(failure) = &run.failure {
                    wrong.push(format!(
                        "  {}, {}, run {}: {failure}",
                        client.name(),
                        setup.label(),
                        index + 1
                    ));
                }
            }
        }
    }
    if wrong.is_empty() {
        println!("every result was checked and correct");
        return false;
    }
    println!("WRONG RESULTS ({}):", wrong.len());
    for line in &wrong {
        println!("{line}");
    }
    true
}
