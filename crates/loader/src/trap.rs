//! Traps: the [`Trap`] error, and the machinery that gets there. Entering wasm publishes a jump
//! target in a thread-local [`CallState`]; a fault in wasm code (signal handler) or a trapping
//! runtime helper or host function ([`raise`]) jumps back to it, and the fault's program counter
//! is mapped to a trap code through the module's trap table.
//!
//! Before jumping, the wasm frames are recorded ([`Trap::backtrace`]): from a fault, the
//! faulting pc and then the frame records from the faulting frame pointer; from a runtime
//! helper, its return address into its wasm caller and then the caller's frame record; from a
//! host function, its exit trampoline's frame record. Records found by scanning the stack count
//! only when their chain ends at the entry trampoline's record (which returns into [`enter`]),
//! so stale stack data of frames that returned is never taken for a frame. Every read lies
//! within the stack between the trap and the entry, ascending, so a damaged chain ends the
//! walk, never the process.
//!
//! Jumping skips the frames in between without running destructors: every function that can be
//! skipped (runtime helpers, host-call glue, the entry glue) holds no value with a destructor at
//! the point where it may trap.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::fmt;
use std::ptr;
use std::sync::Arc;

use aotc_abi::TrapCode;

use crate::code_registry;
use crate::module::ModuleInner;
use crate::stack::{STACK_MARGIN, WasmStack};
use crate::sys::{self, Fault, TrapSignal};
use crate::vmctx::{EntryTrampoline, ValRaw};

/// Why wasm execution stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// The reason.
    pub code: TrapCode,
    /// The function index (in its module) executing the trapping instruction, when known.
    pub func_index: Option<u32>,
    /// The function's name (its export name), when known.
    pub func_name: Option<String>,
    /// Text offset of the trapping instruction, when known.
    pub text_offset: Option<u32>,
    /// More detail (host errors, traps without a recorded site, API misuse).
    pub message: Option<String>,
    /// The wasm frames, innermost first: the trapping function (for a host function's trap,
    /// its wasm caller), then its callers up to the host's call (at most
    /// [`MAX_BACKTRACE_FRAMES`]; empty when the trap was not raised by running wasm).
    pub backtrace: Vec<Frame>,
}

/// One wasm frame of a [`Trap`]'s backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The function's index in its module.
    pub func_index: u32,
    /// Its name (the `name` section's, else its export name), when known.
    pub func_name: Option<String>,
    /// Text offset of the trapping instruction (innermost frame of a fault) or of the return
    /// address (callers).
    pub text_offset: u32,
}

impl Frame {
    /// The name, or `wasm-function[N]` when the module names none (as wasmtime prints).
    pub fn display_name(&self) -> String {
        match &self.func_name {
            Some(name) => name.clone(),
            None => format!("wasm-function[{}]", self.func_index),
        }
    }
}

/// Most frames a backtrace records: the innermost ones (a stack overflow has more).
pub const MAX_BACKTRACE_FRAMES: usize = 256;

