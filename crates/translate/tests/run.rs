//! Execution tests: a minimal test-only runtime maps the compiled text of an `AotModule` on the
//! host (x86-64 Linux), builds a vmctx by the ABI of `aotc_abi::vmctx`, and calls exports through
//! their entry trampolines. Traps are checked in forked children whose signal handler maps the
//! faulting pc through the module's trap table.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]
// Boxes give the runtime structures stable addresses while their vectors grow.
#![allow(clippy::vec_box)]

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use aotc_abi::builtins::BUILTIN_COUNT;
use aotc_abi::{Arch, Builtin, TrapCode, ValType};
use aotc_format::layout::{ConstValue, ExternKind, RelocKind};
use aotc_format::write::{AotModule, RelocTarget, SegmentPlacement};
use aotc_translate::{CompileOptions, compile, wat_to_wasm};

#[repr(C)]
struct MemoryDef {
    base: *mut u8,
    length: usize,
}

#[repr(C)]
struct TableDef {
    base: *mut usize,
    length: u32,
}

#[repr(C)]
#[derive(Copy, Clone)]
struct FuncRef {
    wasm_call: usize,
    array_call: usize,
    vmctx: usize,
    type_id: u32,
}

#[repr(C)]
struct Vmctx {
    memory: *mut MemoryDef,
    stack_limit: usize,
    functions: *const FuncRef,
    builtins: *const usize,
    globals: *const *mut u8,
    tables: *const *mut TableDef,
    type_ids: *const u32,
    constants: *const u8,
    runtime: *mut c_void,
}

/// A host function: the exit trampoline's context; `callback` must come first.
#[repr(C)]
struct HostFunc {
    callback: extern "C" fn(*mut HostFunc, *mut [u8; 16], u32, u32),
    add: i32,
}

#[derive(Copy, Clone, Debug, PartialEq)]
enum Val {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

const RESERVATION: usize = 8 << 30;

struct Instance {
    module: AotModule,
    text: *mut u8,
    text_len: usize,
    vmctx: Box<Vmctx>,
    _memory: Box<MemoryDef>,
    _functions: Vec<FuncRef>,
    _builtins: Vec<usize>,
    _globals: Vec<Box<[u8; 16]>>,
    _global_ptrs: Vec<*mut u8>,
    _tables: Vec<Box<TableDef>>,
    _table_elems: Vec<Vec<usize>>,
    _table_ptrs: Vec<*mut TableDef>,
    _type_ids: Vec<u32>,
    _hosts: Vec<Box<HostFunc>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: both mappings were created by `instantiate` with these sizes.
        unsafe {
            libc::munmap(self.text.cast(), self.text_len);
            if !self._memory.base.is_null() {
                libc::munmap(self._memory.base.cast(), RESERVATION);
            }
        }
    }
}

extern "C" fn host_add(ctx: *mut HostFunc, values: *mut [u8; 16], params: u32, results: u32) {
    assert_eq!((params, results), (1, 1));
    // SAFETY: the exit trampoline passes its own context and a slot array of `params` values.
    unsafe {
        let slot = &mut *values;
        let x = i32::from_ne_bytes(slot[..4].try_into().unwrap());
        slot[..4].copy_from_slice(&(x + (*ctx).add).to_ne_bytes());
    }
}

extern "C" fn b_memory_grow(vmctx: *mut Vmctx, delta: i32, _index: i32) -> i32 {
    // SAFETY: compiled code passes its vmctx, whose memory is a live 8 GiB reservation.
    unsafe {
        let def = &mut *(*vmctx).memory;
        let old = def.length >> 16;
        let new = old + delta as u32 as usize;
        if new > 1024 {
            return -1;
        }
        libc::mprotect(
            def.base.cast(),
            new << 16,
            libc::PROT_READ | libc::PROT_WRITE,
        );
        def.length = new << 16;
        old as i32
    }
}

extern "C" fn b_memory_fill(vmctx: *mut Vmctx, _m: i32, dst: i32, val: i32, len: i32) {
    // SAFETY: test programs only fill in-bounds ranges.
    unsafe {
        let def = &*(*vmctx).memory;
        std::ptr::write_bytes(
            def.base.add(dst as u32 as usize),
            val as u8,
            len as u32 as usize,
        );
    }
}

extern "C" fn b_memory_copy(vmctx: *mut Vmctx, _d: i32, _s: i32, dst: i32, src: i32, len: i32) {
    // SAFETY: test programs only copy in-bounds ranges.
    unsafe {
        let def = &*(*vmctx).memory;
        std::ptr::copy(
            def.base.add(src as u32 as usize),
            def.base.add(dst as u32 as usize),
            len as u32 as usize,
        );
    }
}

extern "C" fn b_table_grow(vmctx: *mut Vmctx, table: i32, _init: i64, delta: i32) -> i32 {
    // Tables in these tests are preallocated with capacity 16.
    // SAFETY: compiled code passes its vmctx and a valid table index.
    unsafe {
        let def = &mut **(*vmctx).tables.add(table as usize);
        let old = def.length;
        if old + delta as u32 > 16 {
            return -1;
        }
        def.length = old + delta as u32;
        old as i32
    }
}

