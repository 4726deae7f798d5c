//! Differential test of the intrinsic library: one wasm module exporting a function per
//! operation that has an intrinsic (and per `*.const` kind), compiled twice, natively
//! (`CompileOptions` with the host CPU: Cranelift's instructions) and as XIP with every intrinsic
//! (`IntrinsicSet::all()`: every such operation calls `aotc-intrinsics` through the builtin
//! table and every constant is loaded from the constant table), then called on edge cases and
//! on pseudo-random inputs. Results must be identical bit for bit, except that where the native
//! result is a NaN the intrinsic one must be an arithmetic NaN, canonical if the native one is;
//! traps must have identical codes.

mod support;

use std::fmt::Write as _;
use std::sync::LazyLock;

use aotc_abi::Builtin;
use aotc_abi::builtins::BuiltinType;
use aotc_abi::intrinsics::{ConstOp, IntrinsicSet};
use aotc_loader::{Func, Instance, Module, Trap, Val};
use aotc_translate::{CompileOptions, effective_intrinsics};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ty {
    I32,
    I64,
    F32,
    F64,
}

impl Ty {
    fn wat(self) -> &'static str {
        match self {
            I32 => "i32",
            I64 => "i64",
            F32 => "f32",
            F64 => "f64",
        }
    }
}

/// An operation under test: the instruction (also the export name), its operand and result
/// types, and whether results must match bit for bit even when they are NaNs (`abs` and
/// `copysign` are bit operations).
struct Op {
    instr: &'static str,
    params: &'static [Ty],
    result: Ty,
    exact: bool,
}

const fn op(instr: &'static str, params: &'static [Ty], result: Ty) -> Op {
    Op {
        instr,
        params,
        result,
        exact: false,
    }
}

const fn exact(instr: &'static str, params: &'static [Ty], result: Ty) -> Op {
    Op {
        instr,
        params,
        result,
        exact: true,
    }
}

use Ty::{F32, F64, I32, I64};

const FLOAT_OPS: &[Op] = &[
    op("f32.add", &[F32, F32], F32),
    op("f32.sub", &[F32, F32], F32),
    op("f32.mul", &[F32, F32], F32),
    op("f32.div", &[F32, F32], F32),
    op("f32.min", &[F32, F32], F32),
    op("f32.max", &[F32, F32], F32),
    exact("f32.copysign", &[F32, F32], F32),
    exact("f32.abs", &[F32], F32),
    op("f32.ceil", &[F32], F32),
    op("f32.floor", &[F32], F32),
    op("f32.trunc", &[F32], F32),
    op("f32.nearest", &[F32], F32),
    op("f32.sqrt", &[F32], F32),
    op("f64.add", &[F64, F64], F64),
    op("f64.sub", &[F64, F64], F64),
    op("f64.mul", &[F64, F64], F64),
    op("f64.div", &[F64, F64], F64),
    op("f64.min", &[F64, F64], F64),
    op("f64.max", &[F64, F64], F64),
    exact("f64.copysign", &[F64, F64], F64),
    exact("f64.abs", &[F64], F64),
    op("f64.ceil", &[F64], F64),
    op("f64.floor", &[F64], F64),
    op("f64.trunc", &[F64], F64),
    op("f64.nearest", &[F64], F64),
    op("f64.sqrt", &[F64], F64),
];

/// Operations on an intrinsic's result that XIP with every intrinsic compiles as one call
/// (export name, parameter types, result type, body over the parameters and one local of the
/// first parameter's type, numbered after them): sums and differences of products (`*_mul_add`; the last keeps its
/// product's own call for a second use) and comparisons of absolute values (`*_cmp` with an
/// `ABS_*` flag; the last keeps its `abs` call).
const FUSED_OPS: &[(&str, &[Ty], Ty, &str)] = &[
    (
        "f32.mul_add",
        &[F32, F32, F32],
        F32,
        "(f32.add (f32.mul (local.get 0) (local.get 1)) (local.get 2))",
    ),
    (
        "f32.add_mul",
        &[F32, F32, F32],
        F32,
        "(f32.add (local.get 2) (f32.mul (local.get 0) (local.get 1)))",
    ),
    (
        "f32.mul_sub",
        &[F32, F32, F32],
        F32,
        "(f32.sub (f32.mul (local.get 0) (local.get 1)) (local.get 2))",
    ),
    (
        "f32.sub_mul",
        &[F32, F32, F32],
        F32,
        "(f32.sub (local.get 2) (f32.mul (local.get 0) (local.get 1)))",
    ),
    (
        "f64.mul_add",
        &[F64, F64, F64],
        F64,
        "(f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2))",
    ),
    (
        "f64.add_mul",
        &[F64, F64, F64],
        F64,
        "(f64.add (local.get 2) (f64.mul (local.get 0) (local.get 1)))",
    ),
    (
        "f64.mul_sub",
        &[F64, F64, F64],
        F64,
        "(f64.sub (f64.mul (local.get 0) (local.get 1)) (local.get 2))",
    ),
    (
        "f64.sub_mul",
        &[F64, F64, F64],
        F64,
        "(f64.sub (local.get 2) (f64.mul (local.get 0) (local.get 1)))",
    ),
    (
        "f64.mul_add_reused",
        &[F64, F64, F64],
        F64,
        "(f64.div (f64.add (local.tee 3 (f64.mul (local.get 0) (local.get 1))) (local.get 2)) \
         (local.get 3))",
    ),
    (
        "f32.abs_lt",
        &[F32, F32],
        I32,
        "(f32.lt (f32.abs (local.get 0)) (local.get 1))",
    ),
    (
        "f32.ge_abs",
        &[F32, F32],
        I32,
        "(f32.ge (local.get 0) (f32.abs (local.get 1)))",
    ),
    (
        "f64.abs_lt",
        &[F64, F64],
        I32,
        "(f64.lt (f64.abs (local.get 0)) (local.get 1))",
    ),
    (
        "f64.abs_ne_abs",
        &[F64, F64],
        I32,
        "(f64.ne (f64.abs (local.get 0)) (f64.abs (local.get 1)))",
    ),
    (
        "f64.abs_eq_reused",
        &[F64, F64],
        I32,
        "(i32.add (f64.eq (local.tee 2 (f64.abs (local.get 0))) (local.get 1)) \
         (i32.reinterpret_f32 (f32.demote_f64 (local.get 2))))",
    ),
];

