//! WASI preview 1 (`wasi_snapshot_preview1`) for instances of `aotc-loader`, built on the
//! loader's public host-function API only: no compiler, no wasm parser.
//!
//! ```no_run
//! use aotc_loader::{Instance, Module};
//! use aotc_wasi::WasiCtx;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // SAFETY: the file is trusted compiled code.
//! let module = unsafe { Module::from_file("hello.aot")? };
//! let wasi = WasiCtx::builder()
//!     .args(["hello", "world"])
//!     .inherit_stdio()
//!     .preopen_dir(".", "/")?
//!     .build();
//! let instance = Instance::new(&module, &wasi.imports(&module)?)?;
//! let exit_code = wasi.run_command(&instance)?;
//! # Ok(()) }
//! ```
//!
//! The sandbox: guest paths resolve only beneath a pre-opened directory, through `cap-std`
//! (`openat2(RESOLVE_BENEATH)` where the kernel has it, a checked component-by-component walk
//! elsewhere): `..` climbing out, absolute paths and symlinks pointing outside, including ones
//! the guest made, are refused with `ENOTCAPABLE` on every `path_*` call. Every pointer and length
//! the guest passes is bounds-checked against its memory (`EFAULT`). Host errors map to WASI
//! errno values exactly ([`Errno`]).

mod errno;
mod fs;
mod funcs;
mod guest;
mod poll;

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::rc::Rc;

use aotc_loader::{Extern, ExternType, Func, HostError, Instance, Memory, Module, Trap, Val};

pub use errno::Errno;
pub use funcs::FUNCTION_NAMES;

use crate::fs::{FdTable, Input, Output};

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A captured output stream (stdout or stderr): what the guest wrote so far.
#[derive(Clone, Debug, Default)]
pub struct OutputBuffer(Rc<RefCell<Vec<u8>>>);

impl OutputBuffer {
    /// The bytes written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

/// Builds a [`WasiCtx`]: arguments, environment, stdio and pre-opened directories.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    preopens: Vec<fs::Preopen>,
}

impl WasiCtxBuilder {
    /// The program's arguments, the program name first.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The guest's stdin, stdout and stderr are the process's.
    pub fn inherit_stdio(mut self) -> Self {
        self.stdin = Input::Inherit;
        self.stdout = Output::Inherit;
        self.stderr = Output::Inherit;
        self
    }

    /// The guest reads `bytes` from stdin (then end of file).
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Input::Bytes {
            data: bytes.into(),
            pos: 0,
        };
        self
    }

    /// Captures the guest's stdout into the returned buffer.
    pub fn capture_stdout(&mut self) -> OutputBuffer {
        let buffer = OutputBuffer::default();
        self.stdout = Output::Capture(buffer.0.clone());
        buffer
    }

    /// Captures the guest's stderr into the returned buffer.
    pub fn capture_stderr(&mut self) -> OutputBuffer {
        let buffer = OutputBuffer::default();
        self.stderr = Output::Capture(buffer.0.clone());
        buffer
    }

    /// Pre-opens the host directory `host` as `guest` (for example `/` or `.`).
    pub fn preopen_dir(self, host: impl AsRef<Path>, guest: &str) -> Result<Self, WasiError> {
        self.preopen(host.as_ref(), guest, false)
    }

    /// Pre-opens `host` as `guest`, read-only: creating, writing, renaming or removing anything
    /// beneath it fails with `EROFS`.
    pub fn preopen_dir_readonly(
        self,
        host: impl AsRef<Path>,
        guest: &str,
    ) -> Result<Self, WasiError> {
        self.preopen(host.as_ref(), guest, true)
    }

    fn preopen(mut self, host: &Path, guest: &str, readonly: bool) -> Result<Self, WasiError> {
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority()).map_err(
            |source| WasiError::Preopen {
                host: host.display().to_string(),
                source,
            },
        )?;
        self.preopens.push(fs::Preopen {
            dir,
            guest: guest.to_owned(),
            readonly,
        });
        Ok(self)
    }

    /// The context.
    pub fn build(self) -> WasiCtx {
        let fds = FdTable::new(self.stdin, self.stdout, self.stderr, self.preopens);
        WasiCtx {
            state: Rc::new(RefCell::new(State {
                args: self.args,
                env: self
                    .env
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                fds,
                memory: None,
                exit_code: None,
            })),
        }
    }
}

/// Everything WASI functions read and change.
pub(crate) struct State {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) fds: FdTable,
    pub(crate) memory: Option<Memory>,
    pub(crate) exit_code: Option<i32>,
}

/// A WASI context: the state behind the functions of one program. Cheap to clone (shared).
#[derive(Clone)]
pub struct WasiCtx {
    state: Rc<RefCell<State>>,
}

/// Errors of this crate's API (the guest sees [`Errno`] values instead).
#[derive(Debug)]
pub enum WasiError {
    /// A directory to pre-open could not be opened.
    Preopen {
        /// The host path.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// Imports neither WASI nor the host provides.
    UnresolvedImports(Vec<UnresolvedImport>),
    /// The instance exports no memory named `memory`.
    NoMemory,
    /// The instance exports neither the entry point nor anything to run.
    NoEntryPoint(&'static str),
    /// A trap that is not `proc_exit`.
    Trap(Trap),
}

/// One import that could not be provided.
#[derive(Debug)]
pub struct UnresolvedImport {
    /// The import's module name.
    pub module: String,
    /// The import's name.
    pub name: String,
    /// The type the module expects.
    pub ty: ExternType,
    /// The type WASI's function of that name has, when WASI has one (of another type).
    pub wasi_type: Option<String>,
}

impl fmt::Display for UnresolvedImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} {}",
            self.module.escape_debug(),
            self.name.escape_debug(),
            self.ty
        )?;
        match &self.wasi_type {
            Some(ty) => write!(f, " [WASI provides this function, as {ty}]"),
            None if self.module == MODULE => f.write_str(" [not a WASI preview 1 function]"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for WasiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasiError::Preopen { host, source } => {
                write!(f, "cannot pre-open directory {host}: {source}")
            }
            WasiError::UnresolvedImports(list) => {
                write!(f, "{} unresolved import(s): ", list.len())?;
                for (i, import) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{import}")?;
                }
                Ok(())
            }
            WasiError::NoMemory => f.write_str("the module exports no memory named `memory`"),
            WasiError::NoEntryPoint(name) => write!(f, "the module exports no function `{name}`"),
            WasiError::Trap(trap) => write!(f, "{trap}"),
        }
    }
}