extern "C" fn b_unimplemented() {
    std::process::abort();
}

extern "C" fn b_f32_floor(x: f32) -> f32 {
    x.floor()
}
extern "C" fn b_f32_ceil(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn b_f32_trunc(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn b_f32_nearest(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn b_f64_floor(x: f64) -> f64 {
    x.floor()
}
extern "C" fn b_f64_ceil(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn b_f64_trunc(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn b_f64_nearest(x: f64) -> f64 {
    x.round_ties_even()
}

fn builtin_addr(b: Builtin) -> usize {
    match b {
        Builtin::memory_grow => b_memory_grow as *const () as usize,
        Builtin::memory_fill => b_memory_fill as *const () as usize,
        Builtin::memory_copy => b_memory_copy as *const () as usize,
        Builtin::table_grow => b_table_grow as *const () as usize,
        Builtin::f32_floor => b_f32_floor as *const () as usize,
        Builtin::f32_ceil => b_f32_ceil as *const () as usize,
        Builtin::f32_trunc => b_f32_trunc as *const () as usize,
        Builtin::f32_nearest => b_f32_nearest as *const () as usize,
        Builtin::f64_floor => b_f64_floor as *const () as usize,
        Builtin::f64_ceil => b_f64_ceil as *const () as usize,
        Builtin::f64_trunc => b_f64_trunc as *const () as usize,
        Builtin::f64_nearest => b_f64_nearest as *const () as usize,
        _ => b_unimplemented as *const () as usize,
    }
}

fn const_i32(v: &ConstValue) -> usize {
    match v {
        ConstValue::I32(v) => *v as u32 as usize,
        other => panic!("unsupported offset {other:?}"),
    }
}

fn instantiate(module: AotModule) -> Instance {
    let page = 4096;
    let text_len = module.text.len().next_multiple_of(page).max(page);
    // SAFETY: fresh anonymous mappings; the text is copied, patched, then made executable.
    let text = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            text_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        let p = p.cast::<u8>();
        std::ptr::copy_nonoverlapping(module.text.as_ptr(), p, module.text.len());
        for r in &module.relocs {
            let target = match r.target {
                RelocTarget::Builtin(b) => builtin_addr(b),
                RelocTarget::TextOffset(o) => p as usize + o as usize,
            };
            let site = p.add(r.offset as usize);
            let value = (target as i64).wrapping_add(r.addend);
            match r.kind {
                RelocKind::Abs8 => site.cast::<i64>().write_unaligned(value),
                RelocKind::X86PcRel4 => site
                    .cast::<i32>()
                    .write_unaligned((value - site as i64) as i32),
                other => panic!("unexpected relocation {other:?}"),
            }
        }
        assert_eq!(
            libc::mprotect(p.cast(), text_len, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        p
    };
    let addr = |off: u32| text as usize + off as usize;

    // Memory: an 8 GiB reservation, the initial pages accessible.
    let mut memory = Box::new(MemoryDef {
        base: std::ptr::null_mut(),
        length: 0,
    });
    if let Some(mem) = module.memories.first() {
        // SAFETY: reserving address space, then enabling the initial pages.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let len = (mem.min as usize) << 16;
            if len > 0 {
                assert_eq!(
                    libc::mprotect(p, len, libc::PROT_READ | libc::PROT_WRITE),
                    0
                );
            }
            memory.base = p.cast();
            memory.length = len;
        }
        for d in &module.data {
            if let SegmentPlacement::Active { offset, .. } = &d.placement {
                let off = const_i32(offset);
                assert!(off + d.bytes.len() <= memory.length);
                // SAFETY: checked to be within the accessible pages.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        d.bytes.as_ptr(),
                        memory.base.add(off),
                        d.bytes.len(),
                    )
                };
            }
        }
    }

    // Canonical signature ids: the first type index with the same signature.
    let type_ids: Vec<u32> = module
        .types
        .iter()
        .map(|t| {
            module
                .types
                .iter()
                .position(|u| u.params == t.params && u.results == t.results)
                .unwrap() as u32
                + 1000
        })
        .collect();

    let mut vmctx = Box::new(Vmctx {
        memory: &mut *memory,
        stack_limit: 0,
        functions: std::ptr::null(),
        builtins: std::ptr::null(),
        globals: std::ptr::null(),
        tables: std::ptr::null(),
        type_ids: type_ids.as_ptr(),
        constants: std::ptr::null(),
        runtime: std::ptr::null_mut(),
    });
    let vmctx_addr = &mut *vmctx as *mut Vmctx as usize;

    let mut hosts = Vec::new();
    let mut functions = Vec::with_capacity(module.functions.len());
    for (i, f) in module.functions.iter().enumerate() {
        let ty = &module.types[f.type_index as usize];
        let entry = addr(ty.entry_trampoline.unwrap());
        let fr = match f.body {
            Some((off, _)) => FuncRef {
                wasm_call: addr(off),
                array_call: entry,
                vmctx: vmctx_addr,
                type_id: type_ids[f.type_index as usize],
            },
            None => {
                let import = module
                    .imports
                    .iter()
                    .find(|im| im.kind == ExternKind::Func && im.index == i as u32)
                    .unwrap();
                let add = import.name.trim_start_matches("add").parse().unwrap();
                let mut host = Box::new(HostFunc {
                    callback: host_add,
                    add,
                });
                let ctx = &mut *host as *mut HostFunc as usize;
                hosts.push(host);
                FuncRef {
                    wasm_call: addr(ty.exit_trampoline.unwrap()),
                    array_call: 0,
                    vmctx: ctx,
                    type_id: type_ids[f.type_index as usize],
                }
            }
        };
        functions.push(fr);
    }
    vmctx.functions = functions.as_ptr();

    let builtins: Vec<usize> = (0..BUILTIN_COUNT as u32)
        .map(|i| builtin_addr(Builtin::from_index(i).unwrap()))
        .collect();
    vmctx.builtins = builtins.as_ptr();

    let func_ref_addr = |i: u32| &functions[i as usize] as *const FuncRef as usize;
    let mut globals: Vec<Box<[u8; 16]>> = Vec::new();
    for g in &module.globals {
        let mut slot = Box::new([0u8; 16]);
        match g.init {
            Some(ConstValue::I32(v)) => slot[..4].copy_from_slice(&v.to_ne_bytes()),
            Some(ConstValue::I64(v)) => slot[..8].copy_from_slice(&v.to_ne_bytes()),
            Some(ConstValue::F32(v)) => slot[..4].copy_from_slice(&v.to_ne_bytes()),
            Some(ConstValue::F64(v)) => slot[..8].copy_from_slice(&v.to_ne_bytes()),
            Some(ConstValue::RefFunc(f)) => {
                slot[..8].copy_from_slice(&func_ref_addr(f).to_ne_bytes())
            }
            Some(ConstValue::GlobalGet(i)) => *slot = *globals[i as usize],
            // Imported globals hold 42 in these tests.
            None => slot[..4].copy_from_slice(&42i32.to_ne_bytes()),
            _ => {}
        }
        globals.push(slot);
    }
    let global_ptrs: Vec<*mut u8> = globals.iter_mut().map(|g| g.as_mut_ptr()).collect();
    vmctx.globals = global_ptrs.as_ptr();

    let mut table_elems: Vec<Vec<usize>> = module.tables.iter().map(|_| vec![0usize; 16]).collect();
    for e in &module.elements {
        if let SegmentPlacement::Active { index, offset } = &e.placement {
            let off = const_i32(offset);
            for (j, item) in e.items.iter().enumerate() {
                table_elems[*index as usize][off + j] = match item {
                    ConstValue::RefFunc(f) => func_ref_addr(*f),
                    _ => 0,
                };
            }
        }
    }
    let mut tables: Vec<Box<TableDef>> = module
        .tables
        .iter()
        .zip(table_elems.iter_mut())
        .map(|(t, elems)| {
            Box::new(TableDef {
                base: elems.as_mut_ptr(),
                length: t.min as u32,
            })
        })
        .collect();
    let table_ptrs: Vec<*mut TableDef> = tables.iter_mut().map(|t| &mut **t as *mut _).collect();
    vmctx.tables = table_ptrs.as_ptr();

    Instance {
        module,
        text,
        text_len,
        vmctx,
        _memory: memory,
        _functions: functions,
        _builtins: builtins,
        _globals: globals,
        _global_ptrs: global_ptrs,
        _tables: tables,
        _table_elems: table_elems,
        _table_ptrs: table_ptrs,
        _type_ids: type_ids,
        _hosts: hosts,
    }
}

type EntryFn = unsafe extern "C" fn(usize, *mut Vmctx, *mut [u8; 16]);

impl Instance {
    fn call(&mut self, name: &str, args: &[Val]) -> Vec<Val> {
        let export = self
            .module
            .exports
            .iter()
            .find(|e| e.name == name && e.kind == ExternKind::Func)
            .unwrap_or_else(|| panic!("no export {name}"));
        let f = &self.module.functions[export.index as usize];
        let ty = &self.module.types[f.type_index as usize];
        let (body, _) = f.body.unwrap();
        let mut values = vec![[0u8; 16]; ty.params.len().max(ty.results.len()).max(1)];
        for (slot, a) in values.iter_mut().zip(args) {
            match a {
                Val::I32(v) => slot[..4].copy_from_slice(&v.to_ne_bytes()),
                Val::I64(v) => slot[..8].copy_from_slice(&v.to_ne_bytes()),
                Val::F32(v) => slot[..4].copy_from_slice(&v.to_ne_bytes()),
                Val::F64(v) => slot[..8].copy_from_slice(&v.to_ne_bytes()),
            }
        }
        let marker = 0u8;
        self.vmctx.stack_limit = (&marker as *const u8 as usize) - (256 << 10);
        // SAFETY: the entry trampoline has the documented C signature; the vmctx is complete.
        unsafe {
            let entry: EntryFn =
                std::mem::transmute(self.text.add(ty.entry_trampoline.unwrap() as usize));
            entry(
                self.text as usize + body as usize,
                &mut *self.vmctx,
                values.as_mut_ptr(),
            );
        }
        ty.results
            .iter()
            .zip(&values)
            .map(|(t, slot)| match t {
                ValType::I32 => Val::I32(i32::from_ne_bytes(slot[..4].try_into().unwrap())),
                ValType::I64 => Val::I64(i64::from_ne_bytes(slot[..8].try_into().unwrap())),
                ValType::F32 => Val::F32(f32::from_ne_bytes(slot[..4].try_into().unwrap())),
                ValType::F64 => Val::F64(f64::from_ne_bytes(slot[..8].try_into().unwrap())),
                other => panic!("unsupported result {other}"),
            })
            .collect()
    }

    /// Calls `name` in a forked child; returns the trap code it died of.
    fn trap(&mut self, name: &str, args: &[Val]) -> Option<TrapCode> {
        // SAFETY: the child only installs a signal handler, runs compiled code and exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                TEXT_BASE.store(self.text as usize, Ordering::SeqCst);
                let traps: &'static [(u32, TrapCode)] = Box::leak(self.module.traps.clone().into());
                TRAPS.store(traps.as_ptr() as *mut _, Ordering::SeqCst);
                TRAPS_LEN.store(traps.len(), Ordering::SeqCst);
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO;
                for sig in [libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE] {
                    libc::sigaction(sig, &sa, std::ptr::null_mut());
                }
                self.call(name, args);
                libc::_exit(0);
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "child died of a signal: {status}");
            match libc::WEXITSTATUS(status) {
                0 => None,
                c if c > 100 => TrapCode::from_u8((c - 100) as u8),
                c => panic!("child exit {c}: fault outside any trap site"),
            }
        }
    }
}

static TEXT_BASE: AtomicUsize = AtomicUsize::new(0);
static TRAPS: AtomicPtr<(u32, TrapCode)> = AtomicPtr::new(std::ptr::null_mut());
static TRAPS_LEN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a ucontext_t; TRAPS points at a leaked slice of TRAPS_LEN.
    unsafe {
        let uc = &*(ctx as *const libc::ucontext_t);
        let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
        let traps = std::slice::from_raw_parts(
            TRAPS.load(Ordering::SeqCst),
            TRAPS_LEN.load(Ordering::SeqCst),
        );
        let off = pc.wrapping_sub(TEXT_BASE.load(Ordering::SeqCst));
        for &(site, code) in traps {
            if site as usize == off {
                libc::_exit(100 + code as i32);
            }
        }
        libc::_exit(90);
    }
}

