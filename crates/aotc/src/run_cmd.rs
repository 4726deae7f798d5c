//! `aotc run`: load an AOT file (mapped, never read whole) or compile a .wasm/.wat in memory,
//! instantiate it with WASI preview 1 (`aotc-wasi`), and run it: a command's `_start` (the exit
//! status is its `proc_exit` code), or `--invoke NAME ARGS` (after a reactor's `_initialize`),
//! printing the results.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use aotc_abi::ValType;
use aotc_loader::{Instance, InstanceConfig, MemoryConfig, Module, Val};
use aotc_wasi::{WasiCtx, WasiError};

use crate::compile_cmd::{TargetArgs, read_input};

/// Exit status of a run that trapped (wasmtime's: 128 + SIGABRT).
const TRAP_EXIT_STATUS: u8 = 134;

/// `aotc run` arguments. aotc's own options come before FILE; everything after FILE goes to
/// the program (or, after `--invoke NAME` there, to the invoked function).
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Exported function to call (default: `_start`), with ARGS as its arguments.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    /// Pre-open the host directory HOST as GUEST (default: HOST) for WASI.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,
    /// Pre-open HOST as GUEST (iwasm's spelling of `--dir HOST::GUEST`).
    #[arg(long = "map-dir", value_name = "GUEST::HOST")]
    pub map_dirs: Vec<String>,
    /// Set an environment variable of the program (`NAME` alone: inherit it from aotc's).
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub envs: Vec<String>,
    /// Check the text checksum before running (loading normally skips it).
    #[arg(long)]
    pub verify: bool,
    /// Most native stack wasm may use (bytes, or with K, M, G: KiB, MiB, GiB); deeper
    /// recursion traps `call stack exhausted`.
    #[arg(long, value_name = "SIZE", default_value_t = Size(InstanceConfig::default().max_wasm_stack as u64))]
    pub stack_size: Size,
    /// Cap each linear memory at N pages of 64 KiB, below its declared maximum (`memory.grow`
    /// beyond returns -1).
    #[arg(long, value_name = "N")]
    pub max_memory_pages: Option<u64>,
    /// Address space reserved per linear memory, guard included (SIZE as for --stack-size).
    /// Code compiled for guard-page bounds checks needs at least the default.
    #[arg(long, value_name = "SIZE", default_value_t = Size(InstanceConfig::default().memory.reservation))]
    pub memory_reservation: Size,
    /// Inaccessible guard after each linear memory's largest size (code with explicit bounds
    /// checks needs none).
    #[arg(long, value_name = "SIZE", default_value_t = Size(InstanceConfig::default().memory.guard))]
    pub memory_guard: Size,
    /// Bytes of app heap the runtime places at `__heap_base` when the module exports no
    /// `malloc`/`free` (SIZE as for --stack-size).
    #[arg(long, value_name = "SIZE", default_value_t = Size(InstanceConfig::default().app_heap_size))]
    pub heap_size: Size,
    /// Keep linear memory 0 at its declared size even where truncating it at `__heap_base`
    /// cannot change what the program observes.
    #[arg(long)]
    pub no_truncate: bool,
    /// After the run, print the memory-use report (one line per category, in bytes) to stderr.
    #[arg(long)]
    pub mem_report: bool,
    /// The .aot, .wasm or .wat file, then the program's arguments.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    pub file_and_args: Vec<String>,
    /// Compiler options, for .wasm/.wat input.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What the first bytes of a file say it is.
enum InputKind {
    Aot,
    WasmBinary,
    WasmText,
}

/// Reads at most the first 8 bytes of `path` to tell its kind.
fn input_kind(path: &Path) -> Result<InputKind> {
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let magic = aotc_format::layout::MAGIC;
    if head.len() >= 2 && magic.starts_with(&head) {
        return Ok(InputKind::Aot);
    }
    if head.starts_with(b"\0asm") {
        return Ok(InputKind::WasmBinary);
    }
    let textual = std::str::from_utf8(&head)
        .is_ok_and(|s| s.trim_start().is_empty() || s.trim_start().starts_with(['(', ';']));
    if textual {
        return Ok(InputKind::WasmText);
    }
    bail!(
        "{}: not an AOT file, a wasm binary or wasm text (bad magic: expected `\\0aotc` or `\\0asm`, found {})",
        path.display(),
        head.escape_ascii()
    )
}

