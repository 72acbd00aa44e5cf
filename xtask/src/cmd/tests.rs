//! Tests of the command helpers.

use super::tail;

#[test]
fn stderr_tail() {
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("a\n", 5), "a");
    assert_eq!(tail("  \n", 5), "(nothing on stderr)");
}