/// Integer operations with a constant operand, in the same form as [`FUSED_OPS`] (one
/// parameter): with the constant its identity (`x + 0`, `x * 1`, `-1 & x`, `x >> 0`...) an i64
/// operation that is an intrinsic makes no call; beside them the same constants where they are
/// not an identity (`0 - x`, `0 << x`, `1 - x`), and constants at both edges of the range
/// `constop` leaves as immediates (2047 and -2048 inside, 2048 and -2049 loaded).
const IDENTITY_CONSTANTS: &[(&str, &[Ty], Ty, &str)] = &[
    (
        "i32.add_0",
        &[I32],
        I32,
        "(i32.add (local.get 0) (i32.const 0))",
    ),
    (
        "i32.0_or",
        &[I32],
        I32,
        "(i32.or (i32.const 0) (local.get 0))",
    ),
    (
        "i32.mul_1",
        &[I32],
        I32,
        "(i32.mul (i32.const 1) (local.get 0))",
    ),
    (
        "i32.and_-1",
        &[I32],
        I32,
        "(i32.and (local.get 0) (i32.const -1))",
    ),
    (
        "i32.shr_s_0",
        &[I32],
        I32,
        "(i32.shr_s (local.get 0) (i32.const 0))",
    ),
    (
        "i32.0_sub",
        &[I32],
        I32,
        "(i32.sub (i32.const 0) (local.get 0))",
    ),
    (
        "i32.0_shl",
        &[I32],
        I32,
        "(i32.shl (i32.const 0) (local.get 0))",
    ),
    (
        "i64.xor_0",
        &[I64],
        I64,
        "(i64.xor (i64.const 0) (local.get 0))",
    ),
    (
        "i64.or_0",
        &[I64],
        I64,
        "(i64.or (local.get 0) (i64.const 0))",
    ),
    (
        "i64.-1_and",
        &[I64],
        I64,
        "(i64.and (i64.const -1) (local.get 0))",
    ),
    (
        "i64.and_0xffffffff",
        &[I64],
        I64,
        "(i64.and (local.get 0) (i64.const 0xffffffff))",
    ),
    (
        "i64.mul_1",
        &[I64],
        I64,
        "(i64.mul (local.get 0) (i64.const 1))",
    ),
    (
        "i64.shl_0",
        &[I64],
        I64,
        "(i64.shl (local.get 0) (i64.const 0))",
    ),
    (
        "i64.rotr_0",
        &[I64],
        I64,
        "(i64.rotr (local.get 0) (i64.const 0))",
    ),
    (
        "i64.1_sub",
        &[I64],
        I64,
        "(i64.sub (i64.const 1) (local.get 0))",
    ),
    (
        "i64.0_shr_u",
        &[I64],
        I64,
        "(i64.shr_u (i64.const 0) (local.get 0))",
    ),
    (
        "i32.add_edges",
        &[I32],
        I32,
        "(i32.xor (i32.add (local.get 0) (i32.const 2047)) \
         (i32.mul (local.get 0) (i32.const 2048)))",
    ),
    (
        "i32.sub_edges",
        &[I32],
        I32,
        "(i32.sub (i32.const -2048) (i32.and (local.get 0) (i32.const -2049)))",
    ),
    (
        "i64.mul_edges",
        &[I64],
        I64,
        "(i64.xor (i64.mul (local.get 0) (i64.const -2049)) \
         (i64.or (local.get 0) (i64.const 2047)))",
    ),
    (
        "i64.shl_edges",
        &[I64],
        I64,
        "(i64.add (i64.shl (local.get 0) (i64.const 2048)) (i64.const -2048))",
    ),
];

const COMPARISONS: &[Op] = &[
    op("f32.eq", &[F32, F32], I32),
    op("f32.ne", &[F32, F32], I32),
    op("f32.lt", &[F32, F32], I32),
    op("f32.gt", &[F32, F32], I32),
    op("f32.le", &[F32, F32], I32),
    op("f32.ge", &[F32, F32], I32),
    op("f64.eq", &[F64, F64], I32),
    op("f64.ne", &[F64, F64], I32),
    op("f64.lt", &[F64, F64], I32),
    op("f64.gt", &[F64, F64], I32),
    op("f64.le", &[F64, F64], I32),
    op("f64.ge", &[F64, F64], I32),
];

