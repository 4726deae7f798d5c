//! Converting wast arguments to runtime values, and wast's expected results to the plan's
//! (bit-exact floats, `nan:canonical`, `nan:arithmetic`, references), which `aotc-spec-exec`
//! matches.

use aotc_loader::Val;
use aotc_spec_exec::plan::{Expected, NanKind};
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
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
