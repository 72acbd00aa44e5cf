//! The reliability matrix of `docs/reliability.md`: every test it names exists.
//!
//! The matrix is the first Markdown table after the `## The matrix` heading.
//! Its header row has a `File` and a `Test` column (others are free prose).
//! In a row:
//! - `File` holds one path from the workspace root in backticks, such as
//!   `` `crates/codexrt-rpc/tests/it/calls.rs` ``;
//! - `Test` holds one or more function names in backticks, such as
//!   `` `a_thousand_concurrent_calls_answered_in_random_order_all_match` ``,
//!   each of which must be defined in that file as `fn NAME(` or `fn NAME<`.
//!
//! A row whose `Test` cell has no name in backticks (say "no test yet") names
//! nothing and is not checked. A test a macro generates is named by the
//! function the macro runs and the file that defines it: the compat suite's
//! `facade::v0_169_0::slow_hook_declined`, made by `for_each_facade_case!`, is
//! named as `slow_hook_declined` in `tests/src/scenario/facade/hooks.rs`.

/// A test the matrix names, with the line of the table that names it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) line: usize,
    pub(super) file: String,
    pub(super) test: String,
}

/// The heading the matrix follows.
const HEADING: &str = "## The matrix";

/// The tests the matrix of `doc` names.
///
/// # Errors
/// A missing heading, table, `File` or `Test` column, or a row naming tests
/// without exactly one file.
pub(super) fn entries(doc: &str) -> Result<Vec<Entry>, String> {
    let mut lines = doc
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .skip_while(|(_, line)| *line != HEADING);
    if lines.next().is_none() {
        return Err(format!("no `{HEADING}` heading"));
    }
    let mut table = lines
        .skip_while(|(_, line)| !line.starts_with('|'))
        .take_while(|(_, line)| line.starts_with('|'));
    let Some((_, header)) = table.next() else {
        return Err(format!("no table after `{HEADING}`"));
    };
    let header = cells(header);
    let column = |name: &str| {
        header
            .iter()
            .position(|cell| cell.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("the matrix has no `{name}` column"))
    };
    let (file_column, test_column) = (column("File")?, column("Test")?);
    let mut entries = Vec::new();
    // The row after the header is the delimiter row (`|---|---|`).
    for (line, row) in table.skip(1) {
        let row = cells(row);
        let tests = quoted(row.get(test_column).copied().unwrap_or_default());
        if tests.is_empty() {
            continue;
        }
        let files = quoted(row.get(file_column).copied().unwrap_or_default());
        let [file] = files.as_slice() else {
            return Err(format!(
                "line {line}: a row naming tests needs exactly one file in backticks, found {}",
                files.len()
            ));
        };
        entries.extend(tests.into_iter().map(|test| Entry {
            line,
            file: (*file).to_owned(),
            test: test.to_owned(),
        }));
    }
    Ok(entries)
}

/// The problems with the matrix of `doc`: a test missing from its file, or a
/// file that cannot be read (`read` gives a file's text by its path, or
/// `None`).
pub(super) fn problems(doc: &str, read: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let entries = match entries(doc) {
        Ok(entries) => entries,
        Err(err) => return vec![format!("docs/reliability.md: {err}")],
    };
    let mut problems = Vec::new();
    for entry in entries {
        match read(&entry.file) {
            None => problems.push(format!(
                "docs/reliability.md:{}: `{}` names a file that does not exist",
                entry.line, entry.file
            )),
            Some(source) if !defines_fn(&source, &entry.test) => problems.push(format!(
                "docs/reliability.md:{}: no `fn {}` in `{}`",
                entry.line, entry.test, entry.file
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Whether `source` has `fn NAME(` or `fn NAME<`, with `fn` a whole word.
pub(super) fn defines_fn(source: &str, name: &str) -> bool {
    let needle = format!("fn {name}");
    source.match_indices(&needle).any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let after = source[at + needle.len()..].chars().next();
        !before.is_some_and(is_ident) && matches!(after, Some('(' | '<'))
    })
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The cells of a table row, trimmed, without the outer pipes.
fn cells(row: &str) -> Vec<&str> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    row.split('|').map(str::trim).collect()
}

/// The texts between pairs of backticks in `cell`.
fn quoted(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}
