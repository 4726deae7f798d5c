//! `aotc-spec-exec [--filter TEXT] [--list] PLAN-OR-DIR...`: runs the plans given and every plan
//! (`*.plan`, searched recursively) under the folders given, as written by `spec-tests
//! --write-plan DIR`, and prints one line a file (`test MODE/FILE ... ok` or `... FAILED` and
//! the failures), then `N passed, M failed` and `MODE: N assertions checked` for each mode.
//! `--list` prints the plans' paths instead, one a line. It links the loader and nothing of the
//! compiler: the target side of cross-target spec runs (`docs/spec-plan.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aotc_loader::Module;
use aotc_spec_exec::exec;
use aotc_spec_exec::plan::{self, Plan};

const USAGE: &str = "usage: aotc-spec-exec [--filter TEXT] [--list] PLAN-OR-DIR...";

fn main() -> ExitCode {
    let mut paths = Vec::new();
    let mut filter = None;
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--filter" => match args.next() {
                Some(text) => filter = Some(text),
                None => return usage_error("--filter needs a value"),
            },
            "--list" => list = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if arg.starts_with('-') => return usage_error(&format!("unknown option {arg}")),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        return usage_error("no plan or folder given");
    }
    let mut plans = Vec::new();
    for path in &paths {
        if path.is_file() {
            plans.push(path.clone());
        } else if let Err(msg) = find_plans(path, &mut plans) {
            eprintln!("aotc-spec-exec: {msg}");
            return ExitCode::FAILURE;
        }
    }
    plans.sort();
    if plans.is_empty() {
        eprintln!("aotc-spec-exec: no .plan files under the folders given");
        return ExitCode::FAILURE;
    }
    if list {
        for path in &plans {
            println!("{}", path.display());
        }
        return ExitCode::SUCCESS;
    }
    let (mut passed, mut failed) = (0u64, 0u64);
    let mut assertions: BTreeMap<String, u64> = BTreeMap::new();
    for path in &plans {
        match run_plan(path, filter.as_deref()) {
            Ok(None) => {}
            Ok(Some((name, mode, outcome))) => {
                *assertions.entry(mode).or_default() += outcome.assertions;
                match outcome.report() {
                    Ok(()) => {
                        passed += 1;
                        println!("test {name} ... ok");
                    }
                    Err(msg) => {
                        failed += 1;
                        println!("test {name} ... FAILED\n{msg}");
                    }
                }
            }
            Err(msg) => {
                failed += 1;
                println!("test {} ... FAILED\n  {msg}", path.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    for (mode, count) in &assertions {
        println!("{mode}: {count} assertions checked");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("aotc-spec-exec: {msg}\n{USAGE}");
    ExitCode::FAILURE
}

/// Adds the `*.plan` files under `dir` (recursively) to `out`.
fn find_plans(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            find_plans(&path, out)?;
        } else if path.extension().is_some_and(|e| e == plan::EXTENSION) {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs the plan at `path` unless its name (`mode/source`) does not contain `filter`: its name,
/// mode and outcome.
fn run_plan(
    path: &Path,
    filter: Option<&str>,
) -> Result<Option<(String, String, exec::Outcome)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let plan = Plan::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = format!("{}/{}", plan.mode, plan.source);
    if filter.is_some_and(|f| !name.contains(f)) {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut load = |file: &str| {
        let path = dir.join(file);
        // SAFETY: the plan's module files were written by aotc's compiler for this run (the
        // host's spec runner); loading trusts them as compiled code, and nothing modifies them
        // while they are loaded.
        unsafe { Module::from_file(&path) }.map_err(|e| e.to_string())
    };
    let outcome = exec::run(&plan, &mut load)?;
    Ok(Some((name, plan.mode, outcome)))
}
