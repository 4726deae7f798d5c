//! The posix platform layer: raw mappings (the mmap and munmap of every range `memmap2` cannot
//! map) and the address-space reservations with guard regions built on them (mprotect), the
//! page size, the trap signal handlers and per-thread alternate signal stacks, thread stack
//! bounds, the setjmp/longjmp glue (compiled from `csrc/jmpbuf.c`) and instruction-cache
//! maintenance (`csrc/icache.c`). The only module that calls libc.

use core::ffi::{c_int, c_void};
use core::ptr;
use std::cell::RefCell;
use std::cell::UnsafeCell;
use std::io;
use std::mem::MaybeUninit;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = usize::try_from(size)
                .ok()
                .filter(|s| s.is_power_of_two())
                .unwrap_or(4096);
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// A range of address space mapped with raw `mmap`, unmapped on drop: the one owner of such a
/// range. [`Reservation`] and the text mappings (`text_mapping.rs`) are built on it.
#[derive(Debug)]
pub(super) struct RawMapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a mapping is a plain range of addresses; who may access its bytes is decided by its
// owner (a reservation's memory or alternate stack, a module's text), not by the thread that
// mapped it.
unsafe impl Send for RawMapping {}
// SAFETY: as above; `&RawMapping` only hands out the address and length.
unsafe impl Sync for RawMapping {}

