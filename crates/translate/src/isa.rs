//! Target selection: the Cranelift ISA for a [`CompileOptions`] (triple, CPU preset, feature
//! switches, shared code generation flags) and the CPU feature bits recorded in AOT files.

use std::str::FromStr;

use aotc_abi::builtins::BuiltinCallConv;
use aotc_abi::intrinsics::IntrinsicSet;
use aotc_abi::target::cpu_features as bits;
use aotc_abi::{Arch, Builtin};
use cranelift_codegen::ir::LibCall;
use cranelift_codegen::isa::{self, CallConv, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::Triple;

use crate::{CompileError, CompileOptions};

/// The compilation target, resolved.
pub(crate) struct Target {
    /// The Cranelift ISA every function is compiled with.
    pub isa: OwnedTargetIsa,
    /// Architecture.
    pub arch: Arch,
    /// Short triple recorded in AOT files.
    pub triple_name: &'static str,
    /// CPU name recorded in AOT files (empty: generic).
    pub cpu_name: String,
    /// `aotc_abi::target::cpu_features` bits of the enabled ISA flags.
    pub cpu_features: u64,
    /// Whether the ISA rounds floats (ceil/floor/trunc/nearest) natively; otherwise Cranelift
    /// would lower them to libcalls, so the translator calls builtins instead.
    pub native_rounding: bool,
}

/// The operations Cranelift lowers to a libcall when the ISA cannot round natively (`ceil`,
/// `floor`, `trunc` and `nearest`), with the builtin that replaces each libcall. The one
/// definition of the rounding set: [`Target::forced_intrinsics`] forces these builtins and
/// [`libcall_builtin`] resolves a libcall Cranelift emitted anyway.
const ROUNDING_LIBCALLS: [(LibCall, Builtin); 8] = [
    (LibCall::CeilF32, Builtin::f32_ceil),
    (LibCall::FloorF32, Builtin::f32_floor),
    (LibCall::TruncF32, Builtin::f32_trunc),
    (LibCall::NearestF32, Builtin::f32_nearest),
    (LibCall::CeilF64, Builtin::f64_ceil),
    (LibCall::FloorF64, Builtin::f64_floor),
    (LibCall::TruncF64, Builtin::f64_trunc),
    (LibCall::NearestF64, Builtin::f64_nearest),
];

/// The builtin replacing a Cranelift libcall, if there is one.
pub(crate) fn libcall_builtin(libcall: LibCall) -> Option<Builtin> {
    ROUNDING_LIBCALLS
        .iter()
        .find(|(l, _)| *l == libcall)
        .map(|&(_, b)| b)
}

impl Target {
    /// The default calling convention of the target (wasm functions, builtins, trampolines).
    pub fn call_conv(&self) -> CallConv {
        self.isa.default_call_conv()
    }

    /// The calling convention of builtin `b` on this target (the ABI's [`Builtin::call_conv`]).
    pub fn builtin_call_conv(&self, b: Builtin) -> CallConv {
        cl_call_conv(b.call_conv(self.arch), self.call_conv())
    }

    /// The intrinsics the ISA forces: the operations Cranelift would otherwise lower to a
    /// libcall (a relocation, which XIP text cannot have). Measured by compiling the spec suite
    /// without intrinsics for every target: only float rounding on x86-64 without SSE4.1
    /// (scalar, and each lane of the vector forms) and byte shuffles (`i8x16.swizzle`, and the
    /// `i8x16.shuffle` masks Cranelift lowers through `pshufb`) on x86-64 without SSSE3;
    /// aarch64, riscv64 (RV64GC, V for SIMD) and s390x (z14) lower every wasm operation inline.
    pub fn forced_intrinsics(&self) -> IntrinsicSet {
        let mut set = IntrinsicSet::EMPTY;
        if !self.native_rounding {
            for (_, b) in ROUNDING_LIBCALLS {
                set.insert_builtin(b);
            }
        }
        if self.arch == Arch::X86_64 && self.cpu_features & bits::X86_SSSE3 == 0 {
            set.insert_builtin(Builtin::i8x16_swizzle_half);
        }
        set
    }

    /// `None` when the ISA compiles `v128`; otherwise what is missing, naming the CPU feature
    /// (riscv64 without the vector extension: Cranelift has no other SIMD lowering there).
    pub fn missing_simd_feature(&self) -> Option<&'static str> {
        (self.arch == Arch::Riscv64 && self.cpu_features & bits::RISCV_V == 0).then_some(
            "SIMD (v128) on riscv64 needs the vector extension: compile with --cpu-features +v",
        )
    }

    /// The default set of indirect/XIP mode (`--xip` without `--enable-builtin-intrinsics`):
    /// the forced set. Every other operation is compiled inline by Cranelift on all four
    /// targets, without relocations, including those a CPU variant lacks an instruction for
    /// (popcnt without POPCNT or Zbb, clz without LZCNT or Zbb): Cranelift emits an
    /// instruction sequence for them instead of a call. Constants need no table
    /// either: Cranelift materialises them in the text or in a function-local constant pool
    /// reached PC-relatively, both relocation-free.
    pub fn default_intrinsics(&self) -> IntrinsicSet {
        self.forced_intrinsics()
    }
}

