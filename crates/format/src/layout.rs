//! The on-disk layout of an AOT file: header, section table and record types.
//!
//! All integers in the header and metadata are little-endian, whatever the target; the text is
//! in the target's byte order. Every record is `#[repr(C)]`, made of byte arrays (alignment 1),
//! so readers view it in place. `docs/format.md` describes the same layout in prose.
//!
//! ```text
//! [0, header_size)              FileHeader
//! [section_table_offset, ..)    section_count × SectionEntry
//! ...                           metadata sections (records, pool)
//! [0, metadata_size)            covered by metadata_checksum (with that field read as zero)
//! [text offset, ..)             Text: page-aligned (header.text_align), covered by text_checksum
//! after the text                lookup sections: Functions (functions_checksum), Traps,
//!                               TrapDeltas, FunctionNames and NameBytes (traps_checksum),
//!                               used in place, checked at lookup
//! ```

use crate::pod::{I64, Pod, U16, U32, U64};

/// The first eight bytes of every AOT file.
pub const MAGIC: [u8; 8] = *b"\0aotc\r\n\x1a";

/// `FileHeader.flags`: the file is XIP: its text has no relocation and is mapped in place.
pub const FLAG_XIP: u32 = 1 << 0;
/// `FileHeader.flags`: bounds are checked by explicit compare-and-trap instead of guard pages.
pub const FLAG_EXPLICIT_BOUNDS_CHECKS: u32 = 1 << 1;
/// `FileHeader.flags`: calls go through the vmctx (indirect mode); set whenever `FLAG_XIP` is.
pub const FLAG_INDIRECT_CALLS: u32 = 1 << 2;
/// `FileHeader.flags`: the code contains `memory.grow` (a loader truncates memory at
/// `__heap_base` only without it).
pub const FLAG_MEMORY_GROW: u32 = 1 << 3;
/// `FileHeader.flags`: the code contains `memory.size` (truncation would change what it reads).
pub const FLAG_MEMORY_SIZE: u32 = 1 << 4;
/// `FileHeader.flags`: the file is prelinked: its normal-mode text was relocated at compile
/// time for `prelink_base` and for the builtin addresses `symbols_fingerprint` covers; it has no
/// relocation and executes in place at exactly that address.
pub const FLAG_PRELINKED: u32 = 1 << 5;
/// Every flag this version knows; a file with any other bit set is refused.
pub const KNOWN_FLAGS: u32 = FLAG_XIP
    | FLAG_EXPLICIT_BOUNDS_CHECKS
    | FLAG_INDIRECT_CALLS
    | FLAG_MEMORY_GROW
    | FLAG_MEMORY_SIZE
    | FLAG_PRELINKED;

/// The smallest `FileHeader.text_align`: every target's function alignment divides it, so the
/// code is aligned wherever the text lies. Page alignment (the target's largest page size) lets
/// a posix loader map the text alone; a packed file (`--text-align`) is for flash and ROM.
pub const MIN_TEXT_ALIGN: u32 = 16;

/// Sentinel for "none" in u32 index fields (no start function, no trampoline, ...).
pub const NONE: u32 = u32::MAX;

