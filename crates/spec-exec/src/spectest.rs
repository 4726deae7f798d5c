//! The `spectest` host module every spec runner provides (values as in the reference
//! interpreter's `spectest.ml`), and aotc's own test module `aotc_test` (a host function that
//! traps, for `spec-tests/extra/`).

use aotc_loader::{
    Extern, Func, FuncType, Global, GlobalType, Memory, MemoryType, Table, TableType, Val, ValType,
};

/// Looks up `spectest.<name>`, creating a fresh host object.
pub fn lookup(name: &str, memory: &Memory, table: &Table) -> Option<Extern> {
    use ValType::*;
    let global = |content: ValType, value: Val| {
        Global::new(
            GlobalType {
                content,
                mutable: false,
            },
            value,
        )
        .ok()
        .map(Extern::Global)
    };
    let print = |params: &[ValType]| {
        Some(Extern::Func(Func::new_host(
            FuncType::new(params.iter().copied(), []),
            |_, _| Ok(()),
        )))
    };
    match name {
        "memory" => Some(Extern::Memory(memory.clone())),
        "table" => Some(Extern::Table(table.clone())),
        "global_i32" => global(I32, Val::I32(666)),
        "global_i64" => global(I64, Val::I64(666)),
        "global_f32" => global(F32, Val::F32(666.6f32.to_bits())),
        "global_f64" => global(F64, Val::F64(666.6f64.to_bits())),
        "print" => print(&[]),
        "print_i32" => print(&[I32]),
        "print_i64" => print(&[I64]),
        "print_f32" => print(&[F32]),
        "print_f64" => print(&[F64]),
        "print_i32_f32" => print(&[I32, F32]),
        "print_f64_f64" => print(&[F64, F64]),
        _ => None,
    }
}

/// The module name of aotc's own host functions for its extra spec files.
pub const AOTC_TEST: &str = "aotc_test";

/// Looks up `aotc_test.<name>`: `trap (param i32)` returns normally for 0 and fails (a host
/// error, so the calling wasm traps) for anything else.
pub fn lookup_aotc_test(name: &str) -> Option<Extern> {
    match name {
        "trap" => Some(Extern::Func(Func::new_host(
            FuncType::new([ValType::I32], []),
            |args, _| match args.first().and_then(Val::i32) {
                Some(0) => Ok(()),
                _ => Err(aotc_loader::HostError::new("aotc_test.trap refused")),
            },
        ))),
        _ => None,
    }
}

/// The spectest memory `(memory 1 2)` and table `(table 10 20 funcref)`, shared by every
/// module of one file.
pub fn shared_objects() -> Result<(Memory, Table), String> {
    let memory = Memory::new(MemoryType {
        min: 1,
        max: Some(2),
        memory64: false,
        shared: false,
    })
    .map_err(|e| format!("spectest memory: {e}"))?;
    let table = Table::new(
        TableType {
            element: ValType::FuncRef,
            min: 10,
            max: Some(20),
        },
        Val::FuncRef(None),
    )
    .map_err(|e| format!("spectest table: {e}"))?;
    Ok((memory, table))
}