fn modes() -> Vec<(&'static str, CompileOptions)> {
    let base = CompileOptions {
        arch: Arch::X86_64,
        ..CompileOptions::default()
    };
    vec![
        ("normal", base.clone()),
        (
            "xip",
            CompileOptions {
                xip: true,
                ..base.clone()
            },
        ),
        (
            "indirect+explicit+O0",
            CompileOptions {
                indirect: true,
                explicit_bounds_checks: true,
                opt_level: 0,
                ..base.clone()
            },
        ),
        (
            "native",
            CompileOptions {
                cpu: Some("native".into()),
                opt_level: 3,
                ..base
            },
        ),
    ]
}

fn instances(wat: &str) -> Vec<(&'static str, Instance)> {
    let wasm = wat_to_wasm(wat.as_bytes()).unwrap();
    modes()
        .into_iter()
        .map(|(name, o)| {
            let m = compile(&wasm, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
            m.write().unwrap();
            (name, instantiate(m))
        })
        .collect()
}

#[test]
fn fib() {
    let wat = r#"(module
      (func $fib (export "fib") (param $n i32) (result i32)
        local.get $n i32.const 2 i32.lt_s
        if (result i32) local.get $n
        else
          local.get $n i32.const 1 i32.sub call $fib
          local.get $n i32.const 2 i32.sub call $fib
          i32.add
        end))"#;
    for (mode, mut inst) in instances(wat) {
        assert_eq!(
            inst.call("fib", &[Val::I32(20)]),
            [Val::I32(6765)],
            "{mode}"
        );
    }
}