/// The file header, at offset 0.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct FileHeader {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`aotc_abi::version::FORMAT_VERSION`] of the writer.
    pub format_version: U32,
    /// [`aotc_abi::version::ABI_VERSION`] the code was compiled against.
    pub abi_version: U32,
    /// `size_of::<FileHeader>()`.
    pub header_size: U32,
    /// `FLAG_*` bits.
    pub flags: U32,
    /// [`aotc_abi::Arch`] discriminant.
    pub arch: U16,
    /// Target pointer size in bytes.
    pub pointer_size: u8,
    /// [`aotc_abi::target::Endianness`] discriminant.
    pub endianness: u8,
    /// Alignment of the text's file offset: by default the largest page size of the target;
    /// a power of two no smaller than [`MIN_TEXT_ALIGN`].
    pub text_align: U32,
    /// [`aotc_abi::target::cpu_features`] bits the code needs.
    pub cpu_features: U64,
    /// Target triple, NUL-padded ASCII.
    pub target_triple: [u8; 32],
    /// CPU name given with `--cpu`, NUL-padded ASCII (empty: generic).
    pub cpu_name: [u8; 24],
    /// Number of entries in the section table.
    pub section_count: U32,
    /// File offset of the section table.
    pub section_table_offset: U32,
    /// Length of the prefix of the file covered by `metadata_checksum`.
    pub metadata_size: U64,
    /// Checksum of `[0, metadata_size)` with this field's 8 bytes read as zero.
    pub metadata_checksum: U64,
    /// Checksum of the text section's bytes.
    pub text_checksum: U64,
    /// Total file size.
    pub file_size: U64,
    /// The [`aotc_abi::intrinsics::IntrinsicSet`] the code was compiled with (u128, little-endian).
    pub intrinsics: [u8; 16],
    /// Checksum of the [`SectionKind::Functions`] section (checked by a loader that copies the
    /// text, on request, and by verify; never when a mapped XIP file loads).
    pub functions_checksum: U64,
    /// Checksum of the [`SectionKind::Traps`] section followed by the
    /// [`SectionKind::TrapDeltas`], [`SectionKind::FunctionNames`] and
    /// [`SectionKind::NameBytes`] sections: what a trap report reads (checked at the first trap
    /// and by verify; never at load).
    pub traps_checksum: U64,
    /// With [`FLAG_PRELINKED`]: the address the text was relocated for; otherwise zero.
    pub prelink_base: U64,
    /// With [`FLAG_PRELINKED`]: `checksum::symbols_fingerprint` of the addresses of the
    /// builtins the file calls (the [`SectionKind::Builtins`] list) it was relocated for;
    /// otherwise zero.
    pub symbols_fingerprint: U64,
}

/// Offset of `FileHeader.metadata_checksum`, the 8 bytes the metadata checksum reads as zero.
pub const METADATA_CHECKSUM_OFFSET: usize = core::mem::offset_of!(FileHeader, metadata_checksum);

/// One entry of the section table.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct SectionEntry {
    /// [`SectionKind`] discriminant.
    pub kind: U32,
    /// Number of records (for the pool and the text: 0).
    pub count: U32,
    /// File offset.
    pub offset: U64,
    /// Size in bytes.
    pub size: U64,
}

aotc_abi::stored_enum! {
    /// The kinds of section. Each appears at most once; the name is shown by `aotc inspect`.
    pub enum SectionKind: u32, from_u32 {
        /// Bytes referenced by [`Range`]s: names, value-type lists, data segment contents.
        Pool = 1 => "Pool",
        /// [`ModuleRecord`] (exactly one).
        Module = 2 => "Module",
        /// [`TypeRecord`]s, by type index.
        Types = 3 => "Types",
        /// [`ImportRecord`]s, in import order.
        Imports = 4 => "Imports",
        /// [`FunctionRecord`]s, by function index (imports first). A lookup section: after the
        /// metadata, checked record by record when used.
        Functions = 5 => "Functions",
        /// [`TableRecord`]s, by table index.
        Tables = 6 => "Tables",
        /// [`MemoryRecord`]s, by memory index.
        Memories = 7 => "Memories",
        /// [`GlobalRecord`]s, by global index.
        Globals = 8 => "Globals",
        /// [`ExportRecord`]s.
        Exports = 9 => "Exports",
        /// [`ElementRecord`]s, by element segment index.
        Elements = 10 => "Elements",
        /// [`ConstExpr`]s: the items of all element segments.
        ElementItems = 11 => "ElementItems",
        /// [`DataRecord`]s, by data segment index.
        Data = 12 => "Data",
        /// [`TrapBlock`]s, ascending by first offset. A lookup section: after the metadata,
        /// checked when a trap is looked up.
        Traps = 13 => "Traps",
        /// [`RelocRecord`]s against the text.
        Relocs = 14 => "Relocs",
        /// [`BuiltinRecord`]s: the builtins the code calls (each once, ascending by index).
        Builtins = 15 => "Builtins",
        /// Machine code.
        Text = 16 => "Text",
        /// The constant table (`constop` intrinsics): 8-byte slots in the target's byte order.
        Constants = 17 => "Constants",
        /// The delta-encoded trap sites of the [`TrapBlock`]s (raw bytes). A lookup section.
        TrapDeltas = 18 => "TrapDeltas",
        /// [`NameRecord`]s: function names (the wasm `name` section's, imports included),
        /// strictly ascending by function index; absent names have no record. A lookup section.
        FunctionNames = 19 => "FunctionNames",
        /// The UTF-8 bytes the [`NameRecord`]s reference (raw bytes). A lookup section.
        NameBytes = 20 => "NameBytes",
    }
}

