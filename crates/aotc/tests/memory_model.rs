//! The memory model as a user meets it, in normal and XIP modes: `aotc run --stack-size`,
//! `--mem-report`, truncation of real wasi-libc programs at `__heap_base`, and the app heap
//! through a wasi-libc program's own `malloc`/`free`.

mod support;

use std::path::Path;

use aotc_loader::{AppHeapError, Instance, InstanceConfig, MemoryConfig, Module};
use aotc_wasi::WasiCtx;
use support::{aot_files, aotc_in, compile_c_with, one_line_error};

/// A recursion `down(n)` that is `n` frames deep.
const RECURSE: &str = include_str!("../../../examples/recurse.wat");

/// The value of report line `prefix`'s first number after `word`.
fn report_number(stderr: &str, prefix: &str, word: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {stderr}"));
    let rest = &line[line.find(word).unwrap_or_else(|| panic!("{line}")) + word.len()..];
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{word}` in {line}"))
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = aotc_in(dir, args, b"");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stack_size_64k_traps_a_recursion_the_default_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("recurse.wasm");
    std::fs::write(&wasm, wat::parse_str(RECURSE).unwrap()).unwrap();
    for (mode, aot) in aot_files(&wasm) {
        let aot = aot.to_str().unwrap();
        let (code, stdout, _) = run(tmp.path(), &["run", "--invoke", "down", aot, "20000"]);
        assert_eq!((code, stdout.trim()), (0, "20000"), "{mode}");

        let small = [
            "run",
            "--stack-size",
            "64K",
            "--mem-report",
            "--invoke",
            "down",
        ];
        let (code, _, stderr) = run(tmp.path(), &[&small[..], &[aot, "20000"]].concat());
        assert_eq!(code, 134, "{mode}: {stderr}");
        assert!(stderr.contains("call stack exhausted"), "{mode}: {stderr}");
        let peak = report_number(&stderr, "wasm stack:", "peak");
        assert_eq!(report_number(&stderr, "wasm stack:", "of"), 65536);

        // One frame, measured as the largest growth of the peak by one more level from 1,000
        // to 1,002 levels (deep enough that the recursion, not the entry path, sets the peak):
        // normal mode inlines the recursion into itself once, so one native frame
        // holds two levels and every other level adds a whole frame.
        let depth = |n: &str| {
            let (code, _, stderr) = run(tmp.path(), &[&small[..], &[aot, n]].concat());
            assert_eq!(code, 0, "{mode}: {stderr}");
            report_number(&stderr, "wasm stack:", "peak")
        };
        let (d1000, d1001, d1002) = (depth("1000"), depth("1001"), depth("1002"));
        let frame = (d1001 - d1000).max(d1002 - d1001);
        assert!((16..=256).contains(&frame), "{mode}: frame {frame}");
        assert!(
            peak <= 65536 && 65536 - peak < frame,
            "{mode}: peak {peak} not within one frame ({frame}) of 64 KiB"
        );
    }
    // A malformed size is refused, saying what a size looks like (clap's usage error).
    let (code, _, stderr) = run(tmp.path(), &["run", "--stack-size", "64X", "x.wat"]);
    assert_eq!(code, 2);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("--stack-size") && first.contains("64K"),
        "{stderr}"
    );
}

#[test]
fn a_program_without_memory_grow_is_truncated_at_heap_base_and_one_with_it_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let flags = [
        "-O2",
        "-Wl,--export=__heap_base",
        "-Wl,--initial-memory=1048576",
    ];
    let fixed = compile_c_with("mem_fixed.c", tmp.path(), "mem_fixed", &flags);
    let growing = compile_c_with("mem_grow.c", tmp.path(), "mem_grow", &flags);
    for (mode, aot) in aot_files(&fixed) {
        let aot = aot.to_str().unwrap();
        let (code, stdout, stderr) = run(tmp.path(), &["run", "--mem-report", aot]);
        assert_eq!(code, 0, "{mode}: {stderr}");
        let (code_off, stdout_off, stderr_off) =
            run(tmp.path(), &["run", "--mem-report", "--no-truncate", aot]);
        assert_eq!(code_off, 0);
        assert_eq!(stdout, stdout_off, "{mode}: truncation changes no output");
        assert_eq!(stdout, "fib(20) = 6765\ncanary: data segment intact\n");
        let committed = report_number(&stderr, "linear memory 0:", "committed");
        let untruncated = report_number(&stderr_off, "linear memory 0:", "committed");
        assert_eq!(untruncated, 16 * 65536, "{mode}: {stderr_off}");
        assert!(committed < untruncated, "{mode}: {stderr}");
        assert!(
            stderr.contains("truncated at __heap_base from 16 to"),
            "{mode}: {stderr}"
        );
        let private = report_number(&stderr, "text private", "(copy):");
        if mode == "xip" {
            assert_eq!(private, 0);
        } else {
            assert!(private > 0);
        }
    }
    for (mode, aot) in aot_files(&growing) {
        let (code, stdout, stderr) =
            run(tmp.path(), &["run", "--mem-report", aot.to_str().unwrap()]);
        assert_eq!(code, 0, "{mode}: {stderr}");
        assert_eq!(stdout, "200000 bytes of 1\n");
        assert!(stderr.contains("not truncated"), "{mode}: {stderr}");
        assert!(report_number(&stderr, "linear memory 0:", "committed") >= 16 * 65536);
    }
}

#[test]
fn the_app_heap_goes_through_the_program_s_own_malloc_and_free() {
    let tmp = tempfile::tempdir().unwrap();
    let flags = [
        "-O2",
        "-mexec-model=reactor",
        "-Wl,--export=malloc",
        "-Wl,--export=free",
    ];
    let wasm = compile_c_with("mem_heap.c", tmp.path(), "mem_heap", &flags);
    for (mode, aot) in aot_files(&wasm) {
        // SAFETY: compiled by this test.
        let module = unsafe { Module::from_file(&aot) }.unwrap();
        let wasi = WasiCtx::builder().build();
        // Exhaustion comes quickly under a 4 MiB cap.
        let config = InstanceConfig {
            memory: MemoryConfig {
                max_bytes: Some(4 << 20),
                ..Default::default()
            },
            ..Default::default()
        };
        let instance =
            Instance::new_with(&module, &wasi.imports(&module).unwrap(), &config).unwrap();
        wasi.initialize_reactor(&instance).unwrap();
        let memory = instance.get_memory("memory").unwrap();
        let p = instance.module_malloc(1000).unwrap();
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        memory.write(p as usize, &bytes).unwrap();
        let mut back = vec![0; 1000];
        memory.read(p as usize, &mut back).unwrap();
        assert_eq!(back, bytes, "{mode}");
        let expected: i32 = bytes.iter().map(|b| i32::from(*b)).sum();
        let sum = instance
            .call(
                "sum",
                &[aotc_loader::Val::I32(p as i32), aotc_loader::Val::I32(1000)],
            )
            .unwrap();
        assert_eq!(sum, [aotc_loader::Val::I32(expected)]);
        instance.module_free(p).unwrap();
        // The program's malloc reuses what its free returned.
        assert_eq!(instance.module_malloc(1000).unwrap(), p, "{mode}");

        let mut held = Vec::new();
        let err = loop {
            match instance.module_malloc(256 << 10) {
                Ok(ptr) => {
                    memory.write(ptr as usize, &[0x5a; 256 << 10]).unwrap();
                    held.push(ptr);
                }
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, AppHeapError::Exhausted { .. }),
            "{mode}: {err}"
        );
        assert!(held.len() >= 10, "{mode}: {}", held.len());
        assert_eq!(
            instance.call("canary_ok", &[]).unwrap(),
            [aotc_loader::Val::I32(1)],
            "{mode}: the program's data survived exhaustion"
        );
        let usage = instance.app_heap_usage().unwrap();
        assert_eq!(usage.in_use, 1000 + held.len() as u64 * (256 << 10));
        for ptr in held {
            instance.module_free(ptr).unwrap();
        }
        assert_eq!(instance.app_heap_usage().unwrap().in_use, 1000);
    }
}

#[test]
fn a_small_reservation_refuses_guard_page_code_in_one_line_and_serves_explicit_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let wat = tmp.path().join("mem.wat");
    std::fs::write(
        &wat,
        r#"(module (memory 1 4) (func (export "f") (param i32) (result i32) local.get 0 memory.grow))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    let small = ["run", "--memory-reservation", "1M", "--memory-guard", "0"];
    let out = aotc_in(
        tmp.path(),
        &[&small[..], &["--invoke", "f", wat, "1"]].concat(),
        b"",
    );
    let err = one_line_error(&out);
    assert!(
        err.contains("mem.wat")
            && err.contains("guard-page bounds checks")
            && err.contains("--bounds-checks=1"),
        "{err}"
    );
    // Explicit checks need no guard: 1 MiB holds the 4 pages the memory may reach.
    let explicit = [&small[..], &["--bounds-checks=1", "--invoke", "f", wat]].concat();
    let (code, stdout, stderr) = run(tmp.path(), &[&explicit[..], &["3"]].concat());
    assert_eq!((code, stdout.as_str()), (0, "1\n"), "{stderr}");
    let (_, stdout, _) = run(tmp.path(), &[&explicit[..], &["4"]].concat());
    assert_eq!(stdout, "-1\n");
    // Capped below the declared maximum of 4 pages: growing to 2 pages works, to 3 fails.
    let capped = ["run", "--max-memory-pages", "2", "--invoke", "f", wat];
    let (_, stdout, _) = run(tmp.path(), &[&capped[..], &["1"]].concat());
    assert_eq!(stdout, "1\n");
    let (_, stdout, _) = run(tmp.path(), &[&capped[..], &["2"]].concat());
    assert_eq!(stdout, "-1\n");
}
