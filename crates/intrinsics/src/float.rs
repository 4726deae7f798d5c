//! Float intrinsics: arithmetic (`add`, `sub`, `mul`, `div`, `sqrt`), rounding (`ceil`,
//! `floor`, `trunc`, `nearest`), sign-bit operations (`abs`, `copysign`), wasm `min`/`max`, and
//! comparisons (`f32_cmp`, `f64_cmp`) for f32 and f64.
//!
//! None of them trap. NaN results follow wasm, deterministically on every target: an operation
//! with a NaN operand returns the canonical NaN if any NaN operand is canonical, else the first
//! NaN operand quietened (an arithmetic NaN keeping its sign and payload); an invalid operation
//! without NaN operand (`inf - inf`, `0 / 0`, `sqrt(-1)`) returns a canonical NaN. `abs` and
//! `copysign` are pure bit operations: they never canonicalise or quieten a NaN. Signed zeros
//! are preserved (`ceil(-0.5) == -0.0`, `min(-0.0, 0.0) == -0.0`).

use aotc_abi::intrinsics::FloatCmp;

/// NaN propagation for one float type: `canonical` is the (positive) canonical NaN, `quiet` sets
/// the quiet bit (an arithmetic NaN, unchanged when canonical), `propagate` picks the result of a
/// binary operation with a NaN operand.
macro_rules! nan_rules {
    ($(
        $canonical:ident, $quiet:ident, $propagate:ident, $ty:ty, $canonical_bits:expr,
        $quiet_bit:expr, $magnitude:expr;
    )*) => {$(
        /// The positive canonical NaN (quiet bit only; `NAN`'s bits are not guaranteed).
        #[inline]
        fn $canonical() -> $ty {
            <$ty>::from_bits($canonical_bits)
        }

        /// `x` (a NaN) with its quiet bit set.
        #[inline]
        fn $quiet(x: $ty) -> $ty {
            <$ty>::from_bits(x.to_bits() | $quiet_bit)
        }

        /// The NaN result of a binary operation whose operand `a` or `b` is a NaN: canonical if
        /// a NaN operand is canonical (so canonical operands give a canonical result whatever
        /// the other operand), else the first NaN operand quietened.
        #[inline]
        fn $propagate(a: $ty, b: $ty) -> $ty {
            let is_canonical = |x: $ty| x.to_bits() & $magnitude == $canonical_bits;
            if is_canonical(a) || is_canonical(b) {
                $canonical()
            } else if a.is_nan() {
                $quiet(a)
            } else {
                $quiet(b)
            }
        }
    )*};
}

nan_rules! {
    f32_canonical, f32_quiet, f32_propagate, f32, 0x7fc0_0000u32, 1u32 << 22, !(1u32 << 31);
    f64_canonical, f64_quiet, f64_propagate, f64, 0x7ff8_0000_0000_0000u64, 1u64 << 51,
        !(1u64 << 63);
}

