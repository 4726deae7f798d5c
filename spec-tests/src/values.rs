//! Converting wast arguments to runtime values, and wast's expected results to the plan's
//! (bit-exact floats, `nan:canonical`, `nan:arithmetic`, references, and `v128` lanes with a
//! pattern per float lane), which `aotc-spec-exec` matches.

use aotc_loader::Val;
use aotc_spec_exec::plan::{Expected, FloatLane, NanKind, V128Lanes};
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

fn f32_lane(p: &NanPattern<wast::token::F32>) -> FloatLane {
    match p {
        NanPattern::CanonicalNan => FloatLane::Nan(NanKind::Canonical),
        NanPattern::ArithmeticNan => FloatLane::Nan(NanKind::Arithmetic),
        NanPattern::Value(v) => FloatLane::Bits(u64::from(v.bits)),
    }
}

fn f64_lane(p: &NanPattern<wast::token::F64>) -> FloatLane {
    match p {
        NanPattern::CanonicalNan => FloatLane::Nan(NanKind::Canonical),
        NanPattern::ArithmeticNan => FloatLane::Nan(NanKind::Arithmetic),
        NanPattern::Value(v) => FloatLane::Bits(v.bits),
    }
}

/// The plan's lane pattern of a wast `v128` pattern (integer lanes as their bits).
fn v128_lanes(p: &V128Pattern) -> V128Lanes {
    match p {
        V128Pattern::I8x16(e) => V128Lanes::I8x16(e.map(|x| x as u8)),
        V128Pattern::I16x8(e) => V128Lanes::I16x8(e.map(|x| x as u16)),
        V128Pattern::I32x4(e) => V128Lanes::I32x4(e.map(|x| x as u32)),
        V128Pattern::I64x2(e) => V128Lanes::I64x2(e.map(|x| x as u64)),
        V128Pattern::F32x4(e) => V128Lanes::F32x4(e.each_ref().map(f32_lane)),
        V128Pattern::F64x2(e) => V128Lanes::F64x2(e.each_ref().map(f64_lane)),
    }
}

fn expected_core(expected: &WastRetCore<'_>) -> Result<Expected, String> {
    Ok(match expected {
        WastRetCore::I32(v) => Expected::Exact(Val::I32(*v)),
        WastRetCore::I64(v) => Expected::Exact(Val::I64(*v)),
        WastRetCore::F32(NanPattern::CanonicalNan) => Expected::F32Nan(NanKind::Canonical),
        WastRetCore::F32(NanPattern::ArithmeticNan) => Expected::F32Nan(NanKind::Arithmetic),
        WastRetCore::F32(NanPattern::Value(v)) => Expected::Exact(Val::F32(v.bits)),
        WastRetCore::F64(NanPattern::CanonicalNan) => Expected::F64Nan(NanKind::Canonical),
        WastRetCore::F64(NanPattern::ArithmeticNan) => Expected::F64Nan(NanKind::Arithmetic),
        WastRetCore::F64(NanPattern::Value(v)) => Expected::Exact(Val::F64(v.bits)),
        WastRetCore::V128(p) => Expected::V128(v128_lanes(p)),
        WastRetCore::RefNull(Some(HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        })) => Expected::Exact(Val::FuncRef(None)),
        WastRetCore::RefNull(Some(HeapType::Abstract {
            ty: AbstractHeapType::Extern,
            ..
        })) => Expected::Exact(Val::ExternRef(None)),
        WastRetCore::RefNull(_) => Expected::RefNull,
        WastRetCore::RefExtern(None) => Expected::AnyExternRef,
        WastRetCore::RefExtern(Some(n)) => Expected::Exact(Val::ExternRef(Some(*n as usize))),
        WastRetCore::RefFunc(_) => Expected::AnyFuncRef,
        WastRetCore::Either(options) => Expected::Either(
            options
                .iter()
                .map(expected_core)
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("unsupported expected result {other:?}")),
    })
}

/// The plan's form of an expected result.
pub fn expected(expected: &WastRet<'_>) -> Result<Expected, String> {
    match expected {
        WastRet::Core(e) => expected_core(e),
        _ => Err("component-model results are not supported".into()),
    }
}
