//! Host functions imported by compiled wasm: arguments and results of every scalar type and of
//! `v128` (with `v128` globals), results written back, re-entrant calls into wasm, errors as traps, host functions in tables.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use aotc_loader::{
    Extern, Func, FuncType, Global, GlobalType, HostError, Instance, Module, Table, TableType,
    TrapCode, Val, ValType,
};

fn load(wat: &str, xip: bool) -> Module {
    support::load_wat(wat, &support::options(xip))
}

const MIXED: &str = r#"
(module
  (import "env" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
  (import "env" "log" (func $log (param i32)))
  (func (export "run") (param i32) (result f64)
    (call $log (local.get 0))
    (call $mix (local.get 0) (i64.const -3) (f32.const 1.5) (f64.const 0.25)))
)
"#;

#[test]
fn arguments_and_results_of_every_scalar_type() {
    for xip in [false, true] {
        let module = load(MIXED, xip);
        let logged = Rc::new(RefCell::new(Vec::new()));
        let sink = logged.clone();
        let mix = Func::new_host(
            FuncType::new(
                [ValType::I32, ValType::I64, ValType::F32, ValType::F64],
                [ValType::F64],
            ),
            |args, results| {
                let a = f64::from(args[0].i32().unwrap());
                let b = args[1].i64().unwrap() as f64;
                let c = f64::from(args[2].f32().unwrap());
                let d = args[3].f64().unwrap();
                results[0] = Val::F64((a * 1000.0 + b * 100.0 + c * 10.0 + d).to_bits());
                Ok(())
            },
        );
        let log = Func::new_host(FuncType::new([ValType::I32], []), move |args, _| {
            sink.borrow_mut().push(args[0].i32().unwrap());
            Ok(())
        });
        let imports: Vec<Extern> = vec![mix.into(), log.into()];
        let instance = Instance::new(&module, &imports).expect("instantiate");
        let run = instance.get_func("run").unwrap();
        let out = run.call(&[Val::I32(7)]).unwrap();
        assert_eq!(out[0].f64(), Some(7000.0 - 300.0 + 15.0 + 0.25));
        assert_eq!(*logged.borrow(), [7]);
    }
}

const VECTORS: &str = r#"
(module
  (import "env" "swap" (func $swap (param v128 i32) (result v128)))
  (import "env" "bias" (global $bias v128))
  (global $last (export "last") (mut v128) (v128.const i64x2 0 0))
  (func (export "run") (param v128) (result v128)
    (global.set $last (call $swap (local.get 0) (i32.const 7)))
    (i32x4.add (global.get $last) (global.get $bias)))
)
"#;

#[test]
fn v128_crosses_host_functions_and_globals() {
    for xip in [false, true] {
        let module = load(VECTORS, xip);
        let swap = Func::new_host(
            FuncType::new([ValType::V128, ValType::I32], [ValType::V128]),
            |args, results| {
                let Val::V128(v) = args[0] else {
                    return Err("not a v128".into());
                };
                let n = args[1].i32().unwrap() as u32;
                results[0] = Val::V128(v.rotate_left(64) + u128::from(n));
                Ok(())
            },
        );
        let bias_type = GlobalType {
            content: ValType::V128,
            mutable: false,
        };
        let bias = Global::new(bias_type, Val::V128(0x1_0000_0000_0000_0000_0000_0000)).unwrap();
        let imports: Vec<Extern> = vec![swap.into(), bias.into()];
        let instance = Instance::new(&module, &imports).expect("instantiate");
        let run = instance.get_func("run").unwrap();
        let input = 0x0000_0001_0000_0002_0000_0003_0000_0004;
        let swapped = 0x0000_0003_0000_0004_0000_0001_0000_0009;
        let out = run.call(&[Val::V128(input)]).unwrap();
        assert_eq!(
            out,
            [Val::V128(swapped + 0x1_0000_0000_0000_0000_0000_0000)]
        );
        let last = instance.get_global("last").unwrap();
        assert_eq!(last.get(), Val::V128(swapped));
        last.set(Val::V128(5)).unwrap();
        assert_eq!(last.get(), Val::V128(5));
    }
}

const REENTRANT: &str = r#"
(module
  (import "env" "back" (func $back (param i32) (result i32)))
  (func $fact (export "fact") (param i32) (result i32)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $back (i32.sub (local.get 0) (i32.const 1)))))))
)
"#;

