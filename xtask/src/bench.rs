//! `cargo xtask bench`: runs the criterion benchmarks and prints the ratios they exist for
//! (XIP and all-intrinsics against normal mode, the SIMD build of the C kernel against its
//! scalar build, XIP load against normal load), from the
//! medians criterion recorded in this run, with the machine they were measured on.

use std::path::{Path, PathBuf};

/// Groups and the functions compared against their first (baseline) function.
const COMPARISONS: &[(&str, &[&str])] = &[
    ("int_heavy", &["normal", "xip", "xip_all_intrinsics"]),
    ("float_heavy", &["normal", "xip", "xip_all_intrinsics"]),
    (
        "vec_kernel",
        &["scalar_normal", "simd_normal", "scalar_xip", "simd_xip"],
    ),
    ("load", &["normal", "xip"]),
    ("xip_load", &["fib", "large"]),
    ("xip_instantiate", &["fib", "large"]),
    ("int_heavy_prelinked", &["normal", "prelinked", "xip"]),
    ("float_heavy_prelinked", &["normal", "prelinked", "xip"]),
];

fn criterion_dir() -> PathBuf {
    crate::target_dir().join("criterion")
}

/// The median point estimate (nanoseconds) criterion wrote for `group/function`.
fn median_ns(dir: &Path, group: &str, function: &str) -> Result<f64, String> {
    let path = dir.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let median = text
        .find("\"median\"")
        .map(|i| &text[i..])
        .ok_or_else(|| format!("{}: no median", path.display()))?;
    let estimate = median
        .find("\"point_estimate\":")
        .map(|i| &median[i + "\"point_estimate\":".len()..])
        .ok_or_else(|| format!("{}: no point estimate", path.display()))?;
    let end = estimate.find([',', '}']).unwrap_or(estimate.len());
    estimate[..end]
        .trim()
        .parse()
        .map_err(|e| format!("{}: bad point estimate: {e}", path.display()))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut cmd = vec![
        "bench",
        "--package",
        "aotc-bench",
        "--bench",
        "xip_cost",
        "--",
    ];
    cmd.extend(args.iter().map(String::as_str));
    crate::cargo(&cmd)?;
    let dir = criterion_dir();
    println!("\nmedians measured in this run on {}:", machine());
    for (group, functions) in COMPARISONS {
        let Some((baseline, others)) = functions.split_first() else {
            continue;
        };
        let Ok(base) = median_ns(&dir, group, baseline) else {
            // Filtered out by the arguments.
            continue;
        };
        let mut line = format!("  {group:<12} {baseline} {}", format_ns(base));
        for f in others {
            let t = median_ns(&dir, group, f)?;
            line.push_str(&format!(
                ", {f} {} ({:.3}x {baseline})",
                format_ns(t),
                t / base
            ));
        }
        println!("{line}");
    }
    // Prelinked against normal and XIP, interleaved round by round (prints its own ratios).
    if args.is_empty() || args.iter().any(|a| a.contains("prelink")) {
        crate::cargo(&[
            "bench",
            "--package",
            "aotc-bench",
            "--bench",
            "prelink_interleaved",
        ])?;
    }
    Ok(())
}