/// The intrinsic set of a compilation (see [`crate::effective_intrinsics`]).
pub(crate) fn effective_intrinsics(opts: &CompileOptions, target: &Target) -> IntrinsicSet {
    let chosen = match opts.intrinsics {
        Some(set) => set,
        None if opts.indirect_calls() => target.default_intrinsics(),
        None => IntrinsicSet::EMPTY,
    };
    chosen.union(target.forced_intrinsics())
}

/// One recordable feature: its `cpu_features` name and bit, and the Cranelift flags it maps to
/// (all of them set means the feature is on; no flags means the architecture's baseline).
struct Feature {
    name: &'static str,
    bit: u64,
    flags: &'static [&'static str],
}

macro_rules! define_feature_tables {
    ($( $arch:ident {
        $( $(#[$doc:meta])* $konst:ident = $bit:literal, $name:literal,
           [$($flag:literal),*], $detect:tt; )*
    } )*) => {
        /// The recordable features of `arch`, from [`aotc_abi::foreach_cpu_feature!`].
        fn features(arch: Arch) -> &'static [Feature] {
            match arch {
                $( Arch::$arch => &[ $( Feature {
                    name: $name,
                    bit: bits::$konst,
                    flags: &[$($flag),*],
                }, )* ], )*
            }
        }
    };
}

aotc_abi::foreach_cpu_feature!(define_feature_tables);

/// The triple Cranelift is given, and the short one recorded in AOT files.
fn triples(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::X86_64 => ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux"),
        Arch::Aarch64 => ("aarch64-unknown-linux-gnu", "aarch64-unknown-linux"),
        Arch::Riscv64 => ("riscv64gc-unknown-linux-gnu", "riscv64gc-unknown-linux"),
        Arch::S390x => ("s390x-unknown-linux-gnu", "s390x-unknown-linux"),
    }
}

fn target_err(msg: impl Into<String>) -> CompileError {
    CompileError::Target(msg.into())
}

/// The Cranelift calling convention of an ABI builtin convention (`c`: the target's default).
fn cl_call_conv(cc: BuiltinCallConv, c: CallConv) -> CallConv {
    match cc {
        BuiltinCallConv::C => c,
        BuiltinCallConv::Win64 => CallConv::WindowsFastcall,
    }
}

