//! Runtime helpers and intrinsics: functions compiled code reaches through the vmctx's
//! builtin table (`vmctx.builtins[index]`).
//!
//! The list is one macro, [`foreach_builtin!`](crate::foreach_builtin), so the compiler (which emits calls), the
//! intrinsic library and the runtime (which fill the table) cannot disagree on an index or a
//! signature. An entry's position is its index: appending, removing or reordering entries
//! changes the ABI and requires bumping [`crate::version::ABI_VERSION`].
//!
//! Signature tokens: `vmctx` (the caller's vmctx pointer), `i32`, `i64`, `f32`, `f64`.
//! Runtime helpers (the builtins taking a `vmctx`) use the target's C calling convention;
//! intrinsics (the others) use the convention [`Builtin::call_conv`] gives for the target, the
//! one that lets compiled code keep the most values in registers across the call.
//!
//! Builtins that may trap (for example `memory_init` on an out-of-bounds range) do so by
//! unwinding to the runtime's entry point, never by returning an error code.

/// Invokes `$mac! { $( $(#[$attr])* $name($($param: $ty),*) $(-> $ret)?; )* }` with every
/// builtin, in index order.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: grows memory `index` by `delta` pages; returns the old size in
            /// pages, or -1 when the memory cannot grow.
            memory_grow(vmctx: vmctx, delta: i32, index: i32) -> i32;
            /// `memory.fill`: traps (out of bounds memory access) when `dst + len` exceeds the
            /// memory.
            memory_fill(vmctx: vmctx, index: i32, dst: i32, val: i32, len: i32);
            /// `memory.copy` between memories `dst_mem` and `src_mem`; traps when out of bounds.
            memory_copy(vmctx: vmctx, dst_mem: i32, src_mem: i32, dst: i32, src: i32, len: i32);
            /// `memory.init` from data segment `seg`; traps when out of bounds.
            memory_init(vmctx: vmctx, index: i32, seg: i32, dst: i32, src: i32, len: i32);
            /// `data.drop`.
            data_drop(vmctx: vmctx, seg: i32);
            /// `table.grow`: `init` is a reference (pointer-sized, passed as i64); returns the old
            /// size or -1.
            table_grow(vmctx: vmctx, table: i32, init: i64, delta: i32) -> i32;
            /// `table.fill`; traps (out of bounds table access) when out of bounds.
            table_fill(vmctx: vmctx, table: i32, dst: i32, val: i64, len: i32);
            /// `table.copy`; traps when out of bounds.
            table_copy(vmctx: vmctx, dst_table: i32, src_table: i32, dst: i32, src: i32, len: i32);
            /// `table.init` from element segment `seg`; traps when out of bounds.
            table_init(vmctx: vmctx, table: i32, seg: i32, dst: i32, src: i32, len: i32);
            /// `elem.drop`.
            elem_drop(vmctx: vmctx, seg: i32);
            /// Raises trap `code` (a [`TrapCode`](crate::TrapCode) discriminant). Never returns.
            raise_trap(vmctx: vmctx, code: i32);
            /// `ref.func` of a defined function: the address of its `FuncRef` (pointer-sized,
            /// returned as i64), built on first use, so instantiation builds none per function.
            ref_func(vmctx: vmctx, func: i32) -> i64;
            /// `f32.add`. Intrinsics below never trap: compiled code checks trapping cases
            /// (division by zero, overflow, out-of-range conversions) before calling them.
            f32_add(a: f32, b: f32) -> f32;
            /// `f32.sub`.
            f32_sub(a: f32, b: f32) -> f32;
            /// `f32.mul`.
            f32_mul(a: f32, b: f32) -> f32;
            /// `f32.div`.
            f32_div(a: f32, b: f32) -> f32;
            /// `f64.add`.
            f64_add(a: f64, b: f64) -> f64;
            /// `f64.sub`.
            f64_sub(a: f64, b: f64) -> f64;
            /// `f64.mul`.
            f64_mul(a: f64, b: f64) -> f64;
            /// `f64.div`.
            f64_div(a: f64, b: f64) -> f64;
            /// `f32.mul` then `f32.add`: `a * b + c` rounded twice, exactly as the two wasm
            /// operations (not a fused multiply-add). Compiled code calls it, when both
            /// operations are intrinsics, for an addition or subtraction of a product it would
            /// otherwise call `f32_mul` for, negating an operand for a subtraction
            /// (`c - a * b == (-a) * b + c`).
            f32_mul_add(a: f32, b: f32, c: f32) -> f32;
            /// `f64.mul` then `f64.add`, as `f32_mul_add`.
            f64_mul_add(a: f64, b: f64, c: f64) -> f64;
            /// `f32.abs`.
            f32_abs(x: f32) -> f32;
            /// `f64.abs`.
            f64_abs(x: f64) -> f64;
            /// `f32.ceil`.
            f32_ceil(x: f32) -> f32;
            /// `f32.floor`.
            f32_floor(x: f32) -> f32;
            /// `f32.trunc`.
            f32_trunc(x: f32) -> f32;
            /// `f32.nearest` (round half to even).
            f32_nearest(x: f32) -> f32;
            /// `f64.ceil`.
            f64_ceil(x: f64) -> f64;
            /// `f64.floor`.
            f64_floor(x: f64) -> f64;
            /// `f64.trunc`.
            f64_trunc(x: f64) -> f64;
            /// `f64.nearest` (round half to even).
            f64_nearest(x: f64) -> f64;
            /// `f32.sqrt`.
            f32_sqrt(x: f32) -> f32;
            /// `f64.sqrt`.
            f64_sqrt(x: f64) -> f64;
            /// `f32.copysign`.
            f32_copysign(a: f32, b: f32) -> f32;
            /// `f64.copysign`.
            f64_copysign(a: f64, b: f64) -> f64;
            /// `f32.min` (wasm semantics: NaN propagates, -0 < +0).
            f32_min(a: f32, b: f32) -> f32;
            /// `f32.max`.
            f32_max(a: f32, b: f32) -> f32;
            /// `f64.min`.
            f64_min(a: f64, b: f64) -> f64;
            /// `f64.max`.
            f64_max(a: f64, b: f64) -> f64;
            /// `i32.clz`.
            i32_clz(x: i32) -> i32;
            /// `i32.ctz`.
            i32_ctz(x: i32) -> i32;
            /// `i32.popcnt`.
            i32_popcnt(x: i32) -> i32;
            /// `i64.clz`.
            i64_clz(x: i64) -> i64;
            /// `i64.ctz`.
            i64_ctz(x: i64) -> i64;
            /// `i64.popcnt`.
            i64_popcnt(x: i64) -> i64;
            /// `f64.convert_i32_s`.
            f64_convert_i32_s(x: i32) -> f64;
            /// `f64.convert_i32_u`.
            f64_convert_i32_u(x: i32) -> f64;
            /// `f32.convert_i32_s`.
            f32_convert_i32_s(x: i32) -> f32;
            /// `f32.convert_i32_u`.
            f32_convert_i32_u(x: i32) -> f32;
            /// `f64.convert_i64_s`.
            f64_convert_i64_s(x: i64) -> f64;
            /// `f64.convert_i64_u`.
            f64_convert_i64_u(x: i64) -> f64;
            /// `f32.convert_i64_s`.
            f32_convert_i64_s(x: i64) -> f32;
            /// `f32.convert_i64_u`.
            f32_convert_i64_u(x: i64) -> f32;
            /// `i32.trunc_f32_s` of a value compiled code has checked to be in range.
            i32_trunc_f32_s(x: f32) -> i32;
            /// `i32.trunc_f32_u` (in range).
            i32_trunc_f32_u(x: f32) -> i32;
            /// `i32.trunc_f64_s` (in range).
            i32_trunc_f64_s(x: f64) -> i32;
            /// `i32.trunc_f64_u` (in range).
            i32_trunc_f64_u(x: f64) -> i32;
            /// `i64.trunc_f32_s` (in range).
            i64_trunc_f32_s(x: f32) -> i64;
            /// `i64.trunc_f32_u` (in range).
            i64_trunc_f32_u(x: f32) -> i64;
            /// `i64.trunc_f64_s` (in range).
            i64_trunc_f64_s(x: f64) -> i64;
            /// `i64.trunc_f64_u` (in range).
            i64_trunc_f64_u(x: f64) -> i64;
            /// `f32.demote_f64`.
            f32_demote_f64(x: f64) -> f32;
            /// `f64.promote_f32`.
            f64_promote_f32(x: f32) -> f64;
            /// f32 comparison `cond` (a [`FloatCmp`](crate::intrinsics::FloatCmp) discriminant,
            /// plus [`FloatCmp::ABS_A`](crate::intrinsics::FloatCmp::ABS_A) to compare `|a|`,
            /// [`FloatCmp::ABS_B`](crate::intrinsics::FloatCmp::ABS_B) to compare `|b|`): 1 if
            /// it holds, else 0.
            f32_cmp(cond: i32, a: f32, b: f32) -> i32;
            /// f64 comparison, as `f32_cmp`.
            f64_cmp(cond: i32, a: f64, b: f64) -> i32;
            /// `i32.div_s` (divisor checked non-zero and no overflow by compiled code).
            i32_div_s(a: i32, b: i32) -> i32;
            /// `i32.div_u` (divisor checked non-zero).
            i32_div_u(a: i32, b: i32) -> i32;
            /// `i32.rem_s` (divisor checked non-zero; `MIN % -1` is 0).
            i32_rem_s(a: i32, b: i32) -> i32;
            /// `i32.rem_u` (divisor checked non-zero).
            i32_rem_u(a: i32, b: i32) -> i32;
            /// `i64.div_s` (checked as `i32_div_s`).
            i64_div_s(a: i64, b: i64) -> i64;
            /// `i64.div_u`.
            i64_div_u(a: i64, b: i64) -> i64;
            /// `i64.rem_s`.
            i64_rem_s(a: i64, b: i64) -> i64;
            /// `i64.rem_u`.
            i64_rem_u(a: i64, b: i64) -> i64;
            /// `i64.or`.
            i64_or(a: i64, b: i64) -> i64;
            /// `i64.and`.
            i64_and(a: i64, b: i64) -> i64;
            /// `i64.mul`.
            i64_mul(a: i64, b: i64) -> i64;
            /// `i64.shl` (shift count taken modulo 64).
            i64_shl(a: i64, b: i64) -> i64;
            /// `i64.shr_s` (shift count taken modulo 64).
            i64_shr_s(a: i64, b: i64) -> i64;
            /// `i64.shr_u` (shift count taken modulo 64).
            i64_shr_u(a: i64, b: i64) -> i64;
            /// Half of `i8x16.swizzle`: the 8 result bytes selected by the 8 selector bytes of
            /// `sel` (little-endian, lane 0 lowest) from the 16 bytes of `lo` (lanes 0..8) and
            /// `hi` (lanes 8..16); a selector of 16 or more gives 0. Compiled code calls it for
            /// each half of the selector.
            i8x16_swizzle_half(lo: i64, hi: i64, sel: i64) -> i64;
        }
    };
}