#[test]
fn integer_semantics() {
    let wat = r#"(module
      (func (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func (export "div_u") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
      (func (export "rem_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_s)
      (func (export "rem_s64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_s)
      (func (export "bits") (param i32) (result i32 i32 i32)
        local.get 0 i32.clz local.get 0 i32.ctz local.get 0 i32.popcnt)
      (func (export "rot") (param i64 i64) (result i64 i64)
        local.get 0 local.get 1 i64.rotl local.get 0 local.get 1 i64.rotr)
      (func (export "shifts") (param i32 i32) (result i32 i32 i32)
        local.get 0 local.get 1 i32.shl local.get 0 local.get 1 i32.shr_s
        local.get 0 local.get 1 i32.shr_u)
      (func (export "ext") (param i32 i64) (result i32 i64 i64 i64)
        local.get 0 i32.extend8_s local.get 1 i64.extend16_s local.get 1 i64.extend32_s
        local.get 0 i64.extend_i32_u)
      (func (export "cmp") (param i64 i64) (result i32 i32 i32 i32)
        local.get 0 local.get 1 i64.lt_s local.get 0 local.get 1 i64.lt_u
        local.get 0 i64.eqz local.get 0 local.get 1 i64.ge_u)
      (func (export "select") (param i32 i32 i32) (result i32)
        local.get 0 local.get 1 local.get 2 select)
      (func (export "wrap") (param i64) (result i32) local.get 0 i32.wrap_i64))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(
            i.call("div_s", &[Val::I32(-7), Val::I32(2)]),
            [Val::I32(-3)],
            "{mode}"
        );
        assert_eq!(
            i.call("div_u", &[Val::I32(-7), Val::I32(2)]),
            [Val::I32(2147483644)]
        );
        assert_eq!(
            i.call("rem_s", &[Val::I32(-7), Val::I32(2)]),
            [Val::I32(-1)]
        );
        assert_eq!(
            i.call("rem_s", &[Val::I32(i32::MIN), Val::I32(-1)]),
            [Val::I32(0)]
        );
        assert_eq!(
            i.call("rem_s64", &[Val::I64(i64::MIN), Val::I64(-1)]),
            [Val::I64(0)]
        );
        assert_eq!(
            i.call("bits", &[Val::I32(0x00f0_0000)]),
            [Val::I32(8), Val::I32(20), Val::I32(4)]
        );
        assert_eq!(
            i.call("bits", &[Val::I32(0)]),
            [Val::I32(32), Val::I32(32), Val::I32(0)]
        );
        assert_eq!(
            i.call(
                "rot",
                &[Val::I64(0x8000_0000_0000_0001u64 as i64), Val::I64(65)]
            ),
            [Val::I64(3), Val::I64(0xc000_0000_0000_0000u64 as i64)]
        );
        assert_eq!(
            i.call("shifts", &[Val::I32(-16), Val::I32(33)]),
            [Val::I32(-32), Val::I32(-8), Val::I32(0x7fff_fff8)]
        );
        assert_eq!(
            i.call("ext", &[Val::I32(0x80), Val::I64(0x1_8000_8000)]),
            [
                Val::I32(-128),
                Val::I64(-32768),
                Val::I64(-0x7fff_8000),
                Val::I64(0x80)
            ]
        );
        assert_eq!(
            i.call("cmp", &[Val::I64(-1), Val::I64(1)]),
            [Val::I32(1), Val::I32(0), Val::I32(0), Val::I32(1)]
        );
        assert_eq!(
            i.call("select", &[Val::I32(5), Val::I32(6), Val::I32(0)]),
            [Val::I32(6)]
        );
        assert_eq!(i.call("wrap", &[Val::I64(0x1_0000_0005)]), [Val::I32(5)]);
    }
}

#[test]
fn control_flow() {
    let wat = r#"(module
      (func (export "sum") (param $n i32) (result i32) (local $acc i32)
        block $done
          loop $top
            local.get $n i32.eqz br_if $done
            local.get $acc local.get $n i32.add local.set $acc
            local.get $n i32.const 1 i32.sub local.set $n
            br $top
          end
        end
        local.get $acc)
      (func (export "switch") (param i32) (result i32)
        block $c block $b block $a
          local.get 0 br_table $a $b $c
        end i32.const 10 return
        end i32.const 20 return
        end i32.const 30)
      (func (export "swap") (param i32 i32) (result i32 i32) local.get 1 local.get 0)
      (func (export "multi") (param i32) (result i32)
        local.get 0
        (block (param i32) (result i32 i32) i32.const 1 i32.add local.get 0)
        i32.sub)
      (func (export "if_params") (param i32 i32) (result i32)
        local.get 0
        local.get 1
        if (param i32) (result i32) i32.const 100 i32.add else i32.const 200 i32.add end)
      (func (export "if_no_else") (param i32) (result i32)
        i32.const 7
        local.get 0
        if (param i32) (result i32) i32.const 3 i32.mul end)
      (func (export "loop_params") (param i32) (result i32)
        i32.const 0 local.get 0
        loop (param i32 i32) (result i32)
          ;; stack: acc n
          local.tee 0 i32.add
          local.get 0 i32.const 1 i32.sub local.tee 0
          local.get 0 br_if 0
          drop
        end)
      (func (export "dead") (param i32) (result i32)
        block (result i32)
          i32.const 1
          br 0
          i32.const 2 drop
          block (result i32) unreachable end
          if (result i32) i32.const 3 else i32.const 4 end
        end)
      (func (export "br_if_value") (param i32) (result i32)
        block (result i32) i32.const 5 local.get 0 br_if 0 drop i32.const 6 end))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(i.call("sum", &[Val::I32(100)]), [Val::I32(5050)], "{mode}");
        for (x, r) in [(0, 10), (1, 20), (2, 30), (3, 30), (-1, 30)] {
            assert_eq!(
                i.call("switch", &[Val::I32(x)]),
                [Val::I32(r)],
                "{mode} {x}"
            );
        }
        assert_eq!(
            i.call("swap", &[Val::I32(1), Val::I32(2)]),
            [Val::I32(2), Val::I32(1)]
        );
        assert_eq!(i.call("multi", &[Val::I32(41)]), [Val::I32(1)]);
        assert_eq!(
            i.call("if_params", &[Val::I32(1), Val::I32(1)]),
            [Val::I32(101)]
        );
        assert_eq!(
            i.call("if_params", &[Val::I32(1), Val::I32(0)]),
            [Val::I32(201)]
        );
        assert_eq!(i.call("if_no_else", &[Val::I32(1)]), [Val::I32(21)]);
        assert_eq!(i.call("if_no_else", &[Val::I32(0)]), [Val::I32(7)]);
        assert_eq!(i.call("loop_params", &[Val::I32(4)]), [Val::I32(10)]);
        assert_eq!(i.call("dead", &[Val::I32(0)]), [Val::I32(1)]);
        assert_eq!(i.call("br_if_value", &[Val::I32(1)]), [Val::I32(5)]);
        assert_eq!(i.call("br_if_value", &[Val::I32(0)]), [Val::I32(6)]);
    }
}

#[test]
fn many_results_use_implicit_sret() {
    let wat = r#"(module
      (func $many (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
        local.get 0 local.get 0 local.get 0 local.get 0 local.get 0 local.get 0 local.get 0
        local.get 0
        f64.const 1 f64.const 2 f64.const 3 f64.const 4 f64.const 5 f64.const 6 f64.const 7
        f64.const 8 f64.const 9 f64.const 10)
      (func (export "sum") (param i64) (result f64)
        (local $f f64)
        local.get 0 call $many
        f64.add f64.add f64.add f64.add f64.add f64.add f64.add f64.add f64.add
        local.set $f
        i64.add i64.add i64.add i64.add i64.add i64.add i64.add
        f64.convert_i64_s local.get $f f64.add))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(i.call("sum", &[Val::I64(2)]), [Val::F64(71.0)], "{mode}");
    }
}

#[test]
fn float_semantics() {
    let wat = r#"(module
      (func (export "minmax") (param f32 f32) (result f32 f32) local.get 0 local.get 1 f32.min
        local.get 0 local.get 1 f32.max)
      (func (export "round32") (param f32) (result f32 f32 f32 f32)
        local.get 0 f32.floor local.get 0 f32.ceil local.get 0 f32.trunc local.get 0 f32.nearest)
      (func (export "round64") (param f64) (result f64 f64 f64 f64)
        local.get 0 f64.floor local.get 0 f64.ceil local.get 0 f64.trunc local.get 0 f64.nearest)
      (func (export "bits") (param f64 f64) (result f64 f64 f64)
        local.get 0 local.get 1 f64.copysign local.get 0 f64.neg local.get 0 f64.abs)
      (func (export "sat") (param f64) (result i32 i32 i64)
        local.get 0 i32.trunc_sat_f64_s local.get 0 i32.trunc_sat_f64_u
        local.get 0 i64.trunc_sat_f64_s)
      (func (export "conv") (param i64 i32) (result f32 f64 f64 i32)
        local.get 0 f32.convert_i64_u local.get 1 f64.convert_i32_u local.get 1 f64.convert_i32_s
        f32.const 1.5 i32.reinterpret_f32)
      (func (export "trunc") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
      (func (export "ne") (param f64 f64) (result i32 i32) local.get 0 local.get 1 f64.ne
        local.get 0 local.get 1 f64.lt))"#;
    for (mode, mut i) in instances(wat) {
        let r = i.call("minmax", &[Val::F32(-0.0), Val::F32(0.0)]);
        match (r[0], r[1]) {
            (Val::F32(a), Val::F32(b)) => {
                assert!(a == 0.0 && a.is_sign_negative(), "{mode}: min {a}");
                assert!(b == 0.0 && b.is_sign_positive(), "{mode}: max {b}");
            }
            other => panic!("{other:?}"),
        }
        let r = i.call("minmax", &[Val::F32(f32::NAN), Val::F32(1.0)]);
        assert!(matches!(r[0], Val::F32(x) if x.is_nan()), "{mode}");
        assert!(matches!(r[1], Val::F32(x) if x.is_nan()), "{mode}");
        assert_eq!(
            i.call("round32", &[Val::F32(-2.5)]),
            [
                Val::F32(-3.0),
                Val::F32(-2.0),
                Val::F32(-2.0),
                Val::F32(-2.0)
            ],
            "{mode}"
        );
        assert_eq!(
            i.call("round64", &[Val::F64(3.5)]),
            [Val::F64(3.0), Val::F64(4.0), Val::F64(3.0), Val::F64(4.0)],
            "{mode}"
        );
        assert_eq!(
            i.call("bits", &[Val::F64(2.0), Val::F64(-0.0)]),
            [Val::F64(-2.0), Val::F64(-2.0), Val::F64(2.0)]
        );
        assert_eq!(
            i.call("sat", &[Val::F64(-1e20)]),
            [Val::I32(i32::MIN), Val::I32(0), Val::I64(i64::MIN)]
        );
        assert_eq!(
            i.call("sat", &[Val::F64(f64::NAN)]),
            [Val::I32(0), Val::I32(0), Val::I64(0)]
        );
        assert_eq!(
            i.call("conv", &[Val::I64(-1), Val::I32(-1)]),
            [
                Val::F32(18446744073709551616.0),
                Val::F64(4294967295.0),
                Val::F64(-1.0),
                Val::I32(0x3fc0_0000)
            ]
        );
        assert_eq!(i.call("trunc", &[Val::F32(-3.9)]), [Val::I32(-3)]);
        assert_eq!(
            i.call("ne", &[Val::F64(f64::NAN), Val::F64(1.0)]),
            [Val::I32(1), Val::I32(0)]
        );
    }
}

#[test]
fn memory_and_globals() {
    let wat = r#"(module
      (import "env" "g" (global $imp i32))
      (memory 1 4)
      (data (i32.const 16) "\01\02\03\04\05\06\07\08\ff")
      (global $count (mut i32) (i32.const 5))
      (global $k i64 (i64.const 77))
      (func (export "loads") (result i32 i64 i32 i64 i32)
        i32.const 0 i32.load offset=16
        i32.const 16 i64.load
        i32.const 24 i32.load8_s
        i32.const 24 i64.load8_u
        i32.const 23 i32.load16_s)
      (func (export "store") (param i32 i64) (result i64)
        local.get 0 local.get 1 i64.store offset=3
        local.get 0 i64.load offset=3)
      (func (export "narrow") (param i32) (result i32)
        i32.const 100 local.get 0 i32.store8
        i32.const 101 local.get 0 i32.store16 offset=1
        i32.const 100 i32.load)
      (func (export "grow") (param i32) (result i32 i32)
        local.get 0 memory.grow memory.size)
      (func (export "last") (result i32)
        memory.size i32.const 16 i32.shl i32.const 4 i32.sub i32.load)
      (func (export "fill") (result i32)
        i32.const 200 i32.const 0xab i32.const 4 memory.fill
        i32.const 300 i32.const 200 i32.const 4 memory.copy
        i32.const 300 i32.load)
      (func (export "counter") (result i32 i64 i32)
        global.get $count i32.const 1 i32.add global.set $count
        global.get $count global.get $k global.get $imp))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(
            i.call("loads", &[]),
            [
                Val::I32(0x0403_0201),
                Val::I64(0x0807_0605_0403_0201),
                Val::I32(-1),
                Val::I64(255),
                Val::I32(-248)
            ],
            "{mode}"
        );
        assert_eq!(
            i.call("store", &[Val::I32(1000), Val::I64(-2)]),
            [Val::I64(-2)]
        );
        assert_eq!(
            i.call("narrow", &[Val::I32(0x1234_5678)]),
            [Val::I32(0x5678_0078)]
        );
        assert_eq!(
            i.call("grow", &[Val::I32(1)]),
            [Val::I32(1), Val::I32(2)],
            "{mode}"
        );
        assert_eq!(
            i.call("grow", &[Val::I32(5000)]),
            [Val::I32(-1), Val::I32(2)]
        );
        assert_eq!(i.call("last", &[]), [Val::I32(0)]);
        assert_eq!(i.call("fill", &[]), [Val::I32(0xabababab_u32 as i32)]);
        assert_eq!(
            i.call("counter", &[]),
            [Val::I32(6), Val::I64(77), Val::I32(42)]
        );
        assert_eq!(
            i.call("counter", &[]),
            [Val::I32(7), Val::I64(77), Val::I32(42)]
        );
    }
}

