//! Intrinsic routing: which operations are compiled as calls to the intrinsic library (by
//! builtin index, from the compilation's [`IntrinsicSet`]), with the trapping checks kept in
//! the compiled code (division by zero and overflow, invalid float-to-int conversions), float
//! comparisons through `f32_cmp`/`f64_cmp`, an operation on an intrinsic's result taken into one
//! call (a sum of a product: `*_mul_add`; a comparison of an absolute value: `*_cmp` with an
//! `ABS_*` flag), and `*.const` operands loaded from the constant table (`constop`).

use std::collections::{HashMap, HashSet};

use aotc_abi::builtins::BUILTIN_COUNT;
use aotc_abi::intrinsics::{FloatCmp, IntrinsicSet};
use aotc_abi::{Builtin, TrapCode};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{
    Function, InstBuilder, InstructionData, MemFlagsData, Opcode, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

use super::Translator;
use crate::CompileError;
use crate::cl_abi::cl_trap;

/// The builtins whose operations `set` compiles as calls, by builtin index.
pub(crate) fn intrinsic_calls(set: IntrinsicSet) -> [bool; BUILTIN_COUNT] {
    let mut calls = [false; BUILTIN_COUNT];
    for b in Builtin::ALL {
        calls[b.index() as usize] = set.calls(*b);
    }
    calls
}

/// A unary operator: a call to the intrinsic `$builtin` when enabled, else `$op`.
macro_rules! unop_via {
    ($s:ident, $builtin:expr, $op:ident) => {{
        let a = $s.pop()?;
        let v = if $s.calls($builtin) {
            $s.call_value($builtin, &[a])?
        } else {
            $s.b.ins().$op(a)
        };
        $s.stack.push(v);
    }};
}

/// A binary operator: a call to the intrinsic `$builtin` when enabled, else `$op`; with an
/// [`Identity`], no call when a constant operand makes it the other operand.
macro_rules! binop_via {
    ($s:ident, $builtin:expr, $op:ident, $identity:expr) => {{
        let (a, b) = $s.pop2()?;
        let v = if !$s.calls($builtin) {
            $s.b.ins().$op(a, b)
        } else if let Some(v) = $s.identity_operand($identity, a, b) {
            v
        } else {
            $s.call_value($builtin, &[a, b])?
        };
        $s.stack.push(v);
    }};
    ($s:ident, $builtin:expr, $op:ident) => {{
        let (a, b) = $s.pop2()?;
        let v = if $s.calls($builtin) {
            $s.call_value($builtin, &[a, b])?
        } else {
            $s.b.ins().$op(a, b)
        };
        $s.stack.push(v);
    }};
}

/// A conversion to `$ty`: a call to the intrinsic `$builtin` when enabled, else `$op`.
macro_rules! conv_via {
    ($s:ident, $builtin:expr, $op:ident, $ty:expr) => {{
        let a = $s.pop()?;
        let v = if $s.calls($builtin) {
            $s.call_value($builtin, &[a])?
        } else {
            $s.b.ins().$op($ty, a)
        };
        $s.stack.push(v);
    }};
}

/// A call of a pure intrinsic that a later operation on its result may take in, one call doing
/// both: a product (`f32_mul`/`f64_mul`) taken in by a sum's `*_mul_add`, an absolute value
/// (`f32_abs`/`f64_abs`) by a comparison's `f32_cmp`/`f64_cmp`.
pub(super) struct FusableCall {
    builtin: Builtin,
    /// The call's operands (an absolute value's is repeated).
    args: [Value; 2],
    /// Whether a later call took it in.
    fused: bool,
}

/// Removes the calls of `fusable` (by result) that a later call took in and whose result
/// nothing else uses (intrinsics are pure), and from `builtins` those no call is left of.
pub(super) fn remove_fused_calls(
    func: &mut Function,
    fusable: &HashMap<Value, FusableCall>,
    builtins: &mut Vec<Builtin>,
) {
    if !fusable.values().any(|c| c.fused) {
        return;
    }
    let mut used = HashSet::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            used.extend(
                func.dfg
                    .inst_values(inst)
                    .map(|v| func.dfg.resolve_aliases(v)),
            );
        }
    }
    let mut removed = HashSet::new();
    let mut kept = HashSet::new();
    for (&v, call) in fusable {
        if call.fused && !used.contains(&v) {
            let inst = func.dfg.value_def(v).unwrap_inst();
            func.layout.remove_inst(inst);
            removed.insert(call.builtin);
        } else {
            kept.insert(call.builtin);
        }
    }
    builtins.retain(|b| !removed.contains(b) || kept.contains(b));
}

