//! Ties `ABI_VERSION` to a fingerprint of everything in this crate that compiled code can
//! observe: the builtin table (names, indices, signatures), the vmctx and runtime-structure
//! offsets for 4- and 8-byte pointers, trap codes, value type encodings, trampoline
//! conventions, float comparison codes, intrinsic numbering and the per-target facts layouts
//! depend on. Changing any of them without bumping `ABI_VERSION` fails here.

use std::fmt::Write;

use aotc_abi::builtins::{BUILTIN_COUNT, Builtin};
use aotc_abi::intrinsics::{FloatCmp, INTRINSICS};
use aotc_abi::trampoline::HOST_CTX_CALLBACK_OFFSET;
use aotc_abi::types::VAL_RAW_SIZE;
use aotc_abi::version::ABI_VERSION;
use aotc_abi::vmctx::VmctxOffsets;
use aotc_abi::{Arch, TrapCode, ValType};

/// The `ABI_VERSION` and the fingerprint of [`observable_abi`] it was recorded with.
const RECORDED: (u32, u64) = (7, 0x6575_6ae9_a193_4e3f);

/// Everything compiled code can observe, one fact a line.
fn observable_abi() -> String {
    let mut out = String::new();
    writeln!(out, "builtins {BUILTIN_COUNT}").unwrap();
    for builtin in Builtin::ALL {
        writeln!(
            out,
            "builtin {} {}({:?}) -> {:?} {:?}",
            builtin.index(),
            builtin.name(),
            builtin.params(),
            builtin.results(),
            Arch::ALL.map(|arch| builtin.call_conv(arch)),
        )
        .unwrap();
    }
    for pointer_size in [4, 8] {
        write_vmctx_offsets(&mut out, VmctxOffsets::new(pointer_size));
    }
    for code in TrapCode::ALL {
        writeln!(out, "trap {} {code:?}", code as u8).unwrap();
    }
    for byte in 0..=u8::MAX {
        if let Some(ty) = ValType::from_u8(byte) {
            writeln!(out, "valtype {byte:#x} {} ref={}", ty.name(), ty.is_ref()).unwrap();
        }
    }
    writeln!(out, "val_raw_size {VAL_RAW_SIZE}").unwrap();
    writeln!(out, "host_ctx_callback {HOST_CTX_CALLBACK_OFFSET}").unwrap();
    for code in -1..=i32::from(u8::MAX) {
        if let Some(cmp) = FloatCmp::from_i32(code) {
            writeln!(out, "float_cmp {code} {cmp:?}").unwrap();
        }
    }
    writeln!(out, "float_cmp_abs {} {}", FloatCmp::ABS_A, FloatCmp::ABS_B).unwrap();
    for (bit, intrinsic) in INTRINSICS.iter().enumerate() {
        writeln!(
            out,
            "intrinsic {bit} {} {:?}",
            intrinsic.name, intrinsic.capability
        )
        .unwrap();
    }
    for arch in Arch::ALL {
        writeln!(
            out,
            "arch {} pointer={} {:?}",
            arch.name(),
            arch.pointer_size(),
            arch.endianness()
        )
        .unwrap();
    }
    out
}

/// Every offset and size [`VmctxOffsets`] gives, by name.
fn write_vmctx_offsets(out: &mut String, offsets: VmctxOffsets) {
    macro_rules! write_offsets {
        ($($accessor:ident),* $(,)?) => {
            $( writeln!(
                out,
                "vmctx/{} {} {}",
                offsets.pointer_size(),
                stringify!($accessor),
                offsets.$accessor()
            )
            .unwrap(); )*
        };
    }
    write_offsets!(
        memory,
        stack_limit,
        functions,
        builtins,
        globals,
        tables,
        type_ids,
        constants,
        runtime,
        size,
        memory_def_base,
        memory_def_length,
        memory_def_size,
        table_def_base,
        table_def_length,
        table_def_size,
        func_ref_wasm_call,
        func_ref_array_call,
        func_ref_vmctx,
        func_ref_type_id,
        func_ref_size,
        global_size,
    );
}

/// 64-bit FNV-1a: small, stable across Rust versions and platforms (unlike `std`'s hashers).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn abi_version_changes_with_what_compiled_code_observes() {
    let fingerprint = fnv1a(observable_abi().as_bytes());
    let (recorded_version, recorded_fingerprint) = RECORDED;
    assert!(
        fingerprint == recorded_fingerprint || ABI_VERSION != recorded_version,
        "something compiled code can observe changed (ABI fingerprint {fingerprint:#018x}, \
         recorded {recorded_fingerprint:#018x}) but ABI_VERSION is still {ABI_VERSION}: bump \
         ABI_VERSION in crates/abi/src/version.rs, then record the new pair in RECORDED in \
         crates/abi/tests/abi_version.rs"
    );
    assert_eq!(
        (ABI_VERSION, fingerprint),
        RECORDED,
        "record (ABI_VERSION, fingerprint) = ({ABI_VERSION}, {fingerprint:#018x}) in RECORDED in \
         crates/abi/tests/abi_version.rs"
    );
}