impl RawMapping {
    /// `mmap(address, len, prot, flags, fd, offset)`: `len` bytes at `address` when `flags` ask
    /// for exactly there, else where the kernel chooses (`address` is a hint).
    ///
    /// # Safety
    /// `flags` must not let the mapping replace an existing one (no `MAP_FIXED`;
    /// `MAP_FIXED_NOREPLACE` fails instead).
    pub(super) unsafe fn map(
        address: usize,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        offset: libc::off_t,
    ) -> io::Result<RawMapping> {
        // SAFETY: the caller guarantees no existing mapping is replaced, so no memory in use is
        // affected.
        let ptr = unsafe { libc::mmap(address as *mut c_void, len, prot, flags, fd, offset) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(RawMapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// First byte of the mapping.
    pub(super) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Its length in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for RawMapping {
    fn drop(&mut self) {
        // SAFETY: the range was mapped by this `RawMapping` and nothing else unmaps it; whoever
        // owns it has stopped using its addresses by the time it is dropped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// A range of address space reserved inaccessible (`PROT_NONE`, `MAP_NORESERVE`: no memory is
/// committed), parts of which are made readable and writable with
/// [`Reservation::make_read_write`]; the rest stays a guard region. Unmapped on drop. Linear
/// memories (the current size inside a guard region) and alternate signal stacks (behind a
/// guard page) are built on it. A [`RawMapping`]: `memmap2`, which maps the files, cannot
/// reserve address space without access nor give part of a mapping other rights than the rest.
#[derive(Debug)]
pub(crate) struct Reservation {
    mapping: RawMapping,
}

impl Reservation {
    /// Reserves `len` bytes of address space: inaccessible, and committing no memory until parts
    /// are made accessible with [`Reservation::make_read_write`].
    pub(crate) fn new(len: usize) -> io::Result<Reservation> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel; no existing memory is affected.
        let mapping = unsafe {
            RawMapping::map(
                0,
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        }?;
        if mapping.as_ptr().is_null() {
            return Err(io::Error::other("mmap returned null"));
        }
        Ok(Reservation { mapping })
    }

    /// Makes `[offset, offset + len)` (`offset` page aligned) of the reservation readable and
    /// writable (zero-filled where it was never accessible before).
    ///
    /// # Safety
    /// The range must not hold memory that something else relies on being inaccessible.
    pub(crate) unsafe fn make_read_write(&self, offset: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let in_range = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.len().next_multiple_of(page_size()));
        if !in_range || !offset.is_multiple_of(page_size()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "protection range outside the reservation",
            ));
        }
        // SAFETY: the range lies within this reservation (checked above); the caller guarantees
        // nothing relies on it staying inaccessible.
        let rc = unsafe {
            libc::mprotect(
                self.as_ptr().add(offset).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// First byte of the reservation.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.mapping.as_ptr()
    }

    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.mapping.len()
    }
}

/// The signals that can mean a wasm trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrapSignal {
    /// SIGSEGV: an access to an unmapped or protected address.
    Segv,
    /// SIGBUS: a bus error (guard pages on some systems).
    Bus,
    /// SIGILL: an illegal instruction (`ud2`, `udf`).
    Ill,
    /// SIGFPE: an arithmetic fault (x86 `idiv`).
    Fpe,
}

const TRAP_SIGNALS: [(c_int, TrapSignal); 4] = [
    (libc::SIGSEGV, TrapSignal::Segv),
    (libc::SIGBUS, TrapSignal::Bus),
    (libc::SIGILL, TrapSignal::Ill),
    (libc::SIGFPE, TrapSignal::Fpe),
];

/// What the faulting thread was doing when a trap signal arrived.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Fault {
    /// The signal.
    pub(crate) signal: TrapSignal,
    /// Program counter of the faulting instruction.
    pub(crate) pc: usize,
    /// Faulting data address (SIGSEGV/SIGBUS), else whatever the kernel reported.
    pub(crate) address: usize,
    /// The frame pointer register (0 where frames are not walked).
    pub(crate) fp: usize,
    /// The stack pointer register.
    pub(crate) sp: usize,
}

/// The handlers that were installed before ours, to which non-wasm faults are forwarded.
struct PreviousActions([UnsafeCell<MaybeUninit<libc::sigaction>>; 4]);

// SAFETY: every slot is written once, inside `INSTALL.call_once`, before the handler that reads
// it is installed; afterwards it is only read.
unsafe impl Sync for PreviousActions {}

static PREVIOUS: PreviousActions = PreviousActions([
    UnsafeCell::new(MaybeUninit::uninit()),
    UnsafeCell::new(MaybeUninit::uninit()),
    UnsafeCell::new(MaybeUninit::uninit()),
    UnsafeCell::new(MaybeUninit::uninit()),
]);
static INSTALL: Once = Once::new();

/// The callback the signal handler consults: it must be async-signal-safe and either not return
/// (it jumps back into the runtime) or return `false` for a fault that is not a wasm trap.
pub(crate) type FaultFilter = unsafe fn(&Fault) -> bool;

static FILTER: AtomicUsize = AtomicUsize::new(0);

/// Installs (once per process) the handlers for SIGSEGV, SIGBUS, SIGILL and SIGFPE. A fault
/// `filter` does not claim is forwarded to the handler installed before (or the default action).
pub(crate) fn install_trap_handlers(filter: FaultFilter) {
    INSTALL.call_once(|| {
        FILTER.store(filter as usize, Ordering::SeqCst);
        for (i, (signum, _)) in TRAP_SIGNALS.iter().enumerate() {
            // SAFETY: `sigaction` is plain data; zeroed is a valid (default) action. The slot is
            // written before our handler is installed, and only here.
            unsafe {
                let slot = (*PREVIOUS.0[i].get()).as_mut_ptr();
                ptr::write_bytes(slot, 0, 1);
                libc::sigaction(*signum, ptr::null(), slot);
                let mut action: libc::sigaction = core::mem::zeroed();
                action.sa_sigaction = trap_signal_handler as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(*signum, &action, ptr::null_mut());
            }
        }
    });
}

unsafe extern "C" fn trap_signal_handler(
    signum: c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut c_void,
) {
    let Some(index) = TRAP_SIGNALS.iter().position(|(s, _)| *s == signum) else {
        return;
    };
    let filter = FILTER.load(Ordering::SeqCst);
    if filter != 0 && !info.is_null() && !ctx.is_null() {
        // SAFETY: the kernel passes a valid siginfo and ucontext to an SA_SIGINFO handler.
        let fault = unsafe {
            let Regs { pc, fp, sp } = regs_of(signum, ctx);
            Fault {
                signal: TRAP_SIGNALS[index].1,
                pc,
                address: (*info).si_addr() as usize,
                fp,
                sp,
            }
        };
        // SAFETY: FILTER only ever holds a `FaultFilter` (stored in `install_trap_handlers`).
        let filter: FaultFilter = unsafe { core::mem::transmute::<usize, FaultFilter>(filter) };
        // SAFETY: the filter is async-signal-safe by contract.
        if unsafe { filter(&fault) } {
            return;
        }
    }
    // Not a wasm trap: hand it to whoever was there before.
    // SAFETY: the slot was initialised before this handler was installed.
    let previous = unsafe { &*(*PREVIOUS.0[index].get()).as_ptr() };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again and the
        // default action (terminate, dump core) takes place with the right signal.
        // SAFETY: a zeroed sigaction with SIG_DFL is a valid action.
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signum, &action, ptr::null_mut());
        }
        return;
    }
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: an SA_SIGINFO handler has this signature; we pass the arguments we received.
        unsafe {
            let f: unsafe extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                core::mem::transmute::<libc::sighandler_t, _>(handler);
            f(signum, info, ctx);
        }
    } else {
        // SAFETY: a plain handler has this signature.
        unsafe {
            let f: unsafe extern "C" fn(c_int) =
                core::mem::transmute::<libc::sighandler_t, _>(handler);
            f(signum);
        }
    }
}

