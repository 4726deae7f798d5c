//! The compilation driver: validation, the intrinsic set and constant table, parallel and
//! deterministic code generation of every function and trampoline, the XIP relocation check,
//! and assembly of the output through a [`CodeSink`].

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use aotc_abi::intrinsics::IntrinsicSet;
use aotc_abi::{Builtin, TrapCode};
use aotc_format::layout::{
    FLAG_EXPLICIT_BOUNDS_CHECKS, FLAG_INDIRECT_CALLS, FLAG_MEMORY_GROW, FLAG_MEMORY_SIZE, FLAG_XIP,
};
use aotc_format::write::{AotModule, FuncType};
use cranelift_codegen::binemit::Reloc as ClReloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedRelocTarget};
use rayon::prelude::*;
use wasmparser::{Validator, WasmFeatures};

use crate::cl_abi;
use crate::cl_abi::{NS_BUILTIN, NS_FUNC};
use crate::code_sink::{CodeSink, ObjectSink, TextSink, TrampolineKind};
use crate::constants::{ConstKinds, ConstTable};
use crate::func_translator::{self, Env, MemoryOps, Translated};
use crate::inline::Callees;
use crate::isa::{self, Target};
use crate::module_env::{self, ModuleInfo};
use crate::{CompileError, CompileOptions, trampolines};

/// What a relocation of compiled code refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallTarget {
    /// A function of the module, by function index.
    Func(u32),
    /// A builtin.
    Builtin(Builtin),
}

impl std::fmt::Display for CallTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallTarget::Func(i) => write!(f, "function {i}"),
            CallTarget::Builtin(b) => write!(f, "builtin {}", b.name()),
        }
    }
}

/// A relocation within one compiled function.
#[derive(Clone, Debug)]
pub(crate) struct CodeReloc {
    /// Offset within the function.
    pub offset: u32,
    /// Cranelift's relocation kind.
    pub kind: ClReloc,
    /// Target.
    pub target: CallTarget,
    /// Addend.
    pub addend: i64,
}

/// One function's machine code and side tables.
#[derive(Clone, Debug)]
pub(crate) struct CompiledCode {
    /// Machine code.
    pub bytes: Vec<u8>,
    /// Required alignment.
    pub alignment: u32,
    /// Relocations.
    pub relocs: Vec<CodeReloc>,
    /// Trap sites (offset within the function).
    pub traps: Vec<(u32, TrapCode)>,
    /// Builtins called (directly or through the vmctx).
    pub builtins: Vec<Builtin>,
    /// The memory-size operations the function's own body contains (none in trampolines).
    pub memory_ops: MemoryOps,
}

/// Compiles one IR function with Cranelift.
pub(crate) fn codegen(
    isa: &dyn TargetIsa,
    func: ir::Function,
    mut builtins: Vec<Builtin>,
    what: &str,
) -> Result<CompiledCode, CompileError> {
    let mut ctx = Context::for_function(func);
    let mut ctrl = ControlPlane::default();
    if let Err(e) = ctx.compile(isa, &mut ctrl) {
        return Err(CompileError::Codegen(format!("{what}: {:?}", e.inner)));
    }
    let Some(code) = ctx.compiled_code() else {
        return Err(CompileError::Codegen(format!("{what}: no code produced")));
    };
    let mut relocs = Vec::new();
    for r in code.buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &ctx.func.params.user_named_funcs()[*name];
                match name.namespace {
                    NS_FUNC => CallTarget::Func(name.index),
                    NS_BUILTIN => {
                        CallTarget::Builtin(Builtin::from_index(name.index).ok_or_else(|| {
                            CompileError::Codegen(format!("{what}: unknown builtin {}", name.index))
                        })?)
                    }
                    ns => {
                        return Err(CompileError::Codegen(format!(
                            "{what}: relocation against unknown namespace {ns}"
                        )));
                    }
                }
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(libcall)) => {
                match isa::libcall_builtin(*libcall) {
                    Some(b) => CallTarget::Builtin(b),
                    None => {
                        return Err(CompileError::Codegen(format!(
                            "{what}: Cranelift needs libcall {libcall:?}, which has no builtin"
                        )));
                    }
                }
            }
            other => {
                return Err(CompileError::Codegen(format!(
                    "{what}: unsupported relocation target {other:?}"
                )));
            }
        };
        if let CallTarget::Builtin(b) = target
            && !builtins.contains(&b)
        {
            builtins.push(b);
        }
        relocs.push(CodeReloc {
            offset: r.offset,
            kind: r.kind,
            target,
            addend: r.addend,
        });
    }
    let mut traps = Vec::with_capacity(code.buffer.traps().len());
    for t in code.buffer.traps() {
        let trap = cl_abi::abi_trap(t.code).ok_or_else(|| {
            CompileError::Codegen(format!("{what}: unknown trap code {}", t.code))
        })?;
        traps.push((t.offset, trap));
    }
    let alignment = code
        .buffer
        .alignment
        .max(isa.function_alignment().preferred);
    Ok(CompiledCode {
        bytes: code.code_buffer().to_vec(),
        alignment,
        relocs,
        traps,
        builtins,
        memory_ops: MemoryOps::default(),
    })
}

