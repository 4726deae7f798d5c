//! Instantiation and the runtime helpers, with compiled code: segments (in order, partial writes
//! kept on a trap), start functions, imported memories/tables/globals, bulk memory and table
//! operations, references, multi-value results.

mod support;

use aotc_loader::{
    Extern, Global, GlobalType, Instance, InstantiationError, Memory, MemoryType, Module, Table,
    TableType, TrapCode, Val, ValType,
};

fn load(wat: &str) -> Module {
    support::load_wat(wat, &support::options(true))
}

fn i32s(vals: &[i32]) -> Vec<Val> {
    vals.iter().map(|v| Val::I32(*v)).collect()
}

const BULK: &str = r#"
(module
  (memory (export "mem") 1 4)
  (table $t (export "tab") 4 10 funcref)
  (data $d "hello")
  (elem $e func $f0 $f1)
  (func $f0 (result i32) (i32.const 100))
  (func $f1 (result i32) (i32.const 101))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $d))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "tinit") (param i32 i32 i32) (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "edrop") (elem.drop $e))
  (func (export "tcopy") (param i32 i32 i32) (table.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tgrow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "tsize") (result i32) (table.size $t))
  (func (export "tfill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $f1) (local.get 1)))
  (func (export "tcall") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
  (func (export "pair") (param i32) (result i32 i64) (local.get 0) (i64.const -1))
)
"#;

#[test]
fn bulk_memory_operations() {
    let module = load(BULK);
    let instance = Instance::new(&module, &[]).unwrap();
    let call = |name: &str, args: &[i32]| instance.call(name, &i32s(args));
    assert_eq!(call("size", &[]).unwrap(), [Val::I32(1)]);
    assert_eq!(call("grow", &[2]).unwrap(), [Val::I32(1)]);
    assert_eq!(call("grow", &[2]).unwrap(), [Val::I32(-1)]);
    assert_eq!(call("size", &[]).unwrap(), [Val::I32(3)]);
    call("fill", &[10, 0x41, 4]).unwrap();
    assert_eq!(call("load8", &[13]).unwrap(), [Val::I32(0x41)]);
    assert_eq!(
        call("fill", &[3 * 65536 - 2, 0, 4]).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );
    call("init", &[100, 1, 4]).unwrap();
    assert_eq!(call("load8", &[100]).unwrap(), [Val::I32(i32::from(b'e'))]);
    assert_eq!(
        call("init", &[100, 3, 3]).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );
    call("copy", &[200, 100, 4]).unwrap();
    assert_eq!(call("load8", &[203]).unwrap(), [Val::I32(i32::from(b'o'))]);
    call("copy", &[101, 100, 4]).unwrap(); // overlapping
    assert_eq!(call("load8", &[104]).unwrap(), [Val::I32(i32::from(b'o'))]);
    call("drop", &[]).unwrap();
    call("init", &[0, 0, 0]).unwrap();
    assert_eq!(
        call("init", &[0, 0, 1]).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );
    let mem = instance.get_memory("mem").unwrap();
    assert_eq!(mem.size_pages(), 3);
}

#[test]
fn bulk_table_operations() {
    let module = load(BULK);
    let instance = Instance::new(&module, &[]).unwrap();
    let call = |name: &str, args: &[i32]| instance.call(name, &i32s(args));
    assert_eq!(
        call("tcall", &[0]).unwrap_err().code,
        TrapCode::IndirectCallToNull
    );
    call("tinit", &[1, 0, 2]).unwrap();
    assert_eq!(call("tcall", &[1]).unwrap(), [Val::I32(100)]);
    assert_eq!(call("tcall", &[2]).unwrap(), [Val::I32(101)]);
    assert_eq!(
        call("tinit", &[3, 0, 2]).unwrap_err().code,
        TrapCode::TableOutOfBounds
    );
    call("tcopy", &[0, 1, 2]).unwrap();
    assert_eq!(call("tcall", &[0]).unwrap(), [Val::I32(100)]);
    assert_eq!(call("tgrow", &[3]).unwrap(), [Val::I32(4)]);
    assert_eq!(call("tsize", &[]).unwrap(), [Val::I32(7)]);
    assert_eq!(call("tgrow", &[4]).unwrap(), [Val::I32(-1)]);
    call("tfill", &[4, 3]).unwrap();
    assert_eq!(call("tcall", &[6]).unwrap(), [Val::I32(101)]);
    assert_eq!(
        call("tfill", &[6, 2]).unwrap_err().code,
        TrapCode::TableOutOfBounds
    );
    call("edrop", &[]).unwrap();
    assert_eq!(
        call("tinit", &[0, 0, 1]).unwrap_err().code,
        TrapCode::TableOutOfBounds
    );
    let table = instance.get_table("tab").unwrap();
    assert_eq!(table.size(), 7);
    drop(instance);
    // The exported table keeps its instance (and so the functions in it) alive.
    let Some(Val::FuncRef(Some(f))) = table.get(6) else {
        panic!("element 6 is set")
    };
    assert_eq!(f.call(&[]).unwrap(), [Val::I32(101)]);
}

#[test]
fn multi_value_results() {
    let module = load(BULK);
    let instance = Instance::new(&module, &[]).unwrap();
    assert_eq!(
        instance.call("pair", &[Val::I32(5)]).unwrap(),
        [Val::I32(5), Val::I64(-1)]
    );
}

const SEGMENTS: &str = r#"
(module
  (import "env" "mem" (memory 1))
  (import "env" "tab" (table 2 funcref))
  (import "env" "base" (global i32))
  (global $g (export "g") (mut i32) (global.get 0))
  (func $f (result i32) (i32.const 7))
  (elem (global.get 0) $f)
  (data (i32.const 0) "ab")
  (data (global.get 0) "cd")
  (data (i32.const 65535) "ef")
)
"#;

#[test]
fn segments_apply_in_order_and_partial_writes_stay() {
    let module = load(SEGMENTS);
    let memory = Memory::new(MemoryType {
        min: 1,
        max: None,
        memory64: false,
        shared: false,
    })
    .unwrap();
    let table = Table::new(
        TableType {
            element: ValType::FuncRef,
            min: 2,
            max: None,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let base = Global::new(
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(1),
    )
    .unwrap();
    let imports: Vec<Extern> = vec![memory.clone().into(), table.clone().into(), base.into()];
    let err = Instance::new(&module, &imports).unwrap_err();
    let InstantiationError::Trap(trap) = &err else {
        panic!("expected a trap: {err}")
    };
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    // The element segment and the first two data segments were applied.
    let mut buf = [0u8; 3];
    memory.read(0, &mut buf).unwrap();
    assert_eq!(&buf, b"acd");
    let Some(Val::FuncRef(Some(f))) = table.get(1) else {
        panic!("element 1 was written")
    };
    // The failed instance's function is still callable: the table keeps it alive.
    assert_eq!(f.call(&[]).unwrap(), [Val::I32(7)]);
}

const START: &str = r#"
(module
  (import "env" "g" (global $g (mut i32)))
  (func $start (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (start $start)
  (func (export "trap") unreachable)
)
"#;

#[test]
fn start_function_runs_and_globals_are_shared() {
    let module = load(START);
    let g = Global::new(
        GlobalType {
            content: ValType::I32,
            mutable: true,
        },
        Val::I32(41),
    )
    .unwrap();
    let instance = Instance::new(&module, &[g.clone().into()]).unwrap();
    assert_eq!(g.get(), Val::I32(42));
    let _second = Instance::new(&module, &[g.clone().into()]).unwrap();
    assert_eq!(g.get(), Val::I32(43));
    assert_eq!(
        instance.call("trap", &[]).unwrap_err().code,
        TrapCode::UnreachableCodeReached
    );
    let immutable = Global::new(
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(0),
    )
    .unwrap();
    let err = Instance::new(&module, &[immutable.into()]).unwrap_err();
    assert!(
        err.to_string().starts_with("incompatible import type"),
        "{err}"
    );
}

const TRAPPING_START: &str = r#"
(module (func $s unreachable) (start $s))
"#;

#[test]
fn a_trapping_start_function_fails_instantiation() {
    let module = load(TRAPPING_START);
    let err = Instance::new(&module, &[]).unwrap_err();
    let InstantiationError::Trap(trap) = err else {
        panic!("expected a trap")
    };
    assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
}

const REFS: &str = r#"
(module
  (table $t (export "t") 2 externref)
  (func (export "set") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "get") (param i32) (result externref) (table.get $t (local.get 0)))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func $f (export "f") (result i32) (i32.const 9))
  (func (export "ref_f") (result funcref) (ref.func $f))
)
"#;

#[test]
fn references_round_trip() {
    let module = load(REFS);
    let instance = Instance::new(&module, &[]).unwrap();
    for payload in [0usize, 1, 12345] {
        instance
            .call("set", &[Val::I32(1), Val::ExternRef(Some(payload))])
            .unwrap();
        assert_eq!(
            instance.call("get", &[Val::I32(1)]).unwrap(),
            [Val::ExternRef(Some(payload))]
        );
        assert_eq!(
            instance
                .call("is_null", &[Val::ExternRef(Some(payload))])
                .unwrap(),
            [Val::I32(0)]
        );
    }
    assert_eq!(
        instance.call("is_null", &[Val::ExternRef(None)]).unwrap(),
        [Val::I32(1)]
    );
    assert_eq!(
        instance.call("get", &[Val::I32(0)]).unwrap(),
        [Val::ExternRef(None)]
    );
    let table = instance.get_table("t").unwrap();
    assert_eq!(table.get(1), Some(Val::ExternRef(Some(12345))));
    let out = instance.call("ref_f", &[]).unwrap();
    let Val::FuncRef(Some(f)) = &out[0] else {
        panic!("non-null funcref")
    };
    assert!(f.same(&instance.get_func("f").unwrap()));
    assert_eq!(f.call(&[]).unwrap(), [Val::I32(9)]);
}
