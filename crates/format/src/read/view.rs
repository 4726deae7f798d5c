//! Typed views of the records: what [`AotFile`](super::AotFile)'s accessors hand out. Each raw
//! record type decodes itself here, once, into enums and typed values; every field it decodes
//! was checked by [`AotFile::parse`](super::AotFile::parse), so decoding cannot fail (the
//! fallbacks below are never taken on a parsed file).

use aotc_abi::{Builtin, TrapCode, ValType};

use crate::layout::*;
use crate::pod::Pod;

/// What a record's view may refer to besides the record itself (opaque: built by the reader).
#[derive(Copy, Clone, Debug)]
pub struct Context<'data> {
    /// The [`SectionKind::Pool`] bytes.
    pub(crate) pool: &'data [u8],
    /// The [`SectionKind::ElementItems`] records.
    pub(crate) element_items: &'data [ConstExpr],
}

impl<'data> Context<'data> {
    /// Bytes of a pool range (checked at parse time for every range a record holds).
    pub(crate) fn bytes(&self, r: &Range) -> &'data [u8] {
        let start = r.offset.get() as usize;
        self.pool
            .get(start..start.saturating_add(r.len.get() as usize))
            .unwrap_or(&[])
    }

    /// A string of the pool (checked to be UTF-8 at parse time).
    pub(crate) fn str(&self, r: &Range) -> &'data str {
        core::str::from_utf8(self.bytes(r)).unwrap_or("")
    }
}

/// A raw record that decodes into a typed view.
pub trait Record: Pod {
    /// The decoded record.
    type View<'data>;
    /// Decodes the record (checked at parse time).
    #[doc(hidden)]
    fn view<'data>(&'data self, cx: Context<'data>) -> Self::View<'data>;
}

/// The checked records of one section, decoded on access.
#[derive(Copy, Clone, Debug)]
pub struct Records<'data, R> {
    raw: &'data [R],
    pub(crate) cx: Context<'data>,
    file_offset: u64,
}

impl<'data, R: Record> Records<'data, R> {
    pub(crate) fn new(raw: &'data [R], cx: Context<'data>, file_offset: u64) -> Self {
        Records {
            raw,
            cx,
            file_offset,
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Record `index`, decoded.
    pub fn get(&self, index: usize) -> Option<R::View<'data>> {
        Some(self.raw.get(index)?.view(self.cx))
    }

    /// Every record, decoded, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = R::View<'data>> + use<'data, R> {
        let cx = self.cx;
        self.raw.iter().map(move |r| r.view(cx))
    }

    /// File offset of record `index` (for messages about it).
    pub fn file_offset(&self, index: usize) -> u64 {
        self.file_offset + (index * size_of::<R>()) as u64
    }

    /// The raw records, as stored.
    pub fn raw(&self) -> &'data [R] {
        self.raw
    }
}

/// A checked list of value types (a view into the pool).
#[derive(Copy, Clone, Debug)]
pub struct ValTypes<'data>(pub(crate) &'data [u8]);

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
        self.0.get(i).map(|b| val_type(*b))
    }
    /// All types, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ValType> + use<'data> {
        self.0.iter().map(|b| val_type(*b))
    }
}

/// A checked list of constant expressions (the items of an element segment).
#[derive(Copy, Clone, Debug)]
pub struct ConstValues<'data>(&'data [ConstExpr]);

impl<'data> ConstValues<'data> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// All items, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ConstValue> + use<'data> {
        self.0.iter().map(const_value)
    }
}

fn val_type(b: u8) -> ValType {
    ValType::from_u8(b).unwrap_or(ValType::I32)
}

fn extern_kind(b: u8) -> ExternKind {
    ExternKind::from_u8(b).unwrap_or(ExternKind::Func)
}

fn const_value(e: &ConstExpr) -> ConstValue {
    ConstValue::decode(e).unwrap_or(ConstValue::None)
}

fn text_offset(v: u32) -> Option<u32> {
    Some(v).filter(|v| *v != NONE)
}

fn placement(mode: u8, index: u32, offset: &ConstExpr) -> SegmentPlacement {
    match SegmentMode::from_u8(mode) {
        Some(SegmentMode::Active) => SegmentPlacement::Active {
            index,
            offset: const_value(offset),
        },
        Some(SegmentMode::Declared) => SegmentPlacement::Declared,
        _ => SegmentPlacement::Passive,
    }
}

