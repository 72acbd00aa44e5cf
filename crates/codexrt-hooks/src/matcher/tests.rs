//! Unit tests of [`glob`] and [`Matcher`].

use super::*;

#[test]
fn glob_cases() {
    let cases = [
        ("", "", true),
        ("", "a", false),
        ("*", "", true),
        ("*", "rm -rf /", true),
        ("git *", "git status", true),
        ("git *", "gitk", false),
        ("git *", "sudo git status", false),
        ("*git*", "sudo git status", true),
        ("src/*.rs", "src/a/b.rs", true),
        ("src/*.rs", "src/a.txt", false),
        ("?s", "ls", true),
        ("?s", "lss", false),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXbY", false),
        ("**", "x", true),
        ("é*", "école", true),
        // Characters of several bytes are one character each, for `?`
        // and for a `*` that backtracks over them.
        ("?cole", "école", true),
        ("??cole", "école", false),
        ("*é", "aéé", true),
        ("*ü*ß", "xüyüzß", true),
        ("*ü*ß", "xüyüz", false),
        ("日?語", "日本語", true),
    ];
    for (pattern, text, expected) in cases {
        assert_eq!(glob(pattern, text), expected, "{pattern:?} on {text:?}");
    }
}

#[test]
fn glob_is_linear_enough_for_hostile_input() {
    let text = "a".repeat(10_000);
    assert!(!glob("*a*a*a*a*a*b", &text));
}

#[test]
fn matcher_cases() {
    let command = HookContext::new(Phase::PreToolUse, "t", "command").with_command("git push");
    let files =
        HookContext::new(Phase::PreToolUse, "t", "file_change").with_paths(["src/lib.rs", "a.md"]);
    let mcp = HookContext::new(Phase::PreToolUse, "t", "mcp:github/create_issue");
    let cases = [
        (Matcher::any(), &command, true),
        (Matcher::any().phase(Phase::PreToolUse), &command, true),
        (Matcher::any().tool("command"), &command, true),
        (Matcher::any().tool("command"), &files, false),
        (Matcher::any().tool("mcp:github/*"), &mcp, true),
        (Matcher::any().tool("mcp:*"), &command, false),
        (Matcher::any().command("git *"), &command, true),
        (Matcher::any().command("rm *"), &command, false),
        (Matcher::any().command("*"), &files, false),
        (Matcher::any().path("*.md"), &files, true),
        (Matcher::any().path("src/*"), &files, true),
        (Matcher::any().path("*.toml"), &files, false),
        (Matcher::any().path("*"), &command, false),
        (
            Matcher::any().tool("file_change").path("*.rs"),
            &files,
            true,
        ),
    ];
    for (matcher, ctx, expected) in cases {
        assert_eq!(matcher.matches(ctx), expected, "{matcher:?} on {ctx:?}");
    }
}

#[test]
fn command_forms_unwrap_shell_scripts() {
    let cases: [(&str, &[&str]); 9] = [
        ("git status", &["git status"]),
        (
            "/bin/bash -lc 'touch a.txt'",
            &["/bin/bash -lc 'touch a.txt'", "touch a.txt"],
        ),
        ("sh -c make", &["sh -c make", "make"]),
        (
            r#"/usr/bin/zsh -c "echo \"hi\" \$HOME""#,
            &[
                r#"/usr/bin/zsh -c "echo \"hi\" \$HOME""#,
                r#"echo "hi" $HOME"#,
            ],
        ),
        (
            r"bash -lc 'echo '\''x'\'''",
            &[r"bash -lc 'echo '\''x'\'''", "echo 'x'"],
        ),
        // Not exactly one argument, or another program or flag: the line
        // alone.
        ("bash -lc ls -la", &["bash -lc ls -la"]),
        ("bash -x 'ls'", &["bash -x 'ls'"]),
        ("python -c 'print(1)'", &["python -c 'print(1)'"]),
        ("bash -lc 'unterminated", &["bash -lc 'unterminated"]),
    ];
    for (command, expected) in cases {
        assert_eq!(command_forms(command), expected, "{command:?}");
    }
}

#[test]
fn a_command_matcher_sees_the_script_inside_a_wrapper() {
    let ctx = HookContext::new(Phase::PreToolUse, "t", "command")
        .with_command("/bin/bash -lc 'touch a.txt'");
    assert!(Matcher::any().command("touch *").matches(&ctx));
    assert!(Matcher::any().command("/bin/bash *").matches(&ctx));
    assert!(!Matcher::any().command("rm *").matches(&ctx));
}
