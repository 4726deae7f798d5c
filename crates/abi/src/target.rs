//! Target architectures aotc compiles for, and the facts about them the ABI depends on.

stored_enum! {
    /// A target architecture. The discriminants are stored in AOT files; the names are the ones
    /// used on the command line and as target triples' first component.
    pub enum Arch: u16, from_u16 {
        /// x86-64 (AMD64).
        X86_64 = 1 => "x86_64",
        /// 64-bit Arm (AArch64).
        Aarch64 = 2 => "aarch64",
        /// 64-bit RISC-V (RV64GC).
        Riscv64 = 3 => "riscv64",
        /// IBM z/Architecture (s390x), big-endian.
        S390x = 4 => "s390x",
    }
}

stored_enum! {
    /// Byte order of a target. The discriminants are stored in AOT files.
    pub enum Endianness: u8, from_u8 {
        /// Least significant byte first.
        Little = 1 => "little-endian",
        /// Most significant byte first.
        Big = 2 => "big-endian",
    }
}

impl Arch {
    /// Parses a command-line architecture name (also accepts common aliases).
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "x86-64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            "riscv64" | "riscv64gc" => Some(Arch::Riscv64),
            "s390x" => Some(Arch::S390x),
            _ => None,
        }
    }

    /// Size of a pointer in bytes.
    pub const fn pointer_size(self) -> u8 {
        8
    }

    /// Byte order.
    pub const fn endianness(self) -> Endianness {
        match self {
            Arch::S390x => Endianness::Big,
            _ => Endianness::Little,
        }
    }

    /// The largest page size an operating system may use on this architecture; the text of an
    /// AOT file starts at a file offset aligned to it so it can be mapped in place.
    pub const fn max_page_size(self) -> u32 {
        match self {
            // AArch64 kernels may run with 4 KiB, 16 KiB or 64 KiB pages.
            Arch::Aarch64 => 0x1_0000,
            // Linux on RISC-V and s390x uses 4 KiB base pages; x86-64 as well.
            Arch::X86_64 | Arch::Riscv64 | Arch::S390x => 0x1000,
        }
    }

    /// The architecture of the machine this crate was compiled for, if aotc supports it.
    pub const fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else {
            None
        }
    }
}