/// The registers a trap needs, as saved in a signal's ucontext.
#[derive(Copy, Clone)]
struct Regs {
    /// The program counter of the faulting instruction.
    pc: usize,
    /// The frame pointer (0 where frames are not walked).
    fp: usize,
    /// The stack pointer.
    sp: usize,
}

/// The program counter, frame pointer (`rbp`) and stack pointer saved in a signal's ucontext.
///
/// # Safety
/// `ctx` must be the ucontext passed to an SA_SIGINFO handler.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn regs_of(_signum: c_int, ctx: *mut c_void) -> Regs {
    // SAFETY: guaranteed by the caller.
    let gregs = unsafe { &(*ctx.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    Regs {
        pc: gregs[libc::REG_RIP as usize] as usize,
        fp: gregs[libc::REG_RBP as usize] as usize,
        sp: gregs[libc::REG_RSP as usize] as usize,
    }
}

/// The program counter, frame pointer (`x29`) and stack pointer saved in a signal's ucontext.
///
/// # Safety
/// `ctx` must be the ucontext passed to an SA_SIGINFO handler.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn regs_of(_signum: c_int, ctx: *mut c_void) -> Regs {
    // SAFETY: guaranteed by the caller.
    let mcontext = unsafe { &(*ctx.cast::<libc::ucontext_t>()).uc_mcontext };
    Regs {
        pc: mcontext.pc as usize,
        fp: mcontext.regs[29] as usize,
        sp: mcontext.sp as usize,
    }
}

/// The program counter, back chain and stack pointer saved in a signal's ucontext.
///
/// The program counter: SIGILL and SIGFPE leave the PSW address *after* the faulting
/// instruction (SIGSEGV and SIGBUS at it), so Cranelift records the trap sites of those signals
/// on the instruction's last byte: one byte back finds them.
///
/// The back chain is the stack pointer: at its lowest word every compiled frame holds its entry
/// stack pointer (Cranelift's `preserve_frame_pointers` on s390x).
///
/// # Safety
/// `ctx` must be the ucontext passed to an SA_SIGINFO handler for `signum`.
#[cfg(all(target_os = "linux", target_arch = "s390x"))]
unsafe fn regs_of(signum: c_int, ctx: *mut c_void) -> Regs {
    // SAFETY: guaranteed by the caller.
    let mcontext = unsafe { &(*ctx.cast::<libc::ucontext_t>()).uc_mcontext };
    let address = mcontext.psw.addr as usize;
    let pc = if signum == libc::SIGILL || signum == libc::SIGFPE {
        address.wrapping_sub(1)
    } else {
        address
    };
    let sp = mcontext.gregs[15] as usize;
    Regs { pc, fp: sp, sp }
}

