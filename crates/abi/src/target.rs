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

/// CPU feature bits recorded in an AOT file, per architecture. A loader refuses a file that
/// needs a feature the host lacks.
pub mod cpu_features {
    /// x86-64: SSE3.
    pub const X86_SSE3: u64 = 1 << 0;
    /// x86-64: SSSE3.
    pub const X86_SSSE3: u64 = 1 << 1;
    /// x86-64: SSE4.1.
    pub const X86_SSE41: u64 = 1 << 2;
    /// x86-64: SSE4.2.
    pub const X86_SSE42: u64 = 1 << 3;
    /// x86-64: POPCNT.
    pub const X86_POPCNT: u64 = 1 << 4;
    /// x86-64: AVX.
    pub const X86_AVX: u64 = 1 << 5;
    /// x86-64: AVX2.
    pub const X86_AVX2: u64 = 1 << 6;
    /// x86-64: BMI1.
    pub const X86_BMI1: u64 = 1 << 7;
    /// x86-64: BMI2.
    pub const X86_BMI2: u64 = 1 << 8;
    /// x86-64: LZCNT.
    pub const X86_LZCNT: u64 = 1 << 9;
    /// x86-64: FMA.
    pub const X86_FMA: u64 = 1 << 10;

    /// AArch64: LSE atomics.
    pub const ARM64_LSE: u64 = 1 << 0;
    /// AArch64: pointer authentication.
    pub const ARM64_PAUTH: u64 = 1 << 1;
    /// AArch64: FEAT_FP16.
    pub const ARM64_FP16: u64 = 1 << 2;

    /// RISC-V: the M, A, F and D extensions (RV64G); Cranelift requires all of them.
    pub const RISCV_G: u64 = 1 << 0;
    /// RISC-V: compressed instructions (C).
    pub const RISCV_C: u64 = 1 << 1;
    /// RISC-V: bit manipulation Zba.
    pub const RISCV_ZBA: u64 = 1 << 2;
    /// RISC-V: bit manipulation Zbb.
    pub const RISCV_ZBB: u64 = 1 << 3;

    /// s390x: z14 (arch12) vector enhancements 1.
    pub const S390X_ARCH12: u64 = 1 << 0;
    /// s390x: z15 (arch13) miscellaneous extensions 3.
    pub const S390X_ARCH13: u64 = 1 << 1;

    /// Names of the feature bits of `arch`, as (name, bit) pairs, as accepted by
    /// `--cpu-features` (`+name,-name`).
    pub const fn names(arch: super::Arch) -> &'static [(&'static str, u64)] {
        match arch {
            super::Arch::X86_64 => &[
                ("sse3", X86_SSE3),
                ("ssse3", X86_SSSE3),
                ("sse4.1", X86_SSE41),
                ("sse4.2", X86_SSE42),
                ("popcnt", X86_POPCNT),
                ("avx", X86_AVX),
                ("avx2", X86_AVX2),
                ("bmi1", X86_BMI1),
                ("bmi2", X86_BMI2),
                ("lzcnt", X86_LZCNT),
                ("fma", X86_FMA),
            ],
            super::Arch::Aarch64 => &[
                ("lse", ARM64_LSE),
                ("pauth", ARM64_PAUTH),
                ("fp16", ARM64_FP16),
            ],
            super::Arch::Riscv64 => &[
                ("g", RISCV_G),
                ("c", RISCV_C),
                ("zba", RISCV_ZBA),
                ("zbb", RISCV_ZBB),
            ],
            super::Arch::S390x => &[("arch12", S390X_ARCH12), ("arch13", S390X_ARCH13)],
        }
    }
}
