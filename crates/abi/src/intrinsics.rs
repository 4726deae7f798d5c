//! The user-facing intrinsic names (WAMR's, so `--enable-builtin-intrinsics` accepts what
//! wamrc accepts; WAMR has no SIMD intrinsic, so `i8x16.swizzle` and its group `v128.common`
//! are aotc's), their groups, and [`IntrinsicSet`], the set a module is compiled with.
//!
//! An intrinsic is an operation compiled code performs by calling the runtime instead of using
//! native instructions: most map to one [`Builtin`]; the four `*.const` names instead load the
//! module's constants from the constant table (`vmctx.constants`), all but the small integers
//! ([`ConstOp::INLINE_INTEGERS`]). The numbering of [`INTRINSICS`] is stored in AOT files (as
//! a bit set), so it is part of the ABI.

use crate::Builtin;

/// What enabling an intrinsic changes in compiled code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// The operation calls this builtin.
    Call(Builtin),
    /// Constants of this kind are loaded from the constant table (see
    /// [`ConstOp::loads_from_table`]).
    Const(ConstOp),
}

/// The constant kinds of the `constop` group.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConstOp {
    /// `i32.const`.
    I32,
    /// `i64.const`.
    I64,
    /// `f32.const`.
    F32,
    /// `f64.const`.
    F64,
}

impl ConstOp {
    /// The integer constants that stay immediates in the text when their kind is loaded from
    /// the constant table: those a 12-bit signed immediate holds. Every ISA the `constop`
    /// group exists for encodes them in one instruction without a literal pool (Xtensa
    /// `movi`, RISC-V `addi`), so loading them from the table would cost a load and save no
    /// relocation. Floats have no such range: every float constant of an enabled kind is
    /// loaded.
    pub const INLINE_INTEGERS: core::ops::RangeInclusive<i64> = -2048..=2047;

    /// Whether a constant of this kind with `value` (an integer's value, sign-extended; a
    /// float's bits) is loaded from the table when the kind is enabled.
    pub fn loads_from_table(self, value: i64) -> bool {
        match self {
            ConstOp::I32 | ConstOp::I64 => !Self::INLINE_INTEGERS.contains(&value),
            ConstOp::F32 | ConstOp::F64 => true,
        }
    }
}

/// Comparison codes passed to `f32_cmp` / `f64_cmp` (wasm semantics: every comparison with a
/// NaN operand is false, except `Ne`, which is true).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum FloatCmp {
    /// `eq`.
    Eq = 0,
    /// `ne`.
    Ne = 1,
    /// `lt`.
    Lt = 2,
    /// `gt`.
    Gt = 3,
    /// `le`.
    Le = 4,
    /// `ge`.
    Ge = 5,
}

impl FloatCmp {
    /// Added to a comparison code: compare the absolute value of the first operand (`f32.abs`
    /// or `f64.abs` and the comparison in one call).
    pub const ABS_A: i32 = 1 << 3;
    /// Added to a comparison code: compare the absolute value of the second operand.
    pub const ABS_B: i32 = 1 << 4;

    /// Decodes a comparison code.
    pub const fn from_i32(v: i32) -> Option<FloatCmp> {
        match v {
            0 => Some(FloatCmp::Eq),
            1 => Some(FloatCmp::Ne),
            2 => Some(FloatCmp::Lt),
            3 => Some(FloatCmp::Gt),
            4 => Some(FloatCmp::Le),
            5 => Some(FloatCmp::Ge),
            _ => None,
        }
    }
}

/// A named intrinsic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Intrinsic {
    /// The name `--enable-builtin-intrinsics` accepts (WAMR's).
    pub name: &'static str,
    /// What it does.
    pub capability: Capability,
}

const fn call(name: &'static str, b: Builtin) -> Intrinsic {
    Intrinsic {
        name,
        capability: Capability::Call(b),
    }
}

const fn konst(name: &'static str, c: ConstOp) -> Intrinsic {
    Intrinsic {
        name,
        capability: Capability::Const(c),
    }
}

use Builtin as B;

