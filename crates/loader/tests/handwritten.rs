//! Runtime tests against hand-written AOT files (hand-assembled x86-64 code, see `support`):
//! mapping, relocation, calls, host functions, traps and recovery, memory, globals, linking.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod support;

use std::cell::Cell;
use std::rc::Rc;

use aotc_loader::{
    Extern, Func, FuncType, HostError, Instance, InstantiationError, LoadError, Module, TrapCode,
    Val, ValType,
};
use support::{TempFile, module};

fn host_double() -> Func {
    Func::new_host(
        FuncType::new([ValType::I32], [ValType::I32]),
        |args, results| {
            let x = args[0].i32().ok_or("expected an i32")?;
            if x < 0 {
                return Err(HostError::new(format!("negative input {x}")));
            }
            results[0] = Val::I32(x * 2);
            Ok(())
        },
    )
}

fn load(xip: bool) -> (TempFile, Module) {
    let bytes = module(xip).write().expect("write");
    let file = TempFile::new(if xip { "hand-xip" } else { "hand" }, &bytes);
    // SAFETY: the file holds the test's own hand-written code.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    (file, module)
}

fn call_i32(instance: &Instance, name: &str, arg: i32) -> Result<i32, aotc_loader::Trap> {
    let out = instance.call(name, &[Val::I32(arg)])?;
    Ok(out[0].i32().expect("i32 result"))
}

#[test]
fn xip_file_maps_text_from_the_file() {
    let (_file, module) = load(true);
    assert!(module.is_xip());
    assert!(module.is_text_mapped_from_file());
    let instance = Instance::new(&module, &[host_double().into()]).expect("instantiate");
    assert_eq!(call_i32(&instance, "add1", 41).unwrap(), 42);
}

#[test]
fn normal_file_is_copied_and_relocated() {
    let (_file, module) = load(false);
    assert!(!module.is_xip());
    assert!(!module.is_text_mapped_from_file());
    let instance = Instance::new(&module, &[host_double().into()]).expect("instantiate");
    assert_eq!(call_i32(&instance, "call_add1_reloc", 9).unwrap(), 10);
    // memory.grow through an Abs8 relocation to the builtin.
    assert_eq!(call_i32(&instance, "grow_reloc", 1).unwrap(), 1);
    assert_eq!(instance.get_memory("memory").unwrap().size_pages(), 2);
}

#[test]
fn from_bytes_copies_everything() {
    let bytes = module(true).write().unwrap();
    // SAFETY: the test's own code.
    let module = unsafe { Module::from_bytes(&bytes) }.expect("load");
    drop(bytes);
    assert!(module.is_xip());
    assert!(!module.is_text_mapped_from_file());
    let instance = Instance::new(&module, &[host_double().into()]).unwrap();
    assert_eq!(call_i32(&instance, "add1", 1).unwrap(), 2);
}

#[test]
fn host_function_called_from_wasm() {
    for xip in [true, false] {
        let (_file, module) = load(xip);
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        let host = Func::new_host(
            FuncType::new([ValType::I32], [ValType::I32]),
            move |args, results| {
                seen.set(seen.get() + 1);
                results[0] = Val::I32(args[0].i32().unwrap() * 3);
                Ok(())
            },
        );
        let instance = Instance::new(&module, &[host.into()]).unwrap();
        assert_eq!(call_i32(&instance, "call_host", 5).unwrap(), 16);
        assert_eq!(calls.get(), 1);
        // The import, re-exported through the instance, is the host function itself.
        assert_eq!(module.imports().count(), 1);
    }
}

#[test]
fn host_error_becomes_a_trap_and_instance_recovers() {
    let (_file, module) = load(true);
    let instance = Instance::new(&module, &[host_double().into()]).unwrap();
    let trap = call_i32(&instance, "call_host", -1).unwrap_err();
    assert_eq!(trap.code, TrapCode::HostError);
    assert!(
        trap.message
            .as_deref()
            .unwrap()
            .contains("negative input -1")
    );
    assert_eq!(call_i32(&instance, "call_host", 4).unwrap(), 9);
}

