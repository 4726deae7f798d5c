//! Values and functions: [`Val`], [`Func`] (wasm functions of an instance, and host functions),
//! calling wasm from the host through entry trampolines, and running host functions called from
//! wasm through the importing module's exit trampolines.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use aotc_abi::{TrapCode, ValType};

use crate::error::{AccessError, HostError};
use crate::instance::InstanceInner;
use crate::live_instances::{self, WeakOwner};
use crate::module::Module;
use crate::trap::{self, Trap, Unwind, WasmCall};
use crate::types::{FuncType, signature_id};
use crate::vmctx::{FuncRef, HostCallback, ValRaw};

/// A function reference as a host value.
pub type FuncRefHandle = Func;

/// A wasm value.
#[derive(Clone, Debug)]
pub enum Val {
    /// i32.
    I32(i32),
    /// i64.
    I64(i64),
    /// f32, as bits (NaN payloads preserved).
    F32(u32),
    /// f64, as bits.
    F64(u64),
    /// v128, as the number whose least significant byte is lane 0 of its `i8x16` view.
    V128(u128),
    /// A nullable function reference.
    FuncRef(Option<FuncRefHandle>),
    /// A nullable external reference: an opaque host payload (any value but `usize::MAX`).
    ExternRef(Option<usize>),
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::I32(a), Val::I32(b)) => a == b,
            (Val::I64(a), Val::I64(b)) => a == b,
            (Val::F32(a), Val::F32(b)) => a == b,
            (Val::F64(a), Val::F64(b)) => a == b,
            (Val::V128(a), Val::V128(b)) => a == b,
            (Val::FuncRef(a), Val::FuncRef(b)) => match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same(b),
                _ => false,
            },
            (Val::ExternRef(a), Val::ExternRef(b)) => a == b,
            _ => false,
        }
    }
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The zero (or null) value of `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    /// A `v128` from its hexadecimal form, as [`Val::v128_hex`] writes it: `0x` and 1 to 32
    /// hex digits (`_` allowed between them), the 128-bit number whose least significant byte
    /// is lane 0 of the `i8x16` view. `None` when `s` is not of that form.
    pub fn v128_from_hex(s: &str) -> Option<Val> {
        let digits: String = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))?
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if digits.is_empty() || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        u128::from_str_radix(&digits, 16).ok().map(Val::V128)
    }

    /// The hexadecimal form of a `v128` (`0x` and 32 digits, lane 0 in the lowest byte), if
    /// this is one.
    pub fn v128_hex(&self) -> Option<String> {
        match self {
            Val::V128(v) => Some(format!("{v:#034x}")),
            _ => None,
        }
    }

    /// The i32, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The i64, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The f32, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The f64, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The pointer-sized representation of a reference (0 is null); `None` for other types.
    pub(crate) fn ref_bits(&self) -> Result<Option<usize>, AccessError> {
        Ok(match self {
            Val::FuncRef(None) | Val::ExternRef(None) => Some(0),
            Val::FuncRef(Some(f)) => Some(f.funcref_address()?),
            Val::ExternRef(Some(v)) => {
                Some(v.checked_add(1).ok_or(AccessError::ExternRefOutOfRange)?)
            }
            _ => None,
        })
    }

    /// The value in a slot of the array-call convention.
    pub(crate) fn to_raw(&self) -> Result<ValRaw, AccessError> {
        let mut raw = ValRaw::default();
        match self {
            Val::I32(v) => raw.0[..4].copy_from_slice(&v.to_ne_bytes()),
            Val::I64(v) => raw.0[..8].copy_from_slice(&v.to_ne_bytes()),
            Val::F32(v) => raw.0[..4].copy_from_slice(&v.to_ne_bytes()),
            Val::F64(v) => raw.0[..8].copy_from_slice(&v.to_ne_bytes()),
            Val::V128(v) => raw.0 = v.to_le_bytes(),
            Val::FuncRef(_) | Val::ExternRef(_) => {
                let bits = self.ref_bits()?.unwrap_or(0);
                raw.0[..size_of::<usize>()].copy_from_slice(&bits.to_ne_bytes());
            }
        }
        Ok(raw)
    }

    /// Reads a value of type `ty` from a slot.
    pub(crate) fn from_raw(ty: ValType, raw: ValRaw) -> Val {
        let b = raw.0;
        let u32v = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        let u64v = u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        match ty {
            ValType::I32 => Val::I32(u32v as i32),
            ValType::I64 => Val::I64(u64v as i64),
            ValType::F32 => Val::F32(u32v),
            ValType::F64 => Val::F64(u64v),
            ValType::V128 => Val::V128(u128::from_le_bytes(b)),
            ValType::FuncRef | ValType::ExternRef => {
                let mut bits = [0u8; size_of::<usize>()];
                bits.copy_from_slice(&b[..size_of::<usize>()]);
                Val::from_table_element(ty, usize::from_ne_bytes(bits))
            }
        }
    }

    /// The representation of this reference in a table of `element` type.
    pub(crate) fn to_table_element(&self, element: ValType) -> Result<usize, AccessError> {
        if self.ty() != element {
            return Err(AccessError::TypeMismatch {
                expected: element,
                found: self.ty(),
            });
        }
        self.ref_bits()?.ok_or(AccessError::TypeMismatch {
            expected: element,
            found: self.ty(),
        })
    }

    /// A reference of type `ty` from its pointer-sized representation.
    pub(crate) fn from_table_element(ty: ValType, bits: usize) -> Val {
        match ty {
            ValType::ExternRef => Val::ExternRef(bits.checked_sub(1)),
            _ if bits == 0 => Val::FuncRef(None),
            _ => Val::FuncRef(live_instances::func_from_funcref(bits)),
        }
    }
}

/// A function: a wasm function of an instance, or a host function. Clones share the function;
/// a handle keeps what it needs (its instance, or the host closure) alive.
#[derive(Clone)]
pub struct Func {
    repr: FuncRepr,
}

#[derive(Clone)]
enum FuncRepr {
    /// A function defined by an instance's module.
    Wasm {
        instance: Rc<InstanceInner>,
        index: u32,
    },
    /// A host function.
    Host(Rc<HostFuncInner>),
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            FuncRepr::Wasm { index, .. } => write!(f, "Func(wasm function {index}: {})", self.ty()),
            FuncRepr::Host(h) => write!(f, "Func(host: {})", h.ty),
        }
    }
}

/// Who keeps a function alive.
#[derive(Clone)]
pub(crate) enum Owner {
    /// An instance.
    Instance(Rc<InstanceInner>),
    /// A host function.
    Host(Rc<HostFuncInner>),
}

impl Owner {
    /// Whether both are the same owner.
    pub(crate) fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Instance(a), Owner::Instance(b)) => Rc::ptr_eq(a, b),
            (Owner::Host(a), Owner::Host(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The signature of host closures.
type HostClosure = dyn Fn(&[Val], &mut [Val]) -> Result<(), HostError>;

/// A host function. `#[repr(C)]` with the callback first: a pointer to it is the host context
/// exit trampolines receive (`HOST_CTX_CALLBACK_OFFSET == 0`).
#[repr(C)]
pub(crate) struct HostFuncInner {
    callback: HostCallback,
    ty: FuncType,
    type_id: u32,
    closure: Box<HostClosure>,
    /// A `FuncRef` for using the function as a `funcref` value, built from the trampolines of
    /// the first module that imports it (kept alive here).
    funcref: RefCell<Option<(Module, Box<FuncRef>)>>,
    /// Owners of functions this host function returned to wasm.
    keepalive: RefCell<Vec<Owner>>,
    registered: Cell<bool>,
}

