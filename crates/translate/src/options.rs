//! What to compile for and how: [`CompileOptions`], its defaults, the parsing of the target,
//! CPU-feature and intrinsic lists every front end (CLI, spec runner, benchmarks, tests) accepts,
//! and the validation every compilation runs first.

use core::fmt;
use core::ops::RangeInclusive;
use core::str::FromStr;

use aotc_abi::Arch;
use aotc_abi::intrinsics::IntrinsicSet;
use target_lexicon::{Architecture, Triple};

/// What to compile for and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// Target architecture.
    pub arch: Arch,
    /// CPU model (a Cranelift preset such as `skylake` or `x86-64-v3`), `generic`, or `native`
    /// (the host's features; only when compiling for the host architecture). `None`: the host's
    /// CPU (as `native`) when compiling for the host architecture, as wamrc and wasmtime do;
    /// the architecture's baseline when cross compiling. `generic` is the baseline: a file
    /// that loads on every CPU of the architecture.
    pub cpu: Option<String>,
    /// Feature switches such as `+sse4.1` or `-avx`; names are those of
    /// [`aotc_abi::target::cpu_features::names`]. A name without sign enables the feature.
    pub cpu_features: Vec<String>,
    /// Optimisation level in [`CompileOptions::OPT_LEVELS`] (0: none, 1 and 2: speed, 3: speed
    /// and size); default [`CompileOptions::DEFAULT_OPT_LEVEL`].
    pub opt_level: u8,
    /// Inline small functions into their callers (at optimisation level 1 and up; see the
    /// translator's `inline` module). Default on; off (`--disable-inlining`, like wasmtime's
    /// `-C inlining=n`) keeps one frame per wasm call, so a trap's backtrace lists every call.
    pub inlining: bool,
    /// Indirect mode: every call (own functions, imports, builtins) goes through the vmctx.
    pub indirect: bool,
    /// Execute-in-place file: implies `indirect`; the text has zero relocations.
    pub xip: bool,
    /// Compare-and-trap bounds checks instead of relying on guard pages.
    pub explicit_bounds_checks: bool,
    /// The intrinsics to use (`--enable-builtin-intrinsics`): replaces the target's default
    /// set; the operations the target cannot compile without a libcall are added anyway.
    /// `None`: the default, which in indirect/XIP mode is the documented per-target set and in
    /// normal mode only what the ISA forces. A set is valid only in indirect/XIP mode (see
    /// [`CompileOptions::validate`] and [`effective_intrinsics`](crate::effective_intrinsics)).
    pub intrinsics: Option<IntrinsicSet>,
    /// Alignment of the text's file offset (`--text-align`). `None`: the target's largest page
    /// size, so a posix loader maps the text alone; smaller (a power of two, at least
    /// [`aotc_format::layout::MIN_TEXT_ALIGN`]) packs the file for flash and ROM.
    pub text_align: Option<u32>,
    /// Prelinked mode (`--prelink ADDR --runtime-symbols FILE`): normal-mode code relocated at
    /// compile time for text at `base` and the runtime's builtins at `symbols`; the file has no
    /// relocation and executes in place at `base`. `None`: relocated by the loader.
    pub prelink: Option<crate::Prelink>,
}

impl Default for CompileOptions {
    /// Normal mode for the host architecture (x86-64 on other hosts) and the host's CPU, at
    /// the optimisation level the CLI ships.
    fn default() -> Self {
        CompileOptions {
            arch: Arch::host().unwrap_or(Arch::X86_64),
            cpu: None,
            cpu_features: Vec::new(),
            opt_level: CompileOptions::DEFAULT_OPT_LEVEL,
            inlining: true,
            indirect: false,
            xip: false,
            explicit_bounds_checks: false,
            intrinsics: None,
            text_align: None,
            prelink: None,
        }
    }
}

impl CompileOptions {
    /// The optimisation levels there are.
    pub const OPT_LEVELS: RangeInclusive<u8> = 0..=3;

    /// The optimisation level of every compilation that does not choose one (the CLI's
    /// `--opt-level` default, the spec suite, the benchmarks and the tests).
    pub const DEFAULT_OPT_LEVEL: u8 = 3;

