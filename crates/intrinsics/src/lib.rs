//! The runtime's intrinsic functions: pure implementations of the wasm operations that compiled
//! code calls through the vmctx builtin table instead of using native instructions (XIP files
//! for targets without the instruction, `--enable-builtin-intrinsics`).
//!
//! There is one `pub extern "C" fn` per intrinsic entry of [`aotc_abi::foreach_builtin!`] (every
//! entry from `f32_add` on), named as the builtin and with exactly its signature (checked at
//! compile time below), so a runtime fills its builtin table with these addresses:
//!
//! - [`float`]: f32/f64 `add` `sub` `mul` `div` `sqrt`, `ceil` `floor` `trunc` `nearest`,
//!   `abs` `copysign`, `min` `max`, and the comparisons `f32_cmp`/`f64_cmp`;
//! - [`convert`]: integer to float, the (checked) trapping float to integer truncations,
//!   `f32_demote_f64` and `f64_promote_f32`;
//! - [`int`]: i32/i64 `clz` `ctz` `popcnt` `div_s` `div_u` `rem_s` `rem_u`, and i64 `or` `and`
//!   `mul` `shl` `shr_s` `shr_u`;
//! - [`simd`]: `i8x16_swizzle_half` (`i8x16.swizzle` without SSSE3's `pshufb`).
//!
//! Each function computes exactly what the wasm instruction computes: a NaN result is an
//! arithmetic NaN, canonical when every NaN operand is canonical (or there is none); `abs` and
//! `copysign` are bit operations; signed zeros are kept; `min`/`max` are wasm's (NaN if either
//! operand is NaN, `-0.0 < +0.0`), not IEEE `minNum`; `nearest` rounds half to even;
//! integer-to-float conversions round once, to nearest even.
//!
//! **No intrinsic traps or panics.** Where the wasm instruction can trap (integer division by
//! zero or overflow, float-to-integer truncation of NaN or of an out-of-range value), compiled
//! code checks the operands and raises the trap itself before calling; called out of that
//! contract anyway, the functions return a defined value (documented on each).
//!
//! `no_std`, depending only on `aotc-abi` and `libm`, so a device runtime can link it. Runtime
//! helpers that need an instance (`memory_grow`, `table_copy`, ...) are not here: they belong to
//! the runtime.

#![no_std]

pub mod convert;
pub mod float;
pub mod int;
pub mod simd;

pub use convert::*;
pub use float::*;
pub use int::*;
pub use simd::*;

/// Checks, at compile time, that every intrinsic builtin (the entries that take no `vmctx`) is
/// implemented here with the ABI's exact signature.
macro_rules! check_signatures {
    ($( $(#[$attr:meta])* $name:ident($($params:tt)*) $(-> $ret:ident)?; )*) => {
        $( check_signature!($name($($params)*) $(-> $ret)?); )*
    };
}

/// One entry of [`check_signatures`]: runtime helpers (taking a `vmctx`) are the runtime's.
macro_rules! check_signature {
    ($name:ident(vmctx: vmctx $(, $p:ident: $t:ident)*) $(-> $r:ident)?) => {};
    ($name:ident($($p:ident: $t:ident),*) $(-> $r:ident)?) => {
        const _: extern "C" fn($($t),*) $(-> $r)? = $name;
    };
}

aotc_abi::foreach_builtin!(check_signatures);
