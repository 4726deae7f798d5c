//! Mappings at a fixed address, for prelinked text: the file's text mapped read + execute at
//! exactly the address it was relocated for, or (for a file not on disk) an anonymous copy
//! there. Never replaces an existing mapping (`MAP_FIXED_NOREPLACE`); memmap2 cannot express it.

use std::io;
use std::os::fd::AsRawFd;

use super::page_size;

/// A mapping of `len` bytes at `address` (page-rounded outward), unmapped on drop.
pub(crate) struct FixedMapping {
    /// Page-aligned start of the mapping.
    start: usize,
    /// Page-rounded length.
    len: usize,
    /// The address asked for (inside the mapping).
    address: usize,
}

/// Why a fixed mapping failed.
pub(crate) enum FixedMapError {
    /// Something is mapped in the range already.
    Taken,
    /// Any other failure.
    Io(io::Error),
}

/// Linux's "at this address or fail" flag; elsewhere the address is only a hint, and a mapping
/// placed elsewhere counts as taken.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOREPLACE: libc::c_int = libc::MAP_FIXED_NOREPLACE;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const NOREPLACE: libc::c_int = 0;

/// `mmap` at exactly `[start, start + len)`, or `Taken`. Kernels before 4.17 ignore
/// `MAP_FIXED_NOREPLACE` and may place the mapping elsewhere: that counts as taken too.
fn map_exactly(
    start: usize,
    len: usize,
    prot: libc::c_int,
    flags: libc::c_int,
    fd: libc::c_int,
    offset: u64,
) -> Result<(), FixedMapError> {
    let offset = libc::off_t::try_from(offset).map_err(|_| {
        FixedMapError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "offset too large",
        ))
    })?;
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping: it either maps fresh pages
    // at `start` or fails; no memory in use is affected.
    let ptr = unsafe {
        libc::mmap(
            start as *mut libc::c_void,
            len,
            prot,
            flags | NOREPLACE,
            fd,
            offset,
        )
    };
    if ptr == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::EEXIST) {
            FixedMapError::Taken
        } else {
            FixedMapError::Io(e)
        });
    }
    if ptr as usize != start {
        // SAFETY: the mapping just made, elsewhere, by an old kernel; nothing uses it.
        unsafe { libc::munmap(ptr, len) };
        return Err(FixedMapError::Taken);
    }
    Ok(())
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

impl FixedMapping {
    /// Maps `len` bytes of `file` at `file_offset` read + execute, shared, at exactly
    /// `address`. `address` and `file_offset` must lie at the same offset within a page.
    pub(crate) fn file_text(
        file: &std::fs::File,
        file_offset: u64,
        len: usize,
        address: usize,
    ) -> Result<FixedMapping, FixedMapError> {
        let page = page_size();
        if (address % page) as u64 != file_offset % page as u64 {
            return Err(FixedMapError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address and the text's file offset lie at different offsets within a page",
            )));
        }
        let (start, map_len) = page_range(address, len)?;
        let offset = file_offset - (address - start) as u64;
        map_exactly(
            start,
            map_len,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            offset,
        )?;
        Ok(FixedMapping {
            start,
            len: map_len,
            address,
        })
    }

    /// Copies `bytes` into anonymous memory at exactly `address`, then makes it read + execute
    /// (never writable and executable at once).
    pub(crate) fn copy(bytes: &[u8], address: usize) -> Result<FixedMapping, FixedMapError> {
        let (start, map_len) = page_range(address, bytes.len())?;
        map_exactly(
            start,
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )?;
        let mapping = FixedMapping {
            start,
            len: map_len,
            address,
        };
        // SAFETY: `[address, address + len)` lies in the fresh writable mapping just made.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
        // SAFETY: changing the protection of our own mapping, which nothing executes yet.
        let r = unsafe {
            libc::mprotect(
                start as *mut libc::c_void,
                map_len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            return Err(FixedMapError::Io(io::Error::last_os_error()));
        }
        Ok(mapping)
    }

    /// The address asked for.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.address as *const u8
    }
}

impl Drop for FixedMapping {
    fn drop(&mut self) {
        // SAFETY: the range was mapped by this `FixedMapping` and nothing else unmaps it; the
        // module owning it has stopped running its code when it is dropped.
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.len) };
    }
}

// SAFETY: the mapping is read-only after construction and only its addresses are shared.
unsafe impl Send for FixedMapping {}
// SAFETY: as above.
unsafe impl Sync for FixedMapping {}
