//! Converting wast arguments to runtime values, and matching results against expectations
//! (bit-exact floats, `nan:canonical`, `nan:arithmetic`, references, and `v128` lanes with a
//! pattern per float lane).

use aotc_loader::Val;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// A runtime value for a wast argument.
pub fn arg(a: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(a) = a else {
        return Err("component-model arguments are not supported".into());
    };
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        }) => Val::FuncRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern,
            ..
        }) => Val::ExternRef(None),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n as usize)),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

fn f32_matches(p: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(p: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Whether `v` matches the lanes of `p` (integers exactly, floats by their pattern).
fn v128_matches(p: &V128Pattern, v: u128) -> bool {
    let bytes = v.to_le_bytes();
    let lane32 = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let lane64 = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    match p {
        V128Pattern::I8x16(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
        V128Pattern::I16x8(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
        V128Pattern::I32x4(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
        V128Pattern::I64x2(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
        V128Pattern::F32x4(e) => {
            (e.iter().zip(bytes.chunks_exact(4))).all(|(p, c)| f32_matches(p, lane32(c)))
        }
        V128Pattern::F64x2(e) => {
            (e.iter().zip(bytes.chunks_exact(8))).all(|(p, c)| f64_matches(p, lane64(c)))
        }
    }
}

fn matches(expected: &WastRetCore<'_>, actual: &Val) -> bool {
    match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(p), Val::F32(a)) => f32_matches(p, *a),
        (WastRetCore::F64(p), Val::F64(a)) => f64_matches(p, *a),
        (WastRetCore::V128(p), Val::V128(a)) => v128_matches(p, *a),
        (WastRetCore::RefNull(ty), Val::FuncRef(None)) => !matches!(
            ty,
            Some(HeapType::Abstract {
                ty: AbstractHeapType::Extern,
                ..
            })
        ),
        (WastRetCore::RefNull(ty), Val::ExternRef(None)) => !matches!(
            ty,
            Some(HeapType::Abstract {
                ty: AbstractHeapType::Func,
                ..
            })
        ),
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(a))) => *n as usize == *a,
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(options), a) => options.iter().any(|o| matches(o, a)),
        _ => false,
    }
}

/// Checks `actual` against the expected results.
pub fn check_results(expected: &[WastRet<'_>], actual: &[Val]) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} result(s), got {}: {actual:?}",
            expected.len(),
            actual.len()
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        let WastRet::Core(e) = e else {
            return Err("component-model results are not supported".into());
        };
        if !matches(e, a) {
            return Err(format!("result {i}: expected {e:?}, got {}", show(a)));
        }
    }
    Ok(())
}

/// A readable form of a value (floats with their bits).
pub fn show(v: &Val) -> String {
    match v {
        Val::F32(b) => format!("f32 {} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64 {} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(v) => format!("v128 {v:#034x} (lane 0 lowest)"),
        other => format!("{other:?}"),
    }
}
