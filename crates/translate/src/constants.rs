//! The module's constant table (`constop` intrinsics): every `i32.const`, `i64.const`,
//! `f32.const` and `f64.const` instruction of an enabled kind loads its value from an 8-byte slot
//! of the table reached through `vmctx.constants` instead of materialising it in the text, except
//! the small integers every ISA encodes as an immediate ([`ConstOp::INLINE_INTEGERS`]).
//!
//! A slot holds the value at its start in the target's byte order (a 4-byte constant occupies
//! the first 4 bytes; the rest is zero). Slots are deduplicated by their bytes, and numbered in
//! order of first appearance (function order, then instruction order), so the table is the same
//! for every run whatever the thread count.

use std::collections::HashMap;

use aotc_abi::intrinsics::{ConstOp, IntrinsicSet};
use aotc_abi::target::Endianness;
use rayon::prelude::*;
use wasmparser::{FunctionBody, Operator};

use crate::CompileError;

/// Which constant kinds are loaded from the table.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct ConstKinds {
    i32: bool,
    i64: bool,
    f32: bool,
    f64: bool,
}

impl ConstKinds {
    /// The kinds `set` enables.
    pub fn of(set: IntrinsicSet) -> Self {
        ConstKinds {
            i32: set.loads_const(ConstOp::I32),
            i64: set.loads_const(ConstOp::I64),
            f32: set.loads_const(ConstOp::F32),
            f64: set.loads_const(ConstOp::F64),
        }
    }

    fn any(self) -> bool {
        self.i32 || self.i64 || self.f32 || self.f64
    }
}

/// The bytes of the slot holding a 4- or 8-byte value, in `order`.
pub(crate) fn slot_bytes(value: u64, size: u8, order: Endianness) -> [u8; 8] {
    let mut slot = [0u8; 8];
    match (size, order) {
        (4, Endianness::Little) => slot[..4].copy_from_slice(&(value as u32).to_le_bytes()),
        (4, Endianness::Big) => slot[..4].copy_from_slice(&(value as u32).to_be_bytes()),
        (_, Endianness::Little) => slot = value.to_le_bytes(),
        (_, Endianness::Big) => slot = value.to_be_bytes(),
    }
    slot
}

/// The slot bytes of a constant instruction loaded from the table, or `None`.
fn const_slot(op: &Operator<'_>, kinds: ConstKinds, order: Endianness) -> Option<[u8; 8]> {
    match *op {
        Operator::I32Const { value }
            if kinds.i32 && ConstOp::I32.loads_from_table(i64::from(value)) =>
        {
            Some(slot_bytes(u64::from(value as u32), 4, order))
        }
        Operator::I64Const { value } if kinds.i64 && ConstOp::I64.loads_from_table(value) => {
            Some(slot_bytes(value as u64, 8, order))
        }
        Operator::F32Const { value } if kinds.f32 => {
            Some(slot_bytes(u64::from(value.bits()), 4, order))
        }
        Operator::F64Const { value } if kinds.f64 => Some(slot_bytes(value.bits(), 8, order)),
        _ => None,
    }
}

/// A module's constant table.
#[derive(Debug, Default)]
pub(crate) struct ConstTable {
    kinds: ConstKinds,
    order: Option<Endianness>,
    slots: Vec<[u8; 8]>,
    index: HashMap<[u8; 8], u32>,
}

