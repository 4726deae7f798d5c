//! The builtin table: the address of every builtin in `Builtin::ALL` order, generated from
//! `aotc_abi::foreach_builtin!` (so indices, signatures and calling conventions cannot drift),
//! with the runtime helpers implemented here as `extern "C"` functions taking the caller's
//! vmctx, and the pure intrinsics taken from `aotc-intrinsics`.
//!
//! A helper that traps does so by jumping back to the wasm entry ([`trap::raise_code`]); it
//! first finishes every borrow and drops every value, so the jump skips nothing to destroy.

use std::sync::LazyLock;

use aotc_abi::builtins::BUILTIN_COUNT;
use aotc_abi::{Builtin, TrapCode};
// The intrinsics (`f32_add` ... `i64_shr_u`), named as their builtins, used by
// `foreach_builtin!` below; the runtime helpers are defined in this file.
use aotc_intrinsics::*;

use crate::instance::InstanceInner;
use crate::trap::{self, Trap};
use crate::vmctx::VmctxHeader;

macro_rules! builtin_type {
    (vmctx) => { *mut VmctxHeader };
    (i32) => { i32 };
    (i64) => { i64 };
    (f32) => { f32 };
    (f64) => { f64 };
}

/// The address of builtin `$name`, checked at compile time to have the signature and calling
/// convention the ABI gives: runtime helpers (taking the vmctx) are `extern "C"`, intrinsics
/// have the intrinsic convention (`aotc_intrinsics::intrinsic_fn!`).
macro_rules! builtin_fn_address {
    ($name:ident ( vmctx : vmctx $(, $pname:ident : $pty:ident)* ) $(-> $ret:ident)?) => {{
        let f: unsafe extern "C" fn(builtin_type!(vmctx) $(, builtin_type!($pty))*)
            $(-> builtin_type!($ret))? = $name;
        f as *const ()
    }};
    ($name:ident ( $($pname:ident : $pty:ident),* ) -> $ret:ident) => {{
        let f: aotc_intrinsics::intrinsic_fn!(($(builtin_type!($pty)),*) -> builtin_type!($ret)) =
            $name;
        f as *const ()
    }};
}

