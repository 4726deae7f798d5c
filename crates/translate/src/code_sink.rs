//! Where compiled code goes: the seam between translation and output. [`TextSink`] lays out an
//! AOT file's text with Cranelift's text-section builder (resolving calls between the module's
//! own functions at compile time); [`ObjectSink`] feeds `cranelift-object` for ELF objects.

use aotc_abi::{Builtin, TrapCode, builtins::BUILTIN_COUNT};
use aotc_format::layout::RelocKind;
use aotc_format::write::{Reloc, RelocTarget};
use cranelift_codegen::TextSectionBuilder;
use cranelift_codegen::binemit::Reloc as ClReloc;
use cranelift_codegen::ir;
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_control::ControlPlane;
use cranelift_module::{DataDescription, FuncId, Linkage, Module, ModuleReloc, ModuleRelocTarget};
use cranelift_object::{ObjectBuilder, ObjectModule};

use crate::CompileError;
use crate::compile::{CallTarget, CompiledCode};

/// Which trampoline of a function type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrampolineKind {
    /// Host to wasm.
    Entry,
    /// Wasm to host.
    Exit,
}

/// Receives compiled code. Every defined function is added, in function index order, before
/// any trampoline.
pub(crate) trait CodeSink {
    /// Adds defined function `func_index`; returns its `(offset, length)` in the output.
    fn function(
        &mut self,
        func_index: u32,
        code: &CompiledCode,
    ) -> Result<(u32, u32), CompileError>;

    /// Adds a trampoline for type `type_index`; returns its offset in the output.
    fn trampoline(
        &mut self,
        type_index: u32,
        kind: TrampolineKind,
        code: &CompiledCode,
    ) -> Result<u32, CompileError>;
}

fn codegen(msg: impl Into<String>) -> CompileError {
    CompileError::Codegen(msg.into())
}

fn to_u32(v: u64, what: &str) -> Result<u32, CompileError> {
    u32::try_from(v).map_err(|_| codegen(format!("{what} ({v:#x}) exceeds 4 GiB")))
}

/// The AOT file's relocation kind for a Cranelift relocation.
pub(crate) fn reloc_kind(kind: ClReloc) -> Option<RelocKind> {
    Some(match kind {
        ClReloc::Abs8 => RelocKind::Abs8,
        ClReloc::Abs4 => RelocKind::Abs4,
        ClReloc::X86CallPCRel4 | ClReloc::X86PCRel4 | ClReloc::X86CallPLTRel4 => {
            RelocKind::X86PcRel4
        }
        ClReloc::Arm64Call => RelocKind::Arm64Call,
        ClReloc::RiscvCallPlt => RelocKind::RiscvCallPlt,
        ClReloc::S390xPCRel32Dbl | ClReloc::S390xPLTRel32Dbl => RelocKind::S390xPcRel32Dbl,
        _ => return None,
    })
}

fn kind_or_err(kind: ClReloc) -> Result<RelocKind, CompileError> {
    reloc_kind(kind).ok_or_else(|| codegen(format!("relocation kind {kind:?} has no AOT encoding")))
}

/// Lays out an AOT file's text.
pub(crate) struct TextSink {
    builder: Box<dyn TextSectionBuilder>,
    ctrl: ControlPlane,
    num_imported: u32,
    /// `(offset, len)` of each defined function, by defined index.
    bodies: Vec<(u32, u32)>,
    /// Calls between own functions the builder could not resolve: `(site, kind, callee, addend)`.
    pending: Vec<(u32, RelocKind, u32, i64)>,
    /// Trap sites.
    pub traps: Vec<(u32, TrapCode)>,
    /// Relocations left for the loader.
    pub relocs: Vec<Reloc>,
    /// Builtins used.
    pub builtins: Vec<Builtin>,
}

impl TextSink {
    /// A sink for a module with `num_imported` imported and `num_defined` defined functions.
    pub fn new(isa: &dyn TargetIsa, num_imported: u32, num_defined: usize) -> Self {
        TextSink {
            builder: isa.text_section_builder(num_defined),
            ctrl: ControlPlane::default(),
            num_imported,
            bodies: Vec::with_capacity(num_defined),
            pending: Vec::new(),
            traps: Vec::new(),
            relocs: Vec::new(),
            builtins: Vec::new(),
        }
    }

