//! The loader's dependency invariant: its normal dependency closure holds only the packages of
//! `crates/loader/allowed-dependencies.txt` (no Cranelift, no wasmparser). The check is
//! `cargo xtask deps`'s own, included from the xtask.

#[path = "../../../xtask/src/deps.rs"]
mod deps;

use std::path::Path;

#[test]
fn normal_dependencies_are_only_the_allowed_crates() {
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Err(message) = deps::check(env!("CARGO"), &workspace_root) {
        panic!("{message}");
    }
}

#[test]
fn a_compiler_in_the_closure_is_refused() {
    assert!(deps::allowed().any(|name| name == "aotc-abi"));
    assert_eq!(
        deps::disallowed(["aotc-loader", "cranelift-codegen", "libc", "wasmparser"]),
        ["cranelift-codegen", "wasmparser"]
    );
}
