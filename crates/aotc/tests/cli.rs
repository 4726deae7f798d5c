//! End-to-end tests of the `aotc` binary: compile, inspect, run and verify, as a user types them.

mod support;

use support::{aotc, one_line_error, workspace};

use std::path::Path;
use std::process::Output;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "aotc failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn fib_xip_and_normal() {
    let dir = tempfile::tempdir().unwrap();
    for (flags, xip) in [(&["--xip"][..], true), (&[][..], false)] {
        let out = dir.path().join(if xip { "fib-xip.aot" } else { "fib.aot" });
        let out = out.to_str().unwrap();
        let mut args = vec!["compile"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["examples/fib.wat", "-o", out]);
        ok(&aotc(&args));

        let inspect = ok(&aotc(&["inspect", out]));
        assert!(
            inspect.contains(&format!(
                "xip:            {}",
                if xip { "yes" } else { "no" }
            )),
            "{inspect}"
        );
        assert!(inspect.contains("relocations:    0"), "{inspect}");
        assert!(inspect.contains("fib (func 0)"), "{inspect}");

        assert_eq!(
            ok(&aotc(&["run", out, "--invoke", "fib", "30"])),
            "832040\n"
        );
        ok(&aotc(&["verify", out]));
    }
}

#[test]
fn wamrc_calling_convention() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.aot");
    let out = out.to_str().unwrap();
    ok(&aotc(&[
        "--xip",
        "--opt-level=2",
        "--target=x86_64",
        "-o",
        out,
        "examples/fib.wat",
    ]));
    assert_eq!(ok(&aotc(&["run", out, "--invoke", "fib", "10"])), "55\n");
}

#[test]
fn run_compiles_wat_and_wasm_in_memory() {
    assert_eq!(
        ok(&aotc(&["run", "examples/fib.wat", "--invoke", "fib", "20"])),
        "6765\n"
    );
    assert_eq!(
        ok(&aotc(&[
            "run",
            "examples/sum.wat",
            "--invoke",
            "sum",
            "1000"
        ])),
        "499500\n"
    );
    assert_eq!(
        ok(&aotc(&[
            "run",
            "--xip",
            "examples/float.wat",
            "--invoke",
            "round_sum",
            "2.5"
        ])),
        "7\n"
    );
}

