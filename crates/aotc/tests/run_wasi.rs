//! `aotc run` with WASI, as a user types it: C programs of our own (compiled with clang and
//! wasi-libc, installed by `.ci/install-wasi-deps.sh`) for the sandbox, files, stdin, large
//! writes, many files and poll timeouts, in normal and XIP modes; exit codes, reactors, and the
//! one-line error messages a user meets.

mod support;

use support::{aot_files, aotc_in, compile_c, compile_c_with, one_line_error};

use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn sandbox_escapes_are_refused_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = compile_c("sandbox.c", tmp.path());
    for (mode, aot) in aot_files(&wasm) {
        let work = tmp.path().join(mode);
        let root = work.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(work.join("secret.txt"), "secret").unwrap();
        let out = aotc_in(
            &work,
            &["run", "--dir", "root::/", aot.to_str().unwrap()],
            b"",
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{mode}: {stdout}");
        assert!(!stdout.contains("ESCAPED"), "{mode}: {stdout}");
        assert_eq!(stdout.matches("refused").count(), 16, "{mode}: {stdout}");
        assert!(stdout.ends_with("0 escapes\n"), "{mode}: {stdout}");
        let mut outside: Vec<_> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        outside.sort();
        assert_eq!(
            outside,
            ["root", "secret.txt"],
            "{mode}: nothing made outside"
        );
        assert_eq!(std::fs::read(work.join("secret.txt")).unwrap(), b"secret");
    }
}

#[test]
fn an_auto_vectorised_c_program_agrees_with_its_scalar_build_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let simd = compile_c_with("vec_main.c", tmp.path(), "simd", &["-O3", "-msimd128"]);
    let scalar = compile_c_with("vec_main.c", tmp.path(), "scalar", &["-O3"]);
    // The -msimd128 build really uses v128 instructions: riscv64 without its vector extension
    // refuses it, and accepts the scalar build.
    for (wasm, vectorised) in [(&simd, true), (&scalar, false)] {
        let out = tmp.path().join("riscv64.aot");
        let args = [
            "compile",
            "--target",
            "riscv64",
            wasm.to_str().unwrap(),
            "-o",
        ];
        let compiled = aotc_in(
            tmp.path(),
            &[&args[..], &[out.to_str().unwrap()]].concat(),
            b"",
        );
        let stderr = String::from_utf8_lossy(&compiled.stderr);
        assert_eq!(compiled.status.success(), !vectorised, "{stderr}");
        assert_eq!(stderr.contains("+v"), vectorised, "{stderr}");
    }
    let mut outputs = Vec::new();
    for wasm in [&simd, &scalar] {
        for (mode, aot) in aot_files(wasm) {
            let out = aotc_in(tmp.path(), &["run", aot.to_str().unwrap()], b"");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "{mode}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.starts_with("checksum "), "{mode}: {stdout}");
            outputs.push(stdout);
        }
    }
    assert!(outputs.iter().all(|o| *o == outputs[0]), "{outputs:?}");
}

#[test]
fn file_stdin_large_writes_many_files_and_poll_agree_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = compile_c("copy.c", tmp.path());
    let mut results = Vec::new();
    for (mode, aot) in aot_files(&wasm) {
        let root = tmp.path().join(mode);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("in.txt"), "0123456789\n").unwrap();
        let dir = format!("{}::/", root.display());
        let out = aotc_in(
            tmp.path(),
            &["run", "--dir", &dir, aot.to_str().unwrap()],
            b"line one\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "stdin: line one\nslept at least 50 ms\n",
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read(root.join("out.txt")).unwrap();
        assert_eq!(written, b"\n9876543210");
        assert_eq!(
            std::fs::read(root.join("large.bin")).unwrap().len(),
            1 << 20
        );
        assert_eq!(
            std::fs::read_dir(&root).unwrap().count(),
            3,
            "{mode}: many-* removed"
        );
        results.push((out.status.code(), out.stdout, written));
    }
    assert_eq!(results[0].0, Some(7));
    assert_eq!(results[0], results[1], "normal and XIP runs agree");
}

#[test]
fn env_args_and_directories_as_wasmtime_and_iwasm_users_type_them() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = compile_c("echo.c", tmp.path());
    std::fs::create_dir(tmp.path().join("host")).unwrap();
    std::fs::write(tmp.path().join("host/a.txt"), "").unwrap();
    let wasm = wasm.to_str().unwrap();
    let expected = "arg -v\narg --dir\nenv A=1\nenv AOTC_TEST_INHERITED=yes\nfile a.txt\n";
    for options in [
        &[
            "--env",
            "A=1",
            "--env",
            "AOTC_TEST_INHERITED",
            "--dir",
            "host::/data",
        ][..],
        &[
            "--env=A=1",
            "--env=AOTC_TEST_INHERITED",
            "--map-dir=/data::host",
        ][..],
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        args.extend([wasm, "-v", "--dir"]);
        let out = Command::new(env!("CARGO_BIN_EXE_aotc"))
            .args(&args)
            .current_dir(tmp.path())
            .env("AOTC_TEST_INHERITED", "yes")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{options:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

const EXIT_WITH_ARGS: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    ;; exit with argc * 10 + the size of the argument strings
    (call $exit (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.load (i32.const 4))))))"#;

