//! The reader: parses and checks an AOT file in place, then hands out `&'data` views.
//!
//! [`AotFile::parse`] checks, in O(metadata) time and without allocating: the magic, versions,
//! header fields, the section table, the metadata checksum, every record's enumerations and
//! every offset, length and index a record holds. After it succeeds, accessors cannot fail
//! for reasons of file damage (they return values, not `Result`s). The text's own checksum is
//! checked only by [`AotFile::verify_text`], so that loading stays O(1) in the size of code.

use core::fmt;
use core::mem::size_of;

use aotc_abi::{Arch, TrapCode, ValType};

use crate::checksum::Checksum;
use crate::layout::*;
use crate::pod::{Pod, from_bytes, slice_from_bytes};

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

/// A checked list of value types (a view into the pool).
#[derive(Copy, Clone, Debug)]
pub struct ValTypes<'data>(&'data [u8]);

impl<'data> ValTypes<'data> {
    /// Number of types.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The `i`th type.
    pub fn get(&self, i: usize) -> Option<ValType> {
        self.0.get(i).and_then(|b| ValType::from_u8(*b))
    }
    /// All types, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ValType> + 'data {
        // Every byte was checked by `AotFile::parse`; the fallback is never taken.
        self.0
            .iter()
            .map(|b| ValType::from_u8(*b).unwrap_or(ValType::I32))
    }
}

/// A parsed, checked AOT file.
#[derive(Copy, Clone, Debug)]
pub struct AotFile<'data> {
    data: &'data [u8],
    header: &'data FileHeader,
    arch: Arch,
    sections: &'data [SectionEntry],
    pool: &'data [u8],
    module: &'data ModuleRecord,
    types: &'data [TypeRecord],
    imports: &'data [ImportRecord],
    functions: &'data [FunctionRecord],
    tables: &'data [TableRecord],
    memories: &'data [MemoryRecord],
    globals: &'data [GlobalRecord],
    exports: &'data [ExportRecord],
    elements: &'data [ElementRecord],
    element_items: &'data [ConstExpr],
    data_segments: &'data [DataRecord],
    traps: &'data [TrapRecord],
    relocs: &'data [RelocRecord],
    builtins: &'data [BuiltinRecord],
    constants: &'data [[u8; 8]],
    text: &'data [u8],
    text_offset: u64,
}

struct Cx<'data> {
    data: &'data [u8],
}

impl<'data> Cx<'data> {
    fn slice(&self, offset: u64, len: u64, what: &'static str) -> Result<&'data [u8], ReadError> {
        let total = self.data.len() as u64;
        let available = total.saturating_sub(offset);
        let truncated = ReadError {
            offset,
            kind: ReadErrorKind::Truncated {
                what,
                needed: len,
                available,
            },
        };
        let end = offset.checked_add(len).ok_or_else(|| truncated.clone())?;
        if end > total {
            return Err(truncated);
        }
        Ok(&self.data[offset as usize..end as usize])
    }

    fn records<T: Pod>(
        &self,
        s: &SectionEntry,
        what: &'static str,
    ) -> Result<&'data [T], ReadError> {
        let bytes = self.slice(s.offset.get(), s.size.get(), what)?;
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
        slice_from_bytes(bytes, count).ok_or(ReadError {
            offset: s.offset.get(),
            kind: ReadErrorKind::Truncated {
                what,
                needed: s.size.get(),
                available: bytes.len() as u64,
            },
        })
    }
}

fn c_str(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("")
}

/// File offset of record `index` of `records`, which starts at `base`.
fn rec_off<T>(base: u64, index: usize) -> u64 {
    base + (index * size_of::<T>()) as u64
}

