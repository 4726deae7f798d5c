//! The record checks of [`AotFile::parse`]: every enumeration, offset, length and index each
//! metadata record holds, one step per section (the lookup sections are checked on access, in
//! `lookup.rs`). Errors name the offending field's file offset, taken
//! from the layout.

use aotc_abi::ValType;

use super::{AotFile, ReadError, bad, field_at, header_at};
use crate::layout::*;

impl<'data> AotFile<'data> {
    /// Checks every record; `module_at` is the file offset of the module record.
    pub(super) fn check_records(&self, module_at: u64) -> Result<(), ReadError> {
        self.check_module(module_at)?;
        self.check_types()?;
        self.check_imports(module_at)?;
        self.check_tables()?;
        self.check_memories()?;
        self.check_globals()?;
        self.check_exports()?;
        self.check_elements()?;
        self.check_data()?;
        self.check_relocs()?;
        self.check_builtins()?;
        self.check_intrinsics()
    }

    /// `(imported count, total, file offset of the count)` of functions, tables, memories and
    /// globals, in [`ExternKind`] order.
    fn imported(&self, module_at: u64) -> [(u32, usize, u64); 4] {
        let m = self.module;
        [
            (
                m.imported_functions.get(),
                self.functions.len(),
                field_at!(module_at, ModuleRecord.imported_functions),
            ),
            (
                m.imported_tables.get(),
                self.tables.len(),
                field_at!(module_at, ModuleRecord.imported_tables),
            ),
            (
                m.imported_memories.get(),
                self.memories.len(),
                field_at!(module_at, ModuleRecord.imported_memories),
            ),
            (
                m.imported_globals.get(),
                self.globals.len(),
                field_at!(module_at, ModuleRecord.imported_globals),
            ),
        ]
    }

    fn check_module(&self, module_at: u64) -> Result<(), ReadError> {
        for (n, total, at) in self.imported(module_at) {
            if n as usize > total {
                return Err(bad(
                    at,
                    "imported count",
                    n.into(),
                    "at most the number of entries",
                ));
            }
        }
        let start = self.module.start_function.get();
        if start != NONE && start as usize >= self.functions.len() {
            return Err(bad(
                field_at!(module_at, ModuleRecord.start_function),
                "start function",
                start.into(),
                "an existing function",
            ));
        }
        Ok(())
    }

