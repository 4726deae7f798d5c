//! Translation of one wasm function body to Cranelift IR: the operand and control stacks,
//! locals, calls (direct, through `vmctx.functions`, `call_indirect`), builtins, intrinsics
//! (operations compiled as calls, with their trapping checks inline, and constants loaded from
//! the constant table), linear memory (guard pages or explicit checks), globals and tables,
//! following the ABI of [`aotc_abi`].

use std::borrow::Cow;
use std::collections::HashMap;

use aotc_abi::builtins::{BUILTIN_COUNT, BuiltinType};
use aotc_abi::intrinsics::{FloatCmp, IntrinsicSet};
use aotc_abi::vmctx::VmctxOffsets;
use aotc_abi::{Builtin, TrapCode, ValType};
use aotc_format::layout::ConstValue;
use aotc_format::write::FuncType;
use cranelift_codegen::entity::packed_option::ReservedValue;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64, Offset32};
use cranelift_codegen::ir::types::{F32, F64, I8, I16, I32, I64};
use cranelift_codegen::ir::{
    self, AbiParam, AliasRegion, AliasRegionData, ArgumentPurpose, Block, BlockArg, Endianness,
    ExtFuncData, ExternalName, FuncRef, GlobalValueData, InstBuilder, JumpTableData, MemFlagsData,
    SigRef, Signature, Type, UserExternalName, UserFuncName, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{BlockType, FunctionBody, MemArg, Operator};

use crate::constants::ConstTable;
use crate::isa::Target;
use crate::module_env::{self, ModuleInfo};
use crate::{CompileError, unsupported};

/// External-name namespace of the module's own functions (index: function index).
pub(crate) const NS_FUNC: u32 = 0;
/// External-name namespace of builtins (index: [`Builtin::index`]).
pub(crate) const NS_BUILTIN: u32 = 1;

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

/// The builtins whose operations `set` compiles as calls, by builtin index.
pub(crate) fn intrinsic_calls(set: IntrinsicSet) -> [bool; BUILTIN_COUNT] {
    let mut calls = [false; BUILTIN_COUNT];
    for b in Builtin::ALL {
        calls[b.index() as usize] = set.calls(*b);
    }
    calls
}

/// Cranelift type of a wasm value type (`None` for `v128`, which aotc does not compile).
pub(crate) fn ir_type(t: ValType, pointer: Type) -> Option<Type> {
    match t {
        ValType::I32 => Some(I32),
        ValType::I64 => Some(I64),
        ValType::F32 => Some(F32),
        ValType::F64 => Some(F64),
        ValType::V128 => None,
        ValType::FuncRef | ValType::ExternRef => Some(pointer),
    }
}

/// The Cranelift signature of a wasm function type: `(vmctx, params...) -> results`.
pub(crate) fn wasm_signature(ty: &FuncType, pointer: Type, cc: CallConv) -> Option<Signature> {
    let mut sig = Signature::new(cc);
    sig.params
        .push(AbiParam::special(pointer, ArgumentPurpose::VMContext));
    for p in &ty.params {
        sig.params.push(AbiParam::new(ir_type(*p, pointer)?));
    }
    for r in &ty.results {
        sig.returns.push(AbiParam::new(ir_type(*r, pointer)?));
    }
    Some(sig)
}

/// The Cranelift signature of a builtin (the target's C calling convention; 32-bit integer
/// arguments are sign-extended as C requires on targets that care).
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

/// Translates defined function `func_index`; returns its IR and the builtins it calls.
pub(crate) fn translate(
    env: &Env<'_>,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> Result<(ir::Function, Vec<Builtin>), CompileError> {
    let start = body.range().start;
    let ty = env
        .module
        .func_type(func_index)
        .ok_or_else(|| internal(format!("function {func_index} has no type"), start))?;
    let pointer = env.target.isa.pointer_type();
    let sig = wasm_signature(ty, pointer, env.target.call_conv())
        .ok_or_else(|| unsupported("v128 parameters or results (SIMD)", start))?;
    let mut func = ir::Function::with_name_signature(UserFuncName::user(NS_FUNC, func_index), sig);

    let offsets = VmctxOffsets::new(env.target.arch.pointer_size());
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
    let region = |func: &mut ir::Function, user_id: u32, name: &'static str| {
        func.dfg.alias_regions.insert(AliasRegionData {
            user_id,
            description: Cow::Borrowed(name),
        })
    };
    let region_heap = region(&mut func, 1, "heap");
    let region_table = region(&mut func, 2, "table");
    let region_vmctx = region(&mut func, 3, "vmctx");
    let region_globals = region(&mut func, 4, "globals");

    let mut fctx = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let params = builder.block_params(entry).to_vec();
    let Some((&vmctx, wasm_params)) = params.split_first() else {
        return Err(internal("function without vmctx parameter", start));
    };

    let mut t = Translator {
        env,
        b: builder,
        pointer,
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
        region_heap,
        region_table,
        region_vmctx,
        region_globals,
        num_results: ty.results.len(),
        offset: start,
    };

    // Parameters, then zero-initialised locals.
    for &p in wasm_params {
        let ty = t.b.func.dfg.value_type(p);
        let var = t.b.declare_var(ty);
        t.b.def_var(var, p);
        t.locals.push(var);
    }
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, vt) = locals.read()?;
        let vt = module_env::val_type(vt, offset)?;
        let ty = ir_type(vt, pointer).ok_or_else(|| unsupported("v128 locals (SIMD)", offset))?;
        for _ in 0..count {
            let zero = t.zero(ty);
            let var = t.b.declare_var(ty);
            t.b.def_var(var, zero);
            t.locals.push(var);
        }
    }

    // The function body is a block whose end returns.
    let mut results = Vec::with_capacity(ty.results.len());
    for r in &ty.results {
        results.push(ir_type(*r, pointer).ok_or_else(|| unsupported("v128 results", start))?);
    }
    let exit = t.new_block(&results);
    t.control.push(Frame {
        kind: FrameKind::Block,
        dest: exit,
        num_params: 0,
        num_results: results.len(),
        stack_base: 0,
        dest_reached: false,
    });

    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        t.offset = offset;
        if t.reachable {
            t.operator(op)?;
        } else {
            t.unreachable_operator(&op)?;
        }
    }
    if !t.control.is_empty() {
        return Err(internal("function body ends inside a block", t.offset));
    }

    let Translator {
        b, builtins_used, ..
    } = t;
    let mut b = b;
    b.seal_all_blocks();
    b.finalize(env.target.isa.frontend_config());
    Ok((func, builtins_used))
}

