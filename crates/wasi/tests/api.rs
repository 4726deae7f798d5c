//! The Rust API on small modules, in normal and XIP modes: captured stdio, stdin bytes, exit
//! codes, bad guest pointers (`EFAULT`, never a host access), read-only pre-opens (`EROFS`),
//! escapes (`ENOTCAPABLE`) and the list of unresolved imports.

use aotc_loader::{Instance, LoadOptions, Module, Val};
use aotc_translate::CompileOptions;
use aotc_wasi::{Errno, WasiCtx, WasiError};

fn load(wat: &str, xip: bool) -> Module {
    let options = if xip {
        CompileOptions::xip()
    } else {
        CompileOptions::default()
    };
    aotc_pipeline::load(&options, wat.as_bytes(), &LoadOptions::default()).expect("compiles")
}

const PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\20\00\00\00\05\00\00\00")       ;; iovec: 5 bytes at 32
  (data (i32.const 24) "\f0\ff\00\00\20\00\00\00")       ;; iovec: 32 bytes at 0xfff0 (crosses the end)
  (data (i32.const 32) "hello")
  (data (i32.const 64) "new.txt../x")
  (func (export "hello") (result i32) (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
  (func (export "bad_iovec") (result i32) (call $write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 8)))
  (func (export "bad_array") (result i32) (call $write (i32.const 1) (i32.const 0xfffc) (i32.const 2) (i32.const 8)))
  (func (export "bad_result") (result i32) (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 0x10000)))
  (func (export "huge_random") (result i32) (call $random (i32.const 0) (i32.const -1)))
  ;; 4 overlapping iovecs of the whole memory: a short write, not 256 KiB gathered
  (func (export "overlapping") (result i32)
    (i64.store (i32.const 128) (i64.const 0x0001000000000000))
    (i64.store (i32.const 136) (i64.const 0x0001000000000000))
    (i64.store (i32.const 144) (i64.const 0x0001000000000000))
    (i64.store (i32.const 152) (i64.const 0x0001000000000000))
    (drop (call $write (i32.const 1) (i32.const 128) (i32.const 4) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "read_stdin") (result i32)
    (drop (call $read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "create") (param i32 i32) (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 64) (local.get 0) (local.get 1)
      (i64.const 0x7fffffff) (i64.const 0x7fffffff) (i32.const 0) (i32.const 8)))
  (func (export "_start") (call $exit (i32.const 9))))"#;

fn errno(instance: &Instance, name: &str, args: &[Val]) -> i32 {
    instance.call(name, args).expect("returns")[0]
        .i32()
        .unwrap()
}

#[test]
fn stdio_pointers_preopens_and_exit() {
    for xip in [false, true] {
        let module = load(PROGRAM, xip);
        let dir = tempfile::tempdir().unwrap();
        let mut builder = WasiCtx::builder().stdin_bytes("abc");
        let stdout = builder.capture_stdout();
        let wasi = builder
            .preopen_dir_readonly(dir.path(), "/")
            .unwrap()
            .build();
        let instance = Instance::new(&module, &wasi.imports(&module).unwrap()).unwrap();
        wasi.attach(&instance).unwrap();

        assert_eq!(errno(&instance, "hello", &[]), 0);
        assert_eq!(stdout.contents(), b"hello");
        for bad in ["bad_iovec", "bad_array", "bad_result", "huge_random"] {
            assert_eq!(errno(&instance, bad, &[]), Errno::Fault as i32, "{bad}");
        }
        assert_eq!(errno(&instance, "overlapping", &[]), 4 << 16);
        assert_eq!(stdout.contents().len(), 5 + (4 << 16));
        assert_eq!(errno(&instance, "read_stdin", &[]), 3);
        // O_CREAT beneath a read-only pre-open.
        let create = |len, oflags| errno(&instance, "create", &[Val::I32(len), Val::I32(oflags)]);
        assert_eq!(create(7, 1), Errno::Rofs as i32);
        assert!(!dir.path().join("new.txt").exists());

        assert_eq!(wasi.run_command(&instance).unwrap(), 9);
    }
}

#[test]
fn escapes_are_not_capable() {
    let wat = PROGRAM.replace("new.txt../x", "../escape.t");
    let module = load(&wat, true);
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let wasi = WasiCtx::builder().preopen_dir(&root, "/").unwrap().build();
    let instance = Instance::new(&module, &wasi.imports(&module).unwrap()).unwrap();
    wasi.attach(&instance).unwrap();
    let result = errno(&instance, "create", &[Val::I32(11), Val::I32(1)]);
    assert_eq!(result, Errno::NotCapable as i32);
    assert!(!parent.path().join("escape.t").exists());
}

#[test]
fn unresolved_imports_are_all_listed() {
    let module = load(
        r#"(module (import "env" "f" (func)) (import "wasi_snapshot_preview1" "clock_time_get" (func)))"#,
        false,
    );
    let Err(err @ WasiError::UnresolvedImports(_)) = WasiCtx::builder().build().imports(&module)
    else {
        panic!("imports must be unresolved");
    };
    assert_eq!(
        err.to_string(),
        "2 unresolved import(s): env.f (func), wasi_snapshot_preview1.clock_time_get (func) \
         [WASI provides this function, as (func (param i32 i64 i32) (result i32))]"
    );
}
