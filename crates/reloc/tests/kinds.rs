//! Every relocation kind on its target: the bytes written (byte order included), the range
//! limits on both sides, alignment, and the refusals.

use aotc_abi::{Arch, Builtin};
use aotc_format::layout::{Reloc, RelocKind, RelocTarget};
use aotc_reloc::{RelocError, RelocErrorKind, apply, apply_reloc, relocate};

const BASE: u64 = 0x1_0000_0000;

fn patched(
    arch: Arch,
    mut text: Vec<u8>,
    offset: u32,
    kind: RelocKind,
    target: u64,
    addend: i64,
) -> Result<Vec<u8>, RelocError> {
    apply(arch, &mut text, BASE, offset, kind, target, addend).map(|()| text)
}

fn out_of_range(r: Result<Vec<u8>, RelocError>) -> bool {
    matches!(
        r,
        Err(RelocError {
            reason: RelocErrorKind::OutOfRange { .. },
            ..
        })
    )
}

#[test]
fn abs8_is_written_in_the_targets_byte_order() {
    let v = 0x0102_0304_0506_0708u64;
    for arch in Arch::ALL {
        let text = patched(arch, vec![0; 12], 2, RelocKind::Abs8, v - 8, 8).unwrap();
        let expected = match arch {
            Arch::S390x => v.to_be_bytes(),
            _ => v.to_le_bytes(),
        };
        assert_eq!(&text[2..10], &expected, "{arch:?}");
        assert_eq!(&text[..2], &[0, 0]);
        assert_eq!(&text[10..], &[0, 0]);
    }
}

#[test]
fn abs4_is_unsigned_32_bit_in_the_targets_byte_order() {
    let le = patched(Arch::X86_64, vec![0; 4], 0, RelocKind::Abs4, 0xffff_fffe, 1).unwrap();
    assert_eq!(le, [0xff, 0xff, 0xff, 0xff]);
    let be = patched(Arch::S390x, vec![0; 4], 0, RelocKind::Abs4, 0x1234_5678, 0).unwrap();
    assert_eq!(be, [0x12, 0x34, 0x56, 0x78]);
    assert!(out_of_range(patched(
        Arch::X86_64,
        vec![0; 4],
        0,
        RelocKind::Abs4,
        0x1_0000_0000,
        0
    )));
    assert!(out_of_range(patched(
        Arch::X86_64,
        vec![0; 4],
        0,
        RelocKind::Abs4,
        0,
        -1
    )));
}

#[test]
fn x86_pc_rel4_is_relative_to_the_site_with_the_addend() {
    // call rel32 at offset 0: the field at 1, addend -4 (relative to the next instruction).
    let text = patched(
        Arch::X86_64,
        vec![0xe8, 0, 0, 0, 0],
        1,
        RelocKind::X86PcRel4,
        BASE + 0x1000,
        -4,
    )
    .unwrap();
    assert_eq!(text, [0xe8, 0xfb, 0x0f, 0, 0]);
    let back = patched(
        Arch::X86_64,
        vec![0xe8, 0, 0, 0, 0],
        1,
        RelocKind::X86PcRel4,
        BASE - 0x10,
        -4,
    )
    .unwrap();
    assert_eq!(
        i32::from_le_bytes(back[1..5].try_into().unwrap()),
        -0x10 - 5
    );
    let site = BASE + 1;
    let max = site as i64 + i64::from(i32::MAX);
    assert!(
        patched(
            Arch::X86_64,
            vec![0; 5],
            1,
            RelocKind::X86PcRel4,
            max as u64,
            0
        )
        .is_ok()
    );
    assert!(out_of_range(patched(
        Arch::X86_64,
        vec![0; 5],
        1,
        RelocKind::X86PcRel4,
        max as u64 + 1,
        0
    )));
    assert!(out_of_range(patched(
        Arch::X86_64,
        vec![0; 5],
        1,
        RelocKind::X86PcRel4,
        0x7f00_0000_0000,
        0
    )));
}

