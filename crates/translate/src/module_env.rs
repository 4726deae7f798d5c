//! Parsing a validated wasm module into the metadata an AOT file records (types, imports,
//! functions, tables, memories, globals, exports, segments) and the function bodies to compile.

use aotc_abi::ValType;
use aotc_format::layout::{ConstValue, ExternKind};
use aotc_format::write::{
    DataSegment, ElementSegment, Export, FuncType, Function, Global, Import, Memory,
    SegmentPlacement, Table,
};
use wasmparser::{
    ConstExpr, Data, DataKind, Element, ElementItems, ElementKind, ExportSectionReader,
    ExternalKind, FunctionBody, GlobalSectionReader, ImportSectionReader, KnownCustom, Name,
    NameSectionReader, Operator, Parser, Payload, RefType, TableInit, TableSectionReader, TypeRef,
    TypeSectionReader,
};

use crate::{CompileError, unsupported};

/// A parsed module.
pub(crate) struct ModuleInfo<'a> {
    /// Function types by type index (trampolines not yet filled in).
    pub types: Vec<FuncType>,
    /// Functions by function index, imports first (bodies not yet filled in).
    pub functions: Vec<Function>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Tables, imports first.
    pub tables: Vec<Table>,
    /// Memories, imports first.
    pub memories: Vec<Memory>,
    /// Globals, imports first.
    pub globals: Vec<Global>,
    /// Imports in order.
    pub imports: Vec<Import>,
    /// Exports in order.
    pub exports: Vec<Export>,
    /// Start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Bodies of the defined functions, in order.
    pub bodies: Vec<FunctionBody<'a>>,
    /// Function names `(index, name)` from the `name` custom section, imports included.
    pub function_names: Vec<(u32, String)>,
}

impl ModuleInfo<'_> {
    /// The type of function `index`.
    pub fn func_type(&self, index: u32) -> Option<&FuncType> {
        let f = self.functions.get(index as usize)?;
        self.types.get(f.type_index as usize)
    }

    /// Whether function `index` is imported.
    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported_funcs
    }
}

/// Converts a wasmparser value type.
pub(crate) fn val_type(t: wasmparser::ValType, offset: u64) -> Result<ValType, CompileError> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r, offset)?,
    })
}

/// Converts a wasmparser reference type (only `funcref` and `externref` exist in Wasm 2.0).
pub(crate) fn ref_type(r: RefType, offset: u64) -> Result<ValType, CompileError> {
    if r == RefType::FUNCREF {
        Ok(ValType::FuncRef)
    } else if r == RefType::EXTERNREF {
        Ok(ValType::ExternRef)
    } else {
        Err(unsupported(format!("reference type {r}"), offset))
    }
}

/// Converts the heap type of a `ref.null`.
pub(crate) fn heap_ref_type(
    hty: wasmparser::HeapType,
    offset: u64,
) -> Result<ValType, CompileError> {
    use wasmparser::{AbstractHeapType, HeapType};
    match hty {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        } => Ok(ValType::FuncRef),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern,
        } => Ok(ValType::ExternRef),
        other => Err(unsupported(format!("heap type {other:?}"), offset)),
    }
}

/// Evaluates a constant expression (a single instruction in Wasm 2.0).
fn const_value(expr: &ConstExpr<'_>) -> Result<ConstValue, CompileError> {
    let mut reader = expr.get_operators_reader();
    let offset = reader.original_position();
    let value = match reader.read()? {
        Operator::I32Const { value } => ConstValue::I32(value),
        Operator::I64Const { value } => ConstValue::I64(value),
        Operator::F32Const { value } => ConstValue::F32(value.bits()),
        Operator::F64Const { value } => ConstValue::F64(value.bits()),
        Operator::V128Const { value } => ConstValue::V128(u128::from_le_bytes(*value.bytes())),
        Operator::GlobalGet { global_index } => ConstValue::GlobalGet(global_index),
        Operator::RefNull { hty } => ConstValue::RefNull(heap_ref_type(hty, offset)?),
        Operator::RefFunc { function_index } => ConstValue::RefFunc(function_index),
        other => {
            return Err(unsupported(
                format!("constant expression {other:?}"),
                offset,
            ));
        }
    };
    let end_offset = reader.original_position();
    match reader.read()? {
        Operator::End => Ok(value),
        _ => Err(unsupported("extended constant expressions", end_offset)),
    }
}

fn extern_kind(kind: ExternalKind, offset: u64) -> Result<ExternKind, CompileError> {
    match kind {
        ExternalKind::Func => Ok(ExternKind::Func),
        ExternalKind::Table => Ok(ExternKind::Table),
        ExternalKind::Memory => Ok(ExternKind::Memory),
        ExternalKind::Global => Ok(ExternKind::Global),
        other => Err(unsupported(format!("{other:?} import/export"), offset)),
    }
}

