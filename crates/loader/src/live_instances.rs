//! The current thread's live instances (instances and handles are `!Send`, so every instance
//! belongs to the thread that created it): which `FuncRef` addresses belong to which owner (to
//! turn a raw `funcref` from wasm back into a [`Func`]), and every vmctx whose stack limit must
//! be set when the thread enters wasm.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Weak;

use crate::func::{Func, HostFuncInner};
use crate::instance::InstanceInner;
use crate::vmctx::{FuncRef, VmctxHeader};

/// Who owns a registered `FuncRef` range.
#[derive(Clone)]
pub(crate) enum WeakOwner {
    /// `FuncRef`s of an instance, the first being that of the function index given.
    Instance(Weak<InstanceInner>, u32),
    /// A host function's own `FuncRef`.
    Host(Weak<HostFuncInner>),
}

thread_local! {
    static FUNCREF_RANGES: RefCell<BTreeMap<usize, (usize, WeakOwner)>> =
        const { RefCell::new(BTreeMap::new()) };
    static VMCTXS: RefCell<BTreeSet<usize>> = const { RefCell::new(BTreeSet::new()) };
    static STACK_LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// Registers `count` `FuncRef`s at `start` as owned by `owner`.
pub(crate) fn register_funcrefs(start: *const FuncRef, count: usize, owner: WeakOwner) {
    if count == 0 {
        return;
    }
    let start = start as usize;
    let end = start + count * size_of::<FuncRef>();
    let _ = FUNCREF_RANGES.try_with(|r| r.borrow_mut().insert(start, (end, owner)));
}

/// Removes a range registered by [`register_funcrefs`].
pub(crate) fn unregister_funcrefs(start: *const FuncRef) {
    let _ = FUNCREF_RANGES.try_with(|r| r.borrow_mut().remove(&(start as usize)));
}

/// Registers a vmctx, and gives it the thread's current stack limit.
///
/// # Safety
/// `vmctx` must stay valid until [`unregister_vmctx`].
pub(crate) unsafe fn register_vmctx(vmctx: *mut VmctxHeader) {
    let _ = VMCTXS.try_with(|v| v.borrow_mut().insert(vmctx as usize));
    let limit = STACK_LIMIT.try_with(Cell::get).unwrap_or(0);
    // SAFETY: valid per the caller; single-threaded.
    unsafe { (*vmctx).stack_limit = limit };
}

/// Removes a vmctx registered by [`register_vmctx`].
pub(crate) fn unregister_vmctx(vmctx: *mut VmctxHeader) {
    let _ = VMCTXS.try_with(|v| v.borrow_mut().remove(&(vmctx as usize)));
}

/// Sets the stack limit of every live vmctx of this thread (nothing to do when it is unchanged:
/// new instances get the current limit when they register).
pub(crate) fn set_stack_limit(limit: usize) {
    if STACK_LIMIT.try_with(|l| l.replace(limit)) == Ok(limit) {
        return;
    }
    let _ = VMCTXS.try_with(|v| {
        for vmctx in v.borrow().iter() {
            // SAFETY: registered vmctxs are valid until unregistered (see `register_vmctx`).
            unsafe { (*(*vmctx as *mut VmctxHeader)).stack_limit = limit };
        }
    });
}

/// The function a raw `funcref` (a `*const FuncRef`, non-null) designates, if it belongs to a
/// live owner of this thread.
pub(crate) fn func_from_funcref(address: usize) -> Option<Func> {
    let (start, owner) = FUNCREF_RANGES
        .try_with(|r| {
            let ranges = r.borrow();
            let (start, (end, owner)) = ranges.range(..=address).next_back()?;
            (address < *end).then(|| (*start, owner.clone()))
        })
        .ok()??;
    let index = (address - start) / size_of::<FuncRef>();
    match owner {
        WeakOwner::Instance(instance, first) => InstanceInner::func(
            &instance.upgrade()?,
            first.checked_add(u32::try_from(index).ok()?)?,
        ),
        WeakOwner::Host(host) => Some(Func::from_host(host.upgrade()?)),
    }
}
