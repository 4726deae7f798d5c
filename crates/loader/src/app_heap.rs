//! The app heap (WAMR's `wasm_runtime_module_malloc`/`free`): memory a host allocates inside an
//! instance's linear memory 0, and truncation of that memory at `__heap_base`.
//!
//! The allocator is the module's own when it exports `malloc` and `free` (or `cabi_realloc`,
//! which allocates but cannot free); otherwise, when the host asked for `app_heap_size` bytes,
//! one of the runtime's at `align16(__heap_base)`, only for a module whose code neither grows nor
//! sizes its memory (one that does may own everything above `__heap_base`, as wasi-libc's
//! `malloc` does). The runtime's allocator keeps its bookkeeping in host memory
//! (`range-alloc`, out of band): wasm code can write anywhere in its memory, so nothing the
//! host relies on may live there.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use aotc_abi::ValType;
use aotc_format::layout::{
    ConstValue, ExternKind, FLAG_MEMORY_GROW, FLAG_MEMORY_SIZE, SegmentPlacement,
};
use range_alloc::RangeAllocator;

use crate::memory::WASM_PAGE_SIZE;
use crate::module::Module;
use crate::trap::Trap;

/// Alignment of every allocation of the runtime's heap (wasm32's `max_align_t`).
const APP_HEAP_ALIGN: u32 = 16;

/// Why an app heap request failed.
#[derive(Debug)]
pub enum AppHeapError {
    /// The module exports no allocator and the instance has no app heap of the runtime's.
    NoAllocator {
        /// The module's name.
        module: String,
        /// Why the runtime could not place one.
        reason: String,
    },
    /// The heap cannot serve `requested` bytes.
    Exhausted {
        /// Bytes asked for.
        requested: u32,
        /// The heap's size (for the module's allocator: unknown, 0).
        size: u64,
        /// Bytes in use.
        in_use: u64,
    },
    /// `ptr` was not returned by [`crate::Instance::module_malloc`] or was freed already.
    NotAllocated {
        /// The offset given.
        ptr: u32,
    },
    /// The module's allocator trapped.
    Trap(Trap),
}

impl fmt::Display for AppHeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppHeapError::NoAllocator { module, reason } => {
                write!(f, "{module} has no app heap: {reason}")
            }
            AppHeapError::Exhausted {
                requested,
                size,
                in_use,
            } => write!(
                f,
                "app heap exhausted: {requested} bytes requested, {in_use} of {size} bytes in use"
            ),
            AppHeapError::NotAllocated { ptr } => {
                write!(f, "app heap: {ptr:#x} is not an allocation of the host")
            }
            AppHeapError::Trap(trap) => {
                write!(f, "app heap: the module's allocator trapped: {trap}")
            }
        }
    }
}

impl std::error::Error for AppHeapError {}

/// An app heap's figures, in bytes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AppHeapUsage {
    /// Where it starts in linear memory 0 (0 for the module's own allocator).
    pub base: u32,
    /// Its size (0 for the module's own allocator, whose size the runtime does not know).
    pub size: u64,
    /// Bytes the host holds now.
    pub in_use: u64,
    /// Most bytes the host held at once.
    pub peak: u64,
}

/// Which allocator serves an instance's app heap.
pub(crate) enum AppHeap {
    /// None: why.
    None(String),
    /// The module's exported `malloc` and `free` (function indices).
    Exported { malloc: u32, free: Option<u32> },
    /// The runtime's own, over `[base, base + size)` of memory 0.
    Runtime(RefCell<RangeAllocator<u32>>),
}

/// The app heap of one instance, with the host's accounting.
pub(crate) struct AppHeapState {
    pub(crate) heap: AppHeap,
    /// The host's live allocations: offset to size.
    pub(crate) live: RefCell<BTreeMap<u32, u32>>,
    in_use: Cell<u64>,
    peak: Cell<u64>,
}

impl AppHeapState {
    pub(crate) fn new(heap: AppHeap) -> AppHeapState {
        AppHeapState {
            heap,
            live: RefCell::new(BTreeMap::new()),
            in_use: Cell::new(0),
            peak: Cell::new(0),
        }
    }

