//! The codex launcher with a fake npm (a shell script that "installs" a fake
//! codex printing a chosen version): install once under concurrency, reuse,
//! the typed errors, and the isolated home and workspace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codexrt_testkit::{
    Codex, CodexInstall, ModelServer, Script, TempDir, TestkitError, mock_config_toml,
};

/// The per-platform package and target triple the launcher looks under.
fn platform() -> (&'static str, &'static str) {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("codex-linux-x64", "x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => ("codex-darwin-x64", "x86_64-apple-darwin"),
        ("macos", "aarch64") => ("codex-darwin-arm64", "aarch64-apple-darwin"),
        other => panic!("no codex package for {other:?}"),
    }
}

fn binary_in(prefix: &Path) -> PathBuf {
    let (package, triple) = platform();
    prefix
        .join("node_modules/@openai")
        .join(package)
        .join("vendor")
        .join(triple)
        .join("bin/codex")
}

/// Writes an executable script through a child process: a file this process
/// had open for writing could still be inherited by a concurrently forked
/// child of another test, and exec'ing it would then fail with ETXTBSY.
fn write_script(path: &Path, content: &str) {
    let mut child = Command::new("sh")
        .args(["-c", r#"cat > "$1" && chmod 755 "$1""#, "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// A fake npm in `dir` that logs each call to `dir/calls`, waits a little
/// (so concurrent installs overlap) and installs a codex that reports
/// `reported` as its version, or none when `reported` is `None`.
fn fake_npm(dir: &Path, reported: Option<&str>) -> PathBuf {
    let npm = dir.join("npm");
    let (package, triple) = platform();
    let install_binary = match reported {
        Some(version) => format!(
            r#"printf '#!/bin/sh\necho "codex-cli {version}"\n' > "$bin/codex"; chmod 755 "$bin/codex""#
        ),
        None => String::new(),
    };
    write_script(
        &npm,
        &format!(
            r#"#!/bin/sh
echo "$@" >> "{calls}"
sleep 0.2
prefix="$6"
bin="$prefix/node_modules/@openai/{package}/vendor/{triple}/bin"
mkdir -p "$bin"
{install_binary}
"#,
            calls = dir.join("calls").display(),
        ),
    );
    npm
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_installs_run_npm_once_and_later_ones_reuse_the_cache() {
    let tools = TempDir::new("testkit-npm").unwrap();
    let cache = TempDir::new("testkit-cache").unwrap();
    let npm = fake_npm(tools.path(), Some("9.9.9"));
    let install = CodexInstall::new("9.9.9").cache_dir(cache.path()).npm(&npm);

    let tasks: Vec<_> = (0..4)
        .map(|_| tokio::spawn(install.clone().install()))
        .collect();
    let mut binaries = Vec::new();
    for task in tasks {
        binaries.push(task.await.unwrap().unwrap());
    }
    let dest = cache.path().join("9.9.9");
    for binary in &binaries {
        assert_eq!(
            (binary.version(), binary.program(), binary.dir()),
            ("9.9.9", binary_in(&dest).as_path(), dest.as_path())
        );
    }
    let prefix_arg = calls(tools.path())[0].split(' ').nth(5).unwrap().to_owned();
    assert_eq!(
        calls(tools.path()),
        [format!(
            "install --no-save --no-audit --no-fund --prefix {prefix_arg} @openai/codex@9.9.9"
        )]
    );
    // The temp folder sat beside the destination and was renamed into it.
    assert!(prefix_arg.starts_with(&format!("{}/.tmp-9.9.9-", cache.path().display())));
    assert_eq!(entries(cache.path()), ["9.9.9"]);

    let again = install.install().await.unwrap();
    assert_eq!(again, binaries[0]);
    assert_eq!(calls(tools.path()).len(), 1);
}

#[tokio::test]
async fn a_missing_npm_says_to_install_node() {
    let cache = TempDir::new("testkit-cache").unwrap();
    let error = CodexInstall::new("9.9.9")
        .cache_dir(cache.path())
        .npm("/nonexistent/codexrt-npm")
        .install()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TestkitError::NpmNotFound { program, version, .. }
        if program == "/nonexistent/codexrt-npm" && version == "9.9.9")
    );
    assert!(
        error.to_string().contains("install Node.js and npm"),
        "{error}"
    );
    assert_eq!(entries(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_failing_npm_reports_the_tail_of_its_stderr() {
    let tools = TempDir::new("testkit-npm").unwrap();
    let cache = TempDir::new("testkit-cache").unwrap();
    let npm = tools.path().join("npm");
    write_script(
        &npm,
        "#!/bin/sh\necho 'npm error code ETARGET' >&2\necho 'npm error notarget No matching version found' >&2\nexit 1\n",
    );
    let error = CodexInstall::new("0.0.0-missing")
        .cache_dir(cache.path())
        .npm(&npm)
        .install()
        .await
        .unwrap_err();
    match &error {
        TestkitError::NpmFailed {
            version,
            status,
            stderr_tail,
        } => {
            assert_eq!(version, "0.0.0-missing");
            assert_eq!(status.code(), Some(1));
            assert_eq!(
                stderr_tail,
                "npm error code ETARGET\nnpm error notarget No matching version found"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // Neither a version folder nor a temp folder is left behind.
    assert_eq!(entries(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_package_of_the_wrong_version_never_lands_in_the_cache() {
    let tools = TempDir::new("testkit-npm").unwrap();
    let cache = TempDir::new("testkit-cache").unwrap();
    let npm = fake_npm(tools.path(), Some("1.0.0"));
    let error = CodexInstall::new("9.9.8")
        .cache_dir(cache.path())
        .npm(&npm)
        .install()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TestkitError::VersionMismatch { expected, found, .. }
            if expected == "9.9.8" && found == "codex-cli 1.0.0"),
        "{error:?}"
    );
    assert_eq!(entries(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_package_without_a_binary_is_reported() {
    let tools = TempDir::new("testkit-npm").unwrap();
    let cache = TempDir::new("testkit-cache").unwrap();
    let npm = fake_npm(tools.path(), None);
    let error = CodexInstall::new("9.9.7")
        .cache_dir(cache.path())
        .npm(&npm)
        .install()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TestkitError::BinaryMissing { version, .. } if version == "9.9.7"),
        "{error:?}"
    );
    assert!(!cache.path().join("9.9.7").exists());
}

#[tokio::test]
async fn versions_that_are_not_versions_are_refused() {
    for version in ["", "../escape", ".hidden", "1.0 ; rm", "a/b"] {
        let error = CodexInstall::new(version)
            .cache_dir("/nonexistent")
            .install()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, TestkitError::InvalidVersion { version: given } if given == version),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_codex_gets_its_own_home_and_workspace() {
    let tools = TempDir::new("testkit-npm").unwrap();
    let cache = TempDir::new("testkit-cache").unwrap();
    let npm = fake_npm(tools.path(), Some("9.9.6"));
    let binary = CodexInstall::new("9.9.6")
        .cache_dir(cache.path())
        .npm(&npm)
        .install()
        .await
        .unwrap();
    let model = ModelServer::start(Script::new()).await.unwrap();
    let codex = Codex::new(binary.clone(), &model).unwrap();
    let (home, workspace) = (codex.home().to_path_buf(), codex.workspace().to_path_buf());

    assert_eq!(
        std::fs::read_to_string(home.join("config.toml")).unwrap(),
        mock_config_toml(&model.base_url())
    );
    assert_eq!(entries(&workspace), Vec::<String>::new());
    let command = codex.command();
    assert_eq!(command.program, binary.program());
    assert_eq!(command.args, ["app-server"]);
    assert_eq!(
        command.env,
        [("CODEX_HOME".into(), home.clone().into_os_string())]
    );
    assert_eq!(command.current_dir, workspace);
    // The fake codex prints its version whatever the arguments.
    let output = command.to_command().output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "codex-cli 9.9.6\n");

    drop(codex);
    assert!(!home.exists() && !workspace.exists());
}

#[test]
fn the_mock_config_points_at_the_model_and_sets_no_approval_policy() {
    assert_eq!(
        mock_config_toml("http://127.0.0.1:9/v1"),
        "model = \"mock-model\"\n\
         model_provider = \"mock\"\n\
         \n\
         [model_providers.mock]\n\
         name = \"mock\"\n\
         base_url = \"http://127.0.0.1:9/v1\"\n\
         wire_api = \"responses\"\n\
         request_max_retries = 0\n\
         stream_max_retries = 0\n\
         supports_websockets = false\n"
    );
}
