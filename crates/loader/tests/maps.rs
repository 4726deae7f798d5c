//! Where the text lives: an XIP file's text is a shared, file-backed `r-xs` mapping of the file
//! itself (opened read-only, so it can never be made writable); a normal file's text is an
//! anonymous `r-xp` mapping; no mapping is ever writable and executable. Both lie near the
//! runtime's builtins (calls between them are cheaper than across the address space).
#![cfg(target_os = "linux")]

mod support;

use aotc_loader::{Instance, Module, Val, runtime_builtin_addresses};

const FIB: &str = r#"
(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add
        (call $fib (i32.sub (local.get 0) (i32.const 1)))
        (call $fib (i32.sub (local.get 0) (i32.const 2))))))))
"#;

/// One line of `/proc/self/maps`.
struct MapsLine {
    start: usize,
    end: usize,
    perms: String,
    path: Option<String>,
}

fn maps() -> Vec<MapsLine> {
    let text = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    text.lines()
        .map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next().unwrap();
            let perms = fields.next().unwrap().to_owned();
            let path = fields.nth(3).map(str::to_owned);
            let (start, end) = range.split_once('-').unwrap();
            MapsLine {
                start: usize::from_str_radix(start, 16).unwrap(),
                end: usize::from_str_radix(end, 16).unwrap(),
                perms,
                path,
            }
        })
        .collect()
}

fn mapping_of(text: &[u8]) -> MapsLine {
    let start = text.as_ptr() as usize;
    let end = start + text.len();
    maps()
        .into_iter()
        .find(|m| m.start <= start && end <= m.end)
        .expect("the text lies within one mapping")
}

fn no_writable_and_executable_mapping() {
    for mapping in maps() {
        assert!(
            !mapping.perms.starts_with("rwx") && !mapping.perms.starts_with("-wx"),
            "writable and executable mapping: {} at {:#x}",
            mapping.perms,
            mapping.start
        );
    }
}

fn compile_fib(xip: bool) -> Vec<u8> {
    support::compile_wat(FIB, &support::options(xip))
}

fn run_fib(module: &Module) {
    let instance = Instance::new(module, &[]).expect("instantiate");
    let fib = instance.get_func("fib").expect("fib exported");
    assert_eq!(
        fib.call(&[Val::I32(20)]).expect("fib(20)"),
        [Val::I32(6765)]
    );
}

#[test]
fn xip_text_is_mapped_read_execute_from_the_file() {
    let file = support::TempFile::new("maps-xip", &compile_fib(true));
    // SAFETY: freshly compiled by the test.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    assert!(module.is_xip());
    run_fib(&module);

    let mapping = mapping_of(module.text());
    assert_eq!(mapping.perms, "r-xs");
    let canonical = std::fs::canonicalize(&file.0).unwrap();
    assert_eq!(
        mapping.path.as_deref(),
        Some(&*canonical.to_string_lossy()),
        "the text is mapped from the AOT file itself"
    );
    no_writable_and_executable_mapping();
}

#[test]
fn normal_text_is_an_anonymous_read_execute_copy() {
    let file = support::TempFile::new("maps-normal", &compile_fib(false));
    // SAFETY: freshly compiled by the test.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    assert!(!module.is_xip());
    run_fib(&module);

    let mapping = mapping_of(module.text());
    assert_eq!(mapping.perms, "r-xp");
    assert_eq!(mapping.path, None, "the relocated copy is anonymous");
    no_writable_and_executable_mapping();
}

#[test]
fn memory_reserves_address_space_and_commits_only_its_size() {
    let module = support::load_wat(
        r#"(module (memory (export "m") 1 65536))"#,
        &support::options(false),
    );
    // Many memories whose maximum is 4 GiB: each is only reserved.
    let instances: Vec<Instance> = (0..32)
        .map(|_| Instance::new(&module, &[]).unwrap())
        .collect();
    for instance in &instances {
        let memory = instance.get_memory("m").unwrap();
        let base = memory.data_ptr() as usize;
        let all = maps();
        let find = |address: usize| all.iter().find(|m| m.start <= address && address < m.end);
        let committed = find(base).expect("committed part");
        assert_eq!(committed.perms, "rw-p");
        assert_eq!(
            committed.end,
            base + 65536,
            "exactly one page is accessible"
        );
        let guard = find(base + 65536).expect("reserved part");
        assert_eq!(guard.perms, "---p");
        assert!(guard.end >= base + (8usize << 30), "8 GiB reserved in all");
        assert_eq!(memory.grow(1).unwrap(), 1);
        let grown = maps();
        let committed = grown
            .iter()
            .find(|m| m.start <= base && base < m.end)
            .unwrap();
        assert_eq!(committed.end, base + 2 * 65536);
    }
    no_writable_and_executable_mapping();
}

/// How far the loader may place a text from the runtime's builtins: the 1 GiB window below the
/// runtime's code, plus the runtime's own code, generously.
const NEAR: u64 = 2 << 30;

#[test]
fn texts_are_mapped_near_the_runtime_builtins() {
    let builtins: Vec<u64> = runtime_builtin_addresses().map(|(_, a)| a).collect();
    let xip = support::TempFile::new("maps-near-xip", &compile_fib(true));
    let normal = support::TempFile::new("maps-near-normal", &compile_fib(false));
    // Several modules at once: each placed in the window, none overlapping another.
    let modules: Vec<Module> = (0..8)
        .map(|i| {
            let file = if i % 2 == 0 { &xip } else { &normal };
            // SAFETY: freshly compiled by the test.
            unsafe { Module::from_file(&file.0) }.expect("load")
        })
        .collect();
    for module in &modules {
        run_fib(module);
        let text = module.text().as_ptr() as u64;
        for builtin in &builtins {
            assert!(
                text.abs_diff(*builtin) < NEAR,
                "text at {text:#x}, builtin at {builtin:#x}"
            );
        }
    }
    no_writable_and_executable_mapping();
}
