//! The README's intrinsics tables are generated from the code: the group table from
//! `aotc_abi::intrinsics::GROUPS`, the `--xip` default table from `effective_intrinsics`. This
//! test fails (printing the expected tables) when either drifts.

use std::path::Path;

use aotc_abi::Arch;
use aotc_abi::intrinsics::{GROUPS, INTRINSICS, IntrinsicSet};
use aotc_translate::{CompileOptions, effective_intrinsics};

fn names(set: IntrinsicSet) -> String {
    if set.is_empty() {
        return "none".to_string();
    }
    set.iter()
        .map(|i| format!("`{}`", i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The group table, as the README shows it.
fn group_table() -> String {
    let mut out = String::from("| Group | Members |\n|---|---|\n");
    out.push_str(&format!(
        "| `all` | every intrinsic ({}) |\n",
        INTRINSICS.len()
    ));
    for (group, lists) in GROUPS {
        let members: Vec<String> = lists
            .iter()
            .flat_map(|l| l.iter())
            .map(|n| format!("`{n}`"))
            .collect();
        out.push_str(&format!("| `{group}` | {} |\n", members.join(", ")));
    }
    out
}

/// The `--xip` default table, as the README shows it.
fn default_table() -> String {
    let rows: [(Arch, &str, Option<&str>, &[&str]); 10] = [
        (Arch::X86_64, "baseline (no SSSE3, no SSE4.1)", None, &[]),
        (Arch::X86_64, "`--cpu-features +sse4.1`", None, &["+sse4.1"]),
        (
            Arch::X86_64,
            "`--cpu-features +ssse3,+sse4.1`",
            None,
            &["+ssse3", "+sse4.1"],
        ),
        (
            Arch::X86_64,
            "`--cpu x86-64-v2` and later",
            Some("x86-64-v2"),
            &[],
        ),
        (Arch::Aarch64, "any", None, &[]),
        (Arch::Riscv64, "RV64GC (baseline)", None, &[]),
        (Arch::Riscv64, "`--cpu-features +v` (SIMD)", None, &["+v"]),
        (
            Arch::Riscv64,
            "`--cpu-features +zba,+zbb`",
            None,
            &["+zba", "+zbb"],
        ),
        (Arch::S390x, "z14 (baseline)", None, &[]),
        (Arch::S390x, "`--cpu z15`", Some("z15"), &[]),
    ];
    let mut out = String::from("| Target | CPU | Default set |\n|---|---|---|\n");
    for (arch, what, cpu, features) in rows {
        let opts = CompileOptions {
            arch,
            cpu: Some(cpu.unwrap_or("generic").to_string()),
            cpu_features: features.iter().map(|f| f.to_string()).collect(),
            ..CompileOptions::xip()
        };
        let set = effective_intrinsics(&opts).expect("valid target");
        out.push_str(&format!("| {} | {what} | {} |\n", arch.name(), names(set)));
    }
    out
}

#[test]
fn readme_intrinsic_tables_match_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    for table in [group_table(), default_table()] {
        assert!(
            readme.contains(&table),
            "README.md's table is out of date; expected:\n{table}"
        );
    }
}
