//! The operand stack and locals of a function being translated, and the small value helpers
//! every operator uses.

use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{F32, F64, I32};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::Variable;

use super::Translator;
use crate::CompileError;
use crate::cl_abi::V128;

impl Translator<'_, '_> {
    /// Pops the top operand.
    pub(super) fn pop(&mut self) -> Result<Value, CompileError> {
        self.stack
            .pop()
            .ok_or_else(|| self.internal("operand stack underflow"))
    }

    /// Pops two operands; the second was on top.
    pub(super) fn pop2(&mut self) -> Result<(Value, Value), CompileError> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    /// Pops three operands; the third was on top.
    pub(super) fn pop3(&mut self) -> Result<(Value, Value, Value), CompileError> {
        let c = self.pop()?;
        let (a, b) = self.pop2()?;
        Ok((a, b, c))
    }

    /// Pops the top `n` operands, deepest first.
    pub(super) fn popn(&mut self, n: usize) -> Result<Vec<Value>, CompileError> {
        let start = self.stack_base(n)?;
        Ok(self.stack.split_off(start))
    }

    /// The top `n` operands, deepest first, left on the stack.
    pub(super) fn peekn(&self, n: usize) -> Result<Vec<Value>, CompileError> {
        let start = self.stack_base(n)?;
        Ok(self.stack[start..].to_vec())
    }

    /// The operand stack height below the top `n` operands.
    pub(super) fn stack_base(&self, n: usize) -> Result<usize, CompileError> {
        self.stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.internal("operand stack underflow"))
    }

    /// The variable of local `index` (parameters first).
    pub(super) fn local(&self, index: u32) -> Result<Variable, CompileError> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| self.internal("local index out of range"))
    }

    /// A zero of type `ty`.
    pub(super) fn zero(&mut self, ty: Type) -> Value {
        match ty {
            F32 => self.b.ins().f32const(Ieee32::with_bits(0)),
            F64 => self.b.ins().f64const(Ieee64::with_bits(0)),
            V128 => self.v128_const(0),
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    /// A `v128` constant (lane 0 in the low bits).
    pub(super) fn v128_const(&mut self, v: u128) -> Value {
        let handle = self
            .b
            .func
            .dfg
            .constants
            .insert(v.to_le_bytes().to_vec().into());
        self.b.ins().vconst(V128, handle)
    }

    /// An `i32` constant.
    pub(super) fn iconst32(&mut self, v: i32) -> Value {
        self.b.ins().iconst(I32, i64::from(v as u32))
    }
}
