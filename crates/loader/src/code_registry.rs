//! The process-wide registry of loaded module text: which address ranges hold wasm code.
//!
//! Two views of the same set: a fixed array of atomics the signal handler can read without
//! locking or allocating ([`is_wasm_code`]), and a mutex-protected map from text start to the
//! module ([`module_at`]) used in normal context, after a trap, to find the trap table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::module::ModuleInner;

/// Most module texts loaded at the same time.
pub(crate) const MAX_MODULES: usize = 16 * 1024;

/// Marks a slot being filled or emptied: no pc is `>= CLAIMED`.
const CLAIMED: usize = usize::MAX;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // used only as an array initialiser
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
};

static SLOTS: [Slot; MAX_MODULES] = [EMPTY; MAX_MODULES];
/// One more than the highest slot index ever used (bounds the handler's scan).
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);

static MODULES: Mutex<BTreeMap<usize, (usize, Weak<ModuleInner>)>> = Mutex::new(BTreeMap::new());

/// A registration; removes the range when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    slot: usize,
    start: usize,
}

/// Registers `[start, end)` as the text of `module`; `None` when the registry is full.
pub(crate) fn register(
    start: usize,
    end: usize,
    module: Weak<ModuleInner>,
) -> Option<Registration> {
    let slot = SLOTS.iter().position(|s| {
        s.start
            .compare_exchange(0, CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })?;
    SLOTS[slot].end.store(end, Ordering::SeqCst);
    SLOTS[slot].start.store(start, Ordering::SeqCst);
    HIGH_WATER.fetch_max(slot + 1, Ordering::SeqCst);
    MODULES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(start, (end, module));
    Some(Registration { slot, start })
}

impl Drop for Registration {
    fn drop(&mut self) {
        MODULES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.start);
        let slot = &SLOTS[self.slot];
        slot.start.store(CLAIMED, Ordering::SeqCst);
        slot.end.store(0, Ordering::SeqCst);
        slot.start.store(0, Ordering::SeqCst);
    }
}

/// Whether `pc` lies in a registered text. Async-signal-safe: no lock, no allocation.
pub(crate) fn is_wasm_code(pc: usize) -> bool {
    let high = HIGH_WATER.load(Ordering::SeqCst).min(MAX_MODULES);
    SLOTS[..high].iter().any(|s| {
        let start = s.start.load(Ordering::SeqCst);
        let end = s.end.load(Ordering::SeqCst);
        start != 0 && start != CLAIMED && start <= pc && pc < end
    })
}

/// The module whose text contains `pc`, and the text's start address.
pub(crate) fn module_at(pc: usize) -> Option<(Arc<ModuleInner>, usize)> {
    let modules = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    let (start, (end, module)) = modules.range(..=pc).next_back()?;
    if pc >= *end {
        return None;
    }
    Some((module.upgrade()?, *start))
}