impl Trap {
    /// A trap with a code and optional message, and no location.
    pub fn new(code: TrapCode, message: Option<String>) -> Trap {
        Trap {
            code,
            func_index: None,
            func_name: None,
            text_offset: None,
            message,
            backtrace: Vec::new(),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.code)?;
        if self.func_index.is_some() || self.text_offset.is_some() {
            f.write_str(" (in")?;
            if let Some(i) = self.func_index {
                write!(f, " function {i}")?;
                if let Some(name) = &self.func_name {
                    write!(f, " `{name}`")?;
                }
            }
            if let Some(offset) = self.text_offset {
                if self.func_index.is_some() {
                    f.write_str(" at")?;
                }
                write!(f, " text offset {offset:#x}")?;
            }
            f.write_str(")")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// The module whose text holds a faulting pc, and the text's start ([`code_registry::module_at`]).
type FaultSite = (Arc<ModuleInner>, usize);

/// Why a call into wasm did not return normally.
pub(crate) enum Unwind {
    /// A fault in wasm code, the module text holding its pc (`None`: the module was unloaded),
    /// and its backtrace.
    Fault(Fault, Option<FaultSite>, Vec<Frame>),
    /// A runtime helper or host function trapped.
    Trap(Trap),
    /// A host function panicked; the panic continues once back in the host.
    Panic(Box<dyn Any + Send>),
}

/// One active call from the host into wasm on this thread.
struct CallState {
    /// Where to jump back to (set by the setjmp glue before wasm runs).
    jump_target: *mut c_void,
    /// Written by the signal handler (plain data: no destructor runs in the handler).
    fault: Option<Fault>,
    /// Written by [`raise`].
    unwind: Option<Unwind>,
}

thread_local! {
    /// The innermost active call, or null. Const-initialised without destructor, so the signal
    /// handler can read it.
    static CURRENT: Cell<*mut CallState> = const { Cell::new(ptr::null_mut()) };
}

/// A call through an entry trampoline.
pub(crate) struct WasmCall {
    /// The entry trampoline (`FuncRef.array_call`).
    pub(crate) array_call: *const (),
    /// The callee (`FuncRef.wasm_call`).
    pub(crate) code: *const (),
    /// The callee's vmctx (`FuncRef.vmctx`).
    pub(crate) vmctx: *mut c_void,
    /// `max(params, results)` value slots (at least one).
    pub(crate) values: *mut ValRaw,
}

/// Calls wasm through an entry trampoline, catching traps. On the outermost entry of the thread,
/// sets the stack limit of every live instance of the thread to `stack`'s maximum below here
/// (bounded to stay above the thread's guard page with a margin), measuring the depth reached
/// when `stack` asks for it.
///
/// # Safety
/// `call` must describe a valid entry trampoline, callee and vmctx of live instances, with
/// `values` holding enough slots initialised with the arguments.
pub(crate) unsafe fn call_wasm(call: &WasmCall, stack: &WasmStack) -> Result<(), Unwind> {
    sys::install_trap_handlers(on_fault);
    sys::ensure_alt_stack();
    let previous = CURRENT.with(Cell::get);
    let entry = previous.is_null().then(|| stack.enter());
    let mut state = CallState {
        jump_target: ptr::null_mut(),
        fault: None,
        unwind: None,
    };
    let state_ptr: *mut CallState = &mut state;
    CURRENT.with(|c| c.set(state_ptr));
    // SAFETY: `enter` receives `call`, valid per the caller; the frames a jump can skip
    // (`enter`, the trampoline, wasm, helpers) hold no destructors. The state outlives the call.
    let returned = unsafe {
        sys::call_with_jump_target(
            &raw mut (*state_ptr).jump_target,
            enter,
            ptr::from_ref(call).cast_mut().cast(),
        )
    };
    CURRENT.with(|c| c.set(previous));
    if let Some(entry) = entry {
        stack.leave(entry);
    }
    if returned {
        return Ok(());
    }
    let (frames, fault_site) = take_backtrace();
    // SAFETY: the call is over: nothing else references the state any more.
    let state = unsafe { &mut *state_ptr };
    Err(match (state.fault, state.unwind.take()) {
        (Some(fault), _) => Unwind::Fault(fault, fault_site, frames),
        (None, Some(Unwind::Trap(mut trap))) => {
            // A trap from a nested call keeps its inner frames; these are its callers.
            trap.backtrace.extend(frames);
            Unwind::Trap(trap)
        }
        (None, Some(unwind)) => unwind,
        (None, None) => Unwind::Trap(Trap::new(
            TrapCode::HostError,
            Some("wasm execution was interrupted without a reason".to_owned()),
        )),
    })
}

/// The body run under the jump target: calls the entry trampoline.
unsafe extern "C" fn enter(data: *mut c_void) {
    // SAFETY: `data` is the `WasmCall` passed by `call_wasm`, alive for the whole call.
    let call = unsafe { &*data.cast_const().cast::<WasmCall>() };
    // SAFETY: `array_call` is an entry trampoline (checked non-null by the caller) with the ABI
    // signature; its arguments are valid per `call_wasm`'s contract.
    unsafe {
        let trampoline: EntryTrampoline =
            core::mem::transmute::<*const (), EntryTrampoline>(call.array_call);
        trampoline(call.code, call.vmctx, call.values);
    }
    // A use after the call keeps it from being a tail call: the entry trampoline returns into
    // this function, which is how a backtrace recognises the end of the live chain of frames.
    core::hint::black_box(call);
}

/// The signal handler's filter: a fault in wasm code while this thread runs wasm jumps back to
/// the call; anything else returns `false`. Async-signal-safe.
///
/// # Safety
/// Called only from the trap signal handler.
unsafe fn on_fault(fault: &Fault) -> bool {
    let state = CURRENT.with(Cell::get);
    if state.is_null() || !code_registry::is_wasm_code(fault.pc) {
        return false;
    }
    // SAFETY: a non-null CURRENT points at the live `CallState` of the innermost call on this
    // thread (the handler runs on the faulting thread).
    unsafe {
        if (*state).jump_target.is_null() {
            return false;
        }
        (*state).fault = Some(*fault);
        record_backtrace(
            FramesFrom::Fault {
                pc: fault.pc,
                fp: fault.fp,
                sp: fault.sp,
            },
            state as usize,
        );
        sys::long_jump((*state).jump_target)
    }
}

/// Stops the wasm code running on this thread with `unwind`, jumping back to its entry.
///
/// # Safety
/// Must be called from code wasm called (a runtime helper or host-call glue) whose frames, and
/// all frames up to the entry, hold no value with a destructor.
pub(crate) unsafe fn raise(unwind: Unwind) -> ! {
    let from = FramesFrom::ReturnAddressAbove(sys::approximate_stack_pointer());
    // SAFETY: forwarded; the stack from here up belongs to the running call.
    unsafe { raise_from(unwind, from) }
}

/// [`raise`] from a host function whose exit trampoline's values lie at `values`, in the
/// trampoline's frame: the trampoline's frame record, just above, starts the backtrace.
///
/// # Safety
/// As for [`raise`]; `values` must be the array the exit trampoline passed.
pub(crate) unsafe fn raise_from_host(unwind: Unwind, values: usize) -> ! {
    let from = FramesFrom::Record(sys::trampoline_record_from_values(values));
    // SAFETY: forwarded.
    unsafe { raise_from(unwind, from) }
}

/// # Safety
/// As for [`raise`]; the address in `from` lies in this thread's stack below the wasm frames.
unsafe fn raise_from(unwind: Unwind, from: FramesFrom) -> ! {
    let state = CURRENT.with(Cell::get);
    // SAFETY: as in `on_fault`, for normal context.
    unsafe {
        if state.is_null() || (*state).jump_target.is_null() {
            // Not called from wasm: there is nowhere to go.
            std::process::abort();
        }
        (*state).unwind = Some(unwind);
        record_backtrace(from, state as usize);
        sys::long_jump((*state).jump_target)
    }
}

/// Return addresses (or the faulting pc first) of the last trap on this thread, recorded
/// before the jump (after it the frames are overwritten). Plain data: the signal handler writes
/// it.
struct RawBacktrace {
    addresses: [usize; MAX_BACKTRACE_FRAMES],
    len: usize,
    /// Whether `addresses[0]` is a faulting pc rather than a return address.
    first_is_pc: bool,
}

impl RawBacktrace {
    fn push(&mut self, address: usize) -> bool {
        match self.addresses.get_mut(self.len) {
            Some(slot) => {
                *slot = address;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

thread_local! {
    /// Const-initialised without destructor, so the signal handler can write it.
    static RAW_BACKTRACE: UnsafeCell<RawBacktrace> = const {
        UnsafeCell::new(RawBacktrace {
            addresses: [0; MAX_BACKTRACE_FRAMES],
            len: 0,
            first_is_pc: false,
        })
    };
}

/// How far past the start of [`enter`] the entry trampoline's return address may lie (`enter`
/// is a few instructions).
const ENTER_RETURN_WINDOW: usize = 1024;

/// Whether the chain of frame records from `fp` is the live one: it returns into wasm text at
/// least once, ascending within `[fp, high)`, and ends at the entry trampoline's record, which
/// returns into [`enter`] (a chain through stale stack data ends anywhere else).
/// Async-signal-safe.
fn is_frame_chain(mut fp: usize, high: usize) -> bool {
    let mut steps = 0usize;
    // SAFETY: `[fp, high)` lies between the trap and the entry's call state: live stack.
    while let Some((next, ret)) = unsafe { sys::frame_record(fp, fp, high) } {
        if !code_registry::is_wasm_code(ret) {
            let into_enter = ret.wrapping_sub(enter as *const () as usize) < ENTER_RETURN_WINDOW;
            return steps > 0 && into_enter;
        }
        if next <= fp {
            return false;
        }
        steps += 1;
        fp = next;
    }
    false
}

/// The first address at or above `from` (8-aligned) where the live chain of frame records
/// starts.
fn first_frame_chain(from: usize, high: usize) -> Option<usize> {
    let mut record = from.next_multiple_of(8);
    while record.checked_add(16)? <= high {
        if is_frame_chain(record, high) {
            return Some(record);
        }
        record += 8;
    }
    None
}

/// Appends the return addresses of the chain of frame records from `fp` while they return into
/// wasm text, every read within `[low, high)` and ascending. Async-signal-safe.
fn walk_frame_records(raw: &mut RawBacktrace, mut fp: usize, low: usize, high: usize) {
    let mut low = low;
    // SAFETY: `[low, high)` lies between the trap and the entry's call state: live stack.
    while let Some((next, ret)) = unsafe { sys::frame_record(fp, low, high) } {
        if !code_registry::is_wasm_code(ret) || !raw.push(ret) || next <= fp {
            return;
        }
        low = fp;
        fp = next;
    }
}

/// Where the wasm frames of a trap start.
#[derive(Copy, Clone)]
enum FramesFrom {
    /// A fault: its pc is the innermost frame, its frame pointer the first record.
    Fault { pc: usize, fp: usize, sp: usize },
    /// A runtime helper called by wasm: the first return address into wasm text at or above
    /// this stack address is the innermost frame (the helper's caller); its caller's frame
    /// record (found from that slot, [`record_helper_frames`]) continues the walk.
    ReturnAddressAbove(usize),
    /// A host function: the exit trampoline's frame record, whose return address is the wasm
    /// caller.
    Record(sys::RecordSearch),
}

/// Records the backtrace of a trap about to jump back to the entry whose call state lies at
/// `high` (above every wasm frame), starting where `from` says. Async-signal-safe: no lock, no
/// allocation.
fn record_backtrace(from: FramesFrom, high: usize) {
    let _ = RAW_BACKTRACE.try_with(|raw| {
        // SAFETY: only this thread touches its buffer, and never re-entrantly: a trap inside
        // the recording is not in wasm code, so it is not claimed by `on_fault`.
        let raw = unsafe { &mut *raw.get() };
        raw.len = 0;
        raw.first_is_pc = matches!(from, FramesFrom::Fault { .. });
        match from {
            FramesFrom::Fault { pc, fp, sp } => {
                raw.push(pc);
                walk_frame_records(raw, fp, sp, high);
            }
            FramesFrom::Record(sys::RecordSearch::ScanUpFrom(address)) => {
                if let Some(record) = first_frame_chain(address, high) {
                    walk_frame_records(raw, record, record, high);
                }
            }
            FramesFrom::Record(sys::RecordSearch::Nowhere) => {}
            FramesFrom::ReturnAddressAbove(address) => {
                record_helper_frames(raw, address, high);
            }
        }
    });
}

/// Whether `address` can be a return address into a compiled function: it and the byte before
/// it (the call) lie in the same function (a function's start, as a spilled function pointer,
/// does not). Normal context only (it locks the registry).
fn is_return_into_function(address: usize) -> bool {
    if !code_registry::is_wasm_code(address) {
        return false;
    }
    let Some((module, text_start)) = code_registry::module_at(address) else {
        return false;
    };
    let Ok(offset) = u32::try_from(address - text_start) else {
        return false;
    };
    offset > 0
        && module
            .function_containing(offset)
            .is_some_and(|f| module.function_containing(offset - 1) == Some(f))
}

/// Records the frames of a trap raised by a runtime helper whose frames lie at `address` and
/// above, below its wasm caller's. Normal context only.
fn record_helper_frames(raw: &mut RawBacktrace, address: usize, high: usize) {
    let word = |slot: usize| {
        // SAFETY: `[address, high)` lies between the raising frame and the entry's call state:
        // live stack.
        unsafe { sys::stack_word_within(slot, address, high) }
    };
    let start = address.next_multiple_of(8);
    match sys::RETURN_SLOT {
        sys::ReturnSlot::BelowCallerRecord => {
            // The first live record is the helper's own when Rust code keeps frame records
            // (aarch64): its chain starts with the return into the caller. Otherwise it is the
            // caller's, and the helper's return address lies below it: the one the helper saved
            // beside the caller's frame pointer (the frame pointer register saved first), else
            // the highest return into a function (lower words are stale data of frames that
            // returned).
            let Some(record) = first_frame_chain(start, high) else {
                return;
            };
            let words = || {
                (start..record)
                    .step_by(8)
                    .rev()
                    .filter_map(|slot| Some((slot, word(slot)?)))
            };
            let is_return = |w: usize| {
                w.is_multiple_of(sys::INSTRUCTION_ALIGNMENT) && is_return_into_function(w)
            };
            // The saved frame pointer is tested first: it reads one word, where
            // `is_return_into_function` locks the code registry.
            let beside_caller_fp = words()
                .filter(|(slot, _)| slot.checked_sub(8).and_then(word) == Some(record))
                .map(|(_, w)| w)
                .find(|w| is_return(*w));
            let innermost = beside_caller_fp.or_else(|| {
                (!sys::HELPERS_KEEP_FRAME_RECORDS)
                    .then(|| words().map(|(_, w)| w).find(|w| is_return(*w)))
                    .flatten()
            });
            if let Some(innermost) = innermost {
                raw.push(innermost);
            }
            walk_frame_records(raw, record, record, high);
        }
        sys::ReturnSlot::AboveCallerRecord(offset) => {
            // The first return address into wasm text whose caller's record starts the live
            // chain.
            let mut slot = start;
            while let Some(w) = word(slot) {
                if code_registry::is_wasm_code(w)
                    && let Some(record) = slot.checked_sub(offset)
                    && is_frame_chain(record, high)
                {
                    raw.push(w);
                    walk_frame_records(raw, record, record, high);
                    return;
                }
                slot += 8;
            }
        }
        sys::ReturnSlot::Unknown => {}
    }
}

/// The frames recorded by the last trap on this thread, resolved to functions (trampolines and
/// code of unloaded modules are left out), and, when the trap was a fault (its pc recorded
/// first, [`on_fault`]), the module text holding that pc, for [`trap_from_fault`].
fn take_backtrace() -> (Vec<Frame>, Option<FaultSite>) {
    let Ok((addresses, first_is_pc)) = RAW_BACKTRACE.try_with(|raw| {
        // SAFETY: normal context, after the jump: nothing else uses the buffer now.
        let raw = unsafe { &mut *raw.get() };
        let len = core::mem::take(&mut raw.len);
        (raw.addresses[..len].to_vec(), raw.first_is_pc)
    }) else {
        return (Vec::new(), None);
    };
    let mut fault_site = None;
    let mut frames = Vec::with_capacity(addresses.len());
    for (i, &address) in addresses.iter().enumerate() {
        // A return address may follow the last instruction of its function: look up the byte
        // before it.
        let inside = if i == 0 && first_is_pc {
            address
        } else {
            address.wrapping_sub(1)
        };
        let Some((module, text_start)) = code_registry::module_at(inside) else {
            continue;
        };
        if i == 0 && first_is_pc {
            fault_site = Some((Arc::clone(&module), text_start));
        }
        let Ok(text_offset) = u32::try_from(address - text_start) else {
            continue;
        };
        let inside_offset = u32::try_from(inside - text_start).unwrap_or(text_offset);
        if let Some(func_index) = module.function_containing(inside_offset) {
            frames.push(Frame {
                func_index,
                func_name: module.function_name(func_index),
                text_offset,
            });
        }
    }
    (frames, fault_site)
}

/// [`raise`] with a trap code.
///
/// # Safety
/// As for [`raise`].
pub(crate) unsafe fn raise_code(code: TrapCode) -> ! {
    // SAFETY: forwarded.
    unsafe { raise(Unwind::Trap(Trap::new(code, None))) }
}

impl Unwind {
    /// The trap this unwind reports; panics are resumed.
    pub(crate) fn into_trap(self) -> Trap {
        match self {
            Unwind::Fault(fault, site, backtrace) => Trap {
                backtrace,
                ..trap_from_fault(fault, site)
            },
            Unwind::Trap(trap) => trap,
            Unwind::Panic(payload) => std::panic::resume_unwind(payload),
        }
    }
}

/// Maps a fault in wasm code to a trap through the trap table of the module that holds the code
/// (`site`, found by [`take_backtrace`]; `None`: unloaded).
fn trap_from_fault(fault: Fault, site: Option<FaultSite>) -> Trap {
    let Some((module, text_start)) = site else {
        return Trap::new(
            classify(&fault),
            Some(format!(
                "{:?} at {:#x}, whose module was unloaded",
                fault.signal, fault.pc
            )),
        );
    };
    let offset = u32::try_from(fault.pc - text_start).unwrap_or(u32::MAX);
    let recorded = module.trap_code_at(offset);
    let exact = recorded.as_ref().ok().copied().flatten();
    let func_index = module.function_containing(offset);
    let message = match &recorded {
        Ok(Some(_)) => None,
        Ok(None) => Some(format!(
            "{:?} (address {:#x}) in `{}` where no trap site is recorded; classified by signal",
            fault.signal,
            fault.address,
            module.name()
        )),
        Err(damage) => Some(format!(
            "{:?} (address {:#x}) in `{}`, whose trap table is damaged ({damage}); classified by signal",
            fault.signal,
            fault.address,
            module.name()
        )),
    };
    Trap {
        code: exact.unwrap_or_else(|| classify(&fault)),
        func_index,
        func_name: func_index.and_then(|i| module.function_name(i)),
        text_offset: Some(offset),
        message,
        backtrace: Vec::new(),
    }
}

/// A trap code for a fault without a trap-table entry.
fn classify(fault: &Fault) -> TrapCode {
    match fault.signal {
        TrapSignal::Segv | TrapSignal::Bus => {
            let near_stack_end = sys::thread_stack_bounds().is_some_and(|(low, _)| {
                fault.address < low.saturating_add(STACK_MARGIN)
                    && fault.address >= low.saturating_sub(1 << 20)
            });
            if near_stack_end {
                TrapCode::StackOverflow
            } else {
                TrapCode::MemoryOutOfBounds
            }
        }
        TrapSignal::Ill => TrapCode::UnreachableCodeReached,
        TrapSignal::Fpe => TrapCode::IntegerDivisionByZero,
    }
}
