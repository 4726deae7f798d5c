//! Integration tests of `aotc-translate`'s public API: XIP output for every target, builtin
//! rounding on baseline x86-64, determinism, error reporting, metadata and object output.

use aotc_abi::{Arch, Builtin, TrapCode};
use aotc_format::layout::{ConstValue, ExternKind, FLAG_INDIRECT_CALLS, FLAG_XIP, RelocKind};
use aotc_format::write::RelocTarget;
use aotc_translate::{
    CompileError, CompileOptions, OptionsError, compile, compile_object, wat_to_wasm,
};

const FIB: &str = r#"
(module
  (func $fib (export "fib") (param $n i32) (result i32)
    local.get $n
    i32.const 2
    i32.lt_s
    if (result i32)
      local.get $n
    else
      local.get $n
      i32.const 1
      i32.sub
      call $fib
      local.get $n
      i32.const 2
      i32.sub
      call $fib
      i32.add
    end))
"#;

const ROUNDING: &str = r#"
(module
  (func (export "f32_floor") (param f32) (result f32) local.get 0 f32.floor)
  (func (export "f32_ceil") (param f32) (result f32) local.get 0 f32.ceil)
  (func (export "f64_trunc") (param f64) (result f64) local.get 0 f64.trunc)
  (func (export "f64_nearest") (param f64) (result f64) local.get 0 f64.nearest))
"#;

fn to_wasm(text: &str) -> Vec<u8> {
    wat_to_wasm(text.as_bytes()).expect("valid wat")
}

/// Normal mode for `arch`'s baseline CPU.
fn opts(arch: Arch) -> CompileOptions {
    CompileOptions {
        arch,
        cpu: Some("generic".into()),
        ..CompileOptions::default()
    }
}

/// XIP mode for `arch`'s baseline CPU.
fn xip(arch: Arch) -> CompileOptions {
    CompileOptions {
        arch,
        cpu: Some("generic".into()),
        ..CompileOptions::xip()
    }
}

#[test]
fn fib_xip_has_no_relocations_on_any_target() {
    let wasm = to_wasm(FIB);
    for arch in Arch::ALL {
        let m = compile(&wasm, &xip(arch)).unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        assert_eq!(
            m.flags & (FLAG_XIP | FLAG_INDIRECT_CALLS),
            FLAG_XIP | FLAG_INDIRECT_CALLS
        );
        assert_eq!(m.arch, arch);
        let (off, len) = m.functions[0].body.expect("fib is defined");
        assert!(len > 0 && (off + len) as usize <= m.text.len());
        // The entry trampoline of fib's type exists and lies in the text.
        let tramp = m.types[0].entry_trampoline.expect("entry trampoline");
        assert!((tramp as usize) < m.text.len());
        assert!(m.types[0].exit_trampoline.is_some());
        // Recursion needs a stack check.
        assert!(
            m.traps.iter().any(|&(_, c)| c == TrapCode::StackOverflow),
            "{arch:?}: no stack overflow trap site"
        );
        let bytes = m.write().unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        assert!(bytes.len() > m.text.len());
    }
}

#[test]
fn rounding_on_baseline_x86_uses_builtins_without_relocations() {
    let wasm = to_wasm(ROUNDING);
    let m = compile(&wasm, &xip(Arch::X86_64)).unwrap();
    assert!(m.relocs.is_empty(), "{:?}", m.relocs);
    for b in [
        Builtin::f32_floor,
        Builtin::f32_ceil,
        Builtin::f64_trunc,
        Builtin::f64_nearest,
    ] {
        assert!(
            m.builtins.contains(&b),
            "{b:?} missing from {:?}",
            m.builtins
        );
    }
    m.write().unwrap();

    // Normal mode: the builtins are reached through relocations instead.
    let m = compile(&wasm, &opts(Arch::X86_64)).unwrap();
    assert!(
        m.relocs
            .iter()
            .any(|r| r.target == RelocTarget::Builtin(Builtin::f32_floor)
                && r.kind == RelocKind::Abs8)
    );

    // Other targets round natively; XIP is relocation-free everywhere.
    for arch in [Arch::Aarch64, Arch::Riscv64, Arch::S390x] {
        let m = compile(&wasm, &xip(arch)).unwrap();
        assert!(m.relocs.is_empty(), "{arch:?}");
        assert!(m.builtins.is_empty(), "{arch:?}: {:?}", m.builtins);
    }

    // With SSE4.1 the ISA rounds natively: no builtin.
    let mut o = xip(Arch::X86_64);
    o.cpu_features = vec!["+sse4.1".into()];
    let m = compile(&wasm, &o).unwrap();
    assert!(m.builtins.is_empty(), "{:?}", m.builtins);
    assert_ne!(m.cpu_features, 0);
}

