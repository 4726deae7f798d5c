//! Tables: a growable array of pointer-sized references (a `*const FuncRef`, or an externref
//! payload stored as `value + 1`; 0 is null) behind the `TableDef` compiled code reads, plus
//! the owners that keep the referenced functions alive.

use std::cell::{RefCell, UnsafeCell};
use std::rc::Rc;

use aotc_abi::ValType;

use crate::error::AccessError;
use crate::func::{Owner, Val};
use crate::instance::InstanceInner;
use crate::types::TableType;
use crate::vmctx::TableDef;

/// Most elements a table may have here (table.grow beyond fails).
pub const MAX_TABLE_ELEMENTS: u32 = 10_000_000;

/// A table. Clones share the table.
#[derive(Clone)]
pub struct Table {
    pub(crate) inner: Rc<TableInner>,
    /// The instance that defined the table, kept alive because the table may hold references
    /// to its functions.
    pub(crate) _owner: Option<Rc<InstanceInner>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("ty", &self.inner.ty)
            .field("size", &self.size())
            .finish()
    }
}

pub(crate) struct TableInner {
    /// What compiled code reads; boxed so its address is stable.
    def: Box<UnsafeCell<TableDef>>,
    elements: UnsafeCell<Vec<usize>>,
    ty: TableType,
    /// Owners of functions stored into the table from outside its instance.
    keepalive: RefCell<Vec<Owner>>,
}

impl Table {
    /// Creates a table of type `ty`, `ty.min` elements large, each set to `init`.
    pub fn new(ty: TableType, init: Val) -> Result<Table, AccessError> {
        let raw = init.to_table_element(ty.element)?;
        let inner = TableInner::new(ty, raw)?;
        if let Val::FuncRef(Some(f)) = &init {
            inner.keep_alive(f.owner());
        }
        Ok(Table {
            inner: Rc::new(inner),
            _owner: None,
        })
    }

    /// The type it was created with.
    pub fn ty(&self) -> TableType {
        self.inner.ty.clone()
    }

    /// Current size in elements.
    pub fn size(&self) -> u32 {
        self.inner.len()
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get(&self, index: u32) -> Option<Val> {
        let raw = self.inner.get(index)?;
        Some(Val::from_table_element(self.inner.ty.element, raw))
    }

    /// Sets element `index`.
    pub fn set(&self, index: u32, value: Val) -> Result<(), AccessError> {
        let raw = value.to_table_element(self.inner.ty.element)?;
        if index >= self.size() {
            return Err(AccessError::OutOfBounds {
                what: "table",
                offset: index.into(),
                len: 1,
                size: self.size().into(),
            });
        }
        if let Val::FuncRef(Some(f)) = &value {
            self.inner.keep_alive(f.owner());
        }
        self.inner.fill(index, raw, 1);
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the previous size.
    pub fn grow(&self, delta: u32, init: Val) -> Result<u32, AccessError> {
        let raw = init.to_table_element(self.inner.ty.element)?;
        let old = self.inner.grow(delta, raw).ok_or(AccessError::GrowFailed {
            what: "table",
            current: self.size().into(),
            delta: delta.into(),
            limit: self.inner.max().into(),
        })?;
        if let Val::FuncRef(Some(f)) = &init {
            self.inner.keep_alive(f.owner());
        }
        Ok(old)
    }

    /// Whether two handles name the same table.
    pub fn same(&self, other: &Table) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl TableInner {
    pub(crate) fn new(ty: TableType, init: usize) -> Result<TableInner, AccessError> {
        let max = ty.max.unwrap_or(u32::MAX).min(MAX_TABLE_ELEMENTS);
        if ty.min > max {
            return Err(AccessError::GrowFailed {
                what: "table",
                current: 0,
                delta: ty.min.into(),
                limit: max.into(),
            });
        }
        let mut elements = Vec::new();
        elements
            .try_reserve_exact(ty.min as usize)
            .map_err(|e| AccessError::Resource {
                what: "table",
                source: std::io::Error::new(std::io::ErrorKind::OutOfMemory, e.to_string()),
            })?;
        elements.resize(ty.min as usize, init);
        let inner = TableInner {
            def: Box::new(UnsafeCell::new(TableDef {
                base: elements.as_mut_ptr(),
                length: ty.min,
            })),
            elements: UnsafeCell::new(elements),
            ty,
            keepalive: RefCell::new(Vec::new()),
        };
        Ok(inner)
    }

    /// The `TableDef` compiled code reads.
    pub(crate) fn def_ptr(&self) -> *mut TableDef {
        self.def.get()
    }

    fn max(&self) -> u32 {
        self.ty.max.unwrap_or(u32::MAX).min(MAX_TABLE_ELEMENTS)
    }

    /// The element type.
    pub(crate) fn element_type(&self) -> ValType {
        self.ty.element
    }

    pub(crate) fn len(&self) -> u32 {
        // SAFETY: single-threaded; compiled code only reads the def.
        unsafe { (*self.def.get()).length }
    }

    pub(crate) fn get(&self, index: u32) -> Option<usize> {
        if index >= self.len() {
            return None;
        }
        // SAFETY: `index` is within the current length; the base points at the live elements.
        Some(unsafe { *(*self.def.get()).base.add(index as usize) })
    }

    /// Sets `[dst, dst + len)` to `value`. The caller checked the range.
    pub(crate) fn fill(&self, dst: u32, value: usize, len: u32) {
        // SAFETY: single-threaded and no reference into the elements is held across calls; the
        // caller checked the range against the length.
        let elements = unsafe { &mut *self.elements.get() };
        let start = dst as usize;
        if let Some(range) = elements.get_mut(start..start + len as usize) {
            range.fill(value);
        }
    }

    /// The elements, to copy from or into.
    ///
    /// # Safety
    /// No other reference to the elements may be live while the slice is used.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn elements_mut(&self) -> &mut [usize] {
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *self.elements.get() }
    }

    /// Grows by `delta` elements set to `init`; the old length, or `None`.
    pub(crate) fn grow(&self, delta: u32, init: usize) -> Option<u32> {
        let old = self.len();
        let new = old.checked_add(delta)?;
        if new > self.max() {
            return None;
        }
        // SAFETY: single-threaded; no reference into the elements is live (compiled code reads
        // through the def, which is updated below before wasm runs again).
        let elements = unsafe { &mut *self.elements.get() };
        elements.try_reserve(delta as usize).ok()?;
        elements.resize(new as usize, init);
        // SAFETY: as above.
        unsafe {
            *self.def.get() = TableDef {
                base: elements.as_mut_ptr(),
                length: new,
            };
        }
        Some(old)
    }

    /// Keeps `owner` alive as long as this table.
    pub(crate) fn keep_alive(&self, owner: Owner) {
        let mut list = self.keepalive.borrow_mut();
        if !list.iter().any(|o| o.same(&owner)) {
            list.push(owner);
        }
    }
}
