//! The single source of truth for everything compiled code and the runtime must agree on.
//!
//! This crate is `no_std` and has no dependencies, so that the compiler (`aotc-translate`),
//! the file format (`aotc-format`), the intrinsic library (`aotc-intrinsics`) and any runtime
//! (the posix `aotc-loader`, or a device runtime) can share it.
//!
//! What lives here:
//! - [`version`]: the format and ABI version numbers;
//! - [`target`]: target architectures, their pointer width, endianness and page sizes;
//! - [`vmctx`]: the layout of the `vmctx` structure every compiled function receives, with
//!   offsets computed for the target's pointer width;
//! - [`builtins`]: the list of runtime helpers and intrinsics reached through the vmctx's
//!   builtin table (one macro, [`foreach_builtin!`]);
//! - [`intrinsics`]: the user-facing intrinsic names (WAMR's), their groups and sets;
//! - [`trap`]: trap codes;
//! - [`types`]: the encoding of wasm value types shared by the file format and trampolines;
//! - [`stored_enum!`]: the one way to define an enumeration stored in files, with its decoder.
//!
//! What deliberately does not live here: anything about how the runtime allocates, maps or
//! instantiates, and anything about Cranelift or wasmparser.

#![no_std]

#[macro_use]
mod stored_enum;
pub mod builtins;
pub mod intrinsics;
pub mod target;
pub mod trap;
pub mod types;
pub mod version;
pub mod vmctx;

pub use builtins::Builtin;
pub use target::Arch;
pub use trap::TrapCode;
pub use types::ValType;
pub mod trampoline;