#[test]
fn run_passes_and_prints_v128_in_hex() {
    let wat = Path::new(env!("CARGO_TARGET_TMPDIR")).join("v128_invoke.wat");
    std::fs::write(
        &wat,
        r#"(module (func (export "add") (param v128 v128) (result v128)
             (i32x4.add (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    for mode in [&[][..], &["--xip"][..]] {
        let mut args = vec!["run"];
        args.extend(mode);
        args.extend([
            wat,
            "--invoke",
            "add",
            "0x00000001_00000002_00000003_ffffffff",
            "0x10",
        ]);
        assert_eq!(ok(&aotc(&args)), "0x0000000100000002000000030000000f\n");
    }
    let err = one_line_error(&aotc(&["run", wat, "--invoke", "add", "0x1", "1"]));
    assert!(err.contains("v128"), "{err}");
}

#[test]
fn normal_file_with_relocations_runs() {
    // On the x86_64 baseline (no SSE4.1), float rounding calls the intrinsic library: a normal
    // file reaches it through relocations, an XIP file through the vmctx.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("float.aot");
    let out = out.to_str().unwrap();
    ok(&aotc(&[
        "compile",
        "--target",
        "x86_64",
        "examples/float.wat",
        "-o",
        out,
    ]));
    let inspect = ok(&aotc(&["inspect", out]));
    assert!(!inspect.contains("relocations:    0"), "{inspect}");
    assert_eq!(
        ok(&aotc(&["run", out, "--invoke", "round_sum", "2.5"])),
        "7\n"
    );
}

#[test]
fn verify_reports_a_flipped_text_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fib.aot");
    let out = path.to_str().unwrap();
    ok(&aotc(&["compile", "--xip", "examples/fib.wat", "-o", out]));
    let mut bytes = std::fs::read(&path).unwrap();
    let text_at = aotc_format::AotFile::parse(&bytes)
        .unwrap()
        .text_file_offset() as usize;
    bytes[text_at + 3] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    ok(&aotc(&["inspect", out]));
    let err = one_line_error(&aotc(&["verify", out]));
    assert!(err.contains("text checksum mismatch"), "{err}");
    assert!(err.contains(out), "{err}");
}

#[test]
fn errors_are_one_clear_line() {
    let err = one_line_error(&aotc(&["run", "no-such-file.aot"]));
    assert!(err.contains("no-such-file.aot"), "{err}");
    let err = one_line_error(&aotc(&[
        "compile",
        "--target",
        "mips",
        "examples/fib.wat",
        "-o",
        "/dev/null",
    ]));
    assert!(err.contains("unknown architecture"), "{err}");
    let err = one_line_error(&aotc(&["run", "examples/fib.wat", "--invoke", "nope"]));
    assert!(
        err.contains("exports no function `nope`") && err.contains("fib"),
        "{err}"
    );
    let err = one_line_error(&aotc(&["run", "examples/fib.wat", "--invoke", "fib", "x"]));
    assert!(err.contains("expected a i32 integer"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.aot");
    std::fs::write(&bad, b"\0aotc\r\n\x1a garbage").unwrap();
    let err = one_line_error(&aotc(&["inspect", bad.to_str().unwrap()]));
    assert!(err.contains("offset") && err.contains("expected"), "{err}");
}

/// Compiles `input` with `--xip --target target` and `flags` into `dir`; the output's path.
fn compile_xip_for(dir: &Path, target: &str, flags: &[&str], input: &str) -> String {
    let out = dir.join(format!("{target}.aot"));
    let out = out.to_str().unwrap();
    let mut args = vec!["compile", "--xip", "--target", target];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[input, "-o", out]);
    ok(&aotc(&args));
    out.to_owned()
}

#[test]
fn cross_targets_produce_xip_files_without_relocations() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["x86_64", "aarch64", "riscv64", "s390x"] {
        let out = &compile_xip_for(dir.path(), target, &[], "examples/float.wat");
        let inspect = ok(&aotc(&["inspect", out]));
        assert!(inspect.contains("relocations:    0"), "{target}: {inspect}");
        assert!(
            inspect.contains(&format!("target:         {target}")),
            "{inspect}"
        );
    }
}

#[test]
fn object_format_is_an_elf_relocatable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.o");
    ok(&aotc(&[
        "compile",
        "--format",
        "object",
        "examples/fib.wat",
        "-o",
        out.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 1, "ET_REL");
}

/// The names `aotc intrinsics` lists (its `#` lines excluded).
fn intrinsic_names(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn intrinsics_lists_the_xip_default_of_each_target() {
    let rounding = [
        "llvm.ceil.f32",
        "llvm.ceil.f64",
        "llvm.floor.f32",
        "llvm.floor.f64",
        "llvm.trunc.f32",
        "llvm.trunc.f64",
        "llvm.rint.f32",
        "llvm.rint.f64",
        "i8x16.swizzle",
    ];
    let out = ok(&aotc(&["intrinsics", "--target", "x86_64"]));
    assert_eq!(intrinsic_names(&out), rounding, "{out}");
    assert!(
        out.contains("# groups fully included: v128.common"),
        "{out}"
    );

    // With SSE4.1 and SSSE3 x86_64 rounds and shuffles natively; the other targets always do.
    let out = ok(&aotc(&[
        "intrinsics",
        "--target",
        "x86_64",
        "--cpu-features",
        "+sse4.1,+ssse3",
    ]));
    assert!(intrinsic_names(&out).is_empty(), "{out}");
    for target in ["aarch64", "riscv64", "s390x"] {
        let out = ok(&aotc(&["intrinsics", "--target", target]));
        assert!(intrinsic_names(&out).is_empty(), "{target}: {out}");
    }

    // An explicit list replaces the default, but what the ISA forces stays.
    let out = ok(&aotc(&[
        "intrinsics",
        "--target=x86_64",
        "--enable-builtin-intrinsics=constop",
    ]));
    let names = intrinsic_names(&out);
    assert_eq!(names.len(), 13, "{out}");
    assert!(rounding.iter().all(|r| names.contains(r)), "{out}");
    assert!(names.contains(&"f64.const"), "{out}");
    assert!(
        out.contains("# groups fully included: v128.common, constop"),
        "{out}"
    );
    let out = ok(&aotc(&[
        "intrinsics",
        "--target=s390x",
        "--enable-builtin-intrinsics=all",
    ]));
    assert_eq!(
        intrinsic_names(&out).len(),
        aotc_abi::intrinsics::INTRINSICS.len()
    );
    assert!(
        out.contains("# groups fully included: all, i32.common"),
        "{out}"
    );
}

#[test]
fn intrinsic_flag_errors() {
    // An unknown name is refused with the valid names and groups.
    for args in [
        &[
            "intrinsics",
            "--enable-builtin-intrinsics",
            "i32.common,llvm.bogus",
        ][..],
        &[
            "compile",
            "--xip",
            "--enable-builtin-intrinsics=llvm.bogus",
            "examples/fib.wat",
            "-o",
            "/dev/null",
        ][..],
    ] {
        let err = one_line_error(&aotc(args));
        assert!(err.contains("`llvm.bogus`"), "{err}");
        assert!(
            err.contains("fpxint") && err.contains("llvm.rint.f64") && err.contains("f64_cmp"),
            "{err}"
        );
    }
    // Like wamrc: only with --xip or --enable-indirect-mode.
    let err = one_line_error(&aotc(&[
        "compile",
        "--enable-builtin-intrinsics=all",
        "examples/fib.wat",
        "-o",
        "/dev/null",
    ]));
    assert!(
        err.contains("--enable-builtin-intrinsics") && err.contains("--xip"),
        "{err}"
    );
    // A CPU variant aotc cannot compile for says what is missing.
    let err = one_line_error(&aotc(&[
        "intrinsics",
        "--target",
        "riscv64",
        "--cpu-features=-g",
    ]));
    assert!(err.contains("f, d"), "{err}");
}

#[test]
fn xip_with_every_intrinsic_runs_without_relocations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("float.aot");
    let out = out.to_str().unwrap();
    ok(&aotc(&[
        "compile",
        "--xip",
        "--enable-builtin-intrinsics=all",
        "examples/float.wat",
        "-o",
        out,
    ]));
    let inspect = ok(&aotc(&["inspect", out]));
    assert!(inspect.contains("relocations:    0"), "{inspect}");
    assert!(
        inspect.contains("builtins:       f64_add, f64_ceil, f64_floor, f64_nearest"),
        "{inspect}"
    );
    assert!(
        inspect.contains("intrinsics:     llvm.experimental.constrained.fadd.f32,"),
        "{inspect}"
    );
    assert_eq!(
        ok(&aotc(&["run", out, "--invoke", "round_sum", "2.5"])),
        "7\n"
    );
    ok(&aotc(&["verify", out]));

    // wamrc's form, indirect mode, constop: fib's constants (1 and 2) stay immediates, and
    // fib(20) still is 6765.
    let fib = dir.path().join("fib.aot");
    let fib = fib.to_str().unwrap();
    ok(&aotc(&[
        "--enable-indirect-mode",
        "--enable-builtin-intrinsics=i32.common,constop",
        "-o",
        fib,
        "examples/fib.wat",
    ]));
    let inspect = ok(&aotc(&["inspect", fib]));
    assert!(
        inspect.contains("constants:      0 slots (0 bytes)"),
        "{inspect}"
    );
    assert_eq!(ok(&aotc(&["run", fib, "--invoke", "fib", "20"])), "6765\n");
}

#[test]
fn cross_targets_with_every_intrinsic_have_no_relocations() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["x86_64", "aarch64", "riscv64", "s390x"] {
        let out = dir.path().join(format!("qsort-{target}.aot"));
        let out = out.to_str().unwrap();
        ok(&aotc(&[
            "compile",
            "--xip",
            "--target",
            target,
            "--enable-builtin-intrinsics",
            "all",
            "examples/bench/kernels/qsort.wasm",
            "-o",
            out,
        ]));
        let inspect = ok(&aotc(&["inspect", out]));
        assert!(inspect.contains("relocations:    0"), "{target}: {inspect}");
        // The C program's five distinct constants outside -2048..=2047 (its random number
        // generator's among them).
        assert!(
            inspect.contains("constants:      5 slots"),
            "{target}: {inspect}"
        );
    }
}

/// A module returning `value` from its export `answer`.
fn answer_wat(value: i32) -> String {
    format!(r#"(module (func (export "answer") (result i32) i32.const {value}))"#)
}

#[test]
fn recompiling_keeps_a_running_module_on_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let (old_wat, new_wat) = (dir.path().join("old.wat"), dir.path().join("new.wat"));
    std::fs::write(&old_wat, answer_wat(1)).unwrap();
    std::fs::write(&new_wat, answer_wat(2)).unwrap();
    let out = dir.path().join("answer.aot");
    let compile = |wat: &Path| {
        ok(&aotc(&[
            "compile",
            "--xip",
            wat.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]))
    };
    compile(&old_wat);
    let call = |module: &aotc_loader::Module| {
        let instance = aotc_loader::Instance::new(module, &[]).unwrap();
        instance.call("answer", &[]).unwrap()[0].i32()
    };
    // SAFETY: the file was just compiled by this workspace's compiler.
    let running = unsafe { aotc_loader::Module::from_file(&out) }.unwrap();
    assert!(running.is_text_mapped_from_file());
    assert_eq!(call(&running), Some(1));

    // Another process recompiles the file this process has mapped and runs.
    compile(&new_wat);
    assert_eq!(call(&running), Some(1), "still the old code");
    // SAFETY: as above.
    let reloaded = unsafe { aotc_loader::Module::from_file(&out) }.unwrap();
    assert_eq!(call(&reloaded), Some(2));
}

#[test]
fn output_equal_to_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("fib.wat");
    std::fs::copy(workspace().join("examples/fib.wat"), &wat).unwrap();
    let source = std::fs::read(&wat).unwrap();
    let link = dir.path().join("link.aot");
    std::os::unix::fs::symlink(&wat, &link).unwrap();
    for out in [&wat, &link] {
        let err = one_line_error(&aotc(&[
            "compile",
            wat.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]));
        assert!(err.contains("is the input file"), "{err}");
        assert_eq!(std::fs::read(&wat).unwrap(), source, "input unchanged");
    }
}

#[test]
fn packed_fib_is_small_and_runs_in_place() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["x86_64", "aarch64"] {
        let packed = ["--text-align", "16"];
        let out = &compile_xip_for(dir.path(), target, &packed, "examples/fib.wat");
        let size = std::fs::metadata(out).unwrap().len();
        assert!(size <= 1536, "{target}: {size} bytes");
        let inspect = ok(&aotc(&["inspect", out]));
        assert!(inspect.contains("text layout:    packed"), "{inspect}");
        ok(&aotc(&["verify", out]));
        if target == std::env::consts::ARCH {
            assert_eq!(
                ok(&aotc(&["run", out, "--invoke", "fib", "30"])),
                "832040\n"
            );
            // SAFETY: compiled just above by this workspace's compiler.
            let module = unsafe { aotc_loader::Module::from_file(out) }.unwrap();
            assert!(module.is_text_mapped_from_file());
        }
    }
    let err = one_line_error(&aotc(&[
        "compile",
        "--xip",
        "--text-align",
        "24",
        "examples/fib.wat",
        "-o",
        dir.path().join("bad.aot").to_str().unwrap(),
    ]));
    assert!(err.contains("--text-align 24"), "{err}");
}

