//! Prelinked files: the text, relocated at compile time for its address and this process's
//! builtin addresses, runs from a shared read + execute mapping of the file at exactly that
//! address (no private copy: `/proc/self/smaps`); loading refuses, in one line, a taken address,
//! other builtin addresses, another target, and (normal files) a relocation out of range.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod support;

use aotc_abi::{Arch, Builtin};
use aotc_format::layout::{RelocKind, RelocTarget};
use aotc_format::write::Reloc;
use aotc_loader::{Instance, LoadError, Module, Val};
use aotc_translate::{CompileOptions, Prelink, RuntimeSymbols};

const FIB: &str = include_str!("../../../examples/fib.wat");

/// Calls memory.grow (a builtin, so the text has an absolute relocation to prelink).
const GROW: &str = r#"
(module
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

/// A distinct address per test, far from where the kernel places mappings.
fn base(slot: u64) -> u64 {
    0x2100_0000_0000 + slot * (64 << 20)
}

fn this_process() -> RuntimeSymbols {
    RuntimeSymbols::from_addresses(aotc_loader::runtime_builtin_addresses())
}

/// Compiled for the baseline CPU, where float rounding calls builtins on x86_64 (relocated
/// sites to prelink), as the normal files they are compared with.
fn prelinked(wat: &str, base: u64, symbols: RuntimeSymbols, arch: Arch) -> Vec<u8> {
    let options = CompileOptions {
        arch,
        cpu: Some("generic".into()),
        prelink: Some(Prelink { base, symbols }),
        ..CompileOptions::default()
    };
    support::compile_wat(wat, &options)
}

/// `(perms, path, Rss, Private_Dirty, Anonymous)` in bytes of the `/proc/self/smaps` entry
/// holding `address`.
fn smaps_entry(address: usize) -> (String, String, u64, u64, u64) {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read smaps");
    let mut entry: Option<(String, String, u64, u64, u64)> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_header = fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'));
        if is_header {
            if entry.is_some() {
                break;
            }
            let (start, end) = fields[0].split_once('-').unwrap();
            let range =
                usize::from_str_radix(start, 16).unwrap()..usize::from_str_radix(end, 16).unwrap();
            if range.contains(&address) {
                let path = fields.get(5).copied().unwrap_or("").to_owned();
                entry = Some((fields[1].to_owned(), path, 0, 0, 0));
            }
        } else if let Some(e) = entry.as_mut() {
            let kb = || fields[1].parse::<u64>().unwrap() * 1024;
            match fields.first() {
                Some(&"Rss:") => e.2 = kb(),
                Some(&"Private_Dirty:") => e.3 = kb(),
                Some(&"Anonymous:") => e.4 = kb(),
                _ => {}
            }
        }
    }
    entry.expect("a mapping holds the address")
}

#[test]
fn prelinked_fib_runs_from_the_file_at_its_base_with_no_private_text() {
    let base = base(0);
    let file = support::TempFile::new(
        "prelinked-fib",
        &prelinked(FIB, base, this_process(), Arch::X86_64),
    );
    // SAFETY: freshly compiled by the test.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    assert!(module.is_prelinked());
    assert!(module.is_text_mapped_from_file());
    assert_eq!(module.text().as_ptr() as u64, base);
    assert_eq!(module.file().relocs().len(), 0);
    let instance = Instance::new(&module, &[]).expect("instantiate");
    let fib = instance.get_func("fib").expect("fib exported");
    assert_eq!(
        fib.call(&[Val::I32(20)]).expect("fib(20)"),
        [Val::I32(6765)]
    );

    let (perms, path, rss, private_dirty, anonymous) = smaps_entry(base as usize);
    let canonical = std::fs::canonicalize(&file.0).unwrap();
    assert_eq!(perms, "r-xs", "a shared read + execute mapping");
    assert_eq!(path, canonical.to_string_lossy(), "of the AOT file itself");
    assert!(rss > 0, "the text ran from this mapping");
    assert_eq!((private_dirty, anonymous), (0, 0), "no private text bytes");
    eprintln!(
        "prelinked fib at {base:#x}: {perms} {path}, Rss {rss} bytes, Private_Dirty \
         {private_dirty}, Anonymous {anonymous}"
    );
}

#[test]
fn prelinked_builtin_calls_run_from_the_file_and_from_bytes() {
    let base = base(1);
    let bytes = prelinked(GROW, base, this_process(), Arch::X86_64);
    let file = support::TempFile::new("prelinked-grow", &bytes);
    for from_file in [true, false] {
        // SAFETY: freshly compiled by the test.
        let module = unsafe {
            if from_file {
                Module::from_file(&file.0)
            } else {
                Module::from_bytes(&bytes)
            }
        }
        .expect("load");
        assert_eq!(module.text().as_ptr() as u64, base);
        assert_eq!(module.is_text_mapped_from_file(), from_file);
        let instance = Instance::new(&module, &[]).expect("instantiate");
        let grow = instance.get_func("grow").expect("grow exported");
        assert_eq!(grow.call(&[Val::I32(2)]).expect("grow"), [Val::I32(1)]);
        assert_eq!(grow.call(&[Val::I32(1)]).expect("grow"), [Val::I32(3)]);
    }
}

