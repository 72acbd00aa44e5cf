//! Unit tests of [`TempDir`].

use super::TempDir;

#[test]
fn folders_are_fresh_and_removed_with_their_contents_on_drop() {
    let first = TempDir::new("testkit-tempdir").unwrap();
    let second = TempDir::new("testkit-tempdir").unwrap();
    assert_ne!(first.path(), second.path());
    assert!(first.path().starts_with(std::env::temp_dir()));
    std::fs::create_dir(first.path().join("sub")).unwrap();
    std::fs::write(first.path().join("sub/file"), "x").unwrap();
    let path = first.path().to_path_buf();
    drop(first);
    assert!(!path.exists());
    second.close().unwrap();
}

#[test]
fn close_reports_and_keep_keeps() {
    let dir = TempDir::new("testkit-tempdir").unwrap();
    let path = dir.path().to_path_buf();
    dir.close().unwrap();
    assert!(!path.exists());

    let kept = TempDir::new("testkit-tempdir").unwrap().keep();
    assert!(kept.is_dir());
    std::fs::remove_dir(&kept).unwrap();
}

#[test]
fn a_missing_parent_is_an_error_naming_the_folder() {
    let error = TempDir::new_in(std::path::Path::new("/nonexistent/parent"), "x").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("failed to create `/nonexistent/parent/x-"),
        "{error}"
    );
}
