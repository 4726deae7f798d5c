//! `aotc compile`: wamrc-compatible options, compilation to an AOT file or an ELF object.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use aotc_abi::Arch;
use aotc_abi::intrinsics::IntrinsicSet;
use aotc_translate::CompileOptions;

/// Output formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aotc AOT file (loadable by `aotc run` and the loader library).
    Aot,
    /// An ELF relocatable object, one symbol per wasm function.
    Object,
}

/// The machine code is for: architecture, CPU and CPU features.
#[derive(Args, Debug, Clone, Default)]
pub struct MachineArgs {
    /// Target architecture: x86_64, aarch64, riscv64 or s390x (`help` lists them).
    #[arg(long, value_name = "ARCH")]
    pub target: Option<String>,
    /// Target CPU name (`native` for this machine's CPU); default: the generic baseline.
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
                bail!(
                    "supported targets: {}",
                    Arch::ALL.map(|a| a.name()).join(", ")
                );
            }
            let arch_name = target.split('-').next().unwrap_or(target);
            opts.arch = Arch::from_name(arch_name).with_context(|| {
                format!(
                    "--target {target:?}: unknown architecture; expected one of {}",
                    Arch::ALL.map(|a| a.name()).join(", ")
                )
            })?;
        }
        opts.cpu = self.cpu.clone();
        if let Some(features) = &self.cpu_features {
            opts.cpu_features = features
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }
}

/// Options shared by everything that compiles (`compile`, and `run` on .wasm/.wat input).
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Optimisation level 0-3.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt_level: u8,
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

impl TargetArgs {
    /// The compiler options these arguments select.
    pub fn options(&self) -> Result<CompileOptions> {
        let mut opts = CompileOptions::default();
        self.machine.apply(&mut opts)?;
        opts.opt_level = self.opt_level;
        opts.xip = self.xip;
        opts.indirect = self.xip || self.enable_indirect_mode;
        opts.explicit_bounds_checks = self.bounds_checks == Some(1);
        if let Some(list) = &self.enable_builtin_intrinsics {
            if !opts.indirect_calls() {
                bail!(
                    "--enable-builtin-intrinsics takes effect only with --xip or \
                     --enable-indirect-mode (as in wamrc)"
                );
            }
            opts.intrinsics = Some(parse_intrinsics(list)?);
        }
        Ok(opts)
    }
}

/// Parses an `--enable-builtin-intrinsics` list; an unknown name lists the valid ones.
pub fn parse_intrinsics(list: &str) -> Result<IntrinsicSet> {
    IntrinsicSet::parse(list).map_err(|e| anyhow::anyhow!("--enable-builtin-intrinsics: {e}"))
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
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Reads a .wasm or .wat file as wasm binary.
pub fn read_wasm(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    aotc_translate::wat_to_wasm(&bytes).with_context(|| format!("{}", path.display()))
}

/// Compiles `wasm` to the bytes of an AOT file.
pub fn compile_to_aot(path: &Path, wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>> {
    let module = aotc_translate::compile(wasm, opts)
        .with_context(|| format!("cannot compile {}", path.display()))?;
    module
        .write()
        .with_context(|| format!("cannot write an AOT file for {}", path.display()))
}

pub fn run(args: &CompileArgs) -> Result<()> {
    let opts = args.target.options()?;
    let wasm = read_wasm(&args.input)?;
    let bytes = match args.format {
        OutputFormat::Aot => compile_to_aot(&args.input, &wasm, &opts)?,
        OutputFormat::Object => aotc_translate::compile_object(&wasm, &opts)
            .with_context(|| format!("cannot compile {}", args.input.display()))?,
    };
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(())
}
