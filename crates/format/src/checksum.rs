//! The checksum of every integrity check (metadata, function table, trap table, text): FNV-1a
//! over little-endian 64-bit words, then over the last `len % 8` bytes one at a time.
//!
//! Every step `h = (h ^ w) * prime` (odd prime, modulo 2^64) is a bijection of the state and,
//! for a given state, injective in the word `w`, so any change confined to one word (hence to
//! one byte) always changes the result: the property the integrity checks rely on. One
//! multiply per 8 bytes keeps it near memory speed.

use core::mem::size_of;

use crate::layout::METADATA_CHECKSUM_OFFSET;
use crate::pod::U64;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Feeds `bytes` to the state `h`: whole words first, then the tail bytes.
fn fold(mut h: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(size_of::<u64>());
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(PRIME);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h
}

/// The checksum of `bytes` (text, function table and trap table).
pub fn checksum(bytes: &[u8]) -> u64 {
    fold(OFFSET_BASIS, bytes)
}

/// The checksum of `parts` fed one after the other (the trap table's two sections).
pub fn checksum_of_parts(parts: &[&[u8]]) -> u64 {
    parts.iter().fold(OFFSET_BASIS, |h, part| fold(h, part))
}

/// The metadata checksum: the checksum of `metadata`, a file's first `metadata_size` bytes,
/// with the 8 bytes of `FileHeader.metadata_checksum` read as zero. The reader, the writer and
/// tests that re-seal a damaged file all call this.
pub fn metadata_checksum(metadata: &[u8]) -> u64 {
    // The field is 8-aligned, so folding around it keeps the word boundaries of the whole.
    const _: () = assert!(METADATA_CHECKSUM_OFFSET.is_multiple_of(size_of::<u64>()));
    let field = METADATA_CHECKSUM_OFFSET..METADATA_CHECKSUM_OFFSET + size_of::<U64>();
    match metadata.get(field.end..) {
        Some(rest) => {
            let h = fold(OFFSET_BASIS, &metadata[..field.start]);
            fold(fold(h, &[0; size_of::<u64>()]), rest)
        }
        None => checksum(metadata),
    }
}

/// The fingerprint of the builtin addresses a prelinked file was relocated for: the checksum of
/// each `(builtin index, address)` pair, as little-endian `u32` and `u64`, in the order given
/// (the file's builtin list, ascending by index). The writer records it; a loader recomputes
/// it from its own addresses and refuses the file when they differ.
pub fn symbols_fingerprint(entries: impl IntoIterator<Item = (u32, u64)>) -> u64 {
    entries
        .into_iter()
        .fold(OFFSET_BASIS, |h, (index, address)| {
            fold(fold(h, &index.to_le_bytes()), &address.to_le_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Under 8 bytes it is plain FNV-1a-64.
        assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
        let word = u64::from_le_bytes(*b"abcdefgh");
        assert_eq!(
            checksum(b"abcdefghi"),
            ((OFFSET_BASIS ^ word).wrapping_mul(PRIME) ^ u64::from(b'i')).wrapping_mul(PRIME)
        );
    }

    #[test]
    fn the_metadata_checksum_reads_its_field_as_zero() {
        let mut metadata = [7u8; 200];
        let zeroed = {
            let mut z = metadata;
            z[METADATA_CHECKSUM_OFFSET..][..8].fill(0);
            checksum(&z)
        };
        metadata[METADATA_CHECKSUM_OFFSET] = 1;
        assert_eq!(metadata_checksum(&metadata), zeroed);
    }

    #[test]
    fn every_single_byte_change_changes_the_checksum() {
        let bytes: [u8; 37] = core::array::from_fn(|i| i as u8);
        for i in 0..bytes.len() {
            for mask in 1..=255u8 {
                let mut changed = bytes;
                changed[i] ^= mask;
                assert_ne!(checksum(&changed), checksum(&bytes), "byte {i} ^ {mask:#x}");
            }
        }
    }
}