/// The one table of CPU features aotc records in AOT files: invokes `$mac!` with, per
/// architecture, one row per feature:
///
/// `$(#[doc])* CONST = bit, "name", [cranelift flags], detect;`
///
/// - `CONST` and `bit`: the constant of [`cpu_features`] and its bit number (stored in files;
///   each architecture numbers its own features from 0, so changing a bit changes the format);
/// - `"name"`: the name `--cpu-features` accepts and `aotc inspect` shows;
/// - the Cranelift ISA flags that make up the feature (all set: the feature is on; none: the
///   architecture's baseline, always on);
/// - `detect`: the name `std`'s runtime detection macro (`is_x86_feature_detected!`,
///   `is_aarch64_feature_detected!`, `is_s390x_feature_detected!`) knows the feature by, or `_` where `std` has none.
///
/// [`cpu_features`] (constants and names), the compiler's flag mapping and the loader's host
/// detection are all generated from this table.
#[macro_export]
macro_rules! foreach_cpu_feature {
    ($mac:ident) => {
        $mac! {
            X86_64 {
                /// x86-64: SSE3.
                X86_SSE3 = 0, "sse3", ["has_sse3"], "sse3";
                /// x86-64: SSSE3.
                X86_SSSE3 = 1, "ssse3", ["has_ssse3"], "ssse3";
                /// x86-64: SSE4.1.
                X86_SSE41 = 2, "sse4.1", ["has_sse41"], "sse4.1";
                /// x86-64: SSE4.2.
                X86_SSE42 = 3, "sse4.2", ["has_sse42"], "sse4.2";
                /// x86-64: POPCNT.
                X86_POPCNT = 4, "popcnt", ["has_popcnt"], "popcnt";
                /// x86-64: AVX.
                X86_AVX = 5, "avx", ["has_avx"], "avx";
                /// x86-64: AVX2.
                X86_AVX2 = 6, "avx2", ["has_avx2"], "avx2";
                /// x86-64: BMI1.
                X86_BMI1 = 7, "bmi1", ["has_bmi1"], "bmi1";
                /// x86-64: BMI2.
                X86_BMI2 = 8, "bmi2", ["has_bmi2"], "bmi2";
                /// x86-64: LZCNT.
                X86_LZCNT = 9, "lzcnt", ["has_lzcnt"], "lzcnt";
                /// x86-64: FMA.
                X86_FMA = 10, "fma", ["has_fma"], "fma";
            }
            Aarch64 {
                /// AArch64: LSE atomics.
                ARM64_LSE = 0, "lse", ["has_lse"], "lse";
                /// AArch64: pointer authentication.
                ARM64_PAUTH = 1, "pauth", ["has_pauth"], "paca";
                /// AArch64: FEAT_FP16.
                ARM64_FP16 = 2, "fp16", ["has_fp16"], "fp16";
            }
            Riscv64 {
                /// RISC-V: the M, A, F and D extensions (RV64G); Cranelift requires all of them.
                RISCV_G = 0, "g",
                    ["has_m", "has_a", "has_f", "has_d", "has_zicsr", "has_zifencei"], _;
                /// RISC-V: compressed instructions (C).
                RISCV_C = 1, "c", ["has_zca", "has_zcd"], _;
                /// RISC-V: bit manipulation Zba.
                RISCV_ZBA = 2, "zba", ["has_zba"], _;
                /// RISC-V: bit manipulation Zbb.
                RISCV_ZBB = 3, "zbb", ["has_zbb"], _;
                /// RISC-V: the vector extension with 128-bit or wider registers (V, Zvl128b);
                /// Cranelift needs it for `v128`.
                RISCV_V = 4, "v", ["has_v", "has_zvl128b"], _;
            }
            S390x {
                /// s390x: z14 (arch12) vector enhancements 1; Cranelift's baseline, always on.
                S390X_ARCH12 = 0, "arch12", [], "vector-enhancements-1";
                /// s390x: z15 (arch13) miscellaneous extensions 3.
                S390X_ARCH13 = 1, "arch13", ["has_mie3", "has_vxrs_ext2"],
                    "miscellaneous-extensions-3";
            }
        }
    };
}

macro_rules! define_cpu_features {
    ($( $arch:ident {
        $( $(#[$doc:meta])* $konst:ident = $bit:literal, $name:literal,
           [$($flag:literal),*], $detect:tt; )*
    } )*) => {
        /// CPU feature bits recorded in an AOT file, per architecture (generated from
        /// [`foreach_cpu_feature!`]). A loader refuses a file that needs a feature the host
        /// lacks.
        pub mod cpu_features {
            $( $( $(#[$doc])* pub const $konst: u64 = 1 << $bit; )* )*

            /// Names of the feature bits of `arch`, as (name, bit) pairs, as accepted by
            /// `--cpu-features` (`+name,-name`).
            pub const fn names(arch: super::Arch) -> &'static [(&'static str, u64)] {
                match arch {
                    $( super::Arch::$arch => &[ $( ($name, $konst), )* ], )*
                }
            }
        }
    };
}

foreach_cpu_feature!(define_cpu_features);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_feature_names_and_bits_are_unique_per_arch() {
        for arch in Arch::ALL {
            let names = cpu_features::names(arch);
            for (i, (name, bit)) in names.iter().enumerate() {
                assert_eq!(bit.count_ones(), 1, "{name}");
                for (other, other_bit) in &names[i + 1..] {
                    assert_ne!(name, other);
                    assert_ne!(bit, other_bit, "{name} and {other}");
                }
            }
        }
    }
}