/// Shared Cranelift flags (ISA-independent, but for the libcall convention: a libcall
/// Cranelift emits resolves to an intrinsic builtin, see [`libcall_builtin`], so it is called
/// with the intrinsics' convention).
fn shared_flags(opts: &CompileOptions) -> Result<settings::Flags, CompileError> {
    let opt = match opts.opt_level {
        0 => "none",
        1 | 2 => "speed",
        3 => "speed_and_size",
        n => {
            let range = CompileOptions::OPT_LEVELS;
            return Err(target_err(format!(
                "optimisation level {n} is not in {}..={}",
                range.start(),
                range.end()
            )));
        }
    };
    let mut b = settings::builder();
    let verifier = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        ("opt_level", opt),
        ("enable_multi_ret_implicit_sret", "true"),
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        ("is_pic", "false"),
        ("unwind_info", "false"),
        // Every function keeps a frame record, so a trap's backtrace walks frame pointers.
        ("preserve_frame_pointers", "true"),
        ("enable_verifier", verifier),
        ("libcall_call_conv", libcall_call_conv(opts.arch)),
    ] {
        b.set(name, value)
            .map_err(|e| target_err(format!("cranelift flag {name}={value}: {e}")))?;
    }
    Ok(settings::Flags::new(b))
}

/// The `libcall_call_conv` flag: the convention of the intrinsic builtins that replace the
/// rounding libcalls on `arch`.
fn libcall_call_conv(arch: Arch) -> &'static str {
    let builtin = ROUNDING_LIBCALLS[0].1;
    debug_assert!(ROUNDING_LIBCALLS.iter().all(|(_, b)| b.is_intrinsic()));
    match builtin.call_conv(arch) {
        BuiltinCallConv::C => "isa_default",
        BuiltinCallConv::Win64 => "windows_fastcall",
    }
}

/// A parsed `+name` / `-name` switch.
struct Switch<'a> {
    feature: &'a Feature,
    enable: bool,
}

fn parse_switches(arch: Arch, list: &[String]) -> Result<Vec<Switch<'static>>, CompileError> {
    let mut out = Vec::new();
    for item in list {
        let (enable, name) = match (item.strip_prefix('+'), item.strip_prefix('-')) {
            (Some(name), _) => (true, name),
            (_, Some(name)) => (false, name),
            _ => (true, item.as_str()),
        };
        let Some(feature) = features(arch).iter().find(|f| f.name == name) else {
            let valid: Vec<&str> = features(arch).iter().map(|f| f.name).collect();
            return Err(target_err(format!(
                "unknown {} cpu feature {name:?}; valid features: {}",
                arch.name(),
                valid.join(", ")
            )));
        };
        if !enable && feature.bit == bits::RISCV_G && arch == Arch::Riscv64 {
            return Err(target_err(format!(
                "riscv64 needs the full G extension set ({}); it cannot be disabled",
                riscv_g_extensions().join(", ")
            )));
        }
        if !enable && feature.flags.is_empty() {
            return Err(target_err(format!(
                "{} feature {name} is the baseline Cranelift requires; it cannot be disabled",
                arch.name()
            )));
        }
        out.push(Switch { feature, enable });
    }
    Ok(out)
}

/// Whether a flag of the ISA's flag set is known to be recordable in the AOT file.
fn is_recorded_flag(arch: Arch, name: &str) -> bool {
    features(arch).iter().any(|f| f.flags.contains(&name))
}

/// Builds the target for `opts`.
pub(crate) fn target(opts: &CompileOptions) -> Result<Target, CompileError> {
    let arch = opts.arch;
    let (cl_triple, triple_name) = triples(arch);
    let flags = shared_flags(opts)?;
    let switches = parse_switches(arch, &opts.cpu_features)?;
    let cpu = opts.cpu.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (builder, cpu_name) = cpu_builder(arch, cl_triple, cpu)?;
    let isa = build_isa(arch, builder, &flags, &switches)?;
    let cpu_features = recorded_features(arch, &*isa)?;
    let native_rounding = match arch {
        Arch::X86_64 => cpu_features & bits::X86_SSE41 != 0,
        Arch::Aarch64 | Arch::Riscv64 | Arch::S390x => true,
    };
    Ok(Target {
        isa,
        arch,
        triple_name,
        cpu_name,
        cpu_features,
        native_rounding,
    })
}

