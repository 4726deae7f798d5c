//! The reader: parses and checks an AOT file in place, then hands out typed `&'data` views.
//!
//! [`AotFile::parse`] checks, in O(metadata) time and without allocating: the magic, versions,
//! header fields, the section table, the metadata checksum, and (in `check`, one step per
//! section) every metadata record's enumerations and every offset, length and index it holds.
//! After it succeeds, metadata accessors cannot fail for reasons of file damage (they return
//! values, not `Result`s) and hand out typed values (`view`: enums, `Option`s, names as `&str`),
//! never raw bytes to decode again. Errors name the file offset of the offending field, taken
//! from the layout with `offset_of!`.
//!
//! The per-function data is not metadata: the function table and the trap table (`lookup`) lie
//! after the checksummed metadata, are never read by `parse`, and are checked record by record
//! when looked up (accessors return `Result`s) and against their own checksums on request. The
//! text's checksum is checked only by [`AotFile::verify`]. So parsing costs the same whatever
//! the size of the code and the number of functions and trap sites.

mod check;
mod lookup;
mod view;

use core::fmt;
use core::mem::size_of;

use aotc_abi::Arch;
use aotc_abi::target::Endianness;

use crate::checksum::{checksum, metadata_checksum};
use crate::layout::*;
use crate::pod::{Pod, from_bytes, slice_from_bytes};

pub use lookup::{Functions, Names, Traps};
pub use view::{
    ConstValues, Context, DataSegment, ElementSegment, Export, FuncType, Function, Global, Import,
    Memory, ModuleInfo, Record, Records, Table, TrapSite, ValTypes,
};

/// File offset of a [`FileHeader`] field, from the layout.
macro_rules! header_at {
    ($field:ident) => {
        core::mem::offset_of!(FileHeader, $field) as u64
    };
}
/// File offset of field `$field` of the `$record` at file offset `$at`, from the layout.
macro_rules! field_at {
    ($at:expr, $record:ident . $field:ident) => {
        $at + core::mem::offset_of!($record, $field) as u64
    };
}
use {field_at, header_at};

/// Why a file was refused: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// File offset of the offending bytes.
    pub offset: u64,
    /// What was wrong.
    pub kind: ReadErrorKind,
}

/// The kinds of [`ReadError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// The file is shorter than a structure it must contain.
    Truncated {
        /// The structure.
        what: &'static str,
        /// Bytes needed from the offset.
        needed: u64,
        /// Bytes available from the offset.
        available: u64,
    },
    /// Not an aotc file.
    BadMagic,
    /// Written by a format version this reader does not read.
    FormatVersion {
        /// Found in the file.
        found: u32,
        /// What this reader reads.
        expected: u32,
    },
    /// Compiled against another ABI version.
    AbiVersion {
        /// Found in the file.
        found: u32,
        /// What this runtime implements.
        expected: u32,
    },
    /// The metadata checksum does not match.
    MetadataChecksum {
        /// Stored in the header.
        stored: u64,
        /// Computed over the file.
        computed: u64,
    },
    /// The checksum of a lookup section (function table, trap table) does not match.
    SectionChecksum {
        /// The section.
        section: SectionKind,
        /// Stored in the header.
        stored: u64,
        /// Computed over the section.
        computed: u64,
    },
    /// The text checksum does not match.
    TextChecksum {
        /// Stored in the header.
        stored: u64,
        /// Computed over the text.
        computed: u64,
    },
    /// A field holds a value outside what is expected.
    BadValue {
        /// The field.
        what: &'static str,
        /// The value found.
        found: u64,
        /// What was expected, in words.
        expected: &'static str,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {:#x}: ", self.offset)?;
        match &self.kind {
            ReadErrorKind::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "truncated {what}: expected {needed} bytes, file has {available}"
            ),
            ReadErrorKind::BadMagic => {
                write!(f, "expected the aotc magic {MAGIC:?}: not an aotc AOT file")
            }
            ReadErrorKind::FormatVersion { found, expected } => {
                write!(f, "format version {found}, expected {expected}")
            }
            ReadErrorKind::AbiVersion { found, expected } => {
                write!(f, "ABI version {found}, expected {expected}")
            }
            ReadErrorKind::MetadataChecksum { stored, computed } => write!(
                f,
                "metadata checksum mismatch: header says {stored:#018x}, contents give {computed:#018x}"
            ),
            ReadErrorKind::SectionChecksum {
                section,
                stored,
                computed,
            } => write!(
                f,
                "{} section checksum mismatch: header says {stored:#018x}, section gives {computed:#018x}",
                section.name()
            ),
            ReadErrorKind::TextChecksum { stored, computed } => write!(
                f,
                "text checksum mismatch: header says {stored:#018x}, text gives {computed:#018x}"
            ),
            ReadErrorKind::BadValue {
                what,
                found,
                expected,
            } => {
                write!(f, "{what} is {found:#x}, expected {expected}")
            }
        }
    }
}

