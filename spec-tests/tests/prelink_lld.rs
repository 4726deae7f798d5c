//! The relocator checked against an independent linker, on every target: each spec-suite
//! module whose normal-mode code carries relocations, and a generated module calling every
//! builtin normal mode calls, is compiled twice: prelinked by aotc (`--prelink`, through
//! `aotc-reloc`) and as an ELF object (`--format object`) linked by ld.lld at the same text
//! address with the same builtin addresses (`--defsym`). The two texts must be byte-identical,
//! and so must the object's text with its own relocations (calls between functions included:
//! every kind of every target) applied by `aotc-reloc`.
//! This is the oracle for targets that cannot run here (riscv64, big-endian s390x).
//!
//! ld.lld 19 (the first with s390x) comes from Debian's `lld-19`, which
//! `.ci/install-wasi-deps.sh` installs; `cargo xtask test` runs that script first.

use std::path::Path;
use std::process::Command;

use aotc_abi::{Arch, Builtin};
use aotc_format::layout::RelocKind;
use aotc_loader::AotFile;
use aotc_pipeline::OutputFormat;
use aotc_translate::{CompileOptions, Prelink, RuntimeSymbols, builtin_symbol};
use object::{Object, ObjectSection, ObjectSymbol};
use spec_tests::suite::SuiteSource;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{Wast, WastDirective};

/// The linker, as `.ci/install-wasi-deps.sh` installs it.
const LLD: &str = "ld.lld-19";

/// The text address: a multiple of every target's largest page size.
const TEXT_BASE: u64 = 0x4000_0000;

/// Builtin addresses: distinct, within reach of every kind, in an order unlike the index order.
fn builtin_address(b: Builtin) -> u64 {
    0x1000_0000 + u64::from(b.index()).wrapping_mul(0x9e37) % 0x10_0000 * 2
}

/// Each target, its CPU features, and ld.lld's emulation for it (riscv64 twice: SIMD needs
/// its vector extension).
const TARGETS: [(Arch, &[&str], &str); 5] = [
    (Arch::X86_64, &[], "elf_x86_64"),
    (Arch::Aarch64, &[], "aarch64linux"),
    (Arch::Riscv64, &[], "elf64lriscv"),
    (Arch::Riscv64, &["+v"], "elf64lriscv"),
    (Arch::S390x, &[], "elf64_s390"),
];

