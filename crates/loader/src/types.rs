//! The types of the host API: function, table, memory and global types, the `ExternType` of an
//! import or export, and the process-wide signature interner that gives every function type
//! its canonical id (the `type_id` compiled `call_indirect` compares).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aotc_abi::ValType;

/// A function type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl FuncType {
    /// A function type from its parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// The process-wide signature id of this type: equal ids mean equal types, in every
    /// instance of every module.
    pub fn signature_id(&self) -> u32 {
        signature_id(self)
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in &self.params {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in &self.results {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// A table type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type (`FuncRef` or `ExternRef`).
    pub element: ValType,
    /// Minimum size in elements.
    pub min: u32,
    /// Maximum size in elements.
    pub max: Option<u32>,
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {}", self.min)?;
        if let Some(max) = self.max {
            write!(f, " {max}")?;
        }
        write!(f, " {})", self.element)
    }
}

/// A linear memory type (sizes in 64 KiB pages).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Minimum size in pages.
    pub min: u64,
    /// Maximum size in pages.
    pub max: Option<u64>,
    /// 64-bit index type (memory64).
    pub memory64: bool,
    /// Shared (threads).
    pub shared: bool,
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(memory")?;
        if self.memory64 {
            f.write_str(" i64")?;
        }
        write!(f, " {}", self.min)?;
        if let Some(max) = self.max {
            write!(f, " {max}")?;
        }
        if self.shared {
            f.write_str(" shared")?;
        }
        f.write_str(")")
    }
}

/// A global type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(global (mut {}))", self.content)
        } else {
            write!(f, "(global {})", self.content)
        }
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

impl ExternType {
    /// `"func"`, `"table"`, `"memory"` or `"global"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "func",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
        }
    }
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => t.fmt(f),
            ExternType::Table(t) => t.fmt(f),
            ExternType::Memory(t) => t.fmt(f),
            ExternType::Global(t) => t.fmt(f),
        }
    }
}

/// Ids handed out so far; ids start at 1 so a zeroed `FuncRef` never matches a type.
static SIGNATURES: Mutex<Option<HashMap<FuncType, u32>>> = Mutex::new(None);

/// The process-wide id of `ty` (interned on first use).
pub(crate) fn signature_id(ty: &FuncType) -> u32 {
    let mut guard = SIGNATURES.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(id) = map.get(ty) {
        return *id;
    }
    let id = u32::try_from(map.len() + 1).unwrap_or(u32::MAX);
    map.insert(ty.clone(), id);
    id
}
