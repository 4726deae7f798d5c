//! aotc-wasi links no compiler: an embedded host that links the loader can link WASI too. Its
//! normal dependency closure holds no Cranelift, no wasm parser and no aotc compiler crate.

use std::process::Command;

/// Package name prefixes that must not be in the closure.
const FORBIDDEN: &[&str] = &[
    "cranelift",
    "wasmparser",
    "wasmtime",
    "wat",
    "wast",
    "aotc-translate",
    "aotc-pipeline",
];

#[test]
fn no_compiler_in_the_closure() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "aotc-wasi",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let closure = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = closure
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"aotc-loader"), "{closure}");
    let found: Vec<&&str> = names
        .iter()
        .filter(|n| FORBIDDEN.iter().any(|f| n.starts_with(f)))
        .collect();
    assert!(found.is_empty(), "aotc-wasi links {found:?}");
}
