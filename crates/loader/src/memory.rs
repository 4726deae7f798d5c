//! Linear memories: an address-space reservation (4 GiB of index space plus a 4 GiB guard region
//! on 64-bit hosts) of which only the current size is accessible, grown in place by making more
//! of it accessible, so the base never moves and out-of-bounds accesses fault.

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

/// Bytes reserved for each memory: the index space plus an equally large guard region, so that
/// any 32-bit address plus any 32-bit offset lands inside the reservation.
const RESERVATION: usize = if cfg!(target_pointer_width = "64") {
    (1usize << 32).wrapping_mul(2)
} else {
    0
};

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
}

impl Memory {
    /// Creates a memory of type `ty`, `ty.min` pages large. The whole reservation is address
    /// space only; only the current size is committed.
    pub fn new(ty: MemoryType) -> Result<Memory, AccessError> {
        let max_pages = ty.max.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        if ty.min > max_pages {
            return Err(AccessError::GrowFailed {
                what: "memory",
                current: 0,
                delta: ty.min,
                limit: max_pages,
            });
        }
        if RESERVATION == 0 {
            return Err(AccessError::Resource {
                what: "memory",
                source: std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "linear memories need a 64-bit host",
                ),
            });
        }
        let reservation =
            Reservation::new(RESERVATION).map_err(|source| AccessError::Resource {
                what: "memory reservation",
                source,
            })?;
        let inner = MemoryInner {
            def: Box::new(UnsafeCell::new(MemoryDef {
                base: reservation.as_ptr(),
                length: 0,
            })),
            reservation,
            ty,
            max_pages,
        };
        let min = inner.ty.min;
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
