//! The runtime's intrinsic functions: pure implementations of the wasm operations that compiled
//! code calls through the vmctx builtin table instead of using native instructions (XIP files
//! for targets without the instruction, `--enable-builtin-intrinsics`).
//!
//! There is one `pub fn` per intrinsic entry of [`aotc_abi::foreach_builtin!`] (every entry
//! from `f32_add` on), named as the builtin, with exactly its signature and with the ABI's
//! intrinsic calling convention (`Builtin::call_conv`: `extern "win64"` on x86-64, `extern "C"`
//! elsewhere; both checked at compile time below), so a runtime fills its builtin table with
//! these addresses:
//!
//! - [`float`]: f32/f64 `add` `sub` `mul` `div` `mul_add` `sqrt`, `ceil` `floor` `trunc` `nearest`,
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
//! `no_std`, depending only on `aotc-abi`, `libm` and (on x86-64) `cpufeatures`, so a device
//! runtime can link it. Runtime helpers that need an instance (`memory_grow`, `table_copy`,
//! ...) are not here: they belong to the runtime.

#![no_std]

use aotc_abi::builtins::BuiltinCallConv;
use aotc_abi::{Arch, Builtin};

/// Defines an intrinsic: a `pub fn` with the ABI's intrinsic calling convention on the
/// architecture this crate is compiled for (see [`intrinsic_fn!`]).
///
/// On Linux each intrinsic has an ELF section of its own ([`intrinsic_section!`]) that a
/// `global_asm!` directive aligns to 64 bytes, a cache line: the few instructions of a helper's
/// common path then never straddle two lines, wherever the linker puts the crate. On the
/// development machine (AMD EPYC) a helper called in a loop costs about 12% more per call when
/// it straddles a line, and the benchmarks of XIP with every intrinsic moved by 3% from build
/// to build with where the helpers landed. The directive and the function must be in one object
/// file: the function is `#[inline(never)]`, so that it is compiled in this crate and not in
/// its users', and the workspace builds this crate as one codegen unit (`Cargo.toml`'s
/// profiles); in other builds the alignment is the compiler's (16 bytes), which changes nothing
/// else.
macro_rules! intrinsic {
    ($(#[$attr:meta])* pub fn $name:ident($($p:ident: $t:ty),*) -> $r:ty $body:block) => {
        #[cfg(target_os = "linux")]
        core::arch::global_asm!(concat!(
            ".pushsection ",
            intrinsic_section!($name),
            ",\"ax\",%progbits\n.p2align 6\n.popsection"
        ));

        #[cfg(target_arch = "x86_64")]
        #[cfg_attr(target_os = "linux", unsafe(link_section = intrinsic_section!($name)))]
        #[inline(never)]
        $(#[$attr])* pub extern "win64" fn $name($($p: $t),*) -> $r $body

        #[cfg(not(target_arch = "x86_64"))]
        #[cfg_attr(target_os = "linux", unsafe(link_section = intrinsic_section!($name)))]
        #[inline(never)]
        $(#[$attr])* pub extern "C" fn $name($($p: $t),*) -> $r $body
    };
}

/// The name of the ELF section of intrinsic `$name` (see [`intrinsic!`]).
macro_rules! intrinsic_section {
    ($name:ident) => {
        concat!(".text.aotc_intrinsic.", stringify!($name))
    };
}

/// The function-pointer type of an intrinsic with parameter types `$t` and result `$r`:
/// `extern "win64" fn` on x86-64, `extern "C" fn` elsewhere, the convention
/// `Builtin::call_conv` gives intrinsics on the architecture this crate is compiled for.
#[cfg(target_arch = "x86_64")]
#[macro_export]
macro_rules! intrinsic_fn {
    (($($t:ty),*) -> $r:ty) => { extern "win64" fn($($t),*) -> $r };
}

/// The function-pointer type of an intrinsic with parameter types `$t` and result `$r`:
/// `extern "win64" fn` on x86-64, `extern "C" fn` elsewhere, the convention
/// `Builtin::call_conv` gives intrinsics on the architecture this crate is compiled for.
#[cfg(not(target_arch = "x86_64"))]
#[macro_export]
macro_rules! intrinsic_fn {
    (($($t:ty),*) -> $r:ty) => { extern "C" fn($($t),*) -> $r };
}

/// The convention [`intrinsic!`] defines intrinsics with is the one the ABI gives them.
const _: () = {
    let defined = if cfg!(target_arch = "x86_64") {
        BuiltinCallConv::Win64
    } else {
        BuiltinCallConv::C
    };
    if let Some(arch) = Arch::host() {
        let abi = Builtin::f32_add.call_conv(arch);
        assert!(matches!(
            (abi, defined),
            (BuiltinCallConv::Win64, BuiltinCallConv::Win64)
                | (BuiltinCallConv::C, BuiltinCallConv::C)
        ));
    }
};

pub mod convert;
pub mod float;
mod host;
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
        const _: intrinsic_fn!(($($t),*) -> $($r)?) = $name;
    };
}

aotc_abi::foreach_builtin!(check_signatures);