fn internal(what: impl std::fmt::Display, offset: u64) -> CompileError {
    CompileError::Codegen(format!(
        "internal translation error at offset {offset:#x}: {what}"
    ))
}

/// A control construct being translated.
struct Frame {
    kind: FrameKind,
    /// The block following the construct (its results are the block's parameters).
    dest: Block,
    num_params: usize,
    num_results: usize,
    /// Operand stack height below the construct's parameters.
    stack_base: usize,
    /// Whether any branch or fallthrough reaches `dest`.
    dest_reached: bool,
}

enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    If {
        else_block: Block,
        /// The parameters, passed again to the `else` arm (and through, when there is none).
        params: Vec<Value>,
        else_seen: bool,
    },
    /// A construct inside unreachable code: nothing is emitted for it.
    Dummy,
}

/// Extension of a narrow memory access.
#[derive(Copy, Clone)]
enum Ext {
    None,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
}

/// Integer division and remainder operators.
#[derive(Copy, Clone)]
enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

struct Translator<'a, 'f> {
    env: &'a Env<'a>,
    b: FunctionBuilder<'f>,
    pointer: Type,
    offsets: VmctxOffsets,
    vmctx: Value,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    locals: Vec<Variable>,
    /// Imported signatures by type index (lookups only: IR order follows first use).
    sigs: HashMap<u32, SigRef>,
    /// Direct-call references by function index (normal mode, defined functions).
    direct: HashMap<u32, FuncRef>,
    builtin_sigs: [Option<SigRef>; BUILTIN_COUNT],
    builtin_refs: [Option<FuncRef>; BUILTIN_COUNT],
    builtins_used: Vec<Builtin>,
    region_heap: AliasRegion,
    region_table: AliasRegion,
    region_vmctx: AliasRegion,
    /// Mutable global slots (written only by `global.set` and the runtime).
    region_globals: AliasRegion,
    num_results: usize,
    offset: u64,
}

macro_rules! unop {
    ($s:ident, $op:ident) => {{
        let a = $s.pop()?;
        let v = $s.b.ins().$op(a);
        $s.stack.push(v);
    }};
}

macro_rules! binop {
    ($s:ident, $op:ident) => {{
        let (a, b) = $s.pop2()?;
        let v = $s.b.ins().$op(a, b);
        $s.stack.push(v);
    }};
}

macro_rules! icmp {
    ($s:ident, $cc:expr) => {{
        let (a, b) = $s.pop2()?;
        let c = $s.b.ins().icmp($cc, a, b);
        let v = $s.b.ins().uextend(I32, c);
        $s.stack.push(v);
    }};
}