impl Record for ConstExpr {
    type View<'data> = ConstValue;
    fn view(&self, _: Context<'_>) -> ConstValue {
        const_value(self)
    }
}

/// Module-wide facts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Start function.
    pub start: Option<u32>,
    /// Number of imported functions (they are the first function indices).
    pub imported_functions: u32,
    /// Number of imported tables.
    pub imported_tables: u32,
    /// Number of imported memories.
    pub imported_memories: u32,
    /// Number of imported globals.
    pub imported_globals: u32,
}

impl ModuleInfo {
    pub(crate) fn of(m: &ModuleRecord) -> ModuleInfo {
        ModuleInfo {
            start: text_offset(m.start_function.get()),
            imported_functions: m.imported_functions.get(),
            imported_tables: m.imported_tables.get(),
            imported_memories: m.imported_memories.get(),
            imported_globals: m.imported_globals.get(),
        }
    }
}

/// A function type and its trampolines.
#[derive(Copy, Clone, Debug)]
pub struct FuncType<'data> {
    /// Parameter types.
    pub params: ValTypes<'data>,
    /// Result types.
    pub results: ValTypes<'data>,
    /// Text offset of the entry (host-to-wasm) trampoline.
    pub entry_trampoline: Option<u32>,
    /// Text offset of the exit (wasm-to-host) trampoline.
    pub exit_trampoline: Option<u32>,
}

impl Record for TypeRecord {
    type View<'data> = FuncType<'data>;
    fn view<'data>(&'data self, cx: Context<'data>) -> FuncType<'data> {
        FuncType {
            params: ValTypes(cx.bytes(&self.params)),
            results: ValTypes(cx.bytes(&self.results)),
            entry_trampoline: text_offset(self.entry_trampoline.get()),
            exit_trampoline: text_offset(self.exit_trampoline.get()),
        }
    }
}

/// An import.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Import<'data> {
    /// Module name.
    pub module: &'data str,
    /// Field name.
    pub name: &'data str,
    /// What is imported.
    pub kind: ExternKind,
    /// Index in the kind's index space.
    pub index: u32,
}

impl Record for ImportRecord {
    type View<'data> = Import<'data>;
    fn view<'data>(&'data self, cx: Context<'data>) -> Import<'data> {
        Import {
            module: cx.str(&self.module),
            name: cx.str(&self.name),
            kind: extern_kind(self.kind),
            index: self.index.get(),
        }
    }
}

/// A function: imported (no body) or defined (a range of the text).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Type index.
    pub type_index: u32,
    /// `(text offset, length)` of the body; `None` for imports.
    pub body: Option<(u32, u32)>,
}

impl Record for FunctionRecord {
    type View<'data> = Function;
    fn view(&self, _: Context<'_>) -> Function {
        Function {
            type_index: self.type_index.get(),
            body: (self.flags.get() & FUNC_IMPORTED == 0)
                .then(|| (self.body_offset.get(), self.body_len.get())),
        }
    }
}

/// A table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Element type.
    pub elem_type: ValType,
    /// Minimum size (at most `u32::MAX`).
    pub min: u32,
    /// Maximum size (at most `u32::MAX`).
    pub max: Option<u32>,
    /// Imported rather than defined.
    pub imported: bool,
}

impl Record for TableRecord {
    type View<'data> = Table;
    fn view(&self, _: Context<'_>) -> Table {
        let limit = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Table {
            elem_type: ValType::from_u8(self.elem_type).unwrap_or(ValType::FuncRef),
            min: limit(self.min.get()),
            max: (self.flags & LIMITS_HAS_MAX != 0).then(|| limit(self.max.get())),
            imported: self.flags & LIMITS_IMPORTED != 0,
        }
    }
}

/// A linear memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Minimum size in pages.
    pub min: u64,
    /// Maximum size in pages.
    pub max: Option<u64>,
    /// Imported rather than defined.
    pub imported: bool,
    /// 64-bit index type.
    pub memory64: bool,
    /// Shared memory.
    pub shared: bool,
}

