//! The host trampolines of a function type (see [`aotc_abi::trampoline`]): the entry trampoline
//! `extern "C" fn(code, vmctx, values)` and the exit trampoline with the wasm signature that
//! calls the host context's callback. Both are relocation-free.

use aotc_abi::trampoline::HOST_CTX_CALLBACK_OFFSET;
use aotc_abi::types::VAL_RAW_SIZE;
use aotc_format::write::FuncType;
use cranelift_codegen::ir::types::I32;
use cranelift_codegen::ir::{
    self, AbiParam, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind, Type,
    UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::cl_abi::{NS_TRAMPOLINE, v128_flags, wasm_signature};
use crate::isa::Target;

fn slot_offset(i: usize) -> i32 {
    // Types have at most a few thousand values (validator limits), so this fits.
    (i as u64 * u64::from(VAL_RAW_SIZE)).min(i32::MAX as u64) as i32
}

/// Flags of a value slot access of type `ty`: `v128` slots hold the vector's bytes in lane
/// order (little-endian), other values the target's byte order.
fn slot_flags(ty: Type) -> MemFlagsData {
    if ty.is_vector() {
        v128_flags(MemFlagsData::trusted())
    } else {
        MemFlagsData::trusted()
    }
}

/// Builds the entry trampoline of `ty` (`None` only on an internal inconsistency).
pub(crate) fn entry(target: &Target, type_index: u32, ty: &FuncType) -> Option<ir::Function> {
    let pointer = target.isa.pointer_type();
    let cc = target.call_conv();
    let wasm_sig = wasm_signature(ty, pointer, cc);
    let mut sig = Signature::new(cc);
    sig.params.extend([AbiParam::new(pointer); 3]);
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(NS_TRAMPOLINE, 2 * type_index), sig);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let &[code, vmctx, values] = b.block_params(block) else {
        return None;
    };
    let mut args = vec![vmctx];
    for (i, p) in wasm_sig.params.iter().skip(1).enumerate() {
        let ty = p.value_type;
        args.push(b.ins().load(ty, slot_flags(ty), values, slot_offset(i)));
    }
    let sig_ref = b.import_signature(wasm_sig);
    let call = b.ins().call_indirect(sig_ref, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        let flags = slot_flags(b.func.dfg.value_type(r));
        b.ins().store(flags, r, values, slot_offset(i));
    }
    b.ins().return_(&[]);
    b.finalize(target.isa.frontend_config());
    Some(func)
}

/// Builds the exit trampoline of `ty` (`None` only on an internal inconsistency).
pub(crate) fn exit(target: &Target, type_index: u32, ty: &FuncType) -> Option<ir::Function> {
    let pointer = target.isa.pointer_type();
    let cc = target.call_conv();
    let sig = wasm_signature(ty, pointer, cc);
    let result_types: Vec<Type> = sig.returns.iter().map(|r| r.value_type).collect();
    let mut func = ir::Function::with_name_signature(
        UserFuncName::user(NS_TRAMPOLINE, 2 * type_index + 1),
        sig,
    );
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params: Vec<Value> = b.block_params(block).to_vec();
    let (&host_ctx, wasm_params) = params.split_first()?;

    let slots = wasm_params.len().max(result_types.len()).max(1);
    let size = u32::try_from(slots as u64 * u64::from(VAL_RAW_SIZE)).ok()?;
    let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
    let values = b.ins().stack_addr(pointer, slot, 0);
    let flags = MemFlagsData::trusted();
    for (i, &p) in wasm_params.iter().enumerate() {
        let flags = slot_flags(b.func.dfg.value_type(p));
        b.ins().store(flags, p, values, slot_offset(i));
    }
    let callback = b
        .ins()
        .load(pointer, flags, host_ctx, HOST_CTX_CALLBACK_OFFSET as i32);
    let mut cb_sig = Signature::new(cc);
    cb_sig.params.extend([
        AbiParam::new(pointer),
        AbiParam::new(pointer),
        AbiParam::new(I32).uext(),
        AbiParam::new(I32).uext(),
    ]);
    let cb_sig = b.import_signature(cb_sig);
    let n_params = b.ins().iconst(I32, wasm_params.len() as i64);
    let n_results = b.ins().iconst(I32, result_types.len() as i64);
    b.ins()
        .call_indirect(cb_sig, callback, &[host_ctx, values, n_params, n_results]);
    let mut results = Vec::with_capacity(result_types.len());
    for (i, &ty) in result_types.iter().enumerate() {
        results.push(b.ins().load(ty, slot_flags(ty), values, slot_offset(i)));
    }
    b.ins().return_(&results);
    b.finalize(target.isa.frontend_config());
    Some(func)
}