fn table(ty: &wasmparser::TableType, imported: bool, offset: u64) -> Result<Table, CompileError> {
    if ty.table64 || ty.shared {
        return Err(unsupported("64-bit or shared tables", offset));
    }
    Ok(Table {
        elem_type: ref_type(ty.element_type, offset)?,
        min: ty.initial,
        max: ty.maximum,
        imported,
    })
}

fn memory(
    ty: &wasmparser::MemoryType,
    imported: bool,
    offset: u64,
) -> Result<Memory, CompileError> {
    if ty.memory64 || ty.shared || ty.page_size_log2.is_some_and(|p| p != 16) {
        return Err(unsupported(
            "64-bit, shared or custom-page-size memories",
            offset,
        ));
    }
    Ok(Memory {
        min: ty.initial,
        max: ty.maximum,
        imported,
        memory64: false,
        shared: false,
    })
}

/// The function names of a `name` section. Custom sections are not validated: a malformed
/// subsection ends the names read so far, never the compilation (as in other engines).
fn function_names(reader: NameSectionReader<'_>) -> Vec<(u32, String)> {
    let mut names = Vec::new();
    for subsection in reader {
        let Ok(Name::Function(map)) = subsection else {
            continue;
        };
        for naming in map {
            let Ok(naming) = naming else {
                break;
            };
            names.push((naming.index, naming.name.to_owned()));
        }
    }
    names
}

/// Parses a module that already passed validation.
pub(crate) fn parse(wasm: &[u8]) -> Result<ModuleInfo<'_>, CompileError> {
    let mut m = ModuleInfo {
        types: Vec::new(),
        functions: Vec::new(),
        num_imported_funcs: 0,
        tables: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
        imports: Vec::new(),
        exports: Vec::new(),
        start: None,
        elements: Vec::new(),
        data: Vec::new(),
        bodies: Vec::new(),
        function_names: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => m.add_types(reader)?,
            Payload::ImportSection(reader) => m.add_imports(reader)?,
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    m.functions.push(Function {
                        type_index: type_index?,
                        body: None,
                    });
                }
            }
            Payload::TableSection(reader) => m.add_tables(reader)?,
            Payload::MemorySection(reader) => {
                let offset = reader.range().start;
                for ty in reader {
                    m.memories.push(memory(&ty?, false, offset)?);
                }
            }
            Payload::GlobalSection(reader) => m.add_globals(reader)?,
            Payload::ExportSection(reader) => m.add_exports(reader)?,
            Payload::StartSection { func, .. } => m.start = Some(func),
            Payload::ElementSection(reader) => {
                for e in reader {
                    m.elements.push(element_segment(e?)?);
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    m.data.push(data_segment(d?)?);
                }
            }
            Payload::CodeSectionEntry(body) => m.bodies.push(body),
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(names) = section.as_known() {
                    m.function_names = function_names(names);
                }
            }
            Payload::TagSection(reader) => {
                return Err(unsupported("exception tags", reader.range().start));
            }
            _ => {}
        }
    }
    let defined = m.functions.len() - m.num_imported_funcs as usize;
    if defined != m.bodies.len() {
        return Err(CompileError::Wasm {
            message: "function and code section have inconsistent lengths".to_string(),
            offset: wasm.len(),
        });
    }
    Ok(m)
}

impl ModuleInfo<'_> {
    /// The type section: function types.
    fn add_types(&mut self, reader: TypeSectionReader<'_>) -> Result<(), CompileError> {
        let offset = reader.range().start;
        let val_types = |types: &[wasmparser::ValType]| {
            types
                .iter()
                .map(|t| val_type(*t, offset))
                .collect::<Result<Vec<_>, _>>()
        };
        for ty in reader.into_iter_err_on_gc_types() {
            let ty = ty?;
            self.types.push(FuncType {
                params: val_types(ty.params())?,
                results: val_types(ty.results())?,
                entry_trampoline: None,
                exit_trampoline: None,
            });
        }
        Ok(())
    }

    /// The import section: imported functions, tables, memories and globals, first in their
    /// index spaces.
    fn add_imports(&mut self, reader: ImportSectionReader<'_>) -> Result<(), CompileError> {
        let offset = reader.range().start;
        for import in reader.into_imports() {
            let import = import?;
            let (kind, index) = match import.ty {
                TypeRef::Func(type_index) => {
                    self.functions.push(Function {
                        type_index,
                        body: None,
                    });
                    self.num_imported_funcs += 1;
                    (ExternKind::Func, self.functions.len() - 1)
                }
                TypeRef::Table(ty) => {
                    self.tables.push(table(&ty, true, offset)?);
                    (ExternKind::Table, self.tables.len() - 1)
                }
                TypeRef::Memory(ty) => {
                    self.memories.push(memory(&ty, true, offset)?);
                    (ExternKind::Memory, self.memories.len() - 1)
                }
                TypeRef::Global(ty) => {
                    self.globals.push(Global {
                        val_type: val_type(ty.content_type, offset)?,
                        mutable: ty.mutable,
                        init: None,
                    });
                    (ExternKind::Global, self.globals.len() - 1)
                }
                other => {
                    return Err(unsupported(format!("import of {other:?}"), offset));
                }
            };
            self.imports.push(Import {
                module: import.module.to_string(),
                name: import.name.to_string(),
                kind,
                index: index_u32(index, offset)?,
            });
        }
        Ok(())
    }

    /// The table section: defined tables.
    fn add_tables(&mut self, reader: TableSectionReader<'_>) -> Result<(), CompileError> {
        let offset = reader.range().start;
        for t in reader {
            let t = t?;
            if let TableInit::Expr(_) = t.init {
                return Err(unsupported("table initialiser expressions", offset));
            }
            self.tables.push(table(&t.ty, false, offset)?);
        }
        Ok(())
    }

    /// The global section: defined globals with their initialisers.
    fn add_globals(&mut self, reader: GlobalSectionReader<'_>) -> Result<(), CompileError> {
        let offset = reader.range().start;
        for g in reader {
            let g = g?;
            self.globals.push(Global {
                val_type: val_type(g.ty.content_type, offset)?,
                mutable: g.ty.mutable,
                init: Some(const_value(&g.init_expr)?),
            });
        }
        Ok(())
    }

    /// The export section.
    fn add_exports(&mut self, reader: ExportSectionReader<'_>) -> Result<(), CompileError> {
        let offset = reader.range().start;
        for e in reader {
            let e = e?;
            self.exports.push(Export {
                name: e.name.to_string(),
                kind: extern_kind(e.kind, offset)?,
                index: e.index,
            });
        }
        Ok(())
    }
}

