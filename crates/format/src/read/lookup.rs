//! The lookup sections: the function table, the trap table and the function names. They lie
//! after the checksummed metadata and are never read at load, so loading costs the same
//! whatever the number of functions, trap sites and names. Each record is checked when it is looked up (an index, offset or
//! code out of range is an error naming its file offset, never a panic), and each section has
//! its own checksum, which a loader copying the text (functions), the first trap (traps) and
//! `verify` check.

use aotc_abi::TrapCode;

use super::{ReadError, ReadErrorKind, Records, TrapSite, bad, field_at};
use crate::checksum::{checksum, checksum_of_parts};
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

/// The trap table: blocks of delta-encoded trap sites (see [`TrapBlock`]), checked on lookup.
#[derive(Copy, Clone, Debug)]
pub struct Traps<'data> {
    /// The blocks, ascending by first offset.
    pub(super) blocks: &'data [TrapBlock],
    /// File offset of the blocks.
    pub(super) blocks_at: u64,
    /// The blocks' bytes (for the checksum).
    pub(super) block_bytes: &'data [u8],
    /// The [`SectionKind::TrapDeltas`] bytes.
    pub(super) deltas: &'data [u8],
    /// File offset of the deltas.
    pub(super) deltas_at: u64,
    /// `FileHeader.traps_checksum`.
    pub(super) stored_checksum: u64,
}

/// The sites of one block, decoded one at a time (a damaged byte ends it with an error).
struct BlockSites<'t, 'data> {
    traps: &'t Traps<'data>,
    /// The next site, if any is left.
    next: Option<Result<TrapSite, ReadError>>,
    /// Sites left after `next`.
    left: u8,
    /// Position in the deltas.
    at: usize,
}

impl BlockSites<'_, '_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, ReadError> {
        let b = self.traps.deltas.get(self.at).copied().ok_or_else(|| {
            bad(
                self.traps.deltas_at + self.at as u64,
                what,
                self.at as u64,
                "a byte within the trap deltas",
            )
        })?;
        self.at += 1;
        Ok(b)
    }

    /// Decodes the site after `previous`.
    fn decode(&mut self, previous: TrapSite) -> Result<TrapSite, ReadError> {
        let start = self.traps.deltas_at + self.at as u64;
        let mut v: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte("trap site delta")?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                let delta = u32::try_from(v >> 1).ok().filter(|d| *d > 0);
                let offset = delta.and_then(|d| previous.code_offset.checked_add(d));
                let Some(code_offset) = offset else {
                    return Err(bad(
                        start,
                        "trap site delta",
                        v >> 1,
                        "strictly ascending sites within the text's offsets",
                    ));
                };
                let code = if v & 1 == 0 {
                    previous.code
                } else {
                    let at = self.traps.deltas_at + self.at as u64;
                    let b = self.byte("trap code")?;
                    TrapCode::from_u8(b)
                        .ok_or_else(|| bad(at, "trap code", b.into(), "a known trap code"))?
                };
                return Ok(TrapSite { code_offset, code });
            }
        }
        Err(bad(
            start,
            "trap site delta",
            v,
            "a varint of at most 5 bytes",
        ))
    }
}

impl Iterator for BlockSites<'_, '_> {
    type Item = Result<TrapSite, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let current = self.next.take()?;
        if let Ok(site) = &current
            && self.left > 0
        {
            self.left -= 1;
            self.next = Some(self.decode(*site));
        }
        Some(current)
    }
}

impl<'data> Traps<'data> {
    /// Number of trap sites (O(blocks): `inspect` shows it; a lookup never needs it).
    pub fn len(&self) -> usize {
        self.blocks.iter().map(|b| usize::from(b.sites)).sum()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Size of the trap table in bytes (both sections).
    pub fn byte_size(&self) -> usize {
        self.block_bytes.len() + self.deltas.len()
    }

    /// The sites of block `index`, checked as they are decoded.
    fn block(&self, index: usize) -> BlockSites<'_, 'data> {
        let at = self.blocks_at + (index * size_of::<TrapBlock>()) as u64;
        let mut sites = BlockSites {
            traps: self,
            next: None,
            left: 0,
            at: 0,
        };
        let Some(b) = self.blocks.get(index) else {
            sites.next = Some(Err(bad(at, "trap block index", index as u64, "a block")));
            return sites;
        };
        let first = match TrapCode::from_u8(b.first_code) {
            _ if b.sites == 0 || usize::from(b.sites) > TRAP_BLOCK_SITES => Err(bad(
                field_at!(at, TrapBlock.sites),
                "trap block sites",
                b.sites.into(),
                "1 to 64 sites",
            )),
            Some(code) => Ok(TrapSite {
                code_offset: b.first_offset.get(),
                code,
            }),
            None => Err(bad(
                field_at!(at, TrapBlock.first_code),
                "trap code",
                b.first_code.into(),
                "a known trap code",
            )),
        };
        sites.next = Some(first);
        sites.left = b.sites.saturating_sub(1);
        sites.at = b.deltas_offset.get() as usize;
        sites
    }

    /// Every trap site, checked, in order.
    pub fn iter(&self) -> impl Iterator<Item = Result<TrapSite, ReadError>> + '_ {
        (0..self.blocks.len()).flat_map(|i| self.block(i))
    }