const CONVERSIONS: &[Op] = &[
    op("f32.demote_f64", &[F64], F32),
    op("f64.promote_f32", &[F32], F64),
    op("f32.convert_i32_s", &[I32], F32),
    op("f32.convert_i32_u", &[I32], F32),
    op("f32.convert_i64_s", &[I64], F32),
    op("f32.convert_i64_u", &[I64], F32),
    op("f64.convert_i32_s", &[I32], F64),
    op("f64.convert_i32_u", &[I32], F64),
    op("f64.convert_i64_s", &[I64], F64),
    op("f64.convert_i64_u", &[I64], F64),
];

const TRUNCATIONS: &[Op] = &[
    op("i32.trunc_f32_s", &[F32], I32),
    op("i32.trunc_f32_u", &[F32], I32),
    op("i32.trunc_f64_s", &[F64], I32),
    op("i32.trunc_f64_u", &[F64], I32),
    op("i64.trunc_f32_s", &[F32], I64),
    op("i64.trunc_f32_u", &[F32], I64),
    op("i64.trunc_f64_s", &[F64], I64),
    op("i64.trunc_f64_u", &[F64], I64),
    op("i32.trunc_sat_f32_s", &[F32], I32),
    op("i32.trunc_sat_f32_u", &[F32], I32),
    op("i32.trunc_sat_f64_s", &[F64], I32),
    op("i32.trunc_sat_f64_u", &[F64], I32),
    op("i64.trunc_sat_f32_s", &[F32], I64),
    op("i64.trunc_sat_f32_u", &[F32], I64),
    op("i64.trunc_sat_f64_s", &[F64], I64),
    op("i64.trunc_sat_f64_u", &[F64], I64),
];

const INTEGER_OPS: &[Op] = &[
    op("i32.clz", &[I32], I32),
    op("i32.ctz", &[I32], I32),
    op("i32.popcnt", &[I32], I32),
    op("i32.div_s", &[I32, I32], I32),
    op("i32.div_u", &[I32, I32], I32),
    op("i32.rem_s", &[I32, I32], I32),
    op("i32.rem_u", &[I32, I32], I32),
    op("i64.clz", &[I64], I64),
    op("i64.ctz", &[I64], I64),
    op("i64.popcnt", &[I64], I64),
    op("i64.div_s", &[I64, I64], I64),
    op("i64.div_u", &[I64, I64], I64),
    op("i64.rem_s", &[I64, I64], I64),
    op("i64.rem_u", &[I64, I64], I64),
    op("i64.or", &[I64, I64], I64),
    op("i64.and", &[I64, I64], I64),
    op("i64.mul", &[I64, I64], I64),
    op("i64.shl", &[I64, I64], I64),
    op("i64.shr_s", &[I64, I64], I64),
    op("i64.shr_u", &[I64, I64], I64),
];

/// Functions returning constants: (export name, result type, constant as written in WAT).
const CONSTANTS: &[(&str, Ty, &str)] = &[
    ("c.i32.zero", I32, "0"),
    ("c.i32.minus_one", I32, "-1"),
    ("c.i32.min", I32, "0x80000000"),
    ("c.i32.some", I32, "0x12345678"),
    ("c.i64.zero", I64, "0"),
    ("c.i64.min", I64, "0x8000000000000000"),
    ("c.i64.some", I64, "0x123456789abcdef0"),
    ("c.i64.minus_two", I64, "-2"),
    ("c.i32.inline_max", I32, "2047"),
    ("c.i32.loaded_min", I32, "-2049"),
    ("c.i64.inline_min", I64, "-2048"),
    ("c.i64.loaded_max", I64, "2048"),
    ("c.f32.neg_zero", F32, "-0x0p+0"),
    ("c.f32.one_and_a_half", F32, "1.5"),
    ("c.f32.neg_inf", F32, "-inf"),
    ("c.f32.nan", F32, "nan"),
    ("c.f32.neg_nan", F32, "-nan"),
    ("c.f32.nan_payload", F32, "nan:0x200001"),
    ("c.f32.snan", F32, "nan:0x1"),
    ("c.f32.neg_snan", F32, "-nan:0x12345"),
    ("c.f32.min_subnormal", F32, "0x1p-149"),
    ("c.f64.neg_zero", F64, "-0x0p+0"),
    ("c.f64.pi", F64, "3.141592653589793"),
    ("c.f64.inf", F64, "inf"),
    ("c.f64.nan", F64, "nan"),
    ("c.f64.nan_payload", F64, "nan:0x8000000000001"),
    ("c.f64.snan", F64, "nan:0x1"),
    ("c.f64.neg_snan", F64, "-nan:0x4000000000000"),
    ("c.f64.max", F64, "0x1.fffffffffffffp+1023"),
];