/// One element segment: its placement and items.
fn element_segment(e: Element<'_>) -> Result<ElementSegment, CompileError> {
    let offset = e.range.start;
    let placement = match e.kind {
        ElementKind::Passive => SegmentPlacement::Passive,
        ElementKind::Declared => SegmentPlacement::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentPlacement::Active {
            index: table_index.unwrap_or(0),
            offset: const_value(&offset_expr)?,
        },
    };
    let (elem_type, items) = match e.items {
        ElementItems::Functions(funcs) => {
            let items = funcs
                .into_iter()
                .map(|f| f.map(ConstValue::RefFunc))
                .collect::<Result<Vec<_>, _>>()?;
            (ValType::FuncRef, items)
        }
        ElementItems::Expressions(ty, exprs) => {
            let mut items = Vec::new();
            for expr in exprs {
                items.push(const_value(&expr?)?);
            }
            (ref_type(ty, offset)?, items)
        }
    };
    Ok(ElementSegment {
        placement,
        elem_type,
        items,
    })
}

/// One data segment: its placement and bytes.
fn data_segment(d: Data<'_>) -> Result<DataSegment, CompileError> {
    let placement = match d.kind {
        DataKind::Passive => SegmentPlacement::Passive,
        DataKind::Active {
            memory_index,
            offset_expr,
        } => SegmentPlacement::Active {
            index: memory_index,
            offset: const_value(&offset_expr)?,
        },
    };
    Ok(DataSegment {
        placement,
        bytes: d.data.to_vec(),
    })
}

fn index_u32(index: usize, offset: u64) -> Result<u32, CompileError> {
    u32::try_from(index).map_err(|_| unsupported("index space larger than 2^32", offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_metadata() {
        let wasm = wat::parse_str(
            r#"(module
                (import "env" "f" (func $f (param i32) (result i32)))
                (import "env" "g" (global $g i32))
                (import "env" "m" (memory 1 2))
                (table 3 funcref)
                (global $h (mut i64) (i64.const -5))
                (global $k i32 (global.get $g))
                (func $a (export "a") (param i32) (result i32) local.get 0 call $f)
                (elem (i32.const 1) $a $f)
                (elem declare func $a)
                (data (i32.const 8) "hi")
                (data "passive")
                (start $a2)
                (func $a2))"#,
        )
        .unwrap();
        let m = parse(&wasm).unwrap();
        assert_eq!(m.num_imported_funcs, 1);
        assert_eq!(m.functions.len(), 3);
        assert_eq!(m.imports.len(), 3);
        assert_eq!(m.imports[1].kind, ExternKind::Global);
        assert_eq!(m.imports[1].index, 0);
        assert_eq!(m.globals[1].init, Some(ConstValue::I64(-5)));
        assert_eq!(m.globals[2].init, Some(ConstValue::GlobalGet(0)));
        assert_eq!(m.tables[0].min, 3);
        assert!(m.memories[0].imported);
        assert_eq!(m.exports[0].index, 1);
        assert_eq!(m.start, Some(2));
        assert_eq!(
            m.elements[0].items,
            vec![ConstValue::RefFunc(1), ConstValue::RefFunc(0)]
        );
        assert_eq!(m.elements[1].placement, SegmentPlacement::Declared);
        assert_eq!(m.data[1].placement, SegmentPlacement::Passive);
        assert_eq!(m.bodies.len(), 2);
    }
}