/// Every intrinsic, in ABI order (position = bit in [`IntrinsicSet`]).
pub const INTRINSICS: &[Intrinsic] = &[
    call("llvm.experimental.constrained.fadd.f32", B::f32_add),
    call("llvm.experimental.constrained.fsub.f32", B::f32_sub),
    call("llvm.experimental.constrained.fmul.f32", B::f32_mul),
    call("llvm.experimental.constrained.fdiv.f32", B::f32_div),
    call("llvm.experimental.constrained.fadd.f64", B::f64_add),
    call("llvm.experimental.constrained.fsub.f64", B::f64_sub),
    call("llvm.experimental.constrained.fmul.f64", B::f64_mul),
    call("llvm.experimental.constrained.fdiv.f64", B::f64_div),
    call("llvm.fabs.f32", B::f32_abs),
    call("llvm.fabs.f64", B::f64_abs),
    call("llvm.ceil.f32", B::f32_ceil),
    call("llvm.ceil.f64", B::f64_ceil),
    call("llvm.floor.f32", B::f32_floor),
    call("llvm.floor.f64", B::f64_floor),
    call("llvm.trunc.f32", B::f32_trunc),
    call("llvm.trunc.f64", B::f64_trunc),
    call("llvm.rint.f32", B::f32_nearest),
    call("llvm.rint.f64", B::f64_nearest),
    call("llvm.sqrt.f32", B::f32_sqrt),
    call("llvm.sqrt.f64", B::f64_sqrt),
    call("llvm.copysign.f32", B::f32_copysign),
    call("llvm.copysign.f64", B::f64_copysign),
    call("llvm.minnum.f32", B::f32_min),
    call("llvm.minnum.f64", B::f64_min),
    call("llvm.maxnum.f32", B::f32_max),
    call("llvm.maxnum.f64", B::f64_max),
    call("llvm.ctlz.i32", B::i32_clz),
    call("llvm.ctlz.i64", B::i64_clz),
    call("llvm.cttz.i32", B::i32_ctz),
    call("llvm.cttz.i64", B::i64_ctz),
    call("llvm.ctpop.i32", B::i32_popcnt),
    call("llvm.ctpop.i64", B::i64_popcnt),
    call("f64_convert_i32_s", B::f64_convert_i32_s),
    call("f64_convert_i32_u", B::f64_convert_i32_u),
    call("f32_convert_i32_s", B::f32_convert_i32_s),
    call("f32_convert_i32_u", B::f32_convert_i32_u),
    call("f64_convert_i64_s", B::f64_convert_i64_s),
    call("f64_convert_i64_u", B::f64_convert_i64_u),
    call("f32_convert_i64_s", B::f32_convert_i64_s),
    call("f32_convert_i64_u", B::f32_convert_i64_u),
    call("i32_trunc_f32_s", B::i32_trunc_f32_s),
    call("i32_trunc_f32_u", B::i32_trunc_f32_u),
    call("i32_trunc_f64_s", B::i32_trunc_f64_s),
    call("i32_trunc_f64_u", B::i32_trunc_f64_u),
    call("i64_trunc_f32_s", B::i64_trunc_f32_s),
    call("i64_trunc_f32_u", B::i64_trunc_f32_u),
    call("i64_trunc_f64_s", B::i64_trunc_f64_s),
    call("i64_trunc_f64_u", B::i64_trunc_f64_u),
    call("f32_demote_f64", B::f32_demote_f64),
    call("f64_promote_f32", B::f64_promote_f32),
    call("f32_cmp", B::f32_cmp),
    call("f64_cmp", B::f64_cmp),
    call("i32.div_s", B::i32_div_s),
    call("i32.div_u", B::i32_div_u),
    call("i32.rem_s", B::i32_rem_s),
    call("i32.rem_u", B::i32_rem_u),
    call("i64.div_s", B::i64_div_s),
    call("i64.div_u", B::i64_div_u),
    call("i64.rem_s", B::i64_rem_s),
    call("i64.rem_u", B::i64_rem_u),
    call("i64.or", B::i64_or),
    call("i64.and", B::i64_and),
    call("i64.mul", B::i64_mul),
    call("i64.shl", B::i64_shl),
    call("i64.shr_s", B::i64_shr_s),
    call("i64.shr_u", B::i64_shr_u),
    call("i8x16.swizzle", B::i8x16_swizzle_half),
    konst("i32.const", ConstOp::I32),
    konst("i64.const", ConstOp::I64),
    konst("f32.const", ConstOp::F32),
    konst("f64.const", ConstOp::F64),
];