/// Splits `HOST[::GUEST]`.
fn host_guest(spec: &str) -> (&str, &str) {
    spec.split_once("::").unwrap_or((spec, spec))
}

fn wasi_context(args: &RunArgs, file: &str, program_args: &[String]) -> Result<WasiCtx> {
    let mut builder = WasiCtx::builder()
        .args(std::iter::once(file.to_owned()).chain(program_args.iter().cloned()))
        .inherit_stdio();
    for spec in &args.envs {
        builder = match spec.split_once('=') {
            Some((name, value)) => builder.env(name, value),
            None => match std::env::var(spec) {
                Ok(value) => builder.env(spec, value),
                Err(_) => builder,
            },
        };
    }
    let dirs = args.dirs.iter().map(|d| host_guest(d));
    let mapped = args
        .map_dirs
        .iter()
        .map(|d| host_guest(d))
        .map(|(guest, host)| (host, guest));
    for (host, guest) in dirs.chain(mapped) {
        builder = builder.preopen_dir(host, guest)?;
    }
    Ok(builder.build())
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (file, rest) = args.file_and_args.split_first().context("no FILE given")?;
    let path = Path::new(file);
    // `FILE --invoke NAME ARGS`, as before: the call's arguments follow.
    let (invoke, program_args) = match (rest.first().map(String::as_str), &args.invoke) {
        (Some("--invoke"), None) => match rest.get(1) {
            Some(name) => (Some(name.as_str()), &rest[2..]),
            None => bail!("--invoke needs a function name"),
        },
        (_, invoke) => (invoke.as_deref(), rest),
    };
    // A call's arguments may follow `--` (so that they can begin with `-`); a command's
    // arguments go to the program unchanged.
    let program_args = match (invoke, program_args.split_first()) {
        (Some(_), Some((first, call_args))) if first == "--" => call_args,
        _ => program_args,
    };
    let module = load(args, path)?;
    let wasi = wasi_context(args, file, program_args)?;
    let imports = wasi
        .imports(&module)
        .with_context(|| format!("cannot instantiate {}", path.display()))?;
    let instance = Instance::new_with(&module, &imports, &instance_config(args)?)
        .with_context(|| format!("cannot instantiate {}", path.display()))?;
    let outcome = match invoke {
        None => wasi
            .run_command(&instance)
            .map(|code| Some((code, Vec::new()))),
        Some(name) => {
            wasi.initialize_reactor(&instance)?;
            let func = find_func(&instance, &module, path, name)?;
            let values = parse_args(&func.ty(), name, program_args)?;
            wasi.outcome(func.call(&values))
                .map(|values| values.map(|values| (0, values)))
        }
    };
    if args.mem_report {
        eprint!("{}", instance.memory_report());
    }
    match outcome {
        Ok(Some((code, values))) => {
            for r in values {
                println!("{}", format_val(&r));
            }
            Ok(exit_status(code))
        }
        Ok(None) => Ok(exit_status(wasi.exit_code().unwrap_or(0))),
        Err(WasiError::Trap(trap)) => {
            eprintln!("error: {}: {trap}", path.display());
            eprint!("{}", backtrace_lines(&trap));
            Ok(ExitCode::from(TRAP_EXIT_STATUS))
        }
        Err(WasiError::NoEntryPoint(name)) => Err(no_export(&module, path, name)),
        Err(other) => {
            Err(anyhow::Error::new(other).context(format!("cannot run {}", path.display())))
        }
    }
}

