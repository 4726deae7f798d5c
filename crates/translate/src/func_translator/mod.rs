//! Translation of one wasm function body to Cranelift IR, split the way Cranelift's own wasm
//! translator splits it. This module drives one function (its IR function, stack limit and
//! alias regions, parameters and locals, the operator loop) and owns the translator state;
//! [`operators`] gives every scalar operator its semantics (one match) and [`simd`] every
//! `v128` operator; [`control`] the structured
//! control flow (blocks, loops, ifs, branches); [`environ`] everything reached through the
//! vmctx (linear memory, globals, tables, bulk operations); [`calls`] direct, imported,
//! indirect and builtin calls; [`intrinsics`] the routing of operations to intrinsic calls
//! (with their trapping checks inline) and of constants to the constant table; [`stack`] the
//! operand stack and locals. The ABI it follows is [`aotc_abi`]'s, mapped onto Cranelift by
//! [`crate::cl_abi`].

mod calls;
mod control;
mod environ;
#[macro_use]
mod intrinsics;
mod operators;
mod simd;
mod stack;

use std::borrow::Cow;
use std::collections::HashMap;

use aotc_abi::builtins::BUILTIN_COUNT;
use aotc_abi::vmctx::VmctxOffsets;
use aotc_abi::{Builtin, ValType};
use aotc_format::write::FuncType;
use cranelift_codegen::ir::immediates::Offset32;
use cranelift_codegen::ir::{
    self, AliasRegion, AliasRegionData, FuncRef, GlobalValueData, MemFlagsData, SigRef, Type,
    UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::FunctionBody;

use crate::cl_abi::{NS_FUNC, ir_type, wasm_signature};
use crate::constants::ConstTable;
use crate::isa::Target;
use crate::module_env::{self, ModuleInfo};
use crate::{CompileError, unsupported};
use control::{Frame, FrameKind};

pub(crate) use intrinsics::intrinsic_calls;

/// What a function translation needs to know about the module and the compilation.
pub(crate) struct Env<'a> {
    /// The module.
    pub module: &'a ModuleInfo<'a>,
    /// The target.
    pub target: &'a Target,
    /// Every call goes through the vmctx (indirect/XIP mode).
    pub indirect: bool,
    /// Compare-and-trap bounds checks instead of guard pages.
    pub explicit_bounds_checks: bool,
    /// By builtin index: whether the operation of that intrinsic is compiled as a call.
    pub intrinsic_calls: [bool; BUILTIN_COUNT],
    /// The module's constant table (`constop` intrinsics).
    pub constants: &'a ConstTable,
}

/// The alias regions of a function's memory accesses: accesses in different regions never
/// alias, so Cranelift may reorder them.
struct AliasRegions {
    /// Linear memory.
    heap: AliasRegion,
    /// Table elements.
    table: AliasRegion,
    /// Runtime-maintained vmctx fields (memory and table sizes and bases).
    vmctx: AliasRegion,
    /// Mutable global slots (written only by `global.set` and the runtime).
    globals: AliasRegion,
}

/// The memory-size operations a function contains: what truncating linear memory at
/// `__heap_base` depends on (the file's `MEMORY_GROW` and `MEMORY_SIZE` flags).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemoryOps {
    /// `memory.grow`.
    pub grow: bool,
    /// `memory.size`.
    pub size: bool,
}

impl core::ops::BitOrAssign for MemoryOps {
    fn bitor_assign(&mut self, other: MemoryOps) {
        self.grow |= other.grow;
        self.size |= other.size;
    }
}

/// One defined function, translated.
#[derive(Clone)]
pub(crate) struct Translated {
    /// Its IR.
    pub func: ir::Function,
    /// The builtins it calls.
    pub builtins: Vec<Builtin>,
    /// The memory-size operations its body contains.
    pub memory_ops: MemoryOps,
}