fn one_line(e: &LoadError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

#[test]
fn a_taken_address_is_refused() {
    let base = base(2);
    let file = support::TempFile::new(
        "prelinked-taken",
        &prelinked(FIB, base, this_process(), Arch::X86_64),
    );
    // SAFETY: freshly compiled by the test.
    let first = unsafe { Module::from_file(&file.0) }.expect("load");
    // SAFETY: as above.
    let second = unsafe { Module::from_file(&file.0) }.expect_err("the address is taken");
    assert!(matches!(second, LoadError::AddressTaken { .. }));
    let text = one_line(&second);
    assert!(
        text.contains("at offset 0xa8")
            && text.contains(&format!("{base:#x}"))
            && text.contains("already in use"),
        "{text}"
    );
    drop(first);
    // SAFETY: as above.
    unsafe { Module::from_file(&file.0) }.expect("free again once the first module is gone");
}

#[test]
fn other_builtin_addresses_are_refused() {
    let shifted = RuntimeSymbols::from_addresses(
        aotc_loader::runtime_builtin_addresses().map(|(b, a)| (b, a + 16)),
    );
    let bytes = prelinked(GROW, base(3), shifted, Arch::X86_64);
    // SAFETY: freshly compiled by the test.
    let e = unsafe { Module::from_bytes(&bytes) }.expect_err("fingerprint mismatch");
    assert!(matches!(e, LoadError::SymbolsMismatch { .. }));
    let text = one_line(&e);
    assert!(
        text.contains("at offset 0xb0") && text.contains("fingerprint"),
        "{text}"
    );
}

#[test]
fn a_file_prelinked_for_another_target_is_refused() {
    let symbols = RuntimeSymbols::from_addresses(
        Builtin::ALL
            .iter()
            .map(|&b| (b, 0x1000 + u64::from(b.index()) * 16)),
    );
    let bytes = prelinked(GROW, base(4), symbols, Arch::Aarch64);
    // SAFETY: freshly compiled by the test (and refused before any code runs).
    let e = unsafe { Module::from_bytes(&bytes) }.expect_err("another target");
    assert!(matches!(e, LoadError::WrongTarget { .. }));
    let text = one_line(&e);
    assert!(
        text.contains("aarch64") && text.contains("x86_64"),
        "{text}"
    );
}

#[test]
fn a_relocation_out_of_range_is_refused() {
    // A PC-relative call to 8 GiB past a builtin: the loader places a copied text near the
    // runtime's code, but no placement brings that within a 32-bit displacement.
    let mut m = support::module(false);
    m.relocs.push(Reloc {
        offset: support::GROW_RELOC_IMM,
        kind: RelocKind::X86PcRel4,
        target: RelocTarget::Builtin(Builtin::memory_grow),
        addend: (8 << 30) - 4,
    });
    m.relocs.retain(|r| r.kind == RelocKind::X86PcRel4);
    let bytes = m.write().expect("write");
    // SAFETY: refused before any code runs.
    let e = unsafe { Module::from_bytes(&bytes) }.expect_err("out of range");
    assert!(matches!(e, LoadError::Relocation { .. }));
    let text = one_line(&e);
    assert!(
        text.contains("is out of the ±2 GiB range of X86PcRel4"),
        "{text}"
    );
}

#[test]
fn a_packed_prelinked_file_runs_at_its_base_too() {
    let base = base(5);
    let options = CompileOptions {
        text_align: Some(16),
        prelink: Some(Prelink {
            base,
            symbols: this_process(),
        }),
        ..CompileOptions::default()
    };
    let bytes = support::compile_wat(GROW, &options);
    let file = support::TempFile::new("prelinked-packed", &bytes);
    // SAFETY: freshly compiled by the test.
    let module = unsafe { Module::from_file(&file.0) }.expect("load");
    assert_eq!(module.text().as_ptr() as u64, base);
    // Mapped from the file only when the text lies at the base's offset within a page.
    let page = 4096;
    assert_eq!(
        module.is_text_mapped_from_file(),
        module.file().text_file_offset() % page == base % page
    );
    let instance = Instance::new(&module, &[]).expect("instantiate");
    let grow = instance.get_func("grow").expect("grow exported");
    assert_eq!(grow.call(&[Val::I32(1)]).expect("grow"), [Val::I32(1)]);
}

#[test]
fn prelinked_text_is_the_normal_text_relocated_in_this_process() {
    // Same builtin addresses, same code: the prelinked text is byte for byte the text the loader
    // relocates for a normal file, so it runs the same instructions (what the benchmark's
    // prelinked-against-normal ratio measures), only without load-time patching.
    for (slot, program) in [(6, "int_heavy"), (7, "float_heavy")] {
        let path = format!(
            "{}/../../examples/bench/{program}.wat",
            env!("CARGO_MANIFEST_DIR")
        );
        let wat = std::fs::read_to_string(&path).expect("read the benchmark");
        let baseline = CompileOptions {
            cpu: Some("generic".into()),
            ..CompileOptions::default()
        };
        let normal = support::load_wat(&wat, &baseline);
        let bytes = prelinked(&wat, base(slot), this_process(), Arch::X86_64);
        // SAFETY: freshly compiled by the test.
        let prelinked = unsafe { Module::from_bytes(&bytes) }.expect("load");
        if program == "float_heavy" {
            // Rounding calls builtins on the x86_64 baseline: relocated sites are compared too.
            assert!(!normal.file().relocs().is_empty());
        }
        assert_eq!(normal.text(), prelinked.text(), "{program}");
    }
}
