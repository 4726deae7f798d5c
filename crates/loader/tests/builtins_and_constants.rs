//! The loader's side of the builtin and constant tables, against hand-written AOT files (see
//! `support`): files naming a builtin this runtime lacks or numbers differently are refused
//! naming it, and `vmctx.constants` points at the constant table, in place in a mapped file and
//! copied into aligned storage when the file's bytes are not 8-aligned.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod support;

use std::mem::offset_of;

use aotc_abi::Builtin;
use aotc_abi::builtins::BUILTIN_COUNT;
use aotc_format::AotFile;
use aotc_format::layout::{BuiltinRecord, ExternKind, SectionKind};
use aotc_format::write::{AotModule, Export, Function, reseal};
use aotc_loader::{Func, FuncType, Instance, LoadError, LoadOptions, Module, Val, ValType};
use support::TempFile;

/// A file that calls `f64_floor` and `i64_shr_u` besides the hand-written module's helpers.
fn file_with_intrinsics() -> Vec<u8> {
    let mut m = support::module(true);
    m.builtins.extend([Builtin::f64_floor, Builtin::i64_shr_u]);
    m.write().expect("write")
}

/// File offset of the Builtins section and its `(index, name)` entries.
fn builtin_records(bytes: &[u8]) -> (usize, Vec<(u32, String)>) {
    let file = AotFile::parse(bytes).expect("parse");
    let at = file
        .section(SectionKind::Builtins)
        .expect("a Builtins section")
        .offset as usize;
    let list = file.builtins().map(|(i, n)| (i, n.to_owned())).collect();
    (at, list)
}

#[test]
fn a_file_calling_known_builtins_loads() {
    let bytes = file_with_intrinsics();
    let (_, list) = builtin_records(&bytes);
    assert!(list.contains(&(Builtin::f64_floor.index(), "f64_floor".to_owned())));
    assert!(list.contains(&(Builtin::i64_shr_u.index(), "i64_shr_u".to_owned())));
    // SAFETY: the test's own hand-written code.
    unsafe { Module::from_bytes(&bytes) }.expect("every builtin is provided");
}