impl core::error::Error for ReadError {}

fn bad(offset: u64, what: &'static str, found: u64, expected: &'static str) -> ReadError {
    ReadError {
        offset,
        kind: ReadErrorKind::BadValue {
            what,
            found,
            expected,
        },
    }
}

fn truncated(offset: u64, what: &'static str, needed: u64, available: u64) -> ReadError {
    ReadError {
        offset,
        kind: ReadErrorKind::Truncated {
            what,
            needed,
            available,
        },
    }
}

/// A section's place in the file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// Kind.
    pub kind: SectionKind,
    /// File offset.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Number of records.
    pub count: u32,
}

impl SectionInfo {
    fn of(s: &SectionEntry) -> SectionInfo {
        SectionInfo {
            // Every kind was checked by `AotFile::parse`; the fallback is never taken.
            kind: SectionKind::from_u32(s.kind.get()).unwrap_or(SectionKind::Pool),
            offset: s.offset.get(),
            size: s.size.get(),
            count: s.count.get(),
        }
    }
}

/// A parsed, checked AOT file.
#[derive(Copy, Clone, Debug)]
pub struct AotFile<'data> {
    data: &'data [u8],
    header: &'data FileHeader,
    arch: Arch,
    sections: &'data [SectionEntry],
    cx: Context<'data>,
    module: &'data ModuleRecord,
    types: Records<'data, TypeRecord>,
    imports: Records<'data, ImportRecord>,
    functions: Functions<'data>,
    tables: Records<'data, TableRecord>,
    memories: Records<'data, MemoryRecord>,
    globals: Records<'data, GlobalRecord>,
    exports: Records<'data, ExportRecord>,
    elements: Records<'data, ElementRecord>,
    element_items: Records<'data, ConstExpr>,
    data_segments: Records<'data, DataRecord>,
    traps: Traps<'data>,
    names: Names<'data>,
    relocs: Records<'data, RelocRecord>,
    builtins: Records<'data, BuiltinRecord>,
    constants: &'data [[u8; 8]],
    text: &'data [u8],
    text_offset: u64,
}

/// Bounds-checked access to the file's bytes.
struct Cx<'data> {
    data: &'data [u8],
}

impl<'data> Cx<'data> {
    fn slice(&self, offset: u64, len: u64, what: &'static str) -> Result<&'data [u8], ReadError> {
        let total = self.data.len() as u64;
        let error = || truncated(offset, what, len, total.saturating_sub(offset));
        let end = offset.checked_add(len).ok_or_else(error)?;
        if end > total {
            return Err(error());
        }
        Ok(&self.data[offset as usize..end as usize])
    }

    /// The bytes of section `s`.
    fn section_bytes(
        &self,
        s: &SectionEntry,
        what: &'static str,
    ) -> Result<&'data [u8], ReadError> {
        self.slice(s.offset.get(), s.size.get(), what)
    }