#[test]
fn output_is_deterministic() {
    let wasm = to_wasm(FIB);
    let big = wasm_big();
    for input in [&wasm, &big] {
        for o in [xip(Arch::X86_64), opts(Arch::Aarch64), xip(Arch::S390x)] {
            let a = compile(input, &o).unwrap().write().unwrap();
            let b = compile(input, &o).unwrap().write().unwrap();
            assert_eq!(a, b);
        }
    }
}

fn wasm_big() -> Vec<u8> {
    let mut text = String::from("(module\n");
    for i in 0..64 {
        text.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32)
               local.get 0 i32.const {i} i32.add
               {})\n",
            if i > 0 {
                format!("call $f{}", i - 1)
            } else {
                String::new()
            }
        ));
    }
    text.push(')');
    to_wasm(&text)
}

#[test]
fn invalid_wasm_reports_wasmparser_message_and_offset() {
    // A function returning i32 whose body produces nothing.
    let bad = to_wasm("(module (func (result i32)))");
    match compile(&bad, &opts(Arch::X86_64)) {
        Err(CompileError::Wasm { message, offset }) => {
            assert!(message.contains("type mismatch"), "{message}");
            assert!(offset > 8 && offset < bad.len(), "{offset}");
        }
        other => panic!("expected a wasm error, got {other:?}"),
    }
    match compile(b"\0asm\x02\0\0\0", &opts(Arch::X86_64)) {
        Err(CompileError::Wasm { message, offset }) => {
            assert!(message.contains("version"), "{message}");
            assert_eq!(offset, 4);
        }
        other => panic!("expected a wasm error, got {other:?}"),
    }
    // Beyond Wasm 2.0: tail calls are rejected by validation.
    let tail = to_wasm("(module (func return_call 0))");
    assert!(matches!(
        compile(&tail, &opts(Arch::X86_64)),
        Err(CompileError::Wasm { .. })
    ));
    assert!(matches!(
        wat_to_wasm(b"(module (func (oops)))"),
        Err(CompileError::Wasm { .. })
    ));
}

#[test]
fn simd_compiles_everywhere_but_riscv64_without_v() {
    let params =
        to_wasm("(module (func (param v128) (result v128) local.get 0 local.get 0 i32x4.add))");
    let body = to_wasm("(module (func (result i32) v128.const i64x2 1 2 i32x4.extract_lane 0))");
    for arch in Arch::ALL {
        for wasm in [&params, &body] {
            let result = compile(wasm, &opts(arch));
            if arch != Arch::Riscv64 {
                assert!(result.is_ok(), "{arch:?}: {result:?}");
                continue;
            }
            match result {
                Err(CompileError::Unsupported { what, offset }) => {
                    assert!(what.contains("+v"), "{what}");
                    assert!(!what.contains('\n'), "{what}");
                    assert!(offset > 0);
                }
                other => panic!("expected unsupported, got {other:?}"),
            }
        }
    }
    let mut with_v = opts(Arch::Riscv64);
    with_v.cpu_features = vec!["+v".into()];
    for wasm in [&params, &body] {
        let result = compile(wasm, &with_v);
        assert!(result.is_ok(), "{result:?}");
    }
}

#[test]
fn normal_mode_resolves_own_calls_at_compile_time() {
    let wasm = to_wasm(FIB);
    for arch in Arch::ALL {
        let m = compile(&wasm, &opts(arch)).unwrap();
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        assert_eq!(m.flags, 0);
        m.write().unwrap();
    }
}

#[test]
fn metadata_is_complete() {
    let wasm = to_wasm(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (import "env" "h" (func $h (type $t)))
          (import "env" "g" (global $g funcref))
          (import "env" "t" (table 1 funcref))
          (memory (export "mem") 1 3)
          (table $tab 4 10 externref)
          (global $c i64 (i64.const 7))
          (global (export "r") funcref (ref.func $f))
          (func $f (export "f") (type $t) local.get 0 call $h)
          (func $s)
          (start $s)
          (elem (table 0) (i32.const 0) func $f)
          (elem funcref (ref.null func) (global.get $g))
          (data (i32.const 16) "abc")
          (data "xyz"))"#,
    );
    let mut o = opts(Arch::Aarch64);
    o.explicit_bounds_checks = true;
    o.indirect = true;
    let m = compile(&wasm, &o).unwrap();
    assert_eq!(m.target_triple, "aarch64-unknown-linux");
    assert_eq!(
        m.flags,
        FLAG_INDIRECT_CALLS | aotc_format::layout::FLAG_EXPLICIT_BOUNDS_CHECKS
    );
    assert_eq!(m.imports.len(), 3);
    assert_eq!(
        (m.imports[2].kind, m.imports[2].index),
        (ExternKind::Table, 0)
    );
    assert_eq!(m.functions.len(), 3);
    assert!(m.functions[0].body.is_none());
    assert!(m.functions[1].body.is_some() && m.functions[2].body.is_some());
    assert_eq!(m.tables.len(), 2);
    assert!(m.tables[0].imported && !m.tables[1].imported);
    assert_eq!(m.tables[1].max, Some(10));
    assert_eq!(m.memories[0].max, Some(3));
    assert_eq!(m.globals.len(), 3);
    assert_eq!(m.globals[0].init, None);
    assert_eq!(m.globals[1].init, Some(ConstValue::I64(7)));
    assert_eq!(m.globals[2].init, Some(ConstValue::RefFunc(1)));
    assert_eq!(m.start, Some(2));
    assert_eq!(m.exports.len(), 3);
    assert_eq!(m.elements.len(), 2);
    assert_eq!(
        m.elements[1].items,
        vec![
            ConstValue::RefNull(aotc_abi::ValType::FuncRef),
            ConstValue::GlobalGet(0)
        ]
    );
    assert_eq!(m.data.len(), 2);
    // Both types that are used get trampolines; identical signatures share them.
    assert!(m.types.iter().all(|t| t.entry_trampoline.is_some()));
    // Indirect mode: no relocations even without XIP.
    assert!(m.relocs.is_empty());
    // Explicit bounds checks need no memory access here, but the write must succeed.
    m.write().unwrap();
}

