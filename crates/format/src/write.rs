//! The writer: an owned description of a compiled module ([`AotModule`]) serialised to bytes.
//!
//! The writer refuses to produce an XIP file with any relocation against its text, and checks
//! every cross reference it writes, so the reader's checks only ever fail on damaged files.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::mem::size_of;

use aotc_abi::{Arch, Builtin, TrapCode, ValType};

use crate::checksum::{checksum, checksum_of_parts, metadata_checksum, symbols_fingerprint};
use crate::layout::*;
use crate::pod::{I64, Pod, U16, U32, U64, bytes_of};

pub use crate::layout::{Reloc, RelocTarget, SegmentPlacement};
/// A linear memory: the same value the reader hands out.
pub use crate::read::Memory;

/// A function type with the text offsets of its trampolines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
    /// Text offset of the entry (host-to-wasm) trampoline.
    pub entry_trampoline: Option<u32>,
    /// Text offset of the exit (wasm-to-host) trampoline.
    pub exit_trampoline: Option<u32>,
}

/// An import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ExternKind,
    /// Index in the kind's index space.
    pub index: u32,
}

/// A function: imported (no body) or defined (a range of the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Type index.
    pub type_index: u32,
    /// `(text offset, length)` of the body; `None` for imports.
    pub body: Option<(u32, u32)>,
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Element type.
    pub elem_type: ValType,
    /// Minimum size.
    pub min: u64,
    /// Maximum size.
    pub max: Option<u64>,
    /// Imported rather than defined.
    pub imported: bool,
}

/// A global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Value type.
    pub val_type: ValType,
    /// Mutable.
    pub mutable: bool,
    /// Initialiser; `None` for imports.
    pub init: Option<ConstValue>,
}

/// An export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// Name.
    pub name: String,
    /// What is exported.
    pub kind: ExternKind,
    /// Index in the kind's index space.
    pub index: u32,
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementSegment {
    /// Placement.
    pub placement: SegmentPlacement,
    /// Element type.
    pub elem_type: ValType,
    /// Items (`RefFunc`, `RefNull` or `GlobalGet`).
    pub items: Vec<ConstValue>,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSegment {
    /// Placement (`Active` or `Passive`).
    pub placement: SegmentPlacement,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Everything an AOT file holds, owned.
#[derive(Clone, Debug)]
pub struct AotModule {
    /// Target architecture.
    pub arch: Arch,
    /// Target triple (at most 31 bytes).
    pub target_triple: String,
    /// CPU name (at most 23 bytes; empty: generic).
    pub cpu_name: String,
    /// `aotc_abi::target::cpu_features` bits the code needs.
    pub cpu_features: u64,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Function types, by type index.
    pub types: Vec<FuncType>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Functions, by function index (imports first).
    pub functions: Vec<Function>,
    /// Tables, by table index (imports first).
    pub tables: Vec<Table>,
    /// Memories, by memory index (imports first).
    pub memories: Vec<Memory>,
    /// Globals, by global index (imports first).
    pub globals: Vec<Global>,
    /// Exports.
    pub exports: Vec<Export>,
    /// Start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Machine code.
    pub text: Vec<u8>,
    /// Alignment of the text's file offset; `None`: the target's largest page size.
    pub text_align: Option<u32>,
    /// Trap sites `(text offset, code)`, in any order.
    pub traps: Vec<(u32, TrapCode)>,
    /// Relocations against the text.
    pub relocs: Vec<Reloc>,
    /// Builtins the code calls, in any order (duplicates allowed).
    pub builtins: Vec<Builtin>,
    /// The intrinsic set the code was compiled with.
    pub intrinsics: aotc_abi::intrinsics::IntrinsicSet,
    /// The constant table: 8-byte slots, each already in the target's byte order.
    pub constants: Vec<[u8; 8]>,
    /// Function names `(function index, name)` (the wasm `name` section's), in any order; the
    /// first name of an index wins. Empty: a file without names.
    pub function_names: Vec<(u32, String)>,
    /// Set for a prelinked file (its text already relocated, `relocs` empty): sets
    /// `FLAG_PRELINKED` and records the base and the fingerprint of the builtin addresses.
    pub prelink: Option<Prelink>,
}

/// What a prelinked text was relocated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prelink {
    /// The address the text executes at.
    pub base: u64,
    /// The address of each builtin, by builtin index (at least those the code calls).
    pub builtin_addresses: Vec<u64>,
}

impl AotModule {
    /// An empty module for `arch`.
    pub fn new(arch: Arch) -> Self {
        AotModule {
            arch,
            target_triple: String::new(),
            cpu_name: String::new(),
            cpu_features: 0,
            flags: 0,
            types: Vec::new(),
            imports: Vec::new(),
            functions: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            exports: Vec::new(),
            start: None,
            elements: Vec::new(),
            data: Vec::new(),
            text: Vec::new(),
            traps: Vec::new(),
            relocs: Vec::new(),
            builtins: Vec::new(),
            intrinsics: aotc_abi::intrinsics::IntrinsicSet::EMPTY,
            constants: Vec::new(),
            text_align: None,
            function_names: Vec::new(),
            prelink: None,
        }
    }

    /// Whether this is an XIP file.
    pub fn is_xip(&self) -> bool {
        self.flags & FLAG_XIP != 0
    }
}

/// Why a module could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// An XIP module has relocations against its text.
    XipWithRelocations {
        /// Number of relocations.
        count: usize,
        /// The first one.
        first: Reloc,
    },
    /// A field does not fit or refers to something that does not exist.
    Invalid(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::XipWithRelocations { count, first } => write!(
                f,
                "refusing to write an XIP file with {count} relocation(s) against its text \
                 (first: {} at text offset {:#x} to {:?})",
                first.kind.name(),
                first.offset,
                first.target
            ),
            WriteError::Invalid(msg) => write!(f, "invalid module: {msg}"),
        }
    }
}