#[test]
fn host_panic_propagates_through_wasm() {
    let (_file, module) = load(true);
    let host = Func::new_host(FuncType::new([ValType::I32], [ValType::I32]), |_, _| {
        panic!("boom from the host")
    });
    let instance = Instance::new(&module, &[host.into()]).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = call_i32(&instance, "call_host", 1);
    }));
    assert!(caught.is_err());
    assert_eq!(call_i32(&instance, "add1", 1).unwrap(), 2);
}

#[test]
fn traps_have_codes_and_locations_and_the_instance_stays_usable() {
    for xip in [true, false] {
        let (_file, module) = load(xip);
        let instance = Instance::new(&module, &[host_double().into()]).unwrap();
        let cases: &[(&str, i32, TrapCode)] = &[
            ("unreachable", 0, TrapCode::UnreachableCodeReached),
            ("load", 0x10000, TrapCode::MemoryOutOfBounds),
            ("load", -1, TrapCode::MemoryOutOfBounds),
            ("div", 0, TrapCode::IntegerDivisionByZero),
            ("recurse", 0, TrapCode::StackOverflow),
            ("trapper", 0, TrapCode::IntegerDivisionByZero),
            ("fill", 0x10000 - 8, TrapCode::MemoryOutOfBounds),
        ];
        for (name, arg, code) in cases {
            let trap = call_i32(&instance, name, *arg).unwrap_err();
            assert_eq!(trap.code, *code, "{name}({arg}): {trap}");
            assert_eq!(call_i32(&instance, "add1", 1).unwrap(), 2, "after {name}");
        }
        // Locations of a fault with a trap site.
        let trap = call_i32(&instance, "div", 0).unwrap_err();
        assert_eq!(trap.func_index, Some(4));
        assert_eq!(trap.func_name.as_deref(), Some("div"));
        assert_eq!(trap.text_offset, Some(support::DIV_SITE));
        assert_eq!(
            trap.to_string(),
            "wasm trap: integer divide by zero (in function 4 `div` at text offset 0x5e)"
        );
        assert_eq!(call_i32(&instance, "div", 5).unwrap(), 20);
        assert_eq!(call_i32(&instance, "fill", 0x10000 - 16).unwrap(), 0);
    }
}

#[test]
fn deep_recursion_respects_max_wasm_stack() {
    let (_file, module) = load(true);
    let config = aotc_loader::InstanceConfig {
        max_wasm_stack: 64 * 1024,
        ..Default::default()
    };
    let instance = Instance::new_with(&module, &[host_double().into()], &config).unwrap();
    for _ in 0..3 {
        let trap = call_i32(&instance, "recurse", 0).unwrap_err();
        assert_eq!(trap.code, TrapCode::StackOverflow);
        assert_eq!(trap.func_name.as_deref(), Some("recurse"));
    }
    // On a fresh thread too (its own stack bounds, alternate signal stack).
    std::thread::spawn(move || {
        let (_file, module) = load(true);
        let instance = Instance::new(&module, &[host_double().into()]).unwrap();
        let trap = call_i32(&instance, "recurse", 0).unwrap_err();
        assert_eq!(trap.code, TrapCode::StackOverflow);
        assert_eq!(call_i32(&instance, "add1", 2).unwrap(), 3);
    })
    .join()
    .unwrap();
}

