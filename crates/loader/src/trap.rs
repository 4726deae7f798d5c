//! Traps: the [`Trap`] error, and the machinery that gets there. Entering wasm publishes a jump
//! target in a thread-local [`CallState`]; a fault in wasm code (signal handler) or a trapping
//! runtime helper or host function ([`raise`]) jumps back to it, and the fault's program counter
//! is mapped to a trap code through the module's trap table.
//!
//! Jumping skips the frames in between without running destructors: every function that can be
//! skipped (runtime helpers, host-call glue, the entry glue) holds no value with a destructor at
//! the point where it may trap.

use std::any::Any;
use std::cell::Cell;
use std::ffi::c_void;
use std::fmt;
use std::ptr;

use aotc_abi::TrapCode;

use crate::code_registry;
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
}

impl Trap {
    /// A trap with a code and optional message, and no location.
    pub fn new(code: TrapCode, message: Option<String>) -> Trap {
        Trap {
            code,
            func_index: None,
            func_name: None,
            text_offset: None,
            message,
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

/// Why a call into wasm did not return normally.
pub(crate) enum Unwind {
    /// A fault in wasm code.
    Fault(Fault),
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
    // SAFETY: the call is over: nothing else references the state any more.
    let state = unsafe { &mut *state_ptr };
    Err(match (state.fault, state.unwind.take()) {
        (Some(fault), _) => Unwind::Fault(fault),
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
        sys::long_jump((*state).jump_target)
    }
}

/// Stops the wasm code running on this thread with `unwind`, jumping back to its entry.
///
/// # Safety
/// Must be called from code wasm called (a runtime helper or host-call glue) whose frames, and
/// all frames up to the entry, hold no value with a destructor.
pub(crate) unsafe fn raise(unwind: Unwind) -> ! {
    let state = CURRENT.with(Cell::get);
    // SAFETY: as in `on_fault`, for normal context.
    unsafe {
        if state.is_null() || (*state).jump_target.is_null() {
            // Not called from wasm: there is nowhere to go.
            std::process::abort();
        }
        (*state).unwind = Some(unwind);
        sys::long_jump((*state).jump_target)
    }
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
            Unwind::Fault(fault) => trap_from_fault(fault),
            Unwind::Trap(trap) => trap,
            Unwind::Panic(payload) => std::panic::resume_unwind(payload),
        }
    }
}

/// Maps a fault in wasm code to a trap through the trap table of the module that holds the code.
fn trap_from_fault(fault: Fault) -> Trap {
    let Some((module, text_start)) = code_registry::module_at(fault.pc) else {
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