/// A module calling every builtin of normal mode: the runtime helpers, and the rounding
/// operations (libcalls on the x86_64 baseline, scalar and `v128`).
const EVERY_BUILTIN: &str = r#"
(module
  (memory 1)
  (table 4 funcref)
  (data "abc")
  (elem func $f)
  (func $f (param f32 f64) (result f32 f64)
    (f32.add (f32.add (f32.ceil (local.get 0)) (f32.floor (local.get 0)))
             (f32.add (f32.trunc (local.get 0)) (f32.nearest (local.get 0))))
    (f64.add (f64.add (f64.ceil (local.get 1)) (f64.floor (local.get 1)))
             (f64.add (f64.trunc (local.get 1)) (f64.nearest (local.get 1)))))
  (func (export "helpers") (param i32) (result i32)
    (drop (memory.grow (local.get 0)))
    (memory.fill (i32.const 0) (i32.const 1) (local.get 0))
    (memory.copy (i32.const 0) (i32.const 8) (local.get 0))
    (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
    (data.drop 0)
    (drop (table.grow (ref.null func) (local.get 0)))
    (table.fill (i32.const 0) (ref.null func) (i32.const 1))
    (table.copy (i32.const 0) (i32.const 1) (i32.const 1))
    (table.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop 0)
    (local.get 0))
)
"#;

/// The `v128` rounding operations (lane by lane builtin calls on the x86_64 baseline).
const EVERY_SIMD_BUILTIN: &str = r#"
(module
  (func (export "simd") (param v128) (result v128)
    (f64x2.add (f64x2.ceil (f64x2.floor (local.get 0)))
               (f64x2.nearest (f64x2.trunc
                 (f64x2.promote_low_f32x4 (f32x4.nearest (f32x4.trunc
                   (f32x4.ceil (f32x4.floor (local.get 0))))))))))
)
"#;

/// The outcome of one module on one target.
enum Checked {
    /// The code has no relocation: nothing to compare.
    NoRelocation,
    /// Identical text, with these relocations applied.
    Identical(Vec<RelocKind>),
}

fn symbols() -> RuntimeSymbols {
    RuntimeSymbols::from_addresses(Builtin::ALL.iter().map(|&b| (b, builtin_address(b))))
}

/// Compiles `wasm` for a target both ways and compares the texts.
fn check(
    dir: &Path,
    name: &str,
    wasm: &[u8],
    (arch, features, emulation): (Arch, &[&str], &str),
) -> Result<Checked, String> {
    let options = CompileOptions {
        arch,
        cpu_features: features.iter().map(|f| (*f).to_owned()).collect(),
        ..CompileOptions::default()
    };
    let object = aotc_pipeline::file_bytes(&options, wasm, OutputFormat::Object)
        .map_err(|e| format!("{name}: object: {e}"))?;
    let relocations = {
        let parsed = object::File::parse(&*object).map_err(|e| format!("{name}: {e}"))?;
        // A module without code has no text at all.
        parsed
            .section_by_name(".text")
            .map_or(0, |text| text.relocations().count())
    };
    if relocations == 0 {
        return Ok(Checked::NoRelocation);
    }
    let prelinked = CompileOptions {
        prelink: Some(Prelink {
            base: TEXT_BASE,
            symbols: symbols(),
        }),
        ..options
    };
    let aot = aotc_pipeline::file_bytes(&prelinked, wasm, OutputFormat::Aot)
        .map_err(|e| format!("{name}: prelinked: {e}"))?;
    let aot = AotFile::parse(&aot).map_err(|e| format!("{name}: {e}"))?;

    let object_path = dir.join(format!("{}.o", arch.name()));
    let linked_path = dir.join(format!("{}.elf", arch.name()));
    std::fs::write(&object_path, &object).map_err(|e| e.to_string())?;
    let mut lld = Command::new(LLD);
    lld.args(["-m", emulation, "--no-relax", "-static"])
        .arg(format!("-Ttext={TEXT_BASE:#x}"))
        .arg(format!("--entry={TEXT_BASE:#x}"));
    for &b in Builtin::ALL {
        lld.arg(format!(
            "--defsym={}={:#x}",
            builtin_symbol(b),
            builtin_address(b)
        ));
    }
    let out = lld
        .arg("-o")
        .arg(&linked_path)
        .arg(&object_path)
        .output()
        .map_err(|e| format!("cannot run {LLD} (install it with .ci/install-wasi-deps.sh): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{name}: {LLD} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let linked_bytes = std::fs::read(&linked_path).map_err(|e| e.to_string())?;
    // The linked file is also a runtime symbol file: its symbol table holds the `--defsym`s.
    let read_back = RuntimeSymbols::parse(&linked_bytes).map_err(|e| format!("{name}: {e}"))?;
    if read_back != symbols() {
        return Err(format!(
            "{name}: the linked ELF's builtin symbols read back differently"
        ));
    }
    let linked = object::File::parse(&*linked_bytes).map_err(|e| format!("{name}: {e}"))?;
    let text = linked
        .section_by_name(".text")
        .ok_or_else(|| format!("{name}: the linked file has no .text"))?;
    if text.address() != TEXT_BASE {
        return Err(format!(
            "{name}: {LLD} put .text at {:#x}, not {TEXT_BASE:#x}",
            text.address()
        ));
    }
    let lld_text = text.data().map_err(|e| e.to_string())?;
    let differ = |what: &str, ours: &[u8]| {
        let first = lld_text
            .iter()
            .zip(ours)
            .position(|(a, b)| a != b)
            .unwrap_or(lld_text.len().min(ours.len()));
        format!(
            "{name} on {}: {what} differs from ld.lld's at text offset {first:#x} (ld.lld {} \
             bytes, aotc {} bytes)",
            arch.name(),
            lld_text.len(),
            ours.len()
        )
    };
    if lld_text != aot.text() {
        return Err(differ("the prelinked text", aot.text()));
    }
    // The object's own relocations (calls between functions too, which the AOT text has
    // resolved at layout), applied by aotc-reloc: every kind, against ld.lld.
    let (relocated, kinds) = relocate_object(&object, arch)?;
    if lld_text != relocated {
        return Err(differ(
            "the object's text relocated by aotc-reloc",
            &relocated,
        ));
    }
    debug_assert_eq!(kinds.len(), relocations);
    Ok(Checked::Identical(kinds))
}

/// aotc's kind for an ELF relocation type of `arch`.
fn elf_kind(arch: Arch, r_type: u32) -> Option<RelocKind> {
    use object::elf::*;
    Some(match (arch, r_type) {
        (Arch::X86_64, R_X86_64_64)
        | (Arch::Aarch64, R_AARCH64_ABS64)
        | (Arch::Riscv64, R_RISCV_64)
        | (Arch::S390x, R_390_64) => RelocKind::Abs8,
        (Arch::X86_64, R_X86_64_PLT32 | R_X86_64_PC32) => RelocKind::X86PcRel4,
        (Arch::Aarch64, R_AARCH64_CALL26 | R_AARCH64_JUMP26) => RelocKind::Arm64Call,
        (Arch::Riscv64, R_RISCV_CALL_PLT | R_RISCV_CALL) => RelocKind::RiscvCallPlt,
        (Arch::S390x, R_390_PLT32DBL | R_390_PC32DBL) => RelocKind::S390xPcRel32Dbl,
        _ => return None,
    })
}

/// The object's text with its relocations applied by aotc-reloc for text at [`TEXT_BASE`]:
/// function symbols at their text address, builtins at [`builtin_address`].
fn relocate_object(object: &[u8], arch: Arch) -> Result<(Vec<u8>, Vec<RelocKind>), String> {
    let parsed = object::File::parse(object).map_err(|e| e.to_string())?;
    let section = parsed.section_by_name(".text").ok_or("no .text")?;
    let mut text = section.data().map_err(|e| e.to_string())?.to_vec();
    let mut kinds = Vec::new();
    for (offset, r) in section.relocations() {
        let object::RelocationFlags::Elf { r_type } = r.flags() else {
            return Err("not an ELF relocation".into());
        };
        let kind = elf_kind(arch, r_type)
            .ok_or_else(|| format!("ELF relocation type {r_type} of {arch:?} has no aotc kind"))?;
        let object::RelocationTarget::Symbol(index) = r.target() else {
            return Err("relocation against no symbol".into());
        };
        let symbol = parsed.symbol_by_index(index).map_err(|e| e.to_string())?;
        let target = if symbol.is_undefined() {
            let name = symbol.name().map_err(|e| e.to_string())?;
            let builtin = Builtin::ALL
                .iter()
                .find(|&&b| builtin_symbol(b) == name)
                .ok_or_else(|| format!("undefined symbol {name}"))?;
            builtin_address(*builtin)
        } else {
            TEXT_BASE + symbol.address()
        };
        let offset = u32::try_from(offset).map_err(|e| e.to_string())?;
        aotc_reloc::apply(arch, &mut text, TEXT_BASE, offset, kind, target, r.addend())
            .map_err(|e| e.to_string())?;
        kinds.push(kind);
    }
    Ok((text, kinds))
}

/// Every module of the spec suite's core files, as `(name, wasm)`.
fn suite_modules() -> Vec<(String, Vec<u8>)> {
    let source = SuiteSource::find(None).expect("the spec suite");
    let mut modules = Vec::new();
    for file in source.core_files().expect("the suite's files") {
        let text = file.text().expect("the file's text");
        let mut lexer = Lexer::new(&text);
        lexer.allow_confusing_unicode(true);
        let Ok(buf) = ParseBuffer::new_with_lexer(lexer) else {
            continue;
        };
        let Ok(wast) = parser::parse::<Wast<'_>>(&buf) else {
            continue;
        };
        for (i, directive) in wast.directives.into_iter().enumerate() {
            if let WastDirective::Module(mut qw) | WastDirective::ModuleDefinition(mut qw) =
                directive
                && let Ok(wasm) = qw.encode()
            {
                modules.push((format!("{}#{i}", file.name()), wasm));
            }
        }
    }
    modules
}

#[test]
fn prelinked_text_is_byte_identical_to_ld_lld_on_every_target() {
    let mut modules = vec![
        (
            "every-builtin".to_owned(),
            wat::parse_str(EVERY_BUILTIN).expect("valid wat"),
        ),
        (
            "every-simd-builtin".to_owned(),
            wat::parse_str(EVERY_SIMD_BUILTIN).expect("valid wat"),
        ),
    ];
    modules.extend(suite_modules());
    // One thread a target: each compiles, links and compares on its own.
    let outcomes: Vec<String> = std::thread::scope(|scope| {
        let modules = &modules;
        let threads: Vec<_> = TARGETS
            .map(|target| scope.spawn(move || check_target(target, modules)))
            .into_iter()
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect::<Result<_, String>>()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for line in outcomes {
        println!("{line}");
    }
}

/// Checks every module on `target`: its summary line, or the failures.
fn check_target(
    target: (Arch, &'static [&'static str], &'static str),
    modules: &[(String, Vec<u8>)],
) -> Result<String, String> {
    let (arch, features, _) = target;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (mut compared, mut failures) = (0, Vec::new());
    let mut relocations = std::collections::BTreeMap::<&str, usize>::new();
    let mut every_builtin = 0;
    for (name, wasm) in modules {
        match check(dir.path(), name, wasm, target) {
            Ok(Checked::Identical(kinds)) => {
                compared += 1;
                for kind in &kinds {
                    *relocations.entry(kind.name()).or_default() += 1;
                }
                if name == "every-builtin" {
                    every_builtin = kinds.len();
                }
            }
            Ok(Checked::NoRelocation) => {}
            // A module aotc does not compile for this target (e.g. SIMD without a feature) is
            // the spec runner's business, not the relocator's.
            Err(e) if e.contains(": object: ") => {}
            Err(e) => failures.push(e),
        }
    }
    let target = format!("{}{}", arch.name(), features.join(","));
    if !failures.is_empty() {
        return Err(format!("{target}:\n{}", failures.join("\n")));
    }
    if every_builtin < 10 || compared <= 100 {
        return Err(format!(
            "{target}: the generated module has {every_builtin} relocations, {compared} modules \
             compared"
        ));
    }
    Ok(format!(
        "{target}: {compared} modules with relocations ({relocations:?}) identical to ld.lld"
    ))
}