impl core::error::Error for WriteError {}

fn invalid(msg: impl Into<String>) -> WriteError {
    WriteError::Invalid(msg.into())
}

fn u32_of(v: usize, what: &str) -> Result<u32, WriteError> {
    u32::try_from(v).map_err(|_| invalid(alloc::format!("{what} ({v}) does not fit in 32 bits")))
}

/// Bytes of a section being assembled.
#[derive(Default)]
struct Pool {
    bytes: Vec<u8>,
}

impl Pool {
    fn add(&mut self, data: &[u8]) -> Result<Range, WriteError> {
        let offset = u32_of(self.bytes.len(), "pool offset")?;
        self.bytes.extend_from_slice(data);
        Ok(Range {
            offset: U32::new(offset),
            len: U32::new(u32_of(data.len(), "pool item length")?),
        })
    }
}

fn count(items: usize) -> Result<u32, WriteError> {
    u32_of(items, "record count")
}

/// The metadata sections being built, in file order (the pool is placed first), and the pool
/// their records reference.
#[derive(Default)]
struct Sections {
    pool: Pool,
    sections: Vec<(SectionKind, u32, Vec<u8>)>,
}

impl Sections {
    fn push<T: Pod>(&mut self, kind: SectionKind, items: &[T]) -> Result<(), WriteError> {
        self.sections
            .push((kind, count(items.len())?, records(items)));
        Ok(())
    }
}

