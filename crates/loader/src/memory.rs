//! Linear memories: an address-space reservation (by default 4 GiB of index space plus a 4 GiB
//! guard region on 64-bit hosts; smaller with [`MemoryConfig`]) of which only the current size is
//! accessible, grown in place by making more of it accessible, so the base never moves and
//! out-of-bounds accesses fault; and the memory-use figures of one memory.

use std::cell::UnsafeCell;
use std::rc::Rc;

use crate::error::AccessError;
use crate::sys::{self, Reservation};
use crate::types::MemoryType;
use crate::vmctx::MemoryDef;

/// Size of a wasm page.
pub const WASM_PAGE_SIZE: u64 = 64 * 1024;

/// Most pages a memory can have here: the 4 GiB index space of 32-bit memories (memory64
/// memories are limited to the same reservation).
pub const MAX_PAGES: u64 = 1 << 16;

/// The 4 GiB index space of a 32-bit memory.
const INDEX_SPACE: u64 = 1 << 32;

/// The address space code compiled for guard-page bounds checks needs per memory: the index
/// space plus a guard as large, so that any 32-bit address plus any 32-bit offset lands inside
/// the reservation.
pub const GUARD_PAGE_RESERVATION: u64 = 2 * INDEX_SPACE;

/// How linear memories are reserved and bounded (part of [`crate::InstanceConfig`], or given to
/// [`Memory::new_with`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Most bytes a memory may reach, below its declared maximum (rounded down to whole pages;
    /// `memory.grow` beyond it returns -1). `None`: the declared maximum. Default `None`.
    pub max_bytes: Option<u64>,
    /// Address space reserved per memory, guard included: the memory never moves, so it can
    /// grow to `reservation - guard` at most. Default 8 GiB ([`GUARD_PAGE_RESERVATION`]). Code
    /// compiled for guard-page bounds checks (the default of `aotc compile`) needs the default;
    /// code compiled with `--bounds-checks=1` works with any size.
    pub reservation: u64,
    /// Inaccessible bytes reserved after the largest size a memory may reach. Default 4 GiB;
    /// code with explicit bounds checks needs none.
    pub guard: u64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_bytes: None,
            reservation: GUARD_PAGE_RESERVATION,
            guard: INDEX_SPACE,
        }
    }
}

impl MemoryConfig {
    /// Why code compiled for guard-page bounds checks cannot run on a memory reserved with these
    /// settings, if it cannot.
    pub fn guard_page_shortfall(&self) -> Option<String> {
        (self.reservation < GUARD_PAGE_RESERVATION || self.guard < INDEX_SPACE).then(|| {
            format!(
                "compiled for guard-page bounds checks, which need {} of address space per linear memory ({} plus a {} guard), but the reservation is {} (guard {}): recompile with `--bounds-checks=1` or reserve more",
                Bytes(GUARD_PAGE_RESERVATION),
                Bytes(INDEX_SPACE),
                Bytes(INDEX_SPACE),
                Bytes(self.reservation),
                Bytes(self.guard)
            )
        })
    }
}

/// A byte count printed with the largest binary unit that divides it (`64 KiB`, `8 GiB`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Bytes(pub(crate) u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in units {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{} {unit}", self.0 / size);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// A linear memory's memory-use figures ([`Memory::usage`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Declared minimum, in pages.
    pub declared_min_pages: u64,
    /// Declared maximum, in pages.
    pub declared_max_pages: Option<u64>,
    /// Most pages it may reach here (the declared maximum capped by [`MemoryConfig`]).
    pub max_pages: u64,
    /// Address space reserved, guard included, in bytes.
    pub reserved: u64,
    /// Bytes made accessible (read + write): its current size, what the OS counts as committed.
    pub committed: u64,
    /// Bytes of it resident in RAM (touched), from `mincore`, when the OS tells.
    pub touched: Option<u64>,
    /// The pages it would have had without truncation at `__heap_base`, when truncated.
    pub truncated_from_pages: Option<u64>,
}

/// A linear memory. Clones share the memory; a memory lives as long as any handle or instance
/// that uses it.
#[derive(Clone)]
pub struct Memory {
    pub(crate) inner: Rc<MemoryInner>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("ty", &self.inner.ty)
            .field("size", &self.data_size())
            .finish()
    }
}

