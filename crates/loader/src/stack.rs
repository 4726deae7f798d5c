//! The native stack wasm runs on: the limit compiled code checks its frames against (set on the
//! outermost entry from the host on a thread, `max_wasm_stack` below the entry), and, when asked,
//! the high-water mark of the stack used below the entry.
//!
//! The high-water mark is measured by painting: before the outermost call the region between
//! the limit and the entry is filled with a pattern; after it, the lowest word that no longer
//! holds the pattern is the deepest stack byte written by wasm, the runtime helpers and host
//! functions it called (exact to the word; a frame's slots that were reserved but never written
//! do not count). Painting costs one pass over `max_wasm_stack` bytes per outermost call and
//! makes those stack pages resident, so it is off unless [`InstanceConfig::measure_stack`] is set.
//!
//! [`InstanceConfig::measure_stack`]: crate::InstanceConfig::measure_stack

use std::cell::Cell;

use crate::live_instances;
use crate::sys;

/// Space left below the stack limit for host functions, runtime helpers and signal handling.
pub(crate) const STACK_MARGIN: usize = 64 * 1024;

/// Bytes right below the entry's stack pointer left unpainted: the frames of the painting
/// function itself and of the entry glue (which write there anyway), and any red zone.
const UNPAINTED_TOP: usize = 1024;

/// The word painted below the entry (an unlikely value for a return address, a pointer or data).
const PAINT: usize = 0xa5c3_5a3c_a5c3_5a3c_u64 as usize;

/// One instance's stack settings and measurement.
#[derive(Debug)]
pub(crate) struct WasmStack {
    /// Most bytes wasm may use below the entry.
    max: usize,
    /// Whether outermost calls are measured.
    measure: bool,
    /// Deepest use measured so far, in bytes below the entry (0: none yet).
    peak: Cell<usize>,
}

/// An outermost entry in progress.
pub(crate) struct Entry {
    /// The stack pointer at the entry (to within a few bytes).
    sp: usize,
    /// The limit set for the call.
    limit: usize,
    /// The top of the painted region (exclusive), when painted.
    painted_top: Option<usize>,
}

impl WasmStack {
    pub(crate) fn new(max: usize, measure: bool) -> WasmStack {
        WasmStack {
            max,
            measure,
            peak: Cell::new(0),
        }
    }

    /// The most stack wasm may use, in bytes.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Deepest stack use measured, when measuring.
    pub(crate) fn peak(&self) -> Option<usize> {
        self.measure.then(|| self.peak.get())
    }

    /// Sets the stack limit of every live instance of the thread for an outermost call from
    /// here, and paints the region when measuring.
    #[inline(never)]
    pub(crate) fn enter(&self) -> Entry {
        let sp = sys::approximate_stack_pointer();
        let wanted = sp.saturating_sub(self.max);
        let limit = match sys::thread_stack_bounds() {
            Some((low, _)) => wanted.max(low.saturating_add(STACK_MARGIN)),
            None => wanted,
        };
        live_instances::set_stack_limit(limit);
        let painted_top = self.measure.then(|| {
            let top = sp.saturating_sub(UNPAINTED_TOP) & !(size_of::<usize>() - 1);
            paint(limit, top);
            top
        });
        Entry {
            sp,
            limit,
            painted_top,
        }
    }

    /// Records the depth the call reached, when it was measured.
    pub(crate) fn leave(&self, entry: Entry) {
        let Some(top) = entry.painted_top else {
            return;
        };
        let deepest = lowest_written(entry.limit, top);
        self.peak
            .set(self.peak.get().max(entry.sp.saturating_sub(deepest)));
    }
}

/// Fills the words of `[low, high)` below the current frame with [`PAINT`].
#[inline(never)]
fn paint(low: usize, high: usize) {
    let mut at = low.next_multiple_of(size_of::<usize>());
    while at + size_of::<usize>() <= high {
        // SAFETY: `[low, high)` lies in this thread's stack (the limit is kept above its lowest
        // usable address) below the caller's frame minus `UNPAINTED_TOP`: memory no live frame
        // uses. Volatile, so the stores are not dropped as dead.
        unsafe { (at as *mut usize).write_volatile(PAINT) };
        at += size_of::<usize>();
    }
}

/// The lowest address in `[low, high)` whose word no longer holds [`PAINT`], or `high`.
#[inline(never)]
fn lowest_written(low: usize, high: usize) -> usize {
    let mut at = low.next_multiple_of(size_of::<usize>());
    while at + size_of::<usize>() <= high {
        // SAFETY: the region painted by `paint`, still in this thread's stack, below the
        // current frame.
        if unsafe { (at as *const usize).read_volatile() } != PAINT {
            return at;
        }
        at += size_of::<usize>();
    }
    high
}
