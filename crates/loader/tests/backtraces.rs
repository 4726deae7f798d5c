//! Trap backtraces: the wasm frames from the trapping instruction to the host's call, named by
//! the `name` section kept in the AOT file, for traps raised by faults, by runtime helpers and
//! by host functions, in normal and XIP files.

mod support;

use aotc_loader::{
    Frame, Func, FuncType, HostError, Instance, MAX_BACKTRACE_FRAMES, Module, TrapCode, Val,
    ValType,
};
use aotc_translate::CompileOptions;

/// Compiled without inlining (see [`instantiate`]): a function inlined into its caller has no
/// frame of its own.
const CHAIN: &str = r#"
(module
  (import "env" "fail" (func $fail (param i32)))
  (memory 1)
  (func $bottom (param i32) (result i32)
    (if (local.get 0) (then unreachable))
    (i32.const 7))
  (func $middle (param i32) (result i32)
    (i32.add (call $bottom (local.get 0)) (i32.const 1)))
  (func $top (export "top") (param i32) (result i32)
    (i32.add (call $middle (local.get 0)) (i32.const 2)))
  (func $fill (param i32)
    (memory.fill (local.get 0) (i32.const 0) (i32.const 16)))
  (func $fill_caller (export "fill") (param i32)
    (call $fill (local.get 0)))
  (func $host_caller (param i32)
    (call $fail (local.get 0)))
  (func $host_outer (export "host") (param i32)
    (call $host_caller (local.get 0)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (local.get 0)) (i32.const 1)))
)
"#;

/// The same chain without a `name` section: only `top` has a name (its export name).
const NAMELESS: &str = r#"
(module
  (func (param i32) (result i32)
    (if (local.get 0) (then unreachable))
    (i32.const 7))
  (func (param i32) (result i32)
    (i32.add (call 0 (local.get 0)) (i32.const 1)))
  (func (export "top") (param i32) (result i32)
    (i32.add (call 1 (local.get 0)) (i32.const 2)))
)
"#;

fn names(frames: &[Frame]) -> Vec<String> {
    frames.iter().map(Frame::display_name).collect()
}

/// `wat` compiled without inlining, so each wasm call keeps its frame, and instantiated.
fn instantiate(wat: &str, xip: bool) -> (Module, Instance) {
    let options = CompileOptions {
        inlining: false,
        ..support::options(xip)
    };
    let module = support::load_wat(wat, &options);
    let fail = Func::new_host(FuncType::new([ValType::I32], []), |args, _| {
        match args[0].i32() {
            Some(0) => Ok(()),
            _ => Err(HostError::new("the host refuses")),
        }
    });
    let imports = if module.imports().count() == 0 {
        Vec::new()
    } else {
        vec![fail.into()]
    };
    let instance = Instance::new(&module, &imports).expect("instantiate");
    (module, instance)
}

#[test]
fn a_fault_three_calls_deep_names_the_three_functions_in_order() {
    for xip in [false, true] {
        let (_module, instance) = instantiate(CHAIN, xip);
        let top = instance.get_func("top").unwrap();
        let trap = top.call(&[Val::I32(1)]).unwrap_err();
        assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
        assert_eq!(
            names(&trap.backtrace),
            ["bottom", "middle", "top"],
            "xip={xip}"
        );
        assert_eq!(trap.backtrace[0].text_offset, trap.text_offset.unwrap());
        assert_eq!(
            trap.backtrace[1].func_index, 2,
            "imports count in the indices"
        );
        // The instance still works, and the next trap has its own backtrace.
        assert_eq!(top.call(&[Val::I32(0)]).unwrap(), [Val::I32(10)]);
        let again = top.call(&[Val::I32(1)]).unwrap_err();
        assert_eq!(again.backtrace, trap.backtrace);
    }
}

#[test]
fn a_module_without_names_shows_function_indices() {
    for xip in [false, true] {
        let (_module, instance) = instantiate(NAMELESS, xip);
        let trap = instance
            .get_func("top")
            .unwrap()
            .call(&[Val::I32(1)])
            .unwrap_err();
        assert_eq!(
            names(&trap.backtrace),
            ["wasm-function[0]", "wasm-function[1]", "top"],
            "xip={xip}"
        );
    }
}

#[test]
fn a_runtime_helper_trap_starts_at_its_wasm_caller() {
    for xip in [false, true] {
        let (_module, instance) = instantiate(CHAIN, xip);
        // A host call that returned leaves return addresses into wasm text in dead stack below
        // the helper's frames: they must not show.
        instance
            .get_func("host")
            .unwrap()
            .call(&[Val::I32(0)])
            .unwrap();
        let fill = instance.get_func("fill").unwrap();
        let trap = fill.call(&[Val::I32(65536)]).unwrap_err();
        assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
        assert_eq!(names(&trap.backtrace), ["fill", "fill_caller"], "xip={xip}");
        fill.call(&[Val::I32(0)]).unwrap();
    }
}

#[test]
fn a_host_function_trap_shows_its_wasm_callers() {
    for xip in [false, true] {
        let (_module, instance) = instantiate(CHAIN, xip);
        let host = instance.get_func("host").unwrap();
        let trap = host.call(&[Val::I32(1)]).unwrap_err();
        assert_eq!(trap.code, TrapCode::HostError);
        assert_eq!(
            names(&trap.backtrace),
            ["host_caller", "host_outer"],
            "xip={xip}"
        );
        host.call(&[Val::I32(0)]).unwrap();
    }
}

#[test]
fn a_stack_overflow_keeps_the_innermost_frames() {
    for xip in [false, true] {
        let (_module, instance) = instantiate(CHAIN, xip);
        let trap = instance
            .get_func("recurse")
            .unwrap()
            .call(&[Val::I32(0)])
            .unwrap_err();
        assert_eq!(trap.code, TrapCode::StackOverflow);
        assert_eq!(trap.backtrace.len(), MAX_BACKTRACE_FRAMES, "xip={xip}");
        assert!(names(&trap.backtrace).iter().all(|n| n == "recurse"));
    }
}