impl SectionKind {
    /// Whether the section is a lookup section: stored after the checksummed metadata, never
    /// read at load, checked record by record when looked up (and by its own checksum).
    pub const fn is_lookup(self) -> bool {
        matches!(
            self,
            SectionKind::Functions
                | SectionKind::Traps
                | SectionKind::TrapDeltas
                | SectionKind::FunctionNames
                | SectionKind::NameBytes
        )
    }

    /// Position of this kind in [`SectionKind::ALL`]: a dense index for per-kind tables.
    pub fn position(self) -> usize {
        SectionKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default()
    }
}

/// A byte range in the [`SectionKind::Pool`] section.
#[derive(Copy, Clone, Debug, Default)]
#[repr(C)]
pub struct Range {
    /// Offset within the pool.
    pub offset: U32,
    /// Length in bytes.
    pub len: U32,
}

/// Module-wide facts.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct ModuleRecord {
    /// Function index of the start function, or [`NONE`].
    pub start_function: U32,
    /// Number of imported functions (they are the first function indices).
    pub imported_functions: U32,
    /// Number of imported tables.
    pub imported_tables: U32,
    /// Number of imported memories.
    pub imported_memories: U32,
    /// Number of imported globals.
    pub imported_globals: U32,
    /// Zero.
    pub reserved: [u8; 12],
}

/// A function type and its trampolines.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct TypeRecord {
    /// `ValType` bytes of the parameters.
    pub params: Range,
    /// `ValType` bytes of the results.
    pub results: Range,
    /// Text offset of the entry (host-to-wasm) trampoline, or [`NONE`].
    pub entry_trampoline: U32,
    /// Text offset of the exit (wasm-to-host) trampoline, or [`NONE`].
    pub exit_trampoline: U32,
}

aotc_abi::stored_enum! {
    /// The kind of an import or export; the name is the text-format keyword.
    pub enum ExternKind: u8, from_u8 {
        /// A function.
        Func = 0 => "func",
        /// A table.
        Table = 1 => "table",
        /// A memory.
        Memory = 2 => "memory",
        /// A global.
        Global = 3 => "global",
    }
}

/// An import.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct ImportRecord {
    /// Module name (UTF-8).
    pub module: Range,
    /// Field name (UTF-8).
    pub name: Range,
    /// [`ExternKind`].
    pub kind: u8,
    /// Zero.
    pub pad: [u8; 3],
    /// Index in the kind's index space.
    pub index: U32,
}

/// `FunctionRecord.flags`: the function is imported (no body).
pub const FUNC_IMPORTED: u32 = 1;

/// A function.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct FunctionRecord {
    /// Type index.
    pub type_index: U32,
    /// `FUNC_*` flags.
    pub flags: U32,
    /// Text offset of the body (0 for imports).
    pub body_offset: U32,
    /// Length of the body in bytes (0 for imports).
    pub body_len: U32,
}

/// `TableRecord.flags` and `MemoryRecord.flags`: a maximum is present.
pub const LIMITS_HAS_MAX: u8 = 1;
/// `TableRecord.flags` and `MemoryRecord.flags`: imported.
pub const LIMITS_IMPORTED: u8 = 2;
/// `MemoryRecord.flags`: 64-bit index type (memory64).
pub const LIMITS_64: u8 = 4;
/// `MemoryRecord.flags`: shared (threads).
pub const LIMITS_SHARED: u8 = 8;

/// A table.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct TableRecord {
    /// Element `ValType` (funcref or externref).
    pub elem_type: u8,
    /// `LIMITS_*` flags.
    pub flags: u8,
    /// Zero.
    pub pad: [u8; 6],
    /// Minimum size in elements.
    pub min: U64,
    /// Maximum size in elements (valid with `LIMITS_HAS_MAX`).
    pub max: U64,
}