/// Runs `f`, turning a panic inside Cranelift into an error.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, CompileError>) -> Result<T, CompileError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(CompileError::Codegen(format!(
            "{what}: internal compiler error (panic)"
        )))
    })
}

/// Trampolines of one distinct signature.
struct TrampolinePair {
    /// First type index with this signature.
    type_index: u32,
    entry: CompiledCode,
    exit: CompiledCode,
}

/// Everything compiled, before layout.
struct Compiled<'a> {
    module: ModuleInfo<'a>,
    target: Target,
    functions: Vec<CompiledCode>,
    trampolines: Vec<TrampolinePair>,
    /// For every type index, the index into `trampolines`.
    type_trampolines: Vec<usize>,
    /// The intrinsic set the code was compiled with.
    intrinsics: IntrinsicSet,
    /// The constant table's slots (target byte order).
    constants: Vec<[u8; 8]>,
}

fn compile_all<'a>(wasm: &'a [u8], opts: &CompileOptions) -> Result<Compiled<'a>, CompileError> {
    Validator::new_with_features(WasmFeatures::WASM2).validate_all(wasm)?;
    let target = isa::target(opts)?;
    let intrinsics = isa::effective_intrinsics(opts, &target);
    let module = module_env::parse(wasm)?;
    let constants = ConstTable::collect(
        &module.bodies,
        ConstKinds::of(intrinsics),
        target.arch.endianness(),
    )?;
    let env = Env {
        module: &module,
        target: &target,
        indirect: opts.indirect_calls(),
        explicit_bounds_checks: opts.explicit_bounds_checks,
        intrinsic_calls: func_translator::intrinsic_calls(intrinsics),
        constants: &constants,
    };
    let functions = compile_functions(&env, opts)?;
    let (trampolines, type_trampolines) = compile_trampolines(&module, &target)?;
    Ok(Compiled {
        module,
        target,
        functions,
        trampolines,
        type_trampolines,
        intrinsics,
        constants: constants.into_slots(),
    })
}

