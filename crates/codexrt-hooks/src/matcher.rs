//! [`Matcher`]: which tool uses a hook is asked about, with [`glob`]
//! patterns on tool names, command lines and paths.

use std::cell::OnceCell;

use crate::{HookContext, Phase};

/// Which tool uses a hook sees. Every condition set must hold; the default
/// matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    phase: Option<Phase>,
    tool: Option<String>,
    command: Option<String>,
    path: Option<String>,
}

impl Matcher {
    /// A matcher that matches every tool use.
    pub fn any() -> Self {
        Matcher::default()
    }

    /// Only in `phase` (default: every phase).
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Only tools whose name matches the [`glob`] `pattern`, such as
    /// `command` or `mcp:github/*` (default: every tool).
    pub fn tool(mut self, pattern: impl Into<String>) -> Self {
        self.tool = Some(pattern.into());
        self
    }

    /// Only tool uses with a command line matching the [`glob`] `pattern`,
    /// such as `git *` (default: no condition): either the line as codex
    /// reports it or, for a shell wrapper, the script inside it (see
    /// [`command_forms`]). A tool use without a command line does not
    /// match.
    pub fn command(mut self, pattern: impl Into<String>) -> Self {
        self.command = Some(pattern.into());
        self
    }

    /// Only tool uses where some changed path matches the [`glob`]
    /// `pattern`, such as `*.rs` (default: no condition). A tool use whose
    /// paths are unknown does not match.
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.path = Some(pattern.into());
        self
    }

    /// Whether `ctx` satisfies every condition.
    pub fn matches(&self, ctx: &HookContext) -> bool {
        self.phase.is_none_or(|phase| phase == ctx.phase)
            && self
                .tool
                .as_deref()
                .is_none_or(|pattern| glob(pattern, &ctx.tool_name))
            && self.command.as_deref().is_none_or(|pattern| {
                ctx.command.as_deref().is_some_and(|command| {
                    forms_of(command).forms().any(|form| glob(pattern, form))
                })
            })
            && self
                .path
                .as_deref()
                .is_none_or(|pattern| ctx.paths.iter().any(|path| glob(pattern, path)))
    }
}

/// The forms of a command line that command patterns are tried on: the
/// line as codex reports it and, when that is a shell running a script
/// (`/bin/bash -lc 'touch a.txt'`, `sh -c "make"`, `zsh -lc ls`), the script
/// itself with its quoting undone (`touch a.txt`).
///
/// codex reports most commands inside such a wrapper, so a pattern like
/// `touch *` would otherwise never match. The wrapper is recognised only
/// in that exact shape (a `bash`, `sh` or `zsh` program, one `-c` or `-lc`
/// flag, one argument); anything else yields the line alone.
///
/// ```
/// use codexrt_hooks::command_forms;
///
/// assert_eq!(
///     command_forms(r"/bin/bash -lc 'echo '\''hi'\'''"),
///     [r"/bin/bash -lc 'echo '\''hi'\'''", "echo 'hi'"],
/// );
/// assert_eq!(command_forms("git status"), ["git status"]);
/// ```
pub fn command_forms(command: &str) -> Vec<String> {
    forms_of(command).forms().map(str::to_owned).collect()
}

/// The [`command_forms`] of a line without copying the line itself: the
/// matchers and rules look at them for every approval. The script is
/// unwrapped only when a look gets past the line: a rule that settles on
/// the line costs no copy.
pub(crate) struct Forms<'a> {
    line: &'a str,
    script: OnceCell<Option<String>>,
}

impl Forms<'_> {
    /// The line, then the script inside its shell wrapper, if any.
    pub(crate) fn forms(&self) -> impl Iterator<Item = &str> {
        let script = std::iter::once_with(|| {
            self.script
                .get_or_init(|| wrapped_script(self.line))
                .as_deref()
        });
        std::iter::once(self.line).chain(script.flatten())
    }
}

pub(crate) fn forms_of(command: &str) -> Forms<'_> {
    Forms {
        line: command,
        script: OnceCell::new(),
    }
}

/// The script of `<shell> -c|-lc <script>`, unquoted; `None` for any other
/// shape.
fn wrapped_script(command: &str) -> Option<String> {
    let (program, rest) = command.split_once(' ')?;
    let name = program.rsplit('/').next().unwrap_or(program);
    if !matches!(name, "bash" | "sh" | "zsh") {
        return None;
    }
    let (flag, script) = rest.split_once(' ')?;
    if !matches!(flag, "-c" | "-lc") {
        return None;
    }
    unquote(script)
}

/// Undoes POSIX shell quoting of one word: `'...'` (with `'\''` for a
/// quote inside), `"..."` (with backslash escapes), or a bare word without
/// spaces or quotes. `None` when the text is not exactly one word.
fn unquote(word: &str) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('"' | '\\' | '$' | '`') => out.push(c),
                        '\n' => {}
                        c => {
                            out.push('\\');
                            out.push(c);
                        }
                    },
                    c => out.push(c),
                }
            },
            '\\' => out.push(chars.next()?),
            c if c.is_whitespace() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters (slashes and spaces included) and `?` for exactly one; every
/// other character stands for itself. The whole text must match.
///
/// Runs in O(pattern × text) time without recursion, so a hostile command
/// line cannot make it blow up.
pub fn glob(pattern: &str, text: &str) -> bool {
    // Positions are byte offsets of character starts, so nothing is
    // copied: rules run for every approval.
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: its position in the pattern and
    // the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = text[t..].chars().next() {
        match pattern[p..].chars().next() {
            // A star that ends the pattern takes the rest of the text.
            Some('*') if p + 1 == pattern.len() => return true,
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(wanted) if wanted == '?' || wanted == c => {
                p += wanted.len_utf8();
                t += c.len_utf8();
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // The star swallows one more character.
                    let swallowed = text[star_t..].chars().next().map_or(0, char::len_utf8);
                    p = star_p + 1;
                    t = star_t + swallowed;
                    star = Some((star_p, t));
                }
                None => return false,
            },
        }
    }
    pattern[p..].chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests;
