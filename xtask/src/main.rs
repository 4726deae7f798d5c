//! `cargo xtask`: project automation in Rust, std only (the rust-analyzer pattern).
//!
//! - `cargo xtask test`: the whole test command CI runs (`.ci/run`): formatting, clippy (also
//!   of the format reader alone, without its `write` feature), every crate's tests, the
//!   dependency invariants and the spec suite, here and on aarch64 and s390x under qemu.
//! - `cargo xtask deps`: checks that the loader's dependency closure holds no compiler.
//! - `cargo xtask spec [ARGS]`: the WebAssembly spec suite (`spec-tests`), e.g. `--mode both`;
//!   with `--execute`, compiled here and executed by the loader-only runner on the `--target`
//!   (under emulation for another architecture: `spec_execute`).
//! - `cargo xtask wasi [ARGS]`: the WASI preview 1 test suite through `aotc run`.
//! - `cargo xtask bench [FILTER]`: criterion benchmarks, then the XIP and intrinsic cost ratios.

mod bench;
mod deps;
mod spec_execute;
mod wasi;

use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test    the project's full test command (what CI runs): fmt, clippy (also the format reader
          without `write`), tests, deps, spec suite (here, and on aarch64 and s390x under
          qemu), WASI suite
  deps    check the loader's dependency closure (no Cranelift, no wasmparser)
  bench   run the benchmarks and print XIP / all-intrinsics / load-time ratios against
          normal mode: [CRITERION-ARGS]
  spec    run the WebAssembly spec suite: [--xip | --mode normal|xip|both|prelinked] [--suite DIR]
          [--compile-only | --execute] [--target ARCH] [--cpu CPU] [--cpu-features LIST]
          [--enable-builtin-intrinsics LIST] [--bounds-checks] [-- LIBTEST-ARGS]; --execute compiles here and
          runs the loader-only runner (aotc-spec-exec) on the target: natively, or under qemu
          for aarch64 and s390x
  wasi    run the WASI preview 1 test suite through `aotc run`: [--mode normal|xip|both]
          [--suite DIR]; `--startup`: benchmark WASI start-up against an import-free run";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("deps") => check_deps(),
        Some("spec") => spec(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("wasi") => wasi::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with `args` in the workspace root, failing on a non-zero exit.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = cargo_program();
    eprintln!("xtask: running cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// The cargo that runs the xtask (`$CARGO`), else `cargo` from the path.
fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace root.
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `cargo xtask deps`: the loader's dependency closure against its allow-list.
fn check_deps() -> Result<(), String> {
    let summary = deps::check(&cargo_program(), &workspace_root())?;
    println!("xtask deps: {summary}");
    Ok(())
}

fn spec(args: &[impl AsRef<str>]) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    if args.contains(&"--execute") {
        let rest: Vec<String> = args
            .iter()
            .filter(|a| **a != "--execute")
            .map(|a| a.to_string())
            .collect();
        return spec_execute::run(&rest);
    }
    let mut cmd = vec!["run", "--quiet", "--package", "spec-tests", "--"];
    cmd.extend(args);
    cargo(&cmd)
}

fn test() -> Result<(), String> {
    install_test_dependencies()?;
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    // The format reader alone, without the `write` feature (the workspace's build always turns
    // it on): it must stay `no_std` and never allocate, so `alloc` is not even linked here.
    cargo(&[
        "clippy",
        "--package",
        "aotc-format",
        "--no-default-features",
        "--lib",
        "--",
        "-D",
        "warnings",
    ])?;
    // The documentation: its links are checked (`[workspace.lints.rustdoc]`).
    cargo(&["doc", "--workspace", "--no-deps"])?;
    cargo(&["test", "--workspace"])?;
    check_deps()?;
    spec(&["--mode", "both"])?;
    // Explicit bounds checks (`--bounds-checks=1`) instead of guard pages, in both modes.
    spec(&["--mode", "both", "--bounds-checks"])?;
    // Prelinked: relocated at compile time for this process, run from files mapped in place.
    spec(&["--mode", "prelinked"])?;
    // XIP with every intrinsic on the host: on x86-64 the intrinsics' own calling convention
    // (Microsoft x64), called from compiled code and resolved at load.
    spec(&["--xip", "--enable-builtin-intrinsics=all"])?;
    // The same suite compiled here and executed by the loader-only runner under qemu on
    // aarch64 and on s390x (big-endian), in both modes and in XIP mode with every intrinsic.
    for arch in CROSS_ARCHES {
        spec(&["--execute", "--target", arch, "--mode", "both"])?;
        spec(&[
            "--execute",
            "--target",
            arch,
            "--xip",
            "--enable-builtin-intrinsics=all",
        ])?;
    }
    wasi::run_in_test()?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// The architectures `cargo xtask test` runs the spec suite on under qemu.
const CROSS_ARCHES: [&str; 2] = ["aarch64", "s390x"];

/// Installs what the tests need beyond Rust (the WASI C programs' clang and wasi-libc; each
/// cross architecture's compiler, C library and qemu), with the project's idempotent scripts:
/// nothing happens when everything is there.
fn install_test_dependencies() -> Result<(), String> {
    run_install_script(".ci/install-wasi-deps.sh", None)?;
    for arch in CROSS_ARCHES {
        run_install_script(".ci/install-cross.sh", Some(arch))?;
    }
    Ok(())
}

/// Runs one of the `.ci` install scripts (with `arg`, if any).
fn run_install_script(script: &str, arg: Option<&str>) -> Result<(), String> {
    let script = workspace_root().join(script);
    eprintln!(
        "xtask: running bash {}{}",
        script.display(),
        arg.map_or(String::new(), |a| format!(" {a}"))
    );
    let status = Command::new("bash")
        .arg(&script)
        .args(arg)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({status}); it installs Debian packages, so run it as root once",
            script.display()
        ))
    }
}