/// Integer division and remainder operators.
#[derive(Copy, Clone)]
pub(super) enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// The inputs a float-to-int truncation accepts, as limits on the float's magnitude bits (the
/// bits without the sign; for non-negative floats their order is the numbers' order), and the
/// bounds it saturates to. The checks are integer operations on the float's bits, so a
/// conversion costs no float comparison (no `f32_cmp`/`f64_cmp` call when those are intrinsics).
struct TruncRange {
    /// A non-negative input is in range when its magnitude bits are below this.
    pos_limit: u64,
    /// A negative input is in range when its magnitude bits are below this.
    neg_limit: u64,
    /// The integer's minimum and maximum (low bits of the integer type).
    min: u64,
    max: u64,
}

impl TruncRange {
    /// The range of a truncation from `float` to the `signed` or unsigned integer `int`.
    fn new(float: Type, int: Type, signed: bool) -> TruncRange {
        let bits = int.bits();
        // In range: lo <= x (lo_inclusive) or lo < x, and x < hi.
        let (lo, lo_inclusive, hi) = if signed {
            let min = -(2f64.powi(bits as i32 - 1));
            if float == F64 && int == I32 {
                // Doubles between MIN - 1 and MIN truncate to MIN.
                (min - 1.0, false, -min)
            } else {
                // The float just below MIN is more than 1 below it.
                (min, true, -min)
            }
        } else {
            (-1.0, false, 2f64.powi(bits as i32))
        };
        // Both bounds are exact in either float type.
        let magnitude_bits = |v: f64| {
            if float == F32 {
                u64::from((v.abs() as f32).to_bits())
            } else {
                v.abs().to_bits()
            }
        };
        let (min, max) = if signed {
            (1u64 << (bits - 1), (1u64 << (bits - 1)) - 1)
        } else {
            (0, u64::MAX >> (64 - bits))
        };
        TruncRange {
            pos_limit: magnitude_bits(hi),
            neg_limit: magnitude_bits(lo) + u64::from(lo_inclusive),
            min,
            max,
        }
    }
}

/// What a float-to-int conversion's input is, from its bits: NaN, out of range, and negative
/// (each a truth value).
struct TruncInput {
    nan: Value,
    out_of_range: Value,
    negative: Value,
}

impl Translator<'_, '_> {
    /// Whether the operation of `b`'s intrinsic is compiled as a call.
    pub(super) fn calls(&self, b: Builtin) -> bool {
        self.env.intrinsic_calls[b.index() as usize]
    }

    /// An integer constant of type `ty` (I32 or I64) with the low bits of `bits`.
    fn int_const(&mut self, ty: Type, bits: u64) -> Value {
        if ty == I32 {
            self.b.ins().iconst(I32, i64::from(bits as u32))
        } else {
            self.b.ins().iconst(ty, bits as i64)
        }
    }

