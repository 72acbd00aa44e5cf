//! Finding live processes by their environment, for the suites that check
//! that no process of theirs is left (Linux: reads `/proc`).

/// The live processes with a variable in their environment for which
/// `matches` holds (given `NAME=VALUE` as bytes). A zombie's environment
/// reads empty, and so does another user's process: neither is one of ours
/// still running, so neither is listed.
pub fn with_env(matches: impl Fn(&[u8]) -> bool) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&byte| byte == 0).any(&matches) {
            pids.push(pid);
        }
    }
    pids
}

/// The live processes whose environment holds exactly `NAME=VALUE`.
pub fn with_env_var(name: &str, value: &str) -> Vec<i32> {
    let needle = format!("{name}={value}");
    with_env(|var| var == needle.as_bytes())
}

/// The command name and the parent of `pid`, from `/proc/PID/stat`.
pub fn name_and_parent(pid: i32) -> Option<(String, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; the name may hold spaces and
    // parentheses, so it ends at the last `)`.
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    let parent = rest.split_whitespace().nth(1)?.parse().ok()?;
    Some((name.to_owned(), parent))
}

/// Whether `pid` is a child of this process.
pub fn is_our_child(pid: i32) -> bool {
    let Ok(me) = i32::try_from(std::process::id()) else {
        return false;
    };
    name_and_parent(pid).is_some_and(|(_, parent)| parent == me)
}
