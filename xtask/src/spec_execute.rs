//! `cargo xtask spec --execute [--target ARCH] [SPEC-ARGS]`: the spec suite compiled on this
//! machine and executed by the loader-only runner `aotc-spec-exec` built for the target: natively
//! for this machine's architecture, under user-mode emulation (`qemu-ARCH`) for aarch64 and
//! s390x (big-endian).
//!
//! Steps: `spec-tests SPEC-ARGS --write-plan target/spec-plan/ARCH` writes one plan a file and
//! mode (with the AOT files); for another architecture, `.ci/install-cross.sh` installs what is
//! missing and `aotc-spec-exec` is built with the distribution's Rust compiler and that
//! architecture's standard library (packaged for aarch64, built from the packaged source for
//! s390x), in `target/ARCH-cross` so the host build is untouched;
//! then every plan runs in its own runner process (the emulator never returns the page tables of
//! the linear memories' reservations, so one process for the whole suite runs out of memory),
//! and the totals are printed as `N passed, M failed` and the assertions checked per mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, cargo_program, workspace_root};

/// How the runner is built and run for a target architecture.
struct Target {
    /// aotc's name of the architecture (`--target`).
    arch: &'static str,
    /// The Rust target triple.
    triple: &'static str,
    /// The emulator and its `-L` sysroot, unless this machine runs the code.
    emulator: Option<(&'static str, &'static str)>,
    /// Whether the standard library is built from its source with the runner (`-Zbuild-std`):
    /// the distribution packages it prebuilt for aarch64, but for s390x only for an older Rust.
    build_std: bool,
}

const TARGETS: [Target; 3] = [
    Target {
        arch: "x86_64",
        triple: "x86_64-unknown-linux-gnu",
        emulator: None,
        build_std: false,
    },
    Target {
        arch: "aarch64",
        triple: "aarch64-unknown-linux-gnu",
        emulator: Some(("qemu-aarch64", "/usr/aarch64-linux-gnu")),
        build_std: false,
    },
    Target {
        arch: "s390x",
        triple: "s390x-unknown-linux-gnu",
        emulator: Some(("qemu-s390x", "/usr/s390x-linux-gnu")),
        build_std: true,
    },
];

/// The Rust compiler that has the cross targets' standard libraries (the distribution's).
const CROSS_RUSTC: &str = "/usr/bin/rustc";

/// The target named by `--target` (an aotc name or a triple; default: this machine).
fn target(args: &[String]) -> Result<&'static Target, String> {
    let named = args
        .iter()
        .position(|a| a == "--target")
        .map(|i| {
            args.get(i + 1)
                .ok_or_else(|| "--target needs a value".to_string())
        })
        .transpose()?;
    let name = named.map_or(std::env::consts::ARCH, String::as_str);
    let arch = name.split('-').next().unwrap_or(name);
    let target = TARGETS.iter().find(|t| t.arch == arch).ok_or_else(|| {
        let known: Vec<&str> = TARGETS.iter().map(|t| t.arch).collect();
        format!(
            "--execute runs on {} only, not `{name}`",
            known.join(" and ")
        )
    })?;
    if target.emulator.is_none() && target.arch != std::env::consts::ARCH {
        return Err(format!(
            "--execute --target {}: this machine is {} and has no emulator set up for it",
            target.arch,
            std::env::consts::ARCH
        ));
    }
    Ok(target)
}

/// Runs `cargo xtask spec --execute` with the other arguments `args`.
pub fn run(args: &[String]) -> Result<(), String> {
    let target = target(args)?;
    let root = workspace_root();
    let plan_dir = crate::target_dir().join("spec-plan").join(target.arch);
    let plan_dir_arg = plan_dir.to_string_lossy().into_owned();
    // `--write-plan` first: `args` may end with `-- LIBTEST-ARGS` (a filter).
    let mut spec_args = vec![
        "run",
        "--quiet",
        "--package",
        "spec-tests",
        "--",
        "--write-plan",
        &plan_dir_arg,
    ];
    spec_args.extend(args.iter().map(String::as_str));
    cargo(&spec_args)?;

    let runner = build_runner(target, &root)?;
    let plans = list_plans(&runner, &plan_dir)?;
    let started = std::time::Instant::now();
    let (mut passed, mut failed) = (0u64, 0u64);
    let mut assertions: BTreeMap<String, u64> = BTreeMap::new();
    for plan in &plans {
        let summary = run_plan(&runner, plan)?;
        passed += summary.passed;
        failed += summary.failed;
        for (mode, count) in summary.assertions {
            *assertions.entry(mode).or_default() += count;
        }
    }
    println!(
        "{passed} passed, {failed} failed (on {}{}, {:.0} s)",
        target.arch,
        target
            .emulator
            .map_or(String::new(), |(e, _)| format!(" under {e}")),
        started.elapsed().as_secs_f64()
    );
    for (mode, count) in &assertions {
        println!("{mode}: {count} assertions checked");
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} spec file(s) failed on {}", target.arch))
    }
}

