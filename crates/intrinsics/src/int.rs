//! Integer intrinsics: bit counts (`clz`, `ctz`, `popcnt`) for i32 and i64, division and
//! remainder (`div_s`, `div_u`, `rem_s`, `rem_u`) for i32 and i64, and the i64 operations some
//! 32-bit targets lack (`or`, `and`, `mul`, `shl`, `shr_s`, `shr_u`).
//!
//! None of them trap or panic. Compiled code checks the trapping cases of division before
//! calling (a zero divisor: "integer divide by zero"; `MIN / -1` for `div_s`: "integer
//! overflow"); given them anyway, these functions return 0 for a zero divisor and wrap `MIN / -1`
//! to `MIN`. `rem_s(MIN, -1)` is 0, as wasm says (not a trap).

macro_rules! bit_count {
    ($( $(#[$attr:meta])* $name:ident($ty:ty) = $method:ident; )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps.
            pub fn $name(x: $ty) -> $ty {
                x.$method() as $ty
            }
        }
    )*};
}

bit_count! {
    /// `i32.clz`: leading zero bits (32 for 0).
    i32_clz(i32) = leading_zeros;
    /// `i32.ctz`: trailing zero bits (32 for 0).
    i32_ctz(i32) = trailing_zeros;
    /// `i32.popcnt`: one bits.
    i32_popcnt(i32) = count_ones;
    /// `i64.clz`: leading zero bits (64 for 0).
    i64_clz(i64) = leading_zeros;
    /// `i64.ctz`: trailing zero bits (64 for 0).
    i64_ctz(i64) = trailing_zeros;
    /// `i64.popcnt`: one bits.
    i64_popcnt(i64) = count_ones;
}

macro_rules! division {
    ($( $div_s:ident, $div_u:ident, $rem_s:ident, $rem_u:ident: $ty:ty, $uty:ty; )*) => {$(
        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".div_s`: signed division, truncating toward zero.")]
            ///
            /// Never traps: the caller checks for a zero divisor ("integer divide by zero") and
            /// `MIN / -1` ("integer overflow") and traps before calling. Out of contract: 0 for a
            /// zero divisor, `MIN` for `MIN / -1`.
            pub fn $div_s(a: $ty, b: $ty) -> $ty {
                if b == 0 { 0 } else { a.wrapping_div(b) }
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".div_u`: unsigned division.")]
            ///
            /// Never traps: the caller checks for a zero divisor ("integer divide by zero") and traps
            /// before calling. Out of contract: 0 for a zero divisor.
            pub fn $div_u(a: $ty, b: $ty) -> $ty {
                (a as $uty).checked_div(b as $uty).unwrap_or(0) as $ty
            }
        }

        intrinsic! {
            #[doc = concat!(
                "`", stringify!($ty), ".rem_s`: signed remainder, with the sign of the dividend; ",
                "`rem_s(MIN, -1) == 0`."
            )]
            ///
            /// Never traps: the caller checks for a zero divisor ("integer divide by zero") and traps
            /// before calling. Out of contract: 0 for a zero divisor.
            pub fn $rem_s(a: $ty, b: $ty) -> $ty {
                if b == 0 { 0 } else { a.wrapping_rem(b) }
            }
        }

        intrinsic! {
            #[doc = concat!("`", stringify!($ty), ".rem_u`: unsigned remainder.")]
            ///
            /// Never traps: the caller checks for a zero divisor ("integer divide by zero") and traps
            /// before calling. Out of contract: 0 for a zero divisor.
            pub fn $rem_u(a: $ty, b: $ty) -> $ty {
                (a as $uty).checked_rem(b as $uty).unwrap_or(0) as $ty
            }
        }
    )*};
}

division! {
    i32_div_s, i32_div_u, i32_rem_s, i32_rem_u: i32, u32;
    i64_div_s, i64_div_u, i64_rem_s, i64_rem_u: i64, u64;
}