macro_rules! arithmetic {
    ($( $(#[$attr:meta])* $name:ident($ty:ty, $propagate:ident) = $op:tt; )*) => {$(
        $(#[$attr])*
        ///
        /// Never traps. IEEE 754, rounding to nearest, ties to even; a NaN operand propagates
        /// (canonical if a NaN operand is, else the first one quietened); an invalid operation
        /// (`inf - inf`, `0 * inf`, `0 / 0`, `inf / inf`) gives a canonical NaN.
        pub extern "C" fn $name(a: $ty, b: $ty) -> $ty {
            if a.is_nan() || b.is_nan() {
                return $propagate(a, b);
            }
            a $op b
        }
    )*};
}

arithmetic! {
    /// `f32.add`.
    f32_add(f32, f32_propagate) = +;
    /// `f32.sub`.
    f32_sub(f32, f32_propagate) = -;
    /// `f32.mul`.
    f32_mul(f32, f32_propagate) = *;
    /// `f32.div` (division by zero gives ±inf or NaN, as wasm says: floats never trap).
    f32_div(f32, f32_propagate) = /;
    /// `f64.add`.
    f64_add(f64, f64_propagate) = +;
    /// `f64.sub`.
    f64_sub(f64, f64_propagate) = -;
    /// `f64.mul`.
    f64_mul(f64, f64_propagate) = *;
    /// `f64.div` (division by zero gives ±inf or NaN, as wasm says: floats never trap).
    f64_div(f64, f64_propagate) = /;
}

macro_rules! unary_libm {
    ($( $(#[$attr:meta])* $name:ident($ty:ty, $quiet:ident) = $body:path; )*) => {$(
        $(#[$attr])*
        ///
        /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
        /// arithmetic NaN, canonical when the input is); signed zeros and infinities are kept.
        pub extern "C" fn $name(x: $ty) -> $ty {
            if x.is_nan() {
                // libm may return a NaN input unchanged, signalling bit and all.
                return $quiet(x);
            }
            $body(x)
        }
    )*};
}

unary_libm! {
    /// `f32.ceil`.
    f32_ceil(f32, f32_quiet) = libm::ceilf;
    /// `f32.floor`.
    f32_floor(f32, f32_quiet) = libm::floorf;
    /// `f32.trunc`.
    f32_trunc(f32, f32_quiet) = libm::truncf;
    /// `f32.nearest`: round to nearest, ties to even.
    f32_nearest(f32, f32_quiet) = libm::rintf;
    /// `f64.ceil`.
    f64_ceil(f64, f64_quiet) = libm::ceil;
    /// `f64.floor`.
    f64_floor(f64, f64_quiet) = libm::floor;
    /// `f64.trunc`.
    f64_trunc(f64, f64_quiet) = libm::trunc;
    /// `f64.nearest`: round to nearest, ties to even.
    f64_nearest(f64, f64_quiet) = libm::rint;
    /// `f32.sqrt`: correctly rounded; `sqrt(-0.0) == -0.0`.
    f32_sqrt(f32, f32_quiet) = f32_sqrt_number;
    /// `f64.sqrt`: correctly rounded; `sqrt(-0.0) == -0.0`.
    f64_sqrt(f64, f64_quiet) = f64_sqrt_number;
}

macro_rules! sqrt_number {
    ($( $name:ident($ty:ty, $canonical:ident) = $libm:path; )*) => {$(
        /// The square root of a non-NaN: a canonical NaN below zero (not `-0.0`), else libm's
        /// correctly rounded result.
        #[inline]
        fn $name(x: $ty) -> $ty {
            if x < 0.0 { $canonical() } else { $libm(x) }
        }
    )*};
}

sqrt_number! {
    f32_sqrt_number(f32, f32_canonical) = libm::sqrtf;
    f64_sqrt_number(f64, f64_canonical) = libm::sqrt;
}

macro_rules! sign_bits {
    ($( $abs:ident, $copysign:ident, $ty:ty, $sign:expr; )*) => {$(
        #[doc = concat!("`", stringify!($ty), ".abs`: clears the sign bit.")]
        ///
        /// Never traps. A bit operation: a NaN keeps its payload (even a signalling one).
        pub extern "C" fn $abs(x: $ty) -> $ty {
            <$ty>::from_bits(x.to_bits() & !$sign)
        }

        #[doc = concat!("`", stringify!($ty), ".copysign`: `a` with the sign bit of `b`.")]
        ///
        /// Never traps. A bit operation: a NaN keeps its payload (even a signalling one).
        pub extern "C" fn $copysign(a: $ty, b: $ty) -> $ty {
            <$ty>::from_bits((a.to_bits() & !$sign) | (b.to_bits() & $sign))
        }
    )*};
}

sign_bits! {
    f32_abs, f32_copysign, f32, 1u32 << 31;
    f64_abs, f64_copysign, f64, 1u64 << 63;
}

macro_rules! min_max {
    ($( $min:ident, $max:ident, $ty:ty, $propagate:ident; )*) => {$(
        #[doc = concat!("`", stringify!($ty), ".min`: wasm semantics, not IEEE `minNum`.")]
        ///
        /// Never traps. NaN if either operand is NaN (canonical if a NaN operand is, else the
        /// first one quietened); `-0.0` is less than `+0.0`.
        pub extern "C" fn $min(a: $ty, b: $ty) -> $ty {
            if a.is_nan() || b.is_nan() {
                $propagate(a, b)
            } else if a < b {
                a
            } else if b < a {
                b
            } else {
                // Equal: identical bits, or zeros of either sign (-0 wins).
                <$ty>::from_bits(a.to_bits() | b.to_bits())
            }
        }

        #[doc = concat!("`", stringify!($ty), ".max`: wasm semantics, not IEEE `maxNum`.")]
        ///
        /// Never traps. NaN if either operand is NaN (canonical if a NaN operand is, else the
        /// first one quietened); `+0.0` is greater than `-0.0`.
        pub extern "C" fn $max(a: $ty, b: $ty) -> $ty {
            if a.is_nan() || b.is_nan() {
                $propagate(a, b)
            } else if a > b {
                a
            } else if b > a {
                b
            } else {
                // Equal: identical bits, or zeros of either sign (+0 wins).
                <$ty>::from_bits(a.to_bits() & b.to_bits())
            }
        }
    )*};
}

min_max! {
    f32_min, f32_max, f32, f32_propagate;
    f64_min, f64_max, f64, f64_propagate;
}

macro_rules! compare {
    ($( $name:ident($ty:ty); )*) => {$(
        #[doc = concat!(
            "`", stringify!($ty), ".eq/ne/lt/gt/le/ge`: 1 if comparison `cond` (a [`FloatCmp`] ",
            "discriminant) holds for `a` and `b`, else 0."
        )]
        ///
        /// Never traps. With a NaN operand every comparison is false except `Ne`; `-0.0 == 0.0`.
        /// An unknown `cond` gives 0.
        pub extern "C" fn $name(cond: i32, a: $ty, b: $ty) -> i32 {
            let holds = match FloatCmp::from_i32(cond) {
                Some(FloatCmp::Eq) => a == b,
                Some(FloatCmp::Ne) => a != b,
                Some(FloatCmp::Lt) => a < b,
                Some(FloatCmp::Gt) => a > b,
                Some(FloatCmp::Le) => a <= b,
                Some(FloatCmp::Ge) => a >= b,
                None => false,
            };
            i32::from(holds)
        }
    )*};
}

compare! {
    f32_cmp(f32);
    f64_cmp(f64);
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    const F32_QUIET: u32 = 1 << 22;
    const F64_QUIET: u64 = 1 << 51;
    const F32_CANON: u32 = 0x7fc0_0000;
    const F64_CANON: u64 = 0x7ff8_0000_0000_0000;

    fn f32_is_canonical(x: f32) -> bool {
        x.to_bits() & 0x7fff_ffff == F32_CANON
    }
    fn f64_is_canonical(x: f64) -> bool {
        x.to_bits() & 0x7fff_ffff_ffff_ffff == F64_CANON
    }

    fn f32_specials() -> Vec<f32> {
        let mut v: Vec<f32> = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            1.0,
            -1.0,
            0.49999997,
            8_388_607.5,
            8_388_608.0,
            16_777_215.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            f32::EPSILON,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]
        .to_vec();
        for bits in [
            1u32,
            0x8000_0001,
            F32_CANON,
            0xffc0_0000,
            0x7f80_0001,
            0x7fa0_0000,
            0xffc1_2345,
        ] {
            v.push(f32::from_bits(bits));
        }
        v
    }

    fn f64_specials() -> Vec<f64> {
        let mut v: Vec<f64> = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            1.0,
            -1.0,
            0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]
        .to_vec();
        for bits in [
            1u64,
            0x8000_0000_0000_0001,
            F64_CANON,
            0xfff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
            0x7ff4_0000_0000_0000,
            0xfff8_1234_5678_9abc,
        ] {
            v.push(f64::from_bits(bits));
        }
        v
    }

    /// A NaN result must be an arithmetic NaN, canonical when every NaN input is.
    fn check_f32_nan(result: f32, inputs: &[f32]) {
        assert!(result.is_nan());
        assert_ne!(result.to_bits() & F32_QUIET, 0, "quiet bit of {result:?}");
        if inputs.iter().all(|x| !x.is_nan() || f32_is_canonical(*x)) {
            assert!(
                f32_is_canonical(result),
                "{:#x} from {inputs:?}",
                result.to_bits()
            );
        }
    }

    fn check_f64_nan(result: f64, inputs: &[f64]) {
        assert!(result.is_nan());
        assert_ne!(result.to_bits() & F64_QUIET, 0, "quiet bit of {result:?}");
        if inputs.iter().all(|x| !x.is_nan() || f64_is_canonical(*x)) {
            assert!(
                f64_is_canonical(result),
                "{:#x} from {inputs:?}",
                result.to_bits()
            );
        }
    }

    fn same_f32(got: f32, want: f32, inputs: &[f32]) {
        if want.is_nan() {
            check_f32_nan(got, inputs);
        } else {
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{got} vs {want} for {inputs:?}"
            );
        }
    }

    fn same_f64(got: f64, want: f64, inputs: &[f64]) {
        if want.is_nan() {
            check_f64_nan(got, inputs);
        } else {
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{got} vs {want} for {inputs:?}"
            );
        }
    }

    /// Reference wasm min/max on f64 (also used for f32 through exact promotion).
    fn ref_min(a: f64, b: f64) -> f64 {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if a == 0.0 && b == 0.0 {
            if a.is_sign_negative() { a } else { b }
        } else {
            a.min(b)
        }
    }
    fn ref_max(a: f64, b: f64) -> f64 {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if a == 0.0 && b == 0.0 {
            if a.is_sign_positive() { a } else { b }
        } else {
            a.max(b)
        }
    }

    #[test]
    fn unary_f32_matches_std() {
        for x in f32_specials() {
            let i = [x];
            same_f32(f32_ceil(x), x.ceil(), &i);
            same_f32(f32_floor(x), x.floor(), &i);
            same_f32(f32_trunc(x), x.trunc(), &i);
            same_f32(f32_nearest(x), x.round_ties_even(), &i);
            same_f32(f32_sqrt(x), x.sqrt(), &i);
            assert_eq!(f32_abs(x).to_bits(), x.to_bits() & 0x7fff_ffff);
        }
    }

    #[test]
    fn unary_f64_matches_std() {
        for x in f64_specials() {
            let i = [x];
            same_f64(f64_ceil(x), x.ceil(), &i);
            same_f64(f64_floor(x), x.floor(), &i);
            same_f64(f64_trunc(x), x.trunc(), &i);
            same_f64(f64_nearest(x), x.round_ties_even(), &i);
            same_f64(f64_sqrt(x), x.sqrt(), &i);
            assert_eq!(f64_abs(x).to_bits(), x.to_bits() & !(1 << 63));
        }
    }

    #[test]
    fn rounding_edge_cases() {
        assert_eq!(f32_nearest(2.5), 2.0);
        assert_eq!(f32_nearest(3.5), 4.0);
        assert_eq!(f32_nearest(-2.5).to_bits(), (-2.0f32).to_bits());
        assert_eq!(f64_nearest(-0.5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_nearest(0.49999999999999994), 0.0);
        assert_eq!(f64_ceil(-0.5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f32_floor(-0.5), -1.0);
        assert_eq!(f32_floor(0.0f32).to_bits(), 0);
        assert_eq!(f64_trunc(-1.7), -1.0);
        assert_eq!(f64_trunc(-0.7).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_trunc(f64::INFINITY), f64::INFINITY);
        assert_eq!(f32_nearest(16_777_215.0), 16_777_215.0);
        assert_eq!(f32_nearest(8_388_607.5), 8_388_608.0);
        assert_eq!(
            f64_nearest(4_503_599_627_370_495.5),
            4_503_599_627_370_496.0
        );
        let snan = f64::from_bits(0x7ff0_0000_0000_0001);
        check_f64_nan(f64_floor(snan), &[snan]);
        let snan32 = f32::from_bits(0x7fa0_0000);
        check_f32_nan(f32_sqrt(snan32), &[snan32]);
        assert_eq!(f64_sqrt(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(f64_is_canonical(f64_sqrt(-1.0)));
        assert!(f32_is_canonical(f32_sqrt(f32::NEG_INFINITY)));
    }

    #[test]
    fn binary_f32_matches_std() {
        let xs = f32_specials();
        for &a in &xs {
            for &b in &xs {
                let i = [a, b];
                same_f32(f32_add(a, b), a + b, &i);
                same_f32(f32_sub(a, b), a - b, &i);
                same_f32(f32_mul(a, b), a * b, &i);
                same_f32(f32_div(a, b), a / b, &i);
                same_f32(f32_min(a, b), ref_min(a.into(), b.into()) as f32, &i);
                same_f32(f32_max(a, b), ref_max(a.into(), b.into()) as f32, &i);
                assert_eq!(
                    f32_copysign(a, b).to_bits(),
                    (a.to_bits() & 0x7fff_ffff) | (b.to_bits() & 0x8000_0000)
                );
                for (cond, want) in [
                    (FloatCmp::Eq, a == b),
                    (FloatCmp::Ne, a != b),
                    (FloatCmp::Lt, a < b),
                    (FloatCmp::Gt, a > b),
                    (FloatCmp::Le, a <= b),
                    (FloatCmp::Ge, a >= b),
                ] {
                    assert_eq!(f32_cmp(cond as i32, a, b), i32::from(want));
                }
                assert_eq!(f32_cmp(6, a, b), 0);
                assert_eq!(f32_cmp(-1, a, b), 0);
            }
        }
    }

    #[test]
    fn binary_f64_matches_std() {
        let xs = f64_specials();
        for &a in &xs {
            for &b in &xs {
                let i = [a, b];
                same_f64(f64_add(a, b), a + b, &i);
                same_f64(f64_sub(a, b), a - b, &i);
                same_f64(f64_mul(a, b), a * b, &i);
                same_f64(f64_div(a, b), a / b, &i);
                same_f64(f64_min(a, b), ref_min(a, b), &i);
                same_f64(f64_max(a, b), ref_max(a, b), &i);
                assert_eq!(
                    f64_copysign(a, b).to_bits(),
                    (a.to_bits() & !(1 << 63)) | (b.to_bits() & (1 << 63))
                );
                for (cond, want) in [
                    (FloatCmp::Eq, a == b),
                    (FloatCmp::Ne, a != b),
                    (FloatCmp::Lt, a < b),
                    (FloatCmp::Gt, a > b),
                    (FloatCmp::Le, a <= b),
                    (FloatCmp::Ge, a >= b),
                ] {
                    assert_eq!(f64_cmp(cond as i32, a, b), i32::from(want));
                }
                assert_eq!(f64_cmp(i32::MAX, a, b), 0);
            }
        }
    }

    #[test]
    fn min_max_zeros_and_nans() {
        assert_eq!(f32_min(0.0, -0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32_min(-0.0, 0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32_max(-0.0, 0.0).to_bits(), 0);
        assert_eq!(f64_max(0.0, -0.0).to_bits(), 0);
        assert_eq!(f64_min(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        // Not IEEE minNum: a quiet NaN operand does not lose against a number.
        assert!(f64_min(f64::NAN, 1.0).is_nan());
        assert!(f64_max(1.0, f64::NAN).is_nan());
        assert!(f32_min(f32::NEG_INFINITY, f32::NAN).is_nan());
        // A signalling NaN comes out quietened.
        let snan = f32::from_bits(0x7f80_0001);
        check_f32_nan(f32_max(snan, 3.0), &[snan]);
        check_f32_nan(f32_min(f32::NAN, f32::from_bits(0xffc0_0000)), &[f32::NAN]);
        assert_eq!(f64_min(f64::NEG_INFINITY, f64::MAX), f64::NEG_INFINITY);
    }

    #[test]
    fn nan_propagation_is_deterministic() {
        let f = f32::from_bits;
        let d = f64::from_bits;
        // The first NaN operand, quietened, when none is canonical.
        assert_eq!(
            f32_add(f(0xffe1_2345), f(0x7fa0_0000)).to_bits(),
            0xffe1_2345
        );
        assert_eq!(f32_mul(1.0, f(0x7fa0_0000)).to_bits(), 0x7fe0_0000);
        assert_eq!(
            f64_add(d(0x7ff0_0000_0000_0001), 1.0).to_bits(),
            0x7ff8_0000_0000_0001
        );
        assert_eq!(
            f64_div(d(0xfff4_0000_0000_0000), d(0x7ff0_0000_0000_0001)).to_bits(),
            0xfffc_0000_0000_0000
        );
        assert_eq!(
            f32_min(f(0x7f80_0001), f(0x7fc0_0002)).to_bits(),
            0x7fc0_0001
        );
        assert_eq!(
            f64_max(0.0, d(0x7ff0_0000_0000_0001)).to_bits(),
            0x7ff8_0000_0000_0001
        );
        assert_eq!(
            f64_floor(d(0x7ff0_0000_0000_0001)).to_bits(),
            0x7ff8_0000_0000_0001
        );
        assert_eq!(f32_sqrt(f(0xff80_0003)).to_bits(), 0xffc0_0003);
        // Canonical as soon as a NaN operand is canonical, whatever the other one.
        assert_eq!(
            f32_min(f(0x7fc0_0001), f(0xffc0_0000)).to_bits(),
            0x7fc0_0000
        );
        assert_eq!(
            f32_max(f(0xffc0_0000), f(0x7f80_0001)).to_bits(),
            0x7fc0_0000
        );
        assert_eq!(
            f64_sub(d(0xfffc_1234_5678_9abc), f64::NAN).to_bits(),
            F64_CANON
        );
        assert_eq!(
            f64_nearest(d(0xfff8_0000_0000_0000)).to_bits(),
            0xfff8_0000_0000_0000
        );
    }

    #[test]
    fn sign_bit_operations_keep_nan_payloads() {
        let snan = f32::from_bits(0xff80_0001);
        assert_eq!(f32_abs(snan).to_bits(), 0x7f80_0001);
        assert_eq!(f32_copysign(snan, 1.0).to_bits(), 0x7f80_0001);
        assert_eq!(f32_copysign(1.0, snan).to_bits(), (-1.0f32).to_bits());
        let snan64 = f64::from_bits(0x7ff0_0000_0000_0001);
        assert_eq!(f64_copysign(snan64, -0.0).to_bits(), 0xfff0_0000_0000_0001);
        assert_eq!(f64_abs(-0.0).to_bits(), 0);
        assert_eq!(f64_copysign(0.0, -1.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn arithmetic_nans() {
        assert!(f32_is_canonical(f32_sub(f32::INFINITY, f32::INFINITY)));
        assert!(f64_is_canonical(f64_mul(0.0, f64::INFINITY)));
        assert!(f64_is_canonical(f64_div(0.0, -0.0)));
        assert_eq!(f32_div(1.0, -0.0), f32::NEG_INFINITY);
        assert_eq!(f64_add(-0.0, -0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_add(-0.0, 0.0).to_bits(), 0);
        // A signalling NaN comes out quietened.
        let snan = f64::from_bits(0x7ff0_0000_0000_0001);
        check_f64_nan(f64_add(snan, 1.0), &[snan]);
    }
}
