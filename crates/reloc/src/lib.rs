//! The one relocator of aotc: applies every relocation kind an AOT file carries, for every
//! target, whatever the host (byte order written explicitly, every range checked). The loader
//! uses it for normal files at run time and the compiler for prelinked files at compile time:
//! the same code, tested once (here, and against ld.lld by `crates/aotc/tests/prelink_lld.rs`).
//!
//! `no_std`, no allocation; depends only on the ABI and the format's reader types.

#![no_std]

use core::fmt;

use aotc_abi::target::Endianness;
use aotc_abi::{Arch, Builtin};
use aotc_format::layout::{Reloc, RelocKind, RelocTarget};

/// Where the text is and where the things it refers to are.
pub trait Resolver {
    /// The address of `builtin`, or `None` if the runtime has none.
    fn builtin(&self, builtin: Builtin) -> Option<u64>;
}

impl<F: Fn(Builtin) -> Option<u64>> Resolver for F {
    fn builtin(&self, builtin: Builtin) -> Option<u64> {
        self(builtin)
    }
}

/// Why a relocation cannot be applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RelocErrorKind {
    /// The value does not fit the field of the kind.
    OutOfRange {
        /// The address the site refers to (`target + addend`).
        target: u64,
    },
    /// The distance is not a multiple of the kind's unit (4 for Arm64Call, 2 for s390x).
    Misaligned {
        /// The address the site refers to (`target + addend`).
        target: u64,
    },
    /// The patched bytes are not all inside the text.
    OutsideText {
        /// Text length.
        text_len: usize,
    },
    /// The kind belongs to another architecture than the file's.
    WrongArch {
        /// The file's architecture.
        arch: Arch,
    },
    /// The runtime has no address for this builtin.
    UnknownBuiltin(Builtin),
    /// A text-offset target beyond the text.
    TargetOutsideText {
        /// The target offset.
        offset: u32,
    },
}

/// A relocation that cannot be applied: which one and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RelocError {
    /// Text offset of the site.
    pub text_offset: u32,
    /// The relocation kind.
    pub kind: RelocKind,
    /// Why.
    pub reason: RelocErrorKind,
}

/// The range of a kind, as shown in errors.
fn range_name(kind: RelocKind) -> &'static str {
    match kind {
        RelocKind::Abs8 => "64-bit",
        RelocKind::Abs4 => "unsigned 32-bit",
        RelocKind::X86PcRel4 => "±2 GiB",
        RelocKind::Arm64Call => "±128 MiB",
        RelocKind::RiscvCallPlt => "±2 GiB",
        RelocKind::S390xPcRel32Dbl => "±4 GiB",
    }
}

impl fmt::Display for RelocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, kind) = (self.text_offset, self.kind.name());
        match self.reason {
            RelocErrorKind::OutOfRange { target } => write!(
                f,
                "call from text offset {at:#x} to {target:#x} is out of the {} range of {kind}",
                range_name(self.kind)
            ),
            RelocErrorKind::Misaligned { target } => write!(
                f,
                "call from text offset {at:#x} to {target:#x} is not a multiple of {} bytes away, as {kind} needs",
                if self.kind == RelocKind::Arm64Call {
                    4
                } else {
                    2
                }
            ),
            RelocErrorKind::OutsideText { text_len } => write!(
                f,
                "{kind} at text offset {at:#x} patches {} bytes beyond the text ({text_len:#x} bytes)",
                self.kind.patch_size()
            ),
            RelocErrorKind::WrongArch { arch } => write!(
                f,
                "{kind} at text offset {at:#x} is not a relocation of {}",
                arch.name()
            ),
            RelocErrorKind::UnknownBuiltin(b) => write!(
                f,
                "{kind} at text offset {at:#x} refers to builtin {}, which has no address",
                b.name()
            ),
            RelocErrorKind::TargetOutsideText { offset } => write!(
                f,
                "{kind} at text offset {at:#x} refers to text offset {offset:#x}, beyond the text"
            ),
        }
    }
}

impl core::error::Error for RelocError {}

/// The architecture a kind belongs to; `None` for the absolute kinds, which every target has.
pub const fn kind_arch(kind: RelocKind) -> Option<Arch> {
    match kind {
        RelocKind::Abs8 | RelocKind::Abs4 => None,
        RelocKind::X86PcRel4 => Some(Arch::X86_64),
        RelocKind::Arm64Call => Some(Arch::Aarch64),
        RelocKind::RiscvCallPlt => Some(Arch::Riscv64),
        RelocKind::S390xPcRel32Dbl => Some(Arch::S390x),
    }
}

fn read32(bytes: &[u8], order: Endianness) -> u32 {
    let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
    match order {
        Endianness::Little => u32::from_le_bytes(b),
        Endianness::Big => u32::from_be_bytes(b),
    }
}

fn write32(bytes: &mut [u8], value: u32, order: Endianness) {
    bytes[..4].copy_from_slice(&match order {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    });
}