#[test]
fn arm64_call_keeps_the_opcode_and_checks_range_and_alignment() {
    let bl = 0x9400_0000u32.to_le_bytes().to_vec();
    let fwd = patched(
        Arch::Aarch64,
        bl.clone(),
        0,
        RelocKind::Arm64Call,
        BASE + 0x100,
        0,
    )
    .unwrap();
    assert_eq!(fwd, 0x9400_0040u32.to_le_bytes());
    let back = patched(
        Arch::Aarch64,
        bl.clone(),
        0,
        RelocKind::Arm64Call,
        BASE - 4,
        0,
    )
    .unwrap();
    assert_eq!(back, 0x97ff_ffffu32.to_le_bytes());
    let b = 0x1400_0000u32.to_le_bytes().to_vec();
    let last = BASE + (1 << 27) - 4;
    assert_eq!(
        patched(Arch::Aarch64, b.clone(), 0, RelocKind::Arm64Call, last, 0).unwrap(),
        0x15ff_ffffu32.to_le_bytes()
    );
    assert_eq!(
        patched(
            Arch::Aarch64,
            b.clone(),
            0,
            RelocKind::Arm64Call,
            BASE - (1 << 27),
            0
        )
        .unwrap(),
        0x1600_0000u32.to_le_bytes()
    );
    assert!(out_of_range(patched(
        Arch::Aarch64,
        b.clone(),
        0,
        RelocKind::Arm64Call,
        last + 4,
        0
    )));
    assert!(out_of_range(patched(
        Arch::Aarch64,
        b.clone(),
        0,
        RelocKind::Arm64Call,
        BASE - (1 << 27) - 4,
        0
    )));
    let misaligned = patched(Arch::Aarch64, b, 0, RelocKind::Arm64Call, BASE + 2, 0);
    assert!(matches!(
        misaligned,
        Err(RelocError {
            reason: RelocErrorKind::Misaligned { .. },
            ..
        })
    ));
}

#[test]
fn riscv_call_plt_splits_the_distance_over_auipc_and_jalr() {
    let pair: Vec<u8> = [0x0000_0097u32, 0x0000_80e7]
        .iter()
        .flat_map(|i| i.to_le_bytes())
        .collect();
    let words = |t: Vec<u8>| {
        [
            u32::from_le_bytes(t[..4].try_into().unwrap()),
            u32::from_le_bytes(t[4..].try_into().unwrap()),
        ]
    };
    // 0x1800: hi20 rounds up to 0x2000, lo12 is -0x800.
    let t = patched(
        Arch::Riscv64,
        pair.clone(),
        0,
        RelocKind::RiscvCallPlt,
        BASE + 0x1800,
        0,
    )
    .unwrap();
    assert_eq!(words(t), [0x0000_2097, 0x8000_80e7]);
    let t = patched(
        Arch::Riscv64,
        pair.clone(),
        0,
        RelocKind::RiscvCallPlt,
        BASE + 0x7ff,
        0,
    )
    .unwrap();
    assert_eq!(words(t), [0x0000_0097, 0x7ff0_80e7]);
    let t = patched(
        Arch::Riscv64,
        pair.clone(),
        0,
        RelocKind::RiscvCallPlt,
        BASE - 8,
        0,
    )
    .unwrap();
    assert_eq!(words(t), [0x0000_0097, 0xff80_80e7]);
    let last = BASE + 0x7fff_f7ff;
    assert!(
        patched(
            Arch::Riscv64,
            pair.clone(),
            0,
            RelocKind::RiscvCallPlt,
            last,
            0
        )
        .is_ok()
    );
    assert!(out_of_range(patched(
        Arch::Riscv64,
        pair.clone(),
        0,
        RelocKind::RiscvCallPlt,
        last + 1,
        0
    )));
    assert!(
        patched(
            Arch::Riscv64,
            pair.clone(),
            0,
            RelocKind::RiscvCallPlt,
            BASE - 0x8000_0800,
            0
        )
        .is_ok()
    );
    assert!(out_of_range(patched(
        Arch::Riscv64,
        pair,
        0,
        RelocKind::RiscvCallPlt,
        BASE - 0x8000_0801,
        0
    )));
}