impl Record for MemoryRecord {
    type View<'data> = Memory;
    fn view(&self, _: Context<'_>) -> Memory {
        Memory {
            min: self.min.get(),
            max: (self.flags & LIMITS_HAS_MAX != 0).then(|| self.max.get()),
            imported: self.flags & LIMITS_IMPORTED != 0,
            memory64: self.flags & LIMITS_64 != 0,
            shared: self.flags & LIMITS_SHARED != 0,
        }
    }
}

/// A global.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Value type.
    pub val_type: ValType,
    /// Mutable.
    pub mutable: bool,
    /// Initialiser; `None` exactly for imports.
    pub init: Option<ConstValue>,
}

impl Record for GlobalRecord {
    type View<'data> = Global;
    fn view(&self, _: Context<'_>) -> Global {
        Global {
            val_type: val_type(self.val_type),
            mutable: self.mutable != 0,
            init: Some(const_value(&self.init)).filter(|v| *v != ConstValue::None),
        }
    }
}

/// An export.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Export<'data> {
    /// Name.
    pub name: &'data str,
    /// What is exported.
    pub kind: ExternKind,
    /// Index in the kind's index space.
    pub index: u32,
}

impl Record for ExportRecord {
    type View<'data> = Export<'data>;
    fn view<'data>(&'data self, cx: Context<'data>) -> Export<'data> {
        Export {
            name: cx.str(&self.name),
            kind: extern_kind(self.kind),
            index: self.index.get(),
        }
    }
}

/// An element segment.
#[derive(Copy, Clone, Debug)]
pub struct ElementSegment<'data> {
    /// Placement.
    pub placement: SegmentPlacement,
    /// Element type.
    pub elem_type: ValType,
    /// Items (`RefFunc`, `RefNull` or `GlobalGet`).
    pub items: ConstValues<'data>,
}

impl Record for ElementRecord {
    type View<'data> = ElementSegment<'data>;
    fn view<'data>(&'data self, cx: Context<'data>) -> ElementSegment<'data> {
        let start = self.items_start.get() as usize;
        let items = cx
            .element_items
            .get(start..start.saturating_add(self.items_len.get() as usize))
            .unwrap_or(&[]);
        ElementSegment {
            placement: placement(self.mode, self.table_index.get(), &self.offset),
            elem_type: ValType::from_u8(self.elem_type).unwrap_or(ValType::FuncRef),
            items: ConstValues(items),
        }
    }
}

/// A data segment.
#[derive(Copy, Clone, Debug)]
pub struct DataSegment<'data> {
    /// Placement (`Active` or `Passive`).
    pub placement: SegmentPlacement,
    /// Contents.
    pub bytes: &'data [u8],
}

impl Record for DataRecord {
    type View<'data> = DataSegment<'data>;
    fn view<'data>(&'data self, cx: Context<'data>) -> DataSegment<'data> {
        DataSegment {
            placement: placement(self.mode, self.memory_index.get(), &self.offset),
            bytes: cx.bytes(&self.bytes),
        }
    }
}

/// A trap site: the code at `code_offset` traps with `code`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Text offset of the trapping instruction.
    pub code_offset: u32,
    /// Why it traps.
    pub code: TrapCode,
}

impl Record for RelocRecord {
    type View<'data> = Reloc;
    fn view(&self, _: Context<'_>) -> Reloc {
        let target = match RelocTargetKind::from_u8(self.target_kind) {
            Some(RelocTargetKind::Builtin) => Builtin::from_index(self.target.get())
                .map_or(RelocTarget::TextOffset(0), RelocTarget::Builtin),
            _ => RelocTarget::TextOffset(self.target.get()),
        };
        Reloc {
            offset: self.offset.get(),
            kind: RelocKind::from_u8(self.kind).unwrap_or(RelocKind::Abs8),
            target,
            addend: self.addend.get(),
        }
    }
}

/// A builtin the code calls, as `(index in the builtin table, name as [`Builtin::name`])`.
impl Record for BuiltinRecord {
    type View<'data> = (u32, &'data str);
    fn view<'data>(&'data self, cx: Context<'data>) -> (u32, &'data str) {
        (self.index.get(), cx.str(&self.name))
    }
}
