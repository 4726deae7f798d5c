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

    /// Serves `size` bytes from the runtime's heap, if it is the runtime's.
    pub(crate) fn runtime_alloc(&self, size: u32) -> Option<Result<u32, AppHeapError>> {
        let AppHeap::Runtime(alloc) = &self.heap else {
            return None;
        };
        let mut alloc = alloc.borrow_mut();
        let length = size.max(1).next_multiple_of(APP_HEAP_ALIGN);
        Some(
            alloc
                .allocate_range_aligned(length, APP_HEAP_ALIGN)
                .map(|range| range.start)
                .map_err(|_| AppHeapError::Exhausted {
                    requested: size,
                    size: range_len(alloc.initial_range()),
                    in_use: self.in_use.get(),
                }),
        )
    }

    /// Returns `ptr` of `size` bytes to the runtime's heap, if it is the runtime's.
    pub(crate) fn runtime_free(&self, ptr: u32, size: u32) {
        if let AppHeap::Runtime(alloc) = &self.heap {
            let length = size.max(1).next_multiple_of(APP_HEAP_ALIGN);
            alloc.borrow_mut().free_range(ptr..ptr + length);
        }
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

/// Decides memory 0's truncation and the app heap for `module` (see the module documentation
/// and README, "Memory model").
pub(crate) fn plan(module: &Module, app_heap_size: u64, truncate: bool) -> HeapPlan {
    use ValType::I32;
    let file = module.file();
    let none = |reason: &str| AppHeap::None(reason.to_owned());
    let malloc = exported_func(module, "malloc", &[I32], &[I32]);
    let free = exported_func(module, "free", &[I32], &[]);
    let realloc = exported_func(module, "cabi_realloc", &[I32, I32, I32, I32], &[I32]);
    let exported = match (malloc, free, realloc) {
        (Some(malloc), Some(free), _) => Some(AppHeap::Exported {
            malloc,
            free: Some(free),
        }),
        (_, _, Some(realloc)) => Some(AppHeap::Exported {
            malloc: realloc,
            free: None,
        }),
        _ => None,
    };
    let defines_memory0 = file.module().imported_memories == 0 && !file.memories().is_empty();
    let fixed_size = file.flags() & (FLAG_MEMORY_GROW | FLAG_MEMORY_SIZE) == 0;
    let heap_base = exported_i32_const(module, "__heap_base");
    let mut result = HeapPlan {
        truncate_to: None,
        min_pages: 0,
        heap: exported.unwrap_or_else(|| {
            none(if app_heap_size == 0 {
                "it exports no `malloc`/`free` and no app heap size was given (`--heap-size`)"
            } else {
                "unset"
            })
        }),
    };
    let (Some(heap_base), true) = (heap_base, defines_memory0) else {
        if matches!(result.heap, AppHeap::None(_)) && app_heap_size > 0 {
            result.heap =
                none("it exports no `malloc`/`free`, and no `__heap_base` in a memory it defines");
        }
        return result;
    };
    let runtime_heap = matches!(result.heap, AppHeap::None(_)) && app_heap_size > 0;
    let mut end = u64::from(heap_base).next_multiple_of(8);
    if runtime_heap {
        if !fixed_size {
            result.heap = none(
                "it exports no `malloc`/`free`, and its code grows or sizes its memory (`memory.grow`, `memory.size`), so the memory above `__heap_base` may be its own",
            );
        } else {
            let start = u64::from(heap_base).next_multiple_of(u64::from(APP_HEAP_ALIGN));
            let heap_end = start + app_heap_size;
            match u32::try_from(heap_end) {
                Ok(heap_end) => {
                    result.heap =
                        AppHeap::Runtime(RefCell::new(RangeAllocator::new(start as u32..heap_end)));
                    end = u64::from(heap_end);
                    result.min_pages = end.div_ceil(WASM_PAGE_SIZE);
                }
                Err(_) => result.heap = none("`__heap_base` plus the app heap exceeds 4 GiB"),
            }
        }
    }
    if truncate && fixed_size {
        let pages = end.div_ceil(WASM_PAGE_SIZE).max(1);
        let limit = pages * WASM_PAGE_SIZE;
        let data_fits = file.data_segments().iter().all(|d| match d.placement {
            SegmentPlacement::Active {
                index: 0,
                offset: ConstValue::I32(offset),
            } => u64::from(offset as u32) + d.bytes.len() as u64 <= limit,
            SegmentPlacement::Active { index: 0, .. } => false,
            _ => true,
        });
        let declared = file.memories().get(0).map_or(0, |m| m.min);
        if data_fits && pages < declared {
            result.truncate_to = Some(pages);
        }
    }
    result
}
