//! Calls: to the module's own functions (direct, in every mode), to imports (through
//! `vmctx.functions`), through tables (`call_indirect`, with its type check) and to builtins
//! (by relocated name, or through `vmctx.builtins` in indirect mode).

use aotc_abi::{Builtin, TrapCode};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I32;
use cranelift_codegen::ir::{
    ExtFuncData, ExternalName, InstBuilder, MemFlagsData, SigRef, UserExternalName, Value,
};

use super::Translator;
use crate::CompileError;
use crate::cl_abi::{NS_BUILTIN, NS_FUNC, builtin_signature, cl_trap, wasm_signature};

/// The arguments of a wasm call: the callee's vmctx, then the wasm arguments.
fn with_vmctx(vmctx: Value, args: Vec<Value>) -> Vec<Value> {
    let mut full = Vec::with_capacity(args.len() + 1);
    full.push(vmctx);
    full.extend(args);
    full
}

impl Translator<'_, '_> {
    /// `vmctx.functions[index]`: `(wasm_call, vmctx)`.
    fn func_ref_entry(&mut self, index: u32) -> Result<(Value, Value), CompileError> {
        let functions = self.vmctx_ptr(self.offsets.functions());
        let size = self.offsets.func_ref_size();
        let code_off = self.field_offset(self.offsets.func_ref_wasm_call(), index, size)?;
        let vmctx_off = self.field_offset(self.offsets.func_ref_vmctx(), index, size)?;
        let code = self
            .b
            .ins()
            .load(self.pointer, Self::pure_flags(), functions, code_off);
        let callee_vmctx =
            self.b
                .ins()
                .load(self.pointer, Self::pure_flags(), functions, vmctx_off);
        Ok((code, callee_vmctx))
    }

    /// The imported signature of function type `type_index` (imported once per function).
    fn sig_ref(&mut self, type_index: u32) -> Result<SigRef, CompileError> {
        if let Some(&sig) = self.sigs.get(&type_index) {
            return Ok(sig);
        }
        let ty = self.func_type(type_index)?;
        let sig = wasm_signature(ty, self.pointer, self.env.target.call_conv());
        let sig = self.b.import_signature(sig);
        self.sigs.insert(type_index, sig);
        Ok(sig)
    }

    /// `call`: direct for defined functions, in every mode: the callee's text offset is fixed at
    /// compile time and the text-section builder resolves the PC-relative call, so XIP text keeps
    /// zero relocations and instantiation builds nothing per function. Imported functions go
    /// through their `vmctx.functions` entry.
    pub(super) fn call(&mut self, func_index: u32) -> Result<(), CompileError> {
        let module = self.env.module;
        let type_index = module
            .functions
            .get(func_index as usize)
            .ok_or_else(|| self.internal("function index out of range"))?
            .type_index;
        let num_params = self.func_type(type_index)?.params.len();
        let sig = self.sig_ref(type_index)?;
        let args = self.popn(num_params)?;
        let inst = if module.is_imported_func(func_index) {
            let (code, callee_vmctx) = self.func_ref_entry(func_index)?;
            let full = with_vmctx(callee_vmctx, args);
            self.b.ins().call_indirect(sig, code, &full)
        } else {
            let fref = match self.direct.get(&func_index) {
                Some(&f) => f,
                None => {
                    let name = self
                        .b
                        .func
                        .declare_imported_user_function(UserExternalName {
                            namespace: NS_FUNC,
                            index: func_index,
                        });
                    let f = self.b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature: sig,
                        colocated: true,
                        patchable: false,
                    });
                    self.direct.insert(func_index, f);
                    f
                }
            };
            let full = with_vmctx(self.vmctx, args);
            self.b.ins().call(fref, &full)
        };
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
        Ok(())
    }

    /// `call_indirect`: traps on an out-of-bounds index, a null entry or a signature mismatch.
    pub(super) fn call_indirect(
        &mut self,
        type_index: u32,
        table: u32,
    ) -> Result<(), CompileError> {
        let index = self.pop()?;
        let num_params = self.func_type(type_index)?.params.len();
        let args = self.popn(num_params)?;
        let sig = self.sig_ref(type_index)?;
        let addr = self.table_elem_addr(table, index, TrapCode::UndefinedElement)?;
        let flags = self.table_flags();
        let func_ref = self.b.ins().load(self.pointer, flags, addr, 0);
        self.b
            .ins()
            .trapz(func_ref, cl_trap(TrapCode::IndirectCallToNull));
        let ro = MemFlagsData::trusted().with_readonly();
        let actual = self
            .b
            .ins()
            .load(I32, ro, func_ref, self.offsets.func_ref_type_id() as i32);
        let type_ids = self.vmctx_ptr(self.offsets.type_ids());
        let off = self.field_offset(0, type_index, 4)?;
        let expected = self.b.ins().load(I32, Self::pure_flags(), type_ids, off);
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b
            .ins()
            .trapnz(mismatch, cl_trap(TrapCode::BadSignature));
        let code = self.b.ins().load(
            self.pointer,
            ro,
            func_ref,
            self.offsets.func_ref_wasm_call() as i32,
        );
        let callee_vmctx = self.b.ins().load(
            self.pointer,
            ro,
            func_ref,
            self.offsets.func_ref_vmctx() as i32,
        );
        let full = with_vmctx(callee_vmctx, args);
        let inst = self.b.ins().call_indirect(sig, code, &full);
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
        Ok(())
    }

    /// Calls a builtin (through `vmctx.builtins` in indirect mode, else by relocated name).
    pub(super) fn call_builtin(&mut self, b: Builtin, args: &[Value]) -> Option<Value> {
        let i = b.index() as usize;
        let sig = match self.builtin_sigs[i] {
            Some(sig) => sig,
            None => {
                let sig = builtin_signature(b, self.pointer, self.env.target.builtin_call_conv(b));
                let sig = self.b.import_signature(sig);
                self.builtin_sigs[i] = Some(sig);
                sig
            }
        };
        if !self.builtins_used.contains(&b) {
            self.builtins_used.push(b);
        }
        let inst = if self.env.indirect {
            let table = self.vmctx_ptr(self.offsets.builtins());
            let fp = self.b.ins().load(
                self.pointer,
                Self::pure_flags(),
                table,
                (b.index() * self.offsets.pointer_size()) as i32,
            );
            self.b.ins().call_indirect(sig, fp, args)
        } else {
            let fref = match self.builtin_refs[i] {
                Some(f) => f,
                None => {
                    let name = self
                        .b
                        .func
                        .declare_imported_user_function(UserExternalName {
                            namespace: NS_BUILTIN,
                            index: b.index(),
                        });
                    let f = self.b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature: sig,
                        colocated: false,
                        patchable: false,
                    });
                    self.builtin_refs[i] = Some(f);
                    f
                }
            };
            self.b.ins().call(fref, args)
        };
        self.b.inst_results(inst).first().copied()
    }

    /// Calls a builtin returning one value.
    pub(super) fn call_value(&mut self, b: Builtin, args: &[Value]) -> Result<Value, CompileError> {
        self.call_builtin(b, args)
            .ok_or_else(|| self.internal(format!("builtin {} returns nothing", b.name())))
    }
}