    fn raw_records<T: Pod>(
        &self,
        s: &SectionEntry,
        what: &'static str,
    ) -> Result<&'data [T], ReadError> {
        let bytes = self.section_bytes(s, what)?;
        let count = s.count.get() as usize;
        let expected = (count as u64).checked_mul(size_of::<T>() as u64);
        if expected != Some(s.size.get()) {
            return Err(bad(
                s.offset.get(),
                "section size",
                s.size.get(),
                "the record count times the record size",
            ));
        }
        slice_from_bytes(bytes, count)
            .ok_or_else(|| truncated(s.offset.get(), what, s.size.get(), bytes.len() as u64))
    }
}

/// The section table, each kind's entry found once.
struct SectionTable<'data> {
    offset: u64,
    entries: &'data [SectionEntry],
    by_kind: [Option<&'data SectionEntry>; SectionKind::ALL.len()],
}

impl<'data> SectionTable<'data> {
    /// The entry of `kind`; every kind must be present.
    fn get(&self, kind: SectionKind) -> Result<&'data SectionEntry, ReadError> {
        self.by_kind[kind.position()].ok_or_else(|| {
            bad(
                self.offset,
                "section table",
                kind as u64,
                "a section of this kind (see SectionKind)",
            )
        })
    }

    /// The records of `kind`, checked against the section's size.
    fn records<R: Record>(
        &self,
        cx: &Cx<'data>,
        view: Context<'data>,
        kind: SectionKind,
        what: &'static str,
    ) -> Result<Records<'data, R>, ReadError> {
        let s = self.get(kind)?;
        Ok(Records::new(cx.raw_records(s, what)?, view, s.offset.get()))
    }
}

fn c_str(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("")
}

/// Finds and checks the header: magic, versions, sizes and the metadata checksum.
fn parse_header<'data>(cx: &Cx<'data>) -> Result<&'data FileHeader, ReadError> {
    let data = cx.data;
    let header_size = size_of::<FileHeader>() as u64;
    let header_bytes = cx.slice(0, header_size, "file header")?;
    let header: &FileHeader = from_bytes(header_bytes)
        .ok_or_else(|| truncated(0, "file header", header_size, data.len() as u64))?;
    if header.magic != MAGIC {
        return Err(ReadError {
            offset: header_at!(magic),
            kind: ReadErrorKind::BadMagic,
        });
    }
    if header.format_version.get() != aotc_abi::version::FORMAT_VERSION {
        return Err(ReadError {
            offset: header_at!(format_version),
            kind: ReadErrorKind::FormatVersion {
                found: header.format_version.get(),
                expected: aotc_abi::version::FORMAT_VERSION,
            },
        });
    }
    if header.abi_version.get() != aotc_abi::version::ABI_VERSION {
        return Err(ReadError {
            offset: header_at!(abi_version),
            kind: ReadErrorKind::AbiVersion {
                found: header.abi_version.get(),
                expected: aotc_abi::version::ABI_VERSION,
            },
        });
    }
    if u64::from(header.header_size.get()) != header_size {
        return Err(bad(
            header_at!(header_size),
            "header size",
            header.header_size.get().into(),
            "the size of this format version's header",
        ));
    }
    if header.file_size.get() != data.len() as u64 {
        let kind = if header.file_size.get() > data.len() as u64 {
            ReadErrorKind::Truncated {
                what: "file (size recorded in the header)",
                needed: header.file_size.get(),
                available: data.len() as u64,
            }
        } else {
            ReadErrorKind::BadValue {
                what: "file size in the header",
                found: header.file_size.get(),
                expected: "the actual file size",
            }
        };
        return Err(ReadError {
            offset: header_at!(file_size),
            kind,
        });
    }
    let metadata_size = header.metadata_size.get();
    let metadata = cx.slice(0, metadata_size, "metadata")?;
    if metadata_size < header_size {
        return Err(bad(
            header_at!(metadata_size),
            "metadata size",
            metadata_size,
            "at least the header size",
        ));
    }
    let computed = metadata_checksum(metadata);
    if computed != header.metadata_checksum.get() {
        return Err(ReadError {
            offset: header_at!(metadata_checksum),
            kind: ReadErrorKind::MetadataChecksum {
                stored: header.metadata_checksum.get(),
                computed,
            },
        });
    }
    Ok(header)
}

