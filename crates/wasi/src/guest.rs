//! Guest memory as WASI functions see it: every pointer and length the guest passes is checked
//! against the memory's current size (through `Memory::read`/`write`), and an access outside it
//! is `EFAULT`, never a host memory access.

use aotc_loader::Memory;

use crate::errno::Errno;

/// Most bytes one `fd_read`/`fd_write`-style call moves: iovecs may overlap, so their total is
/// not bounded by the memory; a shorter transfer is always allowed and returned as such.
const MAX_TRANSFER: usize = 16 << 20;

/// The calling instance's linear memory.
pub(crate) struct Guest<'m> {
    memory: &'m Memory,
}

/// A guest `iovec`/`ciovec`: a pointer and a length.
#[derive(Clone, Copy)]
pub(crate) struct IoVec {
    pub(crate) ptr: u32,
    pub(crate) len: u32,
}

impl<'m> Guest<'m> {
    pub(crate) fn new(memory: &'m Memory) -> Guest<'m> {
        Guest { memory }
    }

    /// `EFAULT` unless `[ptr, ptr + len)` lies in memory: checked before a buffer of the
    /// guest's length is allocated.
    pub(crate) fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        if u64::from(ptr) + u64::from(len) > self.memory.data_size() as u64 {
            return Err(Errno::Fault);
        }
        Ok(())
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn read(&self, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
        self.check(ptr, len)?;
        let mut buf = vec![0; len as usize];
        self.memory
            .read(ptr as usize, &mut buf)
            .map_err(|_| Errno::Fault)?;
        Ok(buf)
    }

    /// Writes `data` at `ptr`.
    pub(crate) fn write(&self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        self.memory
            .write(ptr as usize, data)
            .map_err(|_| Errno::Fault)
    }

    pub(crate) fn write_u32(&self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub(crate) fn write_u64(&self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A path or other string argument: `len` bytes at `ptr`, which must be UTF-8 (`EILSEQ`).
    pub(crate) fn read_str(&self, ptr: u32, len: u32) -> Result<String, Errno> {
        String::from_utf8(self.read(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// The `count` iovecs of the array at `ptr`.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<IoVec>, Errno> {
        let bytes = self.read(ptr, count.checked_mul(8).ok_or(Errno::Fault)?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| IoVec {
                ptr: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                len: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }

    /// The bytes of the ciovecs at `ptr`, concatenated (at most `MAX_TRANSFER`).
    pub(crate) fn gather(&self, ptr: u32, count: u32) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        for iov in self.iovecs(ptr, count)? {
            let room = MAX_TRANSFER - out.len();
            out.extend_from_slice(&self.read(iov.ptr, iov.len.min(room as u32))?);
            if out.len() == MAX_TRANSFER {
                break;
            }
        }
        Ok(out)
    }

    /// Checks that every iovec at `ptr` lies in memory; returns them and their total length (at
    /// most `MAX_TRANSFER`).
    pub(crate) fn scatter_targets(
        &self,
        ptr: u32,
        count: u32,
    ) -> Result<(Vec<IoVec>, usize), Errno> {
        let iovs = self.iovecs(ptr, count)?;
        let mut total = 0usize;
        for iov in &iovs {
            self.check(iov.ptr, iov.len)?;
            total += iov.len as usize;
        }
        Ok((iovs, total.min(MAX_TRANSFER)))
    }

    /// Spreads `data` over `iovs` (checked by [`Guest::scatter_targets`]).
    pub(crate) fn scatter(&self, iovs: &[IoVec], mut data: &[u8]) -> Result<(), Errno> {
        for iov in iovs {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(iov.len as usize);
            self.write(iov.ptr, &data[..n])?;
            data = &data[n..];
        }
        Ok(())
    }
}
