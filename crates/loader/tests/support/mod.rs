//! Test support: AOT files built by hand with the format's writer around hand-assembled x86-64
//! code (so the loader can be tested without the compiler), wat compiled and loaded through
//! aotc-pipeline, and unique temporary files.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use aotc_abi::{Arch, Builtin, TrapCode, ValType};
use aotc_format::layout::{ConstValue, ExternKind, FLAG_INDIRECT_CALLS, FLAG_XIP, RelocKind};
use aotc_format::write::{
    AotModule, DataSegment, Export, FuncType, Function, Global, Import, Memory, Reloc, RelocTarget,
    SegmentPlacement,
};
use aotc_loader::{LoadOptions, Module};
use aotc_translate::CompileOptions;

/// Compiler options for normal (`xip == false`) or XIP code, otherwise the defaults.
pub fn options(xip: bool) -> CompileOptions {
    if xip {
        CompileOptions::xip()
    } else {
        CompileOptions::default()
    }
}

/// Compiles the text-format module `wat` with `options` to the bytes of an AOT file.
pub fn compile_wat(wat: &str, options: &CompileOptions) -> Vec<u8> {
    aotc_pipeline::file_bytes(options, wat.as_bytes(), aotc_pipeline::OutputFormat::Aot)
        .expect("compile")
}

/// Compiles `wat` with `options` and loads the result from memory.
pub fn load_wat(wat: &str, options: &CompileOptions) -> Module {
    aotc_pipeline::load(options, wat.as_bytes(), &LoadOptions::default()).expect("load")
}

/// A path in the temporary directory no other test (or process) uses.
pub fn temp_path(tag: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "aotc-loader-{tag}-{}-{}-{nanos}.aot",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ))
}

