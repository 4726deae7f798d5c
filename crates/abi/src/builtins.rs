//! Runtime helpers and intrinsics: functions compiled code reaches through the vmctx's
//! builtin table (`vmctx.builtins[index]`).
//!
//! The list is one macro, [`foreach_builtin!`], so the compiler (which emits calls), the
//! intrinsic library and the runtime (which fill the table) cannot disagree on an index or a
//! signature. An entry's position is its index: appending, removing or reordering entries
//! changes the ABI and requires bumping [`crate::version::ABI_VERSION`].
//!
//! Signature tokens: `vmctx` (the caller's vmctx pointer), `i32`, `i64`, `f32`, `f64`.
//! Every builtin uses the target's default C calling convention.
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
        }
    };
}

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
    }
}
