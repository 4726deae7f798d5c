//! `cargo xtask bench`: runs the criterion benchmarks and prints the ratios they exist for
//! (the C kernels' table: every code model against normal mode at the host CPU, with geometric
//! means, and against a saved baseline with `--baseline NAME`; XIP and all-intrinsics
//! against normal mode, the SIMD build of the C kernel against its
//! scalar build, XIP load against normal load), from the
//! medians criterion recorded in this run, with the machine they were measured on.

use std::path::{Path, PathBuf};

/// Groups and the functions compared against their first (baseline) function.
const COMPARISONS: &[(&str, &[&str])] = &[
    ("int_heavy", CODE_MODELS),
    ("float_heavy", CODE_MODELS),
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

/// The code models every program and kernel runs in, the baseline (normal mode, default CPU =
/// the host's) first: `aotc_bench::CodeModel::ALL`'s names.
const CODE_MODELS: &[&str] = &["normal", "normal_cpu_generic", "xip", "xip_all_intrinsics"];

/// The C kernels (`examples/bench/kernels/*.wasm`, one criterion group each), sorted.
fn kernels() -> Vec<String> {
    let dir = crate::workspace_root().join("examples/bench/kernels");
    let mut names: Vec<String> = crate::wasi::read_dir(&dir)
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            Some(name.strip_suffix(".wasm")?.to_string())
        })
        .collect();
    names.sort();
    names
}

fn criterion_dir() -> PathBuf {
    crate::target_dir().join("criterion")
}

/// The median point estimate (nanoseconds) criterion wrote for `group/function` in `run`
/// (`new`: this run; else a baseline saved with `--save-baseline NAME`).
fn median_ns(dir: &Path, group: &str, function: &str, run: &str) -> Result<f64, String> {
    let path = dir
        .join(group)
        .join(function)
        .join(run)
        .join("estimates.json");
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
    // `--save-baseline NAME` writes NAME instead of `new`; `--baseline NAME` compares with it.
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let this_run = flag("--save-baseline").unwrap_or("new");
    println!("\nmedians measured in this run on {}:", machine());
    for (group, functions) in COMPARISONS {
        let Some((baseline, others)) = functions.split_first() else {
            continue;
        };
        let Ok(base) = median_ns(&dir, group, baseline, this_run) else {
            // Filtered out by the arguments.
            continue;
        };
        let mut line = format!("  {group:<12} {baseline} {}", format_ns(base));
        for f in others {
            let t = median_ns(&dir, group, f, this_run)?;
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
    kernel_table(&dir, this_run, flag("--baseline"))
}

/// The kernels' table: each code model's median and its ratio to normal mode at the default
/// (host) CPU, with the geometric mean of each ratio; with `before` (a saved baseline), each
/// model's time against that baseline's too.
fn kernel_table(dir: &Path, this_run: &str, before: Option<&str>) -> Result<(), String> {
    let kernels: Vec<String> = kernels()
        .into_iter()
        .filter(|k| median_ns(dir, k, CODE_MODELS[0], this_run).is_ok())
        .collect();
    if kernels.is_empty() {
        return Ok(());
    }
    println!(
        "\nC kernels (ratios to `normal`: normal mode, default CPU = the host's; \
         normal_cpu_generic: --cpu generic):"
    );
    let mut header = format!("  {:<8}", "kernel");
    for model in CODE_MODELS {
        header.push_str(&format!(" {model:>20}"));
    }
    println!("{header}");
    let mut log_ratios = vec![0.0f64; CODE_MODELS.len()];
    let mut log_changes = vec![0.0f64; CODE_MODELS.len()];
    for kernel in &kernels {
        let times = CODE_MODELS
            .iter()
            .map(|m| median_ns(dir, kernel, m, this_run))
            .collect::<Result<Vec<_>, _>>()?;
        let mut line = format!("  {kernel:<8} {:>20}", format_ns(times[0]));
        for (i, t) in times.iter().enumerate().skip(1) {
            log_ratios[i] += (t / times[0]).ln();
            line.push_str(&format!(
                " {:>20}",
                format!("{} {:.3}x", format_ns(*t), t / times[0])
            ));
        }
        println!("{line}");
        if let Some(before) = before {
            let mut line = format!("  {:<8}", "  /before");
            for (i, m) in CODE_MODELS.iter().enumerate() {
                let b = median_ns(dir, kernel, m, before)?;
                log_changes[i] += (times[i] / b).ln();
                line.push_str(&format!(" {:>20}", format!("{:.3}x", times[i] / b)));
            }
            println!("{line}");
        }
    }
    let n = kernels.len() as f64;
    let mut line = format!("  {:<8} {:>20}", "geomean", "1");
    for r in &log_ratios[1..] {
        line.push_str(&format!(" {:>20}", format!("{:.3}x", (r / n).exp())));
    }
    println!("{line}");
    if let Some(before) = before {
        let mut line = format!("  {:<8}", "/before");
        for c in &log_changes {
            line.push_str(&format!(" {:>20}", format!("{:.3}x", (c / n).exp())));
        }
        println!("{line}  (this run against baseline {before:?})");
    }
    Ok(())
}
