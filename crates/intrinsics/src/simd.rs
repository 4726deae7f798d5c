//! SIMD intrinsics: the `v128` operations Cranelift would lower to a libcall on some CPUs,
//! computed on 64-bit halves so they pass through the C calling convention of every target.

intrinsic! {
    /// Half of `i8x16.swizzle`: for each of the 8 selector bytes of `sel` (little-endian, byte 0
    /// lowest), the byte of the 16-byte vector `lo`, `hi` (lanes 0..8 in `lo`, 8..16 in `hi`, each
    /// little-endian) it selects, or 0 for a selector of 16 or more.
    pub fn i8x16_swizzle_half(lo: i64, hi: i64, sel: i64) -> i64 {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&lo.to_le_bytes());
        bytes[8..].copy_from_slice(&hi.to_le_bytes());
        let out = sel
            .to_le_bytes()
            .map(|s| bytes.get(usize::from(s)).copied().unwrap_or(0));
        i64::from_le_bytes(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swizzle_selects_lanes_and_zeroes_out_of_range() {
        let lo = i64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let hi = i64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let sel = i64::from_le_bytes([15, 0, 16, 255, 8, 7, 128, 1]);
        assert_eq!(
            i8x16_swizzle_half(lo, hi, sel).to_le_bytes(),
            [15, 0, 0, 0, 8, 7, 0, 1]
        );
    }
}