/// Three calls deep; compiled with `--disable-inlining`, each keeps its own frame (inlined,
/// `bottom` and `middle` are small enough to become part of `top`).
const CHAIN: &str = r#"
(module
  (func $bottom (param i32) (result i32)
    (if (local.get 0) (then unreachable))
    (i32.const 7))
  (func $middle (param i32) (result i32)
    (i32.add (call $bottom (local.get 0)) (i32.const 1)))
  (func $top (export "top") (param i32) (result i32) (i32.add (call $middle (local.get 0)) (i32.const 2))))
"#;

/// The function names of `aotc run`'s `wasm backtrace:` lines (`  N: 0x<offset> - <name>`).
fn backtrace_names(out: &Output) -> Vec<String> {
    let err = String::from_utf8_lossy(&out.stderr);
    let mut lines = err.lines().skip_while(|l| *l != "wasm backtrace:").skip(1);
    let mut names = Vec::new();
    for (i, line) in lines.by_ref().enumerate() {
        let (number, rest) = line.trim_start().split_once(": 0x").expect(line);
        assert_eq!(number, i.to_string(), "{err}");
        let (offset, name) = rest.split_once(" - ").expect(line);
        assert!(u32::from_str_radix(offset, 16).is_ok(), "{err}");
        names.push(name.to_owned());
    }
    names
}

