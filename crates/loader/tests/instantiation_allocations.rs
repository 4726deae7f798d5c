//! Instantiation builds nothing per defined function: the heap bytes and allocations of
//! `Instance::new` are the same for a module of 10 functions and one of 10,000 (same imports,
//! exports, element entries, memories and tables), in normal and XIP mode. Counted by a global
//! allocator, per thread (tests run in parallel). Also checks that the function references
//! built on first use (exports, elements, `ref.func`) behave as functions.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use aotc_loader::{Instance, Module, Val};

/// The system allocator, counting this thread's allocations and their bytes.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised thread local
// without a destructor, so counting never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| {
            let (n, bytes) = c.get();
            c.set((n + 1, bytes + layout.size()));
        });
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A module of `functions` functions `$fK` returning K, a table holding `$f0` and `$f1`, and
/// exports `last` (the last function), `first_via_table` (`call_indirect` of element 0) and
/// `ref_second` (`ref.func $f1`).
fn wat(functions: u32) -> String {
    let mut wat = String::from(
        "(module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $f0 $f1)\n\
         (func (export \"first_via_table\") (result i32) (call_indirect (type $t) (i32.const 0)))\n\
         (func (export \"ref_second\") (result funcref) (ref.func $f1))\n",
    );
    for k in 0..functions {
        wat += &format!("(func $f{k} (result i32) (i32.const {k}))\n");
    }
    wat += &format!("(export \"last\" (func $f{}))", functions - 1);
    wat += ")";
    wat
}

/// `(allocations, bytes)` of instantiating `module` (after one warm-up instantiation, so
/// thread-local registries exist), and the instance.
fn instantiate_counted(module: &Module) -> ((usize, usize), Instance) {
    drop(Instance::new(module, &[]).expect("instantiate"));
    let before = ALLOCATIONS.with(Cell::get);
    let instance = Instance::new(module, &[]).expect("instantiate");
    let after = ALLOCATIONS.with(Cell::get);
    ((after.0 - before.0, after.1 - before.1), instance)
}

#[test]
fn instantiation_allocates_nothing_per_function() {
    for xip in [false, true] {
        let options = support::options(xip);
        let mut counts = Vec::new();
        for functions in [10, 10_000] {
            let module = support::load_wat(&wat(functions), &options);
            let (count, instance) = instantiate_counted(&module);
            counts.push(count);

            let last = instance.call("last", &[]).expect("last");
            assert_eq!(last[0].i32(), Some(functions as i32 - 1));
            let first = instance.call("first_via_table", &[]).expect("first");
            assert_eq!(first[0].i32(), Some(0));
            let reference = instance.call("ref_second", &[]).expect("ref.func");
            let Val::FuncRef(Some(second)) = &reference[0] else {
                panic!("ref.func gave {reference:?}");
            };
            assert_eq!(second.call(&[]).expect("second")[0].i32(), Some(1));
            let again = instance.call("ref_second", &[]).expect("ref.func");
            let Val::FuncRef(Some(again)) = &again[0] else {
                panic!("ref.func gave {again:?}");
            };
            assert!(again.same(second), "one FuncRef per function");
        }
        assert_eq!(
            counts[0], counts[1],
            "xip={xip}: (allocations, bytes) of instantiating 10 against 10,000 functions"
        );
        eprintln!(
            "xip={xip}: instantiation makes {} allocations, {} bytes, for 10 and 10,000 functions",
            counts[0].0, counts[0].1
        );
    }
}