/// Translates defined function `func_index`.
pub(crate) fn translate(
    env: &Env<'_>,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> Result<Translated, CompileError> {
    let start = body.range().start;
    let ty = env
        .module
        .func_type(func_index)
        .ok_or_else(|| internal(format!("function {func_index} has no type"), start))?;
    let offsets = VmctxOffsets::new(env.target.arch.pointer_size());
    let (mut func, regions) = new_function(env, func_index, ty, &offsets, start)?;
    let mut fctx = FunctionBuilderContext::new();
    let builder = FunctionBuilder::new(&mut func, &mut fctx);
    let mut t = Translator::new(env, builder, offsets, regions, ty.results.len(), start)?;
    t.declare_locals(body)?;
    t.translate_operators(body, &ty.results)?;
    let Translator {
        mut b,
        mut builtins_used,
        memory_ops,
        fusable,
        ..
    } = t;
    b.seal_all_blocks();
    b.finalize(env.target.isa.frontend_config());
    intrinsics::remove_fused_calls(&mut func, &fusable, &mut builtins_used);
    Ok(Translated {
        func,
        builtins: builtins_used,
        memory_ops,
    })
}

/// The IR function of `func_index` with its wasm signature, its stack limit (read from the
/// vmctx) and the alias regions of its memory accesses.
fn new_function(
    env: &Env<'_>,
    func_index: u32,
    ty: &FuncType,
    offsets: &VmctxOffsets,
    start: u64,
) -> Result<(ir::Function, AliasRegions), CompileError> {
    let pointer = env.target.isa.pointer_type();
    if let Some(missing) = env.target.missing_simd_feature()
        && ty
            .params
            .iter()
            .chain(&ty.results)
            .any(|t| *t == ValType::V128)
    {
        return Err(unsupported(missing, start));
    }
    let sig = wasm_signature(ty, pointer, env.target.call_conv());
    let mut func = ir::Function::with_name_signature(UserFuncName::user(NS_FUNC, func_index), sig);

    let vmctx_gv = func.create_global_value(GlobalValueData::VMContext);
    let limit_flags = func
        .dfg
        .mem_flags
        .insert(MemFlagsData::trusted().with_readonly())
        .map_err(|_| internal("memory flag set overflow", start))?;
    let limit = func.create_global_value(GlobalValueData::Load {
        base: vmctx_gv,
        offset: Offset32::new(offsets.stack_limit() as i32),
        global_type: pointer,
        flags: limit_flags,
    });
    func.stack_limit = Some(limit);
    let mut region = |user_id: u32, name: &'static str| {
        func.dfg.alias_regions.insert(AliasRegionData {
            user_id,
            description: Cow::Borrowed(name),
        })
    };
    let regions = AliasRegions {
        heap: region(1, "heap"),
        table: region(2, "table"),
        vmctx: region(3, "vmctx"),
        globals: region(4, "globals"),
    };
    Ok((func, regions))
}

/// An internal error (a bug or an unvalidated module) at byte offset `offset`.
fn internal(what: impl std::fmt::Display, offset: u64) -> CompileError {
    CompileError::Codegen(format!(
        "internal translation error at offset {offset:#x}: {what}"
    ))
}

/// The state of one function's translation.
struct Translator<'a, 'f> {
    env: &'a Env<'a>,
    b: FunctionBuilder<'f>,
    pointer: Type,
    offsets: VmctxOffsets,
    vmctx: Value,
    /// The operand stack.
    stack: Vec<Value>,
    /// The control stack: one frame per enclosing construct, the function body outermost.
    control: Vec<Frame>,
    /// Whether the current position can be reached (operators after a branch cannot).
    reachable: bool,
    /// Parameters, then declared locals.
    locals: Vec<Variable>,
    /// Imported signatures by type index (lookups only: IR order follows first use).
    sigs: HashMap<u32, SigRef>,
    /// Direct-call references by function index (normal mode, defined functions).
    direct: HashMap<u32, FuncRef>,
    builtin_sigs: [Option<SigRef>; BUILTIN_COUNT],
    builtin_refs: [Option<FuncRef>; BUILTIN_COUNT],
    builtins_used: Vec<Builtin>,
    /// Calls of pure intrinsics by result, which a later operation may take in.
    fusable: HashMap<Value, intrinsics::FusableCall>,
    /// The memory-size operations translated so far.
    memory_ops: MemoryOps,
    regions: AliasRegions,
    num_results: usize,
    /// Byte offset of the operator being translated (for errors).
    offset: u64,
}