/// The expected bits of [`CONSTANTS`], in order (checked against both compilations).
const CONSTANT_BITS: &[u64] = &[
    0,
    0xffff_ffff,
    0x8000_0000,
    0x1234_5678,
    0,
    0x8000_0000_0000_0000,
    0x1234_5678_9abc_def0,
    0xffff_ffff_ffff_fffe,
    2047,
    0xffff_f7ff,
    0xffff_ffff_ffff_f800,
    2048,
    0x8000_0000,
    0x3fc0_0000,
    0xff80_0000,
    0x7fc0_0000,
    0xffc0_0000,
    0x7fa0_0001,
    0x7f80_0001,
    0xff81_2345,
    0x0000_0001,
    0x8000_0000_0000_0000,
    0x4009_21fb_5444_2d18,
    0x7ff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0x7ff8_0000_0000_0001,
    0x7ff0_0000_0000_0001,
    0xfff4_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
];

fn all_ops() -> impl Iterator<Item = &'static Op> {
    FLOAT_OPS
        .iter()
        .chain(COMPARISONS)
        .chain(CONVERSIONS)
        .chain(TRUNCATIONS)
        .chain(INTEGER_OPS)
}

fn module_wat() -> String {
    let mut wat = String::from("(module\n");
    for op in all_ops() {
        let params: String = op.params.iter().map(|t| format!(" {}", t.wat())).collect();
        let operands: String = (0..op.params.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        writeln!(
            wat,
            "  (func (export \"{}\") (param{params}) (result {}) ({}{operands}))",
            op.instr,
            op.result.wat(),
            op.instr
        )
        .unwrap();
    }
    for (name, ty, value) in CONSTANTS {
        let t = ty.wat();
        writeln!(
            wat,
            "  (func (export \"{name}\") (result {t}) ({t}.const {value}))"
        )
        .unwrap();
    }
    for (name, params, result, body) in FUSED_OPS.iter().chain(IDENTITY_CONSTANTS) {
        let local = params[0].wat();
        let params: String = params.iter().map(|t| format!(" {}", t.wat())).collect();
        writeln!(
            wat,
            "  (func (export \"{name}\") (param{params}) (result {}) (local {local}) {body})",
            result.wat()
        )
        .unwrap();
    }
    // Constants inside expressions, and one used twice (a single table slot suffices).
    wat.push_str(
        "  (func (export \"c.expr\") (param i64) (result i64)\n    \
         (i64.xor (i64.add (local.get 0) (i64.const 0x0123456789abcdef)) (i64.const 0x0123456789abcdef)))\n  \
         (func (export \"c.fexpr\") (param f64) (result f64)\n    \
         (f64.mul (f64.add (local.get 0) (f64.const 0.1)) (f64.const -0.0)))\n",
    );
    // The byte shuffles `i8x16_swizzle_half` serves.
    wat.push_str(
        "  (func (export \"i8x16.swizzle\") (param v128 v128) (result v128)\n    \
         (i8x16.swizzle (local.get 0) (local.get 1)))\n  \
         (func (export \"i8x16.shuffle\") (param v128 v128) (result v128)\n    \
         (i8x16.shuffle 31 0 17 2 16 5 6 7 30 9 10 11 12 13 14 15 (local.get 0) (local.get 1)))\n",
    );
    wat.push(')');
    wat
}

/// The native and the all-intrinsics XIP compilation of [`module_wat`], loaded.
struct Compiled {
    native: Module,
    xip: Module,
    /// The intrinsics the native compilation could not avoid (x86-64 without SSE4.1: rounding).
    native_intrinsics: IntrinsicSet,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let native_options = CompileOptions {
        cpu: Some("native".into()),
        ..CompileOptions::default()
    };
    let xip_options = CompileOptions {
        intrinsics: Some(IntrinsicSet::all()),
        ..CompileOptions::xip()
    };
    let wat = module_wat();
    let load = |options: &CompileOptions| support::load_wat(&wat, options);
    Compiled {
        native: load(&native_options),
        xip: load(&xip_options),
        native_intrinsics: effective_intrinsics(&native_options).expect("native target"),
    }
});

/// A builtin that is an intrinsic (takes no vmctx).
fn is_intrinsic(b: Builtin) -> bool {
    !b.params().contains(&BuiltinType::Vmctx)
}

