//! What ships is what is tested: `aotc compile`, the spec runner and the benchmarks compile the
//! same module to byte-identical files for the same flags, and all three use the library's
//! default optimisation level.

mod support;

use support::workspace;

use std::process::Command;

use aotc_bench::{CodeModel, PROGRAMS, Program};
use aotc_translate::CompileOptions;
use spec_tests::suite::{Mode, Settings};

/// The bytes `aotc compile FLAGS PROGRAM -o OUT` writes.
fn cli_bytes(program: &Program, flags: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.aot");
    let status = Command::new(env!("CARGO_BIN_EXE_aotc"))
        .arg("compile")
        .args(flags)
        .arg(program.path)
        .arg("-o")
        .arg(&out)
        .current_dir(workspace())
        .status()
        .expect("aotc runs");
    assert!(status.success(), "aotc compile {flags:?} failed");
    std::fs::read(&out).unwrap()
}

/// The bytes the spec runner's options for `mode` and `settings` give `program`.
fn spec_runner_bytes(program: &Program, mode: Mode, settings: &Settings) -> Vec<u8> {
    let options = mode.options(settings).unwrap();
    let input = std::fs::read(workspace().join(program.path)).unwrap();
    aotc_pipeline::compile(&options, &input)
        .and_then(|compiled| compiled.write())
        .unwrap()
        .into_bytes()
}

/// The flags of each benchmark code model, as `aotc compile` and the spec runner take them.
/// The spec runner compiles for the baseline CPU unless told otherwise (`--cpu generic`); the
/// others default to the host's, which the runner's settings express as no CPU.
fn flag_sets() -> [(CodeModel, &'static [&'static str], Mode, Settings); 4] {
    let host_cpu = || Settings {
        cpu: None,
        ..Settings::default()
    };
    let all_intrinsics = Settings {
        intrinsics: Some(aotc_translate::parse_intrinsics("all").unwrap()),
        ..host_cpu()
    };
    [
        (CodeModel::Normal, &[], Mode::Normal, host_cpu()),
        (
            CodeModel::NormalGeneric,
            &["--cpu", "generic"],
            Mode::Normal,
            Settings::default(),
        ),
        (CodeModel::Xip, &["--xip"], Mode::Xip, host_cpu()),
        (
            CodeModel::XipAllIntrinsics,
            &["--xip", "--enable-builtin-intrinsics=all"],
            Mode::Xip,
            all_intrinsics,
        ),
    ]
}

#[test]
fn cli_spec_runner_and_benchmarks_write_identical_files() {
    let program = &PROGRAMS[1];
    for (model, flags, mode, settings) in flag_sets() {
        let bench = aotc_bench::compile(program, model).unwrap().into_bytes();
        let spec = spec_runner_bytes(program, mode, &settings);
        let cli = cli_bytes(program, flags);
        assert!(
            bench == spec,
            "{flags:?}: the bench and the spec runner differ"
        );
        assert!(
            bench == cli,
            "{flags:?}: the bench and `aotc compile` differ"
        );
        // The spec runner and the benchmarks also agree on every option, not just on bytes.
        assert_eq!(
            mode.options(&settings).unwrap(),
            model.options(),
            "{flags:?}"
        );
    }
}

#[test]
fn every_path_uses_the_shipped_opt_level() {
    // The optimisation level is not recorded in the file, and levels 1 to 3 can give the same
    // code, so the comparison above cannot see it: check the level each path uses instead.
    let help = Command::new(env!("CARGO_BIN_EXE_aotc"))
        .args(["compile", "--help"])
        .output()
        .expect("aotc runs");
    let help = String::from_utf8_lossy(&help.stdout);
    let opt_level_help = &help[help.find("--opt-level").expect("--opt-level documented")..];
    let shown_default = opt_level_help
        .find("[default: ")
        .map(|i| &opt_level_help[i + "[default: ".len()..])
        .and_then(|rest| rest.split(']').next())
        .expect("--opt-level shows its default");
    let shipped = CompileOptions::DEFAULT_OPT_LEVEL;
    assert_eq!(shown_default, shipped.to_string());
    for (model, flags, mode, settings) in flag_sets() {
        assert_eq!(model.options().opt_level, shipped, "bench {flags:?}");
        let spec = mode.options(&settings).unwrap();
        assert_eq!(spec.opt_level, shipped, "spec runner {flags:?}");
    }
    // And the byte comparison does see an opt level that changes the code.
    let program = &PROGRAMS[1];
    assert_ne!(
        cli_bytes(program, &["--opt-level", "0"]),
        aotc_bench::compile(program, CodeModel::Normal)
            .unwrap()
            .into_bytes()
    );
}
