//! `cargo xtask deps`: the loader's dependency closure must stay tiny and compiler-free.

use std::collections::BTreeSet;
use std::process::Command;

/// Packages the loader may depend on (normal dependencies, transitively).
pub const LOADER_ALLOWED: &[&str] = &[
    "aotc-loader",
    "aotc-abi",
    "aotc-format",
    "aotc-intrinsics",
    "libc",
    "libm",
];

/// Package names in `package`'s normal dependency closure.
pub fn closure(package: &str) -> Result<BTreeSet<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(&cargo)
        .args([
            "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect())
}

pub fn check() -> Result<(), String> {
    let names = closure("aotc-loader")?;
    let extra: Vec<&String> = names
        .iter()
        .filter(|n| !LOADER_ALLOWED.contains(&n.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "the loader's dependency closure must hold only {LOADER_ALLOWED:?}; it also holds {extra:?}"
        ));
    }
    println!(
        "xtask deps: aotc-loader depends on {} package(s): {}",
        names.len(),
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