#[test]
fn tables_and_indirect_calls() {
    let wat = r#"(module
      (import "env" "add5" (func $host (param i32) (result i32)))
      (type $un (func (param i32) (result i32)))
      (type $un2 (func (param i32) (result i32)))
      (type $bin (func (param i32 i32) (result i32)))
      (table $t 4 funcref)
      (table $x 2 externref)
      (elem (table $t) (i32.const 0) func $double $add $host)
      (func $double (type $un) local.get 0 i32.const 2 i32.mul)
      (func $add (type $bin) local.get 0 local.get 1 i32.add)
      (func (export "host") (param i32) (result i32) local.get 0 call $host)
      (func (export "dispatch") (param i32 i32) (result i32)
        local.get 1 local.get 0 call_indirect $t (type $un2))
      (func (export "dispatch2") (param i32) (result i32)
        i32.const 20 i32.const 22 local.get 0 call_indirect $t (type $bin))
      (func (export "refs") (result i32 i32 i32 i32)
        i32.const 3 ref.func $double table.set $t
        i32.const 9 i32.const 3 call_indirect $t (type $un)
        i32.const 3 table.get $t ref.is_null
        ref.null extern i32.const 2 table.grow $x
        table.size $x)
      (func (export "tget") (param i32) (result i32) local.get 0 table.get $t ref.is_null))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(i.call("host", &[Val::I32(1)]), [Val::I32(6)], "{mode}");
        assert_eq!(
            i.call("dispatch", &[Val::I32(0), Val::I32(21)]),
            [Val::I32(42)],
            "{mode}"
        );
        assert_eq!(
            i.call("dispatch", &[Val::I32(2), Val::I32(10)]),
            [Val::I32(15)],
            "{mode}"
        );
        assert_eq!(i.call("dispatch2", &[Val::I32(1)]), [Val::I32(42)]);
        assert_eq!(
            i.call("refs", &[]),
            [Val::I32(18), Val::I32(0), Val::I32(2), Val::I32(4)],
            "{mode}"
        );
        assert_eq!(
            i.trap("dispatch", &[Val::I32(1), Val::I32(0)]),
            Some(TrapCode::BadSignature)
        );
        assert_eq!(
            i.trap("dispatch2", &[Val::I32(2)]),
            Some(TrapCode::BadSignature)
        );
        assert_eq!(
            i.trap("dispatch", &[Val::I32(4), Val::I32(0)]),
            Some(TrapCode::UndefinedElement),
            "{mode}"
        );
        assert_eq!(
            i.trap("tget", &[Val::I32(4)]),
            Some(TrapCode::TableOutOfBounds)
        );
        assert_eq!(i.trap("tget", &[Val::I32(3)]), None);
    }
    // A null entry.
    let wat = r#"(module (table 2 funcref) (type $v (func))
      (func (export "null") i32.const 1 call_indirect (type $v)))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(
            i.trap("null", &[]),
            Some(TrapCode::IndirectCallToNull),
            "{mode}"
        );
    }
}

