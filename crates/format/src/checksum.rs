//! The checksum used for the metadata and text integrity checks: 64-bit FNV-1a.
//!
//! Every step `h = (h ^ byte) * prime` is a bijection of the state, so any change confined to
//! one byte always changes the result; that is the property the integrity checks rely on.

use core::mem::size_of;

use crate::layout::METADATA_CHECKSUM_OFFSET;
use crate::pod::U64;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental FNV-1a-64 hasher.
#[derive(Clone, Debug)]
pub struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Self {
        Checksum(OFFSET_BASIS)
    }
}

impl Checksum {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    /// Feeds `n` zero bytes.
    pub fn update_zeros(&mut self, n: usize) {
        let mut h = self.0;
        for _ in 0..n {
            h = h.wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The checksum of `bytes` (the text checksum).
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(bytes);
    c.finish()
}

/// The metadata checksum: the checksum of `metadata`, a file's first `metadata_size` bytes,
/// with the 8 bytes of `FileHeader.metadata_checksum` read as zero. The reader, the writer and
/// tests that re-seal a damaged file all call this.
pub fn metadata_checksum(metadata: &[u8]) -> u64 {
    let field = METADATA_CHECKSUM_OFFSET..METADATA_CHECKSUM_OFFSET + size_of::<U64>();
    let mut c = Checksum::new();
    match metadata.get(field.end..) {
        Some(rest) => {
            c.update(&metadata[..field.start]);
            c.update_zeros(field.len());
            c.update(rest);
        }
        None => c.update(metadata),
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut c = Checksum::new();
        c.update(b"ab");
        c.update_zeros(2);
        assert_eq!(c.finish(), checksum(b"ab\0\0"));
    }
}