use crate::Arch;

/// The type of a builtin's parameter or result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BuiltinType {
    /// The caller's vmctx pointer.
    Vmctx,
    /// i32.
    I32,
    /// i64.
    I64,
    /// f32.
    F32,
    /// f64.
    F64,
}

#[doc(hidden)]
#[macro_export]
macro_rules! __builtin_type {
    (vmctx) => {
        $crate::builtins::BuiltinType::Vmctx
    };
    (i32) => {
        $crate::builtins::BuiltinType::I32
    };
    (i64) => {
        $crate::builtins::BuiltinType::I64
    };
    (f32) => {
        $crate::builtins::BuiltinType::F32
    };
    (f64) => {
        $crate::builtins::BuiltinType::F64
    };
}

macro_rules! define_builtin_enum {
    ($( $(#[$attr:meta])* $name:ident ( $($pname:ident : $pty:ident),* ) $(-> $ret:ident)? ; )*) => {
        /// One builtin; the discriminant is its index in the builtin table.
        #[allow(non_camel_case_types)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$attr])* $name, )*
        }

        impl Builtin {
            /// Every builtin, in index order.
            pub const ALL: &'static [Builtin] = &[ $( Builtin::$name, )* ];

            /// The builtin's name (as used in AOT files and `aotc inspect`).
            pub const fn name(self) -> &'static str {
                match self { $( Builtin::$name => stringify!($name), )* }
            }

            /// Parameter types.
            pub const fn params(self) -> &'static [BuiltinType] {
                match self { $( Builtin::$name => &[ $( $crate::__builtin_type!($pty), )* ], )* }
            }

            /// Result types (zero or one).
            pub const fn results(self) -> &'static [BuiltinType] {
                match self { $( Builtin::$name => &[ $( $crate::__builtin_type!($ret), )? ], )* }
            }
        }
    };
}