impl ConstTable {
    /// Collects the constants of the enabled kinds from every body.
    pub fn collect(
        bodies: &[FunctionBody<'_>],
        kinds: ConstKinds,
        order: Endianness,
    ) -> Result<ConstTable, CompileError> {
        let mut table = ConstTable {
            kinds,
            order: Some(order),
            ..ConstTable::default()
        };
        if !kinds.any() {
            return Ok(table);
        }
        // Each body's distinct constants in order of appearance (in parallel), then merged in
        // function order: deterministic whatever the scheduling.
        let per_body: Vec<Result<Vec<[u8; 8]>, CompileError>> = bodies
            .par_iter()
            .map(|body| {
                let mut seen = Vec::new();
                let mut reader = body.get_operators_reader()?;
                while !reader.eof() {
                    if let Some(slot) = const_slot(&reader.read()?, kinds, order)
                        && !seen.contains(&slot)
                    {
                        seen.push(slot);
                    }
                }
                Ok(seen)
            })
            .collect();
        for body in per_body {
            for slot in body? {
                table.insert(slot)?;
            }
        }
        Ok(table)
    }

    fn insert(&mut self, slot: [u8; 8]) -> Result<u32, CompileError> {
        if let Some(&i) = self.index.get(&slot) {
            return Ok(i);
        }
        let i = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i < (i32::MAX as u32) / 8)
            .ok_or_else(|| CompileError::Codegen("too many distinct constants".into()))?;
        self.slots.push(slot);
        self.index.insert(slot, i);
        Ok(i)
    }

    /// The byte offset in the table of the constant instruction `op`'s slot; `None` when it is
    /// not loaded from the table (its kind is not, it is a small integer, or `op` is not a
    /// constant instruction).
    pub fn offset_of(&self, op: &Operator<'_>) -> Result<Option<i32>, CompileError> {
        let Some(order) = self.order else {
            return Ok(None);
        };
        let Some(slot) = const_slot(op, self.kinds, order) else {
            return Ok(None);
        };
        self.index
            .get(&slot)
            .and_then(|&i| i32::try_from(u64::from(i) * 8).ok())
            .map(Some)
            .ok_or_else(|| CompileError::Codegen(format!("constant {op:?} missing from the table")))
    }

    /// The table's slots.
    pub fn into_slots(self) -> Vec<[u8; 8]> {
        self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_target_byte_order() {
        assert_eq!(
            slot_bytes(0x1234_5678, 4, Endianness::Little),
            [0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]
        );
        assert_eq!(
            slot_bytes(0x1234_5678, 4, Endianness::Big),
            [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0]
        );
        assert_eq!(
            slot_bytes(0x0102_0304_0506_0708, 8, Endianness::Big),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(
            slot_bytes(0x0102_0304_0506_0708, 8, Endianness::Little),
            [8, 7, 6, 5, 4, 3, 2, 1]
        );
    }

    #[test]
    fn constants_are_deduplicated_in_order_of_appearance() {
        let wasm = wat::parse_str(
            r#"(module
              (func (result i32) i32.const 7000 i32.const 9000 i32.add i32.const 7000 i32.add)
              (func (result f64) f64.const 1.5 i64.const 9000 drop i64.const 2047 drop))"#,
        )
        .unwrap();
        let bodies: Vec<FunctionBody<'_>> = wasmparser::Parser::new(0)
            .parse_all(&wasm)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(b) => Some(b),
                _ => None,
            })
            .collect();
        let kinds = ConstKinds::of(IntrinsicSet::parse("constop").unwrap());
        let t = ConstTable::collect(&bodies, kinds, Endianness::Little).unwrap();
        let offset = |op| t.offset_of(&op).unwrap().unwrap();
        assert_eq!(offset(Operator::I32Const { value: 7000 }), 0);
        assert_eq!(offset(Operator::I32Const { value: 9000 }), 8);
        // On a little-endian target i64 9000 has the bytes of i32 9000: one slot.
        assert_eq!(offset(Operator::I64Const { value: 9000 }), 8);
        // A small integer stays an immediate.
        assert_eq!(
            t.offset_of(&Operator::I64Const { value: 2047 }).unwrap(),
            None
        );
        assert_eq!(
            offset(Operator::F64Const {
                value: wasmparser::Ieee64::from(1.5f64)
            }),
            16
        );
        assert_eq!(t.into_slots().len(), 3);

        let kinds = ConstKinds::of(IntrinsicSet::parse("f64.const").unwrap());
        let t = ConstTable::collect(&bodies, kinds, Endianness::Big).unwrap();
        assert_eq!(
            t.offset_of(&Operator::I32Const { value: 7000 }).unwrap(),
            None
        );
        assert_eq!(t.into_slots(), vec![1.5f64.to_bits().to_be_bytes()]);
    }
}
