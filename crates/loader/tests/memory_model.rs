//! The memory model's knobs through the API: the native stack bound and its measured peak,
//! the linear-memory size cap, reservation and guard settings (and the refusal of guard-page
//! code that cannot get its reservation), truncation at `__heap_base`, and the app heap (the
//! runtime's and the module's own `malloc`/`free`), in normal and XIP modes.

mod support;

use aotc_loader::{
    AppHeapError, Extern, Instance, InstanceConfig, Memory, MemoryConfig, MemoryType, TrapCode,
    Val, WASM_PAGE_SIZE,
};
use aotc_translate::CompileOptions;

/// A recursion `down(n)` that is `n` frames deep.
const RECURSE: &str = include_str!("../../../examples/recurse.wat");

fn depth(instance: &Instance, n: i32) -> Result<Vec<Val>, aotc_loader::Trap> {
    instance.call("down", &[Val::I32(n)])
}

/// The measured peak of one call `down(n)` on a fresh instance.
fn peak_of(module: &aotc_loader::Module, config: &InstanceConfig, n: i32) -> (bool, usize) {
    let instance = Instance::new_with(module, &[], config).unwrap();
    let ok = depth(&instance, n).is_ok();
    (ok, instance.peak_wasm_stack().expect("measured"))
}

#[test]
fn stack_bound_traps_and_peak_is_within_one_frame_of_it() {
    for xip in [false, true] {
        let module = support::load_wat(RECURSE, &support::options(xip));
        let config = InstanceConfig {
            max_wasm_stack: 64 << 10,
            measure_stack: true,
            ..Default::default()
        };
        // One frame, measured as the largest growth of the peak by one more level, deep enough
        // that the recursion's frames, not the entry path's, set the peak: normal mode inlines
        // the recursion into itself once, so one native frame holds two levels and every other
        // level adds a whole frame.
        let (_, p1000) = peak_of(&module, &config, 1000);
        let (_, p1001) = peak_of(&module, &config, 1001);
        let (_, p1002) = peak_of(&module, &config, 1002);
        let frame = (p1001 - p1000).max(p1002 - p1001);
        assert!((16..=256).contains(&frame), "xip={xip}: frame {frame}");
        // 20,000 levels pass with the default 1 MiB and trap with 64 KiB.
        let default = Instance::new(&module, &[]).unwrap();
        assert_eq!(depth(&default, 20000).unwrap(), [Val::I32(20000)]);
        let small = Instance::new_with(&module, &[], &config).unwrap();
        let trap = depth(&small, 20000).unwrap_err();
        assert_eq!(trap.code, TrapCode::StackOverflow, "xip={xip}: {trap}");
        assert!(trap.to_string().contains("call stack exhausted"));
        let peak = small.peak_wasm_stack().unwrap();
        assert!(
            peak <= 64 << 10 && (64 << 10) - peak < frame,
            "xip={xip}: peak {peak} not within one frame ({frame}) of 65536"
        );
        // The instance still works after the overflow.
        assert_eq!(depth(&small, 10).unwrap(), [Val::I32(10)]);
        assert_eq!(small.memory_report().peak_stack, Some(peak as u64));
        // Not measured unless asked.
        assert_eq!(default.peak_wasm_stack(), None);
    }
}

const GROW: &str = r#"
(module
  (memory (export "mem") 1 10)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load))
"#;

fn call_i32(instance: &Instance, name: &str, arg: i32) -> Result<i32, aotc_loader::Trap> {
    match instance.call(name, &[Val::I32(arg)])?.as_slice() {
        [Val::I32(v)] => Ok(*v),
        other => panic!("unexpected results {other:?}"),
    }
}

