//! Wasm value types as encoded in AOT files and passed through trampolines.

stored_enum! {
    /// A wasm value type. Discriminants are the wasm binary encoding and are stored in AOT files;
    /// names are the text format's.
    pub enum ValType: u8, from_u8 {
        /// 32-bit integer.
        I32 = 0x7f => "i32",
        /// 64-bit integer.
        I64 = 0x7e => "i64",
        /// 32-bit IEEE float.
        F32 = 0x7d => "f32",
        /// 64-bit IEEE float.
        F64 = 0x7c => "f64",
        /// 128-bit vector.
        V128 = 0x7b => "v128",
        /// Nullable function reference (a pointer to a `FuncRef`, or null).
        FuncRef = 0x70 => "funcref",
        /// Nullable external reference (an opaque pointer-sized host value, or null).
        ExternRef = 0x6f => "externref",
    }
}

impl ValType {
    /// Whether this is a reference type (pointer-sized in compiled code).
    pub const fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }
}

impl core::fmt::Display for ValType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Size in bytes of one value slot in the array-call convention (`ValRaw`): every value,
/// whatever its type, occupies 16 bytes, stored in the target's byte order at the slot's start;
/// a `v128` fills the slot with its bytes in lane order (little-endian, lane 0 first).
pub const VAL_RAW_SIZE: u32 = 16;