/// The ISA builder for CPU `cpu` (a preset, `generic`, `native` or none) and the CPU name
/// recorded in the file. No CPU means the host's (`native`) when compiling for the host
/// architecture, as wamrc and wasmtime do, and the architecture's baseline when cross
/// compiling.
fn cpu_builder(
    arch: Arch,
    cl_triple: &str,
    cpu: Option<&str>,
) -> Result<(isa::Builder, String), CompileError> {
    let cpu = cpu.or((Arch::host() == Some(arch)).then_some("native"));
    match cpu {
        Some("native") => {
            if Arch::host() != Some(arch) {
                return Err(target_err(format!(
                    "--cpu native needs the host architecture; compiling for {}",
                    arch.name()
                )));
            }
            let b = cranelift_native::builder_with_options(true)
                .map_err(|e| target_err(format!("host cpu detection: {e}")))?;
            Ok((b, "native".to_string()))
        }
        Some("generic") | None => Ok((lookup(cl_triple)?, String::new())),
        Some(name) => {
            let mut b = lookup(cl_triple)?;
            if name.starts_with("has_") || b.enable(name).is_err() {
                return Err(target_err(format!(
                    "unknown {} cpu {name:?} (use a Cranelift cpu preset, \"generic\" or \
                     \"native\")",
                    arch.name()
                )));
            }
            Ok((b, name.to_string()))
        }
    }
}

/// The ISA with the feature switches applied, and every flag the AOT file cannot record
/// turned off.
fn build_isa(
    arch: Arch,
    mut builder: isa::Builder,
    flags: &settings::Flags,
    switches: &[Switch<'_>],
) -> Result<OwnedTargetIsa, CompileError> {
    for s in switches {
        for flag in s.feature.flags {
            let value = if s.enable { "true" } else { "false" };
            builder
                .set(flag, value)
                .map_err(|e| target_err(format!("cranelift flag {flag}: {e}")))?;
        }
    }

    let build = |b: &isa::Builder| {
        b.finish(flags.clone())
            .map_err(|e| target_err(format!("cranelift rejects the target: {e}")))
    };
    let isa = build(&builder)?;

    // Presets and host detection may enable flags the AOT file cannot record (so a loader
    // could not check them): turn those off.
    let mut rebuild = false;
    for value in isa.isa_flags() {
        if value.name.starts_with("has_")
            && value.as_bool() == Some(true)
            && !is_recorded_flag(arch, value.name)
        {
            builder
                .set(value.name, "false")
                .map_err(|e| target_err(format!("cranelift flag {}: {e}", value.name)))?;
            rebuild = true;
        }
    }
    if rebuild { build(&builder) } else { Ok(isa) }
}

/// The `cpu_features` bits of the features whose flags `isa` has all enabled; fails when
/// riscv64 lacks part of G.
fn recorded_features(arch: Arch, isa: &dyn TargetIsa) -> Result<u64, CompileError> {
    let enabled: Vec<&'static str> = isa
        .isa_flags()
        .iter()
        .filter(|v| v.as_bool() == Some(true))
        .map(|v| v.name)
        .collect();
    let mut cpu_features = 0;
    for f in features(arch) {
        if f.flags.iter().all(|flag| enabled.contains(flag)) {
            cpu_features |= f.bit;
        }
    }
    if arch == Arch::Riscv64 && cpu_features & bits::RISCV_G == 0 {
        let missing: Vec<&str> = riscv_g_extensions()
            .into_iter()
            .filter(|ext| !enabled.iter().any(|f| f.strip_prefix("has_") == Some(ext)))
            .collect();
        return Err(target_err(format!(
            "riscv64 needs the G extensions; missing: {}",
            missing.join(", ")
        )));
    }
    Ok(cpu_features)
}

/// The extensions making up riscv64's G feature (Cranelift flag names without `has_`).
fn riscv_g_extensions() -> Vec<&'static str> {
    features(Arch::Riscv64)
        .iter()
        .filter(|f| f.bit == bits::RISCV_G)
        .flat_map(|f| f.flags.iter().map(|flag| flag.trim_start_matches("has_")))
        .collect()
}