    /// The wasm float comparison `cond` of `a` and `b` as a truth value (non-zero: holds), by
    /// `f32_cmp`/`f64_cmp` when that intrinsic is enabled, else by a native `fcmp`.
    fn float_cond(&mut self, cond: FloatCmp, a: Value, b: Value) -> Result<Value, CompileError> {
        let builtin = if self.b.func.dfg.value_type(a) == F32 {
            Builtin::f32_cmp
        } else {
            Builtin::f64_cmp
        };
        if self.calls(builtin) {
            // An operand that is an intrinsic absolute value is compared through the
            // comparison's `ABS_*` flag instead (`|x| < limit` guards every float-to-int
            // conversion clang emits without the non-trapping conversions).
            let abs = if builtin == Builtin::f32_cmp {
                Builtin::f32_abs
            } else {
                Builtin::f64_abs
            };
            let mut code = cond as i32;
            let mut args = [a, b];
            for (arg, flag) in args.iter_mut().zip([FloatCmp::ABS_A, FloatCmp::ABS_B]) {
                if let Some([x, _]) = self.fuse(*arg, abs) {
                    *arg = x;
                    code |= flag;
                }
            }
            let code = self.iconst32(code);
            return self.call_value(builtin, &[code, args[0], args[1]]);
        }
        let cc = match cond {
            FloatCmp::Eq => FloatCC::Equal,
            FloatCmp::Ne => FloatCC::NotEqual,
            FloatCmp::Lt => FloatCC::LessThan,
            FloatCmp::Gt => FloatCC::GreaterThan,
            FloatCmp::Le => FloatCC::LessThanOrEqual,
            FloatCmp::Ge => FloatCC::GreaterThanOrEqual,
        };
        Ok(self.b.ins().fcmp(cc, a, b))
    }

    /// `f32.eq` ... `f64.ge`: pushes 1 or 0 (i32).
    pub(super) fn float_compare(&mut self, cond: FloatCmp) -> Result<(), CompileError> {
        let (a, b) = self.pop2()?;
        let c = self.float_cond(cond, a, b)?;
        let v = if self.b.func.dfg.value_type(c) == I32 {
            c
        } else {
            self.b.ins().uextend(I32, c)
        };
        self.stack.push(v);
        Ok(())
    }

    /// A float-to-int truncation to `int` (trapping, or saturating with `sat`), through the
    /// raw intrinsic `b` when enabled: NaN and out-of-range inputs are handled here, by float
    /// comparisons, and only in-range values reach the intrinsic.
    pub(super) fn float_to_int(
        &mut self,
        b: Builtin,
        int: Type,
        signed: bool,
        sat: bool,
    ) -> Result<(), CompileError> {
        let x = self.pop()?;
        let v = if !self.calls(b) {
            let ins = self.b.ins();
            match (signed, sat) {
                (true, false) => ins.fcvt_to_sint(int, x),
                (false, false) => ins.fcvt_to_uint(int, x),
                (true, true) => ins.fcvt_to_sint_sat(int, x),
                (false, true) => ins.fcvt_to_uint_sat(int, x),
            }
        } else {
            let float = self.b.func.dfg.value_type(x);
            let range = TruncRange::new(float, int, signed);
            if sat {
                self.saturating_float_to_int(b, x, int, &range)?
            } else {
                self.trapping_float_to_int(b, x, &range)?
            }
        };
        self.stack.push(v);
        Ok(())
    }