/// Encodes trap sites, ascending and distinct by offset, as [`TrapBlock`]s and their deltas.
fn encode_traps(traps: &[(u32, TrapCode)]) -> Result<(Vec<TrapBlock>, Vec<u8>), WriteError> {
    let mut blocks = Vec::with_capacity(traps.len().div_ceil(TRAP_BLOCK_SITES));
    let mut deltas = Vec::new();
    for chunk in traps.chunks(TRAP_BLOCK_SITES) {
        let (first_offset, first_code) = chunk[0];
        blocks.push(TrapBlock {
            first_offset: U32::new(first_offset),
            deltas_offset: U32::new(u32_of(deltas.len(), "trap delta offset")?),
            first_code: first_code as u8,
            sites: chunk.len() as u8,
            pad: [0; 2],
        });
        for pair in chunk.windows(2) {
            let [(previous, previous_code), (offset, code)] = pair else {
                continue;
            };
            let changes = code != previous_code;
            let mut v = (u64::from(offset - previous) << 1) | u64::from(changes);
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    deltas.push(byte);
                    break;
                }
                deltas.push(byte | 0x80);
            }
            if changes {
                deltas.push(*code as u8);
            }
        }
    }
    Ok((blocks, deltas))
}

fn records<T: Pod>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_of_val(items));
    for item in items {
        out.extend_from_slice(bytes_of(item));
    }
    out
}

fn fixed_ascii<const N: usize>(s: &str, what: &str) -> Result<[u8; N], WriteError> {
    if s.len() >= N || !s.is_ascii() || s.contains('\0') {
        return Err(invalid(alloc::format!(
            "{what} {s:?} must be ASCII without NUL and shorter than {N} bytes"
        )));
    }
    let mut out = [0u8; N];
    out[..s.len()].copy_from_slice(s.as_bytes());
    Ok(out)
}

fn limits_flags(has_max: bool, imported: bool) -> u8 {
    (if has_max { LIMITS_HAS_MAX } else { 0 }) | (if imported { LIMITS_IMPORTED } else { 0 })
}

impl AotModule {
    /// Checks the module's internal consistency.
    fn check(&self) -> Result<(), WriteError> {
        if self.is_xip() && !self.relocs.is_empty() {
            return Err(WriteError::XipWithRelocations {
                count: self.relocs.len(),
                first: self.relocs[0],
            });
        }
        if self.flags & FLAG_PRELINKED != 0 {
            return Err(invalid(
                "FLAG_PRELINKED is set by `prelink`, not in `flags`",
            ));
        }
        if self.prelink.is_some() && self.flags & (FLAG_XIP | FLAG_INDIRECT_CALLS) != 0 {
            return Err(invalid("a prelinked module is a normal-mode one"));
        }
        if self.prelink.is_some() && !self.relocs.is_empty() {
            return Err(invalid(alloc::format!(
                "a prelinked module has {} relocations left",
                self.relocs.len()
            )));
        }
        if self.flags & !KNOWN_FLAGS != 0 {
            return Err(invalid(alloc::format!("unknown flags {:#x}", self.flags)));
        }
        let text_len = self.text.len() as u64;
        let in_text = |off: u32, len: u32| u64::from(off) + u64::from(len) <= text_len;
        for (i, t) in self.types.iter().enumerate() {
            for tramp in [t.entry_trampoline, t.exit_trampoline]
                .into_iter()
                .flatten()
            {
                if !in_text(tramp, 1) {
                    return Err(invalid(alloc::format!(
                        "type {i}: trampoline {tramp:#x} outside the text"
                    )));
                }
            }
        }
        for (i, f) in self.functions.iter().enumerate() {
            if f.type_index as usize >= self.types.len() {
                return Err(invalid(alloc::format!(
                    "function {i}: type {} out of range",
                    f.type_index
                )));
            }
            if let Some((off, len)) = f.body
                && !in_text(off, len)
            {
                return Err(invalid(alloc::format!(
                    "function {i}: body outside the text"
                )));
            }
        }
        for &(off, _) in &self.traps {
            if !in_text(off, 1) {
                return Err(invalid(alloc::format!(
                    "trap site {off:#x} outside the text"
                )));
            }
        }
        for r in &self.relocs {
            if !in_text(r.offset, r.kind.patch_size()) {
                return Err(invalid(alloc::format!(
                    "relocation at {:#x} outside the text",
                    r.offset
                )));
            }
        }
        if let Some(s) = self.start
            && s as usize >= self.functions.len()
        {
            return Err(invalid(alloc::format!("start function {s} out of range")));
        }
        Ok(())
    }