    fn place(&mut self, labeled: bool, code: &CompiledCode) -> Result<u32, CompileError> {
        let offset = self
            .builder
            .append(labeled, &code.bytes, code.alignment, &mut self.ctrl);
        let offset = to_u32(offset, "text size")?;
        to_u32(u64::from(offset) + code.bytes.len() as u64, "text size")?;
        for &(off, trap) in &code.traps {
            self.traps.push((offset + off, trap));
        }
        self.builtins.extend_from_slice(&code.builtins);
        for r in &code.relocs {
            let site = offset + r.offset;
            match r.target {
                CallTarget::Func(callee) => {
                    let Some(label) = callee.checked_sub(self.num_imported) else {
                        return Err(codegen(format!(
                            "direct call to imported function {callee}"
                        )));
                    };
                    if !self.builder.resolve_reloc(
                        u64::from(site),
                        r.kind,
                        r.addend,
                        label as usize,
                    ) {
                        self.pending
                            .push((site, kind_or_err(r.kind)?, label, r.addend));
                    }
                }
                CallTarget::Builtin(b) => self.relocs.push(Reloc {
                    offset: site,
                    kind: kind_or_err(r.kind)?,
                    target: RelocTarget::Builtin(b),
                    addend: r.addend,
                }),
            }
        }
        Ok(offset)
    }

    /// Applies every relocation to `text` for `prelink` (through the one relocator the loader
    /// uses) and drops them: the text then executes at `prelink.base`, unpatched.
    pub fn prelink(
        &mut self,
        arch: aotc_abi::Arch,
        text: &mut [u8],
        prelink: &crate::Prelink,
    ) -> Result<aotc_format::write::Prelink, CompileError> {
        let symbols = &prelink.symbols;
        aotc_reloc::relocate(arch, text, prelink.base, &self.relocs, &|b| {
            symbols.address(b)
        })
        .map_err(CompileError::Prelink)?;
        self.relocs.clear();
        let mut builtin_addresses = vec![0; BUILTIN_COUNT];
        for &b in &self.builtins {
            builtin_addresses[b.index() as usize] = symbols.address(b).ok_or_else(|| {
                codegen(format!(
                    "prelink: the runtime symbols have no {}",
                    crate::builtin_symbol(b)
                ))
            })?;
        }
        Ok(aotc_format::write::Prelink {
            base: prelink.base,
            builtin_addresses,
        })
    }

    /// Finishes the text; returns its bytes (relocations and trap sites stay in the sink).
    pub fn finish(&mut self) -> Result<Vec<u8>, CompileError> {
        let text = self.builder.finish(&mut self.ctrl);
        for &(site, kind, label, addend) in &self.pending {
            let Some(&(target, _)) = self.bodies.get(label as usize) else {
                return Err(codegen(format!("call to unknown function label {label}")));
            };
            self.relocs.push(Reloc {
                offset: site,
                kind,
                target: RelocTarget::TextOffset(target),
                addend,
            });
        }
        Ok(text)
    }
}

impl CodeSink for TextSink {
    fn function(
        &mut self,
        func_index: u32,
        code: &CompiledCode,
    ) -> Result<(u32, u32), CompileError> {
        if func_index.checked_sub(self.num_imported) != Some(self.bodies.len() as u32) {
            return Err(codegen(format!("function {func_index} added out of order")));
        }
        let offset = self.place(true, code)?;
        let len = to_u32(code.bytes.len() as u64, "function size")?;
        self.bodies.push((offset, len));
        Ok((offset, len))
    }

    fn trampoline(
        &mut self,
        _type_index: u32,
        _kind: TrampolineKind,
        code: &CompiledCode,
    ) -> Result<u32, CompileError> {
        self.place(false, code)
    }
}

/// Builds a relocatable object with `cranelift-object`.
pub(crate) struct ObjectSink {
    module: ObjectModule,
    num_imported: u32,
    func_ids: Vec<FuncId>,
    builtin_ids: [Option<FuncId>; BUILTIN_COUNT],
    /// Symbols are declared with this placeholder signature; only their bytes matter.
    signature: ir::Signature,
}

