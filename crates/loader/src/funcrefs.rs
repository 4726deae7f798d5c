//! An instance's function references (`FuncRef`s): one per imported function, built when the
//! imports are linked (`vmctx.functions` points to them: calls to imports go through it), and
//! one per defined function that is used as a reference (an export, an element, a global,
//! `ref.func`, a host call), built from the file's function record on first use. Calls between
//! the module's own functions never need one (they are PC-relative in the text), so
//! instantiation builds and allocates nothing per defined function.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Weak;

use aotc_format::ReadError;
use aotc_format::layout::NONE;

use crate::instance::InstanceInner;
use crate::live_instances::{self, WeakOwner};
use crate::module::Module;
use crate::vmctx::{FuncRef, VmctxHeader};

/// The `FuncRef`s of one instance. Every `FuncRef` keeps its address for the instance's
/// lifetime (wasm holds `*const FuncRef` values in tables and globals).
pub(crate) struct FuncRefs {
    module: Module,
    /// The instance's vmctx, which defined functions' `FuncRef`s carry.
    vmctx: *mut VmctxHeader,
    /// One per imported function, by function index; `vmctx.functions` points here.
    imported: Box<[FuncRef]>,
    /// The defined functions used as references so far, by function index; boxed, so each
    /// stays where it is when the map grows.
    defined: RefCell<BTreeMap<u32, Box<FuncRef>>>,
    /// The instance, once it exists: the owner `FuncRef` addresses are registered under (to
    /// turn a raw `funcref` back into a `Func`).
    owner: RefCell<Option<Weak<InstanceInner>>>,
}

impl FuncRefs {
    /// The references of an instance of `module` whose vmctx is `vmctx`, with the imported
    /// functions' `FuncRef`s.
    pub(crate) fn new(module: &Module, vmctx: *mut VmctxHeader, imported: Vec<FuncRef>) -> Self {
        FuncRefs {
            module: module.clone(),
            vmctx,
            imported: imported.into_boxed_slice(),
            defined: RefCell::new(BTreeMap::new()),
            owner: RefCell::new(None),
        }
    }

    /// The runtime heap bytes these references occupy: the imported `FuncRef`s and each
    /// defined function's `FuncRef` built so far (the map's own nodes not counted).
    pub(crate) fn heap_bytes(&self) -> usize {
        size_of_val(&*self.imported) + self.defined.borrow().len() * size_of::<FuncRef>()
    }

    /// What `vmctx.functions` points to.
    pub(crate) fn imported_ptr(&self) -> *const FuncRef {
        self.imported.as_ptr()
    }

    /// The `FuncRef` of function `index`: an import's as linked, a defined function's built
    /// from its record the first time (an error when the index or the record is bad). The
    /// address stays valid as long as `self`.
    pub(crate) fn get(&self, index: u32) -> Result<*const FuncRef, ReadError> {
        if let Some(f) = self.imported.get(index as usize) {
            return Ok(f);
        }
        if let Some(f) = self.defined.borrow().get(&index) {
            return Ok(&**f);
        }
        let m = &self.module.inner;
        let function = m.file().functions().get(index as usize)?;
        let t = function.type_index as usize;
        let entry = m
            .file()
            .types()
            .get(t)
            .and_then(|t| t.entry_trampoline)
            .unwrap_or(NONE);
        let funcref = Box::new(FuncRef {
            wasm_call: m.text_address(function.body.map_or(NONE, |(offset, _)| offset)),
            array_call: m.text_address(entry),
            vmctx: self.vmctx.cast(),
            type_id: m.type_ids.get(t).copied().unwrap_or(0),
        });
        let address: *const FuncRef = &*funcref;
        if let Some(owner) = &*self.owner.borrow() {
            live_instances::register_funcrefs(
                address,
                1,
                WeakOwner::Instance(owner.clone(), index),
            );
        }
        self.defined.borrow_mut().insert(index, funcref);
        Ok(address)
    }

    /// Registers every `FuncRef` (those built so far, and those built later) as `owner`'s.
    pub(crate) fn register(&self, owner: Weak<InstanceInner>) {
        live_instances::register_funcrefs(
            self.imported.as_ptr(),
            self.imported.len(),
            WeakOwner::Instance(owner.clone(), 0),
        );
        for (&index, f) in self.defined.borrow().iter() {
            live_instances::register_funcrefs(&**f, 1, WeakOwner::Instance(owner.clone(), index));
        }
        *self.owner.borrow_mut() = Some(owner);
    }
}

impl Drop for FuncRefs {
    fn drop(&mut self) {
        if self.owner.get_mut().is_none() {
            return;
        }
        live_instances::unregister_funcrefs(self.imported.as_ptr());
        for f in self.defined.get_mut().values() {
            live_instances::unregister_funcrefs(&**f);
        }
    }
}