/// Checks the header's flags and target fields; returns the architecture.
fn check_target(header: &FileHeader) -> Result<Arch, ReadError> {
    if header.flags.get() & !KNOWN_FLAGS != 0 {
        return Err(bad(
            header_at!(flags),
            "flags",
            header.flags.get().into(),
            "only known flag bits",
        ));
    }
    let arch = Arch::from_u16(header.arch.get()).ok_or_else(|| {
        bad(
            header_at!(arch),
            "architecture",
            header.arch.get().into(),
            "a known architecture",
        )
    })?;
    if header.pointer_size != arch.pointer_size() {
        return Err(bad(
            header_at!(pointer_size),
            "pointer size",
            header.pointer_size.into(),
            "the architecture's pointer size",
        ));
    }
    if Endianness::from_u8(header.endianness) != Some(arch.endianness()) {
        return Err(bad(
            header_at!(endianness),
            "endianness",
            header.endianness.into(),
            "the architecture's byte order",
        ));
    }
    let text_align = header.text_align.get();
    if !text_align.is_power_of_two() || text_align < MIN_TEXT_ALIGN {
        return Err(bad(
            header_at!(text_align),
            "text alignment",
            text_align.into(),
            "a power of two of at least 16",
        ));
    }
    let base = header.prelink_base.get();
    if header.flags.get() & FLAG_PRELINKED != 0 {
        if header.flags.get() & (FLAG_XIP | FLAG_INDIRECT_CALLS) != 0 {
            return Err(bad(
                header_at!(flags),
                "flags",
                header.flags.get().into(),
                "PRELINKED only on a normal-mode (not XIP, not indirect) file",
            ));
        }
        if base == 0 || !base.is_multiple_of(u64::from(text_align)) {
            return Err(bad(
                header_at!(prelink_base),
                "prelink base",
                base,
                "a non-zero multiple of the text alignment",
            ));
        }
    } else if base != 0 {
        return Err(bad(
            header_at!(prelink_base),
            "prelink base",
            base,
            "zero in a file that is not prelinked",
        ));
    } else if header.symbols_fingerprint.get() != 0 {
        return Err(bad(
            header_at!(symbols_fingerprint),
            "symbols fingerprint",
            header.symbols_fingerprint.get(),
            "zero in a file that is not prelinked",
        ));
    }
    Ok(arch)
}

/// Reads the section table: every kind known, at most once, within the metadata (the text:
/// after it, within the file).
fn parse_sections<'data>(
    cx: &Cx<'data>,
    header: &FileHeader,
) -> Result<SectionTable<'data>, ReadError> {
    let metadata_size = header.metadata_size.get();
    let table_offset = u64::from(header.section_table_offset.get());
    let section_count = header.section_count.get() as usize;
    let table_size = (section_count as u64) * size_of::<SectionEntry>() as u64;
    if table_offset.saturating_add(table_size) > metadata_size {
        return Err(bad(
            header_at!(section_table_offset),
            "section table end",
            table_offset.saturating_add(table_size),
            "within the metadata",
        ));
    }
    let table_bytes = cx.slice(table_offset, table_size, "section table")?;
    let entries: &[SectionEntry] =
        slice_from_bytes(table_bytes, section_count).ok_or_else(|| {
            truncated(
                table_offset,
                "section table",
                table_size,
                table_bytes.len() as u64,
            )
        })?;
    let mut table = SectionTable {
        offset: table_offset,
        entries,
        by_kind: [None; SectionKind::ALL.len()],
    };
    for (i, s) in entries.iter().enumerate() {
        let at = table_offset + (i * size_of::<SectionEntry>()) as u64;
        let kind = SectionKind::from_u32(s.kind.get()).ok_or_else(|| {
            bad(
                at,
                "section kind",
                s.kind.get().into(),
                "a known section kind",
            )
        })?;
        let slot = &mut table.by_kind[kind.position()];
        if slot.is_some() {
            return Err(bad(
                at,
                "section kind",
                s.kind.get().into(),
                "each section kind at most once",
            ));
        }
        let end = s.offset.get().checked_add(s.size.get());
        let after_metadata = kind == SectionKind::Text || kind.is_lookup();
        let within = if after_metadata {
            end.is_some_and(|e| e <= cx.data.len() as u64) && s.offset.get() >= metadata_size
        } else {
            end.is_some_and(|e| e <= metadata_size)
        };
        if !within {
            return Err(bad(
                field_at!(at, SectionEntry.offset),
                "section offset",
                s.offset.get(),
                if after_metadata {
                    "a text or lookup section after the metadata and within the file"
                } else {
                    "a metadata section within the checksummed metadata"
                },
            ));
        }
        *slot = Some(s);
    }
    Ok(table)
}