fn module_err(e: cranelift_module::ModuleError) -> CompileError {
    codegen(format!("object: {e}"))
}

impl ObjectSink {
    /// An object for a module with `num_imported` imported and `num_defined` defined functions.
    pub fn new(
        isa: OwnedTargetIsa,
        num_imported: u32,
        num_defined: usize,
    ) -> Result<Self, CompileError> {
        let signature = ir::Signature::new(isa.default_call_conv());
        let builder = ObjectBuilder::new(isa, "aotc", cranelift_module::default_libcall_names())
            .map_err(module_err)?;
        let mut module = ObjectModule::new(builder);
        let mut func_ids = Vec::with_capacity(num_defined);
        for i in 0..num_defined {
            let index = u64::from(num_imported) + i as u64;
            let id = module
                .declare_function(&format!("aotc_func_{index}"), Linkage::Export, &signature)
                .map_err(module_err)?;
            func_ids.push(id);
        }
        Ok(ObjectSink {
            module,
            num_imported,
            func_ids,
            builtin_ids: [None; BUILTIN_COUNT],
            signature,
        })
    }

    fn define(&mut self, id: FuncId, code: &CompiledCode) -> Result<(), CompileError> {
        let mut relocs = Vec::with_capacity(code.relocs.len());
        for r in &code.relocs {
            let target = match r.target {
                CallTarget::Func(callee) => callee
                    .checked_sub(self.num_imported)
                    .and_then(|i| self.func_ids.get(i as usize).copied())
                    .ok_or_else(|| codegen(format!("call to unknown function {callee}")))?,
                CallTarget::Builtin(b) => match self.builtin_ids[b.index() as usize] {
                    Some(id) => id,
                    None => {
                        let id = self
                            .module
                            .declare_function(
                                &crate::builtin_symbol(b),
                                Linkage::Import,
                                &self.signature,
                            )
                            .map_err(module_err)?;
                        self.builtin_ids[b.index() as usize] = Some(id);
                        id
                    }
                },
            };
            relocs.push(ModuleReloc {
                offset: r.offset,
                kind: r.kind,
                name: ModuleRelocTarget::user(0, target.as_u32()),
                addend: r.addend,
            });
        }
        self.module
            .define_function_bytes(id, u64::from(code.alignment), &code.bytes, &relocs)
            .map_err(module_err)
    }

    /// Serialises the object file; a non-empty constant table (`constop`) becomes the
    /// read-only data symbol `aotc_constants`, for the embedder to store in `vmctx.constants`.
    pub fn finish(mut self, constants: &[[u8; 8]]) -> Result<Vec<u8>, CompileError> {
        if !constants.is_empty() {
            let id = self
                .module
                .declare_data("aotc_constants", Linkage::Export, false, false)
                .map_err(module_err)?;
            let mut data = DataDescription::new();
            data.define(constants.concat().into_boxed_slice());
            data.set_align(8);
            self.module.define_data(id, &data).map_err(module_err)?;
        }
        self.module
            .finish()
            .emit()
            .map_err(|e| codegen(format!("object: {e}")))
    }
}

impl CodeSink for ObjectSink {
    fn function(
        &mut self,
        func_index: u32,
        code: &CompiledCode,
    ) -> Result<(u32, u32), CompileError> {
        let id = func_index
            .checked_sub(self.num_imported)
            .and_then(|i| self.func_ids.get(i as usize).copied())
            .ok_or_else(|| codegen(format!("unknown function {func_index}")))?;
        self.define(id, code)?;
        Ok((0, to_u32(code.bytes.len() as u64, "function size")?))
    }

    fn trampoline(
        &mut self,
        type_index: u32,
        kind: TrampolineKind,
        code: &CompiledCode,
    ) -> Result<u32, CompileError> {
        let name = match kind {
            TrampolineKind::Entry => format!("aotc_entry_trampoline_{type_index}"),
            TrampolineKind::Exit => format!("aotc_exit_trampoline_{type_index}"),
        };
        let id = self
            .module
            .declare_function(&name, Linkage::Export, &self.signature)
            .map_err(module_err)?;
        self.define(id, code)?;
        Ok(0)
    }
}
