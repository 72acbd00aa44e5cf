//! The local checks of the protocol helpers: paths, blank values and
//! fields newer than the server.

use std::path::Path;

use semver::Version;

use super::{FieldSince, absolute_path, not_blank};
use crate::ClientError;

/// The outcome of a check, as a value a test can compare whole.
fn outcome(result: Result<String, ClientError>) -> Result<String, String> {
    result.map_err(|error| error.to_string())
}

#[test]
fn paths_must_be_absolute_and_non_empty() {
    let check = |path: &str, expected: Result<&str, &str>| {
        assert_eq!(
            outcome(absolute_path("fs/readFile", Path::new(path))),
            expected.map(str::to_owned).map_err(str::to_owned),
            "{path:?}"
        );
    };
    check("/srv/a.txt", Ok("/srv/a.txt"));
    check("/", Ok("/"));
    check("", Err("`fs/readFile`: the path \"\" is empty"));
    check(
        "a.txt",
        Err("`fs/readFile`: the path \"a.txt\" is not absolute"),
    );
    check(
        "./a/../b",
        Err("`fs/readFile`: the path \"./a/../b\" is not absolute"),
    );
}

#[cfg(unix)]
#[test]
fn paths_must_be_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(b"/srv/\xff"));
    let error = absolute_path("fs/remove", path).unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::InvalidPath {
                method: "fs/remove",
                problem: "is not valid UTF-8",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn blank_values_are_refused() {
    let check = |value: &str, expected: Result<&str, &str>| {
        assert_eq!(
            outcome(not_blank("account/login/start", "apiKey", value.to_owned())),
            expected.map(str::to_owned).map_err(str::to_owned),
            "{value:?}"
        );
    };
    check("sk-1", Ok("sk-1"));
    check(" sk-1 ", Ok(" sk-1 "));
    check("", Err("`account/login/start`: apiKey is blank"));
    check(" \t\n", Err("`account/login/start`: apiKey is blank"));
}

#[test]
fn fields_are_refused_on_servers_older_than_their_version() {
    let field = FieldSince {
        method: "model/list",
        field: "modelProvider",
        since: (0, 169, 0),
    };
    let check = |set: bool, server: &str, refused: bool| {
        let server: Version = server.parse().unwrap();
        let result = field.check(set, &server);
        assert_eq!(result.is_err(), refused, "{set} {server}: {result:?}");
        if let Err(error) = result {
            assert_eq!(
                error.to_string(),
                format!(
                    "`model/list`: the field `modelProvider` needs codex 0.169.0 or newer, \
                     and the server is {server}"
                )
            );
        }
    };
    check(true, "0.150.0", true);
    check(true, "0.160.1", true);
    check(true, "0.168.9", true);
    check(true, "0.169.0", false);
    check(true, "0.169.0-alpha.1", false);
    check(true, "0.171.0", false);
    check(true, "1.0.0", false);
    check(false, "0.150.0", false);
}