impl<'data> AotFile<'data> {
    /// Parses and checks `data`, the whole file.
    pub fn parse(data: &'data [u8]) -> Result<Self, ReadError> {
        let cx = Cx { data };
        let header = parse_header(&cx)?;
        // From here on the metadata is what a writer produced, unless a writer is buggy or
        // the file was crafted: every check below still holds against both.
        let arch = check_target(header)?;
        let sections = parse_sections(&cx, header)?;

        let text_entry = sections.get(SectionKind::Text)?;
        let text_offset = text_entry.offset.get();
        if text_offset % u64::from(header.text_align.get()) != 0 {
            return Err(bad(
                text_offset,
                "text offset",
                text_offset,
                "a multiple of the text alignment",
            ));
        }
        let text = cx.section_bytes(text_entry, "text")?;
        let pool_entry = sections.get(SectionKind::Pool)?;
        let pool = cx.section_bytes(pool_entry, "pool")?;
        let module_entry = sections.get(SectionKind::Module)?;
        let module = match cx.raw_records::<ModuleRecord>(module_entry, "module record")? {
            [m] => m,
            modules => {
                return Err(bad(
                    module_entry.offset.get(),
                    "module record count",
                    modules.len() as u64,
                    "exactly one",
                ));
            }
        };
        let items_entry = sections.get(SectionKind::ElementItems)?;
        let element_items = cx.raw_records(items_entry, "element items")?;
        let view = Context {
            pool,
            element_items,
        };
        let types = sections.records(&cx, view, SectionKind::Types, "type records")?;
        let functions_entry = sections.get(SectionKind::Functions)?;
        let functions = Functions {
            records: sections.records(&cx, view, SectionKind::Functions, "function records")?,
            bytes: cx.section_bytes(functions_entry, "function records")?,
            types: types.len(),
            imported: module.imported_functions.get(),
            text_len: text.len(),
            stored_checksum: header.functions_checksum.get(),
        };
        let blocks_entry = sections.get(SectionKind::Traps)?;
        let deltas_entry = sections.get(SectionKind::TrapDeltas)?;
        let traps = Traps {
            blocks: cx.raw_records(blocks_entry, "trap blocks")?,
            blocks_at: blocks_entry.offset.get(),
            block_bytes: cx.section_bytes(blocks_entry, "trap blocks")?,
            deltas: cx.section_bytes(deltas_entry, "trap deltas")?,
            deltas_at: deltas_entry.offset.get(),
            stored_checksum: header.traps_checksum.get(),
        };
        let names_entry = sections.get(SectionKind::FunctionNames)?;
        let name_bytes_entry = sections.get(SectionKind::NameBytes)?;
        let names = Names {
            records: cx.raw_records(names_entry, "function name records")?,
            records_at: names_entry.offset.get(),
            record_bytes: cx.section_bytes(names_entry, "function name records")?,
            bytes: cx.section_bytes(name_bytes_entry, "function name bytes")?,
        };
        let file = AotFile {
            data,
            header,
            arch,
            sections: sections.entries,
            cx: view,
            module,
            types,
            imports: sections.records(&cx, view, SectionKind::Imports, "import records")?,
            functions,
            tables: sections.records(&cx, view, SectionKind::Tables, "table records")?,
            memories: sections.records(&cx, view, SectionKind::Memories, "memory records")?,
            globals: sections.records(&cx, view, SectionKind::Globals, "global records")?,
            exports: sections.records(&cx, view, SectionKind::Exports, "export records")?,
            elements: sections.records(&cx, view, SectionKind::Elements, "element records")?,
            element_items: Records::new(element_items, view, items_entry.offset.get()),
            data_segments: sections.records(&cx, view, SectionKind::Data, "data records")?,
            traps,
            names,
            relocs: sections.records(&cx, view, SectionKind::Relocs, "relocation records")?,
            builtins: sections.records(&cx, view, SectionKind::Builtins, "builtin records")?,
            constants: cx.raw_records(sections.get(SectionKind::Constants)?, "constant table")?,
            text,
            text_offset,
        };
        file.check_records(module_entry.offset.get())?;
        Ok(file)
    }