#[test]
fn host_functions_can_call_back_into_wasm() {
    let module = load(REENTRANT, true);
    let slot: Rc<RefCell<Option<Func>>> = Rc::new(RefCell::new(None));
    let inner = slot.clone();
    let back = Func::new_host(
        FuncType::new([ValType::I32], [ValType::I32]),
        move |args, results| {
            let fact = inner.borrow().clone().ok_or("not linked yet")?;
            let n = args[0].i32().unwrap();
            if n == 3 {
                return Err(HostError::new("refusing 3"));
            }
            results[0] = fact.call(&[Val::I32(n)]).map_err(|t| t.to_string())?[0].clone();
            Ok(())
        },
    );
    let instance = Instance::new(&module, &[back.into()]).unwrap();
    let fact = instance.get_func("fact").unwrap();
    *slot.borrow_mut() = Some(fact.clone());
    assert_eq!(fact.call(&[Val::I32(2)]).unwrap(), [Val::I32(2)]);
    // 5 -> host -> 4 -> host -> 3: the inner host error traps the inner call, which the outer
    // host function reports as its own error.
    let trap = fact.call(&[Val::I32(5)]).unwrap_err();
    assert_eq!(trap.code, TrapCode::HostError);
    assert!(trap.message.unwrap().contains("refusing 3"));
    *slot.borrow_mut() = None; // break the cycle
    assert_eq!(fact.call(&[Val::I32(1)]).unwrap(), [Val::I32(1)]);
}

const TABLED: &str = r#"
(module
  (type $i2i (func (param i32) (result i32)))
  (import "env" "triple" (func $triple (type $i2i)))
  (import "env" "table" (table 2 funcref))
  (elem (i32.const 0) $triple $inc)
  (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect (type $i2i) (local.get 1) (local.get 0)))
)
"#;

#[test]
fn host_functions_in_tables() {
    let module = load(TABLED, true);
    let triple = Func::new_host(
        FuncType::new([ValType::I32], [ValType::I32]),
        |args, results| {
            results[0] = Val::I32(args[0].i32().unwrap() * 3);
            Ok(())
        },
    );
    let table = Table::new(
        TableType {
            element: ValType::FuncRef,
            min: 2,
            max: None,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let imports: Vec<Extern> = vec![triple.clone().into(), table.clone().into()];
    let instance = Instance::new(&module, &imports).unwrap();
    let dispatch = instance.get_func("dispatch").unwrap();
    assert_eq!(
        dispatch.call(&[Val::I32(0), Val::I32(5)]).unwrap(),
        [Val::I32(15)]
    );
    assert_eq!(
        dispatch.call(&[Val::I32(1), Val::I32(5)]).unwrap(),
        [Val::I32(6)]
    );
    // The table holds the host function itself and the instance's function.
    match table.get(0) {
        Some(Val::FuncRef(Some(f))) => assert!(f.same(&triple)),
        other => panic!("unexpected element {other:?}"),
    }
    let Some(Val::FuncRef(Some(inc))) = table.get(1) else {
        panic!("element 1 is set")
    };
    assert_eq!(inc.call(&[Val::I32(41)]).unwrap(), [Val::I32(42)]);
    // Swap the entries from the host.
    table.set(0, Val::FuncRef(Some(inc))).unwrap();
    table.set(1, Val::FuncRef(Some(triple))).unwrap();
    assert_eq!(
        dispatch.call(&[Val::I32(0), Val::I32(5)]).unwrap(),
        [Val::I32(6)]
    );
    assert_eq!(
        dispatch.call(&[Val::I32(1), Val::I32(5)]).unwrap(),
        [Val::I32(15)]
    );
    drop(instance);
    // The table keeps the instance's function alive.
    let Some(Val::FuncRef(Some(inc))) = table.get(0) else {
        panic!("element 0 is set")
    };
    assert_eq!(inc.call(&[Val::I32(1)]).unwrap(), [Val::I32(2)]);
}