    /// Serialises the module.
    pub fn write(&self) -> Result<Vec<u8>, WriteError> {
        self.check()?;
        let mut b = Sections::default();
        self.push_signatures(&mut b)?;
        self.push_entities(&mut b)?;
        self.push_segments(&mut b)?;
        self.push_code_facts(&mut b)?;
        self.lay_out(b)
    }

    /// The module record, the types and the imports.
    fn push_signatures(&self, b: &mut Sections) -> Result<(), WriteError> {
        let vt = |ts: &[ValType]| -> Vec<u8> { ts.iter().map(|t| *t as u8).collect() };
        let imported = |kind: ExternKind| self.imports.iter().filter(|i| i.kind == kind).count();
        let module = ModuleRecord {
            start_function: U32::new(self.start.unwrap_or(NONE)),
            imported_functions: U32::new(count(imported(ExternKind::Func))?),
            imported_tables: U32::new(count(imported(ExternKind::Table))?),
            imported_memories: U32::new(count(imported(ExternKind::Memory))?),
            imported_globals: U32::new(count(imported(ExternKind::Global))?),
            reserved: [0; 12],
        };
        b.push(SectionKind::Module, &[module])?;

        let mut types = Vec::with_capacity(self.types.len());
        for t in &self.types {
            types.push(TypeRecord {
                params: b.pool.add(&vt(&t.params))?,
                results: b.pool.add(&vt(&t.results))?,
                entry_trampoline: U32::new(t.entry_trampoline.unwrap_or(NONE)),
                exit_trampoline: U32::new(t.exit_trampoline.unwrap_or(NONE)),
            });
        }
        b.push(SectionKind::Types, &types)?;

        let mut imports = Vec::with_capacity(self.imports.len());
        for i in &self.imports {
            imports.push(ImportRecord {
                module: b.pool.add(i.module.as_bytes())?,
                name: b.pool.add(i.name.as_bytes())?,
                kind: i.kind as u8,
                pad: [0; 3],
                index: U32::new(i.index),
            });
        }
        b.push(SectionKind::Imports, &imports)
    }

    /// Functions, tables, memories and globals.
    fn push_entities(&self, b: &mut Sections) -> Result<(), WriteError> {
        let functions: Vec<FunctionRecord> = self
            .functions
            .iter()
            .map(|f| FunctionRecord {
                type_index: U32::new(f.type_index),
                flags: U32::new(if f.body.is_none() { FUNC_IMPORTED } else { 0 }),
                body_offset: U32::new(f.body.map_or(0, |b| b.0)),
                body_len: U32::new(f.body.map_or(0, |b| b.1)),
            })
            .collect();
        b.push(SectionKind::Functions, &functions)?;

        let tables: Vec<TableRecord> = self
            .tables
            .iter()
            .map(|t| TableRecord {
                elem_type: t.elem_type as u8,
                flags: limits_flags(t.max.is_some(), t.imported),
                pad: [0; 6],
                min: U64::new(t.min),
                max: U64::new(t.max.unwrap_or(0)),
            })
            .collect();
        b.push(SectionKind::Tables, &tables)?;

        let memories: Vec<MemoryRecord> = self
            .memories
            .iter()
            .map(|m| MemoryRecord {
                flags: limits_flags(m.max.is_some(), m.imported)
                    | if m.memory64 { LIMITS_64 } else { 0 }
                    | if m.shared { LIMITS_SHARED } else { 0 },
                page_size_log2: 16,
                pad: [0; 6],
                min: U64::new(m.min),
                max: U64::new(m.max.unwrap_or(0)),
            })
            .collect();
        b.push(SectionKind::Memories, &memories)?;

        let globals: Vec<GlobalRecord> = self
            .globals
            .iter()
            .map(|g| GlobalRecord {
                val_type: g.val_type as u8,
                mutable: u8::from(g.mutable),
                imported: u8::from(g.init.is_none()),
                pad: [0; 5],
                init: g.init.unwrap_or(ConstValue::None).encode(),
            })
            .collect();
        b.push(SectionKind::Globals, &globals)?;

        Ok(())
    }