const F32_COMMON: &[&str] = &[
    "llvm.experimental.constrained.fadd.f32",
    "llvm.experimental.constrained.fsub.f32",
    "llvm.experimental.constrained.fmul.f32",
    "llvm.experimental.constrained.fdiv.f32",
    "llvm.fabs.f32",
    "llvm.ceil.f32",
    "llvm.floor.f32",
    "llvm.trunc.f32",
    "llvm.rint.f32",
    "llvm.sqrt.f32",
    "llvm.copysign.f32",
    "llvm.minnum.f32",
    "llvm.maxnum.f32",
    "f32_cmp",
];
const F64_COMMON: &[&str] = &[
    "llvm.experimental.constrained.fadd.f64",
    "llvm.experimental.constrained.fsub.f64",
    "llvm.experimental.constrained.fmul.f64",
    "llvm.experimental.constrained.fdiv.f64",
    "llvm.fabs.f64",
    "llvm.ceil.f64",
    "llvm.floor.f64",
    "llvm.trunc.f64",
    "llvm.rint.f64",
    "llvm.sqrt.f64",
    "llvm.copysign.f64",
    "llvm.minnum.f64",
    "llvm.maxnum.f64",
    "f64_cmp",
];
const FP_CONVERT: &[&str] = &["f32_demote_f64", "f64_promote_f32"];
const F32XI32: &[&str] = &[
    "f32_convert_i32_s",
    "f32_convert_i32_u",
    "i32_trunc_f32_s",
    "i32_trunc_f32_u",
];
const F64XI32: &[&str] = &[
    "f64_convert_i32_s",
    "f64_convert_i32_u",
    "i32_trunc_f64_s",
    "i32_trunc_f64_u",
];
const F32XI64: &[&str] = &[
    "f32_convert_i64_s",
    "f32_convert_i64_u",
    "i64_trunc_f32_s",
    "i64_trunc_f32_u",
];
const F64XI64: &[&str] = &[
    "f64_convert_i64_s",
    "f64_convert_i64_u",
    "i64_trunc_f64_s",
    "i64_trunc_f64_u",
];

/// The groups `--enable-builtin-intrinsics` accepts, with their exact members (a group is
/// the union of its lists). `all` is every intrinsic and is not listed here.
pub const GROUPS: &[(&str, &[&[&str]])] = &[
    (
        "i32.common",
        &[&[
            "i32.div_s",
            "i32.div_u",
            "i32.rem_s",
            "i32.rem_u",
            "llvm.ctlz.i32",
            "llvm.cttz.i32",
            "llvm.ctpop.i32",
        ]],
    ),
    (
        "i64.common",
        &[&[
            "i64.div_s",
            "i64.div_u",
            "i64.rem_s",
            "i64.rem_u",
            "i64.mul",
            "i64.shl",
            "i64.shr_s",
            "i64.shr_u",
            "i64.or",
            "i64.and",
            "llvm.ctlz.i64",
            "llvm.cttz.i64",
            "llvm.ctpop.i64",
        ]],
    ),
    ("f32.common", &[F32_COMMON]),
    ("f64.common", &[F64_COMMON]),
    ("fp.common", &[F32_COMMON, F64_COMMON, FP_CONVERT]),
    ("f32xi32", &[F32XI32]),
    ("f64xi32", &[F64XI32]),
    ("f32xi64", &[F32XI64]),
    ("f64xi64", &[F64XI64]),
    ("fpxint", &[F32XI32, F64XI32, F32XI64, F64XI64]),
    ("v128.common", &[&["i8x16.swizzle"]]),
    (
        "constop",
        &[&["i32.const", "i64.const", "f32.const", "f64.const"]],
    ),
];

/// A set of intrinsics (a bit per entry of [`INTRINSICS`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IntrinsicSet(u128);

/// A name `--enable-builtin-intrinsics` does not know.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UnknownIntrinsic<'a>(pub &'a str);

impl core::fmt::Display for UnknownIntrinsic<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "unknown intrinsic or group `{}`; valid groups: all",
            self.0
        )?;
        for (g, _) in GROUPS {
            write!(f, ", {g}")?;
        }
        f.write_str("; valid names: ")?;
        for (i, n) in INTRINSICS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(n.name)?;
        }
        Ok(())
    }
}

impl IntrinsicSet {
    /// No intrinsic.
    pub const EMPTY: IntrinsicSet = IntrinsicSet(0);

    /// Every intrinsic.
    pub const fn all() -> IntrinsicSet {
        IntrinsicSet((1u128 << INTRINSICS.len()) - 1)
    }

    /// The stored bits.
    pub const fn bits(self) -> u128 {
        self.0
    }