/// Translates and compiles every defined function, in parallel, inlining small callees when
/// optimising with inlining on (see [`inline`](crate::inline)); in XIP mode a function that still needs a
/// relocation is an error.
fn compile_functions(
    env: &Env<'_>,
    opts: &CompileOptions,
) -> Result<Vec<CompiledCode>, CompileError> {
    let isa = &*env.target.isa;
    let xip = opts.xip;
    let num_imported = env.module.num_imported_funcs;
    let callees = if opts.opt_level > 0 && opts.inlining {
        Callees::collect(env, &env.module.bodies)?
    } else {
        Callees::none()
    };
    let results: Vec<Result<CompiledCode, CompileError>> = env
        .module
        .bodies
        .par_iter()
        .enumerate()
        .map(|(i, body)| {
            let func_index = num_imported + i as u32;
            let what = format!("wasm function {func_index}");
            guarded(&what, || {
                let Translated {
                    mut func,
                    mut builtins,
                    memory_ops,
                } = match callees.translated(func_index) {
                    Some(translated) => translated,
                    None => func_translator::translate(env, func_index, body)?,
                };
                if !callees.is_empty() {
                    let mut inliner = callees.inliner(func_index, builtins);
                    let mut ctx = Context::for_function(func);
                    ctx.inline(&mut inliner)
                        .map_err(|e| CompileError::Codegen(format!("{what}: inlining: {e:?}")))?;
                    func = ctx.func;
                    builtins = inliner.builtins;
                }
                let mut code = codegen(isa, func, builtins, &what)?;
                code.memory_ops = memory_ops;
                // Calls to the module's own functions are resolved by the text-section
                // builder (PC-relative, inside the text); anything else would stay for the
                // loader.
                let for_loader = code
                    .relocs
                    .iter()
                    .find(|r| !matches!(r.target, CallTarget::Func(_)));
                if xip && let Some(r) = for_loader {
                    return Err(CompileError::Codegen(format!(
                        "XIP: {what} needs a {:?} relocation at function offset {:#x} against {} \
                         (XIP text must be relocation-free)",
                        r.kind, r.offset, r.target
                    )));
                }
                Ok(code)
            })
        })
        .collect();
    results.into_iter().collect()
}

/// Compiles one pair of trampolines per distinct signature, in first-use order, in parallel;
/// returns them and, for every type index, the index of its pair.
#[allow(clippy::type_complexity)]
fn compile_trampolines(
    module: &ModuleInfo<'_>,
    target: &Target,
) -> Result<(Vec<TrampolinePair>, Vec<usize>), CompileError> {
    let isa = &*target.isa;
    let mut distinct: BTreeMap<(Vec<u8>, Vec<u8>), usize> = BTreeMap::new();
    let mut unique: Vec<(u32, &FuncType)> = Vec::new();
    let mut type_trampolines = Vec::with_capacity(module.types.len());
    for (i, ty) in module.types.iter().enumerate() {
        let encode = |ts: &[aotc_abi::ValType]| ts.iter().map(|t| *t as u8).collect::<Vec<u8>>();
        let key = (encode(&ty.params), encode(&ty.results));
        let next = unique.len();
        let slot = *distinct.entry(key).or_insert(next);
        if slot == next {
            unique.push((i as u32, ty));
        }
        type_trampolines.push(slot);
    }
    let pairs: Vec<Result<TrampolinePair, CompileError>> = unique
        .par_iter()
        .map(|&(type_index, ty)| {
            let what = format!("trampolines of type {type_index}");
            guarded(&what, || {
                let missing = || CompileError::Codegen(format!("{what}: unsupported signature"));
                let entry = trampolines::entry(target, type_index, ty).ok_or_else(missing)?;
                let exit = trampolines::exit(target, type_index, ty).ok_or_else(missing)?;
                let entry = codegen(isa, entry, Vec::new(), &what)?;
                let exit = codegen(isa, exit, Vec::new(), &what)?;
                if let Some(r) = entry.relocs.first().or(exit.relocs.first()) {
                    return Err(CompileError::Codegen(format!(
                        "{what}: unexpected {:?} relocation against {}",
                        r.kind, r.target
                    )));
                }
                Ok(TrampolinePair {
                    type_index,
                    entry,
                    exit,
                })
            })
        })
        .collect();
    let trampolines = pairs.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((trampolines, type_trampolines))
}

