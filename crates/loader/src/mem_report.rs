//! The memory-use report of a module and of an instance: one figure per category, in bytes,
//! exact where the runtime does the accounting (mappings, its own structures, app heap, stack)
//! and from the OS where only it knows (`mincore` for touched linear-memory pages).

use std::fmt;

use crate::app_heap::AppHeapUsage;
use crate::memory::MemoryUsage;

/// What a loaded module occupies ([`crate::Module::memory_report`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleMemoryReport {
    /// Bytes of executable text.
    pub text_bytes: u64,
    /// Text bytes mapped straight from the file (XIP): page-cache pages, shared with every
    /// process running the file, never copied.
    pub text_shared_bytes: u64,
    /// Bytes of private (anonymous) memory holding a copy of the text: the text size rounded up
    /// to pages for a normal file, 0 for XIP.
    pub text_private_bytes: u64,
    /// Bytes of the file mapped read-only (its metadata is used in place; 0 when loaded from
    /// bytes).
    pub file_mapped_bytes: u64,
    /// Bytes of the file's metadata (header, section table, records read at load).
    pub metadata_bytes: u64,
    /// Bytes the runtime allocated on its heap for the module (function types, signature ids,
    /// a copy of the file's bytes when loaded from memory, a copied constant table).
    pub heap_bytes: u64,
}

/// What one table holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableUsage {
    /// Current elements.
    pub elements: u64,
    /// Bytes of element storage.
    pub bytes: u64,
}

/// What an instance occupies ([`crate::Instance::memory_report`]), with its module's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceMemoryReport {
    /// The module's figures.
    pub module: ModuleMemoryReport,
    /// Bytes of the vmctx header compiled code reads.
    pub vmctx_bytes: u64,
    /// Bytes the runtime allocated on its heap for the instance: the vmctx, function
    /// references, global and table pointer arrays, globals, element segments, segment state
    /// (tables and linear memories are reported apart).
    pub heap_bytes: u64,
    /// Of `heap_bytes`: the function references (one per function index), what `call`,
    /// `call_indirect` and `ref.func` use.
    pub funcref_bytes: u64,
    /// Of `heap_bytes`: the defined globals' storage.
    pub global_bytes: u64,
    /// Each linear memory (imported ones first).
    pub memories: Vec<MemoryUsage>,
    /// Each table (imported ones first).
    pub tables: Vec<TableUsage>,
    /// The app heap, when there is one.
    pub app_heap: Option<AppHeapUsage>,
    /// The most native stack wasm may use.
    pub max_stack: u64,
    /// The deepest native stack use measured, when measuring.
    pub peak_stack: Option<u64>,
}

impl fmt::Display for ModuleMemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "text shared (file-backed): {} bytes",
            self.text_shared_bytes
        )?;
        writeln!(
            f,
            "text private (copy):       {} bytes (text {} bytes)",
            self.text_private_bytes, self.text_bytes
        )?;
        writeln!(
            f,
            "file mapped:               {} bytes (metadata {} bytes)",
            self.file_mapped_bytes, self.metadata_bytes
        )?;
        writeln!(f, "runtime heap, module:      {} bytes", self.heap_bytes)
    }
}

impl fmt::Display for InstanceMemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.module.fmt(f)?;
        writeln!(
            f,
            "runtime heap, instance:    {} bytes (function references {} bytes, globals {} bytes)",
            self.heap_bytes, self.funcref_bytes, self.global_bytes
        )?;
        writeln!(f, "vmctx:                     {} bytes", self.vmctx_bytes)?;
        for (index, m) in self.memories.iter().enumerate() {
            write!(
                f,
                "linear memory {index}:           declared {} pages (max {}), reserved {} bytes, committed {} bytes, touched ",
                m.declared_min_pages,
                m.declared_max_pages
                    .map_or("none".to_owned(), |max| max.to_string()),
                m.reserved,
                m.committed,
            )?;
            match m.touched {
                Some(touched) => write!(f, "{touched} bytes")?,
                None => f.write_str("unknown")?,
            }
            match m.truncated_from_pages {
                Some(from) => writeln!(
                    f,
                    ", truncated at __heap_base from {from} to {} pages",
                    m.committed / crate::WASM_PAGE_SIZE
                )?,
                None => writeln!(f, ", not truncated")?,
            }
        }
        let table_bytes: u64 = self.tables.iter().map(|t| t.bytes).sum();
        writeln!(
            f,
            "tables:                    {table_bytes} bytes ({} table(s), {} elements)",
            self.tables.len(),
            self.tables.iter().map(|t| t.elements).sum::<u64>()
        )?;
        match &self.app_heap {
            Some(h) if h.size > 0 => writeln!(
                f,
                "app heap (runtime's):      size {} bytes at {:#x}, in use {} bytes, peak {} bytes",
                h.size, h.base, h.in_use, h.peak
            )?,
            Some(h) => writeln!(
                f,
                "app heap (module's malloc): in use {} bytes, peak {} bytes",
                h.in_use, h.peak
            )?,
            None => writeln!(f, "app heap:                  none")?,
        }
        match self.peak_stack {
            Some(peak) => writeln!(
                f,
                "wasm stack:                peak {peak} bytes of {} bytes",
                self.max_stack
            ),
            None => writeln!(
                f,
                "wasm stack:                max {} bytes (peak not measured)",
                self.max_stack
            ),
        }
    }
}
