//! Conversion intrinsics: integer to float (`fNN_convert_iMM_{s,u}`), float to integer
//! (`iNN_trunc_fMM_{s,u}`), and between float widths (`f32_demote_f64`, `f64_promote_f32`).
//!
//! None of them trap. Integer-to-float conversions round to nearest, ties to even, in one step
//! (`u64` to `f32` is not done through `f64`, which would round twice). The trapping
//! truncations are only called by compiled code that has already checked the operand is neither
//! NaN nor out of range (and trapped otherwise); given such an operand anyway they saturate
//! (NaN gives 0) instead of doing anything undefined.

macro_rules! convert {
    ($( $(#[$attr:meta])* $name:ident($param:ty => $via:ty) -> $ret:ty; )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps: every integer has a (rounded) float value. Rounds to nearest, ties to
            /// even, exactly once.
            pub fn $name(x: $param) -> $ret {
                // Rust's integer-to-float `as` rounds to nearest, ties to even, in one step.
                x as $via as $ret
            }
        }
    )*};
}

convert! {
    /// `f64.convert_i32_s` (exact).
    f64_convert_i32_s(i32 => i32) -> f64;
    /// `f64.convert_i32_u` (exact).
    f64_convert_i32_u(i32 => u32) -> f64;
    /// `f32.convert_i32_s`.
    f32_convert_i32_s(i32 => i32) -> f32;
    /// `f32.convert_i32_u`.
    f32_convert_i32_u(i32 => u32) -> f32;
    /// `f64.convert_i64_s`.
    f64_convert_i64_s(i64 => i64) -> f64;
    /// `f64.convert_i64_u`.
    f64_convert_i64_u(i64 => u64) -> f64;
    /// `f32.convert_i64_s`.
    f32_convert_i64_s(i64 => i64) -> f32;
    /// `f32.convert_i64_u` (one rounding: not through `f64`).
    f32_convert_i64_u(i64 => u64) -> f32;
}

macro_rules! truncate {
    ($( $(#[$attr:meta])* $name:ident($param:ty => $via:ty) -> $ret:ty; )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps: the caller checks that the operand is not NaN and that its truncation
            /// fits the result type, and traps (invalid conversion to integer, integer overflow)
            /// before calling. Out of contract it saturates (NaN gives 0); it is never undefined.
            pub fn $name(x: $param) -> $ret {
                // Rust's float-to-integer `as` truncates toward zero and saturates.
                x as $via as $ret
            }
        }
    )*};
}

truncate! {
    /// `i32.trunc_f32_s` of an in-range operand.
    i32_trunc_f32_s(f32 => i32) -> i32;
    /// `i32.trunc_f32_u` of an in-range operand (the result's bits are the `u32`).
    i32_trunc_f32_u(f32 => u32) -> i32;
    /// `i32.trunc_f64_s` of an in-range operand.
    i32_trunc_f64_s(f64 => i32) -> i32;
    /// `i32.trunc_f64_u` of an in-range operand.
    i32_trunc_f64_u(f64 => u32) -> i32;
    /// `i64.trunc_f32_s` of an in-range operand.
    i64_trunc_f32_s(f32 => i64) -> i64;
    /// `i64.trunc_f32_u` of an in-range operand (the result's bits are the `u64`).
    i64_trunc_f32_u(f32 => u64) -> i64;
    /// `i64.trunc_f64_s` of an in-range operand.
    i64_trunc_f64_s(f64 => i64) -> i64;
    /// `i64.trunc_f64_u` of an in-range operand.
    i64_trunc_f64_u(f64 => u64) -> i64;
}

intrinsic! {
    /// `f32.demote_f64`: rounds to nearest, ties to even; overflows to ±inf.
    ///
    /// Never traps. A NaN keeps its sign and the top 22 bits of its payload, with the quiet bit set
    /// (what hardware does; canonical in, canonical out).
    pub fn f32_demote_f64(x: f64) -> f32 {
        if x.is_nan() {
            let bits = x.to_bits();
            let sign = ((bits >> 63) as u32) << 31;
            let payload = ((bits >> 29) as u32) & 0x003f_ffff;
            return f32::from_bits(sign | 0x7fc0_0000 | payload);
        }
        x as f32
    }
}