#[test]
fn the_xip_file_calls_every_intrinsic_and_has_a_constant_table() {
    let c = &*COMPILED;
    let xip = c.xip.file();
    assert!(xip.is_xip());
    assert_eq!(xip.intrinsics(), IntrinsicSet::all());
    assert!(xip.relocs().is_empty());
    let listed: Vec<(u32, &str)> = xip.builtins().collect();
    for b in Builtin::ALL.iter().copied().filter(|b| is_intrinsic(*b)) {
        assert!(
            listed.contains(&(b.index(), b.name())),
            "the XIP file does not call intrinsic `{}`: {listed:?}",
            b.name()
        );
    }
    // Every constant but the small integers has its slot: the value at the start, in this
    // host's byte order. No slot holds a small integer (2047 and -2048 are nowhere else).
    let table = xip.constants();
    for ((name, ty, _), bits) in CONSTANTS.iter().zip(CONSTANT_BITS) {
        let mut slot = [0u8; 8];
        let (kind, value) = match ty {
            I32 => (ConstOp::I32, i64::from(*bits as u32 as i32)),
            I64 => (ConstOp::I64, *bits as i64),
            F32 => (ConstOp::F32, *bits as i64),
            F64 => (ConstOp::F64, *bits as i64),
        };
        match ty {
            I32 | F32 => slot[..4].copy_from_slice(&(*bits as u32).to_ne_bytes()),
            I64 | F64 => slot = bits.to_ne_bytes(),
        }
        if kind.loads_from_table(value) {
            assert!(table.contains(&slot), "no constant-table slot for {name}");
        } else if value == 2047 || value == -2048 {
            assert!(!table.contains(&slot), "{name} is in the constant table");
        }
    }

    // The native side uses native instructions (except what the target forces).
    let native = c.native.file();
    assert!(native.constants().is_empty());
    for (index, name) in native.builtins() {
        let b = Builtin::from_index(index).expect("known builtin");
        assert!(
            !is_intrinsic(b) || c.native_intrinsics.calls(b),
            "the native compilation calls intrinsic `{name}`"
        );
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn i32_specials() -> Vec<i32> {
    let mut v = vec![
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        7,
        -7,
        10,
        31,
        32,
        33,
        i32::MIN,
        i32::MAX,
        i32::MIN + 1,
        i32::MAX - 1,
        0xffff,
        0x1_0000,
        1 << 24,
        (1 << 24) + 1,
        (1 << 24) + 3,
        -(1 << 24) - 1,
        0x7fff_ff80,
        0x7fff_ffc0,
        0x5555_5555,
        0x1234_5678,
    ];
    v.extend([0x8000_0001u32 as i32, 0xffff_ff80u32 as i32]);
    v
}

fn i64_specials() -> Vec<i64> {
    let u = |x: u64| x as i64;
    vec![
        0,
        1,
        -1,
        2,
        -2,
        3,
        -7,
        63,
        64,
        65,
        127,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        i64::MAX - 1,
        1 << 31,
        1 << 32,
        (1 << 32) - 1,
        -(1 << 31),
        1 << 53,
        (1 << 53) + 1,
        (1 << 53) + 3,
        -(1 << 53) - 1,
        (1 << 24) + 1,
        u((1 << 63) + (1 << 39)),
        u((1 << 63) + (1 << 39) + 1),
        u((1 << 63) + (3 << 39)),
        u(u64::MAX - (1 << 39)),
        u(0xffff_ff7f_ffff_ffff),
        u(0xffff_ff80_0000_0000),
        u(0xffff_ffff_ffff_fbff),
        u(0xffff_ffff_ffff_fc00),
        0x0020_0000_2000_0001,
        0x7fff_ffff_ffff_fdff,
        0x7fff_ffff_ffff_fe00,
        0x1234_5678_9abc_def0,
    ]
}

const F32_SPECIAL_BITS: &[u32] = &[
    0x0000_0000,
    0x8000_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000, // canonical NaN
    0xffc0_0000, // canonical NaN, negative
    0x7fc0_0001, // quiet NaN with a payload
    0xffe1_2345,
    0x7f80_0001, // signalling NaNs
    0xffa0_0000,
    0x0000_0001, // subnormals
    0x807f_ffff,
    0x0080_0000, // MIN_POSITIVE
    0x7f7f_ffff, // MAX
    0xff7f_ffff,
    0x3f7f_ffff, // 0.99999994
    0xbf7f_ffff,
    0x3eff_ffff, // 0.49999997
];

const F32_SPECIAL_VALUES: &[f32] = &[
    0.5,
    -0.5,
    1.0,
    -1.0,
    1.5,
    -1.5,
    2.5,
    -2.5,
    3.5,
    -3.5,
    0.1,
    8_388_607.5,
    -8_388_607.5,
    8_388_608.0,
    16_777_215.0,
    16_777_216.0,
    2_147_483_520.0, // largest below 2^31
    2_147_483_648.0,
    -2_147_483_648.0,
    -2_147_483_904.0, // next below -2^31
    4_294_967_040.0,  // largest below 2^32
    4_294_967_296.0,
    9_223_371_487_098_961_920.0, // largest below 2^63
    9_223_372_036_854_775_808.0,
    -9_223_372_036_854_775_808.0,
    -9_223_373_136_366_403_584.0,
    18_446_742_974_197_923_840.0, // largest below 2^64
    18_446_744_073_709_551_616.0,
    1e30,
    -1e-30,
];

const F64_SPECIAL_BITS: &[u64] = &[
    0x0000_0000_0000_0000,
    0x8000_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000, // canonical NaN
    0xfff8_0000_0000_0000,
    0x7ff8_0000_0000_0001, // quiet NaN with a payload
    0xfffc_1234_5678_9abc,
    0x7ff8_0000_2000_0000, // payload that survives demotion
    0x7ff0_0000_0000_0001, // signalling NaNs
    0xfff4_0000_0000_0000,
    0x0000_0000_0000_0001, // subnormals
    0x800f_ffff_ffff_ffff,
    0x0010_0000_0000_0000, // MIN_POSITIVE
    0x7fef_ffff_ffff_ffff, // MAX
    0xffef_ffff_ffff_ffff,
    0x3fef_ffff_ffff_ffff, // 0.9999999999999999
    0x3fdf_ffff_ffff_ffff, // 0.49999999999999994
    0x36a0_0000_0000_0000, // 2^-149: smallest f32 subnormal
    0x3690_0000_0000_0000, // 2^-150: a tie when demoted
    0x3ff0_0000_1000_0000, // 1 + 2^-24: a tie when demoted
    0x3ff0_0000_3000_0000, // 1 + 3 * 2^-24
    0x47ef_ffff_f000_0000, // f32::MAX + half an ulp: a tie, to even: demotes to inf
    0x47ef_ffff_efff_ffff, // just below: demotes to f32::MAX
];

const F64_SPECIAL_VALUES: &[f64] = &[
    0.5,
    -0.5,
    1.0,
    -1.0,
    1.5,
    -1.5,
    2.5,
    -2.5,
    3.5,
    0.1,
    -0.7,
    4_503_599_627_370_495.5,
    4_503_599_627_370_496.0,
    9_007_199_254_740_993.0,
    2_147_483_647.0,
    2_147_483_647.9,
    2_147_483_648.0,
    -2_147_483_648.0,
    -2_147_483_648.9,
    -2_147_483_649.0,
    4_294_967_295.0,
    4_294_967_295.9,
    4_294_967_296.0,
    -0.9999999999999999,
    9_223_372_036_854_774_784.0, // largest below 2^63
    9_223_372_036_854_775_808.0,
    -9_223_372_036_854_775_808.0,
    -9_223_372_036_854_777_856.0,
    18_446_744_073_709_549_568.0, // largest below 2^64
    18_446_744_073_709_551_616.0,
    1e300,
    -1e-300,
];

fn f32_specials() -> Vec<u32> {
    let mut v = F32_SPECIAL_BITS.to_vec();
    v.extend(F32_SPECIAL_VALUES.iter().map(|f| f.to_bits()));
    v
}

fn f64_specials() -> Vec<u64> {
    let mut v = F64_SPECIAL_BITS.to_vec();
    v.extend(F64_SPECIAL_VALUES.iter().map(|f| f.to_bits()));
    v
}

/// Special values of a type, as `Val`s.
fn specials(ty: Ty) -> Vec<Val> {
    match ty {
        I32 => i32_specials().into_iter().map(Val::I32).collect(),
        I64 => i64_specials().into_iter().map(Val::I64).collect(),
        F32 => f32_specials().into_iter().map(Val::F32).collect(),
        F64 => f64_specials().into_iter().map(Val::F64).collect(),
    }
}

/// A random value: raw bits, a special value, a small fraction (rounding ties, integers), or a
/// number around the integer conversion boundaries.
fn random(rng: &mut Rng, ty: Ty) -> Val {
    let kind = rng.below(10);
    match ty {
        I32 => Val::I32(match kind {
            0..=4 => rng.next() as i32,
            5..=6 => rng.pick(&i32_specials()),
            7..=8 => (rng.next() as i32) >> rng.below(32),
            _ => (rng.pick(&i32_specials())).wrapping_add(rng.below(5) as i32 - 2),
        }),
        I64 => Val::I64(match kind {
            0..=4 => rng.next() as i64,
            5..=6 => rng.pick(&i64_specials()),
            7..=8 => (rng.next() as i64) >> rng.below(64),
            _ => (rng.pick(&i64_specials())).wrapping_add(rng.below(5) as i64 - 2),
        }),
        F32 => Val::F32(match kind {
            0..=3 => rng.next() as u32,
            4..=5 => rng.pick(&f32_specials()),
            6..=7 => (small_fraction(rng) as f32).to_bits(),
            8 => {
                // Magnitude 2^20 .. 2^66, random mantissa: integer conversion boundaries.
                let sign = (rng.next() as u32) & 0x8000_0000;
                let exp = 127 + 20 + rng.below(47) as u32;
                sign | (exp << 23) | (rng.next() as u32 & 0x7f_ffff)
            }
            _ => rng
                .pick(&f32_specials())
                .wrapping_add(rng.below(5) as u32)
                .wrapping_sub(2),
        }),
        F64 => Val::F64(match kind {
            0..=3 => rng.next(),
            4..=5 => rng.pick(&f64_specials()),
            6..=7 => small_fraction(rng).to_bits(),
            8 => {
                let sign = rng.next() & (1 << 63);
                let exp = 1023 + 20 + rng.below(47);
                sign | (exp << 52) | (rng.next() & 0x000f_ffff_ffff_ffff)
            }
            _ => rng
                .pick(&f64_specials())
                .wrapping_add(rng.below(5))
                .wrapping_sub(2),
        }),
    }
}

/// `±n / 2^k` for a random integer `n` of random width: exact halves, near-integers, and values
/// whose sums and products need rounding.
fn small_fraction(rng: &mut Rng) -> f64 {
    let width = rng.below(54);
    let n = (rng.next() >> (64 - width.max(1))) as f64;
    let scaled = n / f64::powi(2.0, rng.below(8) as i32);
    if rng.next() & 1 == 0 { scaled } else { -scaled }
}

fn is_nan(v: &Val) -> bool {
    match v {
        Val::F32(b) => f32::from_bits(*b).is_nan(),
        Val::F64(b) => f64::from_bits(*b).is_nan(),
        _ => false,
    }
}

fn is_canonical_nan(v: &Val) -> bool {
    match v {
        Val::F32(b) => b & 0x7fff_ffff == 0x7fc0_0000,
        Val::F64(b) => b & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        _ => false,
    }
}

fn is_arithmetic_nan(v: &Val) -> bool {
    match v {
        Val::F32(b) => is_nan(v) && b & (1 << 22) != 0,
        Val::F64(b) => is_nan(v) && b & (1 << 51) != 0,
        _ => false,
    }
}

fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x:#x}"),
        Val::I64(x) => format!("i64:{x:#x}"),
        Val::F32(b) => format!("f32:{b:#010x}({})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64:{b:#018x}({})", f64::from_bits(*b)),
        other => format!("{other:?}"),
    }
}