    /// The trap code of the instruction at text offset `offset`, if it is a trap site: a
    /// binary search over the blocks, then the decoding of one block. On a damaged (unsorted)
    /// table it may miss a site, never read out of bounds; a damaged entry on the way is an
    /// error.
    pub fn lookup(&self, offset: u32) -> Result<Option<TrapCode>, ReadError> {
        let i = self
            .blocks
            .partition_point(|b| b.first_offset.get() <= offset);
        let Some(i) = i.checked_sub(1) else {
            return Ok(None);
        };
        for site in self.block(i) {
            let site = site?;
            if site.code_offset >= offset {
                return Ok((site.code_offset == offset).then_some(site.code));
            }
        }
        Ok(None)
    }

    /// Checks the trap table and the function names (`names`) against
    /// `FileHeader.traps_checksum`.
    pub fn verify(&self, names: &Names<'_>) -> Result<(), ReadError> {
        let computed = checksum_of_parts(&[
            self.block_bytes,
            self.deltas,
            names.record_bytes,
            names.bytes,
        ]);
        if computed != self.stored_checksum {
            return Err(ReadError {
                offset: self.blocks_at,
                kind: ReadErrorKind::SectionChecksum {
                    section: SectionKind::Traps,
                    stored: self.stored_checksum,
                    computed,
                },
            });
        }
        Ok(())
    }
}

/// The function names (from the wasm `name` section), strictly ascending by function index,
/// checked on lookup. Covered by `FileHeader.traps_checksum` with the trap table: a trap report
/// reads both.
#[derive(Copy, Clone, Debug)]
pub struct Names<'data> {
    /// The records.
    pub(super) records: &'data [NameRecord],
    /// File offset of the records.
    pub(super) records_at: u64,
    /// The records' bytes (for the checksum).
    pub(super) record_bytes: &'data [u8],
    /// The [`SectionKind::NameBytes`] bytes.
    pub(super) bytes: &'data [u8],
}

impl<'data> Names<'data> {
    /// Number of named functions.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no function is named (a module without a `name` section, or a stripped file).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Size of the names in bytes (both sections).
    pub fn byte_size(&self) -> usize {
        self.record_bytes.len() + self.bytes.len()
    }

    /// The name of record `i`, checked: within the name bytes, UTF-8.
    fn name_of(&self, i: usize) -> Result<(u32, &'data str), ReadError> {
        let at = self.records_at + (i * size_of::<NameRecord>()) as u64;
        let Some(r) = self.records.get(i) else {
            return Err(bad(at, "name record index", i as u64, "a name record"));
        };
        let start = r.offset.get() as usize;
        let bytes = start
            .checked_add(r.len.get() as usize)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| {
                bad(
                    field_at!(at, NameRecord.offset),
                    "function name",
                    r.offset.get().into(),
                    "a name within the name bytes",
                )
            })?;
        let name = core::str::from_utf8(bytes).map_err(|_| {
            bad(
                field_at!(at, NameRecord.offset),
                "function name",
                r.offset.get().into(),
                "UTF-8",
            )
        })?;
        Ok((r.function_index.get(), name))
    }

    /// The name of function `index`, if it has one: a binary search, then the one record's
    /// checks. On a damaged (unsorted) table it may miss a name, never read out of bounds.
    pub fn get(&self, index: u32) -> Result<Option<&'data str>, ReadError> {
        let i = self
            .records
            .partition_point(|r| r.function_index.get() < index);
        match self.records.get(i) {
            Some(r) if r.function_index.get() == index => Ok(Some(self.name_of(i)?.1)),
            _ => Ok(None),
        }
    }

    /// Every `(function index, name)`, checked, in order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u32, &'data str), ReadError>> + '_ {
        (0..self.records.len()).map(|i| self.name_of(i))
    }
}