foreach_builtin!(define_builtin_enum);

/// Number of entries in the builtin table.
pub const BUILTIN_COUNT: usize = Builtin::ALL.len();

impl Builtin {
    /// Index in the builtin table.
    pub const fn index(self) -> u32 {
        self as u32
    }

    /// Decodes a table index.
    pub const fn from_index(index: u32) -> Option<Builtin> {
        if (index as usize) < BUILTIN_COUNT {
            Some(Builtin::ALL[index as usize])
        } else {
            None
        }
    }

    /// Looks a builtin up by name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// Whether this is an intrinsic (a pure operation of the intrinsic library, taking no
    /// vmctx) rather than a runtime helper.
    pub const fn is_intrinsic(self) -> bool {
        !matches!(self.params().first(), Some(BuiltinType::Vmctx))
    }

    /// The calling convention compiled code calls this builtin with on `arch`.
    ///
    /// Intrinsics are small leaf functions called where the operation was, often in loops whose
    /// values live in float registers. On x86-64 they use the Microsoft x64 convention
    /// (`extern "win64"`, `__attribute__((ms_abi))`), whose callee-saved `xmm6`-`xmm15`, `rsi` and
    /// `rdi` stay in registers across the call; under System V every `xmm` register is
    /// caller-saved, so each call would spill every live float. The other targets' C
    /// conventions already keep floats callee-saved (AArch64 `v8`-`v15`, RISC-V `fs0`-`fs11`,
    /// s390x `f8`-`f15`).
    pub const fn call_conv(self, arch: Arch) -> BuiltinCallConv {
        match (self.is_intrinsic(), arch) {
            (true, Arch::X86_64) => BuiltinCallConv::Win64,
            _ => BuiltinCallConv::C,
        }
    }
}