#[test]
fn s390x_pc_rel32_dbl_is_big_endian_halfwords() {
    // brasl %r14, target: the field at 2, addend 2 (relative to the instruction).
    let brasl = vec![0xc0, 0xe5, 0, 0, 0, 0];
    let t = patched(
        Arch::S390x,
        brasl.clone(),
        2,
        RelocKind::S390xPcRel32Dbl,
        BASE + 0x100,
        2,
    )
    .unwrap();
    assert_eq!(t, [0xc0, 0xe5, 0, 0, 0, 0x80]);
    let t = patched(
        Arch::S390x,
        brasl.clone(),
        2,
        RelocKind::S390xPcRel32Dbl,
        BASE - 0x100,
        2,
    )
    .unwrap();
    assert_eq!(t, [0xc0, 0xe5, 0xff, 0xff, 0xff, 0x80]);
    assert!(out_of_range(patched(
        Arch::S390x,
        brasl.clone(),
        2,
        RelocKind::S390xPcRel32Dbl,
        BASE + 2 + (1 << 32),
        0
    )));
    assert!(
        patched(
            Arch::S390x,
            brasl.clone(),
            2,
            RelocKind::S390xPcRel32Dbl,
            BASE + 2 + (1 << 32) - 2,
            0
        )
        .is_ok()
    );
    let odd = patched(
        Arch::S390x,
        brasl,
        2,
        RelocKind::S390xPcRel32Dbl,
        BASE + 3,
        2,
    );
    assert!(matches!(
        odd,
        Err(RelocError {
            reason: RelocErrorKind::Misaligned { .. },
            ..
        })
    ));
}

#[test]
fn refusals_name_the_site_the_target_and_the_range() {
    let e = patched(
        Arch::Aarch64,
        vec![0; 0x1238],
        0x1234,
        RelocKind::Arm64Call,
        0x7f00_0000_0000,
        0,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "call from text offset 0x1234 to 0x7f0000000000 is out of the ±128 MiB range of Arm64Call"
    );
    let e = patched(Arch::Aarch64, vec![0; 8], 0, RelocKind::X86PcRel4, 0, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "X86PcRel4 at text offset 0x0 is not a relocation of aarch64"
    );
    let e = patched(Arch::X86_64, vec![0; 8], 4, RelocKind::Abs8, 0, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Abs8 at text offset 0x4 patches 8 bytes beyond the text (0x8 bytes)"
    );
    let e = patched(Arch::X86_64, vec![0; 8], u32::MAX, RelocKind::Abs8, 0, 0).unwrap_err();
    assert_eq!(e.reason, RelocErrorKind::OutsideText { text_len: 8 });
}

#[test]
fn file_relocations_resolve_builtins_and_text_offsets() {
    let relocs = [
        Reloc {
            offset: 0,
            kind: RelocKind::Abs8,
            target: RelocTarget::Builtin(Builtin::ALL[0]),
            addend: 0,
        },
        Reloc {
            offset: 8,
            kind: RelocKind::Abs8,
            target: RelocTarget::TextOffset(4),
            addend: 1,
        },
    ];
    let mut text = [0u8; 16];
    relocate(Arch::X86_64, &mut text, BASE, &relocs, &|_| Some(0xabcd)).unwrap();
    assert_eq!(&text[..8], &0xabcdu64.to_le_bytes());
    assert_eq!(&text[8..], &(BASE + 5).to_le_bytes());
    let e = apply_reloc(Arch::X86_64, &mut text, BASE, &relocs[0], &|_| None).unwrap_err();
    assert_eq!(e.reason, RelocErrorKind::UnknownBuiltin(Builtin::ALL[0]));
    let far = Reloc {
        target: RelocTarget::TextOffset(17),
        ..relocs[1]
    };
    let e = apply_reloc(Arch::X86_64, &mut text, BASE, &far, &|_| None).unwrap_err();
    assert_eq!(e.reason, RelocErrorKind::TargetOutsideText { offset: 17 });
}