#[test]
fn memory_cap_below_the_declared_maximum_makes_grow_return_minus_one() {
    for xip in [false, true] {
        let module = support::load_wat(GROW, &support::options(xip));
        let config = InstanceConfig {
            memory: MemoryConfig {
                max_bytes: Some(3 * WASM_PAGE_SIZE + 100),
                ..Default::default()
            },
            ..Default::default()
        };
        let instance = Instance::new_with(&module, &[], &config).unwrap();
        assert_eq!(call_i32(&instance, "grow", 1).unwrap(), 1);
        assert_eq!(call_i32(&instance, "grow", 1).unwrap(), 2);
        assert_eq!(call_i32(&instance, "grow", 1).unwrap(), -1);
        assert_eq!(instance.get_memory("mem").unwrap().max_pages(), 3);
        // Without the cap, the declared maximum (10) applies.
        let free = Instance::new(&module, &[]).unwrap();
        assert_eq!(call_i32(&free, "grow", 9).unwrap(), 1);
        assert_eq!(call_i32(&free, "grow", 1).unwrap(), -1);
        // A cap below the declared minimum cannot be met.
        let none = InstanceConfig {
            memory: MemoryConfig {
                max_bytes: Some(0),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(Instance::new_with(&module, &[], &none).is_err());
    }
}

fn explicit(xip: bool) -> CompileOptions {
    CompileOptions {
        explicit_bounds_checks: true,
        ..support::options(xip)
    }
}

#[test]
fn guard_page_code_is_refused_a_small_reservation_and_explicit_checks_take_any() {
    let small = InstanceConfig {
        memory: MemoryConfig {
            max_bytes: None,
            reservation: 16 * WASM_PAGE_SIZE,
            guard: 0,
        },
        ..Default::default()
    };
    for xip in [false, true] {
        let guarded = support::load_wat(GROW, &support::options(xip));
        let err = Instance::new_with(&guarded, &[], &small).unwrap_err();
        let message = err.to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("linear memory 0 of")
                && message.contains("compiled for guard-page bounds checks")
                && message.contains("--bounds-checks=1"),
            "{message}"
        );

        let checked = support::load_wat(GROW, &explicit(xip));
        let instance = Instance::new_with(&checked, &[], &small).unwrap();
        let memory = instance.get_memory("mem").unwrap();
        // Only what the memory can reach is reserved: 10 pages, no guard.
        assert_eq!(memory.reserved(), 10 * WASM_PAGE_SIZE);
        assert_eq!(call_i32(&instance, "grow", 9).unwrap(), 1);
        assert_eq!(call_i32(&instance, "load", 0).unwrap(), 0);
        let trap = call_i32(&instance, "load", (10 * WASM_PAGE_SIZE) as i32 - 2).unwrap_err();
        assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);

        // A memory reserved for explicit checks only cannot be imported by guard-page code.
        let importer = r#"(module (import "m" "mem" (memory 1)) (func (export "f")))"#;
        let importer = support::load_wat(importer, &support::options(xip));
        let ty = MemoryType {
            min: 1,
            max: Some(1),
            memory64: false,
            shared: false,
        };
        let small_memory = Memory::new_with(ty, &small.memory).unwrap();
        let err = Instance::new(&importer, &[Extern::Memory(small_memory)]).unwrap_err();
        assert!(
            err.to_string().contains("guard-page bounds checks"),
            "{err}"
        );
    }
}

