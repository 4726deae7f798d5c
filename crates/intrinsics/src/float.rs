//! Float intrinsics: arithmetic (`add`, `sub`, `mul`, `div`, `sqrt`, and `mul_add`, a product
//! and a sum in one call, each rounded as wasm rounds it), rounding (`ceil`,
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
        $canonical:ident, $quiet:ident, $propagate:ident, $nan_result:ident, $ty:ty,
        $canonical_bits:expr, $quiet_bit:expr, $magnitude:expr;
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

        /// The result of an arithmetic operation on `a` and `b` whose native result is a NaN:
        /// propagated from a NaN operand, else (an invalid operation) canonical.
        #[cold]
        fn $nan_result(a: $ty, b: $ty) -> $ty {
            if a.is_nan() || b.is_nan() {
                $propagate(a, b)
            } else {
                $canonical()
            }
        }
    )*};
}

nan_rules! {
    f32_canonical, f32_quiet, f32_propagate, f32_nan_result, f32, 0x7fc0_0000u32, 1u32 << 22,
        !(1u32 << 31);
    f64_canonical, f64_quiet, f64_propagate, f64_nan_result, f64, 0x7ff8_0000_0000_0000u64,
        1u64 << 51, !(1u64 << 63);
}

macro_rules! arithmetic {
    ($( $(#[$attr:meta])* $name:ident($ty:ty, $nan_result:ident) = $op:tt; )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps. IEEE 754, rounding to nearest, ties to even; a NaN operand propagates
            /// (canonical if a NaN operand is, else the first one quietened); an invalid operation
            /// (`inf - inf`, `0 * inf`, `0 / 0`, `inf / inf`) gives a canonical NaN.
            pub fn $name(a: $ty, b: $ty) -> $ty {
                let result = a $op b;
                if !result.is_nan() {
                    // Only a NaN result needs wasm's NaN rules: one check on the fast path.
                    result
                } else {
                    $nan_result(a, b)
                }
            }
        }
    )*};
}

arithmetic! {
    /// `f32.add`.
    f32_add(f32, f32_nan_result) = +;
    /// `f32.sub`.
    f32_sub(f32, f32_nan_result) = -;
    /// `f32.mul`.
    f32_mul(f32, f32_nan_result) = *;
    /// `f32.div` (division by zero gives ±inf or NaN, as wasm says: floats never trap).
    f32_div(f32, f32_nan_result) = /;
    /// `f64.add`.
    f64_add(f64, f64_nan_result) = +;
    /// `f64.sub`.
    f64_sub(f64, f64_nan_result) = -;
    /// `f64.mul`.
    f64_mul(f64, f64_nan_result) = *;
    /// `f64.div` (division by zero gives ±inf or NaN, as wasm says: floats never trap).
    f64_div(f64, f64_nan_result) = /;
}

macro_rules! mul_add {
    ($( $(#[$attr:meta])* $name:ident($ty:ty, $nan_result:ident); )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps. Exactly the two wasm operations, each rounded to nearest, ties to
            /// even, with their NaN rules: the product's, then the sum's (so a NaN product that
            /// came from NaN operands propagates as `mul` would give it).
            pub fn $name(a: $ty, b: $ty, c: $ty) -> $ty {
                let product = a * b;
                let result = product + c;
                if !result.is_nan() {
                    result
                } else {
                    let product = if product.is_nan() { $nan_result(a, b) } else { product };
                    $nan_result(product, c)
                }
            }
        }
    )*};
}

mul_add! {
    /// `f32.mul` then `f32.add`: `a * b + c`, rounded after each operation.
    f32_mul_add(f32, f32_nan_result);
    /// `f64.mul` then `f64.add`: `a * b + c`, rounded after each operation.
    f64_mul_add(f64, f64_nan_result);
}