#[test]
fn memory_data_globals_and_start() {
    let (_file, module) = load(true);
    let instance = Instance::new(&module, &[host_double().into()]).unwrap();
    // Data segment at 16.
    assert_eq!(call_i32(&instance, "load", 16).unwrap(), 0x0403_0201);
    let memory = instance.get_memory("memory").unwrap();
    assert_eq!(memory.data_size(), 65536);
    memory.write(100, &[9, 0, 0, 0]).unwrap();
    assert_eq!(call_i32(&instance, "load", 100).unwrap(), 9);
    let mut buf = [0u8; 4];
    memory.read(16, &mut buf).unwrap();
    assert_eq!(buf, [1, 2, 3, 4]);
    assert!(memory.read(65534, &mut buf).is_err());
    // memory.grow through the builtin table: 1 -> 3 pages, then beyond the maximum fails.
    assert_eq!(call_i32(&instance, "grow", 2).unwrap(), 1);
    assert_eq!(memory.size_pages(), 3);
    assert_eq!(call_i32(&instance, "grow", 1).unwrap(), -1);
    assert_eq!(call_i32(&instance, "load", 3 * 65536 - 4).unwrap(), 0);
    assert_eq!(
        call_i32(&instance, "load", 3 * 65536).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );
    // Global initialised to 5, start function added 1000.
    assert_eq!(call_i32(&instance, "global_add", 1).unwrap(), 1006);
    let g = instance.get_global("g").unwrap();
    assert_eq!(g.get(), Val::I32(1005));
    g.set(Val::I32(-5)).unwrap();
    assert_eq!(call_i32(&instance, "global_add", 5).unwrap(), 0);
    assert!(g.set(Val::I64(1)).is_err());
}

#[test]
fn linking_errors_use_the_spec_wording() {
    let (_file, module) = load(true);
    let err = Instance::new(&module, &[]).unwrap_err();
    assert!(err.to_string().starts_with("unknown import"), "{err}");
    let wrong_type = Func::new_host(FuncType::new([], []), |_, _| Ok(()));
    let err = Instance::new(&module, &[wrong_type.into()]).unwrap_err();
    assert!(matches!(err, InstantiationError::Link { .. }));
    assert!(
        err.to_string().starts_with("incompatible import type"),
        "{err}"
    );
    let memory = aotc_loader::Memory::new(aotc_loader::MemoryType {
        min: 1,
        max: None,
        memory64: false,
        shared: false,
    })
    .unwrap();
    let err = Instance::new(&module, &[Extern::Memory(memory)]).unwrap_err();
    assert!(
        err.to_string().starts_with("incompatible import type"),
        "{err}"
    );
}

#[test]
fn wasm_function_imported_into_another_instance() {
    let (_file, module) = load(true);
    let first = Instance::new(&module, &[host_double().into()]).unwrap();
    // The second instance imports the first one's `add1` as its `env.host`.
    let add1 = first.get_func("add1").unwrap();
    let second = Instance::new(&module, &[add1.into()]).unwrap();
    drop(first);
    assert_eq!(call_i32(&second, "call_host", 10).unwrap(), 12);
}

#[test]
fn exports_and_types() {
    let (_file, module) = load(true);
    let names: Vec<&str> = module.exports().map(|(n, _)| n).collect();
    assert!(names.contains(&"add1") && names.contains(&"memory") && names.contains(&"g"));
    let instance = Instance::new(&module, &[host_double().into()]).unwrap();
    let f = instance.get_func("add1").unwrap();
    assert_eq!(f.ty(), FuncType::new([ValType::I32], [ValType::I32]));
    let err = f.call(&[Val::I64(1)]).unwrap_err();
    assert_eq!(err.code, TrapCode::HostError);
    assert!(f.call(&[]).is_err());
}

#[test]
fn wrong_target_is_refused() {
    let mut m = module(true);
    m.arch = aotc_abi::Arch::Aarch64;
    let bytes = m.write().unwrap();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::from_bytes(&bytes) }.unwrap_err();
    assert!(matches!(err, LoadError::WrongTarget { .. }), "{err}");
    assert!(err.to_string().contains("<memory>"), "{err}");
    assert!(err.to_string().contains("offset 0x18"), "{err}");

    let mut m = module(true);
    m.cpu_features = 1 << 40;
    let bytes = m.write().unwrap();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::from_bytes(&bytes) }.unwrap_err();
    assert!(matches!(err, LoadError::MissingCpuFeatures { .. }), "{err}");
}
