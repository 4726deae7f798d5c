//! Damaged and crafted files: the reader must refuse every damaged file with an error, and
//! never panic, whatever the bytes.

use aotc_abi::intrinsics::IntrinsicSet;
use aotc_abi::{Arch, Builtin, TrapCode, ValType};
use core::mem::offset_of;

use aotc_format::AotFile;
use aotc_format::layout::*;
use aotc_format::read::SectionInfo;
use aotc_format::write::*;

/// A module exercising every record kind.
fn sample(xip: bool) -> AotModule {
    let mut m = AotModule::new(Arch::X86_64);
    m.target_triple = "x86_64-unknown-linux".into();
    m.flags = if xip {
        FLAG_XIP | FLAG_INDIRECT_CALLS
    } else {
        0
    };
    m.text = (0..300u32).map(|i| (i * 7) as u8).collect();
    m.types = vec![
        FuncType {
            params: vec![ValType::I32, ValType::F64],
            results: vec![ValType::I64],
            entry_trampoline: Some(200),
            exit_trampoline: Some(250),
        },
        FuncType::default(),
    ];
    m.imports = vec![
        Import {
            module: "env".into(),
            name: "f".into(),
            kind: ExternKind::Func,
            index: 0,
        },
        Import {
            module: "env".into(),
            name: "g".into(),
            kind: ExternKind::Global,
            index: 0,
        },
    ];
    m.functions = vec![
        Function {
            type_index: 0,
            body: None,
        },
        Function {
            type_index: 0,
            body: Some((0, 100)),
        },
        Function {
            type_index: 1,
            body: Some((100, 100)),
        },
    ];
    m.tables = vec![Table {
        elem_type: ValType::FuncRef,
        min: 2,
        max: Some(10),
        imported: false,
    }];
    m.memories = vec![Memory {
        min: 1,
        max: None,
        imported: false,
        memory64: false,
        shared: false,
    }];
    m.globals = vec![
        Global {
            val_type: ValType::I32,
            mutable: false,
            init: None,
        },
        Global {
            val_type: ValType::I32,
            mutable: true,
            init: Some(ConstValue::GlobalGet(0)),
        },
        Global {
            val_type: ValType::F64,
            mutable: false,
            init: Some(ConstValue::F64(1.5f64.to_bits())),
        },
    ];
    m.exports = vec![
        Export {
            name: "run".into(),
            kind: ExternKind::Func,
            index: 1,
        },
        Export {
            name: "mem".into(),
            kind: ExternKind::Memory,
            index: 0,
        },
    ];
    m.start = Some(2);
    m.elements = vec![ElementSegment {
        placement: SegmentPlacement::Active {
            index: 0,
            offset: ConstValue::I32(0),
        },
        elem_type: ValType::FuncRef,
        items: vec![
            ConstValue::RefFunc(1),
            ConstValue::RefNull(ValType::FuncRef),
        ],
    }];
    m.data = vec![
        DataSegment {
            placement: SegmentPlacement::Active {
                index: 0,
                offset: ConstValue::GlobalGet(0),
            },
            bytes: b"hello".to_vec(),
        },
        DataSegment {
            placement: SegmentPlacement::Passive,
            bytes: vec![1, 2, 3],
        },
    ];
    m.traps = vec![
        (42, TrapCode::UnreachableCodeReached),
        (10, TrapCode::MemoryOutOfBounds),
    ];
    m.builtins = vec![
        Builtin::memory_grow,
        Builtin::f64_floor,
        Builtin::memory_grow,
    ];
    m.intrinsics = IntrinsicSet::parse("llvm.floor.f64,constop").unwrap();
    m.constants = vec![1u64.to_le_bytes(), 2.5f64.to_bits().to_le_bytes()];
    m.function_names = vec![
        (2, "two".into()),
        (0, "env.f".into()),
        (2, "second name of two".into()),
    ];
    if !xip {
        m.relocs = vec![Reloc {
            offset: 50,
            kind: RelocKind::Abs8,
            target: RelocTarget::Builtin(Builtin::f64_floor),
            addend: 0,
        }];
    }
    m
}

