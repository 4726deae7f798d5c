//! Where the loader maps text: a prelinked text at exactly the address it was relocated for,
//! every other text near the runtime's code. Never replaces an existing mapping
//! (`MAP_FIXED_NOREPLACE`); memmap2 can express neither placement.
//!
//! Near, because calls between compiled code and the runtime's builtins (intrinsics above all:
//! one call per operation) are cheaper when both lie close together. Measured on this project's
//! x86-64 machine (AMD EPYC): an intrinsic call from text tens of terabytes away from the
//! runtime (where the kernel puts mappings by default, far from a position-independent
//! executable) costs 2.0 ns; from text up to 64 GiB away, 1.2 ns. Texts go within
//! [`NEAR_RUNTIME`] below the runtime's code, or where the kernel puts them when nothing there
//! is free.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::page_size;
use super::unix::RawMapping;

/// How far below the runtime's code texts are placed: well inside the 64 GiB measured to keep
/// calls fast (and inside x86-64's ±2 GiB `rel32` reach).
const NEAR_RUNTIME: usize = 1 << 30;

/// Candidate addresses tried before leaving the placement to the kernel.
const NEAR_ATTEMPTS: u32 = 64;

/// The top of the range the next near placement searches downward from (0: not yet placed).
static NEXT_NEAR: AtomicUsize = AtomicUsize::new(0);

/// A text mapping of `len` bytes at `address` (page-rounded outward), unmapped on drop.
pub(crate) struct TextMapping {
    /// The page-aligned, page-rounded mapping.
    mapping: RawMapping,
    /// The text's address (inside the mapping).
    address: usize,
}

/// Why a mapping at a fixed address failed.
pub(crate) enum FixedMapError {
    /// Something is mapped in the range already.
    Taken,
    /// Any other failure.
    Io(io::Error),
}

impl From<FixedMapError> for io::Error {
    fn from(e: FixedMapError) -> io::Error {
        match e {
            FixedMapError::Taken => io::Error::from(io::ErrorKind::AddrInUse),
            FixedMapError::Io(e) => e,
        }
    }
}

/// Linux's "at this address or fail" flag; elsewhere the address is only a hint, and a mapping
/// placed elsewhere counts as taken.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOREPLACE: libc::c_int = libc::MAP_FIXED_NOREPLACE;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const NOREPLACE: libc::c_int = 0;

/// How to make one mapping: protection, flags, file and page-aligned file offset.
#[derive(Copy, Clone)]
struct MapRequest {
    len: usize,
    prot: libc::c_int,
    flags: libc::c_int,
    fd: libc::c_int,
    offset: u64,
}

impl MapRequest {
    /// `mmap` at exactly `[start, start + len)` (`Taken` if anything is there), or, with no
    /// start, wherever the kernel chooses. Kernels before 4.17 ignore `MAP_FIXED_NOREPLACE`
    /// and may place the mapping elsewhere: that counts as taken too.
    fn map(self, start: Option<usize>) -> Result<RawMapping, FixedMapError> {
        let offset = libc::off_t::try_from(self.offset).map_err(|_| {
            FixedMapError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "offset too large",
            ))
        })?;
        let (address, flags) = match start {
            Some(start) => (start, self.flags | NOREPLACE),
            None => (0, self.flags),
        };
        // SAFETY: without MAP_FIXED the kernel never replaces an existing mapping (with
        // MAP_FIXED_NOREPLACE it maps fresh pages at `address` or fails).
        let mapping =
            unsafe { RawMapping::map(address, self.len, self.prot, flags, self.fd, offset) }
                .map_err(|e| {
                    if e.raw_os_error() == Some(libc::EEXIST) {
                        FixedMapError::Taken
                    } else {
                        FixedMapError::Io(e)
                    }
                })?;
        if start.is_some_and(|start| mapping.as_ptr() as usize != start) {
            // Made elsewhere by an old kernel; nothing uses it, dropping it unmaps it.
            return Err(FixedMapError::Taken);
        }
        Ok(mapping)
    }

    /// Maps within [`NEAR_RUNTIME`] below the runtime's code: candidates downward from where
    /// the last near placement went (from the runtime's code at first), stepping over what is
    /// taken in doubling strides; after [`NEAR_ATTEMPTS`], or when the range is used up, where
    /// the kernel chooses.
    fn map_near_runtime(self) -> io::Result<RawMapping> {
        let page = page_size();
        let anchor = runtime_code_address() & !(page - 1);
        let lowest = anchor.saturating_sub(NEAR_RUNTIME).max(page);
        let mut top = match NEXT_NEAR.load(Ordering::Relaxed) {
            0 => anchor,
            top => top,
        };
        let mut stride = self.len;
        for _ in 0..NEAR_ATTEMPTS {
            let Some(start) = top.checked_sub(self.len).filter(|s| *s >= lowest) else {
                break;
            };
            match self.map(Some(start)) {
                Ok(mapping) => {
                    NEXT_NEAR.store(start, Ordering::Relaxed);
                    return Ok(mapping);
                }
                Err(FixedMapError::Taken) => {
                    top = start.saturating_sub(stride - self.len);
                    stride = stride.saturating_mul(2);
                }
                Err(FixedMapError::Io(_)) => break,
            }
        }
        // The range is full (texts unmapped since are found again when it wraps around).
        NEXT_NEAR.store(0, Ordering::Relaxed);
        Ok(self.map(None)?)
    }
}

