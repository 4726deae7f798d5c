//! The posix runtime of aotc: loads AOT files, instantiates them and runs their code.
//!
//! ```no_run
//! use aotc_loader::{Instance, Module, Val};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // SAFETY: the file is trusted compiled code.
//! let module = unsafe { Module::from_file("fib.aot")? };
//! let instance = Instance::new(&module, &[])?;
//! let fib = instance.get_func("fib").expect("exported");
//! assert_eq!(fib.call(&[Val::I32(20)])?, [Val::I32(6765)]);
//! # Ok(()) }
//! ```
//!
//! - [`Module`]: a loaded file. An XIP file's text is mapped read + execute straight from the
//!   file (a file-backed mapping: never writable, never copied); a normal file's text is copied
//!   into anonymous memory, relocated and then made read + execute (W^X at every moment). Every
//!   builtin the file names (runtime helpers, and the intrinsics of `aotc-intrinsics`) must be
//!   this runtime's at the same index, or loading fails with [`LoadError::MissingBuiltin`]; the
//!   file's constant table (`constop` intrinsics) is used in place when 8-aligned, else copied.
//! - [`Instance`]: a module instantiated with its imports ([`Extern`]s, in import order).
//! - [`Func`], [`Memory`], [`Table`], [`Global`]: handles (reference counted, `!Send`) that keep
//!   what they need alive. [`Func::call`] calls wasm through the module's entry trampolines and
//!   returns [`Trap`]s; [`Func::new_host`] makes host functions wasm can import.
//! - Traps: faults in wasm code (SIGSEGV, SIGBUS, SIGILL, SIGFPE) are caught by process-wide
//!   signal handlers that jump back to the call, and mapped to trap codes through the file's trap
//!   table. Stack overflow is detected by compiled code against a stack limit the runtime sets.
//!
//! Platform code (mappings, signals, stack bounds, setjmp/longjmp) lives only in `sys`.

mod app_heap;
mod builtins;
mod code_registry;
mod error;
mod func;
mod funcrefs;
mod global;
mod instance;
mod live_instances;
mod mem_report;
mod memory;
mod module;
mod stack;
mod sys;
mod table;
mod trap;
mod types;
mod vmctx;

pub use aotc_abi::{TrapCode, ValType};
pub use aotc_format::AotFile;
pub use app_heap::{AppHeapError, AppHeapUsage};
pub use error::{AccessError, HostError, InstantiationError, LoadError};
pub use func::{Func, FuncRefHandle, Val};
pub use global::Global;
pub use instance::{DEFAULT_MAX_WASM_STACK, Extern, Instance, InstanceConfig};
pub use mem_report::{InstanceMemoryReport, ModuleMemoryReport, TableUsage};
pub use memory::{
    GUARD_PAGE_RESERVATION, MAX_PAGES, Memory, MemoryConfig, MemoryUsage, WASM_PAGE_SIZE,
};
pub use module::{LoadOptions, Module, runtime_builtin_addresses};
pub use table::{MAX_TABLE_ELEMENTS, Table};
pub use trap::{Frame, MAX_BACKTRACE_FRAMES, Trap};
pub use types::{ExternType, FuncType, GlobalType, MemoryType, TableType};

/// `Module` is shareable across threads; instances and handles are not (they are `!Send`).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Module>();
};
