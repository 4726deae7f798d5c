//! Where the suite is, which files run, the should-fail list, run settings (and the compiler
//! options of each mode) and totals.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aotc_abi::Arch;
use aotc_abi::intrinsics::IntrinsicSet;
use aotc_translate::{CompileOptions, OptionsError};

/// A compilation mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Direct calls, relocated at load.
    Normal,
    /// Execute in place: no relocation at all.
    Xip,
}

impl Mode {
    /// The trial-name prefix.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Xip => "xip",
        }
    }

    /// The compiler options of this mode under `settings`, validated (an intrinsic set in
    /// normal mode is refused, as by `aotc compile`).
    pub fn options(self, settings: &Settings) -> Result<CompileOptions, OptionsError> {
        let mut options = match self {
            Mode::Normal => CompileOptions::default(),
            Mode::Xip => CompileOptions::xip(),
        };
        if let Some(arch) = settings.target {
            options.arch = arch;
        }
        options.cpu.clone_from(&settings.cpu);
        options.cpu_features.clone_from(&settings.cpu_features);
        options.intrinsics = settings.intrinsics;
        options.validate()?;
        Ok(options)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Command-line settings.
#[derive(Debug)]
pub struct Settings {
    /// Modes to run.
    pub modes: Vec<Mode>,
    /// `--suite DIR`.
    pub suite: Option<PathBuf>,
    /// Only compile every module (no execution), counting relocations.
    pub compile_only: bool,
    /// `--target`: the architecture to compile for (compile-only for foreign targets).
    pub target: Option<Arch>,
    /// `--cpu`: the CPU to compile for (as `aotc compile --cpu`).
    pub cpu: Option<String>,
    /// `--cpu-features`: feature switches (as `aotc compile --cpu-features`).
    pub cpu_features: Vec<String>,
    /// `--enable-builtin-intrinsics`: the intrinsic set of every compilation (XIP mode only).
    pub intrinsics: Option<IntrinsicSet>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            modes: vec![Mode::Normal],
            suite: None,
            compile_only: false,
            target: None,
            cpu: None,
            cpu_features: Vec::new(),
            intrinsics: None,
        }
    }
}

/// Counters shared by all trials.
#[derive(Default, Debug)]
pub struct Totals {
    assertions: [AtomicU64; 2],
    modules: [AtomicU64; 2],
    relocations: [AtomicU64; 2],
}

impl Totals {
    /// Adds a file's counts.
    pub fn add(&self, mode: Mode, assertions: u64, modules: u64, relocations: u64) {
        self.assertions[mode.index()].fetch_add(assertions, Ordering::Relaxed);
        self.modules[mode.index()].fetch_add(modules, Ordering::Relaxed);
        self.relocations[mode.index()].fetch_add(relocations, Ordering::Relaxed);
    }

    /// The summary line of a mode.
    pub fn summary(&self, mode: Mode, compile_only: bool) -> String {
        let i = mode.index();
        let modules = self.modules[i].load(Ordering::Relaxed);
        let relocs = self.relocations[i].load(Ordering::Relaxed);
        if compile_only {
            format!(
                "{}: {modules} modules compiled, {relocs} relocations in total",
                mode.name()
            )
        } else {
            format!(
                "{}: {} assertions checked, {modules} modules compiled, {relocs} relocations in total",
                mode.name(),
                self.assertions[i].load(Ordering::Relaxed)
            )
        }
    }
}

fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Finds the suite: `--suite DIR`, `$AOTC_SPEC_SUITE`, `spec-tests/testsuite/`, then
/// `../shared/spec-testsuite` (beside the workspace), in that order.
pub fn find_suite(flag: Option<&Path>) -> Result<PathBuf, String> {
    let root = workspace_root();
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    if let Some(dir) = flag {
        candidates.push(("--suite".into(), dir.to_path_buf()));
    }
    if let Some(dir) = std::env::var_os("AOTC_SPEC_SUITE") {
        candidates.push(("$AOTC_SPEC_SUITE".into(), PathBuf::from(dir)));
    }
    candidates.push((
        "spec-tests/testsuite".into(),
        root.join("spec-tests/testsuite"),
    ));
    candidates.push((
        "../shared/spec-testsuite".into(),
        root.join("../shared/spec-testsuite"),
    ));
    // An explicit choice that does not exist is an error, not a reason to look elsewhere.
    if let Some((how, dir)) = candidates.first()
        && how != "spec-tests/testsuite"
        && !dir.join("core").is_dir()
    {
        return Err(format!("{how} {}: no core/ folder there", dir.display()));
    }
    for (_, dir) in &candidates {
        if dir.join("core").is_dir() {
            return Ok(dir.clone());
        }
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|(how, dir)| format!("{how} ({})", dir.display()))
        .collect();
    Err(format!(
        "cannot find the WebAssembly spec suite (a folder with core/*.wast); looked in: {}. \
         Pass --suite DIR or set AOTC_SPEC_SUITE.",
        looked.join(", ")
    ))
}

/// The `core/*.wast` files (SIMD included), sorted.
pub fn core_files(suite: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = suite.join("core");
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{} holds no .wast files", dir.display()));
    }
    Ok(files)
}

/// The should-fail list (`spec-tests/should-fail.txt`): trial names expected to fail.
pub struct ShouldFail {
    names: Vec<String>,
}

impl ShouldFail {
    /// Reads the list.
    pub fn load() -> Result<ShouldFail, String> {
        let path = workspace_root().join("spec-tests/should-fail.txt");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let names = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        Ok(ShouldFail { names })
    }

    /// Whether `trial` is listed.
    pub fn contains(&self, trial: &str) -> bool {
        self.names.iter().any(|n| n == trial)
    }
}
