//! `v128` operators (Wasm 2.0 fixed-width SIMD, not relaxed SIMD): the second half of the
//! operator match, reached for every operator [`operators`](super::operators) does not match.
//!
//! Every `v128` value outside one operation has type [`V128`] (`i8x16`): each operation
//! bitcasts its operands to its lane type (little-endian lane order on every target) and its
//! result back, so blocks, locals, calls and `select` see one type. Operations Cranelift would
//! lower to a libcall on some CPU go through builtins instead when the intrinsic set asks:
//! float rounding lane by lane through the scalar rounding builtins, and byte shuffles through
//! `i8x16_swizzle_half`.

use aotc_abi::Builtin;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, Operator};

use super::Translator;
use super::environ::Ext;
use crate::CompileError;
use crate::cl_abi::{V128, v128_flags};

/// A unary lane-wise operator `$op` on lanes `$ty`.
macro_rules! vunop {
    ($s:ident, $ty:expr, $op:ident) => {{
        let a = $s.pop_lanes($ty)?;
        let v = $s.b.ins().$op(a);
        $s.push_v128(v);
    }};
}

/// A binary lane-wise operator `$op` on lanes `$ty`.
macro_rules! vbinop {
    ($s:ident, $ty:expr, $op:ident) => {{
        let (a, b) = $s.pop2_lanes($ty)?;
        let v = $s.b.ins().$op(a, b);
        $s.push_v128(v);
    }};
}

/// A lane-wise integer comparison (all-ones or zero lanes).
macro_rules! vicmp {
    ($s:ident, $ty:expr, $cc:expr) => {{
        let (a, b) = $s.pop2_lanes($ty)?;
        let v = $s.b.ins().icmp($cc, a, b);
        $s.push_v128(v);
    }};
}

/// A lane-wise float comparison (all-ones or zero lanes).
macro_rules! vfcmp {
    ($s:ident, $ty:expr, $cc:expr) => {{
        let (a, b) = $s.pop2_lanes($ty)?;
        let v = $s.b.ins().fcmp($cc, a, b);
        $s.push_v128(v);
    }};
}

/// A shift of lanes `$ty` by an `i32` count (taken modulo the lane width, as in wasm).
macro_rules! vshift {
    ($s:ident, $ty:expr, $op:ident) => {{
        let count = $s.pop()?;
        let a = $s.pop_lanes($ty)?;
        let v = $s.b.ins().$op(a, count);
        $s.push_v128(v);
    }};
}

/// A lane-wise conversion from lanes `$from` to `$to` by `$op`.
macro_rules! vconv {
    ($s:ident, $from:expr, $op:ident, $to:expr) => {{
        let a = $s.pop_lanes($from)?;
        let v = $s.b.ins().$op($to, a);
        $s.push_v128(v);
    }};
}

/// A lane-wise operator `$op` on the halves (`$widen` of both operands, lanes `$ty`).
macro_rules! vwiden_binop {
    ($s:ident, $ty:expr, $widen:ident, $op:ident) => {{
        let (a, b) = $s.pop2_lanes($ty)?;
        let a = $s.b.ins().$widen(a);
        let b = $s.b.ins().$widen(b);
        let v = $s.b.ins().$op(a, b);
        $s.push_v128(v);
    }};
}

/// A widening of one half of lanes `$ty`.
macro_rules! vwiden {
    ($s:ident, $ty:expr, $widen:ident) => {{
        let a = $s.pop_lanes($ty)?;
        let v = $s.b.ins().$widen(a);
        $s.push_v128(v);
    }};
}

/// `extadd_pairwise`: widens both halves by `$low`/`$high` and adds neighbouring lanes.
macro_rules! vextadd {
    ($s:ident, $ty:expr, $low:ident, $high:ident) => {{
        let a = $s.pop_lanes($ty)?;
        let lo = $s.b.ins().$low(a);
        let hi = $s.b.ins().$high(a);
        let v = $s.b.ins().iadd_pairwise(lo, hi);
        $s.push_v128(v);
    }};
}