fn show_result(r: &Result<Vec<Val>, Trap>) -> String {
    match r {
        Ok(vals) => vals.iter().map(show).collect::<Vec<_>>().join(", "),
        Err(t) => format!("trap {:?}", t.code),
    }
}

/// Whether `xip` is not an acceptable result where `native` is the reference: different trap
/// codes, a trap on one side only, or different results (for a NaN native result of an inexact
/// operation: a non-arithmetic intrinsic NaN, or a non-canonical one where the native is).
fn mismatch(exact: bool, native: &Result<Vec<Val>, Trap>, xip: &Result<Vec<Val>, Trap>) -> bool {
    match (native, xip) {
        (Err(a), Err(b)) => a.code != b.code,
        (Ok(a), Ok(b)) => {
            a.len() != 1
                || b.len() != 1
                || match (&a[0], &b[0]) {
                    (n, x) if !exact && is_nan(n) => {
                        !is_arithmetic_nan(x) || (is_canonical_nan(n) && !is_canonical_nan(x))
                    }
                    (n, x) => n != x,
                }
        }
        _ => true,
    }
}

/// Calls `name` on both compilations for every argument list; returns the number of calls and
/// the first mismatches, described.
fn compare(op_name: &str, exact: bool, args: &[Vec<Val>], failures: &mut Vec<String>) -> usize {
    let c = &*COMPILED;
    let native = Instance::new(&c.native, &[]).expect("instantiate native");
    let xip = Instance::new(&c.xip, &[]).expect("instantiate xip");
    let get = |i: &Instance| -> Func { i.get_func(op_name).expect("exported") };
    let (fn_native, fn_xip) = (get(&native), get(&xip));
    for a in args {
        let n = fn_native.call(a);
        let x = fn_xip.call(a);
        if mismatch(exact, &n, &x) && failures.len() < 40 {
            failures.push(format!(
                "{op_name}({}): native {}, intrinsic {}",
                a.iter().map(show).collect::<Vec<_>>().join(", "),
                show_result(&n),
                show_result(&x)
            ));
        }
    }
    args.len()
}