/// A linear memory.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct MemoryRecord {
    /// `LIMITS_*` flags.
    pub flags: u8,
    /// log2 of the page size (16 for wasm's 64 KiB pages).
    pub page_size_log2: u8,
    /// Zero.
    pub pad: [u8; 6],
    /// Minimum size in pages.
    pub min: U64,
    /// Maximum size in pages (valid with `LIMITS_HAS_MAX`).
    pub max: U64,
}

aotc_abi::stored_enum! {
    /// The kind of a constant expression.
    pub enum ConstKind: u8, from_u8 {
        /// No expression (imported globals, passive segments).
        None = 0 => "none",
        /// `i32.const`: value in bytes 0..4.
        I32 = 1 => "i32.const",
        /// `i64.const`: value in bytes 0..8.
        I64 = 2 => "i64.const",
        /// `f32.const`: bits in bytes 0..4.
        F32 = 3 => "f32.const",
        /// `f64.const`: bits in bytes 0..8.
        F64 = 4 => "f64.const",
        /// `v128.const`: bytes 0..16.
        V128 = 5 => "v128.const",
        /// `global.get`: global index in bytes 0..4.
        GlobalGet = 6 => "global.get",
        /// `ref.null`: `ValType` in byte 0.
        RefNull = 7 => "ref.null",
        /// `ref.func`: function index in bytes 0..4.
        RefFunc = 8 => "ref.func",
    }
}

/// A constant expression (Wasm 2.0 constant expressions are single instructions).
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct ConstExpr {
    /// [`ConstKind`].
    pub kind: u8,
    /// Zero.
    pub pad: [u8; 7],
    /// Operand, little-endian.
    pub value: [u8; 16],
}

/// A global.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct GlobalRecord {
    /// `ValType`.
    pub val_type: u8,
    /// 1 if mutable.
    pub mutable: u8,
    /// 1 if imported.
    pub imported: u8,
    /// Zero.
    pub pad: [u8; 5],
    /// Initialiser (kind `None` for imports).
    pub init: ConstExpr,
}

/// An export.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct ExportRecord {
    /// Name (UTF-8).
    pub name: Range,
    /// [`ExternKind`].
    pub kind: u8,
    /// Zero.
    pub pad: [u8; 3],
    /// Index in the kind's index space.
    pub index: U32,
}

aotc_abi::stored_enum! {
    /// Segment mode of element and data segments.
    pub enum SegmentMode: u8, from_u8 {
        /// Applied at instantiation at `offset`, then dropped.
        Active = 0 => "active",
        /// Used by `memory.init` / `table.init`.
        Passive = 1 => "passive",
        /// Declarative element segment (dropped at instantiation).
        Declared = 2 => "declared",
    }
}

/// An element segment.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct ElementRecord {
    /// [`SegmentMode`].
    pub mode: u8,
    /// Element `ValType`.
    pub elem_type: u8,
    /// Zero.
    pub pad: [u8; 2],
    /// Table index (active segments).
    pub table_index: U32,
    /// Offset expression (active segments).
    pub offset: ConstExpr,
    /// Index of the first item in the `ElementItems` section.
    pub items_start: U32,
    /// Number of items.
    pub items_len: U32,
}

/// A data segment.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct DataRecord {
    /// [`SegmentMode`] (`Active` or `Passive`).
    pub mode: u8,
    /// Zero.
    pub pad: [u8; 3],
    /// Memory index (active segments).
    pub memory_index: U32,
    /// Offset expression (active segments).
    pub offset: ConstExpr,
    /// Contents, in the pool.
    pub bytes: Range,
}

/// Trap sites per [`TrapBlock`] (the last block may hold fewer).
pub const TRAP_BLOCK_SITES: usize = 64;

