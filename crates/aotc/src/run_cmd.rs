//! `aotc run`: load an AOT file (or compile a .wasm/.wat in memory), instantiate it and call an
//! export, printing its results.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use aotc_abi::ValType;
use aotc_loader::{Instance, Module, Val};

use crate::compile_cmd::{TargetArgs, read_input};

/// `aotc run` arguments.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// An .aot file, or a .wasm/.wat file to compile in memory first.
    pub file: PathBuf,
    /// Exported function to call (default: `_start`).
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    /// Check the text checksum before running (loading normally skips it).
    #[arg(long)]
    pub verify: bool,
    /// Arguments of the invoked function (integers, or floats such as 1.5, inf, nan).
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
    /// Compiler options, for .wasm/.wat input.
    #[command(flatten)]
    pub target: TargetArgs,
}

fn is_aot(bytes: &[u8]) -> bool {
    bytes.starts_with(&aotc_format::layout::MAGIC)
}

pub fn run(args: &RunArgs) -> Result<()> {
    let path = &args.file;
    let head = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let load_opts = aotc_loader::LoadOptions {
        verify_text_checksum: args.verify,
        name: Some(path.display().to_string()),
    };
    let module = if is_aot(&head) {
        drop(head);
        // SAFETY: loading an AOT file runs its native code; the user asked to run this file,
        // which is the trust `aotc run` documents.
        unsafe { Module::from_file_with(path, &load_opts) }
            .with_context(|| format!("cannot load {}", path.display()))?
    } else {
        let opts = args.target.options()?;
        aotc_pipeline::load(
            &opts,
            &read_input(path)?,
            &aotc_loader::LoadOptions::default(),
        )
        .with_context(|| format!("cannot run {}", path.display()))?
    };
    let instance = Instance::new(&module, &[])
        .with_context(|| format!("cannot instantiate {}", path.display()))?;
    let name = args.invoke.as_deref().unwrap_or("_start");
    let func = instance.get_func(name).with_context(|| {
        let exports: Vec<String> = module.exports().map(|(n, _)| n.to_string()).collect();
        format!(
            "{} exports no function `{name}` (exports: {})",
            path.display(),
            if exports.is_empty() {
                "none".to_string()
            } else {
                exports.join(", ")
            }
        )
    })?;
    let ty = func.ty();
    if ty.params.len() != args.args.len() {
        bail!(
            "`{name}` takes {} argument(s) ({}), {} given",
            ty.params.len(),
            ty.params
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", "),
            args.args.len()
        );
    }
    let values = ty
        .params
        .iter()
        .zip(&args.args)
        .enumerate()
        .map(|(i, (t, s))| {
            parse_val(*t, s).with_context(|| format!("argument {} of `{name}`", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let results = func
        .call(&values)
        .with_context(|| format!("`{name}` in {}", path.display()))?;
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(())
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
        assert!(parse_val(ValType::I32, "x").is_err());
        assert!(
            matches!(parse_val(ValType::F64, "1.5").unwrap(), Val::F64(b) if b == 1.5f64.to_bits())
        );
    }
}