/// A calling convention of builtins ([`Builtin::call_conv`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BuiltinCallConv {
    /// The target's C calling convention (System V on x86-64 and s390x, AAPCS64, the RISC-V
    /// psABI).
    C,
    /// The Microsoft x64 calling convention (x86-64 only).
    Win64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_positions() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.index() as usize, i);
            assert_eq!(Builtin::from_index(i as u32), Some(*b));
            assert_eq!(Builtin::from_name(b.name()), Some(*b));
        }
        assert_eq!(Builtin::from_index(BUILTIN_COUNT as u32), None);
        assert_eq!(
            Builtin::memory_grow.params(),
            &[BuiltinType::Vmctx, BuiltinType::I32, BuiltinType::I32]
        );
        assert_eq!(Builtin::f64_nearest.results(), &[BuiltinType::F64]);
        assert!(!Builtin::memory_grow.is_intrinsic());
        assert!(Builtin::f64_add.is_intrinsic());
        assert_eq!(
            Builtin::f64_add.call_conv(Arch::X86_64),
            BuiltinCallConv::Win64
        );
        assert_eq!(
            Builtin::memory_grow.call_conv(Arch::X86_64),
            BuiltinCallConv::C
        );
        assert_eq!(
            Builtin::f64_add.call_conv(Arch::Aarch64),
            BuiltinCallConv::C
        );
    }
}
