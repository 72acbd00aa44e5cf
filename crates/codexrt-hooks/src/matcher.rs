//! [`Matcher`]: which tool uses a hook is asked about, with [`glob`]
//! patterns on tool names, command lines and paths.

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
    /// such as `git *` (default: no condition). A tool use without a
    /// command line does not match.
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
                ctx.command
                    .as_deref()
                    .is_some_and(|command| glob(pattern, command))
            })
            && self
                .path
                .as_deref()
                .is_none_or(|pattern| ctx.paths.iter().any(|path| glob(pattern, path)))
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters (slashes and spaces included) and `?` for exactly one; every
/// other character stands for itself. The whole text must match.
///
/// Runs in O(pattern × text) time without recursion, so a hostile command
/// line cannot make it blow up.
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: its position in the pattern and
    // the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