    fn check_range(
        &self,
        at: u64,
        r: &Range,
        what: &'static str,
    ) -> Result<&'data [u8], ReadError> {
        let end = u64::from(r.offset.get()) + u64::from(r.len.get());
        let pool = self.cx.pool;
        if end > pool.len() as u64 {
            return Err(bad(at, what, end, "a range within the pool"));
        }
        Ok(&pool[r.offset.get() as usize..end as usize])
    }

    fn check_utf8(&self, at: u64, r: &Range, what: &'static str) -> Result<(), ReadError> {
        let bytes = self.check_range(at, r, what)?;
        if core::str::from_utf8(bytes).is_err() {
            return Err(bad(at, what, r.offset.get().into(), "UTF-8"));
        }
        Ok(())
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

    fn check_ref_type(&self, at: u64, b: u8, what: &'static str) -> Result<(), ReadError> {
        if !ValType::from_u8(b).is_some_and(ValType::is_ref) {
            return Err(bad(at, what, b.into(), "funcref or externref"));
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
        let operand_at = field_at!(at, ConstExpr.value);
        match v {
            ConstValue::GlobalGet(g) if g as usize >= self.globals.len() => Err(bad(
                operand_at,
                "global index",
                g.into(),
                "an existing global",
            )),
            ConstValue::RefFunc(f) if f as usize >= self.functions.len() => Err(bad(
                operand_at,
                "function index",
                f.into(),
                "an existing function",
            )),
            _ => Ok(v),
        }
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

    fn check_types(&self) -> Result<(), ReadError> {
        for (i, t) in self.types.raw().iter().enumerate() {
            let o = self.types.file_offset(i);
            for (r, what) in [(&t.params, "parameter types"), (&t.results, "result types")] {
                for b in self.check_range(o, r, what)? {
                    if ValType::from_u8(*b).is_none() {
                        return Err(bad(o, "value type", (*b).into(), "a wasm value type"));
                    }
                }
            }
            for (tramp, at) in [
                (
                    t.entry_trampoline.get(),
                    field_at!(o, TypeRecord.entry_trampoline),
                ),
                (
                    t.exit_trampoline.get(),
                    field_at!(o, TypeRecord.exit_trampoline),
                ),
            ] {
                if tramp != NONE {
                    self.check_text(at, tramp, 1, "trampoline offset")?;
                }
            }
        }
        Ok(())
    }

    fn check_imports(&self, module_at: u64) -> Result<(), ReadError> {
        let imported = self.imported(module_at);
        let mut seen = [0u32; ExternKind::ALL.len()];
        for (i, imp) in self.imports.raw().iter().enumerate() {
            let o = self.imports.file_offset(i);
            for r in [&imp.module, &imp.name] {
                self.check_utf8(o, r, "import name")?;
            }
            let kind = ExternKind::from_u8(imp.kind).ok_or_else(|| {
                bad(
                    field_at!(o, ImportRecord.kind),
                    "import kind",
                    imp.kind.into(),
                    "func, table, memory or global",
                )
            })?;
            if imp.index.get() >= imported[kind as usize].0 {
                return Err(bad(
                    field_at!(o, ImportRecord.index),
                    "import index",
                    imp.index.get().into(),
                    "an index among the imported entries",
                ));
            }
            seen[kind as usize] += 1;
        }
        for ((n, _, at), seen) in imported.iter().zip(seen) {
            if seen != *n {
                return Err(bad(
                    *at,
                    "imported count",
                    (*n).into(),
                    "the number of import records of that kind",
                ));
            }
        }
        Ok(())
    }

    fn check_tables(&self) -> Result<(), ReadError> {
        for (i, t) in self.tables.raw().iter().enumerate() {
            let o = self.tables.file_offset(i);
            self.check_ref_type(o, t.elem_type, "table element type")?;
            let is_import = (i as u32) < self.module.imported_tables.get();
            if (t.flags & LIMITS_IMPORTED != 0) != is_import
                || t.flags & !(LIMITS_IMPORTED | LIMITS_HAS_MAX) != 0
            {
                return Err(bad(
                    field_at!(o, TableRecord.flags),
                    "table flags",
                    t.flags.into(),
                    "known flags, imported exactly on imported tables",
                ));
            }
            if t.flags & LIMITS_HAS_MAX != 0 && t.max.get() < t.min.get() {
                return Err(bad(
                    field_at!(o, TableRecord.max),
                    "table maximum",
                    t.max.get(),
                    "at least the minimum",
                ));
            }
            if t.min.get() > u64::from(u32::MAX) || t.max.get() > u64::from(u32::MAX) {
                return Err(bad(
                    field_at!(o, TableRecord.min),
                    "table limits",
                    t.min.get().max(t.max.get()),
                    "at most 2^32-1",
                ));
            }
        }
        Ok(())
    }

    fn check_memories(&self) -> Result<(), ReadError> {
        const KNOWN: u8 = LIMITS_IMPORTED | LIMITS_HAS_MAX | LIMITS_64 | LIMITS_SHARED;
        for (i, mem) in self.memories.raw().iter().enumerate() {
            let o = self.memories.file_offset(i);
            let is_import = (i as u32) < self.module.imported_memories.get();
            if (mem.flags & LIMITS_IMPORTED != 0) != is_import || mem.flags & !KNOWN != 0 {
                return Err(bad(
                    field_at!(o, MemoryRecord.flags),
                    "memory flags",
                    mem.flags.into(),
                    "known flags, imported exactly on imported memories",
                ));
            }
            if mem.page_size_log2 != 16 {
                return Err(bad(
                    field_at!(o, MemoryRecord.page_size_log2),
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
                    field_at!(o, MemoryRecord.min),
                    "memory limits",
                    mem.min.get(),
                    "min <= max <= the index space in pages",
                ));
            }
        }
        Ok(())
    }

    fn check_globals(&self) -> Result<(), ReadError> {
        let imported_globals = self.module.imported_globals.get();
        let raw = self.globals.raw();
        for (i, g) in raw.iter().enumerate() {
            let o = self.globals.file_offset(i);
            let ty = ValType::from_u8(g.val_type)
                .ok_or_else(|| bad(o, "global type", g.val_type.into(), "a wasm value type"))?;
            let is_import = (i as u32) < imported_globals;
            if g.mutable > 1 || g.imported != u8::from(is_import) {
                return Err(bad(
                    field_at!(o, GlobalRecord.mutable),
                    "global flags",
                    g.mutable.into(),
                    "0 or 1, imported exactly on imported globals",
                ));
            }
            let init_at = field_at!(o, GlobalRecord.init);
            let init = self.check_const(init_at, &g.init)?;
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
                    src < imported_globals && raw[src as usize].val_type == g.val_type
                }
            };
            if !ok || (is_import && init != ConstValue::None) {
                return Err(bad(
                    init_at,
                    "global initialiser",
                    g.init.kind.into(),
                    "a constant of the global's type (none for imports)",
                ));
            }
        }
        Ok(())
    }

    fn check_exports(&self) -> Result<(), ReadError> {
        for (i, e) in self.exports.raw().iter().enumerate() {
            let o = self.exports.file_offset(i);
            self.check_utf8(o, &e.name, "export name")?;
            let kind = ExternKind::from_u8(e.kind).ok_or_else(|| {
                bad(
                    field_at!(o, ExportRecord.kind),
                    "export kind",
                    e.kind.into(),
                    "func, table, memory or global",
                )
            })?;
            let len = match kind {
                ExternKind::Func => self.functions.len(),
                ExternKind::Table => self.tables.len(),
                ExternKind::Memory => self.memories.len(),
                ExternKind::Global => self.globals.len(),
            };
            if e.index.get() as usize >= len {
                return Err(bad(
                    field_at!(o, ExportRecord.index),
                    "export index",
                    e.index.get().into(),
                    "an existing entry of the export's kind",
                ));
            }
        }
        Ok(())
    }

    fn check_elements(&self) -> Result<(), ReadError> {
        for (i, e) in self.elements.raw().iter().enumerate() {
            let o = self.elements.file_offset(i);
            let mode = SegmentMode::from_u8(e.mode).ok_or_else(|| {
                bad(
                    o,
                    "element segment mode",
                    e.mode.into(),
                    "active, passive or declared",
                )
            })?;
            self.check_ref_type(
                field_at!(o, ElementRecord.elem_type),
                e.elem_type,
                "element type",
            )?;
            if mode == SegmentMode::Active {
                if e.table_index.get() as usize >= self.tables.len() {
                    return Err(bad(
                        field_at!(o, ElementRecord.table_index),
                        "element table index",
                        e.table_index.get().into(),
                        "an existing table",
                    ));
                }
                self.check_offset_expr(field_at!(o, ElementRecord.offset), &e.offset)?;
            }
            let end = u64::from(e.items_start.get()) + u64::from(e.items_len.get());
            if end > self.element_items.len() as u64 {
                return Err(bad(
                    field_at!(o, ElementRecord.items_start),
                    "element items",
                    end,
                    "a range within the element items",
                ));
            }
        }
        for (i, item) in self.element_items.raw().iter().enumerate() {
            let o = self.element_items.file_offset(i);
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
        Ok(())
    }

    fn check_data(&self) -> Result<(), ReadError> {
        for (i, d) in self.data_segments.raw().iter().enumerate() {
            let o = self.data_segments.file_offset(i);
            match SegmentMode::from_u8(d.mode) {
                Some(SegmentMode::Active) => {
                    if d.memory_index.get() as usize >= self.memories.len() {
                        return Err(bad(
                            field_at!(o, DataRecord.memory_index),
                            "data memory index",
                            d.memory_index.get().into(),
                            "an existing memory",
                        ));
                    }
                    self.check_offset_expr(field_at!(o, DataRecord.offset), &d.offset)?;
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
            self.check_range(field_at!(o, DataRecord.bytes), &d.bytes, "data bytes")?;
        }
        Ok(())
    }

    fn check_relocs(&self) -> Result<(), ReadError> {
        let relocation_free = if self.is_xip() {
            Some("none in an XIP file")
        } else if self.is_prelinked() {
            Some("none in a prelinked file")
        } else {
            None
        };
        if let Some(expected) = relocation_free
            && !self.relocs.is_empty()
        {
            return Err(bad(
                self.relocs.file_offset(0),
                "relocation count",
                self.relocs.len() as u64,
                expected,
            ));
        }
        for (i, r) in self.relocs.raw().iter().enumerate() {
            let o = self.relocs.file_offset(i);
            let kind = RelocKind::from_u8(r.kind).ok_or_else(|| {
                bad(
                    field_at!(o, RelocRecord.kind),
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
                        field_at!(o, RelocRecord.target_kind),
                        "relocation target",
                        r.target.get().into(),
                        "a known builtin or a text offset",
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_builtins(&self) -> Result<(), ReadError> {
        let mut prev: Option<u32> = None;
        for (i, b) in self.builtins.raw().iter().enumerate() {
            let o = self.builtins.file_offset(i);
            if prev.is_some_and(|p| p >= b.index.get()) {
                return Err(bad(
                    o,
                    "builtin index",
                    b.index.get().into(),
                    "strictly ascending builtin indices",
                ));
            }
            prev = Some(b.index.get());
            self.check_utf8(field_at!(o, BuiltinRecord.name), &b.name, "builtin name")?;
        }
        Ok(())
    }

    fn check_intrinsics(&self) -> Result<(), ReadError> {
        let bits = u128::from_le_bytes(self.header.intrinsics);
        if aotc_abi::intrinsics::IntrinsicSet::from_bits(bits).is_none() {
            return Err(bad(
                header_at!(intrinsics),
                "intrinsic set",
                0,
                "only intrinsics this ABI version defines",
            ));
        }
        Ok(())
    }
}
