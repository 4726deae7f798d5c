//! Inlining keeps traps: small functions of the module are inlined into their direct callers
//! (every code model, optimisation level 1 and up), their trap sites move into the callers' code
//! with their trap codes, and a trap inside an inlined body reports the code it reports when
//! called, as at optimisation level 0 (no inlining).

mod support;

use aotc_format::layout::ExternKind;
use aotc_loader::{Instance, TrapCode, Val};
use aotc_translate::CompileOptions;

const CALLERS: &str = r#"
(module
  (type $i2i (func (param i32) (result i32)))
  (memory 1)
  (table 3 3 funcref)
  (elem (i32.const 0) $boom $load)
  (func $div (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func $boom unreachable)
  (func $indirect (param i32 i32) (result i32)
    (call_indirect (type $i2i) (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (call $div (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (call $load (local.get 0)))
  (func (export "boom") (call $boom))
  (func (export "indirect") (param i32 i32) (result i32)
    (call $indirect (local.get 0) (local.get 1)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (local.get 0)) (i32.const 1)))
)
"#;

/// The trap codes of the trap sites in the code of export `name`.
fn trap_sites_of(options: &CompileOptions, name: &str) -> Vec<TrapCode> {
    let compiled = aotc_pipeline::compile(options, CALLERS.as_bytes()).expect("compile");
    let m = compiled.module();
    let export = m
        .exports
        .iter()
        .find(|e| e.kind == ExternKind::Func && e.name == name)
        .expect("export");
    let (start, len) = m.functions[export.index as usize].body.expect("body");
    m.traps
        .iter()
        .filter(|(offset, _)| (start..start + len).contains(offset))
        .map(|(_, code)| *code)
        .collect()
}

#[test]
fn small_callees_are_inlined_with_their_trap_sites_in_normal_and_xip_modes() {
    let normal = CompileOptions::default();
    let unoptimised = CompileOptions {
        opt_level: 0,
        ..CompileOptions::default()
    };
    for (caller, code) in [
        ("div", TrapCode::IntegerDivisionByZero),
        ("div", TrapCode::IntegerOverflow),
        ("load", TrapCode::MemoryOutOfBounds),
        ("boom", TrapCode::UnreachableCodeReached),
        ("indirect", TrapCode::BadSignature),
        ("indirect", TrapCode::UndefinedElement),
    ] {
        for (model, options) in [("normal", &normal), ("xip", &CompileOptions::xip())] {
            assert!(
                trap_sites_of(options, caller).contains(&code),
                "{caller}: no inlined {code:?} site in {model}"
            );
        }
        assert!(
            !trap_sites_of(&unoptimised, caller).contains(&code),
            "{caller}: {code:?} inlined at opt level 0"
        );
    }
}

#[test]
fn a_trap_inside_an_inlined_body_reports_its_code() {
    let models = [
        ("normal", CompileOptions::default()),
        ("xip", CompileOptions::xip()),
        ("xip, every intrinsic", {
            let mut options = CompileOptions::xip();
            options.intrinsics = Some(aotc_abi::intrinsics::IntrinsicSet::all());
            options
        }),
        (
            "opt level 0",
            CompileOptions {
                opt_level: 0,
                ..CompileOptions::default()
            },
        ),
    ];
    for (model, options) in models {
        let module = support::load_wat(CALLERS, &options);
        let instance = Instance::new(&module, &[]).expect("instantiate");
        let call = |name: &str, args: &[Val]| {
            instance
                .get_func(name)
                .expect("export")
                .call(args)
                .map_err(|t| t.code)
        };
        assert_eq!(
            call("div", &[Val::I32(7), Val::I32(2)]),
            Ok(vec![Val::I32(3)])
        );
        for (name, args, code) in [
            (
                "div",
                vec![Val::I32(1), Val::I32(0)],
                TrapCode::IntegerDivisionByZero,
            ),
            (
                "div",
                vec![Val::I32(i32::MIN), Val::I32(-1)],
                TrapCode::IntegerOverflow,
            ),
            ("load", vec![Val::I32(65_534)], TrapCode::MemoryOutOfBounds),
            ("boom", vec![], TrapCode::UnreachableCodeReached),
            (
                "indirect",
                vec![Val::I32(0), Val::I32(0)],
                TrapCode::BadSignature,
            ),
            (
                "indirect",
                vec![Val::I32(0), Val::I32(2)],
                TrapCode::IndirectCallToNull,
            ),
            (
                "indirect",
                vec![Val::I32(0), Val::I32(3)],
                TrapCode::UndefinedElement,
            ),
            ("deep", vec![Val::I32(0)], TrapCode::StackOverflow),
        ] {
            assert_eq!(call(name, &args), Err(code), "{model}: {name}{args:?}");
        }
    }
}
