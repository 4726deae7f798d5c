//! The loader's dependency invariant: its normal dependency closure is only aotc-abi,
//! aotc-format (the reader), aotc-intrinsics, libm and libc (no Cranelift, no wasmparser).

use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn normal_dependencies_are_only_the_allowed_crates() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--manifest-path",
            manifest,
            "-p",
            "aotc-loader",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let found: BTreeSet<&str> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    let allowed: BTreeSet<&str> = [
        "aotc-loader",
        "aotc-abi",
        "aotc-format",
        "aotc-intrinsics",
        "libm",
        "libc",
    ]
    .into_iter()
    .collect();
    assert!(found.contains("aotc-loader"), "unexpected output: {stdout}");
    let extra: Vec<&&str> = found.difference(&allowed).collect();
    assert!(
        extra.is_empty(),
        "disallowed dependencies: {extra:?}\n{stdout}"
    );
}
