//! `aotc inspect` and `aotc verify`: describe and check AOT files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use std::mem::offset_of;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;

use aotc_format::AotFile;
use aotc_format::layout::{self, RelocTarget, RelocTargetKind};
use aotc_translate::RuntimeSymbols;

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
    /// For a prelinked file: check that it was relocated for the builtin addresses this
    /// runtime symbol file gives (an ELF file or `aotc runtime-symbols` output).
    #[arg(long, value_name = "FILE")]
    pub runtime_symbols: Option<PathBuf>,
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
    file.verify()
        .with_context(|| format!("{}", args.file.display()))?;
    if let Some(path) = &args.runtime_symbols {
        let symbols = crate::compile_cmd::read_runtime_symbols(path)?;
        check_prelinked_for(&file, &symbols).with_context(|| format!("{}", args.file.display()))?;
        println!(
            "{}: prelinked for {:#x} and the builtin addresses of {} (fingerprint {:#018x})",
            args.file.display(),
            file.prelink_base(),
            path.display(),
            file.symbols_fingerprint()
        );
    }
    println!(
        "{}: OK (metadata, function table, trap table and text check out, {} bytes of text)",
        args.file.display(),
        file.text().len()
    );
    Ok(())
}

/// Checks that `file` is prelinked for the builtin addresses `symbols` gives.
fn check_prelinked_for(file: &AotFile<'_>, symbols: &RuntimeSymbols) -> Result<()> {
    if !file.is_prelinked() {
        bail!("not a prelinked file: nothing to check against runtime symbols");
    }
    let fingerprint = file
        .builtin_addresses_fingerprint(|index| {
            aotc_abi::Builtin::from_index(index).and_then(|b| symbols.address(b))
        })
        .map_err(|name| anyhow!("the runtime symbols have no address for builtin {name}"))?;
    if fingerprint != file.symbols_fingerprint() {
        bail!(
            "at offset {:#x}: prelinked for builtin addresses with fingerprint {:#018x}, but \
             the runtime symbols give {fingerprint:#018x}",
            offset_of!(layout::FileHeader, symbols_fingerprint),
            file.symbols_fingerprint()
        );
    }
    Ok(())
}

/// The text `aotc inspect` prints.
pub fn describe(file: &AotFile<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "format version: {}", file.format_version());
    let _ = writeln!(out, "abi version:    {}", file.abi_version());
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
        "mode:           {}",
        if file.is_prelinked() {
            format!(
                "prelinked at {:#x} (builtin addresses fingerprint {:#018x})",
                file.prelink_base(),
                file.symbols_fingerprint()
            )
        } else if file.is_xip() {
            "xip".to_owned()
        } else {
            "normal (relocated at load)".to_owned()
        }
    );
    let _ = writeln!(
        out,
        "calls:          {}",
        if file.flags() & layout::FLAG_INDIRECT_CALLS != 0 {
            "builtins and imports through the vmctx, the module's own functions PC-relative"
        } else {
            "builtins relocated, imports through the vmctx, the module's own functions PC-relative"
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
    let _ = writeln!(out, "text layout:    {}", text_layout(file));
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
    for r in file.relocs().iter() {
        let target = match r.target {
            RelocTarget::Builtin(_) => RelocTargetKind::Builtin,
            RelocTarget::TextOffset(_) => RelocTargetKind::TextOffset,
        };
        *by_kind.entry((r.kind.name(), target.name())).or_default() += 1;
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
    let traps = file.traps();
    let _ = writeln!(
        out,
        "trap table:     {} sites, {} bytes",
        traps.len(),
        traps.byte_size()
    );
    let m = file.module();
    let _ = writeln!(
        out,
        "functions:      {} ({} imported)",
        file.functions().len(),
        m.imported_functions
    );
    for (i, f) in file.functions().iter().enumerate() {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(out, "  [{i}] damaged: {e}");
                continue;
            }
        };
        let sig = file
            .types()
            .get(f.type_index as usize)
            .map_or_else(|| "(?)".to_string(), format_sig);
        match f.body {
            None => {
                let _ = writeln!(out, "  [{i}] imported {sig}");
            }
            Some((offset, len)) => {
                let _ = writeln!(out, "  [{i}] {sig} text {offset:#x}+{len}");
            }
        }
    }
    let _ = writeln!(out, "imports:        {}", file.imports().len());
    for imp in file.imports().iter() {
        let _ = writeln!(
            out,
            "  {}.{} ({} {})",
            imp.module,
            imp.name,
            imp.kind.name(),
            imp.index
        );
    }
    let _ = writeln!(out, "exports:        {}", file.exports().len());
    for e in file.exports().iter() {
        let _ = writeln!(out, "  {} ({} {})", e.name, e.kind.name(), e.index);
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

/// How a posix loader maps the text: alone when it is page-aligned, else with the pages around
/// it (the target's largest page size), whose other bytes become executable, never writable.
fn text_layout(file: &AotFile<'_>) -> String {
    let page = u64::from(file.arch().max_page_size());
    let start = file.text_file_offset();
    let end = start + file.text().len() as u64;
    if start.is_multiple_of(page) {
        return "page-aligned: mapped read + execute alone, in place".to_owned();
    }
    let file_size = file.data().len() as u64;
    let exposed = (start - start / page * page) + (end.next_multiple_of(page).min(file_size) - end);
    format!(
        "packed: the posix loader maps the enclosing {page:#x}-byte pages read + execute in \
         place, so {exposed} bytes of metadata around the text are executable (never writable)"
    )
}

fn format_sig(ty: aotc_format::read::FuncType<'_>) -> String {
    let list = |ts: aotc_format::read::ValTypes<'_>| {
        ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(" ")
    };
    format!("({}) -> ({})", list(ty.params), list(ty.results))
}
