//! aotc's ABI ([`aotc_abi`]) mapped onto Cranelift: value types, the signatures of wasm
//! functions and builtins, trap codes both ways, and the namespaces of external names.

use aotc_abi::builtins::BuiltinType;
use aotc_abi::{Builtin, TrapCode, ValType};
use aotc_format::write::FuncType;
use cranelift_codegen::ir::types::{F32, F64, I8X16, I32, I64};
use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, Endianness, MemFlagsData, Signature, Type,
};
use cranelift_codegen::isa::CallConv;

/// External-name namespace of the module's own functions (index: function index).
pub(crate) const NS_FUNC: u32 = 0;
/// External-name namespace of builtins (index: [`Builtin::index`]).
pub(crate) const NS_BUILTIN: u32 = 1;
/// External-name namespace of trampolines (index: twice the type index, plus one for the exit
/// trampoline; only seen in IR dumps).
pub(crate) const NS_TRAMPOLINE: u32 = 2;

/// The Cranelift type every `v128` value has outside a single operation (operand stack,
/// locals, block parameters, signatures): operations bitcast to their lane type.
pub(crate) const V128: Type = I8X16;

/// Cranelift type of a wasm value type.
pub(crate) fn ir_type(t: ValType, pointer: Type) -> Type {
    match t {
        ValType::I32 => I32,
        ValType::I64 => I64,
        ValType::F32 => F32,
        ValType::F64 => F64,
        ValType::V128 => V128,
        ValType::FuncRef | ValType::ExternRef => pointer,
    }
}

/// Flags for moving a `v128` between memory or registers and a differently-laned view:
/// lanes are numbered in little-endian byte order, as wasm numbers them, on every target.
pub(crate) fn v128_flags(base: MemFlagsData) -> MemFlagsData {
    base.with_endianness(Endianness::Little)
}

/// The Cranelift signature of a wasm function type: `(vmctx, params...) -> results`.
pub(crate) fn wasm_signature(ty: &FuncType, pointer: Type, cc: CallConv) -> Signature {
    let mut sig = Signature::new(cc);
    sig.params
        .push(AbiParam::special(pointer, ArgumentPurpose::VMContext));
    for p in &ty.params {
        sig.params.push(AbiParam::new(ir_type(*p, pointer)));
    }
    for r in &ty.results {
        sig.returns.push(AbiParam::new(ir_type(*r, pointer)));
    }
    sig
}

/// The Cranelift signature of a builtin, called with convention `cc` (the target's
/// [`Target::builtin_call_conv`](crate::isa::Target::builtin_call_conv)); 32-bit integer
/// arguments are sign-extended as C requires on targets that care.
pub(crate) fn builtin_signature(b: Builtin, pointer: Type, cc: CallConv) -> Signature {
    let param = |t: &BuiltinType| match t {
        BuiltinType::Vmctx => AbiParam::new(pointer),
        BuiltinType::I32 => AbiParam::new(I32).sext(),
        BuiltinType::I64 => AbiParam::new(I64),
        BuiltinType::F32 => AbiParam::new(F32),
        BuiltinType::F64 => AbiParam::new(F64),
    };
    let mut sig = Signature::new(cc);
    sig.params.extend(b.params().iter().map(param));
    sig.returns.extend(b.results().iter().map(param));
    sig
}

/// The Cranelift trap code for an ABI trap code.
pub(crate) fn cl_trap(code: TrapCode) -> ir::TrapCode {
    match code {
        TrapCode::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapCode::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapCode::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapCode::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        // ABI codes are 1..=12, far below Cranelift's reserved range.
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// The ABI trap code of a Cranelift trap code.
pub(crate) fn abi_trap(code: ir::TrapCode) -> Option<TrapCode> {
    Some(match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        other => return TrapCode::from_u8(other.as_raw().get()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip() {
        for code in TrapCode::ALL {
            assert_eq!(abi_trap(cl_trap(code)), Some(code));
        }
        assert_eq!(
            cl_trap(TrapCode::MemoryOutOfBounds),
            ir::TrapCode::HEAP_OUT_OF_BOUNDS
        );
        assert_eq!(abi_trap(ir::TrapCode::unwrap_user(200)), None);
    }

    #[test]
    fn builtin_signatures_follow_the_abi() {
        let sig = builtin_signature(Builtin::table_grow, I64, CallConv::SystemV);
        let params: Vec<Type> = sig.params.iter().map(|p| p.value_type).collect();
        assert_eq!(params, [I64, I32, I64, I32]);
        assert_eq!(sig.returns.len(), 1);
        let sig = builtin_signature(Builtin::f64_nearest, I64, CallConv::SystemV);
        assert_eq!(sig.params[0].value_type, F64);
        assert_eq!(sig.returns[0].value_type, F64);
    }
}