macro_rules! conv {
    ($s:ident, $op:ident, $ty:expr) => {{
        let a = $s.pop()?;
        let v = $s.b.ins().$op($ty, a);
        $s.stack.push(v);
    }};
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

/// A binary operator: a call to the intrinsic `$builtin` when enabled, else `$op`.
macro_rules! binop_via {
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

impl Translator<'_, '_> {
    fn internal(&self, what: impl std::fmt::Display) -> CompileError {
        internal(what, self.offset)
    }

    fn unsupported(&self, what: impl Into<String>) -> CompileError {
        unsupported(what, self.offset)
    }

    // ---- operand stack -------------------------------------------------------------------

    fn pop(&mut self) -> Result<Value, CompileError> {
        self.stack
            .pop()
            .ok_or_else(|| self.internal("operand stack underflow"))
    }

    /// Pops two operands; the second was on top.
    fn pop2(&mut self) -> Result<(Value, Value), CompileError> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    fn popn(&mut self, n: usize) -> Result<Vec<Value>, CompileError> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.internal("operand stack underflow"))?;
        Ok(self.stack.split_off(start))
    }

    fn peekn(&self, n: usize) -> Result<Vec<Value>, CompileError> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.internal("operand stack underflow"))?;
        Ok(self.stack[start..].to_vec())
    }

    fn zero(&mut self, ty: Type) -> Value {
        match ty {
            F32 => self.b.ins().f32const(Ieee32::with_bits(0)),
            F64 => self.b.ins().f64const(Ieee64::with_bits(0)),
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    fn iconst32(&mut self, v: i32) -> Value {
        self.b.ins().iconst(I32, i64::from(v as u32))
    }

    // ---- control -------------------------------------------------------------------------

    fn new_block(&mut self, params: &[Type]) -> Block {
        let block = self.b.create_block();
        for &ty in params {
            self.b.append_block_param(block, ty);
        }
        block
    }

    fn jump(&mut self, block: Block, args: &[Value]) {
        let args: Vec<BlockArg> = args.iter().map(|&v| BlockArg::Value(v)).collect();
        self.b.ins().jump(block, &args);
    }

    fn block_type(&self, bt: BlockType) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        let conv = |ts: &[ValType]| -> Result<Vec<Type>, CompileError> {
            ts.iter()
                .map(|t| {
                    ir_type(*t, self.pointer)
                        .ok_or_else(|| self.unsupported("v128 block types (SIMD)"))
                })
                .collect()
        };
        match bt {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(vt) => {
                let vt = module_env::val_type(vt, self.offset)?;
                Ok((Vec::new(), conv(&[vt])?))
            }
            BlockType::FuncType(index) => {
                let ty = self
                    .env
                    .module
                    .types
                    .get(index as usize)
                    .ok_or_else(|| self.internal("block type out of range"))?;
                Ok((conv(&ty.params)?, conv(&ty.results)?))
            }
        }
    }

    fn stack_base(&self, num_params: usize) -> Result<usize, CompileError> {
        self.stack
            .len()
            .checked_sub(num_params)
            .ok_or_else(|| self.internal("operand stack underflow"))
    }

    /// The block a branch to `depth` jumps to, and how many values it passes.
    fn branch_target(&mut self, depth: u32) -> Result<(Block, usize), CompileError> {
        let i = self
            .control
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| self.internal("branch depth out of range"))?;
        let frame = &mut self.control[i];
        match frame.kind {
            FrameKind::Loop { header } => Ok((header, frame.num_params)),
            FrameKind::Dummy => Err(internal("branch into unreachable code", self.offset)),
            FrameKind::Block | FrameKind::If { .. } => {
                frame.dest_reached = true;
                Ok((frame.dest, frame.num_results))
            }
        }
    }

    fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.control.push(Frame {
                    kind: FrameKind::Dummy,
                    dest: Block::reserved_value(),
                    num_params: 0,
                    num_results: 0,
                    stack_base: self.stack.len(),
                    dest_reached: false,
                });
                Ok(())
            }
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            _ => Ok(()),
        }
    }

    fn else_(&mut self) -> Result<(), CompileError> {
        let reachable = self.reachable;
        let offset = self.offset;
        let frame = self
            .control
            .last_mut()
            .ok_or_else(|| internal("else outside a block", offset))?;
        let (else_block, params) = match &mut frame.kind {
            FrameKind::Dummy => return Ok(()),
            FrameKind::If {
                else_block,
                params,
                else_seen,
            } => {
                *else_seen = true;
                (*else_block, std::mem::take(params))
            }
            _ => return Err(internal("else without if", offset)),
        };
        if reachable {
            frame.dest_reached = true;
        }
        let (dest, num_results, base) = (frame.dest, frame.num_results, frame.stack_base);
        if reachable {
            let args = self.peekn(num_results)?;
            self.jump(dest, &args);
        }
        self.stack.truncate(base);
        self.stack.extend(params);
        self.b.switch_to_block(else_block);
        self.reachable = true;
        Ok(())
    }

    fn end(&mut self) -> Result<(), CompileError> {
        let frame = self
            .control
            .pop()
            .ok_or_else(|| self.internal("end outside a block"))?;
        if let FrameKind::Dummy = frame.kind {
            return Ok(());
        }
        let mut reached = frame.dest_reached;
        if self.reachable {
            let args = self.peekn(frame.num_results)?;
            self.jump(frame.dest, &args);
            reached = true;
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                params,
                else_seen: false,
            } => {
                // No else arm: the parameters pass through (validation makes them the results).
                self.b.switch_to_block(else_block);
                self.jump(frame.dest, &params);
                reached = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            _ => {}
        }
        self.stack.truncate(frame.stack_base);
        if reached {
            self.b.switch_to_block(frame.dest);
            self.b.seal_block(frame.dest);
            let params = self.b.block_params(frame.dest).to_vec();
            self.stack.extend(params);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        if self.control.is_empty() && self.reachable {
            let rets = self.popn(self.num_results)?;
            self.b.ins().return_(&rets);
            self.reachable = false;
        }
        Ok(())
    }

    // ---- vmctx access --------------------------------------------------------------------

    /// Flags for loads of values that never change during the instance's life.
    fn pure_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly().with_can_move()
    }

    /// Flags for runtime-maintained fields (memory and table sizes and bases).
    fn vm_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.region_vmctx))
    }

    fn heap_flags(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(Some(ir::TrapCode::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(self.region_heap))
    }

    fn table_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.region_table))
    }

    /// `base + index * scale`, as a load/store offset.
    fn field_offset(&self, base: u32, index: u32, scale: u32) -> Result<i32, CompileError> {
        let off = u64::from(base) + u64::from(index) * u64::from(scale);
        i32::try_from(off).map_err(|_| self.unsupported("index too large for the vmctx layout"))
    }

    /// Loads a pointer-sized, never-changing field of the vmctx.
    fn vmctx_ptr(&mut self, offset: u32) -> Value {
        self.b
            .ins()
            .load(self.pointer, Self::pure_flags(), self.vmctx, offset as i32)
    }

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

    fn sig_ref(&mut self, type_index: u32) -> Result<SigRef, CompileError> {
        if let Some(&sig) = self.sigs.get(&type_index) {
            return Ok(sig);
        }
        let ty = self
            .env
            .module
            .types
            .get(type_index as usize)
            .ok_or_else(|| self.internal("type index out of range"))?;
        let sig = wasm_signature(ty, self.pointer, self.env.target.call_conv())
            .ok_or_else(|| self.unsupported("v128 parameters or results (SIMD)"))?;
        let sig = self.b.import_signature(sig);
        self.sigs.insert(type_index, sig);
        Ok(sig)
    }

    fn call(&mut self, func_index: u32) -> Result<(), CompileError> {
        let module = self.env.module;
        let type_index = module
            .functions
            .get(func_index as usize)
            .ok_or_else(|| self.internal("function index out of range"))?
            .type_index;
        let num_params = module
            .types
            .get(type_index as usize)
            .ok_or_else(|| self.internal("type index out of range"))?
            .params
            .len();
        let sig = self.sig_ref(type_index)?;
        let args = self.popn(num_params)?;
        let inst = if self.env.indirect || module.is_imported_func(func_index) {
            let (code, callee_vmctx) = self.func_ref_entry(func_index)?;
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(callee_vmctx);
            full.extend(args);
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
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(self.vmctx);
            full.extend(args);
            self.b.ins().call(fref, &full)
        };
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
        Ok(())
    }

    /// Calls a builtin (through `vmctx.builtins` in indirect mode, else by relocated name).
    fn call_builtin(&mut self, b: Builtin, args: &[Value]) -> Option<Value> {
        let i = b.index() as usize;
        let sig = match self.builtin_sigs[i] {
            Some(sig) => sig,
            None => {
                let sig = builtin_signature(b, self.pointer, self.env.target.call_conv());
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

    /// Calls a builtin returning one value and pushes it.
    fn call_builtin_push(&mut self, b: Builtin, args: &[Value]) -> Result<(), CompileError> {
        let v = self
            .call_builtin(b, args)
            .ok_or_else(|| self.internal(format!("builtin {} returns nothing", b.name())))?;
        self.stack.push(v);
        Ok(())
    }

    // ---- memory --------------------------------------------------------------------------

    fn memory_def(&mut self, memory: u32) -> Result<Value, CompileError> {
        if memory != 0 {
            return Err(self.unsupported("multiple memories"));
        }
        Ok(self.vmctx_ptr(self.offsets.memory()))
    }

    fn memory_length(&mut self, memdef: Value) -> Value {
        let flags = self.vm_flags();
        self.b.ins().load(
            self.pointer,
            flags,
            memdef,
            self.offsets.memory_def_length() as i32,
        )
    }

    /// Pops the address operand of an access of `size` bytes; returns the native address and
    /// the offset to put in the load/store.
    fn heap_addr(&mut self, memarg: &MemArg, size: u32) -> Result<(Value, i32), CompileError> {
        let memory = match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => m,
            wasmparser::MemArgTarget::Array(_) => {
                return Err(self.unsupported("GC array accesses"));
            }
        };
        let memdef = self.memory_def(memory)?;
        let index = self.pop()?;
        let index = self.b.ins().uextend(I64, index);
        let base_flags = if self.env.explicit_bounds_checks {
            self.vm_flags()
        } else {
            // With the guard-page reservation the memory never moves.
            self.vm_flags().with_readonly().with_can_move()
        };
        let base = self.b.ins().load(
            self.pointer,
            base_flags,
            memdef,
            self.offsets.memory_def_base() as i32,
        );
        let offset = memarg.offset;
        if offset > u64::from(u32::MAX) {
            return Err(self.unsupported("memory offsets beyond 4 GiB (memory64)"));
        }
        if self.env.explicit_bounds_checks {
            let len = self.memory_length(memdef);
            let end = self
                .b
                .ins()
                .iadd_imm_u(index, (offset + u64::from(size)) as i64);
            let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.b.ins().trapnz(oob, ir::TrapCode::HEAP_OUT_OF_BOUNDS);
        }
        let mut addr = self.b.ins().iadd(base, index);
        let imm = match i32::try_from(offset) {
            Ok(imm) => imm,
            Err(_) => {
                addr = self.b.ins().iadd_imm_u(addr, offset as i64);
                0
            }
        };
        Ok((addr, imm))
    }

    fn load(&mut self, memarg: &MemArg, ty: Type, ext: Ext) -> Result<(), CompileError> {
        let size = match ext {
            Ext::None => ty.bytes(),
            Ext::S8 | Ext::U8 => 1,
            Ext::S16 | Ext::U16 => 2,
            Ext::S32 | Ext::U32 => 4,
        };
        let (addr, off) = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        let v = match ext {
            Ext::None => ins.load(ty, f, addr, off),
            Ext::S8 => ins.sload8(ty, f, addr, off),
            Ext::U8 => ins.uload8(ty, f, addr, off),
            Ext::S16 => ins.sload16(ty, f, addr, off),
            Ext::U16 => ins.uload16(ty, f, addr, off),
            Ext::S32 => ins.sload32(f, addr, off),
            Ext::U32 => ins.uload32(f, addr, off),
        };
        self.stack.push(v);
        Ok(())
    }

    /// A store of the popped value, truncated to `narrow` bits if given.
    fn store(&mut self, memarg: &MemArg, narrow: Option<u8>) -> Result<(), CompileError> {
        let value = self.pop()?;
        let size = match narrow {
            Some(bits) => u32::from(bits) / 8,
            None => self.b.func.dfg.value_type(value).bytes(),
        };
        let (addr, off) = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        match narrow {
            None => ins.store(f, value, addr, off),
            Some(8) => ins.istore8(f, value, addr, off),
            Some(16) => ins.istore16(f, value, addr, off),
            Some(_) => ins.istore32(f, value, addr, off),
        };
        Ok(())
    }

    // ---- globals -------------------------------------------------------------------------

    fn global(&self, index: u32) -> Result<(Type, bool, Option<ConstValue>), CompileError> {
        let g = self
            .env
            .module
            .globals
            .get(index as usize)
            .ok_or_else(|| self.internal("global index out of range"))?;
        let ty = ir_type(g.val_type, self.pointer)
            .ok_or_else(|| self.unsupported("v128 globals (SIMD)"))?;
        Ok((ty, g.mutable, g.init))
    }

    fn global_addr(&mut self, index: u32) -> Result<Value, CompileError> {
        let globals = self.vmctx_ptr(self.offsets.globals());
        let off = self.field_offset(0, index, self.offsets.pointer_size())?;
        Ok(self
            .b
            .ins()
            .load(self.pointer, Self::pure_flags(), globals, off))
    }

    fn global_get(&mut self, index: u32) -> Result<(), CompileError> {
        let (ty, mutable, init) = self.global(index)?;
        let v = match (mutable, init) {
            (false, Some(ConstValue::I32(v))) => self.iconst32(v),
            (false, Some(ConstValue::I64(v))) => self.b.ins().iconst(I64, v),
            (false, Some(ConstValue::F32(v))) => self.b.ins().f32const(Ieee32::with_bits(v)),
            (false, Some(ConstValue::F64(v))) => self.b.ins().f64const(Ieee64::with_bits(v)),
            _ => {
                let addr = self.global_addr(index)?;
                let flags = if mutable {
                    MemFlagsData::trusted().with_alias_region(Some(self.region_globals))
                } else {
                    Self::pure_flags()
                };
                self.b.ins().load(ty, flags, addr, 0)
            }
        };
        self.stack.push(v);
        Ok(())
    }

    fn global_set(&mut self, index: u32) -> Result<(), CompileError> {
        let value = self.pop()?;
        let addr = self.global_addr(index)?;
        let flags = MemFlagsData::trusted().with_alias_region(Some(self.region_globals));
        self.b.ins().store(flags, value, addr, 0);
        Ok(())
    }

    // ---- tables --------------------------------------------------------------------------

    fn table_def(&mut self, table: u32) -> Result<Value, CompileError> {
        if table as usize >= self.env.module.tables.len() {
            return Err(self.internal("table index out of range"));
        }
        let tables = self.vmctx_ptr(self.offsets.tables());
        let off = self.field_offset(0, table, self.offsets.pointer_size())?;
        Ok(self
            .b
            .ins()
            .load(self.pointer, Self::pure_flags(), tables, off))
    }

    fn table_length(&mut self, def: Value) -> Value {
        let flags = self.vm_flags();
        self.b
            .ins()
            .load(I32, flags, def, self.offsets.table_def_length() as i32)
    }

    /// Address of element `index` of a table, trapping with `trap` when out of bounds.
    fn table_elem_addr(
        &mut self,
        table: u32,
        index: Value,
        trap: TrapCode,
    ) -> Result<Value, CompileError> {
        let def = self.table_def(table)?;
        let len = self.table_length(def);
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b.ins().trapnz(oob, cl_trap(trap));
        let flags = self.vm_flags();
        let base = self.b.ins().load(
            self.pointer,
            flags,
            def,
            self.offsets.table_def_base() as i32,
        );
        let index = self.b.ins().uextend(I64, index);
        let shift = self.offsets.pointer_size().trailing_zeros();
        let scaled = self.b.ins().ishl_imm_u(index, i64::from(shift));
        Ok(self.b.ins().iadd(base, scaled))
    }

    fn call_indirect(&mut self, type_index: u32, table: u32) -> Result<(), CompileError> {
        let index = self.pop()?;
        let num_params = self
            .env
            .module
            .types
            .get(type_index as usize)
            .ok_or_else(|| self.internal("type index out of range"))?
            .params
            .len();
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
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(callee_vmctx);
        full.extend(args);
        let inst = self.b.ins().call_indirect(sig, code, &full);
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
        Ok(())
    }

    // ---- numbers -------------------------------------------------------------------------

    // ---- intrinsics ----------------------------------------------------------------------

    /// Whether the operation of `b`'s intrinsic is compiled as a call.
    fn calls(&self, b: Builtin) -> bool {
        self.env.intrinsic_calls[b.index() as usize]
    }

    /// Calls a builtin returning one value.
    fn call_value(&mut self, b: Builtin, args: &[Value]) -> Result<Value, CompileError> {
        self.call_builtin(b, args)
            .ok_or_else(|| self.internal(format!("builtin {} returns nothing", b.name())))
    }

    /// An integer constant of type `ty` (I32 or I64) with the low bits of `bits`.
    fn int_const(&mut self, ty: Type, bits: u64) -> Value {
        if ty == I32 {
            self.b.ins().iconst(I32, i64::from(bits as u32))
        } else {
            self.b.ins().iconst(ty, bits as i64)
        }
    }

    /// A float constant of type `ty` (F32 or F64) with value `v` (exact in both types here).
    fn float_const(&mut self, ty: Type, v: f64) -> Value {
        if ty == F32 {
            self.b
                .ins()
                .f32const(Ieee32::with_bits((v as f32).to_bits()))
        } else {
            self.b.ins().f64const(Ieee64::with_bits(v.to_bits()))
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
            let code = self.iconst32(cond as i32);
            return self.call_value(builtin, &[code, a, b]);
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
    fn float_compare(&mut self, cond: FloatCmp) -> Result<(), CompileError> {
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
    fn float_to_int(
        &mut self,
        b: Builtin,
        int: Type,
        signed: bool,
        sat: bool,
    ) -> Result<(), CompileError> {
        let x = self.pop()?;
        if !self.calls(b) {
            let ins = self.b.ins();
            let v = match (signed, sat) {
                (true, false) => ins.fcvt_to_sint(int, x),
                (false, false) => ins.fcvt_to_uint(int, x),
                (true, true) => ins.fcvt_to_sint_sat(int, x),
                (false, true) => ins.fcvt_to_uint_sat(int, x),
            };
            self.stack.push(v);
            return Ok(());
        }
        let fty = self.b.func.dfg.value_type(x);
        let bits = int.bits();
        // In range: lo <= x (lo_inclusive) or lo < x, and x < hi.
        let (lo, lo_inclusive, hi) = if signed {
            let min = -(2f64.powi(bits as i32 - 1));
            if fty == F64 && int == I32 {
                // Doubles between MIN - 1 and MIN truncate to MIN.
                (min - 1.0, false, -min)
            } else {
                // The float just below MIN is more than 1 below it.
                (min, true, -min)
            }
        } else {
            (-1.0, false, 2f64.powi(bits as i32))
        };
        let (min, max) = if signed {
            (1u64 << (bits - 1), (1u64 << (bits - 1)) - 1)
        } else {
            (0, u64::MAX >> (64 - bits))
        };
        let below_cond = if lo_inclusive {
            FloatCmp::Lt
        } else {
            FloatCmp::Le
        };

        if !sat {
            let nan = self.float_cond(FloatCmp::Ne, x, x)?;
            self.b
                .ins()
                .trapnz(nan, cl_trap(TrapCode::BadConversionToInteger));
            let lo = self.float_const(fty, lo);
            let below = self.float_cond(below_cond, x, lo)?;
            self.b
                .ins()
                .trapnz(below, cl_trap(TrapCode::IntegerOverflow));
            let hi = self.float_const(fty, hi);
            let above = self.float_cond(FloatCmp::Ge, x, hi)?;
            self.b
                .ins()
                .trapnz(above, cl_trap(TrapCode::IntegerOverflow));
            let v = self.call_value(b, &[x])?;
            self.stack.push(v);
            return Ok(());
        }

        // Saturating: NaN -> 0, below -> MIN, above -> MAX, else the intrinsic.
        let done = self.new_block(&[int]);
        let nan = self.float_cond(FloatCmp::Ne, x, x)?;
        let zero = self.int_const(int, 0);
        self.branch_out(nan, done, zero);
        let lo = self.float_const(fty, lo);
        let below = self.float_cond(below_cond, x, lo)?;
        let min = self.int_const(int, min);
        self.branch_out(below, done, min);
        let hi = self.float_const(fty, hi);
        let above = self.float_cond(FloatCmp::Ge, x, hi)?;
        let max = self.int_const(int, max);
        self.branch_out(above, done, max);
        let v = self.call_value(b, &[x])?;
        self.jump(done, &[v]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        let v = self.b.block_params(done).first().copied();
        let v = v.ok_or_else(|| self.internal("saturating truncation without a result"))?;
        self.stack.push(v);
        Ok(())
    }

    /// Jumps to `dest` with `value` when `cond` holds; continues in a new block otherwise.
    fn branch_out(&mut self, cond: Value, dest: Block, value: Value) {
        let next = self.b.create_block();
        self.b
            .ins()
            .brif(cond, dest, &[BlockArg::Value(value)], next, &[]);
        self.b.seal_block(next);
        self.b.switch_to_block(next);
    }

    /// Integer division or remainder through intrinsic `b` when enabled: the division by zero
    /// (and, for `div_s`, the `MIN / -1` overflow) traps are checked here.
    fn int_div(&mut self, b: Builtin, op: DivOp) -> Result<(), CompileError> {
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

    /// A wasm `*.const`: from the constant table when its kind is enabled (`constop`), else
    /// materialised by `native`.
    fn constant(
        &mut self,
        op: &Operator<'_>,
        ty: Type,
        native: impl FnOnce(&mut FunctionBuilder<'_>) -> Value,
    ) -> Result<(), CompileError> {
        let v = match self.env.constants.offset_of(op)? {
            Some(offset) => {
                let table = self.vmctx_ptr(self.offsets.constants());
                // Target byte order (the default), read-only for the instance's life.
                self.b.ins().load(ty, Self::pure_flags(), table, offset)
            }
            None => native(&mut self.b),
        };
        self.stack.push(v);
        Ok(())
    }

    fn sign_extend(&mut self, from: Type, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let narrow = self.b.ins().ireduce(from, x);
        let v = self.b.ins().sextend(to, narrow);
        self.stack.push(v);
        Ok(())
    }

    fn eqz(&mut self) -> Result<(), CompileError> {
        let x = self.pop()?;
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        let v = self.b.ins().uextend(I32, c);
        self.stack.push(v);
        Ok(())
    }

    fn bitcast(&mut self, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), x);
        self.stack.push(v);
        Ok(())
    }

    // ---- operators -----------------------------------------------------------------------

    fn operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        match op {
            O::Unreachable => {
                self.b.ins().trap(cl_trap(TrapCode::UnreachableCodeReached));
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let dest = self.new_block(&results);
                let stack_base = self.stack_base(params.len())?;
                self.control.push(Frame {
                    kind: FrameKind::Block,
                    dest,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    dest_reached: false,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let header = self.new_block(&params);
                let dest = self.new_block(&results);
                let args = self.popn(params.len())?;
                self.jump(header, &args);
                self.b.switch_to_block(header);
                let stack_base = self.stack.len();
                let header_params = self.b.block_params(header).to_vec();
                self.stack.extend(header_params);
                self.control.push(Frame {
                    kind: FrameKind::Loop { header },
                    dest,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    dest_reached: false,
                });
            }
            O::If { blockty } => {
                let cond = self.pop()?;
                let (params, results) = self.block_type(blockty)?;
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let dest = self.new_block(&results);
                self.b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                let saved = self.peekn(params.len())?;
                let stack_base = self.stack_base(params.len())?;
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        params: saved,
                        else_seen: false,
                    },
                    dest,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    dest_reached: false,
                });
            }
            O::Else => self.else_()?,
            O::End => self.end()?,
            O::Br { relative_depth } => {
                let (block, n) = self.branch_target(relative_depth)?;
                let args = self.popn(n)?;
                self.jump(block, &args);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop()?;
                let (block, n) = self.branch_target(relative_depth)?;
                let args: Vec<BlockArg> = self.peekn(n)?.into_iter().map(BlockArg::Value).collect();
                let next = self.b.create_block();
                self.b.ins().brif(cond, block, &args, next, &[]);
                self.b.seal_block(next);
                self.b.switch_to_block(next);
            }
            O::BrTable { targets } => {
                let index = self.pop()?;
                let mut depths = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    depths.push(depth?);
                }
                let (default, n) = self.branch_target(targets.default())?;
                let args: Vec<BlockArg> = self.peekn(n)?.into_iter().map(BlockArg::Value).collect();
                let mut calls = Vec::with_capacity(depths.len());
                for depth in depths {
                    let (block, _) = self.branch_target(depth)?;
                    calls.push(self.b.func.dfg.block_call(block, &args));
                }
                let default = self.b.func.dfg.block_call(default, &args);
                let jt = self
                    .b
                    .create_jump_table(JumpTableData::new(default, &calls));
                self.b.ins().br_table(index, jt);
                self.popn(n)?;
                self.reachable = false;
            }
            O::Return => {
                let rets = self.popn(self.num_results)?;
                self.b.ins().return_(&rets);
                self.reachable = false;
            }
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
            O::MemorySize { mem } => {
                let memdef = self.memory_def(mem)?;
                let len = self.memory_length(memdef);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = self.b.ins().ireduce(I32, pages);
                self.stack.push(v);
            }
            O::MemoryGrow { mem } => {
                self.memory_def(mem)?;
                let delta = self.pop()?;
                let index = self.iconst32(0);
                self.call_builtin_push(Builtin::memory_grow, &[self.vmctx, delta, index])?;
            }

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
            O::I64Mul => binop_via!(self, Builtin::i64_mul, imul),
            O::I32DivS => self.int_div(Builtin::i32_div_s, DivOp::DivS)?,
            O::I64DivS => self.int_div(Builtin::i64_div_s, DivOp::DivS)?,
            O::I32DivU => self.int_div(Builtin::i32_div_u, DivOp::DivU)?,
            O::I64DivU => self.int_div(Builtin::i64_div_u, DivOp::DivU)?,
            O::I32RemS => self.int_div(Builtin::i32_rem_s, DivOp::RemS)?,
            O::I64RemS => self.int_div(Builtin::i64_rem_s, DivOp::RemS)?,
            O::I32RemU => self.int_div(Builtin::i32_rem_u, DivOp::RemU)?,
            O::I64RemU => self.int_div(Builtin::i64_rem_u, DivOp::RemU)?,
            O::I32And => binop!(self, band),
            O::I64And => binop_via!(self, Builtin::i64_and, band),
            O::I32Or => binop!(self, bor),
            O::I64Or => binop_via!(self, Builtin::i64_or, bor),
            O::I32Xor | O::I64Xor => binop!(self, bxor),
            O::I32Shl => binop!(self, ishl),
            O::I64Shl => binop_via!(self, Builtin::i64_shl, ishl),
            O::I32ShrS => binop!(self, sshr),
            O::I64ShrS => binop_via!(self, Builtin::i64_shr_s, sshr),
            O::I32ShrU => binop!(self, ushr),
            O::I64ShrU => binop_via!(self, Builtin::i64_shr_u, ushr),
            O::I32Rotl | O::I64Rotl => binop!(self, rotl),
            O::I32Rotr | O::I64Rotr => binop!(self, rotr),

            O::F32Abs => unop_via!(self, Builtin::f32_abs, fabs),
            O::F64Abs => unop_via!(self, Builtin::f64_abs, fabs),
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
            O::F32Add => binop_via!(self, Builtin::f32_add, fadd),
            O::F64Add => binop_via!(self, Builtin::f64_add, fadd),
            O::F32Sub => binop_via!(self, Builtin::f32_sub, fsub),
            O::F64Sub => binop_via!(self, Builtin::f64_sub, fsub),
            O::F32Mul => binop_via!(self, Builtin::f32_mul, fmul),
            O::F64Mul => binop_via!(self, Builtin::f64_mul, fmul),
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
            O::RefFunc { function_index } => {
                let functions = self.vmctx_ptr(self.offsets.functions());
                let off = self.field_offset(0, function_index, self.offsets.func_ref_size())?;
                let v = self.b.ins().iadd_imm_u(functions, i64::from(off));
                self.stack.push(v);
            }
            O::TableGet { table } => {
                let index = self.pop()?;
                let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds)?;
                let flags = self.table_flags();
                let v = self.b.ins().load(self.pointer, flags, addr, 0);
                self.stack.push(v);
            }
            O::TableSet { table } => {
                let value = self.pop()?;
                let index = self.pop()?;
                let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds)?;
                let flags = self.table_flags();
                self.b.ins().store(flags, value, addr, 0);
            }
            O::TableSize { table } => {
                let def = self.table_def(table)?;
                let v = self.table_length(def);
                self.stack.push(v);
            }
            O::TableGrow { table } => {
                let delta = self.pop()?;
                let init = self.pop()?;
                let table = self.iconst32(table as i32);
                self.call_builtin_push(Builtin::table_grow, &[self.vmctx, table, init, delta])?;
            }
            O::TableFill { table } => {
                let len = self.pop()?;
                let value = self.pop()?;
                let dst = self.pop()?;
                let table = self.iconst32(table as i32);
                self.call_builtin(Builtin::table_fill, &[self.vmctx, table, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3()?;
                let dt = self.iconst32(dst_table as i32);
                let st = self.iconst32(src_table as i32);
                self.call_builtin(Builtin::table_copy, &[self.vmctx, dt, st, dst, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3()?;
                let t = self.iconst32(table as i32);
                let seg = self.iconst32(elem_index as i32);
                self.call_builtin(Builtin::table_init, &[self.vmctx, t, seg, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let seg = self.iconst32(elem_index as i32);
                self.call_builtin(Builtin::elem_drop, &[self.vmctx, seg]);
            }
            O::MemoryInit { data_index, mem } => {
                self.memory_def(mem)?;
                let (dst, src, len) = self.pop3()?;
                let m = self.iconst32(mem as i32);
                let seg = self.iconst32(data_index as i32);
                self.call_builtin(Builtin::memory_init, &[self.vmctx, m, seg, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let seg = self.iconst32(data_index as i32);
                self.call_builtin(Builtin::data_drop, &[self.vmctx, seg]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                self.memory_def(dst_mem)?;
                self.memory_def(src_mem)?;
                let (dst, src, len) = self.pop3()?;
                let dm = self.iconst32(dst_mem as i32);
                let sm = self.iconst32(src_mem as i32);
                self.call_builtin(Builtin::memory_copy, &[self.vmctx, dm, sm, dst, src, len]);
            }
            O::MemoryFill { mem } => {
                self.memory_def(mem)?;
                let (dst, value, len) = self.pop3()?;
                let m = self.iconst32(mem as i32);
                self.call_builtin(Builtin::memory_fill, &[self.vmctx, m, dst, value, len]);
            }

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

    fn pop3(&mut self) -> Result<(Value, Value, Value), CompileError> {
        let c = self.pop()?;
        let (a, b) = self.pop2()?;
        Ok((a, b, c))
    }

    fn local(&self, index: u32) -> Result<Variable, CompileError> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| self.internal("local index out of range"))
    }
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
