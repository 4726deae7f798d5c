//! The default CPU: `aotc compile` without `--target` or `--cpu` compiles for the host's CPU
//! (the file records the host's features, as with `--cpu native`), with `--target` for the
//! target's baseline, and `--cpu generic` gives a
//! file that loads and runs on the architecture's baseline CPU, which the host file does not
//! (checked under `qemu-x86_64 -cpu qemu64`, a baseline x86-64 without SSSE3 or SSE4.1).

mod support;

use support::aotc;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aotc_format::AotFile;

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "aotc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compiles `examples/fib.wat` with `flags` into `dir`; the file's bytes.
fn compile(dir: &Path, name: &str, flags: &[&str]) -> (PathBuf, Vec<u8>) {
    let out = dir.join(name);
    let mut args = vec!["compile", "examples/fib.wat", "-o", out.to_str().unwrap()];
    args.extend(flags);
    ok(aotc(&args));
    let bytes = std::fs::read(&out).unwrap();
    (out, bytes)
}

#[test]
fn without_target_or_cpu_the_file_records_the_host_cpu() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [&[][..], &["--xip"][..]] {
        let (_, default) = compile(dir.path(), "default.aot", mode);
        let (_, native) = compile(
            dir.path(),
            "native.aot",
            &[mode, &["--cpu", "native"]].concat(),
        );
        let (_, generic) = compile(
            dir.path(),
            "generic.aot",
            &[mode, &["--cpu", "generic"]].concat(),
        );
        // The same compilation as `--cpu native`, byte for byte.
        assert_eq!(default, native, "{mode:?}");
        let default = AotFile::parse(&default).unwrap();
        let generic = AotFile::parse(&generic).unwrap();
        assert_eq!(default.cpu_name(), "native");
        assert_eq!(generic.cpu_name(), "");
        // The baseline records no optional feature; the host file records the host's.
        assert_eq!(generic.cpu_features(), 0, "{mode:?}");
        if cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("sse4.1") {
            let sse41 = aotc_abi::target::cpu_features::X86_SSE41;
            assert_ne!(default.cpu_features() & sse41, 0, "{mode:?}");
        }
    }
    // An explicit --target (the host's too) means the target's baseline.
    for target in ["x86_64", "aarch64", "s390x"] {
        let (_, cross) = compile(dir.path(), "cross.aot", &["--target", target]);
        let (_, baseline) = compile(
            dir.path(),
            "baseline.aot",
            &["--target", target, "--cpu", "generic"],
        );
        assert_eq!(cross, baseline, "{target}");
    }
}

/// The generic file runs on a baseline x86-64 CPU (emulated); the host file is refused there
/// with a one-line error naming what that CPU lacks.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_generic_file_loads_on_the_baseline_cpu() {
    assert!(
        std::arch::is_x86_feature_detected!("sse4.1"),
        "this test needs a host with SSE4.1"
    );
    let dir = tempfile::tempdir().unwrap();
    let baseline = |file: &Path| {
        Command::new("qemu-x86_64")
            .args(["-cpu", "qemu64", env!("CARGO_BIN_EXE_aotc"), "run"])
            .arg(file)
            .args(["--invoke", "fib", "20"])
            .output()
            .expect("qemu-x86_64 runs (.ci/install-cross.sh installs qemu-user)")
    };
    for mode in [&[][..], &["--xip"][..]] {
        let (generic, _) = compile(
            dir.path(),
            "generic.aot",
            &[mode, &["--cpu", "generic"]].concat(),
        );
        assert_eq!(ok(baseline(&generic)).trim(), "6765", "{mode:?}");
        let (host, _) = compile(dir.path(), "host.aot", mode);
        let refused = baseline(&host);
        assert!(!refused.status.success(), "{mode:?}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains("CPU features this host lacks") && err.contains("sse4.1"),
            "{mode:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