#[test]
fn a_trap_prints_the_wasm_backtrace_in_normal_and_xip_files() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("chain.wat");
    std::fs::write(&wat, CHAIN).unwrap();
    let wat = wat.to_str().unwrap();
    for flags in [&[][..], &["--xip"][..]] {
        let out = dir.path().join("chain.aot");
        let out = out.to_str().unwrap();
        // Without inlining every call keeps its frame; inlined, the small `middle` is part of
        // `top` (as in wasmtime with inlining on; one level: `bottom`, called from the inlined
        // body, keeps its frame).
        for (inlining, frames) in [
            ("--disable-inlining", &["bottom", "middle", "top"][..]),
            ("--opt-level=3", &["bottom", "top"][..]),
        ] {
            let mut args = vec!["compile", "-o", out, inlining];
            args.extend_from_slice(flags);
            args.push(wat);
            ok(&aotc(&args));
            let run = aotc(&["run", "--invoke", "top", out, "1"]);
            assert_eq!(run.status.code(), Some(134), "{flags:?}");
            let err = String::from_utf8_lossy(&run.stderr);
            assert!(err.starts_with("error: "), "{err}");
            assert!(err.contains("wasm trap: unreachable"), "{err}");
            assert_eq!(backtrace_names(&run), frames, "{flags:?} {inlining}");
        }
    }
    // Without a name section the inner functions are shown by index.
    let nameless = dir.path().join("nameless.wat");
    std::fs::write(
        &nameless,
        CHAIN
            .replace("(func $bottom", "(func")
            .replace("(func $middle", "(func")
            .replace("(func $top", "(func")
            .replace("call $bottom", "call 0")
            .replace("call $middle", "call 1"),
    )
    .unwrap();
    let nameless = nameless.to_str().unwrap();
    let run = aotc(&[
        "run",
        "--disable-inlining",
        "--invoke",
        "top",
        nameless,
        "1",
    ]);
    assert_eq!(
        backtrace_names(&run),
        ["wasm-function[0]", "wasm-function[1]", "top"]
    );
}