impl Drop for HostFuncInner {
    fn drop(&mut self) {
        if self.registered.get()
            && let Some((_, funcref)) = self.funcref.get_mut()
        {
            live_instances::unregister_funcrefs(&**funcref);
        }
    }
}

impl HostFuncInner {
    /// The host context exit trampolines receive.
    pub(crate) fn context(self: &Rc<Self>) -> *mut c_void {
        Rc::as_ptr(self).cast_mut().cast()
    }

    /// The function type's process-wide signature id.
    pub(crate) fn type_id(&self) -> u32 {
        self.type_id
    }

    /// Records the `FuncRef` this host function uses as a `funcref` value, if it has none yet:
    /// `funcref` was built for it by an importing `module` (whose trampolines it calls).
    pub(crate) fn adopt_funcref(self: &Rc<Self>, module: &Module, funcref: FuncRef) {
        let mut slot = self.funcref.borrow_mut();
        if slot.is_some() || funcref.array_call.is_null() {
            return;
        }
        let boxed = Box::new(funcref);
        live_instances::register_funcrefs(&*boxed, 1, WeakOwner::Host(Rc::downgrade(self)));
        self.registered.set(true);
        *slot = Some((module.clone(), boxed));
    }

    fn keep_alive(&self, owner: Owner) {
        let mut list = self.keepalive.borrow_mut();
        if !list.iter().any(|o| o.same(&owner)) {
            list.push(owner);
        }
    }
}