impl std::error::Error for WasiError {}

impl From<Trap> for WasiError {
    fn from(trap: Trap) -> Self {
        WasiError::Trap(trap)
    }
}

impl WasiCtx {
    /// A builder, with no arguments, no environment, no pre-opens and null stdio.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// The imports of `module`, in its import order, for `Instance::new`: every
    /// `wasi_snapshot_preview1` function from this context. Any other import is an error listing
    /// all unresolved imports.
    pub fn imports(&self, module: &Module) -> Result<Vec<Extern>, WasiError> {
        self.imports_with(module, |_, _, _| None)
    }

    /// [`WasiCtx::imports`], asking `other` for the imports that are not WASI's.
    pub fn imports_with(
        &self,
        module: &Module,
        mut other: impl FnMut(&str, &str, &ExternType) -> Option<Extern>,
    ) -> Result<Vec<Extern>, WasiError> {
        let mut imports = Vec::new();
        let mut unresolved = Vec::new();
        for (module_name, name, ty) in module.imports() {
            let wasi = (module_name == MODULE)
                .then(|| funcs::signature(name))
                .flatten();
            match (&wasi, &ty) {
                (Some(sig), ExternType::Func(want)) if sig == want => {
                    imports.push(Extern::Func(self.func(name, sig.clone())));
                }
                _ => match other(module_name, name, &ty) {
                    Some(ext) => imports.push(ext),
                    None => unresolved.push(UnresolvedImport {
                        module: module_name.to_owned(),
                        name: name.to_owned(),
                        ty: ty.clone(),
                        wasi_type: wasi.map(|sig| sig.to_string()),
                    }),
                },
            }
        }
        if unresolved.is_empty() {
            Ok(imports)
        } else {
            Err(WasiError::UnresolvedImports(unresolved))
        }
    }

    fn func(&self, name: &str, ty: aotc_loader::FuncType) -> Func {
        let state = self.state.clone();
        let name = FUNCTION_NAMES
            .iter()
            .find(|n| **n == name)
            .copied()
            .unwrap_or("proc_exit");
        Func::new_host(ty, move |args, results| {
            let mut state = state.borrow_mut();
            match funcs::call(&mut state, name, args) {
                Ok(errno) => {
                    if let Some(slot) = results.first_mut() {
                        *slot = Val::I32(i32::from(errno as u16));
                    }
                    Ok(())
                }
                Err(funcs::Stop::Exit(code)) => {
                    state.exit_code = Some(code);
                    Err(HostError::new(format!("proc_exit({code})")))
                }
                Err(funcs::Stop::NoMemory) => Err(HostError::new(
                    "a WASI function needs the instance's memory: export it as `memory` (and \
                     attach it with `WasiCtx::attach` when not running through `run_command`)",
                )),
            }
        })
    }

    /// Gives the WASI functions the instance's exported `memory` (done by
    /// [`WasiCtx::run_command`] and [`WasiCtx::initialize_reactor`]).
    pub fn attach(&self, instance: &Instance) -> Result<(), WasiError> {
        let memory = instance.get_memory("memory").ok_or(WasiError::NoMemory)?;
        self.state.borrow_mut().memory = Some(memory);
        Ok(())
    }

    /// Attaches the exported `memory` if there is one: a module that exports none can still run
    /// as long as it calls no WASI function that needs memory.
    fn attach_if_exported(&self, instance: &Instance) {
        if let Some(memory) = instance.get_memory("memory") {
            self.state.borrow_mut().memory = Some(memory);
        }
    }

    /// Runs a command: attaches the memory, calls `_start`, and returns the exit code (that of
    /// `proc_exit`, or 0 when `_start` returns).
    pub fn run_command(&self, instance: &Instance) -> Result<i32, WasiError> {
        let start = instance
            .get_func("_start")
            .ok_or(WasiError::NoEntryPoint("_start"))?;
        self.attach_if_exported(instance);
        self.outcome(start.call(&[]))?;
        Ok(self.exit_code().unwrap_or(0))
    }

    /// Initialises a reactor: attaches the memory and calls `_initialize` if it is exported.
    pub fn initialize_reactor(&self, instance: &Instance) -> Result<(), WasiError> {
        self.attach_if_exported(instance);
        if let Some(init) = instance.get_func("_initialize") {
            self.outcome(init.call(&[]))?;
        }
        Ok(())
    }

    /// The result of a call into the guest: its values, or `Ok(None)` when the guest called
    /// `proc_exit` (see [`WasiCtx::exit_code`]), or the trap.
    pub fn outcome(&self, result: Result<Vec<Val>, Trap>) -> Result<Option<Vec<Val>>, WasiError> {
        match result {
            Ok(values) => Ok(Some(values)),
            Err(_) if self.exit_code().is_some() => Ok(None),
            Err(trap) => Err(WasiError::Trap(trap)),
        }
    }

    /// The code the guest passed to `proc_exit`, once it has.
    pub fn exit_code(&self) -> Option<i32> {
        self.state.borrow().exit_code
    }
}