/// Nothing is known on this platform: no fault is recognised as a wasm trap (except those
/// raised by runtime helpers, which do not come through here) and no frame is walked.
///
/// # Safety
/// None.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "s390x")
)))]
unsafe fn regs_of(_signum: c_int, _ctx: *mut c_void) -> Regs {
    Regs {
        pc: 0,
        fp: 0,
        sp: 0,
    }
}

/// Whether compiled frames keep a frame record at their frame pointer, `[fp, fp + 16)`: the
/// caller's frame pointer, then the return address (x86_64 and aarch64, with Cranelift's
/// `preserve_frame_pointers`). On s390x the same option keeps the back chain instead: a frame's
/// lowest word is its caller's stack pointer, and its return address lies in the caller's
/// register save area ([`frame_record`]).
const FRAME_RECORDS_AT_FRAME_POINTER: bool = cfg!(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
));

/// Whether compiled frames can be walked on this platform.
const WALKS_FRAMES: bool =
    FRAME_RECORDS_AT_FRAME_POINTER || cfg!(all(target_os = "linux", target_arch = "s390x"));

/// Size of the s390x register save area at the bottom of every frame (its stack pointer up).
const S390X_REGISTER_SAVE_AREA: usize = 160;
/// Offset of the saved return address (r14) in the s390x register save area.
const S390X_SAVED_R14: usize = 112;

/// Where to look for a frame record (the argument of [`frame_record`]).
#[derive(Copy, Clone)]
pub(crate) enum RecordSearch {
    /// The first address from here up whose chain of records is sound.
    ScanUpFrom(usize),
    /// Nowhere: frames are not walked on this platform.
    Nowhere,
}

/// Alignment of every instruction, so of every return address (x86_64: none).
pub(crate) const INSTRUCTION_ALIGNMENT: usize = if cfg!(target_arch = "aarch64") {
    4
} else if cfg!(target_arch = "s390x") {
    2
} else {
    1
};

/// Whether the runtime's own (Rust) functions keep frame records, so that a runtime helper
/// called by wasm has one, holding its return address into wasm: on aarch64 Linux, where
/// LLVM keeps them in every non-leaf function; on x86_64 Rust omits them.
pub(crate) const HELPERS_KEEP_FRAME_RECORDS: bool = cfg!(target_arch = "aarch64");

/// Where a runtime helper saves its return address into its wasm caller, relative to that
/// caller's frame record.
#[derive(Copy, Clone)]
pub(crate) enum ReturnSlot {
    /// Below the record (x86_64, aarch64): the caller's spill slots and outgoing arguments lie
    /// in between, and no other frame does.
    BelowCallerRecord,
    /// This many bytes above the record (s390x: in the caller's register save area, above its
    /// stack pointer).
    AboveCallerRecord(usize),
    /// Frames are not walked on this platform.
    Unknown,
}

/// Where a runtime helper's return address lies on this platform.
pub(crate) const RETURN_SLOT: ReturnSlot = if FRAME_RECORDS_AT_FRAME_POINTER {
    ReturnSlot::BelowCallerRecord
} else if WALKS_FRAMES {
    ReturnSlot::AboveCallerRecord(S390X_SAVED_R14)
} else {
    ReturnSlot::Unknown
};

/// Where an exit trampoline's frame record lies, given its values array (a stack slot of its
/// frame): above it on x86_64 and aarch64; on s390x the record is the trampoline's stack
/// pointer, below the outgoing register save area under its stack slots.
pub(crate) fn trampoline_record_from_values(values: usize) -> RecordSearch {
    if FRAME_RECORDS_AT_FRAME_POINTER {
        RecordSearch::ScanUpFrom(values)
    } else if WALKS_FRAMES {
        values
            .checked_sub(S390X_REGISTER_SAVE_AREA)
            .map_or(RecordSearch::Nowhere, RecordSearch::ScanUpFrom)
    } else {
        RecordSearch::Nowhere
    }
}

