//! Trap codes: why wasm execution stopped. The numeric values are stored in AOT trap tables.

stored_enum! {
    /// A reason for a wasm trap. Discriminants are part of the ABI (stored in trap tables); names
    /// are the wording of the WebAssembly reference interpreter (what spec tests expect).
    pub enum TrapCode: u8, from_u8 {
        /// The call stack was exhausted (the stack limit in the vmctx was reached).
        StackOverflow = 1 => "call stack exhausted",
        /// A load or store outside linear memory.
        MemoryOutOfBounds = 2 => "out of bounds memory access",
        /// A table access outside the table's current size.
        TableOutOfBounds = 3 => "out of bounds table access",
        /// `call_indirect` of a null table entry.
        IndirectCallToNull = 4 => "uninitialized element",
        /// `call_indirect` whose callee has a different signature.
        BadSignature = 5 => "indirect call type mismatch",
        /// Signed integer division overflow (`MIN / -1`) or float-to-int overflow.
        IntegerOverflow = 6 => "integer overflow",
        /// Integer division or remainder by zero.
        IntegerDivisionByZero = 7 => "integer divide by zero",
        /// Float-to-int conversion of NaN.
        BadConversionToInteger = 8 => "invalid conversion to integer",
        /// The `unreachable` instruction.
        UnreachableCodeReached = 9 => "unreachable",
        /// An out-of-bounds element index in a `call_indirect`'s table (undefined element).
        UndefinedElement = 10 => "undefined element",
        /// A null reference where a non-null one was required.
        NullReference = 11 => "null reference",
        /// A host function reported an error.
        HostError = 12 => "host function error",
    }
}

impl TrapCode {
    /// The wording of the WebAssembly reference interpreter (what spec tests expect).
    pub const fn message(self) -> &'static str {
        self.name()
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