    /// Decodes stored bits; `None` when a bit names no intrinsic.
    pub const fn from_bits(bits: u128) -> Option<IntrinsicSet> {
        if bits & !Self::all().0 != 0 {
            None
        } else {
            Some(IntrinsicSet(bits))
        }
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union of two sets.
    pub const fn union(self, other: IntrinsicSet) -> IntrinsicSet {
        IntrinsicSet(self.0 | other.0)
    }

    /// Adds the intrinsic named `name` (not a group); `false` if there is none.
    pub fn insert_name(&mut self, name: &str) -> bool {
        match INTRINSICS.iter().position(|i| i.name == name) {
            Some(i) => {
                self.0 |= 1 << i;
                true
            }
            None => false,
        }
    }

    /// Adds the intrinsic that calls `builtin`, if there is one.
    pub fn insert_builtin(&mut self, builtin: Builtin) {
        if let Some(i) = INTRINSICS
            .iter()
            .position(|i| i.capability == Capability::Call(builtin))
        {
            self.0 |= 1 << i;
        }
    }

    /// Parses a comma-separated list of intrinsic and group names (`all`, `i32.common`, ...).
    pub fn parse(spec: &str) -> Result<IntrinsicSet, UnknownIntrinsic<'_>> {
        let mut set = IntrinsicSet::EMPTY;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "all" {
                set = set.union(Self::all());
            } else if let Some((_, lists)) = GROUPS.iter().find(|(g, _)| *g == item) {
                for name in lists.iter().flat_map(|l| l.iter()) {
                    set.insert_name(name);
                }
            } else if !set.insert_name(item) {
                return Err(UnknownIntrinsic(item));
            }
        }
        Ok(set)
    }

    /// Whether the operation that calls `builtin` goes through the intrinsic.
    pub fn calls(self, builtin: Builtin) -> bool {
        self.iter()
            .any(|i| i.capability == Capability::Call(builtin))
    }

    /// Whether constants of kind `op` are loaded from the constant table (those
    /// [`ConstOp::loads_from_table`] selects).
    pub fn loads_const(self, op: ConstOp) -> bool {
        self.iter().any(|i| i.capability == Capability::Const(op))
    }

    /// The intrinsics in the set, in ABI order.
    pub fn iter(self) -> impl Iterator<Item = &'static Intrinsic> {
        INTRINSICS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit() {
        assert!(INTRINSICS.len() <= 128);
        for (i, a) in INTRINSICS.iter().enumerate() {
            for b in &INTRINSICS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.capability, b.capability);
            }
        }
    }

    #[test]
    fn small_integer_constants_stay_immediates() {
        for op in [ConstOp::I32, ConstOp::I64] {
            assert!(!op.loads_from_table(0) && !op.loads_from_table(-1));
            assert!(!op.loads_from_table(-2048) && !op.loads_from_table(2047));
            assert!(op.loads_from_table(-2049) && op.loads_from_table(2048));
            assert!(op.loads_from_table(i64::MIN) && op.loads_from_table(i64::MAX));
        }
        // A float is loaded whatever its bits (0 is +0.0).
        assert!(ConstOp::F32.loads_from_table(0) && ConstOp::F64.loads_from_table(0));
    }

    #[test]
    fn every_group_member_exists() {
        for (group, lists) in GROUPS {
            for name in lists.iter().flat_map(|l| l.iter()) {
                assert!(
                    INTRINSICS.iter().any(|i| i.name == *name),
                    "{group}: {name}"
                );
            }
        }
    }

    #[test]
    fn parses_groups_and_names() {
        let set = IntrinsicSet::parse("i32.common, llvm.sqrt.f64").unwrap();
        assert!(
            set.calls(Builtin::i32_div_s)
                && set.calls(Builtin::i32_popcnt)
                && set.calls(Builtin::f64_sqrt)
        );
        assert!(!set.calls(Builtin::f32_sqrt));
        assert_eq!(IntrinsicSet::parse("all").unwrap(), IntrinsicSet::all());
        let fp = IntrinsicSet::parse("fp.common").unwrap();
        assert_eq!(
            fp,
            IntrinsicSet::parse("f32.common,f64.common,f32_demote_f64,f64_promote_f32").unwrap()
        );
        assert!(
            IntrinsicSet::parse("constop")
                .unwrap()
                .loads_const(ConstOp::F64)
        );
        let err = IntrinsicSet::parse("i32.common,bogus").unwrap_err();
        assert_eq!(err, UnknownIntrinsic("bogus"));
        assert_eq!(
            IntrinsicSet::from_bits(IntrinsicSet::all().bits()),
            Some(IntrinsicSet::all())
        );
        assert_eq!(IntrinsicSet::from_bits(1 << 127), None);
    }

    #[test]
    fn groups_cover_every_intrinsic() {
        let mut union = IntrinsicSet::EMPTY;
        for (g, _) in GROUPS {
            union = union.union(IntrinsicSet::parse(g).unwrap());
        }
        let missing: IntrinsicSet = IntrinsicSet(IntrinsicSet::all().bits() & !union.bits());
        assert!(
            missing.is_empty(),
            "not in any group: {:?}",
            missing.iter().next()
        );
    }
}