#[test]
fn traps() {
    let wat = r#"(module
      (memory 1)
      (func (export "unreachable") unreachable)
      (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func (export "rem") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
      (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_u)
      (func (export "load") (param i32) (result i64) local.get 0 i64.load offset=8)
      (func (export "store") (param i32) local.get 0 i32.const 1 i32.store16)
      (func $rec (export "recurse") (param i32) (result i32)
        local.get 0 i32.const 1 i32.add call $rec))"#;
    for (mode, mut i) in instances(wat) {
        assert_eq!(
            i.trap("unreachable", &[]),
            Some(TrapCode::UnreachableCodeReached),
            "{mode}"
        );
        assert_eq!(
            i.trap("div", &[Val::I32(1), Val::I32(0)]),
            Some(TrapCode::IntegerDivisionByZero),
            "{mode}"
        );
        assert_eq!(
            i.trap("div", &[Val::I32(i32::MIN), Val::I32(-1)]),
            Some(TrapCode::IntegerOverflow),
            "{mode}"
        );
        assert_eq!(
            i.trap("rem", &[Val::I64(1), Val::I64(0)]),
            Some(TrapCode::IntegerDivisionByZero)
        );
        assert_eq!(
            i.trap("trunc", &[Val::F64(f64::NAN)]),
            Some(TrapCode::BadConversionToInteger),
            "{mode}"
        );
        assert_eq!(
            i.trap("trunc", &[Val::F64(-1.0)]),
            Some(TrapCode::IntegerOverflow),
            "{mode}"
        );
        assert_eq!(i.trap("trunc", &[Val::F64(-0.9)]), None);
        assert_eq!(i.trap("load", &[Val::I32(65528 - 8)]), None, "{mode}");
        assert_eq!(
            i.trap("load", &[Val::I32(65528 - 7)]),
            Some(TrapCode::MemoryOutOfBounds),
            "{mode}"
        );
        assert_eq!(
            i.trap("load", &[Val::I32(-1)]),
            Some(TrapCode::MemoryOutOfBounds),
            "{mode}"
        );
        assert_eq!(i.trap("store", &[Val::I32(65534)]), None);
        assert_eq!(
            i.trap("store", &[Val::I32(65535)]),
            Some(TrapCode::MemoryOutOfBounds),
            "{mode}"
        );
        assert_eq!(
            i.trap("recurse", &[Val::I32(0)]),
            Some(TrapCode::StackOverflow),
            "{mode}"
        );
    }
}
