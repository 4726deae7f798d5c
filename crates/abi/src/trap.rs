//! Trap codes: why wasm execution stopped. The numeric values are stored in AOT trap tables.

/// A reason for a wasm trap. Discriminants are part of the ABI (stored in trap tables).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapCode {
    /// The call stack was exhausted (the stack limit in the vmctx was reached).
    StackOverflow = 1,
    /// A load or store outside linear memory.
    MemoryOutOfBounds = 2,
    /// A table access outside the table's current size.
    TableOutOfBounds = 3,
    /// `call_indirect` of a null table entry.
    IndirectCallToNull = 4,
    /// `call_indirect` whose callee has a different signature.
    BadSignature = 5,
    /// Signed integer division overflow (`MIN / -1`) or float-to-int overflow.
    IntegerOverflow = 6,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 7,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger = 8,
    /// The `unreachable` instruction.
    UnreachableCodeReached = 9,
    /// An out-of-bounds element index in a `call_indirect`'s table (undefined element).
    UndefinedElement = 10,
    /// A null reference where a non-null one was required.
    NullReference = 11,
    /// A host function reported an error.
    HostError = 12,
}

impl TrapCode {
    /// Every trap code.
    pub const ALL: [TrapCode; 12] = [
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::UnreachableCodeReached,
        TrapCode::UndefinedElement,
        TrapCode::NullReference,
        TrapCode::HostError,
    ];

    /// Decodes a stored trap code.
    pub const fn from_u8(v: u8) -> Option<TrapCode> {
        if v == 0 || v as usize > Self::ALL.len() {
            None
        } else {
            Some(Self::ALL[v as usize - 1])
        }
    }

    /// The wording of the WebAssembly reference interpreter (what spec tests expect).
    pub const fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::NullReference => "null reference",
            TrapCode::HostError => "host function error",
        }
    }
}

impl core::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code as u8), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        assert_eq!(TrapCode::from_u8(TrapCode::ALL.len() as u8 + 1), None);
    }
}