impl Func {
    /// A host function of type `ty`. Called from wasm (once imported) or from the host, it
    /// receives the arguments and fills `results` (pre-set to zeros of the result types);
    /// returning an error makes the calling wasm code trap with `TrapCode::HostError`.
    pub fn new_host(
        ty: FuncType,
        f: impl Fn(&[Val], &mut [Val]) -> Result<(), HostError> + 'static,
    ) -> Func {
        let type_id = signature_id(&ty);
        Func::from_host(Rc::new(HostFuncInner {
            callback: host_callback,
            ty,
            type_id,
            closure: Box::new(f),
            funcref: RefCell::new(None),
            keepalive: RefCell::new(Vec::new()),
            registered: Cell::new(false),
        }))
    }

    pub(crate) fn from_host(inner: Rc<HostFuncInner>) -> Func {
        Func {
            repr: FuncRepr::Host(inner),
        }
    }

    pub(crate) fn from_instance(instance: Rc<InstanceInner>, index: u32) -> Func {
        Func {
            repr: FuncRepr::Wasm { instance, index },
        }
    }

    /// The host function behind this handle, if it is one.
    pub(crate) fn as_host(&self) -> Option<&Rc<HostFuncInner>> {
        match &self.repr {
            FuncRepr::Host(h) => Some(h),
            FuncRepr::Wasm { .. } => None,
        }
    }

    /// The `FuncRef` of a wasm function (null for host functions).
    pub(crate) fn wasm_funcref(&self) -> Option<FuncRef> {
        match &self.repr {
            FuncRepr::Wasm { instance, index } => instance.funcref(*index).ok().map(|f| {
                // SAFETY: the address is valid as long as the instance, which `self` holds.
                unsafe { *f }
            }),
            FuncRepr::Host(_) => None,
        }
    }

    /// The function's type.
    pub fn ty(&self) -> FuncType {
        match &self.repr {
            FuncRepr::Wasm { instance, index } => instance.func_type(*index).clone(),
            FuncRepr::Host(h) => h.ty.clone(),
        }
    }

