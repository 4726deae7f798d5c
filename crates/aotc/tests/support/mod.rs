//! Helpers shared by the CLI's integration tests.

use std::process::Output;

/// The one line of an error: asserts that `aotc` failed and printed exactly one line.
pub fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "aotc unexpectedly succeeded");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line of error: {err}"
    );
    err
}