    /// Checks everything parsing leaves to lookups: the function table and the trap table
    /// (every record, and each section's checksum) and the text checksum. O(file size).
    pub fn verify(&self) -> Result<(), ReadError> {
        self.functions.verify()?;
        for f in self.functions.iter() {
            f?;
        }
        self.traps.verify(&self.names)?;
        for t in self.traps.iter() {
            t?;
        }
        for n in self.names.iter() {
            n?;
        }
        self.verify_text()
    }

    /// Checks the text against its checksum (O(text); loading does not do this).
    pub fn verify_text(&self) -> Result<(), ReadError> {
        let computed = checksum(self.text);
        if computed != self.header.text_checksum.get() {
            return Err(ReadError {
                offset: self.text_offset,
                kind: ReadErrorKind::TextChecksum {
                    stored: self.header.text_checksum.get(),
                    computed,
                },
            });
        }
        Ok(())
    }

    /// The whole file.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }
    /// The header, as stored.
    pub fn header(&self) -> &'data FileHeader {
        self.header
    }
    /// Format version of the writer (this reader's: checked).
    pub fn format_version(&self) -> u32 {
        self.header.format_version.get()
    }
    /// ABI version the code was compiled against (this runtime's: checked).
    pub fn abi_version(&self) -> u32 {
        self.header.abi_version.get()
    }
    /// Target architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// Target pointer size in bytes (the architecture's: checked).
    pub fn pointer_size(&self) -> u8 {
        self.header.pointer_size
    }
    /// `FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.header.flags.get()
    }
    /// Whether the file is XIP (no relocations; text mapped in place).
    pub fn is_xip(&self) -> bool {
        self.flags() & FLAG_XIP != 0
    }
    /// Whether the file is prelinked (relocated at compile time; text executes at
    /// [`AotFile::prelink_base`]).
    pub fn is_prelinked(&self) -> bool {
        self.flags() & FLAG_PRELINKED != 0
    }
    /// The address a prelinked file's text was relocated for (zero otherwise).
    pub fn prelink_base(&self) -> u64 {
        self.header.prelink_base.get()
    }
    /// The fingerprint of the builtin addresses a prelinked file was relocated for (zero
    /// otherwise; see [`crate::checksum::symbols_fingerprint`]).
    pub fn symbols_fingerprint(&self) -> u64 {
        self.header.symbols_fingerprint.get()
    }
    /// Target triple.
    pub fn target_triple(&self) -> &'data str {
        c_str(&self.header.target_triple)
    }
    /// CPU name (empty: generic).
    pub fn cpu_name(&self) -> &'data str {
        c_str(&self.header.cpu_name)
    }
    /// CPU feature bits the code needs.
    pub fn cpu_features(&self) -> u64 {
        self.header.cpu_features.get()
    }
    /// Sections, in table order.
    pub fn sections(&self) -> impl ExactSizeIterator<Item = SectionInfo> + use<'data> {
        self.sections.iter().map(SectionInfo::of)
    }
    /// The section of `kind` (every kind is present in a parsed file).
    pub fn section(&self, kind: SectionKind) -> Option<SectionInfo> {
        self.sections().find(|s| s.kind == kind)
    }
    /// Machine code.
    pub fn text(&self) -> &'data [u8] {
        self.text
    }
    /// File offset of the text (a multiple of [`Self::text_align`]).
    pub fn text_file_offset(&self) -> u64 {
        self.text_offset
    }
    /// Alignment of the text's file offset.
    pub fn text_align(&self) -> u32 {
        self.header.text_align.get()
    }
    /// Module-wide facts: the start function and the number of imports of each kind.
    pub fn module(&self) -> ModuleInfo {
        ModuleInfo::of(self.module)
    }
    /// Start function.
    pub fn start_function(&self) -> Option<u32> {
        self.module().start
    }
    /// Function types, by type index.
    pub fn types(&self) -> Records<'data, TypeRecord> {
        self.types
    }
    /// Imports, in import order.
    pub fn imports(&self) -> Records<'data, ImportRecord> {
        self.imports
    }
    /// Functions (imports first), checked on access.
    pub fn functions(&self) -> Functions<'data> {
        self.functions
    }
    /// Tables (imports first).
    pub fn tables(&self) -> Records<'data, TableRecord> {
        self.tables
    }
    /// Memories (imports first).
    pub fn memories(&self) -> Records<'data, MemoryRecord> {
        self.memories
    }
    /// Globals (imports first).
    pub fn globals(&self) -> Records<'data, GlobalRecord> {
        self.globals
    }
    /// Exports.
    pub fn exports(&self) -> Records<'data, ExportRecord> {
        self.exports
    }
    /// Element segments.
    pub fn elements(&self) -> Records<'data, ElementRecord> {
        self.elements
    }
    /// Data segments.
    pub fn data_segments(&self) -> Records<'data, DataRecord> {
        self.data_segments
    }
    /// Trap sites, ascending by code offset, checked on lookup.
    pub fn traps(&self) -> Traps<'data> {
        self.traps
    }
    /// Function names (the wasm `name` section's), checked on lookup.
    pub fn names(&self) -> Names<'data> {
        self.names
    }
    /// Relocations against the text.
    pub fn relocs(&self) -> Records<'data, RelocRecord> {
        self.relocs
    }
    /// The builtins the code calls, as `(table index, name)`, ascending by index. A runtime
    /// must refuse a file whose builtin it lacks or numbers differently, naming it.
    pub fn builtins(&self) -> impl ExactSizeIterator<Item = (u32, &'data str)> + use<'data> {
        self.builtins.iter()
    }
    /// The [`crate::checksum::symbols_fingerprint`] of the addresses `address` gives the
    /// builtins this file calls (by builtin index): what a prelinked file's
    /// [`Self::symbols_fingerprint`] must equal for a runtime with those addresses. `Err` names
    /// the first builtin `address` gives none for.
    pub fn builtin_addresses_fingerprint(
        &self,
        address: impl Fn(u32) -> Option<u64>,
    ) -> Result<u64, &'data str> {
        if let Some((_, name)) = self.builtins().find(|(index, _)| address(*index).is_none()) {
            return Err(name);
        }
        Ok(crate::checksum::symbols_fingerprint(
            self.builtins()
                .map(|(index, _)| (index, address(index).unwrap_or(0))),
        ))
    }
    /// File offset of the record of the `i`th builtin of [`Self::builtins`].
    pub fn builtin_file_offset(&self, i: usize) -> u64 {
        self.builtins.file_offset(i)
    }
    /// The intrinsic set the code was compiled with (checked at parse time).
    pub fn intrinsics(&self) -> aotc_abi::intrinsics::IntrinsicSet {
        aotc_abi::intrinsics::IntrinsicSet::from_bits(u128::from_le_bytes(self.header.intrinsics))
            .unwrap_or_default()
    }
    /// The constant table: 8-byte slots in the target's byte order.
    pub fn constants(&self) -> &'data [[u8; 8]] {
        self.constants
    }
    /// The export named `name`.
    pub fn find_export(&self, name: &str) -> Option<Export<'data>> {
        self.exports.iter().find(|e| e.name == name)
    }
}