pub(crate) struct MemoryInner {
    /// What compiled code reads; boxed so its address is stable.
    def: Box<UnsafeCell<MemoryDef>>,
    reservation: Reservation,
    ty: MemoryType,
    /// Largest size in pages this memory may reach.
    max_pages: u64,
    /// The settings it was reserved with.
    config: MemoryConfig,
    /// Pages it was created with, when smaller than its type's minimum (truncation at
    /// `__heap_base`): the pages it would have had.
    truncated_from: Option<u64>,
}

impl Memory {
    /// Creates a memory of type `ty`, `ty.min` pages large, with the default [`MemoryConfig`]. The
    /// whole reservation is address space only; only the current size is committed.
    pub fn new(ty: MemoryType) -> Result<Memory, AccessError> {
        Memory::new_with(ty, &MemoryConfig::default())
    }

    /// [`Memory::new`] with reservation settings and a size cap. When the settings allow it
    /// (the default), the memory is reserved for code compiled for guard-page bounds checks, so
    /// any module can import it; otherwise only for code with explicit bounds checks.
    pub fn new_with(ty: MemoryType, config: &MemoryConfig) -> Result<Memory, AccessError> {
        Memory::create(ty, config, config.guard_page_shortfall().is_none(), None)
    }

    /// A memory of type `ty`, reserved for guard-page code when `guard_pages` (`config` must
    /// allow it), holding `ty.min` pages, or `truncate_to` pages (when fewer) and never more.
    pub(crate) fn create(
        ty: MemoryType,
        config: &MemoryConfig,
        guard_pages: bool,
        truncate_to: Option<u64>,
    ) -> Result<Memory, AccessError> {
        let too_big = |what| AccessError::Resource {
            what,
            source: std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "linear memories need a 64-bit host",
            ),
        };
        if cfg!(not(target_pointer_width = "64")) {
            return Err(too_big("memory"));
        }
        let page_bytes = |bytes: u64| bytes / WASM_PAGE_SIZE;
        let reachable = config.reservation.saturating_sub(config.guard);
        let mut max_pages = ty
            .max
            .unwrap_or(MAX_PAGES)
            .min(MAX_PAGES)
            .min(page_bytes(reachable));
        if let Some(cap) = config.max_bytes {
            max_pages = max_pages.min(page_bytes(cap));
        }
        let min = match truncate_to {
            Some(pages) => {
                max_pages = max_pages.min(pages);
                pages.min(ty.min)
            }
            None => ty.min,
        };
        if min > max_pages {
            return Err(AccessError::GrowFailed {
                what: "memory",
                current: 0,
                delta: min,
                limit: max_pages,
            });
        }
        // Guard-page code may address 8 GiB past the base whatever the memory's size; code with
        // explicit checks only what the memory can reach, plus the guard asked for.
        let page = sys::page_size() as u64;
        let reserved = if guard_pages {
            GUARD_PAGE_RESERVATION
        } else {
            (max_pages * WASM_PAGE_SIZE)
                .saturating_add(config.guard)
                .min(config.reservation)
                .next_multiple_of(page)
                .max(page)
        };
        let len = usize::try_from(reserved).map_err(|_| too_big("memory reservation"))?;
        let reservation = Reservation::new(len).map_err(|source| AccessError::Resource {
            what: "memory reservation",
            source,
        })?;
        let inner = MemoryInner {
            def: Box::new(UnsafeCell::new(MemoryDef {
                base: reservation.as_ptr(),
                length: 0,
            })),
            reservation,
            truncated_from: truncate_to.map(|_| ty.min).filter(|&from| from > min),
            ty,
            max_pages,
            config: config.clone(),
        };
        let memory = Memory {
            inner: Rc::new(inner),
        };
        memory.inner.grow(min).ok_or(AccessError::GrowFailed {
            what: "memory",
            current: 0,
            delta: min,
            limit: max_pages,
        })?;
        Ok(memory)
    }

    /// The settings it was reserved with.
    pub fn config(&self) -> &MemoryConfig {
        &self.inner.config
    }

    /// Its memory-use figures.
    pub fn usage(&self) -> MemoryUsage {
        let inner = &self.inner;
        let committed = inner.length() as u64;
        MemoryUsage {
            declared_min_pages: inner.ty.min,
            declared_max_pages: inner.ty.max,
            max_pages: inner.max_pages,
            reserved: inner.reservation.len() as u64,
            committed,
            touched: sys::resident_bytes(inner.base(), inner.length()),
            truncated_from_pages: inner.truncated_from,
        }
    }

    /// Bytes of address space reserved for it, guard included.
    pub fn reserved(&self) -> u64 {
        self.inner.reservation.len() as u64
    }

    /// The largest size in pages it may reach (its declared maximum, capped by its settings).
    pub fn max_pages(&self) -> u64 {
        self.inner.max_pages
    }

    /// The type it was created with.
    pub fn ty(&self) -> MemoryType {
        self.inner.ty.clone()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.inner.length()
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.inner.length() as u64 / WASM_PAGE_SIZE
    }

    /// Grows by `delta` pages (zero-filled); returns the previous size in pages.
    pub fn grow(&self, delta: u64) -> Result<u64, AccessError> {
        self.inner.grow(delta).ok_or(AccessError::GrowFailed {
            what: "memory",
            current: self.size_pages(),
            delta,
            limit: self.inner.max_pages,
        })
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        let src = self.inner.checked_ptr(offset, buf.len())?;
        // SAFETY: `[src, src + len)` is committed memory of this memory (checked); wasm does not
        // run concurrently (memories are single-threaded); `buf` cannot overlap it as it is a
        // distinct Rust borrow.
        unsafe { core::ptr::copy(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` into the memory at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        let dst = self.inner.checked_ptr(offset, data.len())?;
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// Address of the first byte (stable for the memory's lifetime).
    pub fn data_ptr(&self) -> *mut u8 {
        self.inner.base()
    }

    /// The contents.
    ///
    /// # Safety
    /// The slice must not be used after the memory is grown or while wasm code or another
    /// accessor writes to the memory.
    pub unsafe fn data(&self) -> &[u8] {
        // SAFETY: `length` committed bytes at `base`; the caller upholds aliasing.
        unsafe { core::slice::from_raw_parts(self.inner.base(), self.inner.length()) }
    }

    /// The contents, mutably.
    ///
    /// # Safety
    /// No other reference to the contents may exist while the slice is used (including wasm code
    /// running), and it must not be used after the memory is grown.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn data_mut(&self) -> &mut [u8] {
        // SAFETY: as for `data`.
        unsafe { core::slice::from_raw_parts_mut(self.inner.base(), self.inner.length()) }
    }

    /// Whether two handles name the same memory.
    pub fn same(&self, other: &Memory) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl MemoryInner {
    /// The `MemoryDef` compiled code reads.
    pub(crate) fn def_ptr(&self) -> *mut MemoryDef {
        self.def.get()
    }

    pub(crate) fn base(&self) -> *mut u8 {
        // SAFETY: the def is only written by `grow` on this thread, never concurrently.
        unsafe { (*self.def.get()).base }
    }

    pub(crate) fn length(&self) -> usize {
        // SAFETY: as in `base`.
        unsafe { (*self.def.get()).length }
    }

    /// Grows by `delta` pages; the old size in pages, or `None` when it cannot.
    pub(crate) fn grow(&self, delta: u64) -> Option<u64> {
        let old_len = self.length();
        let old_pages = old_len as u64 / WASM_PAGE_SIZE;
        let new_pages = old_pages.checked_add(delta)?;
        if new_pages > self.max_pages {
            return None;
        }
        let new_len = usize::try_from(new_pages * WASM_PAGE_SIZE).ok()?;
        if new_len > old_len {
            // Commit whole host pages (a wasm page is a multiple of every host page size we
            // support, but round anyway).
            let page = sys::page_size();
            let from = old_len.next_multiple_of(page);
            let to = new_len.next_multiple_of(page);
            // SAFETY: `[from, to)` lies in the reservation (at most 4 GiB of the 8 GiB) and is
            // not referenced by anything yet: it was inaccessible until now.
            unsafe { self.reservation.make_read_write(from, to - from).ok()? };
        }
        // SAFETY: single-threaded; compiled code reads the length, never holds a reference.
        unsafe { (*self.def.get()).length = new_len };
        Some(old_pages)
    }

    /// Pointer to `[offset, offset + len)` if it lies within the current size.
    pub(crate) fn checked_ptr(&self, offset: usize, len: usize) -> Result<*mut u8, AccessError> {
        let size = self.length();
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(self.base().wrapping_add(offset)),
            _ => Err(AccessError::OutOfBounds {
                what: "memory",
                offset: offset as u64,
                len: len as u64,
                size: size as u64,
            }),
        }
    }
}