/// Applies one relocation to `text`, which will execute at address `text_address` on `arch`.
/// `target` is the absolute address the relocation refers to, before the addend.
pub fn apply(
    arch: Arch,
    text: &mut [u8],
    text_address: u64,
    offset: u32,
    kind: RelocKind,
    target: u64,
    addend: i64,
) -> Result<(), RelocError> {
    let error = |reason| RelocError {
        text_offset: offset,
        kind,
        reason,
    };
    if kind_arch(kind).is_some_and(|a| a != arch) {
        return Err(error(RelocErrorKind::WrongArch { arch }));
    }
    let text_len = text.len();
    let start = offset as usize;
    let Some(patch) = start
        .checked_add(kind.patch_size() as usize)
        .and_then(|end| text.get_mut(start..end))
    else {
        return Err(error(RelocErrorKind::OutsideText { text_len }));
    };
    let order = arch.endianness();
    let value = target.wrapping_add(addend as u64);
    let site = text_address.wrapping_add(u64::from(offset));
    // The PC-relative distance, as a signed 64-bit number (addresses are 64-bit on every target).
    let delta = value.wrapping_sub(site) as i64;
    let out_of_range = || error(RelocErrorKind::OutOfRange { target: value });
    let fits = |v: i64, bits: u32| v >= -(1i64 << (bits - 1)) && v < (1i64 << (bits - 1));
    match kind {
        RelocKind::Abs8 => patch.copy_from_slice(&match order {
            Endianness::Little => value.to_le_bytes(),
            Endianness::Big => value.to_be_bytes(),
        }),
        RelocKind::Abs4 => {
            let v = u32::try_from(value).map_err(|_| out_of_range())?;
            write32(patch, v, order);
        }
        RelocKind::X86PcRel4 => {
            if !fits(delta, 32) {
                return Err(out_of_range());
            }
            write32(patch, delta as u32, Endianness::Little);
        }
        RelocKind::Arm64Call => {
            if !fits(delta, 28) {
                return Err(out_of_range());
            }
            if delta % 4 != 0 {
                return Err(error(RelocErrorKind::Misaligned { target: value }));
            }
            let insn = read32(patch, Endianness::Little);
            let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
            write32(patch, (insn & !0x03ff_ffff) | imm, Endianness::Little);
        }
        RelocKind::RiscvCallPlt => {
            // `auipc` takes the upper 20 bits rounded so that `jalr`'s sign-extended lower 12
            // bits complete them.
            if !fits(delta.wrapping_add(0x800), 32) {
                return Err(out_of_range());
            }
            let delta = delta as u32;
            let hi20 = delta.wrapping_add(0x800) & 0xffff_f000;
            let lo12 = delta.wrapping_sub(hi20) & 0xfff;
            let (auipc, jalr) = patch.split_at_mut(4);
            let a = read32(auipc, Endianness::Little);
            write32(auipc, (a & 0xfff) | hi20, Endianness::Little);
            let j = read32(jalr, Endianness::Little);
            write32(jalr, (j & 0x000f_ffff) | (lo12 << 20), Endianness::Little);
        }
        RelocKind::S390xPcRel32Dbl => {
            if !fits(delta, 33) {
                return Err(out_of_range());
            }
            if delta % 2 != 0 {
                return Err(error(RelocErrorKind::Misaligned { target: value }));
            }
            write32(patch, (delta >> 1) as u32, Endianness::Big);
        }
    }
    Ok(())
}

/// Applies `relocs` to `text`, which will execute at `text_address` on `arch`, with builtins at
/// the addresses `resolver` gives.
pub fn relocate<'r>(
    arch: Arch,
    text: &mut [u8],
    text_address: u64,
    relocs: impl IntoIterator<Item = &'r Reloc>,
    resolver: &impl Resolver,
) -> Result<(), RelocError> {
    for r in relocs {
        apply_reloc(arch, text, text_address, r, resolver)?;
    }
    Ok(())
}

/// Applies one file relocation (its target resolved through `resolver` or the text address).
pub fn apply_reloc(
    arch: Arch,
    text: &mut [u8],
    text_address: u64,
    r: &Reloc,
    resolver: &impl Resolver,
) -> Result<(), RelocError> {
    let error = |reason| RelocError {
        text_offset: r.offset,
        kind: r.kind,
        reason,
    };
    let target = match r.target {
        RelocTarget::Builtin(b) => resolver
            .builtin(b)
            .ok_or_else(|| error(RelocErrorKind::UnknownBuiltin(b)))?,
        RelocTarget::TextOffset(offset) => {
            if offset as usize > text.len() {
                return Err(error(RelocErrorKind::TargetOutsideText { offset }));
            }
            text_address.wrapping_add(u64::from(offset))
        }
    };
    apply(arch, text, text_address, r.offset, r.kind, target, r.addend)
}