/// A module without allocator and without `memory.grow`: a canary in its data, `__heap_base`
/// exported, 4 pages declared.
const NO_ALLOCATOR: &str = r#"
(module
  (memory (export "memory") 4)
  (global (export "__heap_base") i32 (i32.const 2048))
  (data (i32.const 1024) "canary: the module's own data!!")
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
"#;

const CANARY: &[u8] = b"canary: the module's own data!!";

fn canary_intact(instance: &Instance) -> bool {
    let mut buf = vec![0; CANARY.len()];
    instance
        .get_memory("memory")
        .unwrap()
        .read(1024, &mut buf)
        .unwrap();
    buf == CANARY
}

#[test]
fn runtime_app_heap_serves_the_host_and_never_corrupts_module_data() {
    for xip in [false, true] {
        let module = support::load_wat(NO_ALLOCATOR, &support::options(xip));
        // No heap asked for: no allocator, with the reason.
        let bare = Instance::new(&module, &[]).unwrap();
        let err = bare.module_malloc(16).unwrap_err();
        assert!(matches!(err, AppHeapError::NoAllocator { .. }));
        assert!(err.to_string().contains("--heap-size"), "{err}");
        // Truncated at `__heap_base`: 2048 bytes round up to one page.
        let usage = bare.get_memory("memory").unwrap().usage();
        assert_eq!(usage.committed, WASM_PAGE_SIZE);
        assert_eq!(usage.truncated_from_pages, Some(4));

        let config = InstanceConfig {
            app_heap_size: 4096,
            ..Default::default()
        };
        let instance = Instance::new_with(&module, &[], &config).unwrap();
        let memory = instance.get_memory("memory").unwrap();
        let a = instance.module_malloc(100).unwrap();
        assert!(a >= 2048 && a.is_multiple_of(16), "{a:#x}");
        memory.write(a as usize, b"hello, app heap").unwrap();
        let mut back = [0u8; 15];
        memory.read(a as usize, &mut back).unwrap();
        assert_eq!(&back, b"hello, app heap");
        assert_eq!(
            call_i32(&instance, "peek", a as i32).unwrap(),
            i32::from(b'h')
        );
        let usage = instance.app_heap_usage().unwrap();
        assert_eq!((usage.base, usage.size, usage.in_use), (2048, 4096, 100));
        instance.module_free(a).unwrap();
        assert!(matches!(
            instance.module_free(a),
            Err(AppHeapError::NotAllocated { .. })
        ));

        // Exhaustion: an error, never memory outside the heap.
        let mut held = Vec::new();
        let err = loop {
            match instance.module_malloc(1000) {
                Ok(p) => {
                    assert!(p >= 2048 && p + 1000 <= 2048 + 4096, "{p:#x}");
                    memory.write(p as usize, &[0xee; 1000]).unwrap();
                    held.push(p);
                }
                Err(e) => break e,
            }
        };
        assert!(matches!(err, AppHeapError::Exhausted { .. }), "{err}");
        assert_eq!(held.len(), 4);
        assert!(canary_intact(&instance), "xip={xip}");
        let usage = instance.app_heap_usage().unwrap();
        assert_eq!((usage.in_use, usage.peak), (4000, 4000));
        for p in held {
            instance.module_free(p).unwrap();
        }
        assert_eq!(instance.app_heap_usage().unwrap().in_use, 0);
        assert_eq!(instance.module_malloc(4096).unwrap(), 2048);
    }
}

#[test]
fn module_that_grows_its_memory_gets_no_runtime_heap_and_no_truncation() {
    let wat = r#"
    (module
      (memory (export "memory") 4)
      (global (export "__heap_base") i32 (i32.const 2048))
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
    "#;
    let module = support::load_wat(wat, &support::options(true));
    let config = InstanceConfig {
        app_heap_size: 4096,
        ..Default::default()
    };
    let instance = Instance::new_with(&module, &[], &config).unwrap();
    let err = instance.module_malloc(16).unwrap_err();
    assert!(err.to_string().contains("memory.grow"), "{err}");
    let usage = instance.get_memory("memory").unwrap().usage();
    assert_eq!(usage.committed, 4 * WASM_PAGE_SIZE);
    assert_eq!(usage.truncated_from_pages, None);
}

#[test]
fn truncation_can_be_turned_off() {
    let module = support::load_wat(NO_ALLOCATOR, &support::options(false));
    let config = InstanceConfig {
        truncate_at_heap_base: false,
        ..Default::default()
    };
    let instance = Instance::new_with(&module, &[], &config).unwrap();
    let usage = instance.get_memory("memory").unwrap().usage();
    assert_eq!(usage.committed, 4 * WASM_PAGE_SIZE);
    assert_eq!(usage.truncated_from_pages, None);
    assert!(canary_intact(&instance));
}

/// A module with its own `malloc`/`free`: a bump allocator that counts frees.
const WITH_ALLOCATOR: &str = r#"
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $frees (mut i32) (i32.const 0))
  (data (i32.const 1024) "canary: the module's own data!!")
  (func (export "malloc") (param i32) (result i32)
    (local $p i32)
    global.get $next
    local.set $p
    local.get $p
    local.get 0
    i32.add
    i32.const 65536
    i32.gt_u
    if (result i32)
      i32.const 0
    else
      local.get $p
      local.get 0
      i32.add
      global.set $next
      local.get $p
    end)
  (func (export "free") (param i32)
    global.get $frees
    i32.const 1
    i32.add
    global.set $frees)
  (func (export "frees") (result i32) global.get $frees))
"#;

#[test]
fn module_malloc_goes_through_the_module_s_own_allocator() {
    for xip in [false, true] {
        let module = support::load_wat(WITH_ALLOCATOR, &support::options(xip));
        let instance = Instance::new(&module, &[]).unwrap();
        let a = instance.module_malloc(100).unwrap();
        assert_eq!(a, 4096);
        let memory = instance.get_memory("memory").unwrap();
        memory.write(a as usize, b"through malloc").unwrap();
        let mut back = [0u8; 14];
        memory.read(a as usize, &mut back).unwrap();
        assert_eq!(&back, b"through malloc");
        instance.module_free(a).unwrap();
        assert_eq!(instance.call("frees", &[]).unwrap(), [Val::I32(1)]);
        let err = instance.module_malloc(70000).unwrap_err();
        assert!(matches!(err, AppHeapError::Exhausted { .. }), "{err}");
        assert!(canary_intact(&instance));
        let usage = instance.app_heap_usage().unwrap();
        assert_eq!((usage.in_use, usage.peak), (0, 100));
    }
}
