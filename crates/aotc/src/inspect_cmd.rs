//! `aotc inspect` and `aotc verify`: describe and check AOT files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use aotc_format::AotFile;
use aotc_format::layout::{self, ExternKind, RelocKind, RelocTargetKind};

/// `aotc inspect` arguments.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The AOT file.
    pub file: PathBuf,
}

/// `aotc verify` arguments.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The AOT file.
    pub file: PathBuf,
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let bytes = read(&args.file)?;
    let file = AotFile::parse(&bytes).with_context(|| format!("{}", args.file.display()))?;
    print!("{}", describe(&file));
    Ok(())
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let bytes = read(&args.file)?;
    let file = AotFile::parse(&bytes).with_context(|| format!("{}", args.file.display()))?;
    file.verify_text()
        .with_context(|| format!("{}", args.file.display()))?;
    println!(
        "{}: OK (metadata and text checksums match, {} bytes of text)",
        args.file.display(),
        file.text().len()
    );
    Ok(())
}

/// The text `aotc inspect` prints.
pub fn describe(file: &AotFile<'_>) -> String {
    let mut out = String::new();
    let h = file.header();
    let _ = writeln!(out, "format version: {}", h.format_version.get());
    let _ = writeln!(out, "abi version:    {}", h.abi_version.get());
    let _ = writeln!(
        out,
        "target:         {} ({})",
        file.arch().name(),
        file.target_triple()
    );
    let cpu = if file.cpu_name().is_empty() {
        "generic"
    } else {
        file.cpu_name()
    };
    let features: Vec<&str> = aotc_abi::target::cpu_features::names(file.arch())
        .iter()
        .filter(|(_, bit)| file.cpu_features() & bit != 0)
        .map(|(n, _)| *n)
        .collect();
    let _ = writeln!(out, "cpu:            {cpu} [{}]", features.join(","));
    let _ = writeln!(
        out,
        "xip:            {}",
        if file.is_xip() { "yes" } else { "no" }
    );
    let _ = writeln!(
        out,
        "calls:          {}",
        if file.flags() & layout::FLAG_INDIRECT_CALLS != 0 {
            "indirect (through the vmctx)"
        } else {
            "direct"
        }
    );
    let _ = writeln!(
        out,
        "bounds checks:  {}",
        if file.flags() & layout::FLAG_EXPLICIT_BOUNDS_CHECKS != 0 {
            "explicit"
        } else {
            "guard pages"
        }
    );
    let _ = writeln!(
        out,
        "text:           {} bytes at file offset {:#x} (aligned to {:#x})",
        file.text().len(),
        file.text_file_offset(),
        file.text_align()
    );
    let _ = writeln!(out, "sections:");
    for s in file.sections() {
        let _ = writeln!(
            out,
            "  {:<13} offset {:#08x} size {:>8} count {}",
            s.kind.name(),
            s.offset,
            s.size,
            s.count
        );
    }
    let _ = writeln!(out, "relocations:    {}", file.relocs().len());
    let mut by_kind: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in file.relocs() {
        let kind = RelocKind::from_u8(r.kind).map_or("?", RelocKind::name);
        let target = match RelocTargetKind::from_u8(r.target_kind) {
            Some(RelocTargetKind::Builtin) => "builtin",
            Some(RelocTargetKind::TextOffset) => "text offset",
            None => "?",
        };
        *by_kind.entry((kind, target)).or_default() += 1;
    }
    for ((kind, target), n) in by_kind {
        let _ = writeln!(out, "  {kind} to {target}: {n}");
    }
    let builtins: Vec<&str> = file.builtins().map(|(_, name)| name).collect();
    let _ = writeln!(
        out,
        "builtins:       {}",
        if builtins.is_empty() {
            "none".to_string()
        } else {
            builtins.join(", ")
        }
    );
    let intrinsics: Vec<&str> = file.intrinsics().iter().map(|i| i.name).collect();
    let _ = writeln!(
        out,
        "intrinsics:     {}",
        if intrinsics.is_empty() {
            "none".to_string()
        } else {
            intrinsics.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "constants:      {} slots ({} bytes)",
        file.constants().len(),
        file.constants().len() * 8
    );
    let _ = writeln!(out, "trap sites:     {}", file.traps().len());
    let m = file.module();
    let _ = writeln!(
        out,
        "functions:      {} ({} imported)",
        file.functions().len(),
        m.imported_functions.get()
    );
    for (i, f) in file.functions().iter().enumerate() {
        let sig = file
            .types()
            .get(f.type_index.get() as usize)
            .map_or_else(|| "(?)".to_string(), |ty| format_sig(file, ty));
        if f.flags.get() & layout::FUNC_IMPORTED != 0 {
            let _ = writeln!(out, "  [{i}] imported {sig}");
        } else {
            let _ = writeln!(
                out,
                "  [{i}] {sig} text {:#x}+{}",
                f.body_offset.get(),
                f.body_len.get()
            );
        }
    }
    let _ = writeln!(out, "imports:        {}", file.imports().len());
    for imp in file.imports() {
        let kind = ExternKind::from_u8(imp.kind).map_or("?", ExternKind::name);
        let _ = writeln!(
            out,
            "  {}.{} ({kind} {})",
            file.string(&imp.module),
            file.string(&imp.name),
            imp.index.get()
        );
    }
    let _ = writeln!(out, "exports:        {}", file.exports().len());
    for e in file.exports() {
        let kind = ExternKind::from_u8(e.kind).map_or("?", ExternKind::name);
        let _ = writeln!(out, "  {} ({kind} {})", file.string(&e.name), e.index.get());
    }
    let _ = writeln!(out, "memories:       {}", file.memories().len());
    let _ = writeln!(out, "tables:         {}", file.tables().len());
    let _ = writeln!(out, "globals:        {}", file.globals().len());
    let _ = writeln!(out, "data segments:  {}", file.data_segments().len());
    let _ = writeln!(out, "elem segments:  {}", file.elements().len());
    if let Some(s) = file.start_function() {
        let _ = writeln!(out, "start:          function {s}");
    }
    out
}

fn format_sig(file: &AotFile<'_>, ty: &layout::TypeRecord) -> String {
    let list = |ts: aotc_format::read::ValTypes<'_>| {
        ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(" ")
    };
    format!(
        "({}) -> ({})",
        list(file.params(ty)),
        list(file.results(ty))
    )
}
