//! Loader robustness: damaged files are refused with an error naming the file, never a panic and
//! never a crash. Truncation at every length, and a flipped bit at every header and metadata
//! byte; a damaged text is caught when the text checksum is verified.

mod support;

use aotc_format::layout::{FileHeader, SectionKind};
use aotc_loader::{Instance, LoadError, LoadOptions, Module, TrapCode};

fn file_bytes() -> Vec<u8> {
    support::module(false).write().expect("write")
}

fn metadata_size(bytes: &[u8]) -> usize {
    // SAFETY: only parsed here; no code runs.
    let module = unsafe { Module::from_bytes(bytes) };
    let module = module.expect("the undamaged file loads (x86-64 host)");
    module.file().header().metadata_size.get() as usize
}

#[test]
#[cfg(target_arch = "x86_64")]
fn truncated_files_are_refused_at_every_length() {
    let bytes = file_bytes();
    for len in 0..bytes.len() {
        // SAFETY: the file is refused before any code could run.
        let result = unsafe { Module::from_bytes(&bytes[..len]) };
        let err = result.expect_err("a truncated file must not load");
        assert!(
            matches!(err, LoadError::Format { .. }),
            "length {len}: {err}"
        );
        let message = err.to_string();
        assert!(message.starts_with("<memory>: at offset 0x"), "{message}");
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn flipped_header_and_metadata_bytes_are_refused() {
    let bytes = file_bytes();
    let metadata = metadata_size(&bytes);
    for offset in 0..metadata {
        for bit in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[offset] ^= bit;
            // SAFETY: the file is refused before any code could run.
            let result = unsafe { Module::from_bytes(&damaged) };
            let err = result.expect_err("a damaged file must not load");
            assert!(err.to_string().contains("offset 0x"), "{err}");
        }
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn damaged_text_is_caught_by_the_text_checksum() {
    let bytes = file_bytes();
    // SAFETY: only parsed here.
    let text_offset = unsafe { Module::from_bytes(&bytes) }
        .unwrap()
        .file()
        .text_file_offset() as usize;
    let mut damaged = bytes.clone();
    damaged[text_offset + 3] ^= 0x10;
    let options = LoadOptions {
        verify_text_checksum: true,
        name: Some("damaged.aot".into()),
    };
    // SAFETY: refused before any code could run.
    let err = unsafe { Module::from_bytes_with(&damaged, &options) }.unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("damaged.aot: at offset"), "{message}");
    assert!(message.contains("text checksum"), "{message}");
}

#[test]
fn missing_and_empty_files_are_refused() {
    let missing = support::temp_path("missing");
    // SAFETY: nothing to run.
    let err = unsafe { Module::from_file(&missing) }.unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );

    let empty = support::TempFile::new("empty", &[]);
    // SAFETY: nothing to run.
    let err = unsafe { Module::from_file(&empty.0) }.unwrap_err();
    assert!(
        err.to_string().contains(&*empty.0.to_string_lossy()),
        "{err}"
    );

    let junk = support::TempFile::new("junk", &[0x55; 4096]);
    // SAFETY: nothing to run.
    let err = unsafe { Module::from_file(&junk.0) }.unwrap_err();
    assert!(matches!(err, LoadError::Format { .. }), "{err}");
}

#[test]
#[cfg(target_arch = "x86_64")]
fn truncated_files_on_disk_are_refused() {
    let bytes = file_bytes();
    let header = size_of::<FileHeader>();
    for len in [0, 1, 100, header - 1, header, 1000, 4096, bytes.len() - 1] {
        let file = support::TempFile::new("truncated", &bytes[..len]);
        // SAFETY: the file is refused before any code could run.
        let err = unsafe { Module::from_file(&file.0) }.unwrap_err();
        assert!(
            err.to_string().contains(&*file.0.to_string_lossy()),
            "{err}"
        );
    }
}

/// A compiled module with every kind of section populated.
fn compiled_file(xip: bool) -> Vec<u8> {
    let wat = r#"
    (module
      (import "env" "f" (func $f (param i32) (result i32)))
      (import "env" "g" (global i32))
      (memory (export "mem") 1 2)
      (table 2 funcref)
      (global $h (mut i64) (i64.const 7))
      (elem (i32.const 0) $f $id)
      (data (i32.const 8) "data")
      (func $id (export "id") (param i32) (result i32) (local.get 0))
      (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
    "#;
    support::compile_wat(wat, &support::options(xip))
}

#[test]
fn damaged_compiled_files_are_refused() {
    for xip in [false, true] {
        let bytes = compiled_file(xip);
        // SAFETY: only parsed here.
        let metadata = unsafe { Module::from_bytes(&bytes) }
            .expect("the undamaged file loads")
            .file()
            .header()
            .metadata_size
            .get() as usize;
        for len in 0..bytes.len() {
            // SAFETY: refused before any code could run.
            let result = unsafe { Module::from_bytes(&bytes[..len]) };
            assert!(result.is_err(), "length {len}");
        }
        for offset in 0..metadata {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 0x04;
            // SAFETY: refused before any code could run.
            let result = unsafe { Module::from_bytes(&damaged) };
            assert!(result.is_err(), "offset {offset}");
        }
    }
}

#[test]
fn flips_in_the_function_and_trap_tables_end_in_an_error_or_an_honest_trap() {
    // Loading a mapped XIP file does not read the function and trap tables, so a flip there
    // loads. The function table is checked at load wherever loading copies the text anyway
    // (normal files, any file loaded from bytes), and for a mapped XIP file when verification
    // is asked for (otherwise it is trusted like the text: docs/format.md). A flip in the trap
    // table makes a call that traps report the table as damaged: never a panic, a crash or a
    // wrong trap kind.
    let wat = r#"(module (memory 1)
        (func (export "oob") (result i32) (i32.load (i32.const 70000))))"#;
    let verify = LoadOptions {
        verify_text_checksum: true,
        ..LoadOptions::default()
    };
    for xip in [false, true] {
        let bytes = support::compile_wat(wat, &support::options(xip));
        // SAFETY: only parsed here.
        let module = unsafe { Module::from_bytes(&bytes) }.unwrap();
        let file = module.file();
        let s = file.section(SectionKind::Functions).unwrap();
        for offset in s.offset as usize..(s.offset + s.size) as usize {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 0x04;
            // SAFETY: refused before any code could run.
            let result = unsafe { Module::from_bytes(&damaged) };
            let error = result.expect_err("a copied text's function table is checked at load");
            assert!(error.to_string().contains("checksum"), "{error}");
            if xip {
                let on_disk = support::TempFile::new("flip-functions", &damaged);
                // SAFETY: refused before any code could run.
                let result = unsafe { Module::from_file_with(&on_disk.0, &verify) };
                assert!(result.is_err(), "offset {offset}");
            }
        }
        for kind in [SectionKind::Traps, SectionKind::TrapDeltas] {
            let s = file.section(kind).unwrap();
            for offset in s.offset as usize..(s.offset + s.size) as usize {
                let mut damaged = bytes.clone();
                damaged[offset] ^= 0x04;
                // SAFETY: the text is undamaged compiled code; the damaged trap table is checked
                // before it is used.
                let module = unsafe { Module::from_bytes(&damaged) }.expect("loads");
                let instance = Instance::new(&module, &[]).expect("instantiates");
                let trap = instance.call("oob", &[]).expect_err("traps");
                let message = trap.message.unwrap_or_default();
                assert!(message.contains("trap table is damaged"), "{message}");
                assert_eq!(
                    trap.code,
                    TrapCode::MemoryOutOfBounds,
                    "classified by signal"
                );
            }
        }
    }
}
