//! The loader's dependency invariant: its normal dependency closure holds only the packages
//! listed in `crates/loader/allowed-dependencies.txt` (no compiler), and so does the closure of
//! the loader-only spec runner `aotc-spec-exec` (besides itself). `cargo xtask deps` runs this
//! check, and the loader's test `tests/dependency_closure.rs` includes this file to run the same
//! one, so it needs nothing but std and its arguments.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The allow-list file, one package name a line (`#` starts a comment line).
const ALLOWED_DEPENDENCIES: &str = include_str!("../../crates/loader/allowed-dependencies.txt");

/// The packages the loader may depend on (normal dependencies, transitively).
pub fn allowed() -> impl Iterator<Item = &'static str> {
    ALLOWED_DEPENDENCIES
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The packages of `closure` the allow-list does not hold.
pub fn disallowed<'a>(closure: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    closure
        .into_iter()
        .filter(|name| !allowed().any(|a| a == *name))
        .collect()
}

/// The packages whose closure is checked: the loader, and the runner that links only it.
pub const CHECKED: [&str; 2] = ["aotc-loader", "aotc-spec-exec"];

/// Package names in `package`'s normal dependency closure (itself included), as `cargo tree`
/// run by `cargo` in `workspace_root` reports them.
pub fn closure(
    cargo: &str,
    workspace_root: &Path,
    package: &str,
) -> Result<BTreeSet<String>, String> {
    let out = Command::new(cargo)
        .args([
            "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(workspace_root)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let closure: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect();
    if !closure.contains(package) {
        return Err(format!(
            "unexpected cargo tree output: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(closure)
}

/// Checks the dependency closure of each package of [`CHECKED`] (besides the package itself)
/// against the allow-list; on success, a line naming the closures.
pub fn check(cargo: &str, workspace_root: &Path) -> Result<String, String> {
    let mut summaries = Vec::new();
    for package in CHECKED {
        let closure = closure(cargo, workspace_root, package)?;
        let extra: Vec<&str> = disallowed(closure.iter().map(String::as_str))
            .into_iter()
            .filter(|name| *name != package)
            .collect();
        if !extra.is_empty() {
            return Err(format!(
                "the dependency closure of {package} may hold only the packages of \
                 crates/loader/allowed-dependencies.txt ({}); it also holds {extra:?}",
                allowed().collect::<Vec<_>>().join(", ")
            ));
        }
        summaries.push(format!(
            "{package} depends on {} package(s): {}",
            closure.len(),
            closure.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(summaries.join("; "))
}