/// Feeds everything to `sink`; returns function bodies and per-type trampoline offsets.
#[allow(clippy::type_complexity)]
fn emit(
    sink: &mut dyn CodeSink,
    c: &Compiled<'_>,
) -> Result<(Vec<(u32, u32)>, Vec<Option<(u32, u32)>>), CompileError> {
    let num_imported = c.module.num_imported_funcs;
    let mut bodies = Vec::with_capacity(c.functions.len());
    for (i, code) in c.functions.iter().enumerate() {
        bodies.push(sink.function(num_imported + i as u32, code)?);
    }
    let mut offsets = Vec::with_capacity(c.trampolines.len());
    for pair in &c.trampolines {
        let entry = sink.trampoline(pair.type_index, TrampolineKind::Entry, &pair.entry)?;
        let exit = sink.trampoline(pair.type_index, TrampolineKind::Exit, &pair.exit)?;
        offsets.push((entry, exit));
    }
    let per_type = c
        .type_trampolines
        .iter()
        .map(|&slot| offsets.get(slot).copied())
        .collect();
    Ok((bodies, per_type))
}

/// `compile()`: an AOT module.
pub(crate) fn compile_aot(wasm: &[u8], opts: &CompileOptions) -> Result<AotModule, CompileError> {
    let c = compile_all(wasm, opts)?;
    let mut sink = TextSink::new(
        &*c.target.isa,
        c.module.num_imported_funcs,
        c.functions.len(),
    );
    let (bodies, per_type) = emit(&mut sink, &c)?;
    let mut text = sink.finish()?;
    let prelink = match &opts.prelink {
        Some(p) => Some(sink.prelink(c.target.arch, &mut text, p)?),
        None => None,
    };
    if opts.xip
        && let Some(r) = sink.relocs.first()
    {
        return Err(CompileError::Codegen(format!(
            "XIP: relocation {} at text offset {:#x} remains",
            r.kind.name(),
            r.offset
        )));
    }

    let mut memory_ops = MemoryOps::default();
    for code in &c.functions {
        memory_ops |= code.memory_ops;
    }
    let Compiled {
        module,
        target,
        intrinsics,
        constants,
        ..
    } = c;
    let mut m = AotModule::new(target.arch);
    m.text_align = opts.text_align;
    m.target_triple = target.triple_name.to_string();
    m.cpu_name = target.cpu_name;
    m.cpu_features = target.cpu_features;
    m.flags = if opts.xip {
        FLAG_XIP | FLAG_INDIRECT_CALLS
    } else if opts.indirect {
        FLAG_INDIRECT_CALLS
    } else {
        0
    };
    if opts.explicit_bounds_checks {
        m.flags |= FLAG_EXPLICIT_BOUNDS_CHECKS;
    }
    if memory_ops.grow {
        m.flags |= FLAG_MEMORY_GROW;
    }
    if memory_ops.size {
        m.flags |= FLAG_MEMORY_SIZE;
    }
    m.types = module.types;
    for (ty, tramps) in m.types.iter_mut().zip(per_type) {
        ty.entry_trampoline = tramps.map(|t| t.0);
        ty.exit_trampoline = tramps.map(|t| t.1);
    }
    m.functions = module.functions;
    let num_imported = module.num_imported_funcs as usize;
    for (f, body) in m.functions.iter_mut().skip(num_imported).zip(bodies) {
        f.body = Some(body);
    }
    m.imports = module.imports;
    m.tables = module.tables;
    m.memories = module.memories;
    m.globals = module.globals;
    m.exports = module.exports;
    m.start = module.start;
    m.function_names = module.function_names;
    m.elements = module.elements;
    m.data = module.data;
    m.text = text;
    m.traps = std::mem::take(&mut sink.traps);
    m.relocs = std::mem::take(&mut sink.relocs);
    m.builtins = std::mem::take(&mut sink.builtins);
    m.intrinsics = intrinsics;
    m.constants = constants;
    m.prelink = prelink;
    Ok(m)
}

/// `compile_object()`: an ELF relocatable object.
pub(crate) fn compile_object(wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, CompileError> {
    let c = compile_all(wasm, opts)?;
    let mut sink = ObjectSink::new(
        c.target.isa.clone(),
        c.module.num_imported_funcs,
        c.functions.len(),
    )?;
    emit(&mut sink, &c)?;
    sink.finish(&c.constants)
}