macro_rules! rounding {
    ($(
        $trunc:ident, $floor:ident, $ceil:ident, $nearest:ident, $sqrt:ident:
        $ty:ty, $bits:ty, $fraction_bits:expr, $quiet:ident, $canonical:ident, $sqrt_libm:path,
        $round_insn:literal;
    )*) => {$(
        /// The number of fraction (mantissa) bits.
        const FRACTION_BITS: u32 = $fraction_bits;
        /// The exponent's bias.
        const EXPONENT_BIAS: i32 = (1 << (<$bits>::BITS - FRACTION_BITS - 2)) - 1;
        /// 2^FRACTION_BITS: every float this large or larger is an integer.
        const INTEGRAL: $ty =
            <$ty>::from_bits(((EXPONENT_BIAS as u32 + FRACTION_BITS) as $bits) << FRACTION_BITS);

        /// `x` rounded toward zero by clearing its fraction bits: exact, signed zeros kept; a
        /// NaN is returned quietened.
        #[inline]
        fn round_toward_zero(x: $ty) -> $ty {
            let bits = x.to_bits();
            let exponent = ((bits << 1) >> (FRACTION_BITS + 1)) as i32 - EXPONENT_BIAS;
            if exponent >= FRACTION_BITS as i32 {
                // Integral already, an infinity, or a NaN.
                if x.is_nan() { $quiet(x) } else { x }
            } else if exponent < 0 {
                // |x| < 1: a zero of x's sign.
                <$ty>::from_bits(bits & (1 << (<$bits>::BITS - 1)))
            } else {
                <$ty>::from_bits(bits & !((1 << (FRACTION_BITS as i32 - exponent)) - 1))
            }
        }

        /// `trunc` on the bits (what every host without a rounding instruction runs).
        #[inline]
        pub(super) fn trunc_bits(x: $ty) -> $ty {
            round_toward_zero(x)
        }

        /// `floor` on the bits.
        #[inline]
        pub(super) fn floor_bits(x: $ty) -> $ty {
            let t = round_toward_zero(x);
            // A negative non-integer: one below its truncation (exact: |t| < INTEGRAL).
            if x < t { t - 1.0 } else { t }
        }

        /// `ceil` on the bits.
        #[inline]
        pub(super) fn ceil_bits(x: $ty) -> $ty {
            let t = round_toward_zero(x);
            // A positive non-integer: one above its truncation (exact: |t| < INTEGRAL).
            if x > t { t + 1.0 } else { t }
        }

        /// `nearest` on the bits.
        #[inline]
        pub(super) fn nearest_bits(x: $ty) -> $ty {
            let magnitude = <$ty>::from_bits(x.to_bits() & !(1 << (<$bits>::BITS - 1)));
            if magnitude < INTEGRAL {
                // Adding INTEGRAL leaves no fraction bits, so the addition rounds to the
                // nearest integer, ties to even, and the subtraction is exact.
                let rounded = (magnitude + INTEGRAL) - INTEGRAL;
                // Back to x's sign (a zero keeps it: nearest(-0.4) == -0.0).
                <$ty>::from_bits(rounded.to_bits() | (x.to_bits() & (1 << (<$bits>::BITS - 1))))
            } else if x.is_nan() {
                $quiet(x)
            } else {
                x
            }
        }

        /// `x` rounded by SSE4.1's `round` instruction in `MODE` (an immediate: 8 nearest, ties
        /// to even; 9 toward negative infinity; 10 toward positive infinity; 11 toward zero; the
        /// 8 suppresses the inexact exception). It keeps signed zeros and infinities and returns
        /// a NaN quietened, exactly as the `_bits` functions do.
        #[cfg(target_arch = "x86_64")]
        #[inline]
        fn round_sse41<const MODE: u8>(mut x: $ty) -> $ty {
            // SAFETY: called only when `host::has_sse41()`; the instruction reads and writes
            // one register and nothing else.
            unsafe {
                core::arch::asm!(
                    concat!($round_insn, " {x}, {x}, {mode}"),
                    x = inout(xmm_reg) x,
                    mode = const MODE,
                    options(pure, nomem, nostack, preserves_flags),
                );
            }
            x
        }

        /// `$bits_fn(x)`, or SSE4.1's `round` in `$mode` on an x86-64 host that has it (one
        /// instruction instead of a dozen with branches).
        macro_rules! round_with {
            ($mode:literal, $bits_fn:ident, $x:ident) => {{
                #[cfg(target_arch = "x86_64")]
                if crate::host::has_sse41() {
                    return round_sse41::<$mode>($x);
                }
                $bits_fn($x)
            }};
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".trunc`: rounds toward zero.")]
            ///
            /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
            /// arithmetic NaN, canonical when the input is); signed zeros and infinities are kept.
            pub fn $trunc(x: $ty) -> $ty {
                round_with!(11, trunc_bits, x)
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".floor`: rounds toward negative infinity.")]
            ///
            /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
            /// arithmetic NaN, canonical when the input is); signed zeros and infinities are kept.
            pub fn $floor(x: $ty) -> $ty {
                round_with!(9, floor_bits, x)
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".ceil`: rounds toward positive infinity.")]
            ///
            /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
            /// arithmetic NaN, canonical when the input is); signed zeros and infinities are kept
            /// (`ceil(-0.5) == -0.0`).
            pub fn $ceil(x: $ty) -> $ty {
                round_with!(10, ceil_bits, x)
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".nearest`: round to nearest, ties to even.")]
            ///
            /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
            /// arithmetic NaN, canonical when the input is); signed zeros and infinities are kept.
            pub fn $nearest(x: $ty) -> $ty {
                round_with!(8, nearest_bits, x)
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".sqrt`: correctly rounded; `sqrt(-0.0) == -0.0`.")]
            ///
            /// Never traps. A NaN input yields itself quietened (payload and sign kept: an
            /// arithmetic NaN, canonical when the input is); below zero a canonical NaN.
            pub fn $sqrt(x: $ty) -> $ty {
                if x.is_nan() {
                    $quiet(x)
                } else if x < 0.0 {
                    $canonical()
                } else {
                    $sqrt_libm(x)
                }
            }
        }
    )*};
}

