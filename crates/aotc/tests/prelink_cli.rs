//! `--prelink` end to end, as a user types it: the runtime prints its builtin addresses
//! (`aotc runtime-symbols`, stable under `setarch -R`, which turns address-space randomisation
//! off), the compiler prelinks a module for them, `inspect` and `verify` show and check it, and
//! `aotc run` executes it in place; with randomisation on, the same file is refused in one line.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod support;

use std::process::{Command, Output};

use support::{one_line_error, workspace};

/// `aotc ARGS`, under `setarch -R` when `stable` (builtin addresses the same in every run).
fn aotc(stable: bool, args: &[&str]) -> Output {
    let mut command = if stable {
        let mut c = Command::new("setarch");
        c.args([std::env::consts::ARCH, "-R", env!("CARGO_BIN_EXE_aotc")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_aotc"))
    };
    command
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("aotc runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "aotc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const GROW: &str = "(module (memory 1) (func (export \"grow\") (param i32) (result i32) \
                    (memory.grow (local.get 0))))";

#[test]
fn prelinked_module_runs_in_place_with_the_runtimes_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let symbols = ok(&aotc(true, &["runtime-symbols"]));
    assert_eq!(
        symbols,
        ok(&aotc(true, &["runtime-symbols"])),
        "stable under setarch -R"
    );
    assert!(
        symbols
            .lines()
            .any(|l| l.starts_with("aotc_builtin_memory_grow 0x"))
    );
    std::fs::write(path("syms.txt"), &symbols).unwrap();
    std::fs::write(path("grow.wat"), GROW).unwrap();

    for (input, invoke, expected) in [
        (
            "examples/fib.wat".to_owned(),
            ["--invoke", "fib", "20"],
            "6765",
        ),
        (path("grow.wat"), ["--invoke", "grow", "2"], "1"),
    ] {
        let out = path("prelinked.aot");
        let compile = [
            "compile",
            "--prelink",
            "0x210000000000",
            "--runtime-symbols",
            &path("syms.txt"),
            &input,
            "-o",
            &out,
        ];
        ok(&aotc(false, &compile));
        let inspect = ok(&aotc(false, &["inspect", &out]));
        assert!(
            inspect.contains(
                "mode:           prelinked at 0x210000000000 (builtin addresses fingerprint 0x"
            ),
            "{inspect}"
        );
        assert!(inspect.contains("relocations:    0"), "{inspect}");
        let verify = ok(&aotc(
            false,
            &["verify", &out, "--runtime-symbols", &path("syms.txt")],
        ));
        assert!(verify.contains("prelinked for 0x210000000000"), "{verify}");
        let mut run = vec!["run", out.as_str()];
        run.extend_from_slice(&invoke);
        assert_eq!(ok(&aotc(true, &run)).trim(), expected);
    }

    // The grow module calls a builtin: a runtime at other addresses refuses it.
    let shifted: String = symbols
        .lines()
        .map(|l| {
            let (name, address) = l.split_once(' ').unwrap();
            let address = u64::from_str_radix(address.trim_start_matches("0x"), 16).unwrap();
            format!("{name} {:#x}\n", address + 16)
        })
        .collect();
    std::fs::write(path("shifted.txt"), shifted).unwrap();
    let out = path("shifted.aot");
    ok(&aotc(
        false,
        &[
            "compile",
            "--prelink",
            "0x210000000000",
            "--runtime-symbols",
            &path("shifted.txt"),
            &path("grow.wat"),
            "-o",
            &out,
        ],
    ));
    let error = one_line_error(&aotc(true, &["run", &out, "--invoke", "grow", "1"]));
    assert!(
        error.contains("at offset 0xb0: prelinked for builtin addresses with fingerprint"),
        "{error}"
    );
    let error = one_line_error(&aotc(
        false,
        &["verify", &out, "--runtime-symbols", &path("syms.txt")],
    ));
    assert!(error.contains("but the runtime symbols give"), "{error}");
}

/// The one-line error of `aotc compile FLAGS --prelink ADDRESS --runtime-symbols SYMBOLS` on
/// `examples/fib.wat`.
fn prelink_error(flags: &[&str], address: &str, symbols: &str) -> String {
    let mut args = vec!["compile"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[
        "--prelink",
        address,
        "--runtime-symbols",
        symbols,
        "examples/fib.wat",
        "-o",
        "/dev/null",
    ]);
    one_line_error(&aotc(false, &args))
}

#[test]
fn prelink_flag_errors_are_one_line() {
    let error = prelink_error(&[], "0x1001", "Cargo.toml");
    assert!(
        error.contains("Cargo.toml: line 1: expected `symbol address`"),
        "{error}"
    );
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("syms.txt");
    std::fs::write(&syms, "aotc_builtin_memory_grow 0x1000\n").unwrap();
    let syms = syms.to_str().unwrap();
    let error = prelink_error(&[], "0x1001", syms);
    assert!(
        error.contains(
            "--prelink 0x1001: expected a non-zero multiple of the text alignment (0x1000)"
        ),
        "{error}"
    );
    let error = prelink_error(&["--xip"], "0x10000", syms);
    assert!(error.contains("cannot be combined with --xip"), "{error}");
    let error = prelink_error(&[], "nowhere", syms);
    assert!(
        error.contains("--prelink \"nowhere\": expected an address"),
        "{error}"
    );
}