#[test]
fn invoke_arguments_may_begin_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("sub.wat");
    std::fs::write(
        &wat,
        r#"(module (func (export "sub") (param i32 i64) (result i64)
             (i64.sub (i64.extend_i32_s (local.get 0)) (local.get 1))))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    // Negative numbers without `--`, in both positions of FILE and --invoke.
    assert_eq!(
        ok(&aotc(&["run", "--invoke", "sub", wat, "-5", "-7"])),
        "2\n"
    );
    assert_eq!(
        ok(&aotc(&["run", wat, "--invoke", "sub", "-5", "3"])),
        "-8\n"
    );
    // After `--`, words beginning with `--` are arguments too (`--2` is -(-2)).
    assert_eq!(
        ok(&aotc(&["run", "--invoke", "sub", wat, "--", "-1", "--2"])),
        "-3\n"
    );
    assert_eq!(
        ok(&aotc(&["run", wat, "--invoke", "sub", "--", "-1", "-2"])),
        "1\n"
    );
    let err = one_line_error(&aotc(&["run", "--invoke", "sub", wat, "--", "-1", "--x"]));
    assert!(
        err.contains("argument 2 of `sub`")
            && err.contains("expected a i64 integer, found \"--x\""),
        "{err}"
    );
    let err = one_line_error(&aotc(&["run", "--invoke", "sub", wat, "--", "-1"]));
    assert!(
        err.contains("`sub` takes 2 argument(s) (i32, i64), 1 given"),
        "{err}"
    );
}
