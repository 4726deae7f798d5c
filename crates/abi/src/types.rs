//! Wasm value types as encoded in AOT files and passed through trampolines.

/// A wasm value type. Discriminants are the wasm binary encoding and are stored in AOT files.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValType {
    /// 32-bit integer.
    I32 = 0x7f,
    /// 64-bit integer.
    I64 = 0x7e,
    /// 32-bit IEEE float.
    F32 = 0x7d,
    /// 64-bit IEEE float.
    F64 = 0x7c,
    /// 128-bit vector.
    V128 = 0x7b,
    /// Nullable function reference (a pointer to a `FuncRef`, or null).
    FuncRef = 0x70,
    /// Nullable external reference (an opaque pointer-sized host value, or null).
    ExternRef = 0x6f,
}

impl ValType {
    /// Decodes a stored value type.
    pub const fn from_u8(v: u8) -> Option<ValType> {
        match v {
            0x7f => Some(ValType::I32),
            0x7e => Some(ValType::I64),
            0x7d => Some(ValType::F32),
            0x7c => Some(ValType::F64),
            0x7b => Some(ValType::V128),
            0x70 => Some(ValType::FuncRef),
            0x6f => Some(ValType::ExternRef),
            _ => None,
        }
    }

    /// The wasm text-format name.
    pub const fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        }
    }

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
/// whatever its type, occupies 16 bytes, stored in the target's byte order at the slot's start.
pub const VAL_RAW_SIZE: u32 = 16;
