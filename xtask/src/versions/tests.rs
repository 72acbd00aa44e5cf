//! Tests of the version argument check.

use super::check_version_syntax;

#[test]
fn version_syntax() {
    for good in ["0.169.0", "10.0.1", "0.170.0-alpha.1", "1.2.3-rc-2"] {
        assert_eq!(check_version_syntax(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "latest",
        "0.169",
        "0.169.0.1",
        "^0.169.0",
        "../0.169.0",
        "0.169.0-",
        "0.1x.0",
        "0.169.0-a/b",
    ] {
        assert_eq!(
            check_version_syntax(bad),
            Err(format!(
                "`{bad}` is not a codex version (expected something like `0.169.0`)"
            )),
        );
    }
}