#[test]
fn round_trip() {
    let bytes = sample(false).write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    f.verify_text().unwrap();
    assert!(!f.is_xip());
    assert_eq!(f.arch(), Arch::X86_64);
    assert_eq!(f.target_triple(), "x86_64-unknown-linux");
    assert_eq!(f.text_file_offset() % 4096, 0);
    assert_eq!(f.text().len(), 300);
    assert_eq!(f.types().len(), 2);
    let ty = f.types().get(0).unwrap();
    let params: Vec<ValType> = ty.params.iter().collect();
    assert_eq!(params, [ValType::I32, ValType::F64]);
    assert_eq!(
        (ty.entry_trampoline, ty.exit_trampoline),
        (Some(200), Some(250))
    );
    let import = f.imports().get(0).unwrap();
    assert_eq!((import.name, import.kind), ("f", ExternKind::Func));
    let export = f.find_export("run").unwrap();
    assert_eq!((export.kind, export.index), (ExternKind::Func, 1));
    assert_eq!(f.start_function(), Some(2));
    let traps = f.traps();
    assert_eq!(traps.lookup(10), Ok(Some(TrapCode::MemoryOutOfBounds)));
    assert_eq!(traps.lookup(42), Ok(Some(TrapCode::UnreachableCodeReached)));
    assert_eq!(traps.lookup(11), Ok(None));
    f.verify().unwrap();
    let relocs: Vec<Reloc> = f.relocs().iter().collect();
    assert_eq!(relocs, sample(false).relocs);
    let builtins: Vec<(u32, &str)> = f.builtins().collect();
    assert_eq!(
        builtins,
        [
            (Builtin::memory_grow.index(), "memory_grow"),
            (Builtin::f64_floor.index(), "f64_floor")
        ]
    );
    assert_eq!(
        f.intrinsics(),
        IntrinsicSet::parse("llvm.floor.f64,constop").unwrap()
    );
    assert_eq!(
        f.constants(),
        &[1u64.to_le_bytes(), 2.5f64.to_bits().to_le_bytes()]
    );
    let constants_at = f.constants().as_ptr() as usize - bytes.as_ptr() as usize;
    assert_eq!(
        constants_at % 8,
        0,
        "the constant table is 8-aligned in the file"
    );
    assert_eq!(f.data_segments().get(0).unwrap().bytes, b"hello");
    let element = f.elements().get(0).unwrap();
    assert_eq!(element.elem_type, ValType::FuncRef);
    assert_eq!(element.items.iter().next(), Some(ConstValue::RefFunc(1)));
    assert_eq!(
        f.globals().get(2).unwrap().init,
        Some(ConstValue::F64(1.5f64.to_bits()))
    );
    assert_eq!(f.globals().get(0).unwrap().init, None);
}