impl<'data> AotFile<'data> {
    /// Parses and checks `data`, the whole file.
    pub fn parse(data: &'data [u8]) -> Result<Self, ReadError> {
        let cx = Cx { data };
        let header_bytes = cx.slice(0, size_of::<FileHeader>() as u64, "file header")?;
        let header: &FileHeader = from_bytes(header_bytes).ok_or(ReadError {
            offset: 0,
            kind: ReadErrorKind::Truncated {
                what: "file header",
                needed: size_of::<FileHeader>() as u64,
                available: data.len() as u64,
            },
        })?;
        if header.magic != MAGIC {
            return Err(ReadError {
                offset: 0,
                kind: ReadErrorKind::BadMagic,
            });
        }
        if header.format_version.get() != aotc_abi::version::FORMAT_VERSION {
            return Err(ReadError {
                offset: 8,
                kind: ReadErrorKind::FormatVersion {
                    found: header.format_version.get(),
                    expected: aotc_abi::version::FORMAT_VERSION,
                },
            });
        }
        if header.abi_version.get() != aotc_abi::version::ABI_VERSION {
            return Err(ReadError {
                offset: 12,
                kind: ReadErrorKind::AbiVersion {
                    found: header.abi_version.get(),
                    expected: aotc_abi::version::ABI_VERSION,
                },
            });
        }
        if header.header_size.get() as usize != size_of::<FileHeader>() {
            return Err(bad(
                16,
                "header size",
                header.header_size.get().into(),
                "152",
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
            return Err(ReadError { offset: 128, kind });
        }
        let metadata_size = header.metadata_size.get();
        let metadata = cx.slice(0, metadata_size, "metadata")?;
        if metadata_size < size_of::<FileHeader>() as u64 {
            return Err(bad(
                104,
                "metadata size",
                metadata_size,
                "at least the header size",
            ));
        }
        let mut sum = Checksum::new();
        sum.update(&metadata[..METADATA_CHECKSUM_OFFSET]);
        sum.update_zeros(8);
        sum.update(&metadata[METADATA_CHECKSUM_OFFSET + 8..]);
        if sum.finish() != header.metadata_checksum.get() {
            return Err(ReadError {
                offset: METADATA_CHECKSUM_OFFSET as u64,
                kind: ReadErrorKind::MetadataChecksum {
                    stored: header.metadata_checksum.get(),
                    computed: sum.finish(),
                },
            });
        }
        // From here on the metadata is what a writer produced, unless a writer is buggy or
        // the file was crafted: every check below still holds against both.
        if header.flags.get() & !KNOWN_FLAGS != 0 {
            return Err(bad(
                20,
                "flags",
                header.flags.get().into(),
                "only known flag bits",
            ));
        }
        let arch = Arch::from_u16(header.arch.get()).ok_or_else(|| {
            bad(
                24,
                "architecture",
                header.arch.get().into(),
                "a known architecture",
            )
        })?;
        if header.pointer_size != arch.pointer_size() {
            return Err(bad(
                26,
                "pointer size",
                header.pointer_size.into(),
                "the architecture's pointer size",
            ));
        }
        if header.endianness != arch.endianness() as u8 {
            return Err(bad(
                27,
                "endianness",
                header.endianness.into(),
                "the architecture's byte order",
            ));
        }
        let text_align = header.text_align.get();
        if !text_align.is_power_of_two() || text_align < arch.max_page_size() {
            return Err(bad(
                28,
                "text alignment",
                text_align.into(),
                "a power of two no smaller than the target's largest page",
            ));
        }

        let table_offset = u64::from(header.section_table_offset.get());
        let section_count = header.section_count.get() as usize;
        let table_size = (section_count as u64) * size_of::<SectionEntry>() as u64;
        if table_offset.saturating_add(table_size) > metadata_size {
            return Err(bad(
                100,
                "section table end",
                table_offset.saturating_add(table_size),
                "within the metadata",
            ));
        }
        let table_bytes = cx.slice(table_offset, table_size, "section table")?;
        let sections: &[SectionEntry] =
            slice_from_bytes(table_bytes, section_count).ok_or(ReadError {
                offset: table_offset,
                kind: ReadErrorKind::Truncated {
                    what: "section table",
                    needed: table_size,
                    available: table_bytes.len() as u64,
                },
            })?;

        let mut found: [Option<&SectionEntry>; 18] = [None; 18];
        for (i, s) in sections.iter().enumerate() {
            let off = rec_off::<SectionEntry>(table_offset, i);
            let kind = SectionKind::from_u32(s.kind.get()).ok_or_else(|| {
                bad(
                    off,
                    "section kind",
                    s.kind.get().into(),
                    "a known section kind",
                )
            })?;
            let slot = &mut found[kind as usize];
            if slot.is_some() {
                return Err(bad(
                    off,
                    "section kind",
                    s.kind.get().into(),
                    "each section kind at most once",
                ));
            }
            let end = s.offset.get().checked_add(s.size.get());
            let within = if kind == SectionKind::Text {
                end.is_some_and(|e| e <= data.len() as u64) && s.offset.get() >= metadata_size
            } else {
                end.is_some_and(|e| e <= metadata_size)
            };
            if !within {
                return Err(bad(
                    off + 8,
                    "section offset",
                    s.offset.get(),
                    if kind == SectionKind::Text {
                        "a text section after the metadata and within the file"
                    } else {
                        "a metadata section within the checksummed metadata"
                    },
                ));
            }
            *slot = Some(s);
        }
        let section = |kind: SectionKind| -> Result<&SectionEntry, ReadError> {
            found[kind as usize].ok_or_else(|| {
                bad(
                    table_offset,
                    "section table",
                    kind as u64,
                    "a section of this kind (see SectionKind)",
                )
            })
        };

        let text_entry = section(SectionKind::Text)?;
        let text_offset = text_entry.offset.get();
        if text_offset % u64::from(text_align) != 0 {
            return Err(bad(
                text_offset,
                "text offset",
                text_offset,
                "a multiple of the text alignment",
            ));
        }
        let text = cx.slice(text_offset, text_entry.size.get(), "text")?;

        let pool = cx.slice(
            section(SectionKind::Pool)?.offset.get(),
            section(SectionKind::Pool)?.size.get(),
            "pool",
        )?;
        let module_s = section(SectionKind::Module)?;
        let modules: &[ModuleRecord] = cx.records(module_s, "module record")?;
        let module = match modules {
            [m] => m,
            _ => {
                return Err(bad(
                    module_s.offset.get(),
                    "module record count",
                    modules.len() as u64,
                    "exactly one",
                ));
            }
        };

        let file = AotFile {
            data,
            header,
            arch,
            sections,
            pool,
            module,
            types: cx.records(section(SectionKind::Types)?, "type records")?,
            imports: cx.records(section(SectionKind::Imports)?, "import records")?,
            functions: cx.records(section(SectionKind::Functions)?, "function records")?,
            tables: cx.records(section(SectionKind::Tables)?, "table records")?,
            memories: cx.records(section(SectionKind::Memories)?, "memory records")?,
            globals: cx.records(section(SectionKind::Globals)?, "global records")?,
            exports: cx.records(section(SectionKind::Exports)?, "export records")?,
            elements: cx.records(section(SectionKind::Elements)?, "element records")?,
            element_items: cx.records(section(SectionKind::ElementItems)?, "element items")?,
            data_segments: cx.records(section(SectionKind::Data)?, "data records")?,
            traps: cx.records(section(SectionKind::Traps)?, "trap records")?,
            relocs: cx.records(section(SectionKind::Relocs)?, "relocation records")?,
            builtins: cx.records(section(SectionKind::Builtins)?, "builtin records")?,
            constants: cx.records(section(SectionKind::Constants)?, "constant table")?,
            text,
            text_offset,
        };
        file.check_records(&section)?;
        Ok(file)
    }

    fn check_range(
        &self,
        at: u64,
        r: &Range,
        what: &'static str,
    ) -> Result<&'data [u8], ReadError> {
        let end = u64::from(r.offset.get()) + u64::from(r.len.get());
        if end > self.pool.len() as u64 {
            return Err(bad(at, what, end, "a range within the pool"));
        }
        Ok(&self.pool[r.offset.get() as usize..end as usize])
    }

    fn check_text(
        &self,
        at: u64,
        offset: u32,
        len: u32,
        what: &'static str,
    ) -> Result<(), ReadError> {
        if u64::from(offset) + u64::from(len) > self.text.len() as u64 {
            return Err(bad(at, what, offset.into(), "an offset within the text"));
        }
        Ok(())
    }

    fn check_const(&self, at: u64, e: &ConstExpr) -> Result<ConstValue, ReadError> {
        let v = ConstValue::decode(e).ok_or_else(|| {
            bad(
                at,
                "constant expression kind",
                e.kind.into(),
                "a valid constant expression",
            )
        })?;
        match v {
            ConstValue::GlobalGet(g) if g as usize >= self.globals.len() => {
                Err(bad(at + 8, "global index", g.into(), "an existing global"))
            }
            ConstValue::RefFunc(f) if f as usize >= self.functions.len() => Err(bad(
                at + 8,
                "function index",
                f.into(),
                "an existing function",
            )),
            _ => Ok(v),
        }
    }

    fn check_records(
        &self,
        section: &dyn Fn(SectionKind) -> Result<&'data SectionEntry, ReadError>,
    ) -> Result<(), ReadError> {
        let base = |k| section(k).map(|s| s.offset.get());
        let m = self.module;
        let imported = [
            (m.imported_functions.get(), self.functions.len()),
            (m.imported_tables.get(), self.tables.len()),
            (m.imported_memories.get(), self.memories.len()),
            (m.imported_globals.get(), self.globals.len()),
        ];
        let module_at = base(SectionKind::Module)?;
        for (i, (n, total)) in imported.iter().enumerate() {
            if *n as usize > *total {
                return Err(bad(
                    module_at + 4 + 4 * i as u64,
                    "imported count",
                    (*n).into(),
                    "at most the number of entries",
                ));
            }
        }
        let start = m.start_function.get();
        if start != NONE && start as usize >= self.functions.len() {
            return Err(bad(
                module_at,
                "start function",
                start.into(),
                "an existing function",
            ));
        }

        let at = base(SectionKind::Types)?;
        for (i, t) in self.types.iter().enumerate() {
            let o = rec_off::<TypeRecord>(at, i);
            for (r, what) in [(&t.params, "parameter types"), (&t.results, "result types")] {
                for b in self.check_range(o, r, what)? {
                    if ValType::from_u8(*b).is_none() {
                        return Err(bad(o, "value type", (*b).into(), "a wasm value type"));
                    }
                }
            }
            for tramp in [t.entry_trampoline.get(), t.exit_trampoline.get()] {
                if tramp != NONE {
                    self.check_text(o + 16, tramp, 1, "trampoline offset")?;
                }
            }
        }

        let at = base(SectionKind::Imports)?;
        let mut seen = [0u32; 4];
        for (i, imp) in self.imports.iter().enumerate() {
            let o = rec_off::<ImportRecord>(at, i);
            for r in [&imp.module, &imp.name] {
                let bytes = self.check_range(o, r, "import name")?;
                if core::str::from_utf8(bytes).is_err() {
                    return Err(bad(o, "import name", r.offset.get().into(), "UTF-8"));
                }
            }
            let kind = ExternKind::from_u8(imp.kind).ok_or_else(|| {
                bad(
                    o + 16,
                    "import kind",
                    imp.kind.into(),
                    "func, table, memory or global",
                )
            })?;
            let limit = imported[kind as usize].0;
            if imp.index.get() >= limit {
                return Err(bad(
                    o + 20,
                    "import index",
                    imp.index.get().into(),
                    "an index among the imported entries",
                ));
            }
            seen[kind as usize] += 1;
        }
        for (k, n) in seen.iter().enumerate() {
            if *n != imported[k].0 {
                return Err(bad(
                    module_at + 4 + 4 * k as u64,
                    "imported count",
                    imported[k].0.into(),
                    "the number of import records of that kind",
                ));
            }
        }

        let at = base(SectionKind::Functions)?;
        for (i, f) in self.functions.iter().enumerate() {
            let o = rec_off::<FunctionRecord>(at, i);
            if f.type_index.get() as usize >= self.types.len() {
                return Err(bad(
                    o,
                    "function type index",
                    f.type_index.get().into(),
                    "an existing type",
                ));
            }
            let is_import = (i as u32) < m.imported_functions.get();
            if (f.flags.get() & FUNC_IMPORTED != 0) != is_import
                || f.flags.get() & !FUNC_IMPORTED != 0
            {
                return Err(bad(
                    o + 4,
                    "function flags",
                    f.flags.get().into(),
                    "the imported flag exactly on imported functions",
                ));
            }
            if !is_import {
                self.check_text(
                    o + 8,
                    f.body_offset.get(),
                    f.body_len.get(),
                    "function body",
                )?;
            }
        }

        let at = base(SectionKind::Tables)?;
        for (i, t) in self.tables.iter().enumerate() {
            let o = rec_off::<TableRecord>(at, i);
            if !ValType::from_u8(t.elem_type).is_some_and(ValType::is_ref) {
                return Err(bad(
                    o,
                    "table element type",
                    t.elem_type.into(),
                    "funcref or externref",
                ));
            }
            let is_import = (i as u32) < m.imported_tables.get();
            if (t.flags & LIMITS_IMPORTED != 0) != is_import
                || t.flags & !(LIMITS_IMPORTED | LIMITS_HAS_MAX) != 0
            {
                return Err(bad(
                    o + 1,
                    "table flags",
                    t.flags.into(),
                    "known flags, imported exactly on imported tables",
                ));
            }
            if t.flags & LIMITS_HAS_MAX != 0 && t.max.get() < t.min.get() {
                return Err(bad(
                    o + 16,
                    "table maximum",
                    t.max.get(),
                    "at least the minimum",
                ));
            }
            if t.min.get() > u64::from(u32::MAX) || t.max.get() > u64::from(u32::MAX) {
                return Err(bad(
                    o + 8,
                    "table limits",
                    t.min.get().max(t.max.get()),
                    "at most 2^32-1",
                ));
            }
        }

        let at = base(SectionKind::Memories)?;
        for (i, mem) in self.memories.iter().enumerate() {
            let o = rec_off::<MemoryRecord>(at, i);
            let is_import = (i as u32) < m.imported_memories.get();
            if (mem.flags & LIMITS_IMPORTED != 0) != is_import
                || mem.flags & !(LIMITS_IMPORTED | LIMITS_HAS_MAX | LIMITS_64 | LIMITS_SHARED) != 0
            {
                return Err(bad(
                    o,
                    "memory flags",
                    mem.flags.into(),
                    "known flags, imported exactly on imported memories",
                ));
            }
            if mem.page_size_log2 != 16 {
                return Err(bad(
                    o + 1,
                    "memory page size (log2)",
                    mem.page_size_log2.into(),
                    "16",
                ));
            }
            let max_pages = if mem.flags & LIMITS_64 != 0 {
                1u64 << 48
            } else {
                1 << 16
            };
            if mem.min.get() > max_pages
                || (mem.flags & LIMITS_HAS_MAX != 0
                    && (mem.max.get() > max_pages || mem.max.get() < mem.min.get()))
            {
                return Err(bad(
                    o + 8,
                    "memory limits",
                    mem.min.get(),
                    "min <= max <= the index space in pages",
                ));
            }
        }

        let at = base(SectionKind::Globals)?;
        for (i, g) in self.globals.iter().enumerate() {
            let o = rec_off::<GlobalRecord>(at, i);
            let ty = ValType::from_u8(g.val_type)
                .ok_or_else(|| bad(o, "global type", g.val_type.into(), "a wasm value type"))?;
            let is_import = (i as u32) < m.imported_globals.get();
            if g.mutable > 1 || g.imported != u8::from(is_import) {
                return Err(bad(
                    o + 1,
                    "global flags",
                    g.mutable.into(),
                    "0 or 1, imported exactly on imported globals",
                ));
            }
            let init = self.check_const(o + 8, &g.init)?;
            let ok = match init {
                ConstValue::None => is_import,
                ConstValue::I32(_) => ty == ValType::I32,
                ConstValue::I64(_) => ty == ValType::I64,
                ConstValue::F32(_) => ty == ValType::F32,
                ConstValue::F64(_) => ty == ValType::F64,
                ConstValue::V128(_) => ty == ValType::V128,
                ConstValue::RefNull(t) => t == ty,
                ConstValue::RefFunc(_) => ty == ValType::FuncRef,
                // Only imported (hence earlier) globals may be read by an initialiser.
                ConstValue::GlobalGet(src) => {
                    src < m.imported_globals.get()
                        && self.globals[src as usize].val_type == g.val_type
                }
            };
            if !ok || (is_import && init != ConstValue::None) {
                return Err(bad(
                    o + 8,
                    "global initialiser",
                    g.init.kind.into(),
                    "a constant of the global's type (none for imports)",
                ));
            }
        }

        let at = base(SectionKind::Exports)?;
        for (i, e) in self.exports.iter().enumerate() {
            let o = rec_off::<ExportRecord>(at, i);
            let bytes = self.check_range(o, &e.name, "export name")?;
            if core::str::from_utf8(bytes).is_err() {
                return Err(bad(o, "export name", e.name.offset.get().into(), "UTF-8"));
            }
            let kind = ExternKind::from_u8(e.kind).ok_or_else(|| {
                bad(
                    o + 8,
                    "export kind",
                    e.kind.into(),
                    "func, table, memory or global",
                )
            })?;
            let len = [
                self.functions.len(),
                self.tables.len(),
                self.memories.len(),
                self.globals.len(),
            ][kind as usize];
            if e.index.get() as usize >= len {
                return Err(bad(
                    o + 12,
                    "export index",
                    e.index.get().into(),
                    "an existing entry of the export's kind",
                ));
            }
        }

        let at = base(SectionKind::Elements)?;
        for (i, e) in self.elements.iter().enumerate() {
            let o = rec_off::<ElementRecord>(at, i);
            let mode = SegmentMode::from_u8(e.mode).ok_or_else(|| {
                bad(
                    o,
                    "element segment mode",
                    e.mode.into(),
                    "active, passive or declared",
                )
            })?;
            if !ValType::from_u8(e.elem_type).is_some_and(ValType::is_ref) {
                return Err(bad(
                    o + 1,
                    "element type",
                    e.elem_type.into(),
                    "funcref or externref",
                ));
            }
            if mode == SegmentMode::Active {
                if e.table_index.get() as usize >= self.tables.len() {
                    return Err(bad(
                        o + 4,
                        "element table index",
                        e.table_index.get().into(),
                        "an existing table",
                    ));
                }
                self.check_offset_expr(o + 8, &e.offset)?;
            }
            let end = u64::from(e.items_start.get()) + u64::from(e.items_len.get());
            if end > self.element_items.len() as u64 {
                return Err(bad(
                    o + 32,
                    "element items",
                    end,
                    "a range within the element items",
                ));
            }
        }
        let at = base(SectionKind::ElementItems)?;
        for (i, item) in self.element_items.iter().enumerate() {
            let o = rec_off::<ConstExpr>(at, i);
            match self.check_const(o, item)? {
                ConstValue::RefFunc(_) | ConstValue::RefNull(_) | ConstValue::GlobalGet(_) => {}
                _ => {
                    return Err(bad(
                        o,
                        "element item",
                        item.kind.into(),
                        "ref.func, ref.null or global.get",
                    ));
                }
            }
        }

        let at = base(SectionKind::Data)?;
        for (i, d) in self.data_segments.iter().enumerate() {
            let o = rec_off::<DataRecord>(at, i);
            match SegmentMode::from_u8(d.mode) {
                Some(SegmentMode::Active) => {
                    if d.memory_index.get() as usize >= self.memories.len() {
                        return Err(bad(
                            o + 4,
                            "data memory index",
                            d.memory_index.get().into(),
                            "an existing memory",
                        ));
                    }
                    self.check_offset_expr(o + 8, &d.offset)?;
                }
                Some(SegmentMode::Passive) => {}
                _ => {
                    return Err(bad(
                        o,
                        "data segment mode",
                        d.mode.into(),
                        "active or passive",
                    ));
                }
            }
            self.check_range(o + 32, &d.bytes, "data bytes")?;
        }

        let at = base(SectionKind::Traps)?;
        let mut prev: Option<u32> = None;
        for (i, t) in self.traps.iter().enumerate() {
            let o = rec_off::<TrapRecord>(at, i);
            self.check_text(o, t.code_offset.get(), 1, "trap site")?;
            if prev.is_some_and(|p| p >= t.code_offset.get()) {
                return Err(bad(
                    o,
                    "trap site",
                    t.code_offset.get().into(),
                    "strictly ascending trap sites",
                ));
            }
            prev = Some(t.code_offset.get());
            if TrapCode::from_u8(t.trap_code).is_none() {
                return Err(bad(
                    o + 4,
                    "trap code",
                    t.trap_code.into(),
                    "a known trap code",
                ));
            }
        }

        let at = base(SectionKind::Relocs)?;
        if self.is_xip() && !self.relocs.is_empty() {
            return Err(bad(
                at,
                "relocation count",
                self.relocs.len() as u64,
                "none in an XIP file",
            ));
        }
        for (i, r) in self.relocs.iter().enumerate() {
            let o = rec_off::<RelocRecord>(at, i);
            let kind = RelocKind::from_u8(r.kind).ok_or_else(|| {
                bad(
                    o + 4,
                    "relocation kind",
                    r.kind.into(),
                    "a known relocation kind",
                )
            })?;
            self.check_text(o, r.offset.get(), kind.patch_size(), "relocation site")?;
            match RelocTargetKind::from_u8(r.target_kind) {
                Some(RelocTargetKind::Builtin)
                    if aotc_abi::Builtin::from_index(r.target.get()).is_some() => {}
                Some(RelocTargetKind::TextOffset)
                    if (r.target.get() as usize) <= self.text.len() => {}
                _ => {
                    return Err(bad(
                        o + 5,
                        "relocation target",
                        r.target.get().into(),
                        "a known builtin or a text offset",
                    ));
                }
            }
        }

        let at = base(SectionKind::Builtins)?;
        let mut prev: Option<u32> = None;
        for (i, b) in self.builtins.iter().enumerate() {
            let o = rec_off::<BuiltinRecord>(at, i);
            if prev.is_some_and(|p| p >= b.index.get()) {
                return Err(bad(
                    o,
                    "builtin index",
                    b.index.get().into(),
                    "strictly ascending builtin indices",
                ));
            }
            prev = Some(b.index.get());
            let name = self.check_range(o + 4, &b.name, "builtin name")?;
            if core::str::from_utf8(name).is_err() {
                return Err(bad(
                    o + 4,
                    "builtin name",
                    b.name.offset.get().into(),
                    "UTF-8",
                ));
            }
        }
        if aotc_abi::intrinsics::IntrinsicSet::from_bits(u128::from_le_bytes(
            self.header.intrinsics,
        ))
        .is_none()
        {
            return Err(bad(
                136,
                "intrinsic set",
                0,
                "only intrinsics this ABI version defines",
            ));
        }
        Ok(())
    }

    fn check_offset_expr(&self, at: u64, e: &ConstExpr) -> Result<(), ReadError> {
        match self.check_const(at, e)? {
            ConstValue::I32(_) | ConstValue::I64(_) => Ok(()),
            ConstValue::GlobalGet(g) if g < self.module.imported_globals.get() => Ok(()),
            _ => Err(bad(
                at,
                "segment offset",
                e.kind.into(),
                "an integer constant or global.get of an imported global",
            )),
        }
    }

    /// Checks the text against its checksum (O(text); loading does not do this).
    pub fn verify_text(&self) -> Result<(), ReadError> {
        let mut sum = Checksum::new();
        sum.update(self.text);
        if sum.finish() != self.header.text_checksum.get() {
            return Err(ReadError {
                offset: self.text_offset,
                kind: ReadErrorKind::TextChecksum {
                    stored: self.header.text_checksum.get(),
                    computed: sum.finish(),
                },
            });
        }
        Ok(())
    }

    /// The whole file.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }
    /// The header.
    pub fn header(&self) -> &'data FileHeader {
        self.header
    }
    /// Target architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// `FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.header.flags.get()
    }
    /// Whether the file is XIP (no relocations; text mapped in place).
    pub fn is_xip(&self) -> bool {
        self.flags() & FLAG_XIP != 0
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
    pub fn sections(&self) -> impl Iterator<Item = SectionInfo> + 'data {
        self.sections.iter().filter_map(|s| {
            Some(SectionInfo {
                kind: SectionKind::from_u32(s.kind.get())?,
                offset: s.offset.get(),
                size: s.size.get(),
                count: s.count.get(),
            })
        })
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
    /// Module-wide facts.
    pub fn module(&self) -> &'data ModuleRecord {
        self.module
    }
    /// Start function.
    pub fn start_function(&self) -> Option<u32> {
        Some(self.module.start_function.get()).filter(|s| *s != NONE)
    }
    /// Bytes of a pool range (checked at parse time for every range a record holds).
    pub fn pool_bytes(&self, r: &Range) -> &'data [u8] {
        let start = r.offset.get() as usize;
        self.pool
            .get(start..start.saturating_add(r.len.get() as usize))
            .unwrap_or(&[])
    }
    /// A string of the pool (names are checked to be UTF-8 at parse time).
    pub fn string(&self, r: &Range) -> &'data str {
        core::str::from_utf8(self.pool_bytes(r)).unwrap_or("")
    }
    /// Function types.
    pub fn types(&self) -> &'data [TypeRecord] {
        self.types
    }
    /// Parameter types of a type.
    pub fn params(&self, t: &TypeRecord) -> ValTypes<'data> {
        ValTypes(self.pool_bytes(&t.params))
    }
    /// Result types of a type.
    pub fn results(&self, t: &TypeRecord) -> ValTypes<'data> {
        ValTypes(self.pool_bytes(&t.results))
    }
    /// Imports.
    pub fn imports(&self) -> &'data [ImportRecord] {
        self.imports
    }
    /// Functions (imports first).
    pub fn functions(&self) -> &'data [FunctionRecord] {
        self.functions
    }
    /// Tables (imports first).
    pub fn tables(&self) -> &'data [TableRecord] {
        self.tables
    }
    /// Memories (imports first).
    pub fn memories(&self) -> &'data [MemoryRecord] {
        self.memories
    }
    /// Globals (imports first).
    pub fn globals(&self) -> &'data [GlobalRecord] {
        self.globals
    }
    /// Exports.
    pub fn exports(&self) -> &'data [ExportRecord] {
        self.exports
    }
    /// Element segments.
    pub fn elements(&self) -> &'data [ElementRecord] {
        self.elements
    }
    /// Items of an element segment.
    pub fn element_items(&self, e: &ElementRecord) -> &'data [ConstExpr] {
        let start = e.items_start.get() as usize;
        self.element_items
            .get(start..start.saturating_add(e.items_len.get() as usize))
            .unwrap_or(&[])
    }
    /// Data segments.
    pub fn data_segments(&self) -> &'data [DataRecord] {
        self.data_segments
    }
    /// Trap sites, ascending.
    pub fn traps(&self) -> &'data [TrapRecord] {
        self.traps
    }
    /// The trap code of the instruction at text offset `offset`, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<TrapCode> {
        let i = self
            .traps
            .binary_search_by_key(&offset, |t| t.code_offset.get())
            .ok()?;
        TrapCode::from_u8(self.traps[i].trap_code)
    }
    /// Relocations against the text, ascending by offset.
    pub fn relocs(&self) -> &'data [RelocRecord] {
        self.relocs
    }
    /// The builtins the code calls, as `(table index, name)`, ascending by index. A runtime
    /// must refuse a file whose builtin it lacks or numbers differently, naming it.
    pub fn builtins(&self) -> impl Iterator<Item = (u32, &'data str)> + '_ {
        self.builtins
            .iter()
            .map(|b| (b.index.get(), self.string(&b.name)))
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
    pub fn find_export(&self, name: &str) -> Option<&'data ExportRecord> {
        self.exports.iter().find(|e| self.string(&e.name) == name)
    }
}
