//! Intrinsics and the constant table: every intrinsic operation compiled as a call on every
//! target without relocations in XIP mode, constants loaded from the table in the target's byte
//! order, the per-target default sets of `effective_intrinsics`, and determinism.

use aotc_abi::intrinsics::{Capability, INTRINSICS, IntrinsicSet};
use aotc_abi::{Arch, Builtin};
use aotc_format::write::AotModule;
use aotc_translate::{
    CompileError, CompileOptions, OptionsError, compile, compile_object, effective_intrinsics,
    wat_to_wasm,
};

/// One function per operation that has an intrinsic.
const EVERY_OP: &str = r#"
(module
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.add)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.sub)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.mul)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.div)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.min)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.max)
  (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.copysign)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.add)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.sub)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.mul)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.div)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.min)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.max)
  (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.copysign)
  (func (param f32) (result f32) local.get 0 f32.abs)
  (func (param f32) (result f32) local.get 0 f32.ceil)
  (func (param f32) (result f32) local.get 0 f32.floor)
  (func (param f32) (result f32) local.get 0 f32.trunc)
  (func (param f32) (result f32) local.get 0 f32.nearest)
  (func (param f32) (result f32) local.get 0 f32.sqrt)
  (func (param f64) (result f64) local.get 0 f64.abs)
  (func (param f64) (result f64) local.get 0 f64.ceil)
  (func (param f64) (result f64) local.get 0 f64.floor)
  (func (param f64) (result f64) local.get 0 f64.trunc)
  (func (param f64) (result f64) local.get 0 f64.nearest)
  (func (param f64) (result f64) local.get 0 f64.sqrt)
  (func (param f32 f32) (result i32)
    local.get 0 local.get 1 f32.eq local.get 0 local.get 1 f32.ne i32.add
    local.get 0 local.get 1 f32.lt i32.add local.get 0 local.get 1 f32.gt i32.add
    local.get 0 local.get 1 f32.le i32.add local.get 0 local.get 1 f32.ge i32.add)
  (func (param f64 f64) (result i32)
    local.get 0 local.get 1 f64.eq local.get 0 local.get 1 f64.ne i32.add
    local.get 0 local.get 1 f64.lt i32.add local.get 0 local.get 1 f64.gt i32.add
    local.get 0 local.get 1 f64.le i32.add local.get 0 local.get 1 f64.ge i32.add)
  (func (param i32) (result i32) local.get 0 i32.clz local.get 0 i32.ctz i32.add
    local.get 0 i32.popcnt i32.add)
  (func (param i64) (result i64) local.get 0 i64.clz local.get 0 i64.ctz i64.add
    local.get 0 i64.popcnt i64.add)
  (func (param i32 i64) (result f64)
    local.get 0 f64.convert_i32_s local.get 0 f64.convert_i32_u f64.add
    local.get 1 f64.convert_i64_s f64.add local.get 1 f64.convert_i64_u f64.add)
  (func (param i32 i64) (result f32)
    local.get 0 f32.convert_i32_s local.get 0 f32.convert_i32_u f32.add
    local.get 1 f32.convert_i64_s f32.add local.get 1 f32.convert_i64_u f32.add)
  (func (param f32 f64) (result i32)
    local.get 0 i32.trunc_f32_s local.get 0 i32.trunc_f32_u i32.add
    local.get 1 i32.trunc_f64_s i32.add local.get 1 i32.trunc_f64_u i32.add
    local.get 0 i32.trunc_sat_f32_s i32.add local.get 0 i32.trunc_sat_f32_u i32.add
    local.get 1 i32.trunc_sat_f64_s i32.add local.get 1 i32.trunc_sat_f64_u i32.add)
  (func (param f32 f64) (result i64)
    local.get 0 i64.trunc_f32_s local.get 0 i64.trunc_f32_u i64.add
    local.get 1 i64.trunc_f64_s i64.add local.get 1 i64.trunc_f64_u i64.add
    local.get 0 i64.trunc_sat_f32_s i64.add local.get 0 i64.trunc_sat_f32_u i64.add
    local.get 1 i64.trunc_sat_f64_s i64.add local.get 1 i64.trunc_sat_f64_u i64.add)
  (func (param f64) (result f32) local.get 0 f32.demote_f64)
  (func (param f32) (result f64) local.get 0 f64.promote_f32)
  (func (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s local.get 0 local.get 1 i32.div_u i32.add
    local.get 0 local.get 1 i32.rem_s i32.add local.get 0 local.get 1 i32.rem_u i32.add)
  (func (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.div_s local.get 0 local.get 1 i64.div_u i64.add
    local.get 0 local.get 1 i64.rem_s i64.add local.get 0 local.get 1 i64.rem_u i64.add)
  (func (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.or local.get 0 local.get 1 i64.and i64.xor
    local.get 0 local.get 1 i64.mul i64.xor local.get 0 local.get 1 i64.shl i64.xor
    local.get 0 local.get 1 i64.shr_s i64.xor local.get 0 local.get 1 i64.shr_u i64.xor)
  (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.swizzle)
  (func (result i32) i32.const 0x12345678)
  (func (result i64) i64.const 0x0102030405060708)
  (func (result f32) f32.const 1.5)
  (func (result f64) f64.const 3.141592653589793))
"#;

fn to_wasm(text: &str) -> Vec<u8> {
    wat_to_wasm(text.as_bytes()).expect("valid wat")
}

/// Options for `arch` at its baseline CPU (riscv64 with the vector extension, so SIMD
/// compiles).
fn opts(arch: Arch, xip: bool, intrinsics: Option<IntrinsicSet>) -> CompileOptions {
    let mode = if xip {
        CompileOptions::xip()
    } else {
        CompileOptions::default()
    };
    let cpu_features = if arch == Arch::Riscv64 {
        vec!["+v".to_string()]
    } else {
        Vec::new()
    };
    CompileOptions {
        cpu: Some("generic".into()),
        arch,
        intrinsics,
        cpu_features,
        ..mode
    }
}

/// Every builtin an intrinsic calls.
fn intrinsic_builtins() -> Vec<Builtin> {
    INTRINSICS
        .iter()
        .filter_map(|i| match i.capability {
            Capability::Call(b) => Some(b),
            Capability::Const(_) => None,
        })
        .collect()
}

fn set(list: &str) -> IntrinsicSet {
    IntrinsicSet::parse(list).expect("valid intrinsic list")
}

/// The builtin names the written file lists (what the loader sees: each once, by index).
fn file_builtins(m: &AotModule) -> Vec<String> {
    let bytes = m.write().expect("writable module");
    let file = aotc_format::AotFile::parse(&bytes).expect("valid file");
    file.builtins().map(|(_, name)| name.to_string()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_intrinsic_is_a_call_without_relocations_in_xip() {
    let wasm = to_wasm(EVERY_OP);
    let all = intrinsic_builtins();
    assert_eq!(all.len(), INTRINSICS.len() - 4);
    for arch in Arch::ALL {
        let m = compile(&wasm, &opts(arch, true, Some(IntrinsicSet::all())))
            .unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        assert_eq!(m.intrinsics, IntrinsicSet::all(), "{arch:?}");
        for b in &all {
            assert!(m.builtins.contains(b), "{arch:?}: {b:?} not called");
        }
        // The four constants of the module, each in its own slot.
        assert_eq!(m.constants.len(), 4, "{arch:?}");
        let bytes = m.write().unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        let file = aotc_format::AotFile::parse(&bytes).unwrap();
        assert_eq!(file.intrinsics(), IntrinsicSet::all());
        assert_eq!(file.constants().len(), 4);
        assert_eq!(file.builtins().count(), all.len());
    }

    // Normal mode takes no intrinsic set (as wamrc, which applies one only to indirect code);
    // what the ISA forces is still called through relocations (`tests/compile.rs`).
    let normal = opts(Arch::X86_64, false, Some(IntrinsicSet::all()));
    assert_eq!(
        compile(&wasm, &normal).unwrap_err(),
        CompileError::Options(OptionsError::IntrinsicsWithoutIndirectCalls)
    );
    assert_eq!(
        compile_object(&wasm, &normal).unwrap_err(),
        CompileError::Options(OptionsError::IntrinsicsWithoutIndirectCalls)
    );
}

#[test]
fn without_intrinsics_operations_are_native() {
    let wasm = to_wasm(EVERY_OP);
    for arch in [Arch::Aarch64, Arch::Riscv64, Arch::S390x] {
        let m = compile(&wasm, &opts(arch, true, None)).unwrap();
        assert!(m.builtins.is_empty(), "{arch:?}: {:?}", m.builtins);
        assert!(m.constants.is_empty() && m.intrinsics.is_empty());
    }
    // Baseline x86_64: only the rounding and byte shuffles the ISA cannot do, even with an
    // empty explicit set.
    let m = compile(&wasm, &opts(Arch::X86_64, true, Some(IntrinsicSet::EMPTY))).unwrap();
    let mut builtins = m.builtins.clone();
    builtins.sort_by_key(|b| b.name());
    assert_eq!(
        builtins,
        [
            Builtin::f32_ceil,
            Builtin::f32_floor,
            Builtin::f32_nearest,
            Builtin::f32_trunc,
            Builtin::f64_ceil,
            Builtin::f64_floor,
            Builtin::f64_nearest,
            Builtin::f64_trunc,
            Builtin::i8x16_swizzle_half,
        ]
    );
    assert_eq!(
        m.intrinsics,
        set(
            "llvm.ceil.f32,llvm.floor.f32,llvm.trunc.f32,llvm.rint.f32,llvm.ceil.f64,llvm.floor.f64,llvm.trunc.f64,llvm.rint.f64,i8x16.swizzle"
        )
    );
    assert!(m.relocs.is_empty());
}

#[test]
fn one_intrinsic_calls_only_its_builtin() {
    let wasm = to_wasm(EVERY_OP);
    let mut o = opts(Arch::Aarch64, true, Some(set("i64.div_s")));
    let m = compile(&wasm, &o).unwrap();
    assert_eq!(file_builtins(&m), ["i64_div_s"]);
    // Saturating and trapping truncations use the comparison intrinsic for their checks when
    // it is enabled.
    o.intrinsics = Some(set("i32_trunc_f64_u,f64_cmp"));
    let m = compile(&wasm, &o).unwrap();
    assert_eq!(file_builtins(&m), ["i32_trunc_f64_u", "f64_cmp"]);
    o.intrinsics = Some(set("i32_trunc_f64_u"));
    let m = compile(&wasm, &o).unwrap();
    assert_eq!(file_builtins(&m), ["i32_trunc_f64_u"]);
}

#[test]
fn constop_loads_constants_from_the_table_in_target_byte_order() {
    let wasm = to_wasm(
        r#"(module
          (func (export "a") (result i32) i32.const 0x12345678)
          (func (export "b") (result i32) i32.const 0x12345678 i32.const 0x12345678 i32.add)
          (func (export "c") (result f64) f64.const 3.141592653589793)
          (func (export "d") (result i64) i64.const 0x0102030405060708)
          (func (export "e") (result i32) i32.const 2047 i32.const -2048 i32.add)
          (func (export "f") (result i64) i64.const -2048))"#,
    );
    let pi = std::f64::consts::PI.to_bits();
    for arch in Arch::ALL {
        let m = compile(&wasm, &opts(arch, true, Some(set("constop"))))
            .unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        assert!(m.builtins.is_empty(), "{arch:?}");
        let (i32_slot, pi_slot, i64_slot) = if arch == Arch::S390x {
            let mut a = [0u8; 8];
            a[..4].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            (a, pi.to_be_bytes(), 0x0102_0304_0506_0708u64.to_be_bytes())
        } else {
            let mut a = [0u8; 8];
            a[..4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
            (a, pi.to_le_bytes(), 0x0102_0304_0506_0708u64.to_le_bytes())
        };
        // Deduplicated, in order of first appearance; the integers a 12-bit signed immediate
        // holds stay immediates.
        assert_eq!(m.constants, [i32_slot, pi_slot, i64_slot], "{arch:?}");
        // The values are not in the text.
        assert!(!contains(&m.text, &i32_slot[..4]), "{arch:?}");
        assert!(!contains(&m.text, &pi_slot), "{arch:?}");
        let bytes = m.write().unwrap();
        let file = aotc_format::AotFile::parse(&bytes).unwrap();
        assert_eq!(file.constants(), &m.constants[..]);
    }
    // Without constop x86_64 has both values in its text (immediate, constant pool): the
    // check above is meaningful.
    let m = compile(&wasm, &opts(Arch::X86_64, true, None)).unwrap();
    assert!(m.constants.is_empty());
    assert!(contains(&m.text, &0x1234_5678u32.to_le_bytes()));
    assert!(contains(&m.text, &pi.to_le_bytes()));

    // Only the enabled kinds go to the table.
    let m = compile(&wasm, &opts(Arch::S390x, true, Some(set("f64.const")))).unwrap();
    assert_eq!(m.constants, [pi.to_be_bytes()]);

    // An object file carries the table as the data symbol `aotc_constants`.
    let obj = compile_object(&wasm, &opts(Arch::Aarch64, true, Some(set("constop")))).unwrap();
    assert!(contains(&obj, b"aotc_constants"));
    assert!(contains(&obj, &pi.to_le_bytes()));
    let obj = compile_object(&wasm, &opts(Arch::Aarch64, true, None)).unwrap();
    assert!(!contains(&obj, b"aotc_constants"));
}

#[test]
fn effective_intrinsics_defaults_per_target() {
    let rounding = set("llvm.ceil.f32,llvm.floor.f32,llvm.trunc.f32,llvm.rint.f32,\
         llvm.ceil.f64,llvm.floor.f64,llvm.trunc.f64,llvm.rint.f64");
    let effective = |arch, xip, cpu: Option<&str>, features: &[&str], explicit| {
        let mut o = opts(arch, xip, explicit);
        if let Some(cpu) = cpu {
            o.cpu = Some(cpu.into());
        }
        o.cpu_features = features.iter().map(|f| f.to_string()).collect();
        effective_intrinsics(&o).unwrap_or_else(|e| panic!("{arch:?}: {e}"))
    };
    let swizzle = set("i8x16.swizzle");
    let baseline = rounding.union(swizzle);
    // The documented --xip defaults.
    assert_eq!(effective(Arch::X86_64, true, None, &[], None), baseline);
    assert_eq!(
        effective(Arch::X86_64, true, None, &["+sse4.1"], None),
        swizzle
    );
    assert_eq!(
        effective(Arch::X86_64, true, None, &["+sse4.1", "+ssse3"], None),
        IntrinsicSet::EMPTY
    );
    assert_eq!(
        effective(Arch::X86_64, true, Some("x86-64-v3"), &[], None),
        IntrinsicSet::EMPTY
    );
    assert_eq!(
        effective(Arch::X86_64, true, Some("x86-64-v3"), &["-sse4.1"], None),
        rounding
    );
    for arch in [Arch::Aarch64, Arch::Riscv64, Arch::S390x] {
        assert_eq!(
            effective(arch, true, None, &[], None),
            IntrinsicSet::EMPTY,
            "{arch:?}"
        );
    }
    assert_eq!(
        effective(Arch::Riscv64, true, None, &["+zbb"], None),
        IntrinsicSet::EMPTY
    );
    assert_eq!(
        effective(Arch::S390x, true, Some("z15"), &[], None),
        IntrinsicSet::EMPTY
    );
    // Indirect mode without XIP has the same default.
    let mut o = opts(Arch::X86_64, false, None);
    o.indirect = true;
    assert_eq!(effective_intrinsics(&o).unwrap(), baseline);
    // Normal mode: only what the ISA forces.
    assert_eq!(effective(Arch::X86_64, false, None, &[], None), baseline);
    assert_eq!(
        effective(Arch::Aarch64, false, None, &[], None),
        IntrinsicSet::EMPTY
    );
    // An explicit set replaces the default; forced intrinsics stay.
    let constop = set("constop");
    assert_eq!(
        effective(Arch::X86_64, true, None, &[], Some(constop)),
        constop.union(baseline)
    );
    assert_eq!(
        effective(
            Arch::X86_64,
            true,
            None,
            &["+sse4.1", "+ssse3"],
            Some(constop)
        ),
        constop
    );
    assert_eq!(
        effective(Arch::Riscv64, true, None, &[], Some(IntrinsicSet::all())),
        IntrinsicSet::all()
    );
    // Target errors are reported, not defaulted.
    let mut o = opts(Arch::Riscv64, true, None);
    o.cpu_features = vec!["-g".into()];
    assert!(matches!(
        effective_intrinsics(&o),
        Err(CompileError::Target(_))
    ));
}

#[test]
fn intrinsic_output_is_deterministic_across_thread_counts() {
    let mut text = String::from("(module\n");
    for i in 0..48 {
        text.push_str(&format!(
            "(func (export \"f{i}\") (param f64 i64) (result f64)
               local.get 0 f64.const {i}.25 f64.add f64.floor
               local.get 1 i64.const {} i64.div_s f64.convert_i64_s f64.mul)\n",
            i * 7 + 1
        ));
    }
    text.push(')');
    let wasm = to_wasm(&text);
    for arch in Arch::ALL {
        let o = opts(arch, true, Some(IntrinsicSet::all()));
        let reference = compile(&wasm, &o).unwrap().write().unwrap();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let again = pool.install(|| compile(&wasm, &o).unwrap().write().unwrap());
            assert!(
                again == reference,
                "{arch:?} with {threads} threads differs"
            );
        }
    }
}

#[test]
fn a_sum_of_an_intrinsic_product_is_one_mul_add_call() {
    let sums = to_wasm(
        r#"(module
          (func (param f64 f64 f64) (result f64)
            (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
          (func (param f32 f32 f32) (result f32)
            (f32.sub (local.get 2) (f32.mul (local.get 0) (local.get 1)))))"#,
    );
    for arch in Arch::ALL {
        let m = compile(&sums, &opts(arch, true, Some(IntrinsicSet::all()))).unwrap();
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        let mut builtins = file_builtins(&m);
        builtins.sort();
        assert_eq!(
            builtins,
            ["f32_mul_add", "f64_mul_add"],
            "{arch:?}: the products' own calls are gone"
        );
    }
    // A product used by other than a sum keeps its call; a sum that is native does not fuse.
    let reused = to_wasm(
        r#"(module
          (func (param f64 f64 f64) (result f64) (local f64)
            (f64.div
              (f64.sub (local.tee 3 (f64.mul (local.get 0) (local.get 1))) (local.get 2))
              (local.get 3))))"#,
    );
    let m = compile(
        &reused,
        &opts(Arch::Aarch64, true, Some(IntrinsicSet::all())),
    )
    .unwrap();
    let mut builtins = file_builtins(&m);
    builtins.sort();
    assert_eq!(builtins, ["f64_div", "f64_mul", "f64_mul_add"]);
    let only_mul = set("llvm.experimental.constrained.fmul.f64");
    let m = compile(&sums, &opts(Arch::Aarch64, true, Some(only_mul))).unwrap();
    assert_eq!(file_builtins(&m), ["f64_mul"]);
}

#[test]
fn a_comparison_of_an_intrinsic_absolute_value_is_one_cmp_call() {
    // The guard clang puts before every float-to-int conversion without the non-trapping
    // conversions: `|x| < 2^31`.
    let guard = to_wasm(
        r#"(module
          (func (param f64) (result i32)
            (f64.lt (f64.abs (local.get 0)) (f64.const 2147483648)))
          (func (param f32 f32) (result i32)
            (f32.ne (f32.abs (local.get 0)) (f32.abs (local.get 1)))))"#,
    );
    for arch in Arch::ALL {
        let m = compile(&guard, &opts(arch, true, Some(IntrinsicSet::all()))).unwrap();
        assert!(m.relocs.is_empty(), "{arch:?}: {:?}", m.relocs);
        let mut builtins = file_builtins(&m);
        builtins.sort();
        assert_eq!(builtins, ["f32_cmp", "f64_cmp"], "{arch:?}");
    }
    // Without the comparison intrinsic, `abs` stays a call of its own.
    let m = compile(
        &guard,
        &opts(Arch::Aarch64, true, Some(set("llvm.fabs.f64"))),
    )
    .unwrap();
    assert!(
        file_builtins(&m).contains(&"f64_abs".to_string()),
        "{:?}",
        file_builtins(&m)
    );
}

#[test]
fn an_identity_constant_folds_its_operation_away() {
    // `x | 0`, `-1 & x` and `x << 0`, i64 operations that are intrinsics: no call (the
    // constants are immediates, even with constop); `x | 1` still calls.
    let wasm = to_wasm(
        r#"(module
          (func (param i64) (result i64)
            (i64.shl (i64.and (i64.const -1) (i64.or (local.get 0) (i64.const 0)))
              (i64.const 0)))
          (func (param i64) (result i64) (i64.or (local.get 0) (i64.const 1))))"#,
    );
    for arch in Arch::ALL {
        let m = compile(&wasm, &opts(arch, true, Some(IntrinsicSet::all()))).unwrap();
        assert_eq!(file_builtins(&m), ["i64_or"], "{arch:?}");
    }
}