intrinsic! {
    /// `f64.promote_f32`: exact.
    ///
    /// Never traps. A NaN keeps its sign and payload (shifted into the top of the f64 payload),
    /// with the quiet bit set (canonical in, canonical out).
    pub fn f64_promote_f32(x: f32) -> f64 {
        if x.is_nan() {
            let bits = x.to_bits();
            let sign = u64::from(bits >> 31) << 63;
            let payload = u64::from(bits & 0x003f_ffff) << 29;
            return f64::from_bits(sign | 0x7ff8_0000_0000_0000 | payload);
        }
        f64::from(x)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// The f32 nearest to `x` (ties to even), computed with integers only.
    fn ref_u64_to_f32(x: u64) -> f32 {
        if x == 0 {
            return 0.0;
        }
        let lz = x.leading_zeros();
        let exp = 63 - lz; // value in [2^exp, 2^(exp+1))
        if exp < 24 {
            return x as u32 as f32; // exact
        }
        let shift = exp - 23;
        let mut mant = x >> shift; // 24 bits
        let rem = x & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        if rem > half || (rem == half && mant & 1 == 1) {
            mant += 1;
        }
        // mant may be 2^24 now, which is still exact as an f32 times 2^shift.
        (mant as f32) * f32::from_bits((127 + shift) << 23)
    }

    #[test]
    fn u64_to_f32_rounds_once() {
        let cases = [
            0u64,
            1,
            (1 << 24) - 1,
            (1 << 24) + 1,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            (1 << 63) + (1 << 39),
            (1 << 63) + (1 << 39) + 1, // through f64 this rounds twice, to 2^63
            (1 << 63) + (3 << 39),
            u64::MAX,
            u64::MAX - (1 << 39),
            0x0020_0000_2000_0001,
            0xffff_ff7f_ffff_ffff,
            0xffff_ff80_0000_0000,
        ];
        for x in cases {
            assert_eq!(
                f32_convert_i64_u(x as i64).to_bits(),
                ref_u64_to_f32(x).to_bits(),
                "{x:#x}"
            );
        }
        assert_eq!(
            f32_convert_i64_u(((1u64 << 63) + (1 << 39) + 1) as i64),
            9_223_373_136_366_403_584.0
        );
        assert_eq!(f32_convert_i64_u(-1), 18_446_744_073_709_551_616.0);
        // A pseudo-random sweep of every magnitude.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = s >> (s % 64);
            assert_eq!(
                f32_convert_i64_u(x as i64).to_bits(),
                ref_u64_to_f32(x).to_bits(),
                "{x:#x}"
            );
        }
    }

    #[test]
    fn int_to_float_edges() {
        assert_eq!(f64_convert_i32_u(-1), 4_294_967_295.0);
        assert_eq!(f64_convert_i32_s(i32::MIN), -2_147_483_648.0);
        assert_eq!(f32_convert_i32_s(16_777_217), 16_777_216.0); // tie to even
        assert_eq!(f32_convert_i32_s(16_777_219), 16_777_220.0); // tie to even (up)
        assert_eq!(f32_convert_i32_u(-1), 4_294_967_296.0);
        assert_eq!(f32_convert_i32_u(i32::MIN), 2_147_483_648.0);
        assert_eq!(f64_convert_i64_s(i64::MIN), -9_223_372_036_854_775_808.0);
        assert_eq!(f64_convert_i64_s((1 << 53) + 1), 9_007_199_254_740_992.0);
        assert_eq!(f64_convert_i64_u(-1), 18_446_744_073_709_551_616.0);
        assert_eq!(f64_convert_i64_u((1 << 53) + 3), 9_007_199_254_740_996.0);
        assert_eq!(f32_convert_i64_s(i64::MIN), -9_223_372_036_854_775_808.0);
        assert_eq!(f32_convert_i64_s(i64::MAX), 9_223_372_036_854_775_808.0);
        assert_eq!(f32_convert_i32_s(0).to_bits(), 0);
        assert_eq!(f64_convert_i64_s(0).to_bits(), 0);
    }

    #[test]
    fn truncations_in_range() {
        assert_eq!(i32_trunc_f32_s(-2_147_483_648.0), i32::MIN);
        assert_eq!(i32_trunc_f32_s(-1.9), -1);
        assert_eq!(i32_trunc_f32_s(-0.9), 0);
        assert_eq!(i32_trunc_f32_u(4_294_967_040.0), -256);
        assert_eq!(i32_trunc_f64_s(2_147_483_647.9), i32::MAX);
        assert_eq!(i32_trunc_f64_s(-2_147_483_648.9), i32::MIN);
        assert_eq!(i32_trunc_f64_u(4_294_967_295.9), -1);
        assert_eq!(i32_trunc_f64_u(-0.9), 0);
        assert_eq!(i64_trunc_f32_s(-9_223_372_036_854_775_808.0), i64::MIN);
        assert_eq!(i64_trunc_f32_u(18_446_742_974_197_923_840.0), -(1 << 40));
        assert_eq!(
            i64_trunc_f64_s(9_223_372_036_854_774_784.0),
            i64::MAX - 1023
        );
        assert_eq!(i64_trunc_f64_u(18_446_744_073_709_549_568.0), -2048);
        assert_eq!(i64_trunc_f64_u(1e19), 10_000_000_000_000_000_000u64 as i64);
    }

    #[test]
    fn truncations_out_of_contract_saturate() {
        assert_eq!(i32_trunc_f32_s(f32::NAN), 0);
        assert_eq!(i32_trunc_f64_u(-5.0), 0);
        assert_eq!(i32_trunc_f64_u(1e10), -1);
        assert_eq!(i64_trunc_f32_s(f32::INFINITY), i64::MAX);
        assert_eq!(i64_trunc_f64_s(f64::NEG_INFINITY), i64::MIN);
        assert_eq!(i64_trunc_f64_u(f64::NAN), 0);
    }

    #[test]
    fn demote_and_promote() {
        assert_eq!(f32_demote_f64(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32_demote_f64(1e300), f32::INFINITY);
        assert_eq!(f32_demote_f64(-1e300), f32::NEG_INFINITY);
        assert_eq!(f32_demote_f64(1e-300).to_bits(), 0);
        assert_eq!(f32_demote_f64(f64::from(f32::MAX)), f32::MAX);
        // 1 + 2^-24 is a tie between 1 and 1 + 2^-23: to even (1).
        assert_eq!(f32_demote_f64(1.0 + f64::powi(2.0, -24)), 1.0);
        assert_eq!(
            f32_demote_f64(1.0 + 3.0 * f64::powi(2.0, -24)),
            1.0 + 2.0 * f32::EPSILON
        );
        // Subnormal result, rounded.
        assert_eq!(
            f32_demote_f64(f64::from(f32::from_bits(1)) * 1.5).to_bits(),
            2
        );
        // NaNs: canonical stays canonical, payloads move, the quiet bit is set.
        assert_eq!(
            f32_demote_f64(f64::from_bits(0x7ff8_0000_0000_0000)).to_bits(),
            0x7fc0_0000
        );
        assert_eq!(
            f32_demote_f64(f64::from_bits(0xfff8_0000_0000_0000)).to_bits(),
            0xffc0_0000
        );
        assert_eq!(
            f32_demote_f64(f64::from_bits(0x7ff0_0000_2000_0000)).to_bits(),
            0x7fc0_0001
        );
        // A payload only in bits below the f32 payload: still a (quiet) NaN.
        assert_eq!(
            f32_demote_f64(f64::from_bits(0x7ff0_0000_0000_0001)).to_bits(),
            0x7fc0_0000
        );

        assert_eq!(f64_promote_f32(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_promote_f32(f32::from_bits(1)), f64::powi(2.0, -149));
        assert_eq!(f64_promote_f32(f32::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(
            f64_promote_f32(f32::from_bits(0x7fc0_0000)).to_bits(),
            0x7ff8_0000_0000_0000
        );
        assert_eq!(
            f64_promote_f32(f32::from_bits(0xff80_0001)).to_bits(),
            0xfff8_0000_2000_0000
        );
        // Round trip of a quiet payload.
        let q = f32::from_bits(0x7fd2_3456);
        assert_eq!(f32_demote_f64(f64_promote_f32(q)).to_bits(), 0x7fd2_3456);
    }
}
