//! `aotc compile`: wamrc-compatible flags mapped onto the compiler's options, and compilation
//! to an AOT file or an ELF object through the one pipeline (`aotc-pipeline`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use aotc_pipeline::OutputFormat;
use aotc_translate::{
    CompileOptions, Prelink, RuntimeSymbols, parse_cpu_features, parse_intrinsics, parse_target,
    target_names,
};

/// The machine code is for: architecture, CPU and CPU features.
#[derive(Args, Debug, Clone, Default)]
pub struct MachineArgs {
    /// Target architecture: x86_64, aarch64, riscv64 or s390x, or a target triple such as
    /// x86_64-unknown-linux-gnu (`help` lists them).
    #[arg(long, value_name = "ARCH")]
    pub target: Option<String>,
    /// Target CPU name (`native` for this machine's CPU, `generic` for the baseline); default:
    /// this machine's CPU without --target, the target's baseline with it.
    #[arg(long, value_name = "CPU")]
    pub cpu: Option<String>,
    /// CPU features to enable or disable, e.g. `+sse4.1,-avx`.
    #[arg(long, value_name = "FEATURES")]
    pub cpu_features: Option<String>,
}

impl MachineArgs {
    /// Sets the architecture, CPU and CPU features of `opts`.
    pub fn apply(&self, opts: &mut CompileOptions) -> Result<()> {
        if let Some(target) = &self.target {
            if target == "help" {
                bail!("supported targets: {}", target_names());
            }
            opts.arch = parse_target(target)?;
        }
        // Without --cpu, the library compiles for the host's CPU when the architecture is the
        // host's; an explicit --target means the target's baseline, as in wamrc.
        let baseline = self.target.is_some().then(|| "generic".to_string());
        opts.cpu = self.cpu.clone().or(baseline);
        if let Some(features) = &self.cpu_features {
            opts.cpu_features = parse_cpu_features(features);
        }
        Ok(())
    }
}

/// Options shared by everything that compiles (`compile`, and `run` on .wasm/.wat input).
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Optimisation level 0-3.
    #[arg(
        long,
        value_name = "N",
        default_value_t = CompileOptions::DEFAULT_OPT_LEVEL,
        value_parser = clap::value_parser!(u8).range(
            i64::from(*CompileOptions::OPT_LEVELS.start())..=i64::from(*CompileOptions::OPT_LEVELS.end())
        )
    )]
    pub opt_level: u8,
    /// Do not inline small functions into their callers (on by default from --opt-level 1):
    /// every wasm call keeps its own frame, so a trap's backtrace lists each one.
    #[arg(long)]
    pub disable_inlining: bool,
    /// Execute in place: no relocations in the text, which is mapped from the file.
    /// Same as `--enable-indirect-mode --disable-llvm-intrinsics`.
    #[arg(long)]
    pub xip: bool,
    /// Call everything (functions, imports, runtime helpers) through tables in the vmctx.
    #[arg(long)]
    pub enable_indirect_mode: bool,
    /// Do not use native instructions for operations the intrinsic library provides
    /// (accepted for wamrc compatibility; implied by `--xip`).
    #[arg(long)]
    pub disable_llvm_intrinsics: bool,
    /// 1: explicit bounds checks on memory accesses; 0: guard pages (default on 64-bit).
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub bounds_checks: Option<u8>,
    /// Operations to compile as calls to the intrinsic library: comma-separated names and
    /// groups (`all`, `i32.common`, `fp.common`, `constop`, ...; `aotc intrinsics` shows a
    /// target's set). Replaces the target's default set; what the target cannot compile without
    /// a libcall stays included. Only with --xip or --enable-indirect-mode.
    #[arg(long, value_name = "LIST")]
    pub enable_builtin_intrinsics: Option<String>,
}

impl Default for TargetArgs {
    /// The flags' defaults (as clap fills them in).
    fn default() -> Self {
        TargetArgs {
            machine: MachineArgs::default(),
            opt_level: CompileOptions::DEFAULT_OPT_LEVEL,
            disable_inlining: false,
            xip: false,
            enable_indirect_mode: false,
            disable_llvm_intrinsics: false,
            bounds_checks: None,
            enable_builtin_intrinsics: None,
        }
    }
}

impl TargetArgs {
    /// The compiler options these arguments select, validated.
    pub fn options(&self) -> Result<CompileOptions> {
        let mut opts = if self.xip {
            CompileOptions::xip()
        } else {
            CompileOptions::default()
        };
        self.machine.apply(&mut opts)?;
        opts.opt_level = self.opt_level;
        opts.inlining = !self.disable_inlining;
        opts.indirect |= self.enable_indirect_mode;
        opts.explicit_bounds_checks = self.bounds_checks == Some(1);
        if let Some(list) = &self.enable_builtin_intrinsics {
            opts.intrinsics = Some(parse_intrinsics(list)?);
        }
        opts.validate()?;
        Ok(opts)
    }
}