    /// Classifies the float `x` for a truncation to `range` by integer operations on its bits.
    fn trunc_input(&mut self, x: Value, range: &TruncRange) -> TruncInput {
        let (ity, magnitude_mask, infinity) = if self.b.func.dfg.value_type(x) == F32 {
            (I32, 0x7fff_ffff, 0x7f80_0000)
        } else {
            (I64, i64::MAX as u64, 0x7ff0_0000_0000_0000)
        };
        let bits = self.b.ins().bitcast(ity, MemFlagsData::new(), x);
        let mask = self.int_const(ity, magnitude_mask);
        let magnitude = self.b.ins().band(bits, mask);
        let negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, bits, 0);
        let pos_limit = self.int_const(ity, range.pos_limit);
        let neg_limit = self.int_const(ity, range.neg_limit);
        let limit = self.b.ins().select(negative, neg_limit, pos_limit);
        let out_of_range = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, magnitude, limit);
        let infinity = self.int_const(ity, infinity);
        let nan = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, magnitude, infinity);
        TruncInput {
            nan,
            out_of_range,
            negative,
        }
    }

    /// `x` converted by intrinsic `b` after trapping on NaN and out-of-range inputs.
    fn trapping_float_to_int(
        &mut self,
        b: Builtin,
        x: Value,
        range: &TruncRange,
    ) -> Result<Value, CompileError> {
        let input = self.trunc_input(x, range);
        self.b
            .ins()
            .trapnz(input.nan, cl_trap(TrapCode::BadConversionToInteger));
        self.b
            .ins()
            .trapnz(input.out_of_range, cl_trap(TrapCode::IntegerOverflow));
        self.call_value(b, &[x])
    }

    /// `x` converted to `int` saturating: NaN -> 0, below -> MIN, above -> MAX, else by
    /// intrinsic `b`.
    fn saturating_float_to_int(
        &mut self,
        b: Builtin,
        x: Value,
        int: Type,
        range: &TruncRange,
    ) -> Result<Value, CompileError> {
        let done = self.new_block(&[int]);
        let input = self.trunc_input(x, range);
        let zero = self.int_const(int, 0);
        self.branch_out(input.nan, done, zero);
        let below = self.b.ins().band(input.out_of_range, input.negative);
        let min = self.int_const(int, range.min);
        self.branch_out(below, done, min);
        let max = self.int_const(int, range.max);
        self.branch_out(input.out_of_range, done, max);
        let v = self.call_value(b, &[x])?;
        self.jump(done, &[v]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        let v = self.b.block_params(done).first().copied();
        v.ok_or_else(|| self.internal("saturating truncation without a result"))
    }

    /// Integer division or remainder through intrinsic `b` when enabled: the division by zero
    /// (and, for `div_s`, the `MIN / -1` overflow) traps are checked here.
    pub(super) fn int_div(&mut self, b: Builtin, op: DivOp) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        let v = if self.calls(b) {
            let ty = self.b.func.dfg.value_type(x);
            self.b
                .ins()
                .trapz(y, cl_trap(TrapCode::IntegerDivisionByZero));
            if let DivOp::DivS = op {
                let min = if ty == I32 {
                    i64::from(i32::MIN)
                } else {
                    i64::MIN
                };
                let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, x, min);
                let is_minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                let overflow = self.b.ins().band(is_min, is_minus_one);
                self.b
                    .ins()
                    .trapnz(overflow, cl_trap(TrapCode::IntegerOverflow));
            }
            self.call_value(b, &[x, y])?
        } else {
            let ins = self.b.ins();
            match op {
                DivOp::DivS => ins.sdiv(x, y),
                DivOp::DivU => ins.udiv(x, y),
                DivOp::RemS => ins.srem(x, y),
                DivOp::RemU => ins.urem(x, y),
            }
        };
        self.stack.push(v);
        Ok(())
    }

    /// Calls the pure intrinsic `builtin` on `args` (one operand or two), and records the call
    /// so that a later operation on its result may take it in ([`Self::fuse`]).
    fn call_fusable(&mut self, builtin: Builtin, args: &[Value]) -> Result<Value, CompileError> {
        let v = self.call_value(builtin, args)?;
        let args = match *args {
            [a] => [a, a],
            [a, b] => [a, b],
            _ => return Err(self.internal("a fusable intrinsic takes one or two operands")),
        };
        let call = FusableCall {
            builtin,
            args,
            fused: false,
        };
        self.fusable.insert(v, call);
        Ok(v)
    }

    /// The operands of the call of `builtin` that gave `v`, if it was recorded as fusable; the
    /// caller takes it in.
    fn fuse(&mut self, v: Value, builtin: Builtin) -> Option<[Value; 2]> {
        let call = self.fusable.get_mut(&v).filter(|c| c.builtin == builtin)?;
        call.fused = true;
        Some(call.args)
    }

    /// `f32.abs`/`f64.abs` through intrinsic `abs` when enabled; a comparison of the result
    /// may take it in ([`Self::float_cond`]).
    pub(super) fn float_abs(&mut self, abs: Builtin) -> Result<(), CompileError> {
        let x = self.pop()?;
        let v = if self.calls(abs) {
            self.call_fusable(abs, &[x])?
        } else {
            self.b.ins().fabs(x)
        };
        self.stack.push(v);
        Ok(())
    }

    /// `f32.mul`/`f64.mul` through intrinsic `mul` when enabled; a sum or difference of the
    /// product may take it in ([`Self::float_sum`]).
    pub(super) fn float_product(&mut self, mul: Builtin) -> Result<(), CompileError> {
        let (a, b) = self.pop2()?;
        let v = if self.calls(mul) {
            self.call_fusable(mul, &[a, b])?
        } else {
            self.b.ins().fmul(a, b)
        };
        self.stack.push(v);
        Ok(())
    }

    /// `f32.add`/`f64.add` (`subtract`: `sub`) through intrinsic `op` when enabled. When an
    /// operand is an intrinsic product `a * b` (a call of `mul`), the operation is one call of
    /// `mul_add`, which rounds the product and the sum exactly as the two calls would:
    /// `x + a*b` and `a*b + x` as `mul_add(a, b, x)`, `x - a*b` as `mul_add(-a, b, x)` and
    /// `a*b - x` as `mul_add(a, b, -x)` (negation is exact, and `x - y` is `x + (-y)`). The
    /// product's own call stays for its other uses, if any ([`remove_fused_calls`]).
    pub(super) fn float_sum(
        &mut self,
        op: Builtin,
        mul: Builtin,
        mul_add: Builtin,
        subtract: bool,
    ) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        if !self.calls(op) {
            let v = if subtract {
                self.b.ins().fsub(x, y)
            } else {
                self.b.ins().fadd(x, y)
            };
            self.stack.push(v);
            return Ok(());
        }
        let args = if let Some([a, b]) = self.fuse(y, mul) {
            let a = if subtract { self.b.ins().fneg(a) } else { a };
            Some([a, b, x])
        } else if let Some([a, b]) = self.fuse(x, mul) {
            let y = if subtract { self.b.ins().fneg(y) } else { y };
            Some([a, b, y])
        } else {
            None
        };
        let v = match args {
            Some(args) => self.call_value(mul_add, &args)?,
            None => self.call_value(op, &[x, y])?,
        };
        self.stack.push(v);
        Ok(())
    }

    /// A wasm `*.const`: from the constant table when it is one the table holds (`constop`),
    /// else materialised by `native`.
    pub(super) fn constant(
        &mut self,
        op: &Operator<'_>,
        ty: Type,
        native: impl FnOnce(&mut FunctionBuilder<'_>) -> Value,
    ) -> Result<(), CompileError> {
        let v = match self.env.constants.offset_of(op)? {
            Some(offset) => {
                let table = self.vmctx_ptr(self.offsets.constants());
                // Target byte order (the default), read-only for the instance's life.
                self.b
                    .ins()
                    .load(ty, MemFlagsData::trusted().with_readonly(), table, offset)
            }
            None => native(&mut self.b),
        };
        self.stack.push(v);
        Ok(())
    }

    /// The operand `a op b` equals when the other one is the integer constant that is `op`'s
    /// identity (`x | 0`, `x << 0`, `x * 1`, `x & -1`, either side when `op` is commutative).
    /// Cranelift folds these for a native operation; an operation that is an intrinsic call
    /// asks here, so that it makes no call.
    pub(super) fn identity_operand(&self, identity: Identity, a: Value, b: Value) -> Option<Value> {
        let width_mask = match self.b.func.dfg.value_type(a) {
            I32 => u64::from(u32::MAX),
            _ => u64::MAX,
        };
        let (value, commutative) = match identity {
            Identity::Zero { commutative } => (0, commutative),
            Identity::One => (1, true),
            Identity::AllOnes => (width_mask, true),
        };
        let dfg = &self.b.func.dfg;
        let is_identity = |v: Value| {
            dfg.value_def(v).inst().is_some_and(|inst| {
                matches!(dfg.insts[inst], InstructionData::UnaryImm {
                    opcode: Opcode::Iconst,
                    imm,
                } if imm.bits() as u64 & width_mask == value)
            })
        };
        if is_identity(b) {
            Some(a)
        } else if commutative && is_identity(a) {
            Some(b)
        } else {
            None
        }
    }
}

/// The identity value of an integer operation, for [`Translator::identity_operand`].
#[derive(Copy, Clone)]
pub(super) enum Identity {
    /// 0: `or` (commutative), the shifts (not).
    Zero { commutative: bool },
    /// 1: `mul`.
    One,
    /// All ones: `and`.
    AllOnes,
}