/// A file removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// Writes `bytes` to a fresh temporary file.
    pub fn new(tag: &str, bytes: &[u8]) -> TempFile {
        let path = temp_path(tag);
        std::fs::write(&path, bytes).expect("write temp file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// The text, assembled with `as --64` from:
//
//     .intel_syntax noprefix
//     .text
//     entry0:
//       push rbx
//       mov rbx, rdx
//       mov rax, rdi
//       mov rdi, rsi
//       mov esi, dword ptr [rbx]
//       call rax
//       mov dword ptr [rbx], eax
//       pop rbx
//       ret
//     entry1:
//       sub rsp, 8
//       mov rax, rdi
//       mov rdi, rsi
//       call rax
//       add rsp, 8
//       ret
//     exit0:
//       push rbx
//       sub rsp, 16
//       mov dword ptr [rsp], esi
//       mov rax, [rdi]
//       mov rsi, rsp
//       mov edx, 1
//       mov ecx, 1
//       call rax
//       mov eax, dword ptr [rsp]
//       add rsp, 16
//       pop rbx
//       ret
//     add1:
//       lea eax, [rsi+1]
//       ret
//     unreachable_fn:
//       ud2
//     load:
//       mov rax, [rdi]
//       mov rax, [rax]
//       mov esi, esi
//     load_site:
//       mov eax, dword ptr [rax+rsi]
//       ret
//     div:
//       mov eax, 100
//       cdq
//     div_site:
//       idiv esi
//       ret
//     recurse:
//       cmp rsp, [rdi+8]
//       jb recurse_overflow
//       push rbx
//       call recurse
//       pop rbx
//       ret
//     recurse_overflow:
//       ud2
//     call_host:
//       push rbx
//       mov rax, [rdi+16]
//       mov rdi, [rax+16]
//       call [rax]
//       add eax, 1
//       pop rbx
//       ret
//     grow:
//       push rbx
//       mov rax, [rdi+24]
//       xor edx, edx
//       call [rax]
//       pop rbx
//       ret
//     trapper:
//       push rbx
//       mov rax, [rdi+24]
//       mov esi, 7
//       call [rax+80]
//       pop rbx
//       ret
//     fill:
//       push rbx
//       mov rax, [rdi+24]
//       mov edx, esi
//       xor esi, esi
//       xor ecx, ecx
//       mov r8d, 16
//       call [rax+8]
//       xor eax, eax
//       pop rbx
//       ret
//     global_add:
//       mov rax, [rdi+32]
//       mov rax, [rax]
//       mov eax, [rax]
//       add eax, esi
//       ret
//     start_fn:
//       mov rax, [rdi+32]
//       mov rax, [rax]
//       add dword ptr [rax], 1000
//       ret
//     grow_reloc:
//       push rbx
//     grow_reloc_imm:
//       movabs rax, 0
//       xor edx, edx
//       call rax
//       pop rbx
//       ret
//     call_add1_reloc:
//       push rbx
//     call_add1_site:
//       call add1
//       pop rbx
//       ret
pub const TEXT: &[u8] = &[
    0x53, 0x48, 0x89, 0xd3, 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x8b, 0x33, 0xff, 0xd0, 0x89, 0x03,
    0x5b, 0xc3, 0x48, 0x83, 0xec, 0x08, 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0xff, 0xd0, 0x48, 0x83,
    0xc4, 0x08, 0xc3, 0x53, 0x48, 0x83, 0xec, 0x10, 0x89, 0x34, 0x24, 0x48, 0x8b, 0x07, 0x48, 0x89,
    0xe6, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb9, 0x01, 0x00, 0x00, 0x00, 0xff, 0xd0, 0x8b, 0x04, 0x24,
    0x48, 0x83, 0xc4, 0x10, 0x5b, 0xc3, 0x8d, 0x46, 0x01, 0xc3, 0x0f, 0x0b, 0x48, 0x8b, 0x07, 0x48,
    0x8b, 0x00, 0x89, 0xf6, 0x8b, 0x04, 0x30, 0xc3, 0xb8, 0x64, 0x00, 0x00, 0x00, 0x99, 0xf7, 0xfe,
    0xc3, 0x48, 0x3b, 0x67, 0x08, 0x72, 0x08, 0x53, 0xe8, 0xf4, 0xff, 0xff, 0xff, 0x5b, 0xc3, 0x0f,
    0x0b, 0x53, 0x48, 0x8b, 0x47, 0x10, 0x48, 0x8b, 0x78, 0x10, 0xff, 0x10, 0x83, 0xc0, 0x01, 0x5b,
    0xc3, 0x53, 0x48, 0x8b, 0x47, 0x18, 0x31, 0xd2, 0xff, 0x10, 0x5b, 0xc3, 0x53, 0x48, 0x8b, 0x47,
    0x18, 0xbe, 0x07, 0x00, 0x00, 0x00, 0xff, 0x50, 0x50, 0x5b, 0xc3, 0x53, 0x48, 0x8b, 0x47, 0x18,
    0x89, 0xf2, 0x31, 0xf6, 0x31, 0xc9, 0x41, 0xb8, 0x10, 0x00, 0x00, 0x00, 0xff, 0x50, 0x08, 0x31,
    0xc0, 0x5b, 0xc3, 0x48, 0x8b, 0x47, 0x20, 0x48, 0x8b, 0x00, 0x8b, 0x00, 0x01, 0xf0, 0xc3, 0x48,
    0x8b, 0x47, 0x20, 0x48, 0x8b, 0x00, 0x81, 0x00, 0xe8, 0x03, 0x00, 0x00, 0xc3, 0x53, 0x48, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0xd2, 0xff, 0xd0, 0x5b, 0xc3, 0x53, 0xe8,
    0x62, 0xff, 0xff, 0xff, 0x5b, 0xc3,
];

pub const ENTRY0: u32 = 0x00;
pub const ENTRY1: u32 = 0x12;
pub const EXIT0: u32 = 0x23;
pub const LOAD_SITE: u32 = 0x54;
pub const DIV_SITE: u32 = 0x5e;
pub const RECURSE_OVERFLOW: u32 = 0x6f;
pub const GROW_RELOC_IMM: u32 = 0xd0;
pub const CALL_ADD1_SITE: u32 = 0xdf;
pub const ADD1: u32 = 0x46;

/// (export name, text offset, length, type index) of the defined functions, in index order
/// (function 0 is the imported host function `env.host`).
pub const FUNCTIONS: &[(&str, u32, u32, u32)] = &[
    ("add1", 0x46, 4, 0),
    ("unreachable", 0x4a, 2, 0),
    ("load", 0x4c, 0xc, 0),
    ("div", 0x58, 9, 0),
    ("recurse", 0x61, 0x10, 0),
    ("call_host", 0x71, 0x10, 0),
    ("grow", 0x81, 0xb, 0),
    ("trapper", 0x8c, 0xf, 0),
    ("fill", 0x9b, 0x18, 0),
    ("global_add", 0xb3, 0xc, 0),
    ("start", 0xbf, 0xe, 1),
    ("grow_reloc", 0xcd, 0x11, 0),
    ("call_add1_reloc", 0xde, 8, 0),
];

/// The hand-written module: `xip` selects the XIP variant (no relocations; the two functions
/// that need them are not exported).
pub fn module(xip: bool) -> AotModule {
    let arch = Arch::X86_64;
    let mut m = AotModule::new(arch);
    m.target_triple = "x86_64-unknown-linux-gnu".into();
    m.flags = if xip {
        FLAG_XIP | FLAG_INDIRECT_CALLS
    } else {
        0
    };
    m.types = vec![
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
            entry_trampoline: Some(ENTRY0),
            exit_trampoline: Some(EXIT0),
        },
        FuncType {
            params: vec![],
            results: vec![],
            entry_trampoline: Some(ENTRY1),
            exit_trampoline: None,
        },
    ];
    m.imports = vec![Import {
        module: "env".into(),
        name: "host".into(),
        kind: ExternKind::Func,
        index: 0,
    }];
    m.functions.push(Function {
        type_index: 0,
        body: None,
    });
    for (i, (name, offset, len, ty)) in FUNCTIONS.iter().enumerate() {
        m.functions.push(Function {
            type_index: *ty,
            body: Some((*offset, *len)),
        });
        let needs_reloc = matches!(*name, "grow_reloc" | "call_add1_reloc");
        if !(xip && needs_reloc) && *name != "start" {
            m.exports.push(Export {
                name: (*name).into(),
                kind: ExternKind::Func,
                index: i as u32 + 1,
            });
        }
    }
    m.start = Some(11);
    m.memories = vec![Memory {
        min: 1,
        max: Some(3),
        imported: false,
        memory64: false,
        shared: false,
    }];
    m.exports.push(Export {
        name: "memory".into(),
        kind: ExternKind::Memory,
        index: 0,
    });
    m.globals = vec![Global {
        val_type: ValType::I32,
        mutable: true,
        init: Some(ConstValue::I32(5)),
    }];
    m.exports.push(Export {
        name: "g".into(),
        kind: ExternKind::Global,
        index: 0,
    });
    m.data = vec![DataSegment {
        placement: SegmentPlacement::Active {
            index: 0,
            offset: ConstValue::I32(16),
        },
        bytes: vec![1, 2, 3, 4],
    }];
    m.text = TEXT.to_vec();
    m.traps = vec![
        (0x4a, TrapCode::UnreachableCodeReached),
        (LOAD_SITE, TrapCode::MemoryOutOfBounds),
        (DIV_SITE, TrapCode::IntegerDivisionByZero),
        (RECURSE_OVERFLOW, TrapCode::StackOverflow),
    ];
    m.builtins = vec![
        Builtin::memory_grow,
        Builtin::memory_fill,
        Builtin::raise_trap,
    ];
    if !xip {
        let call = CALL_ADD1_SITE as usize + 1;
        m.text[call..call + 4].fill(0);
        m.relocs = vec![
            Reloc {
                offset: GROW_RELOC_IMM,
                kind: RelocKind::Abs8,
                target: RelocTarget::Builtin(Builtin::memory_grow),
                addend: 0,
            },
            Reloc {
                offset: CALL_ADD1_SITE + 1,
                kind: RelocKind::X86PcRel4,
                target: RelocTarget::TextOffset(ADD1),
                addend: -4,
            },
        ];
    }
    m
}