#[test]
fn objects_are_elf_with_one_symbol_per_function() {
    let wasm = to_wasm(FIB);
    for arch in Arch::ALL {
        let obj = compile_object(&wasm, &opts(arch)).unwrap();
        assert_eq!(&obj[..4], b"\x7fELF", "{arch:?}");
        let has = |s: &str| obj.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has("aotc_func_0"), "{arch:?}");
        assert!(has("aotc_entry_trampoline_0"), "{arch:?}");
    }
    let obj = compile_object(&to_wasm(ROUNDING), &opts(Arch::X86_64)).unwrap();
    assert!(
        obj.windows(b"aotc_builtin_f32_floor".len())
            .any(|w| w == b"aotc_builtin_f32_floor")
    );
}

#[test]
fn target_errors() {
    let wasm = to_wasm(FIB);
    let mut o = opts(Arch::X86_64);
    o.cpu_features = vec!["+warp-drive".into()];
    match compile(&wasm, &o) {
        Err(CompileError::Target(msg)) => {
            assert!(
                msg.contains("warp-drive") && msg.contains("sse4.1"),
                "{msg}"
            )
        }
        other => panic!("expected a target error, got {other:?}"),
    }
    let mut o = opts(Arch::Riscv64);
    o.cpu_features = vec!["-g".into()];
    assert!(matches!(compile(&wasm, &o), Err(CompileError::Target(_))));
    // Invalid options are refused before any target is built.
    let o = CompileOptions {
        opt_level: 4,
        ..opts(Arch::X86_64)
    };
    assert_eq!(
        compile(&wasm, &o).unwrap_err(),
        CompileError::Options(OptionsError::OptLevel(4))
    );
}

#[test]
fn degenerate_modules() {
    for text in [
        "(module)",
        r#"(module (import "a" "b" (func (param i64) (result f32))))"#,
        "(module (memory 0) (func))",
        "(module (func (export \"loop\") loop br 0 end))",
        "(module (func (result i32) unreachable))",
        "(module (func (param i32) (result i32) block (result i32) local.get 0 local.get 0 br_table 0 0 0 end))",
    ] {
        let wasm = to_wasm(text);
        for arch in Arch::ALL {
            for o in [opts(arch), xip(arch)] {
                let m = compile(&wasm, &o).unwrap_or_else(|e| panic!("{text} {arch:?}: {e}"));
                m.write().unwrap();
            }
            compile_object(&wasm, &opts(arch)).unwrap();
        }
    }
}

#[test]
fn memory_flags_record_memory_grow_and_size_anywhere_in_the_code() {
    use aotc_format::layout::{FLAG_MEMORY_GROW, FLAG_MEMORY_SIZE};
    let flags = |body: &str, inlining: bool| {
        let wat = format!(
            r#"(module (memory 1)
                 (func $inner (param i32) (result i32) {body})
                 (func (export "outer") (param i32) (result i32) (call $inner (local.get 0))))"#
        );
        let options = CompileOptions {
            inlining,
            ..opts(Arch::X86_64)
        };
        compile(&to_wasm(&wat), &options).expect("compile").flags
            & (FLAG_MEMORY_GROW | FLAG_MEMORY_SIZE)
    };
    for inlining in [false, true] {
        // `inner` is small: with inlining on its body is also part of `outer`.
        assert_eq!(flags("(local.get 0)", inlining), 0);
        assert_eq!(
            flags("(memory.grow (local.get 0))", inlining),
            FLAG_MEMORY_GROW
        );
        assert_eq!(
            flags("(i32.add (memory.size) (local.get 0))", inlining),
            FLAG_MEMORY_SIZE
        );
        assert_eq!(
            flags(
                "(i32.add (memory.grow (local.get 0)) (memory.size))",
                inlining
            ),
            FLAG_MEMORY_GROW | FLAG_MEMORY_SIZE
        );
    }
}