/// An address in the runtime's code (this function's), which texts are placed near.
fn runtime_code_address() -> usize {
    runtime_code_address as fn() -> usize as usize
}

/// The page-aligned range covering `[address, address + len)`.
fn page_range(address: usize, len: usize) -> Result<(usize, usize), FixedMapError> {
    let page = page_size();
    let start = address - address % page;
    let end = address
        .checked_add(len)
        .and_then(|e| e.checked_next_multiple_of(page))
        .ok_or_else(|| {
            FixedMapError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range overflows",
            ))
        })?;
    Ok((start, end - start))
}

/// The shared read + execute mapping of `len` bytes of `file` at `file_offset`: the request
/// for the enclosing pages, and the text's offset within the first page.
fn file_text_request(file: &std::fs::File, file_offset: u64, len: usize) -> (MapRequest, usize) {
    let page = page_size();
    let in_page = (file_offset % page as u64) as usize;
    let len = (in_page + len).next_multiple_of(page);
    let request = MapRequest {
        len,
        prot: libc::PROT_READ | libc::PROT_EXEC,
        flags: libc::MAP_SHARED,
        fd: file.as_raw_fd(),
        offset: file_offset - in_page as u64,
    };
    (request, in_page)
}

/// Anonymous read + write memory of `len` bytes (page-rounded).
fn anonymous_request(len: usize) -> MapRequest {
    MapRequest {
        len: len.next_multiple_of(page_size()),
        prot: libc::PROT_READ | libc::PROT_WRITE,
        flags: libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        fd: -1,
        offset: 0,
    }
}

impl TextMapping {
    /// Maps `len` bytes of `file` at `file_offset` read + execute, shared, at exactly
    /// `address`. `address` and `file_offset` must lie at the same offset within a page.
    pub(crate) fn file_text_at(
        file: &std::fs::File,
        file_offset: u64,
        len: usize,
        address: usize,
    ) -> Result<TextMapping, FixedMapError> {
        let (request, in_page) = file_text_request(file, file_offset, len);
        if address % page_size() != in_page {
            return Err(FixedMapError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address and the text's file offset lie at different offsets within a page",
            )));
        }
        let (start, _) = page_range(address, len)?;
        let mapping = request.map(Some(start))?;
        Ok(TextMapping { mapping, address })
    }

    /// Maps `len` bytes of `file` at `file_offset` read + execute, shared, near the runtime's
    /// code.
    pub(crate) fn file_text_near_runtime(
        file: &std::fs::File,
        file_offset: u64,
        len: usize,
    ) -> io::Result<TextMapping> {
        let (request, in_page) = file_text_request(file, file_offset, len);
        let mapping = request.map_near_runtime()?;
        let address = mapping.as_ptr() as usize + in_page;
        Ok(TextMapping { mapping, address })
    }

    /// Copies `bytes` into anonymous memory at exactly `address`, then makes it read + execute
    /// (never writable and executable at once).
    pub(crate) fn copy_at(bytes: &[u8], address: usize) -> Result<TextMapping, FixedMapError> {
        let (start, map_len) = page_range(address, bytes.len())?;
        let mapping = anonymous_request(map_len).map(Some(start))?;
        let mut writable = WritableText(TextMapping { mapping, address });
        writable.bytes_mut(bytes.len()).copy_from_slice(bytes);
        writable.into_exec().map_err(FixedMapError::Io)
    }

    /// The text's address.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.address as *const u8
    }
}

/// Anonymous memory near the runtime's code for a copy of a text, read + write until
/// [`WritableText::into_exec`] makes it read + execute (never both at once).
pub(crate) struct WritableText(TextMapping);

impl WritableText {
    /// At least `len` bytes near the runtime's code.
    pub(crate) fn near_runtime(len: usize) -> io::Result<WritableText> {
        let mapping = anonymous_request(len.max(1)).map_near_runtime()?;
        let address = mapping.as_ptr() as usize;
        Ok(WritableText(TextMapping { mapping, address }))
    }

    /// The first `len` bytes of the text (at most the mapping's length).
    pub(crate) fn bytes_mut(&mut self, len: usize) -> &mut [u8] {
        let mapping = &self.0.mapping;
        let len = len.min(mapping.len() - (self.0.address - mapping.as_ptr() as usize));
        // SAFETY: `[address, address + len)` lies in this writable mapping, which only this
        // value reaches until `into_exec`.
        unsafe { core::slice::from_raw_parts_mut(self.0.address as *mut u8, len) }
    }

    /// Makes the memory read + execute, with the instruction cache cleared over it (the code
    /// was just written).
    pub(crate) fn into_exec(self) -> io::Result<TextMapping> {
        let mapping = &self.0.mapping;
        // SAFETY: changing the protection of our own mapping, which nothing executes yet.
        let r = unsafe {
            libc::mprotect(
                mapping.as_ptr().cast(),
                mapping.len(),
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let end = mapping.as_ptr() as usize + mapping.len();
        // SAFETY: `[address, end)` lies in this mapping, now readable.
        super::clear_icache(unsafe {
            core::slice::from_raw_parts(self.0.address as *const u8, end - self.0.address)
        });
        Ok(self.0)
    }
}