impl<'a, 'f> Translator<'a, 'f> {
    /// A translator positioned in the function's entry block, with the parameters as the first
    /// locals.
    fn new(
        env: &'a Env<'a>,
        mut b: FunctionBuilder<'f>,
        offsets: VmctxOffsets,
        regions: AliasRegions,
        num_results: usize,
        start: u64,
    ) -> Result<Self, CompileError> {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let Some((&vmctx, wasm_params)) = params.split_first() else {
            return Err(internal("function without vmctx parameter", start));
        };
        let mut t = Translator {
            env,
            b,
            pointer: env.target.isa.pointer_type(),
            offsets,
            vmctx,
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            locals: Vec::new(),
            sigs: HashMap::new(),
            direct: HashMap::new(),
            builtin_sigs: [None; BUILTIN_COUNT],
            builtin_refs: [None; BUILTIN_COUNT],
            builtins_used: Vec::new(),
            fusable: HashMap::new(),
            memory_ops: MemoryOps::default(),
            regions,
            num_results,
            offset: start,
        };
        for &p in wasm_params {
            let ty = t.b.func.dfg.value_type(p);
            let var = t.b.declare_var(ty);
            t.b.def_var(var, p);
            t.locals.push(var);
        }
        Ok(t)
    }

    /// Declares the body's locals, zero-initialised.
    fn declare_locals(&mut self, body: &FunctionBody<'_>) -> Result<(), CompileError> {
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, vt) = locals.read()?;
            let vt = module_env::val_type(vt, offset)?;
            let ty = self.value_type(vt)?;
            for _ in 0..count {
                let zero = self.zero(ty);
                let var = self.b.declare_var(ty);
                self.b.def_var(var, zero);
                self.locals.push(var);
            }
        }
        Ok(())
    }

    /// Translates the operators: the body is a block whose end returns `results`.
    fn translate_operators(
        &mut self,
        body: &FunctionBody<'_>,
        results: &[ValType],
    ) -> Result<(), CompileError> {
        let mut types = Vec::with_capacity(results.len());
        for r in results {
            types.push(self.value_type(*r)?);
        }
        let exit = self.new_block(&types);
        let frame = Frame::new(FrameKind::Block, exit, 0, types.len(), 0);
        self.control.push(frame);

        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset()?;
            self.offset = offset;
            if self.reachable {
                self.operator(op)?;
            } else {
                self.unreachable_operator(&op)?;
            }
        }
        if !self.control.is_empty() {
            return Err(self.internal("function body ends inside a block"));
        }
        Ok(())
    }

    /// Function type `type_index` of the module.
    fn func_type(&self, type_index: u32) -> Result<&'a FuncType, CompileError> {
        self.env
            .module
            .types
            .get(type_index as usize)
            .ok_or_else(|| self.internal("type index out of range"))
    }

    /// The Cranelift type of wasm value type `t`; `v128` fails when the target cannot compile
    /// SIMD, naming the CPU feature it lacks.
    fn value_type(&self, t: ValType) -> Result<Type, CompileError> {
        if t == ValType::V128
            && let Some(missing) = self.env.target.missing_simd_feature()
        {
            return Err(self.unsupported(missing));
        }
        Ok(ir_type(t, self.pointer))
    }

    /// An internal error at the current operator.
    fn internal(&self, what: impl std::fmt::Display) -> CompileError {
        internal(what, self.offset)
    }

    /// [`CompileError::Unsupported`] at the current operator.
    fn unsupported(&self, what: impl Into<String>) -> CompileError {
        unsupported(what, self.offset)
    }
}