/// Argument lists for `op`: every combination of special values (every pair, for binary
/// operations), then `random_count` random lists (some binary ones with equal or opposite
/// operands).
fn arguments(op: &Op, rng: &mut Rng, random_count: usize) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    match op.params {
        [t] => out.extend(specials(*t).into_iter().map(|v| vec![v])),
        [a, b] => {
            for x in specials(*a) {
                for y in specials(*b) {
                    out.push(vec![x.clone(), y]);
                }
            }
        }
        _ => unreachable!("unary or binary"),
    }
    for _ in 0..random_count {
        let mut args: Vec<Val> = op.params.iter().map(|t| random(rng, *t)).collect();
        if args.len() == 2 && rng.below(8) == 0 {
            args[1] = match (&args[0], rng.next() & 1) {
                (Val::F32(b), 1) => Val::F32(b ^ 0x8000_0000),
                (Val::F64(b), 1) => Val::F64(b ^ (1 << 63)),
                (Val::I32(x), 1) => Val::I32(x.wrapping_neg()),
                (Val::I64(x), 1) => Val::I64(x.wrapping_neg()),
                (v, _) => v.clone(),
            };
        }
        out.push(args);
    }
    out
}

fn run_group(ops: &[Op], seed: u64) {
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let mut calls = 0;
    for op in ops {
        let args = arguments(op, &mut rng, 4000);
        calls += compare(op.instr, op.exact, &args, &mut failures);
    }
    assert!(calls >= ops.len() * 4000);
    assert!(
        failures.is_empty(),
        "{} mismatches (first ones):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn float_arithmetic_rounding_and_sign_operations() {
    run_group(FLOAT_OPS, 0x1234_5678_9abc_def1);
}

#[test]
fn operations_taken_into_one_call_compute_what_the_separate_ones_do() {
    let mut rng = Rng(0x0f0e_0d0c_0b0a_0908);
    let mut failures = Vec::new();
    for (name, params, _, _) in FUSED_OPS {
        // Every pair of special values as the first two operands (with 8 special third
        // operands each), then random operands.
        let (first, second) = (specials(params[0]), specials(params[1]));
        let mut args = Vec::new();
        for a in &first {
            for b in &second {
                if let Some(t) = params.get(2) {
                    let third = specials(*t);
                    for _ in 0..8 {
                        let c = third[rng.below(third.len() as u64) as usize].clone();
                        args.push(vec![a.clone(), b.clone(), c]);
                    }
                } else {
                    args.push(vec![a.clone(), b.clone()]);
                }
            }
        }
        args.extend((0..4000).map(|_| params.iter().map(|t| random(&mut rng, *t)).collect()));
        compare(name, false, &args, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches (first ones):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn operations_with_identity_constants_fold_to_their_operand() {
    let mut rng = Rng(0x1d3e_0000_0000_0001);
    let mut failures = Vec::new();
    for (name, params, _, _) in IDENTITY_CONSTANTS {
        let mut args: Vec<Vec<Val>> = specials(params[0]).into_iter().map(|v| vec![v]).collect();
        args.extend((0..4000).map(|_| vec![random(&mut rng, params[0])]));
        compare(name, true, &args, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn float_comparisons() {
    run_group(COMPARISONS, 0x0bad_cafe_f00d_0001);
}

#[test]
fn conversions_between_ints_and_floats() {
    run_group(CONVERSIONS, 0x5eed_0000_0000_0003);
}

#[test]
fn truncations_trap_and_saturate_alike() {
    run_group(TRUNCATIONS, 0x7777_1111_2222_3333);
}

#[test]
fn integer_operations() {
    run_group(INTEGER_OPS, 0xdead_beef_0000_0005);
}

#[test]
fn byte_shuffles() {
    let mut rng = Rng(0x5111_2233_4455_6677);
    let mut vector = |selectors: bool| {
        let bytes: [u8; 16] = std::array::from_fn(|_| match (selectors, rng.below(8)) {
            (true, 0) => 0x80 | rng.next() as u8,
            (true, _) => rng.below(20) as u8,
            (false, _) => rng.next() as u8,
        });
        Val::V128(u128::from_le_bytes(bytes))
    };
    let args: Vec<Vec<Val>> = (0..4000)
        .map(|_| vec![vector(false), vector(true)])
        .collect();
    let mut failures = Vec::new();
    compare("i8x16.swizzle", true, &args, &mut failures);
    compare("i8x16.shuffle", true, &args, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn traps_are_raised_by_compiled_code_before_the_intrinsic() {
    let c = &*COMPILED;
    for module in [&c.native, &c.xip] {
        let instance = Instance::new(module, &[]).expect("instantiate");
        let trap =
            |name: &str, args: &[Val]| instance.call(name, args).expect_err("expected a trap").code;
        use aotc_loader::TrapCode::*;
        assert_eq!(
            trap("i32.div_s", &[Val::I32(1), Val::I32(0)]),
            IntegerDivisionByZero
        );
        assert_eq!(
            trap("i64.rem_u", &[Val::I64(1), Val::I64(0)]),
            IntegerDivisionByZero
        );
        assert_eq!(
            trap("i32.div_s", &[Val::I32(i32::MIN), Val::I32(-1)]),
            IntegerOverflow
        );
        assert_eq!(
            trap("i64.div_s", &[Val::I64(i64::MIN), Val::I64(-1)]),
            IntegerOverflow
        );
        assert_eq!(
            instance
                .call("i64.rem_s", &[Val::I64(i64::MIN), Val::I64(-1)])
                .expect("no trap"),
            [Val::I64(0)]
        );
        assert_eq!(
            trap("i32.trunc_f32_s", &[Val::F32(f32::NAN.to_bits())]),
            BadConversionToInteger
        );
        assert_eq!(
            trap("i64.trunc_f64_u", &[Val::F64((-1.0f64).to_bits())]),
            IntegerOverflow
        );
        assert_eq!(
            trap("i32.trunc_f64_u", &[Val::F64(4_294_967_296.0f64.to_bits())]),
            IntegerOverflow
        );
        assert_eq!(
            instance
                .call("i32.trunc_f64_u", &[Val::F64((-0.9f64).to_bits())])
                .expect("in range"),
            [Val::I32(0)]
        );
    }
}

#[test]
fn constants_are_exact_including_nan_payloads() {
    let c = &*COMPILED;
    for (label, module) in [("native", &c.native), ("xip", &c.xip)] {
        let instance = Instance::new(module, &[]).expect("instantiate");
        for ((name, ty, _), bits) in CONSTANTS.iter().zip(CONSTANT_BITS) {
            let expected = match ty {
                I32 => Val::I32(*bits as u32 as i32),
                I64 => Val::I64(*bits as i64),
                F32 => Val::F32(*bits as u32),
                F64 => Val::F64(*bits),
            };
            let got = instance.call(name, &[]).expect("call");
            assert_eq!(
                got,
                std::slice::from_ref(&expected),
                "{label} {name}: {} instead of {}",
                show_result(&Ok(got.clone())),
                show(&expected)
            );
        }
        let mut rng = Rng(42);
        for _ in 0..1000 {
            let x = rng.next() as i64;
            let want = x.wrapping_add(0x0123_4567_89ab_cdef) ^ 0x0123_4567_89ab_cdef;
            assert_eq!(
                instance.call("c.expr", &[Val::I64(x)]).expect("call"),
                [Val::I64(want)],
                "{label}"
            );
            let Val::F64(f) = random(&mut rng, F64) else {
                unreachable!()
            };
            let want = (f64::from_bits(f) + 0.1) * -0.0;
            let got = instance.call("c.fexpr", &[Val::F64(f)]).expect("call");
            let [Val::F64(g)] = got[..] else {
                panic!("f64 result")
            };
            if want.is_nan() {
                assert!(f64::from_bits(g).is_nan(), "{label}");
            } else {
                assert_eq!(g, want.to_bits(), "{label} c.fexpr({})", f64::from_bits(f));
            }
        }
    }
}
