//! Layout of the `vmctx` structure and of the runtime structures compiled code reads.
//!
//! Every compiled wasm function takes a pointer to its instance's vmctx as its first argument.
//! Compiled code reaches everything outside its own text through it: linear memory, globals,
//! tables, imported functions, runtime helpers and intrinsics ([`crate::builtins`]), and the
//! stack limit. Calls to the module's own functions are PC-relative inside the text (no
//! relocation, in every mode), and a defined function's `FuncRef` (for `ref.func`, tables,
//! exports) is built by the runtime when first used, so the vmctx holds nothing per defined
//! function and instantiation is independent of the function count. Offsets are computed here for a given
//! pointer width, so a cross compiler uses the target's layout and a runtime its own.
//!
//! ```text
//! vmctx (every field pointer-sized):
//!   memory       *mut MemoryDef        memory 0, or null when the module has none
//!   stack_limit  usize                 lowest stack address wasm may use; below it: trap
//!   functions    *const FuncRef        one FuncRef per imported function, by function index
//!   builtins     *const *const ()      one entry per `Builtin`, in `Builtin::ALL` order
//!   globals      *const *mut Global    one pointer per global index
//!   tables       *const *mut TableDef  one pointer per table index
//!   type_ids     *const u32            module type index -> store-wide signature id
//!   constants    *const u8             the module's constant pool (constop intrinsics)
//!   runtime      *mut ()               opaque to compiled code; owned by the runtime
//!
//! MemoryDef: base *mut u8, length usize (bytes)
//! TableDef:  base *mut *const (), length u32 (elements; padded to a pointer)
//! FuncRef:   wasm_call *const (), array_call *const (), vmctx *mut (), type_id u32 (padded)
//! Global:    16 bytes; the value sits at offset 0 in the target's byte order
//! ```

/// Offsets within the vmctx and the runtime structures it points to, for one pointer width.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VmctxOffsets {
    ptr: u32,
}

impl VmctxOffsets {
    /// Layout for a target whose pointers are `pointer_size` bytes (4 or 8).
    pub const fn new(pointer_size: u8) -> Self {
        VmctxOffsets {
            ptr: pointer_size as u32,
        }
    }

    /// Layout for the machine this crate was compiled for.
    pub const fn host() -> Self {
        Self::new(size_of::<usize>() as u8)
    }

    /// Pointer size in bytes.
    pub const fn pointer_size(&self) -> u32 {
        self.ptr
    }

    /// `vmctx.memory`: pointer to memory 0's [`MemoryDef`](Self::memory_def_base).
    pub const fn memory(&self) -> u32 {
        0
    }
    /// `vmctx.stack_limit`.
    pub const fn stack_limit(&self) -> u32 {
        self.ptr
    }
    /// `vmctx.functions`: pointer to the imported functions' `FuncRef`s, by function index.
    pub const fn functions(&self) -> u32 {
        2 * self.ptr
    }
    /// `vmctx.builtins`: pointer to the builtin table.
    pub const fn builtins(&self) -> u32 {
        3 * self.ptr
    }
    /// `vmctx.globals`: pointer to the array of global pointers.
    pub const fn globals(&self) -> u32 {
        4 * self.ptr
    }
    /// `vmctx.tables`: pointer to the array of `TableDef` pointers.
    pub const fn tables(&self) -> u32 {
        5 * self.ptr
    }
    /// `vmctx.type_ids`: pointer to the array of store-wide signature ids.
    pub const fn type_ids(&self) -> u32 {
        6 * self.ptr
    }
    /// `vmctx.constants`: pointer to the module's constant pool.
    pub const fn constants(&self) -> u32 {
        7 * self.ptr
    }
    /// `vmctx.runtime`: opaque runtime pointer.
    pub const fn runtime(&self) -> u32 {
        8 * self.ptr
    }
    /// Size of the vmctx header.
    pub const fn size(&self) -> u32 {
        9 * self.ptr
    }

    /// `MemoryDef.base`.
    pub const fn memory_def_base(&self) -> u32 {
        0
    }
    /// `MemoryDef.length` (bytes, pointer-sized).
    pub const fn memory_def_length(&self) -> u32 {
        self.ptr
    }
    /// Size of a `MemoryDef`.
    pub const fn memory_def_size(&self) -> u32 {
        2 * self.ptr
    }

    /// `TableDef.base`: pointer to pointer-sized elements.
    pub const fn table_def_base(&self) -> u32 {
        0
    }
    /// `TableDef.length` (elements, u32).
    pub const fn table_def_length(&self) -> u32 {
        self.ptr
    }
    /// Size of a `TableDef`.
    pub const fn table_def_size(&self) -> u32 {
        2 * self.ptr
    }

    /// `FuncRef.wasm_call`: code with the wasm calling convention `(vmctx, params..) -> results`.
    pub const fn func_ref_wasm_call(&self) -> u32 {
        0
    }
    /// `FuncRef.array_call`: the callee's entry trampoline (see [`crate::trampoline`]).
    pub const fn func_ref_array_call(&self) -> u32 {
        self.ptr
    }
    /// `FuncRef.vmctx`: the vmctx to pass to `wasm_call`.
    pub const fn func_ref_vmctx(&self) -> u32 {
        2 * self.ptr
    }
    /// `FuncRef.type_id`: store-wide signature id (u32), checked by `call_indirect`.
    pub const fn func_ref_type_id(&self) -> u32 {
        3 * self.ptr
    }
    /// Size of a `FuncRef`.
    pub const fn func_ref_size(&self) -> u32 {
        4 * self.ptr
    }

    /// Size of a global's storage.
    pub const fn global_size(&self) -> u32 {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_scale_with_pointer_width() {
        let p64 = VmctxOffsets::new(8);
        let p32 = VmctxOffsets::new(4);
        assert_eq!(p64.builtins(), 24);
        assert_eq!(p32.builtins(), 12);
        assert_eq!(p64.func_ref_size(), 32);
        assert_eq!(p32.func_ref_size(), 16);
        assert_eq!(p64.size(), 72);
    }
}