    /// The defaults in execute-in-place mode (`--xip`): indirect calls, no relocation.
    pub fn xip() -> CompileOptions {
        CompileOptions {
            xip: true,
            indirect: true,
            ..CompileOptions::default()
        }
    }

    /// Whether builtins and imports are called through the vmctx (indirect or XIP mode); calls
    /// between the module's own functions are PC-relative in every mode.
    pub fn indirect_calls(&self) -> bool {
        self.indirect || self.xip
    }

    /// Sets the architecture from a `--target` value (see [`parse_target`]).
    pub fn with_target(mut self, target: &str) -> Result<CompileOptions, OptionsError> {
        self.arch = parse_target(target)?;
        Ok(self)
    }

    /// Sets the intrinsic set from an `--enable-builtin-intrinsics` list (see
    /// [`parse_intrinsics`]).
    pub fn with_intrinsics(mut self, list: &str) -> Result<CompileOptions, OptionsError> {
        self.intrinsics = Some(parse_intrinsics(list)?);
        Ok(self)
    }

    /// Checks what does not depend on the target: the optimisation level, and that an
    /// intrinsic set is given only with indirect calls (as in wamrc, where
    /// `--enable-builtin-intrinsics` takes effect only with `--xip` or
    /// `--enable-indirect-mode`). The CPU and its features are checked against the target
    /// when compiling ([`CompileError::Target`](crate::CompileError::Target)).
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !CompileOptions::OPT_LEVELS.contains(&self.opt_level) {
            return Err(OptionsError::OptLevel(self.opt_level));
        }
        if self.intrinsics.is_some() && !self.indirect_calls() {
            return Err(OptionsError::IntrinsicsWithoutIndirectCalls);
        }
        if let Some(align) = self.text_align
            && (!align.is_power_of_two() || align < aotc_format::layout::MIN_TEXT_ALIGN)
        {
            return Err(OptionsError::TextAlign(align));
        }
        if let Some(prelink) = &self.prelink {
            if self.indirect_calls() {
                return Err(OptionsError::PrelinkWithIndirectCalls);
            }
            let align = self.text_align.unwrap_or(self.arch.max_page_size());
            if prelink.base == 0 || !prelink.base.is_multiple_of(u64::from(align)) {
                return Err(OptionsError::PrelinkBase(prelink.base, align));
            }
        }
        Ok(())
    }
}

/// Options that cannot be compiled with, or a flag value that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionsError {
    /// `--target` names no supported architecture.
    UnknownTarget(String),
    /// An `--enable-builtin-intrinsics` list names an unknown intrinsic or group (the message
    /// lists the valid ones).
    UnknownIntrinsic(String),
    /// An intrinsic set in normal mode.
    IntrinsicsWithoutIndirectCalls,
    /// An optimisation level outside [`CompileOptions::OPT_LEVELS`].
    OptLevel(u8),
    /// A `--text-align` that is not a power of two of at least
    /// [`aotc_format::layout::MIN_TEXT_ALIGN`].
    TextAlign(u32),
    /// `--prelink` with `--xip` or `--enable-indirect-mode`.
    PrelinkWithIndirectCalls,
    /// A `--prelink` address (first) that is zero or not a multiple of the text alignment
    /// (second).
    PrelinkBase(u64, u32),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::UnknownTarget(target) => write!(
                f,
                "--target {target:?}: unknown architecture; expected one of {}",
                target_names()
            ),
            OptionsError::UnknownIntrinsic(message) => {
                write!(f, "--enable-builtin-intrinsics: {message}")
            }
            OptionsError::IntrinsicsWithoutIndirectCalls => f.write_str(
                "--enable-builtin-intrinsics takes effect only with --xip or \
                 --enable-indirect-mode (as in wamrc)",
            ),
            OptionsError::OptLevel(level) => {
                let levels = CompileOptions::OPT_LEVELS;
                write!(
                    f,
                    "optimisation level {level} is not in {}..={}",
                    levels.start(),
                    levels.end()
                )
            }
            OptionsError::TextAlign(align) => write!(
                f,
                "--text-align {align}: expected a power of two of at least {}",
                aotc_format::layout::MIN_TEXT_ALIGN
            ),
            OptionsError::PrelinkWithIndirectCalls => f.write_str(
                "--prelink relocates normal-mode code; it cannot be combined with --xip or \
                 --enable-indirect-mode",
            ),
            OptionsError::PrelinkBase(base, align) => write!(
                f,
                "--prelink {base:#x}: expected a non-zero multiple of the text alignment \
                 ({align:#x})"
            ),
        }
    }
}

