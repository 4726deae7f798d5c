//! The lookup sections: the function table and the trap table. They lie after the checksummed
//! metadata and are never read at load, so loading costs the same whatever the number of
//! functions and trap sites. Each record is checked when it is looked up (an index, offset or
//! code out of range is an error naming its file offset, never a panic), and each section has
//! its own checksum, which instantiation (functions), the first trap (traps) and `verify` check.

use aotc_abi::TrapCode;

use super::{ReadError, ReadErrorKind, Records, TrapSite, bad, field_at};
use crate::checksum::checksum;
use crate::layout::*;
use crate::read::view::{Function, Record};

/// Checks a lookup section's bytes against the checksum stored in the header.
fn verify_section<R: Record>(
    records: &Records<'_, R>,
    bytes: &[u8],
    section: SectionKind,
    stored: u64,
) -> Result<(), ReadError> {
    let computed = checksum(bytes);
    if computed != stored {
        return Err(ReadError {
            offset: records.file_offset(0),
            kind: ReadErrorKind::SectionChecksum {
                section,
                stored,
                computed,
            },
        });
    }
    Ok(())
}

/// The function table, by function index (imports first): checked record by record on access.
#[derive(Copy, Clone, Debug)]
pub struct Functions<'data> {
    pub(super) records: Records<'data, FunctionRecord>,
    /// The section's bytes.
    pub(super) bytes: &'data [u8],
    /// Number of types (type indices must be below).
    pub(super) types: usize,
    /// Number of imported functions (exactly those are flagged imported).
    pub(super) imported: u32,
    /// Text size (bodies must lie within).
    pub(super) text_len: usize,
    /// `FileHeader.functions_checksum`.
    pub(super) stored_checksum: u64,
}

impl<'data> Functions<'data> {
    /// Number of functions.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Size of the section in bytes.
    pub fn byte_size(&self) -> usize {
        self.bytes.len()
    }

    /// File offset of function `index`'s record.
    pub fn file_offset(&self, index: usize) -> u64 {
        self.records.file_offset(index)
    }

    /// Function `index`, checked: an existing type, the imported flag exactly on imports, a
    /// body within the text.
    pub fn get(&self, index: usize) -> Result<Function, ReadError> {
        let o = self.records.file_offset(index);
        let Some(f) = self.records.raw().get(index) else {
            return Err(bad(
                o,
                "function index",
                index as u64,
                "an existing function",
            ));
        };
        if f.type_index.get() as usize >= self.types {
            return Err(bad(
                o,
                "function type index",
                f.type_index.get().into(),
                "an existing type",
            ));
        }
        let is_import = (index as u64) < u64::from(self.imported);
        if (f.flags.get() & FUNC_IMPORTED != 0) != is_import || f.flags.get() & !FUNC_IMPORTED != 0
        {
            return Err(bad(
                field_at!(o, FunctionRecord.flags),
                "function flags",
                f.flags.get().into(),
                "the imported flag exactly on imported functions",
            ));
        }
        let end = u64::from(f.body_offset.get()) + u64::from(f.body_len.get());
        if !is_import && end > self.text_len as u64 {
            return Err(bad(
                field_at!(o, FunctionRecord.body_offset),
                "function body",
                f.body_offset.get().into(),
                "a body within the text",
            ));
        }
        Ok(f.view(self.records.cx))
    }

    /// Every function, checked, in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Result<Function, ReadError>> + use<'data> {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }

    /// The defined function whose body contains text offset `offset` (bodies are in ascending
    /// order in the text, so this is a binary search; a damaged record is an error).
    pub fn containing(&self, offset: u32) -> Result<Option<u32>, ReadError> {
        let raw = self.records.raw();
        let first = (self.imported as usize).min(raw.len());
        let defined = &raw[first..];
        let i = defined.partition_point(|f| f.body_offset.get() <= offset);
        let Some(i) = i.checked_sub(1) else {
            return Ok(None);
        };
        let index = first + i;
        let f = self.get(index)?;
        Ok(f.body
            .filter(|(start, len)| u64::from(offset) < u64::from(*start) + u64::from(*len))
            .map(|_| index as u32))
    }

    /// Checks the section against `FileHeader.functions_checksum`.
    pub fn verify(&self) -> Result<(), ReadError> {
        verify_section(
            &self.records,
            self.bytes,
            SectionKind::Functions,
            self.stored_checksum,
        )
    }
}

/// The trap table: trap sites by ascending text offset, checked on lookup.
#[derive(Copy, Clone, Debug)]
pub struct Traps<'data> {
    pub(super) records: Records<'data, TrapRecord>,
    /// The section's bytes.
    pub(super) bytes: &'data [u8],
    /// `FileHeader.traps_checksum`.
    pub(super) stored_checksum: u64,
}

impl<'data> Traps<'data> {
    /// Number of trap sites.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Size of the section in bytes.
    pub fn byte_size(&self) -> usize {
        self.bytes.len()
    }

    /// Trap site `index`, checked (a known trap code).
    pub fn get(&self, index: usize) -> Result<TrapSite, ReadError> {
        let o = self.records.file_offset(index);
        let Some(t) = self.records.raw().get(index) else {
            return Err(bad(o, "trap site index", index as u64, "an existing site"));
        };
        if TrapCode::from_u8(t.trap_code).is_none() {
            return Err(bad(
                field_at!(o, TrapRecord.trap_code),
                "trap code",
                t.trap_code.into(),
                "a known trap code",
            ));
        }
        Ok(t.view(self.records.cx))
    }

    /// Every trap site, checked, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Result<TrapSite, ReadError>> + use<'data> {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }

    /// The trap code of the instruction at text offset `offset`, if it is a trap site. A
    /// binary search: on a damaged (unsorted) table it may miss a site, never read out of
    /// bounds; a damaged code is an error.
    pub fn lookup(&self, offset: u32) -> Result<Option<TrapCode>, ReadError> {
        let raw = self.records.raw();
        match raw.binary_search_by_key(&offset, |t| t.code_offset.get()) {
            Ok(i) => Ok(Some(self.get(i)?.code)),
            Err(_) => Ok(None),
        }
    }

    /// Checks the section against `FileHeader.traps_checksum`.
    pub fn verify(&self) -> Result<(), ReadError> {
        verify_section(
            &self.records,
            self.bytes,
            SectionKind::Traps,
            self.stored_checksum,
        )
    }
}