    /// Exports, element segments and their items, data segments.
    fn push_segments(&self, b: &mut Sections) -> Result<(), WriteError> {
        let mut exports = Vec::with_capacity(self.exports.len());
        for e in &self.exports {
            exports.push(ExportRecord {
                name: b.pool.add(e.name.as_bytes())?,
                kind: e.kind as u8,
                pad: [0; 3],
                index: U32::new(e.index),
            });
        }
        b.push(SectionKind::Exports, &exports)?;

        let placement = |p: &SegmentPlacement| match p {
            SegmentPlacement::Active { index, offset } => (SegmentMode::Active, *index, *offset),
            SegmentPlacement::Passive => (SegmentMode::Passive, 0, ConstValue::None),
            SegmentPlacement::Declared => (SegmentMode::Declared, 0, ConstValue::None),
        };
        let mut elements = Vec::with_capacity(self.elements.len());
        let mut items = Vec::new();
        for e in &self.elements {
            let (mode, index, offset) = placement(&e.placement);
            elements.push(ElementRecord {
                mode: mode as u8,
                elem_type: e.elem_type as u8,
                pad: [0; 2],
                table_index: U32::new(index),
                offset: offset.encode(),
                items_start: U32::new(count(items.len())?),
                items_len: U32::new(count(e.items.len())?),
            });
            items.extend(e.items.iter().map(|i| i.encode()));
        }
        b.push(SectionKind::Elements, &elements)?;
        b.push(SectionKind::ElementItems, &items)?;

        let mut data = Vec::with_capacity(self.data.len());
        for d in &self.data {
            let (mode, index, offset) = placement(&d.placement);
            if mode == SegmentMode::Declared {
                return Err(invalid("data segments cannot be declarative"));
            }
            data.push(DataRecord {
                mode: mode as u8,
                pad: [0; 3],
                memory_index: U32::new(index),
                offset: offset.encode(),
                bytes: b.pool.add(&d.bytes)?,
            });
        }
        b.push(SectionKind::Data, &data)?;

        Ok(())
    }

    /// The builtin list as stored: each once, ascending by index.
    fn sorted_builtins(&self) -> Vec<Builtin> {
        let mut builtins: Vec<Builtin> = self.builtins.clone();
        builtins.sort_unstable_by_key(|b| b.index());
        builtins.dedup();
        builtins
    }

    /// `(prelink_base, symbols_fingerprint)`: zeros unless prelinked.
    fn prelink_fields(&self) -> Result<(u64, u64), WriteError> {
        let Some(prelink) = &self.prelink else {
            return Ok((0, 0));
        };
        let mut entries = Vec::new();
        for b in self.sorted_builtins() {
            let Some(&address) = prelink.builtin_addresses.get(b.index() as usize) else {
                return Err(invalid(alloc::format!(
                    "prelinked: no address for builtin {}",
                    b.name()
                )));
            };
            entries.push((b.index(), address));
        }
        Ok((prelink.base, symbols_fingerprint(entries)))
    }

