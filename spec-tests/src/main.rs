//! The spec-suite runner: finds the suite, makes one libtest-mimic trial per `.wast` file and
//! mode (`normal/<file>`, `xip/<file>`), applies the should-fail list and prints the totals.
//!
//! Run it through `cargo xtask spec [--xip | --mode normal|xip|both] [--suite DIR]
//! [--compile-only] [--target ARCH] [--cpu CPU] [--cpu-features LIST]
//! [--enable-builtin-intrinsics LIST] [-- LIBTEST-ARGS]`. `--cpu` and `--cpu-features` are
//! `aotc compile`'s.
//! `--enable-builtin-intrinsics` (or `--enable-builtin-intrinsics=LIST`) compiles every module
//! with that intrinsic set (plus what the target forces); like `aotc compile`, only in XIP mode.

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use spec_tests::suite::{Mode, Settings, ShouldFail, SuiteSource, Totals};
use spec_tests::wast_runner;

const USAGE: &str = "usage: spec-tests [--xip | --mode normal|xip|both] [--suite DIR] [--compile-only] \
[--target ARCH] [--cpu CPU] [--cpu-features LIST] [--enable-builtin-intrinsics LIST] \
[-- LIBTEST-ARGS]";

fn main() -> ExitCode {
    let mut settings = Settings::default();
    let mut libtest_args = vec!["spec-tests".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Err(msg) = parse_arg(&arg, &mut args, &mut settings, &mut libtest_args) {
            eprintln!("spec-tests: {msg}");
            return ExitCode::FAILURE;
        }
    }
    match run(settings, libtest_args) {
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
                other => return Err(format!("--mode {other}: expected normal, xip or both")),
            }
        }
        "--suite" => settings.suite = Some(value("--suite")?.into()),
        "--compile-only" => settings.compile_only = true,
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

fn run(settings: Settings, libtest_args: Vec<String>) -> Result<ExitCode, String> {
    for &mode in &settings.modes {
        mode.options(&settings)
            .map_err(|e| format!("{} mode: {e}", mode.name()))?;
    }
    let source = SuiteSource::find(settings.suite.as_deref())?;
    let files = source.core_files()?;
    let should_fail = Arc::new(ShouldFail::load()?);
    let settings = Arc::new(settings);
    let totals = Arc::new(Totals::default());

    let mut trials = Vec::new();
    for &mode in &settings.modes {
        for file in &files {
            let name = format!("{}/{}", mode.name(), file.name());
            let (file, settings, totals, should_fail) = (
                file.clone(),
                settings.clone(),
                totals.clone(),
                should_fail.clone(),
            );
            let expected_to_fail = should_fail.contains(&name);
            trials.push(Trial::test(name.clone(), move || {
                let outcome = wast_runner::run_file(&file, mode, &settings, &totals);
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
        "{} passed, {} failed (suite: {})",
        conclusion.num_passed, conclusion.num_failed, source
    );
    for &mode in &settings.modes {
        println!("{}", totals.summary(mode, settings.compile_only));
    }
    Ok(conclusion.exit_code())
}
