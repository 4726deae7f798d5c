//! A host survives 10,000 traps of every kind in a loop, in normal and XIP mode, with flat
//! memory use: traps leak neither memory nor stack, and the instance stays callable.

mod support;

use aotc_loader::{Extern, Func, FuncType, HostError, Instance, InstanceConfig, TrapCode, Val};

const ROUNDS: usize = 10_000;

const MODULE: &str = r#"
(module
  (import "host" "fail" (func $fail))
  (type $i2i (func (param i32) (result i32)))
  (type $v2v (func))
  (memory 1)
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $inc $nop)
  (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
  (func $nop (type $v2v))
  (func (export "ok") (result i32) (call_indirect (type $i2i) (i32.const 41) (i32.const 0)))
  (func (export "unreachable") unreachable)
  (func (export "memory") (drop (i32.load (i32.const 65536))))
  (func (export "table") (drop (table.get $t (i32.const 4))))
  (func (export "null") (drop (call_indirect (type $i2i) (i32.const 0) (i32.const 2))))
  (func (export "signature") (drop (call_indirect (type $i2i) (i32.const 0) (i32.const 1))))
  (func (export "undefined") (drop (call_indirect (type $i2i) (i32.const 0) (i32.const 9))))
  (func (export "overflow") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func (export "divide") (drop (i32.rem_u (i32.const 1) (i32.const 0))))
  (func (export "conversion") (drop (i32.trunc_f32_s (f32.const nan))))
  (func $deep (export "stack") (call $deep))
  (func (export "host") (call $fail))
)
"#;

const KINDS: &[(&str, TrapCode)] = &[
    ("unreachable", TrapCode::UnreachableCodeReached),
    ("memory", TrapCode::MemoryOutOfBounds),
    ("table", TrapCode::TableOutOfBounds),
    ("null", TrapCode::IndirectCallToNull),
    ("signature", TrapCode::BadSignature),
    ("undefined", TrapCode::UndefinedElement),
    ("overflow", TrapCode::IntegerOverflow),
    ("divide", TrapCode::IntegerDivisionByZero),
    ("conversion", TrapCode::BadConversionToInteger),
    ("stack", TrapCode::StackOverflow),
    ("host", TrapCode::HostError),
];

/// Resident set size in bytes, from `/proc/self/statm`.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("rss field");
    pages * 4096
}

fn instance(xip: bool) -> Instance {
    let module = support::load_wat(MODULE, &support::options(xip));
    let fail = Func::new_host(FuncType::new([], []), |_: &[Val], _: &mut [Val]| {
        Err(HostError::new("refused by the host"))
    });
    // A small wasm stack keeps 10,000 overflows quick.
    let config = InstanceConfig {
        max_wasm_stack: 128 << 10,
        ..Default::default()
    };
    Instance::new_with(&module, &[Extern::Func(fail)], &config).expect("instantiate")
}

// One test per binary: a concurrent test (compiling, say) would move the resident set size
// this test measures.
#[test]
fn ten_thousand_traps_of_each_kind() {
    for xip in [false, true] {
        let instance = instance(xip);
        let trap = instance
            .get_func("divide")
            .expect("divide")
            .call(&[])
            .expect_err("traps");
        assert_eq!(
            trap.func_name.as_deref(),
            Some("divide"),
            "the trap names its function"
        );
        assert!(
            trap.to_string().contains("integer divide by zero"),
            "{trap}"
        );
        let ok = instance.get_func("ok").expect("ok");
        for (name, code) in KINDS {
            let func = instance.get_func(name).expect(name);
            let mut baseline = None;
            for round in 0..ROUNDS {
                let trap = func.call(&[]).expect_err("must trap");
                assert_eq!(
                    trap.code, *code,
                    "{name} (xip: {xip}), round {round}: {trap}"
                );
                if round == ROUNDS / 10 {
                    baseline = Some(rss());
                }
            }
            assert_eq!(ok.call(&[]).expect("callable after traps"), [Val::I32(42)]);
            let growth = rss().saturating_sub(baseline.expect("baseline"));
            assert!(
                growth < 1 << 20,
                "{name} (xip: {xip}): resident memory grew by {growth} bytes over {} traps",
                ROUNDS - ROUNDS / 10
            );
        }
    }
}