    /// Serves `size` bytes from `alloc`, this state's runtime heap.
    pub(crate) fn runtime_alloc(
        &self,
        alloc: &RefCell<RangeAllocator<u32>>,
        size: u32,
    ) -> Result<u32, AppHeapError> {
        let mut alloc = alloc.borrow_mut();
        let length = size.max(1).next_multiple_of(APP_HEAP_ALIGN);
        alloc
            .allocate_range_aligned(length, APP_HEAP_ALIGN)
            .map(|range| range.start)
            .map_err(|_| AppHeapError::Exhausted {
                requested: size,
                size: range_len(alloc.initial_range()),
                in_use: self.in_use.get(),
            })
    }

    /// Returns `ptr` of `size` bytes to `alloc`, a runtime heap.
    pub(crate) fn runtime_free(alloc: &RefCell<RangeAllocator<u32>>, ptr: u32, size: u32) {
        let length = size.max(1).next_multiple_of(APP_HEAP_ALIGN);
        alloc.borrow_mut().free_range(ptr..ptr + length);
    }

    /// Records an allocation the host now holds.
    pub(crate) fn note_alloc(&self, ptr: u32, size: u32) {
        self.live.borrow_mut().insert(ptr, size);
        self.in_use.set(self.in_use.get() + u64::from(size));
        self.peak.set(self.peak.get().max(self.in_use.get()));
    }

    /// Forgets an allocation; its size, or an error when the host does not hold it.
    pub(crate) fn note_free(&self, ptr: u32) -> Result<u32, AppHeapError> {
        let size = self
            .live
            .borrow_mut()
            .remove(&ptr)
            .ok_or(AppHeapError::NotAllocated { ptr })?;
        self.in_use.set(self.in_use.get() - u64::from(size));
        Ok(size)
    }

    /// The figures, or `None` when there is no app heap.
    pub(crate) fn usage(&self) -> Option<AppHeapUsage> {
        let (base, size) = match &self.heap {
            AppHeap::None(_) => return None,
            AppHeap::Exported { .. } => (0, 0),
            AppHeap::Runtime(alloc) => {
                let alloc = alloc.borrow();
                let range = alloc.initial_range();
                (range.start, range_len(range))
            }
        };
        Some(AppHeapUsage {
            base,
            size,
            in_use: self.in_use.get(),
            peak: self.peak.get(),
        })
    }
}

fn range_len(range: &Range<u32>) -> u64 {
    u64::from(range.end - range.start)
}

/// What instantiation does with memory 0 and the app heap.
pub(crate) struct HeapPlan {
    /// Pages memory 0 is truncated to, when it is.
    pub(crate) truncate_to: Option<u64>,
    /// Pages memory 0 must hold at least (the runtime's app heap's end).
    pub(crate) min_pages: u64,
    /// The app heap.
    pub(crate) heap: AppHeap,
}

/// The value of the exported immutable i32 global `name` defined by the module, if any.
fn exported_i32_const(module: &Module, name: &str) -> Option<u32> {
    let file = module.file();
    let export = file.find_export(name)?;
    if export.kind != ExternKind::Global {
        return None;
    }
    let global = file.globals().get(export.index as usize)?;
    match (global.val_type, global.mutable, global.init) {
        (ValType::I32, false, Some(ConstValue::I32(v))) => Some(v as u32),
        _ => None,
    }
}

/// The exported function `name` of type `params -> results`, if any.
fn exported_func(
    module: &Module,
    name: &str,
    params: &[ValType],
    results: &[ValType],
) -> Option<u32> {
    let export = module.file().find_export(name)?;
    if export.kind != ExternKind::Func {
        return None;
    }
    let ty = module
        .inner
        .func_type(module.inner.func_type_index(export.index));
    (ty.params.as_slice() == params && ty.results.as_slice() == results).then_some(export.index)
}

