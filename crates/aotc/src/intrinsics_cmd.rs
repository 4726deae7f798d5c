//! `aotc intrinsics`: the intrinsic set an XIP compilation for a target uses.

use std::fmt::Write as _;

use anyhow::Result;
use clap::Args;

use aotc_abi::intrinsics::{GROUPS, IntrinsicSet};

use crate::compile_cmd::TargetArgs;

/// `aotc intrinsics` arguments.
#[derive(Args, Debug)]
pub struct IntrinsicsArgs {
    /// Target architecture: x86_64, aarch64, riscv64 or s390x (default: this machine's).
    #[arg(long, value_name = "ARCH")]
    pub target: Option<String>,
    /// Target CPU name (`native` for this machine's CPU); default: the generic baseline.
    #[arg(long, value_name = "CPU")]
    pub cpu: Option<String>,
    /// CPU features to enable or disable, e.g. `+sse4.1,-avx`.
    #[arg(long, value_name = "FEATURES")]
    pub cpu_features: Option<String>,
    /// The list `--enable-builtin-intrinsics` would be given (default: the target's default).
    #[arg(long, value_name = "LIST")]
    pub enable_builtin_intrinsics: Option<String>,
}

pub fn run(args: &IntrinsicsArgs) -> Result<()> {
    let target = TargetArgs {
        target: args.target.clone(),
        cpu: args.cpu.clone(),
        cpu_features: args.cpu_features.clone(),
        xip: true,
        enable_builtin_intrinsics: args.enable_builtin_intrinsics.clone(),
        ..TargetArgs::default()
    };
    let opts = target.options()?;
    let set = aotc_translate::effective_intrinsics(&opts)?;
    print!("{}", describe(set));
    Ok(())
}

/// One intrinsic name per line, then a `#` line naming the groups the set fully includes.
pub fn describe(set: IntrinsicSet) -> String {
    let mut out = String::new();
    for i in set.iter() {
        let _ = writeln!(out, "{}", i.name);
    }
    let mut groups: Vec<&str> = Vec::new();
    if !set.is_empty() && set == IntrinsicSet::all() {
        groups.push("all");
    }
    for (name, _) in GROUPS {
        if IntrinsicSet::parse(name).is_ok_and(|group| set.union(group) == set) {
            groups.push(name);
        }
    }
    if set.is_empty() {
        out.push_str("# no intrinsics: every operation is compiled to native code\n");
    } else {
        let _ = writeln!(
            out,
            "# groups fully included: {}",
            if groups.is_empty() {
                "none".to_string()
            } else {
                groups.join(", ")
            }
        );
    }
    out
}