/// A block of up to [`TRAP_BLOCK_SITES`] trap sites, ascending by text offset. The first site is
/// stored here; each following one is a LEB128 varint in [`SectionKind::TrapDeltas`] at
/// `deltas_offset` on: `(offset - previous offset) << 1 | code changes`, followed, when the code
/// changes, by the new [`aotc_abi::TrapCode`] byte. A lookup binary-searches the blocks by
/// `first_offset`, then decodes at most one block.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct TrapBlock {
    /// Text offset of the block's first trap site.
    pub first_offset: U32,
    /// Offset in the `TrapDeltas` section of the block's second site.
    pub deltas_offset: U32,
    /// [`aotc_abi::TrapCode`] of the first site.
    pub first_code: u8,
    /// Number of sites in the block, 1 to [`TRAP_BLOCK_SITES`].
    pub sites: u8,
    /// Zero.
    pub pad: [u8; 2],
}

aotc_abi::stored_enum! {
    /// Relocation kinds; the name is shown by `aotc inspect`.
    pub enum RelocKind: u8, from_u8 {
        /// Write the 64-bit absolute address `target + addend`, in the target's byte order.
        Abs8 = 1 => "Abs8",
        /// Write the 32-bit absolute address `target + addend`.
        Abs4 = 2 => "Abs4",
        /// x86-64: write the 32-bit `target + addend - site`, little-endian (call/jmp rel32,
        /// RIP-relative).
        X86PcRel4 = 3 => "X86PcRel4",
        /// AArch64: `bl`/`b` with a 26-bit word offset `(target + addend - site) >> 2`.
        Arm64Call = 4 => "Arm64Call",
        /// RISC-V: an `auipc` + `jalr` pair at the site, PC-relative `target + addend - site`.
        RiscvCallPlt = 5 => "RiscvCallPlt",
        /// s390x: 32-bit big-endian halfword offset `(target + addend - site) >> 1` (brasl).
        S390xPcRel32Dbl = 6 => "S390xPcRel32Dbl",
    }
}

impl RelocKind {
    /// Number of text bytes the relocation patches, starting at its offset.
    pub const fn patch_size(self) -> u32 {
        match self {
            RelocKind::Abs8 | RelocKind::RiscvCallPlt => 8,
            RelocKind::Abs4 | RelocKind::X86PcRel4 | RelocKind::Arm64Call => 4,
            RelocKind::S390xPcRel32Dbl => 4,
        }
    }
}

aotc_abi::stored_enum! {
    /// What a relocation points at.
    pub enum RelocTargetKind: u8, from_u8 {
        /// A builtin: `target` is an [`aotc_abi::Builtin`] index; the runtime supplies the address.
        Builtin = 1 => "builtin",
        /// A text offset of this file: the address is `text_base + target`.
        TextOffset = 2 => "text offset",
    }
}

/// A relocation against the text.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct RelocRecord {
    /// Text offset of the patched bytes.
    pub offset: U32,
    /// [`RelocKind`].
    pub kind: u8,
    /// [`RelocTargetKind`].
    pub target_kind: u8,
    /// Zero.
    pub pad: [u8; 2],
    /// Builtin index or text offset, per `target_kind`.
    pub target: U32,
    /// Zero.
    pub pad2: [u8; 4],
    /// Addend.
    pub addend: I64,
}

/// A builtin the code calls: its table index and its name, so a runtime that lacks it (or
/// numbers it differently) can refuse the file naming it.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct BuiltinRecord {
    /// Index in the builtin table.
    pub index: U32,
    /// Name (UTF-8), as [`aotc_abi::Builtin::name`].
    pub name: Range,
}

/// The name of one function (from the wasm `name` section), for backtraces and `inspect`.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct NameRecord {
    /// Function index (imports first).
    pub function_index: U32,
    /// Offset of the name in [`SectionKind::NameBytes`].
    pub offset: U32,
    /// Length of the name in bytes (UTF-8).
    pub len: U32,
}

macro_rules! pod_records {
    ($($t:ty = $size:literal),* $(,)?) => {$(
        // SAFETY: `#[repr(C)]` and built only from byte arrays and other `Pod` types of
        // alignment 1, so there is no padding and every bit pattern is valid; the size is
        // checked below.
        unsafe impl Pod for $t {}
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
    )*};
}

pod_records! {
    FileHeader = 184,
    SectionEntry = 24,
    Range = 8,
    ModuleRecord = 32,
    TypeRecord = 24,
    ImportRecord = 24,
    FunctionRecord = 16,
    TableRecord = 24,
    MemoryRecord = 24,
    ConstExpr = 24,
    GlobalRecord = 32,
    ExportRecord = 16,
    ElementRecord = 40,
    DataRecord = 40,
    TrapBlock = 12,
    RelocRecord = 24,
    BuiltinRecord = 12,
    NameRecord = 12,
}

