//! The spec-suite runner: finds the suite, makes one libtest-mimic trial per `.wast` file and
//! mode (`normal/<file>`, `xip/<file>`), applies the should-fail list and prints the totals.
//!
//! Run it through `cargo xtask spec [--xip | --mode normal|xip|both] [--suite DIR]
//! [--compile-only | --write-plan DIR] [--target ARCH] [--cpu CPU] [--cpu-features LIST]
//! [--enable-builtin-intrinsics LIST] [-- LIBTEST-ARGS]`. `--cpu` and `--cpu-features` are
//! `aotc compile`'s. `--write-plan DIR` compiles every file into a plan under `DIR/<mode>/`
//! (`docs/spec-plan.md`) instead of executing it, for `aotc-spec-exec` to execute on the target
//! (`cargo xtask spec --target aarch64 --execute` does both).
//! `--enable-builtin-intrinsics` (or `--enable-builtin-intrinsics=LIST`) compiles every module
//! with that intrinsic set (plus what the target forces); like `aotc compile`, only in XIP mode.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use spec_tests::suite::{Mode, Settings, ShouldFail, SuiteSource, Totals};
use spec_tests::wast_runner::{self, Run};

const USAGE: &str = "usage: spec-tests [--xip | --mode normal|xip|both|prelinked] [--suite DIR] \
[--compile-only | --write-plan DIR] [--target ARCH] [--cpu CPU] [--cpu-features LIST] \
[--enable-builtin-intrinsics LIST] [--bounds-checks] [-- LIBTEST-ARGS]";

fn main() -> ExitCode {
    let mut settings = Settings::default();
    let mut libtest_args = vec!["spec-tests".to_string()];
    let mut plan_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--write-plan" {
            match args.next() {
                Some(dir) => plan_dir = Some(PathBuf::from(dir)),
                None => {
                    eprintln!("spec-tests: --write-plan needs a value\n{USAGE}");
                    return ExitCode::FAILURE;
                }
            }
            continue;
        }
        if let Err(msg) = parse_arg(&arg, &mut args, &mut settings, &mut libtest_args) {
            eprintln!("spec-tests: {msg}");
            return ExitCode::FAILURE;
        }
    }
    match run(settings, plan_dir, libtest_args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("spec-tests: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_arg(
    arg: &str,
    rest: &mut impl Iterator<Item = String>,
    settings: &mut Settings,
    libtest_args: &mut Vec<String>,
) -> Result<(), String> {
    let mut value = |name: &str| {
        rest.next()
            .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
    };
    if let Some(list) = arg.strip_prefix("--enable-builtin-intrinsics=") {
        return set_intrinsics(settings, list);
    }
    match arg {
        "--xip" => settings.modes = vec![Mode::Xip],
        "--mode" => {
            settings.modes = match value("--mode")?.as_str() {
                "normal" => vec![Mode::Normal],
                "xip" => vec![Mode::Xip],
                "both" => vec![Mode::Normal, Mode::Xip],
                "prelinked" => vec![Mode::Prelinked],
                other => {
                    return Err(format!(
                        "--mode {other}: expected normal, xip, both or prelinked"
                    ));
                }
            }
        }
        "--suite" => settings.suite = Some(value("--suite")?.into()),
        "--compile-only" => settings.compile_only = true,
        "--bounds-checks" => settings.explicit_bounds_checks = true,
        "--target" => {
            let target = value("--target")?;
            settings.target =
                Some(aotc_translate::parse_target(&target).map_err(|e| e.to_string())?);
        }
        "--cpu" => settings.cpu = Some(value("--cpu")?),
        "--cpu-features" => {
            settings.cpu_features = aotc_translate::parse_cpu_features(&value("--cpu-features")?);
        }
        "--enable-builtin-intrinsics" => {
            let list = value("--enable-builtin-intrinsics")?;
            set_intrinsics(settings, &list)?;
        }
        "--" => libtest_args.extend(rest),
        "-h" | "--help" => return Err(USAGE.to_string()),
        other => libtest_args.push(other.to_string()),
    }
    Ok(())
}

fn set_intrinsics(settings: &mut Settings, list: &str) -> Result<(), String> {
    let set = aotc_translate::parse_intrinsics(list).map_err(|e| e.to_string())?;
    settings.intrinsics = Some(set);
    Ok(())
}

fn run(
    settings: Settings,
    plan_dir: Option<PathBuf>,
    libtest_args: Vec<String>,
) -> Result<ExitCode, String> {
    if settings.compile_only && plan_dir.is_some() {
        return Err(format!(
            "--compile-only and --write-plan exclude each other\n{USAGE}"
        ));
    }
    for &mode in &settings.modes {
        mode.options(&settings)
            .map_err(|e| format!("{} mode: {e}", mode.name()))?;
    }
    // A plan folder holds this run's plans only: those of every mode of an earlier run go.
    if let Some(dir) = &plan_dir {
        for mode in [Mode::Normal, Mode::Xip] {
            let mode_dir = dir.join(mode.name());
            if mode_dir.exists() {
                std::fs::remove_dir_all(&mode_dir)
                    .map_err(|e| format!("cannot empty {}: {e}", mode_dir.display()))?;
            }
        }
    }
    let compiled_only = settings.compile_only || plan_dir.is_some();
    let plan_dir = plan_dir.map(Arc::new);
    let source = SuiteSource::find(settings.suite.as_deref())?;
    let mut files = source.core_files()?;
    files.extend(spec_tests::suite::extra_files()?);
    let should_fail = Arc::new(ShouldFail::load()?);
    let settings = Arc::new(settings);
    let totals = Arc::new(Totals::default());

    let mut trials = Vec::new();
    for &mode in &settings.modes {
        for file in &files {
            let name = format!("{}/{}", mode.name(), file.name());
            let (file, settings, totals, should_fail, plan_dir) = (
                file.clone(),
                settings.clone(),
                totals.clone(),
                should_fail.clone(),
                plan_dir.clone(),
            );
            let expected_to_fail = should_fail.contains(&name);
            trials.push(Trial::test(name.clone(), move || {
                let run = match (&plan_dir, settings.compile_only) {
                    (_, true) => Run::CompileOnly,
                    (Some(dir), false) => Run::WritePlan(dir),
                    (None, false) => Run::Execute,
                };
                let outcome = wast_runner::run_file(&file, mode, &settings, run, &totals);
                match (outcome, expected_to_fail) {
                    (Ok(()), false) => Ok(()),
                    (Err(msg), false) => Err(Failed::from(msg)),
                    (Err(_), true) => Ok(()),
                    (Ok(()), true) => Err(Failed::from(format!(
                        "{name} passes but is listed in spec-tests/should-fail.txt: remove it from the list"
                    ))),
                }
            }));
        }
    }
    let args = Arguments::from_iter(libtest_args);
    let conclusion = libtest_mimic::run(&args, trials);
    println!(
        "{} passed, {} failed (suite: {}{})",
        conclusion.num_passed,
        conclusion.num_failed,
        source,
        if settings.explicit_bounds_checks {
            "; explicit bounds checks"
        } else {
            ""
        }
    );
    for &mode in &settings.modes {
        println!("{}", totals.summary(mode, compiled_only));
    }
    Ok(conclusion.exit_code())
}