/// f32's rounding and square root.
mod f32_rounding {
    use super::*;

    rounding! {
        f32_trunc, f32_floor, f32_ceil, f32_nearest, f32_sqrt:
        f32, u32, 23, f32_quiet, f32_canonical, libm::sqrtf, "roundss";
    }
}

/// f64's rounding and square root.
mod f64_rounding {
    use super::*;

    rounding! {
        f64_trunc, f64_floor, f64_ceil, f64_nearest, f64_sqrt:
        f64, u64, 52, f64_quiet, f64_canonical, libm::sqrt, "roundsd";
    }
}

pub use f32_rounding::{f32_ceil, f32_floor, f32_nearest, f32_sqrt, f32_trunc};
pub use f64_rounding::{f64_ceil, f64_floor, f64_nearest, f64_sqrt, f64_trunc};

macro_rules! sign_bits {
    ($( $abs:ident, $copysign:ident, $ty:ty, $sign:expr; )*) => {$(
        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".abs`: clears the sign bit.")]
            ///
            /// Never traps. A bit operation: a NaN keeps its payload (even a signalling one).
            pub fn $abs(x: $ty) -> $ty {
                <$ty>::from_bits(x.to_bits() & !$sign)
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".copysign`: `a` with the sign bit of `b`.")]
            ///
            /// Never traps. A bit operation: a NaN keeps its payload (even a signalling one).
            pub fn $copysign(a: $ty, b: $ty) -> $ty {
                <$ty>::from_bits((a.to_bits() & !$sign) | (b.to_bits() & $sign))
            }
        }
    )*};
}

sign_bits! {
    f32_abs, f32_copysign, f32, 1u32 << 31;
    f64_abs, f64_copysign, f64, 1u64 << 63;
}

macro_rules! min_max {
    ($( $min:ident, $max:ident, $ty:ty, $propagate:ident; )*) => {$(
        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".min`: wasm semantics, not IEEE `minNum`.")]
            ///
            /// Never traps. NaN if either operand is NaN (canonical if a NaN operand is, else the
            /// first one quietened); `-0.0` is less than `+0.0`.
            pub fn $min(a: $ty, b: $ty) -> $ty {
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
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".max`: wasm semantics, not IEEE `maxNum`.")]
            ///
            /// Never traps. NaN if either operand is NaN (canonical if a NaN operand is, else the
            /// first one quietened); `+0.0` is greater than `-0.0`.
            pub fn $max(a: $ty, b: $ty) -> $ty {
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
        }
    )*};
}

min_max! {
    f32_min, f32_max, f32, f32_propagate;
    f64_min, f64_max, f64, f64_propagate;
}

/// For each [`FloatCmp`] code, the outcomes of comparing `a` with `b` for which it holds, one bit
/// each: bit 0 `a < b`, bit 1 `a == b`, bit 2 `a > b`, bit 3 unordered (a NaN operand).
const CMP_HOLDS: [u8; 6] = {
    let mut table = [0u8; 6];
    table[FloatCmp::Eq as usize] = 0b0010;
    table[FloatCmp::Ne as usize] = 0b1101;
    table[FloatCmp::Lt as usize] = 0b0001;
    table[FloatCmp::Gt as usize] = 0b0100;
    table[FloatCmp::Le as usize] = 0b0011;
    table[FloatCmp::Ge as usize] = 0b0110;
    table
};