/// Reads the word at `address` if `[address, address + 8)` lies in `[low, high)`, aligned.
///
/// # Safety
/// `[low, high)` must be readable: a live range of this thread's stack.
pub(crate) unsafe fn stack_word_within(address: usize, low: usize, high: usize) -> Option<usize> {
    let inside = address >= low
        && address.is_multiple_of(8)
        && address.checked_add(8).is_some_and(|end| end <= high);
    // SAFETY: the word lies in `[low, high)`, readable per the caller.
    inside.then(|| unsafe { (address as *const usize).read_volatile() })
}

/// The frame record of the compiled frame at `fp` (its frame pointer; on s390x its stack
/// pointer): `(the caller's frame pointer, the return address into the caller)`, or `None`
/// when a word it needs lies outside `[low, high)`.
///
/// # Safety
/// `[low, high)` must be readable: a live range of this thread's stack (between a trap and the
/// entry of the call that traps). Every read is checked to lie in it.
pub(crate) unsafe fn frame_record(fp: usize, low: usize, high: usize) -> Option<(usize, usize)> {
    if cfg!(target_arch = "s390x") {
        // The back chain is the caller's stack pointer, below which this frame was made; the
        // return address (r14) is saved in the caller's register save area, 112 bytes up.
        // SAFETY: checked to lie in `[low, high)`, readable per the caller.
        let caller_sp = unsafe { stack_word_within(fp, low, high) }?;
        let saved_r14 = caller_sp.checked_add(S390X_SAVED_R14)?;
        // SAFETY: as above.
        let ret = unsafe { stack_word_within(saved_r14, fp, high) }?;
        Some((caller_sp, ret))
    } else if FRAME_RECORDS_AT_FRAME_POINTER {
        // SAFETY: checked to lie in `[low, high)`, readable per the caller.
        let caller_fp = unsafe { stack_word_within(fp, low, high) }?;
        // SAFETY: as above.
        let ret = unsafe { stack_word_within(fp.checked_add(8)?, low, high) }?;
        Some((caller_fp, ret))
    } else {
        None
    }
}

/// Size of the alternate signal stacks this crate installs.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// A thread's alternate signal stack installed by this crate; removed and unmapped when the
/// thread exits.
struct AltStack {
    /// A guard page, then the stack.
    reservation: Reservation,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disabling the alternate stack before unmapping it; if another one was installed
        // meanwhile (not ours), leave it alone.
        unsafe {
            let mut current: libc::stack_t = core::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut current);
            let ours = self.reservation.as_ptr().add(page_size()).cast::<c_void>();
            if current.ss_sp == ours {
                let disable = libc::stack_t {
                    ss_sp: ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: ALT_STACK_SIZE,
                };
                libc::sigaltstack(&disable, ptr::null_mut());
            }
        }
    }
}

thread_local! {
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
    static ALT_STACK_CHECKED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Makes sure the current thread has an alternate signal stack, so a fault caused by a stack
/// overflow can still be handled. Keeps an existing one (Rust's runtime installs one on the
/// threads it starts).
pub(crate) fn ensure_alt_stack() {
    if ALT_STACK_CHECKED.with(|c| c.replace(true)) {
        return;
    }
    // SAFETY: querying the current alternate stack.
    let current = unsafe {
        let mut current: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut current);
        current
    };
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= 16 * 1024 {
        return;
    }
    let guard = page_size();
    let Ok(reservation) = Reservation::new(guard + ALT_STACK_SIZE) else {
        return;
    };
    // SAFETY: everything above the lowest page (the guard page) becomes the stack; nothing
    // references the reservation yet.
    if unsafe { reservation.make_read_write(guard, ALT_STACK_SIZE) }.is_err() {
        return;
    }
    let stack = libc::stack_t {
        // SAFETY: within the reservation.
        ss_sp: unsafe { reservation.as_ptr().add(guard) }.cast(),
        ss_flags: 0,
        ss_size: ALT_STACK_SIZE,
    };
    // SAFETY: the stack memory stays mapped until `AltStack` is dropped, which disables it first.
    if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } == 0 {
        ALT_STACK.with(|s| *s.borrow_mut() = Some(AltStack { reservation }));
    }
}