impl std::error::Error for OptionsError {}

/// The supported architectures, as `--target` accepts them: `x86_64, aarch64, ...`.
pub fn target_names() -> String {
    Arch::ALL.map(Arch::name).join(", ")
}

/// Parses a `--target` value: a bare architecture name (`x86_64`, `aarch64`, `riscv64`,
/// `s390x` and their aliases) or a full target triple (`x86_64-unknown-linux-gnu`,
/// `riscv64gc-unknown-linux-gnu`); only the triple's architecture is used.
pub fn parse_target(target: &str) -> Result<Arch, OptionsError> {
    if let Some(arch) = Arch::from_name(target) {
        return Ok(arch);
    }
    let unknown = || OptionsError::UnknownTarget(target.to_owned());
    let triple = Triple::from_str(target).map_err(|_| unknown())?;
    match triple.architecture {
        Architecture::X86_64 => Ok(Arch::X86_64),
        Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64) => Ok(Arch::Aarch64),
        Architecture::Riscv64(_) => Ok(Arch::Riscv64),
        Architecture::S390x => Ok(Arch::S390x),
        _ => Err(unknown()),
    }
}

/// Parses a `--cpu-features` list (`+sse4.1,-avx`): comma-separated, blanks trimmed, empty
/// entries dropped. The names are checked against the target when compiling.
pub fn parse_cpu_features(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

/// Parses an `--enable-builtin-intrinsics` list of intrinsic names and groups.
pub fn parse_intrinsics(list: &str) -> Result<IntrinsicSet, OptionsError> {
    IntrinsicSet::parse(list).map_err(|e| OptionsError::UnknownIntrinsic(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_bare_names_or_triples() {
        for (given, arch) in [
            ("x86_64", Arch::X86_64),
            ("aarch64", Arch::Aarch64),
            ("riscv64", Arch::Riscv64),
            ("s390x", Arch::S390x),
            ("x86_64-unknown-linux-gnu", Arch::X86_64),
            ("aarch64-unknown-linux-gnu", Arch::Aarch64),
            ("riscv64gc-unknown-linux-gnu", Arch::Riscv64),
            ("s390x-unknown-linux-gnu", Arch::S390x),
        ] {
            assert_eq!(parse_target(given), Ok(arch), "{given}");
        }
        for bad in [
            "",
            "help",
            "mips",
            "i686-unknown-linux-gnu",
            "x86_64-not-a-real-os",
        ] {
            let err = parse_target(bad).unwrap_err();
            assert_eq!(err, OptionsError::UnknownTarget(bad.into()));
            assert!(err.to_string().contains(&target_names()), "{err}");
        }
    }

    #[test]
    fn feature_lists_drop_blanks() {
        assert_eq!(parse_cpu_features(" +sse4.1, ,-avx,"), ["+sse4.1", "-avx"]);
        assert!(parse_cpu_features("").is_empty());
    }

    #[test]
    fn validation_refuses_intrinsics_without_indirect_calls_and_bad_levels() {
        let normal = CompileOptions::default()
            .with_intrinsics("constop")
            .unwrap();
        assert_eq!(
            normal.validate(),
            Err(OptionsError::IntrinsicsWithoutIndirectCalls)
        );
        let indirect = CompileOptions {
            indirect: true,
            ..normal
        };
        assert_eq!(indirect.validate(), Ok(()));
        assert_eq!(
            CompileOptions::xip()
                .with_intrinsics("all")
                .unwrap()
                .validate(),
            Ok(())
        );
        let level = |opt_level| CompileOptions {
            opt_level,
            ..CompileOptions::default()
        };
        assert_eq!(level(4).validate(), Err(OptionsError::OptLevel(4)));
        assert_eq!(level(0).validate(), Ok(()));
        assert!(matches!(
            CompileOptions::default().with_intrinsics("llvm.bogus"),
            Err(OptionsError::UnknownIntrinsic(m)) if m.contains("llvm.bogus")
        ));
    }
}
