//! Traps in compiled code: each returns `Err(Trap)` with the right code, and the instance can be
//! called again afterwards. Covers the code models (normal, XIP, explicit bounds checks).

mod support;

use aotc_loader::{Instance, InstanceConfig, Module, TrapCode, Val};
use aotc_translate::CompileOptions;

const TRAPS: &str = r#"
(module
  (type $i2i (func (param i32) (result i32)))
  (type $v2v (func))
  (memory 1 2)
  (table 4 funcref)
  (elem (i32.const 0) $ok_i $boom)
  (func $ok_i (type $i2i) (i32.add (local.get 0) (i32.const 1)))
  (func $boom (type $v2v) unreachable)
  (func (export "ok") (result i32) (i32.const 42))
  (func (export "unreachable") unreachable)
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_u") (param i32 i32) (result i32) (i32.rem_u (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32) (i32.store offset=8 (local.get 0) (i32.const 7)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "call_indirect") (param i32 i32) (result i32)
    (call_indirect (type $i2i) (local.get 0) (local.get 1)))
)
"#;

fn instantiate(options: &CompileOptions) -> (Module, Instance) {
    let module = support::load_wat(TRAPS, options);
    let instance = Instance::new(&module, &[]).expect("instantiate");
    (module, instance)
}

fn code_models() -> Vec<(&'static str, CompileOptions)> {
    vec![
        ("normal", CompileOptions::default()),
        ("xip", CompileOptions::xip()),
        (
            "explicit bounds checks",
            CompileOptions {
                explicit_bounds_checks: true,
                ..CompileOptions::default()
            },
        ),
    ]
}

fn f64_arg(v: f64) -> Val {
    Val::F64(v.to_bits())
}

#[test]
fn each_trap_has_its_code_and_the_instance_recovers() {
    for (model, options) in code_models() {
        let (_module, instance) = instantiate(&options);
        let cases: Vec<(&str, Vec<Val>, TrapCode)> = vec![
            ("unreachable", vec![], TrapCode::UnreachableCodeReached),
            (
                "div_s",
                vec![Val::I32(1), Val::I32(0)],
                TrapCode::IntegerDivisionByZero,
            ),
            (
                "rem_u",
                vec![Val::I32(1), Val::I32(0)],
                TrapCode::IntegerDivisionByZero,
            ),
            (
                "div_s",
                vec![Val::I32(i32::MIN), Val::I32(-1)],
                TrapCode::IntegerOverflow,
            ),
            ("load", vec![Val::I32(65536)], TrapCode::MemoryOutOfBounds),
            ("load", vec![Val::I32(-1)], TrapCode::MemoryOutOfBounds),
            ("store", vec![Val::I32(65530)], TrapCode::MemoryOutOfBounds),
            (
                "trunc",
                vec![f64_arg(f64::NAN)],
                TrapCode::BadConversionToInteger,
            ),
            ("trunc", vec![f64_arg(1e10)], TrapCode::IntegerOverflow),
            ("recurse", vec![Val::I32(0)], TrapCode::StackOverflow),
            (
                "call_indirect",
                vec![Val::I32(1), Val::I32(3)],
                TrapCode::IndirectCallToNull,
            ),
            (
                "call_indirect",
                vec![Val::I32(1), Val::I32(1)],
                TrapCode::BadSignature,
            ),
            (
                "call_indirect",
                vec![Val::I32(1), Val::I32(9)],
                TrapCode::UndefinedElement,
            ),
        ];
        for (name, args, code) in cases {
            let f = instance.get_func(name).expect(name);
            let trap = f.call(&args).expect_err(name);
            assert_eq!(trap.code, code, "{model}: {name}{args:?}: {trap}");
            assert!(
                trap.message.is_none(),
                "{model}: an exact trap site: {trap}"
            );
            let ok = instance.get_func("ok").unwrap().call(&[]).unwrap();
            assert_eq!(ok, [Val::I32(42)], "{model}: call after {name}");
        }
        let f = instance.get_func("call_indirect").unwrap();
        assert_eq!(f.call(&[Val::I32(1), Val::I32(0)]).unwrap(), [Val::I32(2)]);
        let load = instance.get_func("load").unwrap();
        assert_eq!(load.call(&[Val::I32(65532)]).unwrap(), [Val::I32(0)]);
    }
}

#[test]
fn a_trap_names_its_function() {
    let (_module, instance) = instantiate(&CompileOptions::default());
    let trap = instance.call("unreachable", &[]).unwrap_err();
    assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
    assert_eq!(trap.func_name.as_deref(), Some("unreachable"));
    assert!(trap.func_index.is_some() && trap.text_offset.is_some());
    let text = trap.to_string();
    assert!(
        text.starts_with("wasm trap: unreachable (in function "),
        "{text}"
    );
}

#[test]
fn stack_overflow_is_a_trap_at_every_stack_size() {
    let module = support::load_wat(TRAPS, &CompileOptions::default());
    for max_wasm_stack in [16 * 1024, 256 * 1024, 64 << 20] {
        let config = InstanceConfig {
            max_wasm_stack,
            ..Default::default()
        };
        let instance = Instance::new_with(&module, &[], &config).unwrap();
        for _ in 0..2 {
            let trap = instance.call("recurse", &[Val::I32(0)]).unwrap_err();
            assert_eq!(
                trap.code,
                TrapCode::StackOverflow,
                "{max_wasm_stack}: {trap}"
            );
            assert_eq!(instance.call("ok", &[]).unwrap(), [Val::I32(42)]);
        }
    }
}

#[test]
fn traps_on_several_threads_at_once() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let (_module, instance) = instantiate(&support::options(true));
                for _ in 0..50 {
                    let trap = instance.call("load", &[Val::I32(-4)]).unwrap_err();
                    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
                    let trap = instance.call("recurse", &[Val::I32(0)]).unwrap_err();
                    assert_eq!(trap.code, TrapCode::StackOverflow);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
