//! Operator semantics: one match giving every supported scalar wasm operator its Cranelift IR,
//! or the environment, control or intrinsic-routing step that lowers it; everything else goes
//! to the `v128` match in [`simd`](super::simd), which rejects what is not SIMD.

use aotc_abi::intrinsics::FloatCmp;
use aotc_abi::{Builtin, Builtin as B, TrapCode};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{F32, F64, I8, I16, I32, I64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type};
use wasmparser::Operator;

use super::Translator;
use super::environ::Ext;
use super::intrinsics::{DivOp, Identity};
use crate::CompileError;
use crate::cl_abi::cl_trap;

/// The identity of `or`: 0 on either side.
const ZERO: Identity = Identity::Zero { commutative: true };
/// The identity of the shifts: 0 on the right.
const ZERO_RIGHT: Identity = Identity::Zero { commutative: false };

/// A unary operator: `$op`.
macro_rules! unop {
    ($s:ident, $op:ident) => {{
        let a = $s.pop()?;
        let v = $s.b.ins().$op(a);
        $s.stack.push(v);
    }};
}

/// A binary operator: `$op`.
macro_rules! binop {
    ($s:ident, $op:ident) => {{
        let (a, b) = $s.pop2()?;
        let v = $s.b.ins().$op(a, b);
        $s.stack.push(v);
    }};
}

/// An integer comparison with condition `$cc`, as an `i32` 0 or 1.
macro_rules! icmp {
    ($s:ident, $cc:expr) => {{
        let (a, b) = $s.pop2()?;
        let c = $s.b.ins().icmp($cc, a, b);
        let v = $s.b.ins().uextend(I32, c);
        $s.stack.push(v);
    }};
}

/// A conversion to `$ty` by `$op`.
macro_rules! conv {
    ($s:ident, $op:ident, $ty:expr) => {{
        let a = $s.pop()?;
        let v = $s.b.ins().$op($ty, a);
        $s.stack.push(v);
    }};
}