/// A decoded constant expression.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConstValue {
    /// No expression.
    None,
    /// `i32.const`.
    I32(i32),
    /// `i64.const`.
    I64(i64),
    /// `f32.const`, as bits.
    F32(u32),
    /// `f64.const`, as bits.
    F64(u64),
    /// `v128.const`.
    V128(u128),
    /// `global.get` of a global index.
    GlobalGet(u32),
    /// `ref.null` of a reference type.
    RefNull(aotc_abi::ValType),
    /// `ref.func` of a function index.
    RefFunc(u32),
}

impl ConstValue {
    /// Encodes the value as a record.
    pub fn encode(self) -> ConstExpr {
        let mut value = [0u8; 16];
        let kind = match self {
            ConstValue::None => ConstKind::None,
            ConstValue::I32(v) => {
                value[..4].copy_from_slice(&v.to_le_bytes());
                ConstKind::I32
            }
            ConstValue::I64(v) => {
                value[..8].copy_from_slice(&v.to_le_bytes());
                ConstKind::I64
            }
            ConstValue::F32(v) => {
                value[..4].copy_from_slice(&v.to_le_bytes());
                ConstKind::F32
            }
            ConstValue::F64(v) => {
                value[..8].copy_from_slice(&v.to_le_bytes());
                ConstKind::F64
            }
            ConstValue::V128(v) => {
                value = v.to_le_bytes();
                ConstKind::V128
            }
            ConstValue::GlobalGet(v) => {
                value[..4].copy_from_slice(&v.to_le_bytes());
                ConstKind::GlobalGet
            }
            ConstValue::RefNull(t) => {
                value[0] = t as u8;
                ConstKind::RefNull
            }
            ConstValue::RefFunc(v) => {
                value[..4].copy_from_slice(&v.to_le_bytes());
                ConstKind::RefFunc
            }
        };
        ConstExpr {
            kind: kind as u8,
            pad: [0; 7],
            value,
        }
    }

    /// Decodes a record; `None` when its kind or operand is invalid. Only the reader calls
    /// this, once per record it checks; consumers get decoded values from it.
    pub(crate) fn decode(expr: &ConstExpr) -> Option<ConstValue> {
        let v = expr.value;
        let u32v = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        let u64v = u64::from_le_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
        Some(match ConstKind::from_u8(expr.kind)? {
            ConstKind::None => ConstValue::None,
            ConstKind::I32 => ConstValue::I32(u32v as i32),
            ConstKind::I64 => ConstValue::I64(u64v as i64),
            ConstKind::F32 => ConstValue::F32(u32v),
            ConstKind::F64 => ConstValue::F64(u64v),
            ConstKind::V128 => ConstValue::V128(u128::from_le_bytes(v)),
            ConstKind::GlobalGet => ConstValue::GlobalGet(u32v),
            ConstKind::RefNull => {
                let t = aotc_abi::ValType::from_u8(v[0])?;
                if !t.is_ref() {
                    return None;
                }
                ConstValue::RefNull(t)
            }
            ConstKind::RefFunc => ConstValue::RefFunc(u32v),
        })
    }
}

// Decoded values shared by the reader (which hands them out) and the writer (which takes them).

/// How a segment is used.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SegmentPlacement {
    /// Applied at instantiation to table/memory `index` at `offset`.
    Active {
        /// Table or memory index.
        index: u32,
        /// Offset expression.
        offset: ConstValue,
    },
    /// Used by `table.init` / `memory.init`.
    Passive,
    /// Declarative (element segments only).
    Declared,
}

/// What a relocation points at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// A builtin, resolved by the runtime.
    Builtin(aotc_abi::Builtin),
    /// A text offset of this file.
    TextOffset(u32),
}

/// A relocation against the text.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Text offset of the patched bytes.
    pub offset: u32,
    /// How to patch.
    pub kind: RelocKind,
    /// Target.
    pub target: RelocTarget,
    /// Addend.
    pub addend: i64,
}