#[test]
fn the_exit_status_is_the_proc_exit_code_and_args_follow_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "exit.wat", EXIT_WITH_ARGS);
    // argv = ["exit.wat", "-x", "--dir"]: options after FILE belong to the program.
    let out = aotc_in(tmp.path(), &["run", &file, "-x", "--dir"], b"");
    assert_eq!(out.status.code(), Some(30 + 9 + 3 + 6), "{out:?}");
}

const REACTOR: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 40)))
  (func (export "answer") (param i32) (result i32)
    (drop (call $random (i32.const 0) (i32.const 16)))
    (i32.add (global.get $ready) (local.get 0))))"#;

#[test]
fn reactors_are_initialized_before_invoke() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "reactor.wat", REACTOR);
    let out = aotc_in(tmp.path(), &["run", "--invoke", "answer", &file, "2"], b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n", "{out:?}");
    let err = one_line_error(&aotc_in(
        tmp.path(),
        &["run", &file, "--invoke", "answer"],
        b"",
    ));
    assert!(
        err.contains("`answer` takes 1 argument(s) (i32), 0 given (every word after `--invoke NAME` is an argument"),
        "{err}"
    );
}

#[test]
fn a_trap_is_one_line_then_its_backtrace_and_a_non_zero_status() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "trap.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
    );
    let out = aotc_in(tmp.path(), &["run", &file], b"");
    assert_eq!(out.status.code(), Some(134));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("error: trap.wat: wasm trap: unreachable"),
        "{err}"
    );
    assert_eq!(
        lines[1..],
        ["wasm backtrace:", "  0: 0x4 - _start"],
        "{err}"
    );
}

#[test]
fn error_messages_are_one_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |args: &[&str]| one_line_error(&aotc_in(dir, args, b""));

    std::fs::write(
        dir.join("random.bin"),
        [0xed, 0x28, 0x6e, 0x69, 7, 8, 9, 10],
    )
    .unwrap();
    let err = run(&["run", "random.bin"]);
    assert!(
        err.starts_with(
            "error: random.bin: not an AOT file, a wasm binary or wasm text (bad magic"
        ),
        "{err}"
    );

    std::fs::write(dir.join("short.aot"), b"\0aotc\r\n\x1a").unwrap();
    let err = run(&["run", "short.aot"]);
    assert!(
        err.starts_with("error: short.aot: at offset 0x0: truncated file header"),
        "each cause once: {err}"
    );

    let bad = write(
        dir,
        "bad.wat",
        "(module\n  (func (export \"f\") (result i32)\n    i32.const\n))",
    );
    assert_eq!(run(&["run", &bad]), "error: bad.wat:4:1: expected a i32\n");

    let imports = write(
        dir,
        "imports.wat",
        r#"(module (import "env" "foo" (func)) (import "wasi_snapshot_preview1" "fd_write" (func)) (import "wasi_snapshot_preview1" "nope" (func)))"#,
    );
    let err = run(&["run", &imports]);
    assert!(
        err.contains("3 unresolved import(s): env.foo (func), "),
        "{err}"
    );
    assert!(err.contains("wasi_snapshot_preview1.fd_write (func) [WASI provides this function, as (func (param i32 i32 i32 i32) (result i32))]"), "{err}");
    assert!(
        err.contains("wasi_snapshot_preview1.nope (func) [not a WASI preview 1 function]"),
        "{err}"
    );

    let eh = write(
        dir,
        "eh.wat",
        r#"(module (func (export "f") try_table end))"#,
    );
    assert_eq!(
        run(&["run", &eh]),
        "error: cannot compile eh.wat: at offset 0x1e: exception handling (try_table) is not supported\n"
    );

    let no_start = write(dir, "no_start.wat", r#"(module (func (export "f")))"#);
    assert_eq!(
        run(&["run", &no_start]),
        "error: no_start.wat exports no function `_start` (exports: f)\n"
    );

    let escaped = write(
        dir,
        "escape.wat",
        "(module (func (export \"\\1b[31mred\")))",
    );
    let err = run(&["run", &escaped, "--invoke", "x\u{1b}"]);
    assert_eq!(
        err,
        "error: escape.wat exports no function `x\\u{1b}` (exports: \\u{1b}[31mred)\n"
    );
    assert!(!err.contains('\u{1b}'));
}

#[test]
fn inspect_into_a_closed_pipe_exits_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "reactor.wat", REACTOR);
    let aot = tmp.path().join("reactor.aot");
    let out = aotc_in(
        tmp.path(),
        &["compile", &file, "-o", aot.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_aotc"))
        .args(["inspect", aot.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away, as `| head -0` does
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
