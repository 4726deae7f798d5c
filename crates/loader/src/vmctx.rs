//! The runtime structures compiled code reads, laid out exactly as `aotc_abi::vmctx` says for
//! this host: the vmctx header, `MemoryDef`, `TableDef`, `FuncRef`, global slots, and the
//! `ValRaw` slots of the array-call convention. Layouts are checked against
//! [`VmctxOffsets::host`] at compile time.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};
use core::ptr;

use aotc_abi::types::VAL_RAW_SIZE;
use aotc_abi::vmctx::VmctxOffsets;

/// The vmctx header every compiled function receives.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct VmctxHeader {
    /// Memory 0's definition, or null.
    pub(crate) memory: *mut MemoryDef,
    /// Lowest stack address wasm may use.
    pub(crate) stack_limit: usize,
    /// One `FuncRef` per function index.
    pub(crate) functions: *const FuncRef,
    /// The builtin table, in `Builtin::ALL` order.
    pub(crate) builtins: *const *const (),
    /// One pointer per global index.
    pub(crate) globals: *const *mut GlobalSlot,
    /// One pointer per table index.
    pub(crate) tables: *const *mut TableDef,
    /// Module type index to process-wide signature id.
    pub(crate) type_ids: *const u32,
    /// The module's constant table (8-byte slots, 8-aligned; null when it has none).
    pub(crate) constants: *const u8,
    /// The owning `InstanceInner` (opaque to compiled code).
    pub(crate) runtime: *const c_void,
}

impl VmctxHeader {
    /// A header with every pointer null.
    pub(crate) fn empty() -> VmctxHeader {
        VmctxHeader {
            memory: ptr::null_mut(),
            stack_limit: 0,
            functions: ptr::null(),
            builtins: ptr::null(),
            globals: ptr::null(),
            tables: ptr::null(),
            type_ids: ptr::null(),
            constants: ptr::null(),
            runtime: ptr::null(),
        }
    }
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct MemoryDef {
    /// First byte.
    pub(crate) base: *mut u8,
    /// Current length in bytes.
    pub(crate) length: usize,
}

/// A table as compiled code sees it: pointer-sized elements (a `*const FuncRef` or an
/// externref payload; 0 is null).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct TableDef {
    /// First element.
    pub(crate) base: *mut usize,
    /// Current length in elements.
    pub(crate) length: u32,
}

/// A function reference: what `call`, `call_indirect` and `ref.func` use.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub(crate) struct FuncRef {
    /// Code with the wasm convention `(vmctx, params..) -> results`.
    pub(crate) wasm_call: *const (),
    /// The entry trampoline for the function's type (null when the module has none).
    pub(crate) array_call: *const (),
    /// The vmctx (or host context) to pass to `wasm_call`.
    pub(crate) vmctx: *mut c_void,
    /// Process-wide signature id.
    pub(crate) type_id: u32,
}

impl FuncRef {
    /// A reference that matches no signature and must never be called.
    pub(crate) fn null() -> FuncRef {
        FuncRef {
            wasm_call: ptr::null(),
            array_call: ptr::null(),
            vmctx: ptr::null_mut(),
            type_id: 0,
        }
    }
}

/// A global's 16-byte storage; the value sits at offset 0 in native byte order.
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct GlobalSlot(pub(crate) [u8; 16]);

/// One value slot of the array-call convention: 16 bytes, value at the start in native order.
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct ValRaw(pub(crate) [u8; 16]);

/// The signature of entry trampolines: `(code, vmctx, values)`.
pub(crate) type EntryTrampoline = unsafe extern "C" fn(*const (), *mut c_void, *mut ValRaw);

/// The signature of the callback in a host context (at `HOST_CTX_CALLBACK_OFFSET`).
pub(crate) type HostCallback = unsafe extern "C" fn(*mut c_void, *mut ValRaw, u32, u32);

const OFFSETS: VmctxOffsets = VmctxOffsets::host();

const _: () = {
    assert!(offset_of!(VmctxHeader, memory) == OFFSETS.memory() as usize);
    assert!(offset_of!(VmctxHeader, stack_limit) == OFFSETS.stack_limit() as usize);
    assert!(offset_of!(VmctxHeader, functions) == OFFSETS.functions() as usize);
    assert!(offset_of!(VmctxHeader, builtins) == OFFSETS.builtins() as usize);
    assert!(offset_of!(VmctxHeader, globals) == OFFSETS.globals() as usize);
    assert!(offset_of!(VmctxHeader, tables) == OFFSETS.tables() as usize);
    assert!(offset_of!(VmctxHeader, type_ids) == OFFSETS.type_ids() as usize);
    assert!(offset_of!(VmctxHeader, constants) == OFFSETS.constants() as usize);
    assert!(offset_of!(VmctxHeader, runtime) == OFFSETS.runtime() as usize);
    assert!(size_of::<VmctxHeader>() == OFFSETS.size() as usize);

    assert!(offset_of!(MemoryDef, base) == OFFSETS.memory_def_base() as usize);
    assert!(offset_of!(MemoryDef, length) == OFFSETS.memory_def_length() as usize);
    assert!(size_of::<MemoryDef>() == OFFSETS.memory_def_size() as usize);

    assert!(offset_of!(TableDef, base) == OFFSETS.table_def_base() as usize);
    assert!(offset_of!(TableDef, length) == OFFSETS.table_def_length() as usize);
    assert!(size_of::<TableDef>() == OFFSETS.table_def_size() as usize);

    assert!(offset_of!(FuncRef, wasm_call) == OFFSETS.func_ref_wasm_call() as usize);
    assert!(offset_of!(FuncRef, array_call) == OFFSETS.func_ref_array_call() as usize);
    assert!(offset_of!(FuncRef, vmctx) == OFFSETS.func_ref_vmctx() as usize);
    assert!(offset_of!(FuncRef, type_id) == OFFSETS.func_ref_type_id() as usize);
    assert!(size_of::<FuncRef>() == OFFSETS.func_ref_size() as usize);

    assert!(size_of::<GlobalSlot>() == OFFSETS.global_size() as usize);
    assert!(size_of::<ValRaw>() == VAL_RAW_SIZE as usize);
    assert!(aotc_abi::trampoline::HOST_CTX_CALLBACK_OFFSET == 0);
};