/// The command that runs the runner binary (the emulator first, for another architecture).
fn build_runner(target: &Target, root: &Path) -> Result<Vec<String>, String> {
    let Some((emulator, sysroot)) = target.emulator else {
        cargo(&["build", "--quiet", "--package", "aotc-spec-exec"])?;
        let exe = crate::target_dir().join("debug/aotc-spec-exec");
        return Ok(vec![exe.to_string_lossy().into_owned()]);
    };
    let script = root.join(".ci/install-cross.sh");
    run_checked(Command::new("bash").arg(&script).arg(target.arch))?;
    let target_dir = crate::target_dir().join(format!("{}-cross", target.arch));
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.triple.to_uppercase().replace('-', "_")
    );
    let mut build = Command::new(cargo_program());
    build
        .args([
            "build",
            "--quiet",
            "--package",
            "aotc-spec-exec",
            "--target",
        ])
        .arg(target.triple)
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTC", CROSS_RUSTC)
        .env(linker_var, format!("{}-linux-gnu-gcc", target.arch))
        .current_dir(root);
    if target.build_std {
        // `-Zbuild-std` on the distribution's stable compiler: the one way it offers to get a
        // standard library for this target at the workspace's Rust version.
        build.arg("-Zbuild-std").env("RUSTC_BOOTSTRAP", "1");
    }
    eprintln!(
        "xtask: building aotc-spec-exec for {} with {CROSS_RUSTC}",
        target.triple
    );
    run_checked(&mut build)?;
    let exe = target_dir.join(target.triple).join("debug/aotc-spec-exec");
    Ok(vec![
        emulator.to_string(),
        "-L".to_string(),
        sysroot.to_string(),
        exe.to_string_lossy().into_owned(),
    ])
}

fn run_checked(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// The plans under `dir`, sorted, as the runner lists them (`--list`).
fn list_plans(runner: &[String], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let output = Command::new(&runner[0])
        .args(&runner[1..])
        .arg("--list")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", runner[0]))?;
    if !output.status.success() {
        return Err(format!(
            "{} --list {} failed ({}): {}",
            runner.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect())
}

/// What one runner process reported.
#[derive(Default)]
struct Summary {
    passed: u64,
    failed: u64,
    assertions: Vec<(String, u64)>,
}

/// Runs one plan in its own runner process, echoing its report: its totals (a process that
/// ends without them counts as one failed file).
fn run_plan(runner: &[String], plan: &Path) -> Result<Summary, String> {
    let output = Command::new(&runner[0])
        .args(&runner[1..])
        .arg(plan)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", runner[0]))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut summary = Summary::default();
    let mut totals_seen = false;
    for line in stdout.lines() {
        if let Some((passed, failed)) = line
            .split_once(" passed, ")
            .and_then(|(p, f)| Some((p.parse().ok()?, f.strip_suffix(" failed")?.parse().ok()?)))
        {
            (summary.passed, summary.failed) = (passed, failed);
            totals_seen = true;
        } else if let Some((mode, count)) = line
            .strip_suffix(" assertions checked")
            .and_then(|l| l.split_once(": "))
            .and_then(|(m, c)| Some((m.to_string(), c.parse().ok()?)))
        {
            summary.assertions.push((mode, count));
        } else {
            println!("{line}");
        }
    }
    if !totals_seen {
        println!(
            "test {} ... FAILED\n  the runner ended without totals ({}): {}",
            plan.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        summary.failed += 1;
    }
    Ok(summary)
}