#[test]
fn writer_refuses_xip_with_relocations() {
    let mut m = sample(true);
    assert!(m.write().is_ok());
    m.relocs.push(Reloc {
        offset: 0,
        kind: RelocKind::X86PcRel4,
        target: RelocTarget::TextOffset(8),
        addend: -4,
    });
    let err = m.write().unwrap_err();
    assert!(
        matches!(err, WriteError::XipWithRelocations { count: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("XIP"));
}

#[test]
fn prelinked_files_record_base_and_fingerprint_and_carry_no_relocation() {
    use aotc_format::layout::{FLAG_PRELINKED, FLAG_XIP};
    use aotc_format::write::Prelink;
    let mut m = sample(false);
    m.relocs.clear();
    let addresses: Vec<u64> = (0..64).map(|i| 0x1000 + i * 16).collect();
    m.prelink = Some(Prelink {
        base: 0x4000_0000,
        builtin_addresses: addresses.clone(),
    });
    let bytes = m.write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    assert!(f.is_prelinked());
    assert_eq!(f.prelink_base(), 0x4000_0000);
    let expected = aotc_format::checksum::symbols_fingerprint(
        f.builtins().map(|(i, _)| (i, addresses[i as usize])),
    );
    assert_eq!(f.symbols_fingerprint(), expected);
    assert_ne!(f.builtins().len(), 0);

    // The writer: no relocation left, normal mode only, the flag is its own.
    let mut with_reloc = m.clone();
    with_reloc.relocs.push(Reloc {
        offset: 0,
        kind: RelocKind::Abs8,
        target: RelocTarget::TextOffset(8),
        addend: 0,
    });
    assert!(
        with_reloc
            .write()
            .unwrap_err()
            .to_string()
            .contains("relocation")
    );
    let mut xip = m.clone();
    xip.flags |= FLAG_XIP;
    assert!(xip.write().is_err());
    let mut flag = sample(false);
    flag.flags |= FLAG_PRELINKED;
    assert!(flag.write().is_err());

    // The reader: the base must be a multiple of the text alignment.
    let mut damaged = bytes.clone();
    let at = offset_of!(FileHeader, prelink_base);
    damaged[at] = 1;
    reseal(&mut damaged);
    assert_eq!(AotFile::parse(&damaged).unwrap_err().offset, at as u64);
}

#[test]
fn writing_is_deterministic() {
    assert_eq!(
        sample(false).write().unwrap(),
        sample(false).write().unwrap()
    );
}

#[test]
fn every_truncation_is_refused() {
    for xip in [false, true] {
        let bytes = sample(xip).write().unwrap();
        for len in 0..bytes.len() {
            let err = AotFile::parse(&bytes[..len]).expect_err("a truncated file must be refused");
            assert!(!err.to_string().is_empty());
        }
    }
}

fn metadata_size(bytes: &[u8]) -> usize {
    AotFile::parse(bytes).unwrap().header().metadata_size.get() as usize
}

#[test]
fn every_metadata_byte_flip_is_refused() {
    let bytes = sample(false).write().unwrap();
    for i in 0..metadata_size(&bytes) {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[i] ^= mask;
            assert!(
                AotFile::parse(&damaged).is_err(),
                "flipping byte {i} with {mask:#x} was not detected"
            );
        }
    }
}

#[test]
fn resealed_flips_never_panic() {
    // With the checksum recomputed, a flip reaches the structural checks: the file may load
    // (the flip hit a name or a value) or be refused, but parsing and every accessor must not
    // panic.
    let bytes = sample(false).write().unwrap();
    let mut refused = 0;
    for i in 0..metadata_size(&bytes) {
        for mask in [0x01u8, 0x10, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[i] ^= mask;
            reseal(&mut damaged);
            match AotFile::parse(&damaged) {
                Ok(f) => exercise(&f),
                Err(_) => refused += 1,
            }
        }
    }
    assert!(refused > 0);
}

/// Calls every accessor, as a loader would.
fn exercise(f: &AotFile<'_>) {
    let _ = f.verify();
    let _ = (
        f.target_triple(),
        f.cpu_name(),
        f.sections().count(),
        f.start_function(),
    );
    for t in f.types().iter() {
        let _ = t.params.iter().count() + t.results.iter().count();
    }
    let _ = f.imports().iter().count() + f.exports().iter().count();
    let _ = f.functions().iter().count() + f.tables().iter().count();
    for off in 0..f.text().len() as u32 {
        let _ = f.functions().containing(off);
    }
    let _ = f.memories().iter().count() + f.globals().iter().count();
    for e in f.elements().iter() {
        let _ = e.items.iter().count();
    }
    let _ = f.data_segments().iter().count() + f.relocs().iter().count();
    for off in 0..f.text().len() as u32 {
        let _ = f.traps().lookup(off);
    }
    let _ = (f.builtins().count(), f.intrinsics(), f.constants().len());
    let _ = f.names().iter().count();
    for index in 0..4 {
        let _ = f.names().get(index);
    }
}

#[test]
fn lookup_section_flips_are_found_at_lookup_or_by_verify() {
    // Loading never reads the function and trap tables: a flip there still parses, lookups
    // give an error or a value (never a panic), and `verify` finds every flip by checksum.
    let bytes = sample(false).write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    for kind in [
        SectionKind::Functions,
        SectionKind::Traps,
        SectionKind::TrapDeltas,
        SectionKind::FunctionNames,
        SectionKind::NameBytes,
    ] {
        let s = f.section(kind).unwrap();
        assert!(
            s.offset >= metadata_size(&bytes) as u64,
            "{kind:?} after the metadata"
        );
        for i in s.offset as usize..(s.offset + s.size) as usize {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] ^= mask;
                let d = AotFile::parse(&damaged).expect("loading does not read lookup sections");
                exercise(&d);
                let err = d.verify().expect_err("verify finds the flip");
                assert!(
                    err.to_string().contains("section checksum mismatch"),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn trap_sites_round_trip_through_blocks_and_deltas() {
    let mut m = sample(false);
    m.text = vec![0; 1 << 20];
    let codes = [TrapCode::MemoryOutOfBounds, TrapCode::IntegerOverflow];
    // Small and large gaps, code changes, more than one block.
    m.traps = (0..300u32)
        .map(|i| (i * i * 7 + i, codes[(i as usize / 3) % 2]))
        .collect();
    let bytes = m.write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    f.verify().unwrap();
    let traps = f.traps();
    assert_eq!(traps.len(), 300);
    let sites: Vec<(u32, TrapCode)> = traps
        .iter()
        .map(|s| s.map(|s| (s.code_offset, s.code)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sites, m.traps);
    for (offset, code) in &m.traps {
        assert_eq!(traps.lookup(*offset), Ok(Some(*code)));
        assert_eq!(traps.lookup(offset + 1), Ok(None));
    }
    assert!(traps.byte_size() < 300 * 3, "{} bytes", traps.byte_size());
}

#[test]
fn damaged_lookup_records_are_errors_at_lookup() {
    let bytes = sample(false).write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    let traps = f.section(SectionKind::Traps).unwrap().offset as usize;
    let code = traps + offset_of!(TrapBlock, first_code);
    let mut damaged = bytes.clone();
    damaged[code] = 0xee;
    let d = AotFile::parse(&damaged).unwrap();
    let err = d.traps().lookup(10).unwrap_err();
    assert_eq!(err.offset, code as u64, "{err}");

    let functions = f.section(SectionKind::Functions).unwrap().offset as usize;
    let body = functions + size_of::<FunctionRecord>() + offset_of!(FunctionRecord, body_offset);
    let mut damaged = bytes.clone();
    damaged[body + 3] = 0x7f;
    let d = AotFile::parse(&damaged).unwrap();
    let err = d.functions().get(1).unwrap_err();
    assert_eq!(err.offset, body as u64, "{err}");
    assert!(d.functions().get(99).is_err());
}

#[test]
fn function_names_round_trip_and_damage_is_an_error_at_lookup() {
    let bytes = sample(false).write().unwrap();
    let f = AotFile::parse(&bytes).unwrap();
    f.verify().unwrap();
    let names = f.names();
    assert_eq!(names.len(), 2, "one record per index, the first name wins");
    assert_eq!(names.get(0), Ok(Some("env.f")));
    assert_eq!(names.get(1), Ok(None));
    assert_eq!(names.get(2), Ok(Some("two")));
    assert_eq!(names.get(3), Ok(None));

    let records = f.section(SectionKind::FunctionNames).unwrap().offset as usize;
    let len = records + size_of::<NameRecord>() + offset_of!(NameRecord, len);
    let mut damaged = bytes.clone();
    damaged[len + 3] = 0x7f;
    let d = AotFile::parse(&damaged).unwrap();
    let err = d.names().get(2).unwrap_err();
    assert_eq!(
        err.offset,
        (records + size_of::<NameRecord>() + offset_of!(NameRecord, offset)) as u64,
        "{err}"
    );
    assert!(
        err.to_string().contains("a name within the name bytes"),
        "{err}"
    );
    assert!(d.verify().is_err());

    let text = f.section(SectionKind::NameBytes).unwrap().offset as usize;
    let mut damaged = bytes.clone();
    damaged[text] = 0xff;
    let d = AotFile::parse(&damaged).unwrap();
    let err = d.names().get(0).unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");

    let mut m = sample(false);
    m.function_names = vec![(3, "no such function".into())];
    assert!(m.write().is_err());
}

#[test]
fn text_flip_is_found_by_verify_only() {
    let bytes = sample(true).write().unwrap();
    let text_at = AotFile::parse(&bytes).unwrap().text_file_offset() as usize;
    let mut damaged = bytes.clone();
    damaged[text_at + 7] ^= 0x40;
    let f = AotFile::parse(&damaged).expect("loading does not read the text");
    let err = f.verify_text().unwrap_err();
    assert!(err.to_string().contains("text checksum mismatch"), "{err}");
}

#[test]
fn errors_name_offset_and_expectation() {
    let mut bytes = sample(false).write().unwrap();
    bytes[0] = b'X';
    let err = AotFile::parse(&bytes).unwrap_err();
    assert_eq!(err.offset, 0);
    assert!(err.to_string().contains("not an aotc AOT file"), "{err}");

    let mut bytes = sample(false).write().unwrap();
    bytes[12] = 99; // ABI version
    let err = AotFile::parse(&bytes).unwrap_err();
    assert_eq!(err.offset, 12);
    assert!(
        err.to_string().contains("ABI version 99, expected"),
        "{err}"
    );

    let bytes = sample(false).write().unwrap();
    let err = AotFile::parse(&bytes[..100]).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "truncated file header: expected {} bytes",
            size_of::<FileHeader>()
        )),
        "{err}"
    );
}

/// Writes `value` at `offset`, re-seals the metadata and returns the reader's error.
fn damage_at(offset: usize, value: &[u8]) -> aotc_format::ReadError {
    let mut bytes = sample(false).write().unwrap();
    bytes[offset..offset + value.len()].copy_from_slice(value);
    reseal(&mut bytes);
    AotFile::parse(&bytes).expect_err("the damaged field must be refused")
}

#[test]
fn header_errors_name_the_field_offset_from_the_layout() {
    let file_size = sample(false).write().unwrap().len() as u64;
    let fields: [(&str, usize, &[u8]); 16] = [
        ("magic", offset_of!(FileHeader, magic), b"X"),
        (
            "format_version",
            offset_of!(FileHeader, format_version),
            &[99],
        ),
        ("abi_version", offset_of!(FileHeader, abi_version), &[99]),
        ("header_size", offset_of!(FileHeader, header_size), &[151]),
        ("flags", offset_of!(FileHeader, flags), &[0, 0, 0, 0x80]),
        ("arch", offset_of!(FileHeader, arch), &[99]),
        ("pointer_size", offset_of!(FileHeader, pointer_size), &[4]),
        ("endianness", offset_of!(FileHeader, endianness), &[2]),
        (
            "text_align",
            offset_of!(FileHeader, text_align),
            &[3, 0, 0, 0],
        ),
        (
            "section_table_offset",
            offset_of!(FileHeader, section_table_offset),
            &[0xff; 4],
        ),
        (
            "metadata_size",
            offset_of!(FileHeader, metadata_size),
            &[10, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            "metadata_checksum",
            offset_of!(FileHeader, metadata_checksum),
            &[],
        ),
        (
            "file_size",
            offset_of!(FileHeader, file_size),
            &(file_size + 1).to_le_bytes(),
        ),
        (
            "intrinsics",
            offset_of!(FileHeader, intrinsics),
            &[0xff; 16],
        ),
        // Prelink fields in a file that is not prelinked.
        ("prelink_base", offset_of!(FileHeader, prelink_base), &[1]),
        (
            "symbols_fingerprint",
            offset_of!(FileHeader, symbols_fingerprint),
            &[1],
        ),
    ];
    for (name, offset, value) in fields {
        let err = if value.is_empty() {
            // The checksum itself: damage it after sealing.
            let mut bytes = sample(false).write().unwrap();
            bytes[offset] ^= 1;
            AotFile::parse(&bytes).unwrap_err()
        } else {
            damage_at(offset, value)
        };
        assert_eq!(err.offset, offset as u64, "{name}: {err}");
    }
}

#[test]
fn trampoline_errors_name_their_own_field() {
    let bytes = sample(false).write().unwrap();
    let types: SectionInfo = AotFile::parse(&bytes)
        .unwrap()
        .section(SectionKind::Types)
        .unwrap();
    for field in [
        offset_of!(TypeRecord, entry_trampoline),
        offset_of!(TypeRecord, exit_trampoline),
    ] {
        let at = types.offset as usize + field;
        let err = damage_at(at, &[0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(err.offset, at as u64, "{err}");
        assert!(err.to_string().contains("trampoline offset"), "{err}");
    }
}