impl Translator<'_, '_> {
    /// Translates one reachable operator the scalar match does not handle: a `v128` operator,
    /// or an unsupported one.
    pub(super) fn simd_operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        if let Some(missing) = self.env.target.missing_simd_feature() {
            return Err(self.unsupported(missing));
        }
        match op {
            O::V128Load { memarg } => {
                let v = self.load_value(&memarg, V128, Ext::None)?;
                self.stack.push(v);
            }
            O::V128Store { memarg } => self.store(&memarg, None)?,
            O::V128Load8x8S { memarg } => self.load_extend(&memarg, I8X16, true)?,
            O::V128Load8x8U { memarg } => self.load_extend(&memarg, I8X16, false)?,
            O::V128Load16x4S { memarg } => self.load_extend(&memarg, I16X8, true)?,
            O::V128Load16x4U { memarg } => self.load_extend(&memarg, I16X8, false)?,
            O::V128Load32x2S { memarg } => self.load_extend(&memarg, I32X4, true)?,
            O::V128Load32x2U { memarg } => self.load_extend(&memarg, I32X4, false)?,
            O::V128Load8Splat { memarg } => self.load_splat(&memarg, I8X16)?,
            O::V128Load16Splat { memarg } => self.load_splat(&memarg, I16X8)?,
            O::V128Load32Splat { memarg } => self.load_splat(&memarg, I32X4)?,
            O::V128Load64Splat { memarg } => self.load_splat(&memarg, I64X2)?,
            O::V128Load32Zero { memarg } => self.load_zero(&memarg, I32X4)?,
            O::V128Load64Zero { memarg } => self.load_zero(&memarg, I64X2)?,
            O::V128Load8Lane { memarg, lane } => self.load_lane(&memarg, I8X16, lane)?,
            O::V128Load16Lane { memarg, lane } => self.load_lane(&memarg, I16X8, lane)?,
            O::V128Load32Lane { memarg, lane } => self.load_lane(&memarg, I32X4, lane)?,
            O::V128Load64Lane { memarg, lane } => self.load_lane(&memarg, I64X2, lane)?,
            O::V128Store8Lane { memarg, lane } => self.store_lane(&memarg, I8X16, lane)?,
            O::V128Store16Lane { memarg, lane } => self.store_lane(&memarg, I16X8, lane)?,
            O::V128Store32Lane { memarg, lane } => self.store_lane(&memarg, I32X4, lane)?,
            O::V128Store64Lane { memarg, lane } => self.store_lane(&memarg, I64X2, lane)?,

            O::V128Const { value } => {
                let v = self.v128_const(u128::from_le_bytes(*value.bytes()));
                self.stack.push(v);
            }
            O::I8x16Shuffle { lanes } => self.shuffle(lanes)?,
            O::I8x16Swizzle => {
                let (a, s) = self.pop2_lanes(I8X16)?;
                let v = if self.calls(Builtin::i8x16_swizzle_half) {
                    self.swizzle_via_builtin(a, s)?
                } else {
                    self.b.ins().swizzle(a, s)
                };
                self.push_v128(v);
            }
            O::I8x16Splat => self.splat(I8X16)?,
            O::I16x8Splat => self.splat(I16X8)?,
            O::I32x4Splat => self.splat(I32X4)?,
            O::I64x2Splat => self.splat(I64X2)?,
            O::F32x4Splat => self.splat(F32X4)?,
            O::F64x2Splat => self.splat(F64X2)?,
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, lane, Some(true))?,
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, lane, Some(false))?,
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, Some(true))?,
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, Some(false))?,
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, None)?,
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, None)?,
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, None)?,
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, None)?,
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, lane)?,
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane)?,
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane)?,
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane)?,
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane)?,
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane)?,

            O::I8x16Eq => vicmp!(self, I8X16, IntCC::Equal),
            O::I8x16Ne => vicmp!(self, I8X16, IntCC::NotEqual),
            O::I8x16LtS => vicmp!(self, I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => vicmp!(self, I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => vicmp!(self, I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => vicmp!(self, I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => vicmp!(self, I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => vicmp!(self, I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => vicmp!(self, I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => vicmp!(self, I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => vicmp!(self, I16X8, IntCC::Equal),
            O::I16x8Ne => vicmp!(self, I16X8, IntCC::NotEqual),
            O::I16x8LtS => vicmp!(self, I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => vicmp!(self, I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => vicmp!(self, I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => vicmp!(self, I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => vicmp!(self, I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => vicmp!(self, I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => vicmp!(self, I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => vicmp!(self, I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => vicmp!(self, I32X4, IntCC::Equal),
            O::I32x4Ne => vicmp!(self, I32X4, IntCC::NotEqual),
            O::I32x4LtS => vicmp!(self, I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => vicmp!(self, I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => vicmp!(self, I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => vicmp!(self, I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => vicmp!(self, I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => vicmp!(self, I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => vicmp!(self, I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => vicmp!(self, I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => vicmp!(self, I64X2, IntCC::Equal),
            O::I64x2Ne => vicmp!(self, I64X2, IntCC::NotEqual),
            O::I64x2LtS => vicmp!(self, I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => vicmp!(self, I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => vicmp!(self, I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => vicmp!(self, I64X2, IntCC::SignedGreaterThanOrEqual),
            O::F32x4Eq => vfcmp!(self, F32X4, FloatCC::Equal),
            O::F32x4Ne => vfcmp!(self, F32X4, FloatCC::NotEqual),
            O::F32x4Lt => vfcmp!(self, F32X4, FloatCC::LessThan),
            O::F32x4Gt => vfcmp!(self, F32X4, FloatCC::GreaterThan),
            O::F32x4Le => vfcmp!(self, F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => vfcmp!(self, F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => vfcmp!(self, F64X2, FloatCC::Equal),
            O::F64x2Ne => vfcmp!(self, F64X2, FloatCC::NotEqual),
            O::F64x2Lt => vfcmp!(self, F64X2, FloatCC::LessThan),
            O::F64x2Gt => vfcmp!(self, F64X2, FloatCC::GreaterThan),
            O::F64x2Le => vfcmp!(self, F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => vfcmp!(self, F64X2, FloatCC::GreaterThanOrEqual),

            O::V128Not => vunop!(self, V128, bnot),
            O::V128And => vbinop!(self, V128, band),
            O::V128AndNot => vbinop!(self, V128, band_not),
            O::V128Or => vbinop!(self, V128, bor),
            O::V128Xor => vbinop!(self, V128, bxor),
            O::V128Bitselect => {
                let mask = self.pop()?;
                let (a, b) = self.pop2()?;
                let v = self.b.ins().bitselect(mask, a, b);
                self.push_v128(v);
            }
            O::V128AnyTrue => self.lanes_to_i32(V128, |b, a| b.ins().vany_true(a), true)?,
            O::I8x16AllTrue => self.lanes_to_i32(I8X16, |b, a| b.ins().vall_true(a), true)?,
            O::I16x8AllTrue => self.lanes_to_i32(I16X8, |b, a| b.ins().vall_true(a), true)?,
            O::I32x4AllTrue => self.lanes_to_i32(I32X4, |b, a| b.ins().vall_true(a), true)?,
            O::I64x2AllTrue => self.lanes_to_i32(I64X2, |b, a| b.ins().vall_true(a), true)?,
            O::I8x16Bitmask => {
                self.lanes_to_i32(I8X16, |b, a| b.ins().vhigh_bits(I32, a), false)?
            }
            O::I16x8Bitmask => {
                self.lanes_to_i32(I16X8, |b, a| b.ins().vhigh_bits(I32, a), false)?
            }
            O::I32x4Bitmask => {
                self.lanes_to_i32(I32X4, |b, a| b.ins().vhigh_bits(I32, a), false)?
            }
            O::I64x2Bitmask => {
                self.lanes_to_i32(I64X2, |b, a| b.ins().vhigh_bits(I32, a), false)?
            }

            O::I8x16Abs => vunop!(self, I8X16, iabs),
            O::I16x8Abs => vunop!(self, I16X8, iabs),
            O::I32x4Abs => vunop!(self, I32X4, iabs),
            O::I64x2Abs => vunop!(self, I64X2, iabs),
            O::I8x16Neg => vunop!(self, I8X16, ineg),
            O::I16x8Neg => vunop!(self, I16X8, ineg),
            O::I32x4Neg => vunop!(self, I32X4, ineg),
            O::I64x2Neg => vunop!(self, I64X2, ineg),
            O::I8x16Popcnt => vunop!(self, I8X16, popcnt),
            O::I8x16NarrowI16x8S => vbinop!(self, I16X8, snarrow),
            O::I8x16NarrowI16x8U => vbinop!(self, I16X8, unarrow),
            O::I16x8NarrowI32x4S => vbinop!(self, I32X4, snarrow),
            O::I16x8NarrowI32x4U => vbinop!(self, I32X4, unarrow),
            O::I16x8ExtendLowI8x16S => vwiden!(self, I8X16, swiden_low),
            O::I16x8ExtendHighI8x16S => vwiden!(self, I8X16, swiden_high),
            O::I16x8ExtendLowI8x16U => vwiden!(self, I8X16, uwiden_low),
            O::I16x8ExtendHighI8x16U => vwiden!(self, I8X16, uwiden_high),
            O::I32x4ExtendLowI16x8S => vwiden!(self, I16X8, swiden_low),
            O::I32x4ExtendHighI16x8S => vwiden!(self, I16X8, swiden_high),
            O::I32x4ExtendLowI16x8U => vwiden!(self, I16X8, uwiden_low),
            O::I32x4ExtendHighI16x8U => vwiden!(self, I16X8, uwiden_high),
            O::I64x2ExtendLowI32x4S => vwiden!(self, I32X4, swiden_low),
            O::I64x2ExtendHighI32x4S => vwiden!(self, I32X4, swiden_high),
            O::I64x2ExtendLowI32x4U => vwiden!(self, I32X4, uwiden_low),
            O::I64x2ExtendHighI32x4U => vwiden!(self, I32X4, uwiden_high),

            O::I8x16Shl => vshift!(self, I8X16, ishl),
            O::I16x8Shl => vshift!(self, I16X8, ishl),
            O::I32x4Shl => vshift!(self, I32X4, ishl),
            O::I64x2Shl => vshift!(self, I64X2, ishl),
            O::I8x16ShrS => vshift!(self, I8X16, sshr),
            O::I16x8ShrS => vshift!(self, I16X8, sshr),
            O::I32x4ShrS => vshift!(self, I32X4, sshr),
            O::I64x2ShrS => vshift!(self, I64X2, sshr),
            O::I8x16ShrU => vshift!(self, I8X16, ushr),
            O::I16x8ShrU => vshift!(self, I16X8, ushr),
            O::I32x4ShrU => vshift!(self, I32X4, ushr),
            O::I64x2ShrU => vshift!(self, I64X2, ushr),

            O::I8x16Add => vbinop!(self, I8X16, iadd),
            O::I16x8Add => vbinop!(self, I16X8, iadd),
            O::I32x4Add => vbinop!(self, I32X4, iadd),
            O::I64x2Add => vbinop!(self, I64X2, iadd),
            O::I8x16Sub => vbinop!(self, I8X16, isub),
            O::I16x8Sub => vbinop!(self, I16X8, isub),
            O::I32x4Sub => vbinop!(self, I32X4, isub),
            O::I64x2Sub => vbinop!(self, I64X2, isub),
            O::I16x8Mul => vbinop!(self, I16X8, imul),
            O::I32x4Mul => vbinop!(self, I32X4, imul),
            O::I64x2Mul => vbinop!(self, I64X2, imul),
            O::I8x16AddSatS => vbinop!(self, I8X16, sadd_sat),
            O::I16x8AddSatS => vbinop!(self, I16X8, sadd_sat),
            O::I8x16AddSatU => vbinop!(self, I8X16, uadd_sat),
            O::I16x8AddSatU => vbinop!(self, I16X8, uadd_sat),
            O::I8x16SubSatS => vbinop!(self, I8X16, ssub_sat),
            O::I16x8SubSatS => vbinop!(self, I16X8, ssub_sat),
            O::I8x16SubSatU => vbinop!(self, I8X16, usub_sat),
            O::I16x8SubSatU => vbinop!(self, I16X8, usub_sat),
            O::I8x16MinS => vbinop!(self, I8X16, smin),
            O::I16x8MinS => vbinop!(self, I16X8, smin),
            O::I32x4MinS => vbinop!(self, I32X4, smin),
            O::I8x16MinU => vbinop!(self, I8X16, umin),
            O::I16x8MinU => vbinop!(self, I16X8, umin),
            O::I32x4MinU => vbinop!(self, I32X4, umin),
            O::I8x16MaxS => vbinop!(self, I8X16, smax),
            O::I16x8MaxS => vbinop!(self, I16X8, smax),
            O::I32x4MaxS => vbinop!(self, I32X4, smax),
            O::I8x16MaxU => vbinop!(self, I8X16, umax),
            O::I16x8MaxU => vbinop!(self, I16X8, umax),
            O::I32x4MaxU => vbinop!(self, I32X4, umax),
            O::I8x16AvgrU => vbinop!(self, I8X16, avg_round),
            O::I16x8AvgrU => vbinop!(self, I16X8, avg_round),
            O::I16x8Q15MulrSatS => vbinop!(self, I16X8, sqmul_round_sat),
            O::I16x8ExtMulLowI8x16S => vwiden_binop!(self, I8X16, swiden_low, imul),
            O::I16x8ExtMulHighI8x16S => vwiden_binop!(self, I8X16, swiden_high, imul),
            O::I16x8ExtMulLowI8x16U => vwiden_binop!(self, I8X16, uwiden_low, imul),
            O::I16x8ExtMulHighI8x16U => vwiden_binop!(self, I8X16, uwiden_high, imul),
            O::I32x4ExtMulLowI16x8S => vwiden_binop!(self, I16X8, swiden_low, imul),
            O::I32x4ExtMulHighI16x8S => vwiden_binop!(self, I16X8, swiden_high, imul),
            O::I32x4ExtMulLowI16x8U => vwiden_binop!(self, I16X8, uwiden_low, imul),
            O::I32x4ExtMulHighI16x8U => vwiden_binop!(self, I16X8, uwiden_high, imul),
            O::I64x2ExtMulLowI32x4S => vwiden_binop!(self, I32X4, swiden_low, imul),
            O::I64x2ExtMulHighI32x4S => vwiden_binop!(self, I32X4, swiden_high, imul),
            O::I64x2ExtMulLowI32x4U => vwiden_binop!(self, I32X4, uwiden_low, imul),
            O::I64x2ExtMulHighI32x4U => vwiden_binop!(self, I32X4, uwiden_high, imul),
            O::I16x8ExtAddPairwiseI8x16S => vextadd!(self, I8X16, swiden_low, swiden_high),
            O::I16x8ExtAddPairwiseI8x16U => vextadd!(self, I8X16, uwiden_low, uwiden_high),
            O::I32x4ExtAddPairwiseI16x8S => vextadd!(self, I16X8, swiden_low, swiden_high),
            O::I32x4ExtAddPairwiseI16x8U => vextadd!(self, I16X8, uwiden_low, uwiden_high),
            O::I32x4DotI16x8S => {
                let (a, b) = self.pop2_lanes(I16X8)?;
                let ins = |s: &mut Self, lo: bool| {
                    let (x, y) = if lo {
                        (s.b.ins().swiden_low(a), s.b.ins().swiden_low(b))
                    } else {
                        (s.b.ins().swiden_high(a), s.b.ins().swiden_high(b))
                    };
                    s.b.ins().imul(x, y)
                };
                let lo = ins(self, true);
                let hi = ins(self, false);
                let v = self.b.ins().iadd_pairwise(lo, hi);
                self.push_v128(v);
            }

            O::F32x4Abs => vunop!(self, F32X4, fabs),
            O::F64x2Abs => vunop!(self, F64X2, fabs),
            O::F32x4Neg => vunop!(self, F32X4, fneg),
            O::F64x2Neg => vunop!(self, F64X2, fneg),
            O::F32x4Sqrt => vunop!(self, F32X4, sqrt),
            O::F64x2Sqrt => vunop!(self, F64X2, sqrt),
            O::F32x4Ceil => self.round(F32X4, Builtin::f32_ceil, |b, a| b.ins().ceil(a))?,
            O::F64x2Ceil => self.round(F64X2, Builtin::f64_ceil, |b, a| b.ins().ceil(a))?,
            O::F32x4Floor => self.round(F32X4, Builtin::f32_floor, |b, a| b.ins().floor(a))?,
            O::F64x2Floor => self.round(F64X2, Builtin::f64_floor, |b, a| b.ins().floor(a))?,
            O::F32x4Trunc => self.round(F32X4, Builtin::f32_trunc, |b, a| b.ins().trunc(a))?,
            O::F64x2Trunc => self.round(F64X2, Builtin::f64_trunc, |b, a| b.ins().trunc(a))?,
            O::F32x4Nearest => {
                self.round(F32X4, Builtin::f32_nearest, |b, a| b.ins().nearest(a))?
            }
            O::F64x2Nearest => {
                self.round(F64X2, Builtin::f64_nearest, |b, a| b.ins().nearest(a))?
            }
            O::F32x4Add => vbinop!(self, F32X4, fadd),
            O::F64x2Add => vbinop!(self, F64X2, fadd),
            O::F32x4Sub => vbinop!(self, F32X4, fsub),
            O::F64x2Sub => vbinop!(self, F64X2, fsub),
            O::F32x4Mul => vbinop!(self, F32X4, fmul),
            O::F64x2Mul => vbinop!(self, F64X2, fmul),
            O::F32x4Div => vbinop!(self, F32X4, fdiv),
            O::F64x2Div => vbinop!(self, F64X2, fdiv),
            O::F32x4Min => vbinop!(self, F32X4, fmin),
            O::F64x2Min => vbinop!(self, F64X2, fmin),
            O::F32x4Max => vbinop!(self, F32X4, fmax),
            O::F64x2Max => vbinop!(self, F64X2, fmax),
            O::F32x4PMin => self.pseudo_min_max(F32X4, true)?,
            O::F64x2PMin => self.pseudo_min_max(F64X2, true)?,
            O::F32x4PMax => self.pseudo_min_max(F32X4, false)?,
            O::F64x2PMax => self.pseudo_min_max(F64X2, false)?,

            O::I32x4TruncSatF32x4S => vconv!(self, F32X4, fcvt_to_sint_sat, I32X4),
            O::I32x4TruncSatF32x4U => vconv!(self, F32X4, fcvt_to_uint_sat, I32X4),
            O::F32x4ConvertI32x4S => vconv!(self, I32X4, fcvt_from_sint, F32X4),
            O::F32x4ConvertI32x4U => vconv!(self, I32X4, fcvt_from_uint, F32X4),
            O::I32x4TruncSatF64x2SZero => {
                let a = self.pop_lanes(F64X2)?;
                let wide = self.b.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = self.zero_lanes(I64X2);
                let v = self.b.ins().snarrow(wide, zero);
                self.push_v128(v);
            }
            O::I32x4TruncSatF64x2UZero if !self.env.target.native_rounding => {
                // x86-64's vector lowering rounds with SSE4.1 (else a libcall per lane):
                // convert each lane with the scalar saturating conversion instead.
                let a = self.pop_lanes(F64X2)?;
                let mut v = self.zero_lanes(I32X4);
                for lane in 0..2 {
                    let x = self.b.ins().extractlane(a, lane);
                    let y = self.b.ins().fcvt_to_uint_sat(I32, x);
                    v = self.b.ins().insertlane(v, y, lane);
                }
                self.push_v128(v);
            }
            O::I32x4TruncSatF64x2UZero => {
                let a = self.pop_lanes(F64X2)?;
                let wide = self.b.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = self.zero_lanes(I64X2);
                let v = self.b.ins().uunarrow(wide, zero);
                self.push_v128(v);
            }
            O::F64x2ConvertLowI32x4S => {
                let a = self.pop_lanes(I32X4)?;
                let wide = self.b.ins().swiden_low(a);
                let v = self.b.ins().fcvt_from_sint(F64X2, wide);
                self.push_v128(v);
            }
            O::F64x2ConvertLowI32x4U => {
                let a = self.pop_lanes(I32X4)?;
                let wide = self.b.ins().uwiden_low(a);
                let v = self.b.ins().fcvt_from_uint(F64X2, wide);
                self.push_v128(v);
            }
            O::F32x4DemoteF64x2Zero => vunop!(self, F64X2, fvdemote),
            O::F64x2PromoteLowF32x4 => vunop!(self, F32X4, fvpromote_low),

            other => {
                let name = format!("{other:?}");
                let name = name
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("operator");
                return Err(self.unsupported(format!("operator {name}")));
            }
        }
        Ok(())
    }

    // ---- lane views ----------------------------------------------------------------------

    /// `v` viewed as lanes `ty` (a bitcast when its type differs).
    fn as_lanes(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, v128_flags(MemFlagsData::new()), v)
        }
    }

    /// Pops a `v128` as lanes `ty`.
    fn pop_lanes(&mut self, ty: Type) -> Result<Value, CompileError> {
        let v = self.pop()?;
        Ok(self.as_lanes(v, ty))
    }

    /// Pops two `v128`s as lanes `ty`; the second was on top.
    fn pop2_lanes(&mut self, ty: Type) -> Result<(Value, Value), CompileError> {
        let b = self.pop_lanes(ty)?;
        let a = self.pop_lanes(ty)?;
        Ok((a, b))
    }

    /// Pushes a vector result as a `v128`.
    fn push_v128(&mut self, v: Value) {
        let v = self.as_lanes(v, V128);
        self.stack.push(v);
    }

    /// A zero vector of lanes `ty`, as a constant of that type (x86-64 recognises
    /// `snarrow`/`uunarrow` with a zero `vconst` operand only in this form).
    fn zero_lanes(&mut self, ty: Type) -> Value {
        let handle = self.b.func.dfg.constants.insert(vec![0; 16].into());
        self.b.ins().vconst(ty, handle)
    }

    // ---- memory --------------------------------------------------------------------------

    /// `v128.loadNxM_s/u`: 8 bytes as the low half of lanes `narrow`, widened.
    fn load_extend(
        &mut self,
        memarg: &MemArg,
        narrow: Type,
        signed: bool,
    ) -> Result<(), CompileError> {
        let x = self.load_value(memarg, I64, Ext::None)?;
        let v = self.b.ins().scalar_to_vector(I64X2, x);
        let v = self.as_lanes(v, narrow);
        let v = if signed {
            self.b.ins().swiden_low(v)
        } else {
            self.b.ins().uwiden_low(v)
        };
        self.push_v128(v);
        Ok(())
    }

    /// `v128.loadN_splat`.
    fn load_splat(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        let x = self.load_value(memarg, ty.lane_type(), Ext::None)?;
        let v = self.b.ins().splat(ty, x);
        self.push_v128(v);
        Ok(())
    }

    /// `v128.loadN_zero`.
    fn load_zero(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        let x = self.load_value(memarg, ty.lane_type(), Ext::None)?;
        let v = self.b.ins().scalar_to_vector(ty, x);
        self.push_v128(v);
        Ok(())
    }

    /// `v128.loadN_lane`: the vector is on top of the address.
    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let v = self.pop_lanes(ty)?;
        let x = self.load_value(memarg, ty.lane_type(), Ext::None)?;
        let v = self.b.ins().insertlane(v, x, lane);
        self.push_v128(v);
        Ok(())
    }

    /// `v128.storeN_lane`: the vector is on top of the address.
    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let v = self.pop_lanes(ty)?;
        let x = self.b.ins().extractlane(v, lane);
        self.store_value(memarg, x, None)
    }

    // ---- lanes ---------------------------------------------------------------------------

    /// `*.splat` of the scalar operand (narrowed to 8 or 16 bits for `i8x16`/`i16x8`).
    fn splat(&mut self, ty: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let x = self.narrow_to_lane(x, ty);
        let v = self.b.ins().splat(ty, x);
        self.push_v128(v);
        Ok(())
    }

    /// `x` (an `i32` for narrow integer lanes) as a lane of `ty`.
    fn narrow_to_lane(&mut self, x: Value, ty: Type) -> Value {
        let lane = ty.lane_type();
        if lane == I8 || lane == I16 {
            self.b.ins().ireduce(lane, x)
        } else {
            x
        }
    }

    /// `*.extract_lane`; `extend` gives the signedness for narrow integer lanes.
    fn extract_lane(
        &mut self,
        ty: Type,
        lane: u8,
        extend: Option<bool>,
    ) -> Result<(), CompileError> {
        let v = self.pop_lanes(ty)?;
        let x = self.b.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.b.ins().sextend(I32, x),
            Some(false) => self.b.ins().uextend(I32, x),
            None => x,
        };
        self.stack.push(x);
        Ok(())
    }

    /// `*.replace_lane`: the scalar is on top of the vector.
    fn replace_lane(&mut self, ty: Type, lane: u8) -> Result<(), CompileError> {
        let x = self.pop()?;
        let x = self.narrow_to_lane(x, ty);
        let v = self.pop_lanes(ty)?;
        let v = self.b.ins().insertlane(v, x, lane);
        self.push_v128(v);
        Ok(())
    }

    /// A reduction of lanes `ty` to a scalar by `op`, as an `i32` (zero-extended from the `i8`
    /// truth value when `truth`).
    fn lanes_to_i32(
        &mut self,
        ty: Type,
        op: impl FnOnce(&mut cranelift_frontend::FunctionBuilder<'_>, Value) -> Value,
        truth: bool,
    ) -> Result<(), CompileError> {
        let a = self.pop_lanes(ty)?;
        let x = op(&mut self.b, a);
        let x = if truth {
            self.b.ins().uextend(I32, x)
        } else {
            x
        };
        self.stack.push(x);
        Ok(())
    }

    // ---- shuffles ------------------------------------------------------------------------

    /// `i8x16.shuffle`: Cranelift's `shuffle`, or, when byte shuffles go through the builtin,
    /// one swizzle of each operand by the mask's lanes selecting from it, or-ed.
    fn shuffle(&mut self, lanes: [u8; 16]) -> Result<(), CompileError> {
        let (a, b) = self.pop2_lanes(I8X16)?;
        let v = if self.calls(Builtin::i8x16_swizzle_half) {
            // Selectors of 16 or more pick zero, so each half keeps only its own lanes.
            let from_a = lanes.map(|l| if l < 16 { l } else { 0xff });
            let from_b = lanes.map(|l| if l >= 16 { l - 16 } else { 0xff });
            let sel_a = self.v128_const(u128::from_le_bytes(from_a));
            let sel_b = self.v128_const(u128::from_le_bytes(from_b));
            let x = self.swizzle_via_builtin(a, sel_a)?;
            let y = self.swizzle_via_builtin(b, sel_b)?;
            self.b.ins().bor(x, y)
        } else {
            let mask = self.b.func.dfg.immediates.push(lanes.to_vec().into());
            self.b.ins().shuffle(a, b, mask)
        };
        self.push_v128(v);
        Ok(())
    }

    /// `i8x16.swizzle` of `a` by `sel` through two calls of `i8x16_swizzle_half`.
    fn swizzle_via_builtin(&mut self, a: Value, sel: Value) -> Result<Value, CompileError> {
        let a = self.as_lanes(a, I64X2);
        let sel = self.as_lanes(sel, I64X2);
        let lo = self.b.ins().extractlane(a, 0);
        let hi = self.b.ins().extractlane(a, 1);
        let sel_lo = self.b.ins().extractlane(sel, 0);
        let sel_hi = self.b.ins().extractlane(sel, 1);
        let out_lo = self.call_value(Builtin::i8x16_swizzle_half, &[lo, hi, sel_lo])?;
        let out_hi = self.call_value(Builtin::i8x16_swizzle_half, &[lo, hi, sel_hi])?;
        let v = self.b.ins().scalar_to_vector(I64X2, out_lo);
        Ok(self.b.ins().insertlane(v, out_hi, 1))
    }

    // ---- floats --------------------------------------------------------------------------

    /// A rounding of lanes `ty`: `op`, or each lane through the scalar builtin when the
    /// intrinsic set routes that rounding to it (x86-64 without SSE4.1, where Cranelift would
    /// call a libcall per lane).
    fn round(
        &mut self,
        ty: Type,
        builtin: Builtin,
        op: impl FnOnce(&mut cranelift_frontend::FunctionBuilder<'_>, Value) -> Value,
    ) -> Result<(), CompileError> {
        let mut v = self.pop_lanes(ty)?;
        if self.calls(builtin) {
            for lane in 0..ty.lane_count() as u8 {
                let x = self.b.ins().extractlane(v, lane);
                let y = self.call_value(builtin, &[x])?;
                v = self.b.ins().insertlane(v, y, lane);
            }
        } else {
            v = op(&mut self.b, v);
        }
        self.push_v128(v);
        Ok(())
    }

    /// `pmin` (`b < a ? b : a`) or `pmax` (`a < b ? b : a`), lane-wise.
    fn pseudo_min_max(&mut self, ty: Type, min: bool) -> Result<(), CompileError> {
        let (a, b) = self.pop2_lanes(ty)?;
        let mask = if min {
            self.b.ins().fcmp(FloatCC::LessThan, b, a)
        } else {
            self.b.ins().fcmp(FloatCC::LessThan, a, b)
        };
        let mask = self.as_lanes(mask, ty);
        let v = self.b.ins().bitselect(mask, b, a);
        self.push_v128(v);
        Ok(())
    }
}