/// What the app heap and truncation at `__heap_base` depend on in a module: worked out once per
/// module (exports looked up by name, data segments scanned), not at every instantiation.
pub(crate) struct HeapFacts {
    /// The module's own allocator, `malloc` and `free` (function indices), if it exports one.
    exported: Option<(u32, Option<u32>)>,
    /// `__heap_base`, when the module defines memory 0 and exports it as an immutable i32.
    heap_base: Option<u32>,
    /// Whether its code neither grows nor sizes its memory (the file's flags).
    fixed_size: bool,
    /// The end of the highest active data segment of memory 0 (`u64::MAX` when one's offset
    /// is not a constant: it then fits below no truncation).
    data_end: u64,
    /// Memory 0's declared minimum, in pages.
    declared_pages: u64,
}

impl HeapFacts {
    /// The facts of `module`.
    pub(crate) fn of(module: &Module) -> HeapFacts {
        use ValType::I32;
        let file = module.file();
        let malloc = exported_func(module, "malloc", &[I32], &[I32]);
        let free = exported_func(module, "free", &[I32], &[]);
        let realloc = exported_func(module, "cabi_realloc", &[I32, I32, I32, I32], &[I32]);
        let exported = match (malloc, free, realloc) {
            (Some(malloc), Some(free), _) => Some((malloc, Some(free))),
            (_, _, Some(realloc)) => Some((realloc, None)),
            _ => None,
        };
        let defines_memory0 = file.module().imported_memories == 0 && !file.memories().is_empty();
        let data_end = file
            .data_segments()
            .iter()
            .filter_map(|d| match d.placement {
                SegmentPlacement::Active {
                    index: 0,
                    offset: ConstValue::I32(offset),
                } => Some(u64::from(offset as u32) + d.bytes.len() as u64),
                SegmentPlacement::Active { index: 0, .. } => Some(u64::MAX),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        HeapFacts {
            exported,
            heap_base: exported_i32_const(module, "__heap_base").filter(|_| defines_memory0),
            fixed_size: file.flags() & (FLAG_MEMORY_GROW | FLAG_MEMORY_SIZE) == 0,
            data_end,
            declared_pages: file.memories().get(0).map_or(0, |m| m.min),
        }
    }
}

/// Decides memory 0's truncation and the app heap of an instance of the module with `facts`
/// (see the module documentation and README, "Memory model").
pub(crate) fn plan(facts: &HeapFacts, app_heap_size: u64, truncate: bool) -> HeapPlan {
    let none = |reason: &str| AppHeap::None(reason.to_owned());
    // What truncation keeps: up to `__heap_base` (8-aligned), or the runtime's heap above it.
    let mut end = facts.heap_base.map(|b| u64::from(b).next_multiple_of(8));
    let mut min_pages = 0;
    let heap = match (facts.exported, facts.heap_base) {
        (Some((malloc, free)), _) => AppHeap::Exported { malloc, free },
        (None, _) if app_heap_size == 0 => {
            none("it exports no `malloc`/`free` and no app heap size was given (`--heap-size`)")
        }
        (None, None) => {
            none("it exports no `malloc`/`free`, and no `__heap_base` in a memory it defines")
        }
        (None, Some(_)) if !facts.fixed_size => none(
            "it exports no `malloc`/`free`, and its code grows or sizes its memory (`memory.grow`, `memory.size`), so the memory above `__heap_base` may be its own",
        ),
        (None, Some(heap_base)) => {
            let start = u64::from(heap_base).next_multiple_of(u64::from(APP_HEAP_ALIGN));
            match u32::try_from(start + app_heap_size) {
                Ok(heap_end) => {
                    end = Some(u64::from(heap_end));
                    min_pages = u64::from(heap_end).div_ceil(WASM_PAGE_SIZE);
                    AppHeap::Runtime(RefCell::new(RangeAllocator::new(start as u32..heap_end)))
                }
                Err(_) => none("`__heap_base` plus the app heap exceeds 4 GiB"),
            }
        }
    };
    let truncate_to = end
        .filter(|_| truncate && facts.fixed_size)
        .map(|end| end.div_ceil(WASM_PAGE_SIZE).max(1))
        .filter(|&pages| facts.data_end <= pages * WASM_PAGE_SIZE && pages < facts.declared_pages);
    HeapPlan {
        truncate_to,
        min_pages,
        heap,
    }
}