    /// Trap sites, relocations, builtins and the constant table.
    fn push_code_facts(&self, b: &mut Sections) -> Result<(), WriteError> {
        let mut traps: Vec<(u32, TrapCode)> = self.traps.clone();
        traps.sort_by_key(|t| t.0);
        traps.dedup_by_key(|t| t.0);
        let (blocks, deltas) = encode_traps(&traps)?;
        b.push(SectionKind::Traps, &blocks)?;
        b.sections.push((SectionKind::TrapDeltas, 0, deltas));

        let mut relocs_sorted = self.relocs.clone();
        relocs_sorted.sort_by_key(|r| r.offset);
        let relocs: Vec<RelocRecord> = relocs_sorted
            .iter()
            .map(|r| {
                let (target_kind, target) = match r.target {
                    RelocTarget::Builtin(b) => (RelocTargetKind::Builtin, b.index()),
                    RelocTarget::TextOffset(o) => (RelocTargetKind::TextOffset, o),
                };
                RelocRecord {
                    offset: U32::new(r.offset),
                    kind: r.kind as u8,
                    target_kind: target_kind as u8,
                    pad: [0; 2],
                    target: U32::new(target),
                    pad2: [0; 4],
                    addend: I64::new(r.addend),
                }
            })
            .collect();
        b.push(SectionKind::Relocs, &relocs)?;

        let builtins = self.sorted_builtins();
        let mut builtin_records = Vec::with_capacity(builtins.len());
        for builtin in builtins {
            builtin_records.push(BuiltinRecord {
                index: U32::new(builtin.index()),
                name: b.pool.add(builtin.name().as_bytes())?,
            });
        }
        b.push(SectionKind::Builtins, &builtin_records)?;
        b.push(SectionKind::Constants, &self.constants)?;
        self.push_names(b)
    }

    /// The function names: records ascending by function index and their bytes.
    fn push_names(&self, b: &mut Sections) -> Result<(), WriteError> {
        let mut names: Vec<&(u32, String)> = self.function_names.iter().collect();
        names.sort_by_key(|(index, _)| *index);
        names.dedup_by_key(|(index, _)| *index);
        let mut records = Vec::with_capacity(names.len());
        let mut bytes = Vec::new();
        for (index, name) in names {
            if *index as usize >= self.functions.len() {
                return Err(invalid(alloc::format!(
                    "name of function {index}: no such function"
                )));
            }
            records.push(NameRecord {
                function_index: U32::new(*index),
                offset: U32::new(u32_of(bytes.len(), "name offset")?),
                len: U32::new(u32_of(name.len(), "name length")?),
            });
            bytes.extend_from_slice(name.as_bytes());
        }
        b.push(SectionKind::FunctionNames, &records)?;
        b.sections.push((SectionKind::NameBytes, 0, bytes));
        Ok(())
    }