thread_local! {
    /// The thread's stack bounds, once asked (glibc reads `/proc/self/maps` for the main thread).
    static STACK_BOUNDS: core::cell::Cell<Option<Option<(usize, usize)>>> =
        const { core::cell::Cell::new(None) };
}

/// The current thread's stack as `(lowest usable address, highest address)`, if known.
pub(crate) fn thread_stack_bounds() -> Option<(usize, usize)> {
    STACK_BOUNDS
        .try_with(|cached| match cached.get() {
            Some(bounds) => bounds,
            None => {
                let bounds = query_thread_stack_bounds();
                cached.set(Some(bounds));
                bounds
            }
        })
        .unwrap_or_else(|_| query_thread_stack_bounds())
}

#[cfg(target_os = "linux")]
fn query_thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: pthread_getattr_np fills `attr`, which is destroyed after use; the out pointers
    // are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut c_void = ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 || addr.is_null() {
            return None;
        }
        let low = addr as usize;
        Some((low, low.checked_add(size)?))
    }
}

#[cfg(not(target_os = "linux"))]
fn query_thread_stack_bounds() -> Option<(usize, usize)> {
    None
}

/// An address within the caller's stack frame: the stack pointer, to within a few bytes.
#[inline(never)]
pub(crate) fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    core::hint::black_box(&marker) as *const u8 as usize
}

unsafe extern "C" {
    fn aotc_clear_icache(start: *mut u8, end: *mut u8);
    fn aotc_call_with_jmpbuf(
        slot: *mut *mut c_void,
        body: unsafe extern "C" fn(*mut c_void),
        data: *mut c_void,
    ) -> c_int;
    fn aotc_longjmp(buf: *mut c_void) -> !;
}

/// Calls `body(data)` with a jump target published in `*slot`; returns `true` when `body`
/// returned, `false` when [`long_jump`] was called with the target.
///
/// # Safety
/// `body(data)` must be safe to call. Frames between this call and a [`long_jump`] are discarded
/// without running destructors: they must hold none.
pub(crate) unsafe fn call_with_jump_target(
    slot: *mut *mut c_void,
    body: unsafe extern "C" fn(*mut c_void),
    data: *mut c_void,
) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { aotc_call_with_jmpbuf(slot, body, data) == 0 }
}

/// Jumps to a target published by [`call_with_jump_target`].
///
/// # Safety
/// `target` must be the target of a [`call_with_jump_target`] still running on this thread, and
/// the frames in between must hold no value with a destructor.
pub(crate) unsafe fn long_jump(target: *mut c_void) -> ! {
    // SAFETY: forwarded to the caller.
    unsafe { aotc_longjmp(target) }
}

/// Makes code just written to `code` visible to instruction fetch (on aarch64: data cache
/// cleaned and instruction cache invalidated over the range; nothing on x86_64). Called once the
/// code is in place, before it first runs.
pub(crate) fn clear_icache(code: &[u8]) {
    let range = code.as_ptr_range();
    // SAFETY: cache maintenance over memory this slice covers, which is mapped and readable;
    // it changes no byte.
    unsafe { aotc_clear_icache(range.start.cast_mut(), range.end.cast_mut()) }
}

/// Bytes of `[ptr, ptr + len)` (page aligned) resident in RAM (`mincore`), or `None` when the
/// system cannot tell.
pub(crate) fn resident_bytes(ptr: *const u8, len: usize) -> Option<u64> {
    let page = page_size();
    let pages = len.div_ceil(page);
    if pages == 0 {
        return Some(0);
    }
    let mut vec = vec![0u8; pages];
    // SAFETY: `[ptr, ptr + pages * page)` is a mapped range owned by the caller (a linear
    // memory's accessible part); `vec` has one byte per page.
    let rc = unsafe { libc::mincore(ptr.cast_mut().cast(), pages * page, vec.as_mut_ptr().cast()) };
    (rc == 0).then(|| vec.iter().filter(|b| **b & 1 != 0).count() as u64 * page as u64)
}
