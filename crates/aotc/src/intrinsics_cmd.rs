//! `aotc intrinsics`: the intrinsic set an XIP compilation for a target uses.

use std::fmt::Write as _;

use anyhow::Result;
use clap::Args;

use aotc_abi::intrinsics::{GROUPS, IntrinsicSet};

use crate::compile_cmd::{MachineArgs, TargetArgs};

/// `aotc intrinsics` arguments.
#[derive(Args, Debug)]
pub struct IntrinsicsArgs {
    #[command(flatten)]
    pub machine: MachineArgs,
    /// The list `--enable-builtin-intrinsics` would be given (default: the target's default).
    #[arg(long, value_name = "LIST")]
    pub enable_builtin_intrinsics: Option<String>,
}

pub fn run(args: &IntrinsicsArgs) -> Result<()> {
    let target = TargetArgs {
        machine: args.machine.clone(),
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