    /// Whether both handles designate the same function.
    pub fn same(&self, other: &Func) -> bool {
        match (&self.repr, &other.repr) {
            (
                FuncRepr::Wasm {
                    instance: a,
                    index: i,
                },
                FuncRepr::Wasm {
                    instance: b,
                    index: j,
                },
            ) => Rc::ptr_eq(a, b) && i == j,
            (FuncRepr::Host(a), FuncRepr::Host(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// What keeps this function alive.
    pub(crate) fn owner(&self) -> Owner {
        match &self.repr {
            FuncRepr::Wasm { instance, .. } => Owner::Instance(instance.clone()),
            FuncRepr::Host(h) => Owner::Host(h.clone()),
        }
    }

    /// The address of the `FuncRef` wasm code uses for this function.
    pub(crate) fn funcref_address(&self) -> Result<usize, AccessError> {
        match &self.repr {
            FuncRepr::Wasm { instance, index } => instance
                .funcref(*index)
                .map(|f| f as usize)
                .map_err(|_| AccessError::HostFuncNotImported),
            FuncRepr::Host(h) => h
                .funcref
                .borrow()
                .as_ref()
                .map(|(_, f)| &**f as *const FuncRef as usize)
                .ok_or(AccessError::HostFuncNotImported),
        }
    }

    /// Calls the function with `args` (checked against its type) and returns its results.
    ///
    /// A trap in wasm code, in a runtime helper or in a host function it calls returns
    /// `Err(Trap)`; the instance stays usable. Wrong arguments also return a trap, with code
    /// `HostError` and a message. A panic in a host function called from wasm propagates here.
    pub fn call(&self, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let ty = match &self.repr {
            FuncRepr::Wasm { instance, index } => instance.func_type(*index),
            FuncRepr::Host(h) => &h.ty,
        };
        check_args(ty, args)?;
        match &self.repr {
            FuncRepr::Host(h) => {
                let mut results: Vec<Val> =
                    ty.results.iter().map(|t| Val::default_for(*t)).collect();
                (h.closure)(args, &mut results)
                    .map_err(|e| Trap::new(TrapCode::HostError, Some(e.message().to_owned())))?;
                check_results(ty, &results).map_err(|m| Trap::new(TrapCode::HostError, Some(m)))?;
                Ok(results)
            }
            FuncRepr::Wasm { instance, index } => {
                let funcref = match instance.funcref(*index) {
                    // SAFETY: valid as long as the instance, which `self` holds.
                    Ok(f) => unsafe { *f },
                    Err(e) => return Err(api_error(format!("function {index}: {e}"))),
                };
                let mut values =
                    vec![ValRaw::default(); ty.params.len().max(ty.results.len()).max(1)];
                for (slot, arg) in values.iter_mut().zip(args) {
                    *slot = arg.to_raw().map_err(|e| api_error(e.to_string()))?;
                    if let Val::FuncRef(Some(f)) = arg {
                        instance.keep_alive(f.owner());
                    }
                }
                if funcref.array_call.is_null() {
                    return Err(api_error(format!(
                        "the module has no entry trampoline for {ty}"
                    )));
                }
                let call = WasmCall {
                    array_call: funcref.array_call,
                    code: funcref.wasm_call,
                    vmctx: funcref.vmctx,
                    values: values.as_mut_ptr(),
                };
                // SAFETY: the FuncRef belongs to a live instance (held by `self`), its entry
                // trampoline matches the type the values were packed for.
                unsafe { trap::call_wasm(&call, instance.wasm_stack()) }
                    .map_err(Unwind::into_trap)?;
                Ok(ty
                    .results
                    .iter()
                    .zip(&values)
                    .map(|(t, raw)| Val::from_raw(*t, *raw))
                    .collect())
            }
        }
    }
}

fn api_error(message: String) -> Trap {
    Trap::new(TrapCode::HostError, Some(message))
}

fn check_args(ty: &FuncType, args: &[Val]) -> Result<(), Trap> {
    if args.len() != ty.params.len() {
        return Err(api_error(format!(
            "expected {} argument(s) for {ty}, got {}",
            ty.params.len(),
            args.len()
        )));
    }
    for (i, (arg, want)) in args.iter().zip(&ty.params).enumerate() {
        if arg.ty() != *want {
            return Err(api_error(format!(
                "argument {i}: expected {want}, got {}",
                arg.ty()
            )));
        }
    }
    Ok(())
}

fn check_results(ty: &FuncType, results: &[Val]) -> Result<(), String> {
    for (i, (r, want)) in results.iter().zip(&ty.results).enumerate() {
        if r.ty() != *want {
            return Err(format!(
                "host function result {i}: expected {want}, got {}",
                r.ty()
            ));
        }
    }
    Ok(())
}

/// The callback exit trampolines call: runs the host closure on the values array.
///
/// # Safety
/// Called only by exit trampolines, with the host context of a live `HostFuncInner` and a values
/// array of `max(params, results)` slots.
unsafe extern "C" fn host_callback(
    ctx: *mut c_void,
    values: *mut ValRaw,
    params: u32,
    results: u32,
) {
    // SAFETY: forwarded from the caller.
    let outcome = unsafe { run_host_function(ctx, values, params, results) };
    if let Err(unwind) = outcome {
        // SAFETY: called from wasm code; `outcome` was moved out, so this frame holds nothing
        // with a destructor. `values` lies in the exit trampoline's frame, below its caller's.
        unsafe { trap::raise_from_host(unwind, values as usize) }
    }
}

/// # Safety
/// As for [`host_callback`].
unsafe fn run_host_function(
    ctx: *mut c_void,
    values: *mut ValRaw,
    params: u32,
    results: u32,
) -> Result<(), Unwind> {
    // SAFETY: the context is a `HostFuncInner` kept alive by the importing instance.
    let host = unsafe { &*ctx.cast_const().cast::<HostFuncInner>() };
    if params as usize != host.ty.params.len() || results as usize != host.ty.results.len() {
        return Err(Unwind::Trap(Trap::new(
            TrapCode::HostError,
            Some(format!(
                "exit trampoline passed {params} parameter(s) and {results} result(s) to a host function of type {}",
                host.ty
            )),
        )));
    }
    let count = if values.is_null() {
        0
    } else {
        params.max(results) as usize
    };
    // The slots are read and written unaligned: the trampoline's stack slot is only as aligned
    // as the target's stack pointer (8 bytes on s390x), not as `ValRaw`.
    // SAFETY: the exit trampoline passes `max(params, results)` slots.
    let mut slots: Vec<ValRaw> = (0..count)
        .map(|i| unsafe { values.add(i).read_unaligned() })
        .collect();
    let run = || -> Result<(), Trap> {
        let values = &mut slots;
        let args: Vec<Val> = host
            .ty
            .params
            .iter()
            .zip(values.iter())
            .map(|(t, raw)| Val::from_raw(*t, *raw))
            .collect();
        let mut out: Vec<Val> = host
            .ty
            .results
            .iter()
            .map(|t| Val::default_for(*t))
            .collect();
        (host.closure)(&args, &mut out)
            .map_err(|e| Trap::new(TrapCode::HostError, Some(e.message().to_owned())))?;
        check_results(&host.ty, &out).map_err(|m| Trap::new(TrapCode::HostError, Some(m)))?;
        for (slot, val) in values.iter_mut().zip(&out) {
            *slot = val
                .to_raw()
                .map_err(|e| Trap::new(TrapCode::HostError, Some(e.to_string())))?;
            if let Val::FuncRef(Some(f)) = val {
                host.keep_alive(f.owner());
            }
        }
        Ok(())
    };
    let outcome = catch_unwind(AssertUnwindSafe(run));
    for (i, slot) in slots.into_iter().enumerate() {
        // SAFETY: as above.
        unsafe { values.add(i).write_unaligned(slot) };
    }
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(trap)) => Err(Unwind::Trap(trap)),
        Err(payload) => Err(Unwind::Panic(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v128_hex_round_trips() {
        let v = Val::v128_from_hex("0x000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(v, Val::V128(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f));
        assert_eq!(
            v.v128_hex().as_deref(),
            Some("0x000102030405060708090a0b0c0d0e0f")
        );
        assert_eq!(Val::v128_from_hex("0xff_ff"), Some(Val::V128(0xffff)));
        for bad in [
            "",
            "0x",
            "12",
            "0x1g",
            "0x+1",
            &format!("0x{}", "1".repeat(33)),
        ] {
            assert_eq!(Val::v128_from_hex(bad), None, "{bad}");
        }
        assert_eq!(Val::I32(1).v128_hex(), None);
    }
}