macro_rules! binary_i64 {
    ($( $(#[$attr:meta])* $name:ident = |$a:ident, $b:ident| $body:expr; )*) => {$(
        intrinsic! {
            $(#[$attr])*
            ///
            /// Never traps.
            pub fn $name($a: i64, $b: i64) -> i64 {
                $body
            }
        }
    )*};
}

binary_i64! {
    /// `i64.or`.
    i64_or = |a, b| a | b;
    /// `i64.and`.
    i64_and = |a, b| a & b;
    /// `i64.mul`: the low 64 bits of the product (wrapping; the same for signed and unsigned).
    i64_mul = |a, b| a.wrapping_mul(b);
    /// `i64.shl`: shift count taken modulo 64.
    i64_shl = |a, b| a.wrapping_shl(shift_count(b));
    /// `i64.shr_s`: arithmetic shift right; shift count taken modulo 64.
    i64_shr_s = |a, b| a.wrapping_shr(shift_count(b));
    /// `i64.shr_u`: logical shift right; shift count taken modulo 64.
    i64_shr_u = |a, b| (a as u64).wrapping_shr(shift_count(b)) as i64;
}

/// A 64-bit shift count: `b` modulo 64.
const fn shift_count(b: i64) -> u32 {
    (b & 63) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const I32S: [i32; 12] = [
        0,
        1,
        -1,
        2,
        -2,
        3,
        7,
        -7,
        i32::MIN,
        i32::MAX,
        i32::MIN + 1,
        0x1234_5678,
    ];
    const I64S: [i64; 14] = [
        0,
        1,
        -1,
        2,
        -2,
        3,
        7,
        -7,
        63,
        64,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        0x1234_5678_9abc_def0,
    ];

    #[test]
    fn bit_counts() {
        assert_eq!(i32_clz(0), 32);
        assert_eq!(i32_ctz(0), 32);
        assert_eq!(i32_popcnt(-1), 32);
        assert_eq!(i32_clz(i32::MIN), 0);
        assert_eq!(i32_ctz(i32::MIN), 31);
        assert_eq!(i32_clz(1), 31);
        assert_eq!(i64_clz(0), 64);
        assert_eq!(i64_ctz(0), 64);
        assert_eq!(i64_popcnt(-1), 64);
        assert_eq!(i64_ctz(i64::MIN), 63);
        assert_eq!(i64_clz(1 << 40), 23);
        assert_eq!(i64_popcnt(0x1234_5678_9abc_def0), 32);
    }

    #[test]
    fn division_matches_rust() {
        for a in I32S {
            for b in I32S {
                if b == 0 {
                    assert_eq!(
                        (
                            i32_div_s(a, b),
                            i32_div_u(a, b),
                            i32_rem_s(a, b),
                            i32_rem_u(a, b)
                        ),
                        (0, 0, 0, 0)
                    );
                    continue;
                }
                if let Some(q) = a.checked_div(b) {
                    assert_eq!(i32_div_s(a, b), q, "{a} / {b}");
                }
                assert_eq!(i32_div_u(a, b), ((a as u32) / (b as u32)) as i32);
                assert_eq!(i32_rem_s(a, b), a.checked_rem(b).unwrap_or(0), "{a} % {b}");
                assert_eq!(i32_rem_u(a, b), ((a as u32) % (b as u32)) as i32);
            }
        }
        for a in I64S {
            for b in I64S {
                if b == 0 {
                    assert_eq!(
                        (
                            i64_div_s(a, b),
                            i64_div_u(a, b),
                            i64_rem_s(a, b),
                            i64_rem_u(a, b)
                        ),
                        (0, 0, 0, 0)
                    );
                    continue;
                }
                if let Some(q) = a.checked_div(b) {
                    assert_eq!(i64_div_s(a, b), q, "{a} / {b}");
                }
                assert_eq!(i64_div_u(a, b), ((a as u64) / (b as u64)) as i64);
                assert_eq!(i64_rem_s(a, b), a.checked_rem(b).unwrap_or(0), "{a} % {b}");
                assert_eq!(i64_rem_u(a, b), ((a as u64) % (b as u64)) as i64);
            }
        }
    }

    #[test]
    fn division_edges() {
        assert_eq!(i32_rem_s(i32::MIN, -1), 0);
        assert_eq!(i64_rem_s(i64::MIN, -1), 0);
        assert_eq!(i32_div_s(i32::MIN, -1), i32::MIN); // out of contract: wraps
        assert_eq!(i64_div_s(i64::MIN, -1), i64::MIN);
        assert_eq!(i32_div_s(-7, 2), -3);
        assert_eq!(i32_rem_s(-7, 2), -1);
        assert_eq!(i32_rem_s(7, -2), 1);
        assert_eq!(i32_div_u(-1, 2), i32::MAX);
        assert_eq!(i64_div_u(-1, -1), 1);
        assert_eq!(i64_rem_u(-1, 10), 5);
        assert_eq!(i64_div_s(i64::MIN, 2), -(1 << 62));
    }

    #[test]
    fn i64_operations() {
        for a in I64S {
            for b in I64S {
                assert_eq!(i64_or(a, b), a | b);
                assert_eq!(i64_and(a, b), a & b);
                assert_eq!(i64_mul(a, b), a.wrapping_mul(b));
                let n = (b as u64 % 64) as u32;
                assert_eq!(i64_shl(a, b), a << n);
                assert_eq!(i64_shr_s(a, b), a >> n);
                assert_eq!(i64_shr_u(a, b), ((a as u64) >> n) as i64);
            }
        }
        assert_eq!(i64_shl(1, 64), 1);
        assert_eq!(i64_shl(1, 65), 2);
        assert_eq!(i64_shl(1, -1), i64::MIN);
        assert_eq!(i64_shr_s(i64::MIN, 63), -1);
        assert_eq!(i64_shr_u(i64::MIN, 63), 1);
        assert_eq!(i64_shr_u(-1, 0x1_0000_0001), i64::MAX);
        assert_eq!(i64_mul(i64::MIN, -1), i64::MIN);
    }
}