/// `aotc compile` arguments.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Input .wasm or .wat file.
    pub input: PathBuf,
    /// Output file.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Aot)]
    pub format: OutputFormat,
    /// Alignment of the text in the AOT file (a power of two, at least 16). Default: the
    /// target's largest page size, so the posix loader maps the text alone; smaller packs the
    /// file for flash and ROM (the posix loader then maps the pages around the text).
    #[arg(long, value_name = "N")]
    pub text_align: Option<u32>,
    /// Prelink: relocate the text at compile time for address ADDR (hex with 0x, or decimal;
    /// a multiple of the text alignment), so that it executes in place there with direct calls
    /// and no load-time patching. Needs --runtime-symbols.
    #[arg(long, value_name = "ADDR", requires = "runtime_symbols")]
    pub prelink: Option<String>,
    /// The runtime's builtin addresses for --prelink: an ELF file (its `aotc_builtin_*`
    /// symbols) or a `symbol address` list, as `aotc runtime-symbols` prints.
    #[arg(long, value_name = "FILE", requires = "prelink")]
    pub runtime_symbols: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Reads a runtime symbol file (`--runtime-symbols`).
pub fn read_runtime_symbols(path: &Path) -> Result<RuntimeSymbols> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    RuntimeSymbols::parse(&bytes).with_context(|| format!("{}", path.display()))
}

/// Parses a `--prelink` address: hex with `0x` or decimal.
fn parse_address(text: &str) -> Result<u64> {
    aotc_translate::parse_address(text).with_context(|| {
        format!("--prelink {text:?}: expected an address (hex with 0x, or decimal)")
    })
}

/// `aotc runtime-symbols`: this runtime's builtin addresses in this process, as
/// `--runtime-symbols` reads them. Stable across runs only without address-space randomisation
/// (for example under `setarch -R`) or in a non-PIE build.
pub fn print_runtime_symbols() -> Result<()> {
    print!(
        "{}",
        RuntimeSymbols::from_addresses(aotc_loader::runtime_builtin_addresses()).to_text()
    );
    Ok(())
}

/// Reads a compiler input file (.wasm or .wat).
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: &CompileArgs) -> Result<()> {
    refuse_overwriting_input(&args.input, &args.output)?;
    let mut opts = args.target.options()?;
    opts.text_align = args.text_align;
    if let (Some(address), Some(symbols)) = (&args.prelink, &args.runtime_symbols) {
        opts.prelink = Some(Prelink {
            base: parse_address(address)?,
            symbols: read_runtime_symbols(symbols)?,
        });
    }
    opts.validate()?;
    let input = read_input(&args.input)?;
    let bytes = aotc_pipeline::file_bytes(&opts, &input, args.format)
        .with_context(|| format!("cannot compile {}", args.input.display()))?;
    write_replacing(&args.output, &bytes)
}

/// Refuses an output that is the input file itself (the same path, a symlink to it or a hard
/// link), which would destroy the source.
fn refuse_overwriting_input(input: &Path, output: &Path) -> Result<()> {
    if same_file::is_same_file(input, output).unwrap_or(false) {
        bail!(
            "output {} is the input file {}: refusing to overwrite the source",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to a temporary file in `output`'s directory and renames it over `output` (over
/// the file a symlink `output` points to). A process that has the old file mapped keeps its
/// inode, so it runs on undisturbed instead of dying with SIGBUS or executing the new code.
fn write_replacing(output: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let cannot = || format!("cannot write {}", output.display());
    let target = std::fs::canonicalize(output).unwrap_or_else(|_| output.to_owned());
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).with_context(cannot)?;
    temp.write_all(bytes).with_context(cannot)?;
    give_output_permissions(temp.path(), &target).with_context(cannot)?;
    temp.persist(&target)
        .map_err(|e| e.error)
        .with_context(cannot)?;
    Ok(())
}

/// A fresh temporary file is private (0600): give it the permissions of the file it replaces,
/// or, for a new output, those `std::fs::write` gives under the usual umask (0644).
fn give_output_permissions(temp: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let permissions = std::fs::metadata(target).map_or_else(
            |_| std::fs::Permissions::from_mode(0o644),
            |old| old.permissions(),
        );
        std::fs::set_permissions(temp, permissions)
    }
    #[cfg(not(unix))]
    {
        let _ = (temp, target);
        Ok(())
    }
}