#[test]
fn an_unknown_builtin_index_is_refused_naming_the_builtin() {
    let mut bytes = file_with_intrinsics();
    let (at, list) = builtin_records(&bytes);
    // The last record (highest index, so the list stays ascending) gets an index past the table.
    let last = list.len() - 1;
    let record = at + size_of::<BuiltinRecord>() * last;
    let bogus = BUILTIN_COUNT as u32 + 7;
    let index_at = record + offset_of!(BuiltinRecord, index);
    bytes[index_at..index_at + 4].copy_from_slice(&bogus.to_le_bytes());
    reseal(&mut bytes);
    let options = LoadOptions {
        name: Some("future.aot".into()),
        ..LoadOptions::default()
    };
    // SAFETY: refused before any code could run.
    let err = unsafe { Module::from_bytes_with(&bytes, &options) }.unwrap_err();
    match &err {
        LoadError::MissingBuiltin {
            file,
            offset,
            name,
            index,
            provided,
        } => {
            assert_eq!(file, "future.aot");
            assert_eq!(*offset, record as u64);
            assert_eq!(name, &list[last].1);
            assert_eq!(*index, bogus);
            assert_eq!(*provided, None);
        }
        other => panic!("expected MissingBuiltin, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("future.aot: at offset {record:#x}: needs builtin `i64_shr_u` (index {bogus}), which this runtime does not provide")),
        "{message}"
    );
}

#[test]
fn a_builtin_numbered_differently_is_refused_naming_both() {
    let mut bytes = file_with_intrinsics();
    let (at, list) = builtin_records(&bytes);
    let pos = list
        .iter()
        .position(|(_, n)| n == "f64_floor")
        .expect("f64_floor listed");
    // Rename `f64_floor` to `f64_flour` in the string pool: same index, another name.
    let needle = b"f64_floor";
    let found = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the name is in the pool");
    bytes[found + 7] = b'u';
    reseal(&mut bytes);
    // SAFETY: refused before any code could run.
    let err = unsafe { Module::from_bytes(&bytes) }.unwrap_err();
    match &err {
        LoadError::MissingBuiltin {
            offset,
            name,
            index,
            provided,
            ..
        } => {
            assert_eq!(*offset, (at + size_of::<BuiltinRecord>() * pos) as u64);
            assert_eq!(name, "f64_flour");
            assert_eq!(*index, Builtin::f64_floor.index());
            assert_eq!(*provided, Some("f64_floor"));
        }
        other => panic!("expected MissingBuiltin, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("needs builtin `f64_flour`"), "{message}");
    assert!(message.contains("`f64_floor`"), "{message}");
}

// Hand-assembled (`as --64`, Intel syntax), appended to the support module's text:
//
//     const_slot1:              ; the i32 in constant slot 1
//       mov rax, [rdi+56]       ; vmctx.constants
//       mov eax, [rax+8]
//       ret
//     const_addr:               ; the low 32 bits of vmctx.constants
//       mov rax, [rdi+56]
//       ret
const CONST_SLOT1: &[u8] = &[0x48, 0x8b, 0x47, 0x38, 0x8b, 0x40, 0x08, 0xc3];
const CONST_ADDR: &[u8] = &[0x48, 0x8b, 0x47, 0x38, 0xc3];

/// The support module (XIP) with `const_slot1` and `const_addr` exported, and `constants`.
fn module_with_constants(constants: Vec<[u8; 8]>) -> AotModule {
    let mut m = support::module(true);
    for (name, code) in [("const_slot1", CONST_SLOT1), ("const_addr", CONST_ADDR)] {
        let offset = m.text.len() as u32;
        m.text.extend_from_slice(code);
        m.functions.push(Function {
            type_index: 0,
            body: Some((offset, code.len() as u32)),
        });
        m.exports.push(Export {
            name: name.into(),
            kind: ExternKind::Func,
            index: m.functions.len() as u32 - 1,
        });
    }
    m.constants = constants;
    m
}

fn host_identity() -> Func {
    Func::new_host(
        FuncType::new([ValType::I32], [ValType::I32]),
        |args, results| {
            results[0] = args[0].clone();
            Ok(())
        },
    )
}

/// `(const_slot1(), const_addr())` of a fresh instance.
fn run_constants(module: &Module) -> (i32, u32) {
    let instance = Instance::new(module, &[host_identity().into()]).expect("instantiate");
    let call = |name: &str| {
        instance.call(name, &[Val::I32(0)]).expect("call")[0]
            .i32()
            .expect("i32")
    };
    (call("const_slot1"), call("const_addr") as u32)
}

fn sample_constants() -> Vec<[u8; 8]> {
    vec![
        7u64.to_ne_bytes(),
        (-123_456_789i32 as u32 as u64).to_ne_bytes(),
        (-0.0f64).to_bits().to_ne_bytes(),
    ]
}

fn low32(ptr: *const [u8; 8]) -> u32 {
    ptr as usize as u32
}

#[test]
fn a_mapped_file_uses_its_constant_table_in_place() {
    let bytes = module_with_constants(sample_constants())
        .write()
        .expect("write");
    let file = TempFile::new("constants", &bytes);
    // SAFETY: the test's own hand-written code.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    assert!(module.is_text_mapped_from_file());
    let table = module.file().constants();
    assert_eq!(table.len(), 3);
    assert!((table.as_ptr() as usize).is_multiple_of(8));
    let (slot1, addr) = run_constants(&module);
    assert_eq!(slot1, -123_456_789);
    assert_eq!(addr, low32(table.as_ptr()), "points into the mapped file");
}

/// `bytes` copied to leaked memory at an address `misalign` bytes past a multiple of 8.
fn leak_at(bytes: &[u8], misalign: usize) -> &'static [u8] {
    let buffer: &'static mut [u8] = Vec::leak(vec![0u8; bytes.len() + 16]);
    let start = (buffer.as_ptr() as usize).next_multiple_of(8) - buffer.as_ptr() as usize;
    let at = start + misalign;
    buffer[at..at + bytes.len()].copy_from_slice(bytes);
    &buffer[at..at + bytes.len()]
}

#[test]
fn misaligned_bytes_get_an_aligned_copy_of_the_constant_table() {
    let bytes = module_with_constants(sample_constants())
        .write()
        .expect("write");
    for misalign in 1..8 {
        let file = leak_at(&bytes, misalign);
        // SAFETY: the test's own hand-written code.
        let module =
            unsafe { Module::from_static_bytes(file, &LoadOptions::default()) }.expect("load");
        let table = module.file().constants();
        assert!(!(table.as_ptr() as usize).is_multiple_of(8));
        let (slot1, addr) = run_constants(&module);
        assert_eq!(slot1, -123_456_789);
        assert_ne!(addr, low32(table.as_ptr()), "a copy, not the file's bytes");
        assert!(addr.is_multiple_of(8), "the copy is 8-aligned");
    }
    // The same bytes at an 8-aligned address are used in place.
    let file = leak_at(&bytes, 0);
    // SAFETY: as above.
    let module = unsafe { Module::from_static_bytes(file, &LoadOptions::default()) }.expect("load");
    let table = module.file().constants();
    assert!((table.as_ptr() as usize).is_multiple_of(8));
    let (slot1, addr) = run_constants(&module);
    assert_eq!(slot1, -123_456_789);
    assert_eq!(addr, low32(table.as_ptr()), "in place");
}

#[test]
fn the_constant_table_outlives_the_module_handle() {
    let bytes = module_with_constants(sample_constants())
        .write()
        .expect("write");
    // SAFETY: the test's own hand-written code.
    let module = unsafe { Module::from_bytes(&bytes) }.expect("load");
    drop(bytes);
    let instance = Instance::new(&module, &[host_identity().into()]).expect("instantiate");
    drop(module);
    let out = instance.call("const_slot1", &[Val::I32(0)]).expect("call");
    assert_eq!(out[0].i32(), Some(-123_456_789));
}

#[test]
fn a_module_without_constants_gets_a_null_table() {
    let module = module_with_constants(Vec::new()).write().expect("write");
    // SAFETY: the test's own hand-written code.
    let module = unsafe { Module::from_bytes(&module) }.expect("load");
    let instance = Instance::new(&module, &[host_identity().into()]).expect("instantiate");
    let out = instance.call("const_addr", &[Val::I32(0)]).expect("call");
    assert_eq!(out[0].i32(), Some(0));
}