impl Translator<'_, '_> {
    /// Translates one reachable operator.
    pub(super) fn operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        match op {
            O::Unreachable => {
                self.b.ins().trap(cl_trap(TrapCode::UnreachableCodeReached));
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => self.block(blockty)?,
            O::Loop { blockty } => self.loop_(blockty)?,
            O::If { blockty } => self.if_(blockty)?,
            O::Else => self.else_()?,
            O::End => self.end()?,
            O::Br { relative_depth } => self.br(relative_depth)?,
            O::BrIf { relative_depth } => self.br_if(relative_depth)?,
            O::BrTable { targets } => self.br_table(targets)?,
            O::Return => self.return_()?,
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index)?,
            O::Drop => {
                self.pop()?;
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop()?;
                let (a, b) = self.pop2()?;
                let v = self.b.ins().select(cond, a, b);
                self.stack.push(v);
            }
            O::LocalGet { local_index } => {
                let var = self.local(local_index)?;
                let v = self.b.use_var(var);
                self.stack.push(v);
            }
            O::LocalSet { local_index } => {
                let var = self.local(local_index)?;
                let v = self.pop()?;
                self.b.def_var(var, v);
            }
            O::LocalTee { local_index } => {
                let var = self.local(local_index)?;
                let v = *self
                    .stack
                    .last()
                    .ok_or_else(|| self.internal("operand stack underflow"))?;
                self.b.def_var(var, v);
            }
            O::GlobalGet { global_index } => self.global_get(global_index)?,
            O::GlobalSet { global_index } => self.global_set(global_index)?,

            O::I32Load { memarg } => self.load(&memarg, I32, Ext::None)?,
            O::I64Load { memarg } => self.load(&memarg, I64, Ext::None)?,
            O::F32Load { memarg } => self.load(&memarg, F32, Ext::None)?,
            O::F64Load { memarg } => self.load(&memarg, F64, Ext::None)?,
            O::I32Load8S { memarg } => self.load(&memarg, I32, Ext::S8)?,
            O::I32Load8U { memarg } => self.load(&memarg, I32, Ext::U8)?,
            O::I32Load16S { memarg } => self.load(&memarg, I32, Ext::S16)?,
            O::I32Load16U { memarg } => self.load(&memarg, I32, Ext::U16)?,
            O::I64Load8S { memarg } => self.load(&memarg, I64, Ext::S8)?,
            O::I64Load8U { memarg } => self.load(&memarg, I64, Ext::U8)?,
            O::I64Load16S { memarg } => self.load(&memarg, I64, Ext::S16)?,
            O::I64Load16U { memarg } => self.load(&memarg, I64, Ext::U16)?,
            O::I64Load32S { memarg } => self.load(&memarg, I64, Ext::S32)?,
            O::I64Load32U { memarg } => self.load(&memarg, I64, Ext::U32)?,
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.store(&memarg, None)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(&memarg, Some(8))?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(&memarg, Some(16))?,
            O::I64Store32 { memarg } => self.store(&memarg, Some(32))?,
            O::MemorySize { mem } => self.memory_size(mem)?,
            O::MemoryGrow { mem } => self.memory_grow(mem)?,

            O::I32Const { value } => {
                self.constant(&op, I32, |b| b.ins().iconst(I32, i64::from(value as u32)))?
            }
            O::I64Const { value } => self.constant(&op, I64, |b| b.ins().iconst(I64, value))?,
            O::F32Const { value } => self.constant(&op, F32, |b| {
                b.ins().f32const(Ieee32::with_bits(value.bits()))
            })?,
            O::F64Const { value } => self.constant(&op, F64, |b| {
                b.ins().f64const(Ieee64::with_bits(value.bits()))
            })?,

            O::I32Eqz | O::I64Eqz => self.eqz()?,
            O::I32Eq | O::I64Eq => icmp!(self, IntCC::Equal),
            O::I32Ne | O::I64Ne => icmp!(self, IntCC::NotEqual),
            O::I32LtS | O::I64LtS => icmp!(self, IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => icmp!(self, IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => icmp!(self, IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => icmp!(self, IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => icmp!(self, IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => icmp!(self, IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => icmp!(self, IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => icmp!(self, IntCC::UnsignedGreaterThanOrEqual),

            O::F32Eq | O::F64Eq => self.float_compare(FloatCmp::Eq)?,
            O::F32Ne | O::F64Ne => self.float_compare(FloatCmp::Ne)?,
            O::F32Lt | O::F64Lt => self.float_compare(FloatCmp::Lt)?,
            O::F32Gt | O::F64Gt => self.float_compare(FloatCmp::Gt)?,
            O::F32Le | O::F64Le => self.float_compare(FloatCmp::Le)?,
            O::F32Ge | O::F64Ge => self.float_compare(FloatCmp::Ge)?,

            O::I32Clz => unop_via!(self, Builtin::i32_clz, clz),
            O::I64Clz => unop_via!(self, Builtin::i64_clz, clz),
            O::I32Ctz => unop_via!(self, Builtin::i32_ctz, ctz),
            O::I64Ctz => unop_via!(self, Builtin::i64_ctz, ctz),
            O::I32Popcnt => unop_via!(self, Builtin::i32_popcnt, popcnt),
            O::I64Popcnt => unop_via!(self, Builtin::i64_popcnt, popcnt),
            O::I32Add | O::I64Add => binop!(self, iadd),
            O::I32Sub | O::I64Sub => binop!(self, isub),
            O::I32Mul => binop!(self, imul),
            O::I64Mul => binop_via!(self, Builtin::i64_mul, imul, Identity::One),
            O::I32DivS => self.int_div(Builtin::i32_div_s, DivOp::DivS)?,
            O::I64DivS => self.int_div(Builtin::i64_div_s, DivOp::DivS)?,
            O::I32DivU => self.int_div(Builtin::i32_div_u, DivOp::DivU)?,
            O::I64DivU => self.int_div(Builtin::i64_div_u, DivOp::DivU)?,
            O::I32RemS => self.int_div(Builtin::i32_rem_s, DivOp::RemS)?,
            O::I64RemS => self.int_div(Builtin::i64_rem_s, DivOp::RemS)?,
            O::I32RemU => self.int_div(Builtin::i32_rem_u, DivOp::RemU)?,
            O::I64RemU => self.int_div(Builtin::i64_rem_u, DivOp::RemU)?,
            O::I32And => binop!(self, band),
            O::I64And => binop_via!(self, Builtin::i64_and, band, Identity::AllOnes),
            O::I32Or => binop!(self, bor),
            O::I64Or => binop_via!(self, Builtin::i64_or, bor, ZERO),
            O::I32Xor | O::I64Xor => binop!(self, bxor),
            O::I32Shl => binop!(self, ishl),
            O::I64Shl => binop_via!(self, Builtin::i64_shl, ishl, ZERO_RIGHT),
            O::I32ShrS => binop!(self, sshr),
            O::I64ShrS => binop_via!(self, Builtin::i64_shr_s, sshr, ZERO_RIGHT),
            O::I32ShrU => binop!(self, ushr),
            O::I64ShrU => binop_via!(self, Builtin::i64_shr_u, ushr, ZERO_RIGHT),
            O::I32Rotl | O::I64Rotl => binop!(self, rotl),
            O::I32Rotr | O::I64Rotr => binop!(self, rotr),

            O::F32Abs => self.float_abs(Builtin::f32_abs)?,
            O::F64Abs => self.float_abs(Builtin::f64_abs)?,
            O::F32Neg | O::F64Neg => unop!(self, fneg),
            O::F32Sqrt => unop_via!(self, Builtin::f32_sqrt, sqrt),
            O::F64Sqrt => unop_via!(self, Builtin::f64_sqrt, sqrt),
            O::F32Ceil => unop_via!(self, Builtin::f32_ceil, ceil),
            O::F32Floor => unop_via!(self, Builtin::f32_floor, floor),
            O::F32Trunc => unop_via!(self, Builtin::f32_trunc, trunc),
            O::F32Nearest => unop_via!(self, Builtin::f32_nearest, nearest),
            O::F64Ceil => unop_via!(self, Builtin::f64_ceil, ceil),
            O::F64Floor => unop_via!(self, Builtin::f64_floor, floor),
            O::F64Trunc => unop_via!(self, Builtin::f64_trunc, trunc),
            O::F64Nearest => unop_via!(self, Builtin::f64_nearest, nearest),
            O::F32Add => self.float_sum(B::f32_add, B::f32_mul, B::f32_mul_add, false)?,
            O::F64Add => self.float_sum(B::f64_add, B::f64_mul, B::f64_mul_add, false)?,
            O::F32Sub => self.float_sum(B::f32_sub, B::f32_mul, B::f32_mul_add, true)?,
            O::F64Sub => self.float_sum(B::f64_sub, B::f64_mul, B::f64_mul_add, true)?,
            O::F32Mul => self.float_product(Builtin::f32_mul)?,
            O::F64Mul => self.float_product(Builtin::f64_mul)?,
            O::F32Div => binop_via!(self, Builtin::f32_div, fdiv),
            O::F64Div => binop_via!(self, Builtin::f64_div, fdiv),
            O::F32Min => binop_via!(self, Builtin::f32_min, fmin),
            O::F64Min => binop_via!(self, Builtin::f64_min, fmin),
            O::F32Max => binop_via!(self, Builtin::f32_max, fmax),
            O::F64Max => binop_via!(self, Builtin::f64_max, fmax),
            O::F32Copysign => binop_via!(self, Builtin::f32_copysign, fcopysign),
            O::F64Copysign => binop_via!(self, Builtin::f64_copysign, fcopysign),

            O::I32WrapI64 => conv!(self, ireduce, I32),
            O::I64ExtendI32S => conv!(self, sextend, I64),
            O::I64ExtendI32U => conv!(self, uextend, I64),
            O::I32TruncF32S => self.float_to_int(Builtin::i32_trunc_f32_s, I32, true, false)?,
            O::I32TruncF64S => self.float_to_int(Builtin::i32_trunc_f64_s, I32, true, false)?,
            O::I32TruncF32U => self.float_to_int(Builtin::i32_trunc_f32_u, I32, false, false)?,
            O::I32TruncF64U => self.float_to_int(Builtin::i32_trunc_f64_u, I32, false, false)?,
            O::I64TruncF32S => self.float_to_int(Builtin::i64_trunc_f32_s, I64, true, false)?,
            O::I64TruncF64S => self.float_to_int(Builtin::i64_trunc_f64_s, I64, true, false)?,
            O::I64TruncF32U => self.float_to_int(Builtin::i64_trunc_f32_u, I64, false, false)?,
            O::I64TruncF64U => self.float_to_int(Builtin::i64_trunc_f64_u, I64, false, false)?,
            O::I32TruncSatF32S => self.float_to_int(Builtin::i32_trunc_f32_s, I32, true, true)?,
            O::I32TruncSatF64S => self.float_to_int(Builtin::i32_trunc_f64_s, I32, true, true)?,
            O::I32TruncSatF32U => self.float_to_int(Builtin::i32_trunc_f32_u, I32, false, true)?,
            O::I32TruncSatF64U => self.float_to_int(Builtin::i32_trunc_f64_u, I32, false, true)?,
            O::I64TruncSatF32S => self.float_to_int(Builtin::i64_trunc_f32_s, I64, true, true)?,
            O::I64TruncSatF64S => self.float_to_int(Builtin::i64_trunc_f64_s, I64, true, true)?,
            O::I64TruncSatF32U => self.float_to_int(Builtin::i64_trunc_f32_u, I64, false, true)?,
            O::I64TruncSatF64U => self.float_to_int(Builtin::i64_trunc_f64_u, I64, false, true)?,
            O::F32ConvertI32S => {
                conv_via!(self, Builtin::f32_convert_i32_s, fcvt_from_sint, F32)
            }
            O::F32ConvertI64S => {
                conv_via!(self, Builtin::f32_convert_i64_s, fcvt_from_sint, F32)
            }
            O::F32ConvertI32U => {
                conv_via!(self, Builtin::f32_convert_i32_u, fcvt_from_uint, F32)
            }
            O::F32ConvertI64U => {
                conv_via!(self, Builtin::f32_convert_i64_u, fcvt_from_uint, F32)
            }
            O::F64ConvertI32S => {
                conv_via!(self, Builtin::f64_convert_i32_s, fcvt_from_sint, F64)
            }
            O::F64ConvertI64S => {
                conv_via!(self, Builtin::f64_convert_i64_s, fcvt_from_sint, F64)
            }
            O::F64ConvertI32U => {
                conv_via!(self, Builtin::f64_convert_i32_u, fcvt_from_uint, F64)
            }
            O::F64ConvertI64U => {
                conv_via!(self, Builtin::f64_convert_i64_u, fcvt_from_uint, F64)
            }
            O::F32DemoteF64 => conv_via!(self, Builtin::f32_demote_f64, fdemote, F32),
            O::F64PromoteF32 => conv_via!(self, Builtin::f64_promote_f32, fpromote, F64),
            O::I32ReinterpretF32 => self.bitcast(I32)?,
            O::I64ReinterpretF64 => self.bitcast(I64)?,
            O::F32ReinterpretI32 => self.bitcast(F32)?,
            O::F64ReinterpretI64 => self.bitcast(F64)?,
            O::I32Extend8S => self.sign_extend(I8, I32)?,
            O::I32Extend16S => self.sign_extend(I16, I32)?,
            O::I64Extend8S => self.sign_extend(I8, I64)?,
            O::I64Extend16S => self.sign_extend(I16, I64)?,
            O::I64Extend32S => self.sign_extend(I32, I64)?,

            O::RefNull { .. } => {
                let v = self.b.ins().iconst(self.pointer, 0);
                self.stack.push(v);
            }
            O::RefIsNull => self.eqz()?,
            O::RefFunc { function_index } => self.ref_func(function_index)?,
            O::TableGet { table } => self.table_get(table)?,
            O::TableSet { table } => self.table_set(table)?,
            O::TableSize { table } => self.table_size(table)?,
            O::TableGrow { table } => self.table_grow(table)?,
            O::TableFill { table } => self.table_fill(table)?,
            O::TableCopy {
                dst_table,
                src_table,
            } => self.table_copy(dst_table, src_table)?,
            O::TableInit { elem_index, table } => self.table_init(elem_index, table)?,
            O::ElemDrop { elem_index } => self.elem_drop(elem_index)?,
            O::MemoryInit { data_index, mem } => self.memory_init(data_index, mem)?,
            O::DataDrop { data_index } => self.data_drop(data_index)?,
            O::MemoryCopy { dst_mem, src_mem } => self.memory_copy(dst_mem, src_mem)?,
            O::MemoryFill { mem } => self.memory_fill(mem)?,

            other => self.simd_operator(other)?,
        }
        Ok(())
    }

    /// `*.extendN_s`: sign-extends the low `from` bits to `to`.
    fn sign_extend(&mut self, from: Type, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let narrow = self.b.ins().ireduce(from, x);
        let v = self.b.ins().sextend(to, narrow);
        self.stack.push(v);
        Ok(())
    }

    /// `*.eqz` and `ref.is_null`: 1 if the operand is zero.
    fn eqz(&mut self) -> Result<(), CompileError> {
        let x = self.pop()?;
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        let v = self.b.ins().uextend(I32, c);
        self.stack.push(v);
        Ok(())
    }

    /// `*.reinterpret_*`.
    fn bitcast(&mut self, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), x);
        self.stack.push(v);
        Ok(())
    }
}
