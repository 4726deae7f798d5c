//! Helpers shared by the CLI's integration tests: running `aotc` (in the workspace root or a
//! directory), compiling the C programs of
//! `tests/wasi` with clang and wasi-libc, one-line errors.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// The workspace root, where `aotc` runs in the tests that name files by their path in it.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `aotc ARGS` in the workspace root.
pub fn aotc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aotc"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("aotc runs")
}

/// Runs `aotc ARGS` in `dir` with `stdin`.
pub fn aotc_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aotc"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aotc runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin)
        .expect("stdin written");
    child.wait_with_output().expect("aotc finishes")
}

pub fn c_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/wasi")
        .join(name)
}

/// Compiles a C program of `tests/wasi` to wasm with clang and wasi-libc at `-O2`.
pub fn compile_c(name: &str, out_dir: &Path) -> PathBuf {
    compile_c_with(
        name,
        out_dir,
        Path::new(name).file_stem().unwrap().to_str().unwrap(),
        &["-O2"],
    )
}

/// Compiles a C program of `tests/wasi` to `out_dir/STEM.wasm` with clang, wasi-libc and `flags`.
pub fn compile_c_with(name: &str, out_dir: &Path, stem: &str, flags: &[&str]) -> PathBuf {
    let wasm = out_dir.join(stem).with_extension("wasm");
    let status = Command::new("clang-16")
        .args(["--target=wasm32-wasi", "--sysroot=/usr"])
        .args(flags)
        .arg(c_source(name))
        .arg("-o")
        .arg(&wasm)
        .status()
        .expect("clang-16 is installed (run .ci/install-wasi-deps.sh)");
    assert!(status.success(), "clang-16 compiles {name}");
    wasm
}

/// Compiles `wasm` to an AOT file of each mode: `[(mode, path)]`.
pub fn aot_files(wasm: &Path) -> Vec<(&'static str, PathBuf)> {
    let dir = wasm.parent().unwrap();
    [("normal", &[][..]), ("xip", &["--xip"][..])]
        .into_iter()
        .map(|(mode, flags)| {
            let aot = wasm.with_extension(format!("{mode}.aot"));
            let mut args = vec!["compile"];
            args.extend_from_slice(flags);
            args.extend([wasm.to_str().unwrap(), "-o", aot.to_str().unwrap()]);
            let out = aotc_in(dir, &args, b"");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (mode, aot)
        })
        .collect()
}
