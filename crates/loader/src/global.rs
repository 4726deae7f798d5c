//! Globals: a 16-byte slot compiled code reads and writes in place, its type, and the owners
//! that keep a stored `funcref` alive.

use std::cell::{RefCell, UnsafeCell};
use std::rc::Rc;

use crate::error::AccessError;
use crate::func::{Owner, Val};
use crate::instance::InstanceInner;
use crate::types::GlobalType;
use crate::vmctx::{GlobalSlot, ValRaw};

/// A global. Clones share the global.
#[derive(Clone)]
pub struct Global {
    pub(crate) inner: Rc<GlobalInner>,
    /// The instance that defined the global, kept alive because the global may hold a reference
    /// to one of its functions.
    pub(crate) _owner: Option<Rc<InstanceInner>>,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("ty", &self.inner.ty)
            .field("value", &self.get())
            .finish()
    }
}

pub(crate) struct GlobalInner {
    /// What compiled code reads and writes; boxed so its address is stable.
    slot: Box<UnsafeCell<GlobalSlot>>,
    ty: GlobalType,
    keepalive: RefCell<Vec<Owner>>,
}

impl Global {
    /// Creates a global of type `ty` holding `value`.
    pub fn new(ty: GlobalType, value: Val) -> Result<Global, AccessError> {
        if value.ty() != ty.content {
            return Err(AccessError::TypeMismatch {
                expected: ty.content,
                found: value.ty(),
            });
        }
        let inner = GlobalInner::new(ty, value.to_raw()?);
        if let Val::FuncRef(Some(f)) = &value {
            inner.keep_alive(f.owner());
        }
        Ok(Global {
            inner: Rc::new(inner),
            _owner: None,
        })
    }

    /// Its type.
    pub fn ty(&self) -> GlobalType {
        self.inner.ty.clone()
    }

    /// The current value.
    pub fn get(&self) -> Val {
        Val::from_raw(self.inner.ty.content, self.inner.raw())
    }

    /// Changes the value (mutable globals only).
    pub fn set(&self, value: Val) -> Result<(), AccessError> {
        if !self.inner.ty.mutable {
            return Err(AccessError::Immutable);
        }
        if value.ty() != self.inner.ty.content {
            return Err(AccessError::TypeMismatch {
                expected: self.inner.ty.content,
                found: value.ty(),
            });
        }
        let raw = value.to_raw()?;
        if let Val::FuncRef(Some(f)) = &value {
            self.inner.keep_alive(f.owner());
        }
        self.inner.set_raw(raw);
        Ok(())
    }

    /// Whether two handles name the same global.
    pub fn same(&self, other: &Global) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl GlobalInner {
    pub(crate) fn new(ty: GlobalType, value: ValRaw) -> GlobalInner {
        GlobalInner {
            slot: Box::new(UnsafeCell::new(GlobalSlot(value.0))),
            ty,
            keepalive: RefCell::new(Vec::new()),
        }
    }

    /// The slot compiled code uses.
    pub(crate) fn slot_ptr(&self) -> *mut GlobalSlot {
        self.slot.get()
    }

    pub(crate) fn ty(&self) -> &GlobalType {
        &self.ty
    }

    pub(crate) fn raw(&self) -> ValRaw {
        // SAFETY: single-threaded; compiled code does not run during this read.
        ValRaw(unsafe { (*self.slot.get()).0 })
    }

    pub(crate) fn set_raw(&self, value: ValRaw) {
        // SAFETY: as in `raw`.
        unsafe { (*self.slot.get()).0 = value.0 };
    }

    /// Keeps `owner` alive as long as this global.
    pub(crate) fn keep_alive(&self, owner: Owner) {
        let mut list = self.keepalive.borrow_mut();
        if !list.iter().any(|o| o.same(&owner)) {
            list.push(owner);
        }
    }
}