macro_rules! compare {
    ($( $name:ident($ty:ty, $bits:ty); )*) => {$(
        intrinsic! {
            #[doc = concat!(
                "`", stringify!($ty), ".eq/ne/lt/gt/le/ge`: 1 if comparison `cond` (a [`FloatCmp`] ",
                "discriminant) holds for `a` and `b`, else 0."
            )]
            ///
            /// With [`FloatCmp::ABS_A`] (or [`FloatCmp::ABS_B`]) added to `cond`, `|a|` (or `|b|`)
            /// is compared: `abs` and the comparison in one call.
            ///
            /// Never traps. With a NaN operand every comparison is false except `Ne`; `-0.0 == 0.0`.
            /// An unknown `cond` gives 0. Branch-free: the outcome selects a bit of the
            /// condition's row of `CMP_HOLDS`.
            pub fn $name(cond: i32, a: $ty, b: $ty) -> i32 {
                // The flags' bits shift the sign bit out of an all-ones mask: |x| on the bits.
                let mask = |flag: i32| <$bits>::MAX >> u32::from(cond & flag != 0);
                let a = <$ty>::from_bits(a.to_bits() & mask(FloatCmp::ABS_A));
                let b = <$ty>::from_bits(b.to_bits() & mask(FloatCmp::ABS_B));
                let code = cond & !(FloatCmp::ABS_A | FloatCmp::ABS_B);
                let less = u32::from(a < b);
                let equal = u32::from(a == b);
                let greater = u32::from(a > b);
                let unordered = 1 - (less | equal | greater);
                let outcome = equal | (greater << 1) | (unordered * 3);
                let holds = CMP_HOLDS.get(code as u32 as usize).copied().unwrap_or(0);
                i32::from((holds >> outcome) & 1)
            }
        }
    )*};
}

compare! {
    f32_cmp(f32, u32);
    f64_cmp(f64, u64);
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

    /// The bit-level rounding agrees with std's on a sweep of bit patterns: every exponent,
    /// both signs, NaNs and subnormals included (a xorshift sequence over the whole range).
    #[test]
    fn rounding_matches_std_on_a_bit_pattern_sweep() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            let i = [x];
            same_f64(f64_ceil(x), x.ceil(), &i);
            same_f64(f64_floor(x), x.floor(), &i);
            same_f64(f64_trunc(x), x.trunc(), &i);
            same_f64(f64_nearest(x), x.round_ties_even(), &i);
            // The bit-level versions, which a host with SSE4.1 does not call.
            same_f64(f64_rounding::ceil_bits(x), x.ceil(), &i);
            same_f64(f64_rounding::floor_bits(x), x.floor(), &i);
            same_f64(f64_rounding::trunc_bits(x), x.trunc(), &i);
            same_f64(f64_rounding::nearest_bits(x), x.round_ties_even(), &i);
            // Also values near the integers, where rounding decides.
            let near = (state >> 40) as f64 / 256.0 - 32_768.0;
            same_f64(f64_nearest(near), near.round_ties_even(), &[near]);
            same_f64(f64_floor(near), near.floor(), &[near]);
            same_f64(
                f64_rounding::nearest_bits(near),
                near.round_ties_even(),
                &[near],
            );
            same_f64(f64_rounding::floor_bits(near), near.floor(), &[near]);
            let y = f32::from_bits(state as u32);
            let j = [y];
            same_f32(f32_ceil(y), y.ceil(), &j);
            same_f32(f32_floor(y), y.floor(), &j);
            same_f32(f32_trunc(y), y.trunc(), &j);
            same_f32(f32_nearest(y), y.round_ties_even(), &j);
            same_f32(f32_rounding::ceil_bits(y), y.ceil(), &j);
            same_f32(f32_rounding::floor_bits(y), y.floor(), &j);
            same_f32(f32_rounding::trunc_bits(y), y.trunc(), &j);
            same_f32(f32_rounding::nearest_bits(y), y.round_ties_even(), &j);
            let near = near as f32;
            same_f32(f32_nearest(near), near.round_ties_even(), &[near]);
            same_f32(f32_ceil(near), near.ceil(), &[near]);
            same_f32(
                f32_rounding::nearest_bits(near),
                near.round_ties_even(),
                &[near],
            );
            same_f32(f32_rounding::ceil_bits(near), near.ceil(), &[near]);
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
                for &c in &xs {
                    assert_eq!(
                        f32_mul_add(a, b, c).to_bits(),
                        f32_add(f32_mul(a, b), c).to_bits(),
                        "{a:?} * {b:?} + {c:?}"
                    );
                }
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
                    let code = cond as i32 | FloatCmp::ABS_A | FloatCmp::ABS_B;
                    assert_eq!(f32_cmp(code, a, b), f32_cmp(cond as i32, a.abs(), b.abs()));
                    let code = cond as i32 | FloatCmp::ABS_A;
                    assert_eq!(f32_cmp(code, a, b), f32_cmp(cond as i32, a.abs(), b));
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
                for &c in &xs {
                    assert_eq!(
                        f64_mul_add(a, b, c).to_bits(),
                        f64_add(f64_mul(a, b), c).to_bits(),
                        "{a:?} * {b:?} + {c:?}"
                    );
                }
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
                    let code = cond as i32 | FloatCmp::ABS_B;
                    assert_eq!(f64_cmp(code, a, b), f64_cmp(cond as i32, a, b.abs()));
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