    /// Lays out the header, the section table, the metadata sections (pool first, 8-aligned),
    /// the text (at a multiple of the text alignment) and the lookup sections after it
    /// (8-aligned, outside the metadata checksum, away from the pages loading touches), then
    /// seals the metadata with its checksum.
    fn lay_out(&self, b: Sections) -> Result<Vec<u8>, WriteError> {
        let mut sections = b.sections;
        sections.insert(0, (SectionKind::Pool, 0, b.pool.bytes));
        let (lookup, metadata): (Vec<_>, Vec<_>) = sections
            .into_iter()
            .partition(|(kind, _, _)| kind.is_lookup());
        let lookup_bytes = |kind| {
            lookup
                .iter()
                .find(|(k, _, _)| *k == kind)
                .map_or(&[][..], |(_, _, bytes)| &bytes[..])
        };
        let traps_checksum = checksum_of_parts(&[
            lookup_bytes(SectionKind::Traps),
            lookup_bytes(SectionKind::TrapDeltas),
            lookup_bytes(SectionKind::FunctionNames),
            lookup_bytes(SectionKind::NameBytes),
        ]);
        let functions_checksum = checksum(lookup_bytes(SectionKind::Functions));

        // Every section's bytes and file offset, in file order.
        let section_count = metadata.len() + 1 + lookup.len();
        let header_size = size_of::<FileHeader>();
        let table_offset = header_size;
        let mut offset = table_offset + section_count * size_of::<SectionEntry>();
        let mut placed: Vec<(SectionKind, u32, usize, &[u8])> = Vec::with_capacity(section_count);
        for (kind, n, bytes) in &metadata {
            offset = offset.next_multiple_of(8);
            placed.push((*kind, *n, offset, bytes));
            offset += bytes.len();
        }
        let metadata_size = offset;
        let text_align = match self.text_align {
            None => self.arch.max_page_size(),
            Some(align) if align.is_power_of_two() && align >= MIN_TEXT_ALIGN => align,
            Some(align) => {
                return Err(invalid(alloc::format!(
                    "text alignment {align} must be a power of two of at least {MIN_TEXT_ALIGN}"
                )));
            }
        } as usize;
        let text_offset = metadata_size.next_multiple_of(text_align);
        placed.push((SectionKind::Text, 0, text_offset, &self.text));
        offset = text_offset + self.text.len();
        for (kind, n, bytes) in &lookup {
            offset = offset.next_multiple_of(8);
            placed.push((*kind, *n, offset, bytes));
            offset += bytes.len();
        }
        let file_size = offset;
        let (prelink_base, fingerprint) = self.prelink_fields()?;

        let header = FileHeader {
            magic: MAGIC,
            format_version: U32::new(aotc_abi::version::FORMAT_VERSION),
            abi_version: U32::new(aotc_abi::version::ABI_VERSION),
            header_size: U32::new(u32_of(header_size, "header size")?),
            flags: U32::new(if self.prelink.is_some() {
                self.flags | FLAG_PRELINKED
            } else {
                self.flags
            }),
            arch: U16::new(self.arch as u16),
            pointer_size: self.arch.pointer_size(),
            endianness: self.arch.endianness() as u8,
            text_align: U32::new(u32_of(text_align, "text alignment")?),
            cpu_features: U64::new(self.cpu_features),
            target_triple: fixed_ascii(&self.target_triple, "target triple")?,
            cpu_name: fixed_ascii(&self.cpu_name, "cpu name")?,
            section_count: U32::new(u32_of(section_count, "section count")?),
            section_table_offset: U32::new(u32_of(table_offset, "section table offset")?),
            metadata_size: U64::new(metadata_size as u64),
            metadata_checksum: U64::new(0),
            text_checksum: U64::new(checksum(&self.text)),
            file_size: U64::new(file_size as u64),
            intrinsics: self.intrinsics.bits().to_le_bytes(),
            functions_checksum: U64::new(functions_checksum),
            traps_checksum: U64::new(traps_checksum),
            prelink_base: U64::new(prelink_base),
            symbols_fingerprint: U64::new(fingerprint),
        };

        let mut out = Vec::with_capacity(file_size);
        out.extend_from_slice(bytes_of(&header));
        for (kind, n, offset, bytes) in &placed {
            out.extend_from_slice(bytes_of(&SectionEntry {
                kind: U32::new(*kind as u32),
                count: U32::new(*n),
                offset: U64::new(*offset as u64),
                size: U64::new(bytes.len() as u64),
            }));
        }
        for (_, _, offset, bytes) in &placed {
            out.resize(*offset, 0);
            out.extend_from_slice(bytes);
        }

        seal(&mut out[..metadata_size]);
        Ok(out)
    }
}

/// Writes the metadata checksum of `metadata` (a file's first `metadata_size` bytes) into its
/// header.
fn seal(metadata: &mut [u8]) {
    let sum = metadata_checksum(metadata);
    let field = METADATA_CHECKSUM_OFFSET..METADATA_CHECKSUM_OFFSET + size_of::<U64>();
    if let Some(bytes) = metadata.get_mut(field) {
        bytes.copy_from_slice(&sum.to_le_bytes());
    }
}

/// Recomputes the metadata checksum of a whole file whose metadata was changed on purpose
/// (tests that damage files use it to reach the checks behind the checksum). Does nothing to a
/// file too short to have a header.
pub fn reseal(file: &mut [u8]) {
    let Some(header) = crate::pod::from_bytes::<FileHeader>(file) else {
        return;
    };
    let size = usize::try_from(header.metadata_size.get()).unwrap_or(usize::MAX);
    let size = size.min(file.len());
    seal(&mut file[..size]);
}