macro_rules! define_builtin_address {
    ($( $(#[$attr:meta])* $name:ident ( $($pname:ident : $pty:ident),* ) $(-> $ret:ident)? ; )*) => {
        /// The address of `builtin`'s implementation in this runtime: this runtime implements
        /// every builtin of its ABI.
        pub(crate) fn builtin_address(builtin: Builtin) -> *const () {
            match builtin {
                $( Builtin::$name => builtin_fn_address!($name($($pname: $pty),*) $(-> $ret)?), )*
            }
        }
    };
}

aotc_abi::foreach_builtin!(define_builtin_address);

/// The table `vmctx.builtins` points to.
struct BuiltinTable([*const (); BUILTIN_COUNT]);

// SAFETY: the table holds code addresses and is never written after creation.
unsafe impl Sync for BuiltinTable {}
// SAFETY: as above.
unsafe impl Send for BuiltinTable {}

static BUILTIN_TABLE: LazyLock<BuiltinTable> = LazyLock::new(|| {
    let mut table = [core::ptr::null::<()>(); BUILTIN_COUNT];
    for (slot, builtin) in table.iter_mut().zip(Builtin::ALL) {
        *slot = builtin_address(*builtin);
    }
    BuiltinTable(table)
});

/// The builtin table, in `Builtin::ALL` order.
pub(crate) fn builtin_table() -> *const *const () {
    BUILTIN_TABLE.0.as_ptr()
}

/// The instance of the calling code.
///
/// # Safety
/// `vmctx` must be the vmctx compiled code passed.
unsafe fn caller<'a>(vmctx: *mut VmctxHeader) -> &'a InstanceInner {
    // SAFETY: compiled code passes its own (live) vmctx.
    unsafe { InstanceInner::from_vmctx(vmctx) }
}

/// Traps when `result` is an error. Nothing with a destructor is live in the callers' frames.
///
/// # Safety
/// Called from a helper called by wasm code.
unsafe fn trap_on_error(result: Result<(), TrapCode>) {
    if let Err(code) = result {
        // SAFETY: called from wasm through a helper with no live destructors.
        unsafe { trap::raise_code(code) }
    }
}

unsafe extern "C" fn memory_grow(vmctx: *mut VmctxHeader, delta: i32, index: i32) -> i32 {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { caller(vmctx) }.memory_grow(index as u32, delta as u32)
}

unsafe extern "C" fn memory_fill(
    vmctx: *mut VmctxHeader,
    index: i32,
    dst: i32,
    val: i32,
    len: i32,
) {
    // SAFETY: called by compiled code with its vmctx.
    let result =
        unsafe { caller(vmctx) }.memory_fill(index as u32, dst as u32, val as u32, len as u32);
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VmctxHeader,
    dst_mem: i32,
    src_mem: i32,
    dst: i32,
    src: i32,
    len: i32,
) {
    // SAFETY: called by compiled code with its vmctx.
    let result = unsafe { caller(vmctx) }.memory_copy(
        dst_mem as u32,
        src_mem as u32,
        dst as u32,
        src as u32,
        len as u32,
    );
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn memory_init(
    vmctx: *mut VmctxHeader,
    index: i32,
    seg: i32,
    dst: i32,
    src: i32,
    len: i32,
) {
    // SAFETY: called by compiled code with its vmctx.
    let result = unsafe { caller(vmctx) }.memory_init(
        index as u32,
        seg as u32,
        dst as u32,
        src as u32,
        len as u32,
    );
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn data_drop(vmctx: *mut VmctxHeader, seg: i32) {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { caller(vmctx) }.data_drop(seg as u32);
}

unsafe extern "C" fn table_grow(vmctx: *mut VmctxHeader, table: i32, init: i64, delta: i32) -> i32 {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { caller(vmctx) }.table_grow(table as u32, init as usize, delta as u32)
}

unsafe extern "C" fn table_fill(vmctx: *mut VmctxHeader, table: i32, dst: i32, val: i64, len: i32) {
    // SAFETY: called by compiled code with its vmctx.
    let result =
        unsafe { caller(vmctx) }.table_fill(table as u32, dst as u32, val as usize, len as u32);
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VmctxHeader,
    dst_table: i32,
    src_table: i32,
    dst: i32,
    src: i32,
    len: i32,
) {
    // SAFETY: called by compiled code with its vmctx.
    let result = unsafe { caller(vmctx) }.table_copy(
        dst_table as u32,
        src_table as u32,
        dst as u32,
        src as u32,
        len as u32,
    );
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn table_init(
    vmctx: *mut VmctxHeader,
    table: i32,
    seg: i32,
    dst: i32,
    src: i32,
    len: i32,
) {
    // SAFETY: called by compiled code with its vmctx.
    let result = unsafe { caller(vmctx) }.table_init(
        table as u32,
        seg as u32,
        dst as u32,
        src as u32,
        len as u32,
    );
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap_on_error(result) }
}

unsafe extern "C" fn elem_drop(vmctx: *mut VmctxHeader, seg: i32) {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { caller(vmctx) }.elem_drop(seg as u32);
}

unsafe extern "C" fn ref_func(vmctx: *mut VmctxHeader, func: i32) -> i64 {
    // SAFETY: called by compiled code with its vmctx.
    let instance = unsafe { caller(vmctx) };
    match instance.funcref(func as u32) {
        Ok(address) => address as i64,
        Err(e) => {
            let trap = Trap::new(
                TrapCode::HostError,
                Some(format!(
                    "ref.func {}: {}: {e}",
                    func as u32,
                    instance.name()
                )),
            );
            // SAFETY: called from wasm; the message moves into the unwind, nothing with a
            // destructor stays live.
            unsafe { trap::raise(trap::Unwind::Trap(trap)) }
        }
    }
}

unsafe extern "C" fn raise_trap(_vmctx: *mut VmctxHeader, code: i32) {
    let code = u8::try_from(code)
        .ok()
        .and_then(TrapCode::from_u8)
        .unwrap_or(TrapCode::UnreachableCodeReached);
    // SAFETY: called from wasm; nothing with a destructor is live.
    unsafe { trap::raise_code(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `aotc_intrinsics` places each intrinsic on a cache line of its own on Linux, so that
    /// where the linker puts the crate never splits a helper's common path across two lines.
    #[cfg(target_os = "linux")]
    #[test]
    fn every_intrinsic_starts_a_cache_line() {
        let misaligned: Vec<(&str, usize)> = Builtin::ALL
            .iter()
            .filter(|b| b.is_intrinsic())
            .map(|b| (b.name(), builtin_address(*b) as usize))
            .filter(|(_, address)| address % 64 != 0)
            .collect();
        assert!(misaligned.is_empty(), "{misaligned:x?}");
    }
}
