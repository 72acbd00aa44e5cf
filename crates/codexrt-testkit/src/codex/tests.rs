//! Unit tests of the cache folder resolution and the install helpers.

use std::fs;
use std::path::{Path, PathBuf};

use super::cache::{Surroundings, resolve, workspace_root};
use super::install::{binary_paths, check_version, tail};
use crate::TempDir;

/// A fake workspace: `root/Cargo.toml` with `[workspace]`, a member crate,
/// and a tagged build folder `root/build` holding `debug/deps/it`.
struct Layout {
    dir: TempDir,
}

impl Layout {
    fn new() -> Layout {
        let dir = TempDir::new("testkit-layout").unwrap();
        let root = dir.path();
        fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/a\"]\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("crates/a/src")).unwrap();
        fs::write(
            root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("build/debug/deps")).unwrap();
        fs::write(
            root.join("build/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n# cargo\n",
        )
        .unwrap();
        Layout { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn member(&self) -> Surroundings {
        Surroundings {
            start_dir: Some(self.path("crates/a/src")),
            ..Surroundings::default()
        }
    }
}

#[test]
fn the_cache_folder_is_found_in_the_documented_order() {
    let layout = Layout::new();
    let check = |surroundings: Surroundings, expected: Option<PathBuf>| {
        assert_eq!(resolve(&surroundings), expected, "{surroundings:?}");
    };
    // The workspace root around the start folder, not the member crate.
    check(layout.member(), Some(layout.path("target/codex")));
    // The tagged build folder of the running executable comes first.
    check(
        Surroundings {
            current_exe: Some(layout.path("build/debug/deps/it")),
            ..layout.member()
        },
        Some(layout.path("build/codex")),
    );
    // An untagged executable folder is skipped.
    check(
        Surroundings {
            current_exe: Some(PathBuf::from("/nonexistent/debug/deps/it")),
            ..layout.member()
        },
        Some(layout.path("target/codex")),
    );
    // CARGO_TARGET_DIR beats the executable; relative means from the root.
    check(
        Surroundings {
            cargo_target_dir: Some("/abs/target".into()),
            current_exe: Some(layout.path("build/debug/deps/it")),
            ..layout.member()
        },
        Some(PathBuf::from("/abs/target/codex")),
    );
    check(
        Surroundings {
            cargo_target_dir: Some("out".into()),
            ..layout.member()
        },
        Some(layout.path("out/codex")),
    );
    // CODEXRT_CODEX_CACHE beats everything and is the cache folder itself.
    check(
        Surroundings {
            cache_env: Some("/cache".into()),
            cargo_target_dir: Some("/abs/target".into()),
            ..layout.member()
        },
        Some(PathBuf::from("/cache")),
    );
    check(
        Surroundings {
            cache_env: Some("rel".into()),
            ..layout.member()
        },
        Some(layout.path("crates/a/src/rel")),
    );
    check(Surroundings::default(), None);
}

#[test]
fn a_package_outside_a_workspace_is_its_own_root() {
    let dir = TempDir::new("testkit-package").unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"p\"\n").unwrap();
    assert_eq!(
        workspace_root(&dir.path().join("src")).as_deref(),
        Some(dir.path())
    );
    assert_eq!(workspace_root(Path::new("/")), None);
}

#[test]
fn versions_must_be_folder_safe() {
    for version in ["0.169.0", "0.1.0-alpha.1", "1.0.0+build.5"] {
        assert!(check_version(version).is_ok(), "{version}");
    }
    for version in [
        "", ".", "..", "../x", "1/b", "1\\b", "1 2", "1;2", "1é", "latest",
    ] {
        assert!(check_version(version).is_err(), "{version}");
    }
}

#[test]
fn the_stderr_tail_is_cut_on_a_char_boundary_and_trimmed() {
    assert_eq!(tail("  short\n", 100), "short");
    assert_eq!(tail("abcdef", 3), "def");
    // "é" is two bytes; a cut through it moves forward.
    assert_eq!(tail("xé", 1), "");
    assert_eq!(tail("aéb", 2), "b");
    assert_eq!(tail("aéb", 3), "éb");
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn the_binary_is_looked_for_in_the_platform_package_first() {
    assert_eq!(
        binary_paths().unwrap(),
        [
            PathBuf::from(
                "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
            ),
            PathBuf::from("node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/bin/codex"),
        ]
    );
}