fn lookup(triple: &str) -> Result<isa::Builder, CompileError> {
    let triple = Triple::from_str(triple).map_err(|e| target_err(format!("{triple}: {e}")))?;
    isa::lookup(triple).map_err(|e| target_err(format!("no Cranelift backend: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options for `arch` at its baseline CPU.
    fn opts(arch: Arch) -> CompileOptions {
        CompileOptions {
            arch,
            cpu: Some("generic".into()),
            ..CompileOptions::default()
        }
    }

    #[test]
    fn the_default_cpu_is_the_host_s_and_the_baseline_when_cross_compiling() {
        let Some(host) = Arch::host() else { return };
        let default = target(&CompileOptions::default()).unwrap();
        let native = target(&CompileOptions {
            cpu: Some("native".into()),
            ..CompileOptions::default()
        })
        .unwrap();
        assert_eq!(default.cpu_name, "native");
        assert_eq!(default.cpu_features, native.cpu_features);
        assert_eq!(
            target(&opts(host)).unwrap().cpu_features,
            target(&CompileOptions {
                cpu: Some("generic".into()),
                ..CompileOptions::default()
            })
            .unwrap()
            .cpu_features
        );
        for arch in Arch::ALL.into_iter().filter(|a| *a != host) {
            let cross = target(&CompileOptions {
                arch,
                ..CompileOptions::default()
            })
            .unwrap();
            assert_eq!(cross.cpu_name, "", "{arch:?}");
            assert_eq!(
                cross.cpu_features,
                target(&opts(arch)).unwrap().cpu_features,
                "{arch:?}"
            );
        }
    }

    #[test]
    fn baseline_x86_has_no_native_rounding() {
        let t = target(&opts(Arch::X86_64)).unwrap();
        assert!(!t.native_rounding);
        assert_eq!(t.cpu_features, 0);
        let mut o = opts(Arch::X86_64);
        o.cpu_features = vec!["+sse4.1".into(), "+popcnt".into()];
        let t = target(&o).unwrap();
        assert!(t.native_rounding);
        assert_eq!(t.cpu_features, bits::X86_SSE41 | bits::X86_POPCNT);
    }

    #[test]
    fn presets_are_recorded() {
        let mut o = opts(Arch::X86_64);
        o.cpu = Some("x86-64-v3".into());
        let t = target(&o).unwrap();
        assert!(t.cpu_features & bits::X86_AVX2 != 0);
        assert_eq!(t.cpu_name, "x86-64-v3");
        let mut o = opts(Arch::S390x);
        o.cpu = Some("z15".into());
        let t = target(&o).unwrap();
        assert_eq!(t.cpu_features, bits::S390X_ARCH12 | bits::S390X_ARCH13);
    }

    #[test]
    fn bad_selections_are_target_errors() {
        let mut o = opts(Arch::X86_64);
        o.cpu_features = vec!["+sse9".into()];
        match target(&o) {
            Err(CompileError::Target(msg)) => assert!(msg.contains("sse4.1"), "{msg}"),
            _ => panic!("expected a target error"),
        }
        let mut o = opts(Arch::Riscv64);
        o.cpu_features = vec!["-g".into()];
        assert!(matches!(target(&o), Err(CompileError::Target(_))));
        let mut o = opts(Arch::Aarch64);
        o.cpu = Some("not-a-cpu".into());
        assert!(matches!(target(&o), Err(CompileError::Target(_))));
        let mut o = opts(Arch::X86_64);
        o.opt_level = 4;
        assert!(matches!(target(&o), Err(CompileError::Target(_))));
    }

    #[test]
    fn riscv_records_g() {
        let t = target(&opts(Arch::Riscv64)).unwrap();
        assert!(t.cpu_features & bits::RISCV_G != 0);
    }
}