/// The instance settings the flags give.
fn instance_config(args: &RunArgs) -> Result<InstanceConfig> {
    let max_bytes = args
        .max_memory_pages
        .map(|pages| {
            pages
                .checked_mul(aotc_loader::WASM_PAGE_SIZE)
                .filter(|_| pages <= aotc_loader::MAX_PAGES)
                .with_context(|| {
                    format!(
                        "--max-memory-pages {pages}: expected at most {} pages",
                        aotc_loader::MAX_PAGES
                    )
                })
        })
        .transpose()?;
    Ok(InstanceConfig {
        max_wasm_stack: usize::try_from(args.stack_size.0)
            .context("--stack-size: larger than the address space")?,
        measure_stack: args.mem_report,
        memory: MemoryConfig {
            max_bytes,
            reservation: args.memory_reservation.0,
            guard: args.memory_guard.0,
        },
        app_heap_size: args.heap_size.0,
        truncate_at_heap_base: !args.no_truncate,
    })
}

/// A size option's value in bytes: parsed by [`parse_size`], shown in the largest binary unit
/// that divides it (`8G`, `1M`, `0`), as the options accept it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        parse_size(s).map(Size)
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
            if self.0 != 0 && self.0.is_multiple_of(1 << shift) {
                return write!(f, "{}{unit}", self.0 >> shift);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// A byte count: digits, optionally followed by `K`, `M` or `G` (binary units; `KiB`, `k`...
/// accepted).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(digits_end);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "expected a size such as 65536, 64K, 1M or 8G, found {s:?}"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("expected a size such as 65536, 64K, 1M or 8G, found {s:?}"))
}

/// A trap's backtrace as wasmtime prints it: `wasm backtrace:`, then one line per frame,
/// innermost first, `  N: 0x<text offset> - <name or wasm-function[N]>` (names escaped).
fn backtrace_lines(trap: &aotc_loader::Trap) -> String {
    if trap.backtrace.is_empty() {
        return String::new();
    }
    let mut out = String::from("wasm backtrace:\n");
    for (i, frame) in trap.backtrace.iter().enumerate() {
        out.push_str(&format!(
            "  {i}: {:#x} - {}\n",
            frame.text_offset,
            frame.display_name().escape_debug()
        ));
    }
    out
}

fn exit_status(code: i32) -> ExitCode {
    ExitCode::from(code as u8)
}

fn load(args: &RunArgs, path: &Path) -> Result<Module> {
    let load_opts = aotc_loader::LoadOptions {
        verify_text_checksum: args.verify,
        name: Some(path.display().to_string()),
    };
    match input_kind(path)? {
        // SAFETY: loading an AOT file runs its native code; the user asked to run this file,
        // which is the trust `aotc run` documents.
        // The load error names the file itself (`load_opts.name`).
        InputKind::Aot => Ok(unsafe { Module::from_file_with(path, &load_opts) }?),
        kind @ (InputKind::WasmBinary | InputKind::WasmText) => {
            let opts = args.target.options()?;
            let mut wasm = read_input(path)?;
            if let InputKind::WasmText = kind {
                wasm = parse_text(path, &wasm)?;
            }
            aotc_pipeline::load(&opts, &wasm, &load_opts)
                .with_context(|| format!("cannot compile {}", path.display()))
        }
    }
}

/// Wasm text to binary; an error is one line, `FILE:LINE:COL: message`.
fn parse_text(path: &Path, text: &[u8]) -> Result<Vec<u8>> {
    wat::Parser::new()
        .parse_bytes(Some(path), text)
        .map(|wasm| wasm.into_owned())
        .map_err(|err| {
            let full = err.to_string();
            let message = full.lines().next().unwrap_or_default();
            let location = full
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("--> "))
                .map(str::to_owned)
                .unwrap_or_else(|| path.display().to_string());
            anyhow::anyhow!("{location}: {message}")
        })
}

fn no_export(module: &Module, path: &Path, name: &str) -> anyhow::Error {
    let exports: Vec<String> = module
        .exports()
        .map(|(n, _)| format!("{}", n.escape_debug()))
        .collect();
    anyhow::anyhow!(
        "{} exports no function `{}` (exports: {})",
        path.display(),
        name.escape_debug(),
        if exports.is_empty() {
            "none".to_string()
        } else {
            exports.join(", ")
        }
    )
}

fn find_func(
    instance: &Instance,
    module: &Module,
    path: &Path,
    name: &str,
) -> Result<aotc_loader::Func> {
    instance
        .get_func(name)
        .ok_or_else(|| no_export(module, path, name))
}

fn parse_args(ty: &aotc_loader::FuncType, name: &str, args: &[String]) -> Result<Vec<Val>> {
    if ty.params.len() != args.len() {
        bail!(
            "`{}` takes {} argument(s) ({}), {} given (every word after `--invoke NAME` is an argument of the call; aotc's options go before FILE)",
            name.escape_debug(),
            ty.params.len(),
            ty.params
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", "),
            args.len()
        );
    }
    ty.params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, s))| {
            parse_val(*t, s)
                .with_context(|| format!("argument {} of `{}`", i + 1, name.escape_debug()))
        })
        .collect()
}

fn parse_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let digits = digits.replace('_', "");
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// Parses a command-line value of type `ty`.
pub fn parse_val(ty: ValType, s: &str) -> Result<Val> {
    let int = |min: i128, max: i128| -> Result<i128> {
        parse_int(s)
            .filter(|v| (min..=max).contains(v))
            .with_context(|| format!("expected a {} integer, found {s:?}", ty.name()))
    };
    Ok(match ty {
        // Accept both the signed and the unsigned range, as wasm integers have no sign.
        ValType::I32 => Val::I32(int(i32::MIN.into(), u32::MAX.into())? as u32 as i32),
        ValType::I64 => Val::I64(int(i64::MIN.into(), u64::MAX.into())? as u64 as i64),
        ValType::F32 => Val::F32(
            s.parse::<f32>()
                .with_context(|| format!("expected an f32, found {s:?}"))?
                .to_bits(),
        ),
        ValType::F64 => Val::F64(
            s.parse::<f64>()
                .with_context(|| format!("expected an f64, found {s:?}"))?
                .to_bits(),
        ),
        ValType::V128 => Val::v128_from_hex(s).with_context(|| {
            format!("expected a v128 as 0x and up to 32 hex digits (lane 0 lowest), found {s:?}")
        })?,
        other => bail!("cannot pass a {other} from the command line"),
    })
}

/// Formats a result for printing.
pub fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => format!("{}", f32::from_bits(*bits)),
        Val::F64(bits) => format!("{}", f64::from_bits(*bits)),
        Val::V128(_) => v.v128_hex().unwrap_or_default(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "funcref".to_string(),
        Val::ExternRef(Some(x)) => format!("externref({x})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments() {
        assert!(matches!(
            parse_val(ValType::I32, "30").unwrap(),
            Val::I32(30)
        ));
        assert!(matches!(
            parse_val(ValType::I32, "-1").unwrap(),
            Val::I32(-1)
        ));
        assert!(matches!(
            parse_val(ValType::I32, "4294967295").unwrap(),
            Val::I32(-1)
        ));
        assert!(matches!(
            parse_val(ValType::I64, "0x10").unwrap(),
            Val::I64(16)
        ));
        assert!(parse_val(ValType::I32, "4294967296").is_err());
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("64X").is_err());
        assert!(parse_size("K").is_err());
        for (size, shown) in [(8 << 30, "8G"), (1 << 20, "1M"), (3 << 10, "3K"), (0, "0")] {
            assert_eq!(Size(size).to_string(), shown);
            assert_eq!(shown.parse(), Ok(Size(size)));
        }
        assert_eq!(Size(1025).to_string(), "1025");
        assert!(parse_val(ValType::I32, "x").is_err());
        assert!(
            matches!(parse_val(ValType::F64, "1.5").unwrap(), Val::F64(b) if b == 1.5f64.to_bits())
        );
    }
}
