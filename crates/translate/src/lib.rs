//! The aotc compiler: WebAssembly 2.0 modules to machine code on Cranelift, as an
//! [`AotModule`](aotc_format::write::AotModule) (optionally execute-in-place, with zero
//! relocations against its text) or as a relocatable ELF object.
//!
//! Pipeline: [`wasmparser`] validation (exactly the Wasm 2.0 feature set), `module_env` parses
//! the module's metadata, `func_translator` turns each function body into Cranelift IR (in
//! parallel, deterministically), `trampolines` adds the host entry/exit trampolines of every
//! function type, and a `code_sink` lays the compiled code out (text-section builder for AOT
//! files, `cranelift-object` for objects).
//!
//! Every wasm function has the signature `(vmctx, params...) -> results` in the target's default
//! calling convention; everything outside the module's text is reached through the vmctx
//! ([`aotc_abi::vmctx`]). In indirect/XIP mode even calls between the module's own functions and
//! to builtins go through the vmctx, so the text needs no relocation at all.
//!
//! Coverage: the whole Wasm 2.0 feature set, fixed-width SIMD included (riscv64 needs the `v`
//! CPU feature for `v128`; without it, SIMD gives a one-line [`CompileError::Unsupported`]).
//! Bulk memory and table operations and `memory.grow`/`table.grow` call builtins.
//!
//! Intrinsics ([`aotc_abi::intrinsics`]): an operation whose intrinsic is in the compilation's
//! [`IntrinsicSet`] (see [`effective_intrinsics`]) calls the intrinsic library instead of using
//! native instructions, and constants of the enabled `*.const` kinds are loaded from the
//! module's constant table. Operations Cranelift would lower to a libcall on the target (float
//! rounding on x86-64 without SSE4.1) are always intrinsics, so XIP text stays relocation-free.

mod cl_abi;
mod code_sink;
mod compile;
mod constants;
mod func_translator;
mod inline;
mod isa;
mod module_env;
mod options;
mod prelink;
mod trampolines;

use core::fmt;

pub use aotc_abi::Arch;
pub use aotc_abi::intrinsics::IntrinsicSet;
pub use options::{
    CompileOptions, OptionsError, parse_cpu_features, parse_intrinsics, parse_target, target_names,
};
pub use prelink::{Prelink, RuntimeSymbols, SymbolsError, builtin_symbol, parse_address};

/// Why a module could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The input is not a valid Wasm 2.0 module (wasmparser's message and byte offset).
    Wasm {
        /// wasmparser's message.
        message: String,
        /// Byte offset in the input.
        offset: usize,
    },
    /// The module is valid but uses something aotc does not compile.
    Unsupported {
        /// What is unsupported.
        what: String,
        /// Byte offset in the input.
        offset: usize,
    },
    /// The options are invalid ([`CompileOptions::validate`]).
    Options(OptionsError),
    /// The target, CPU or feature selection is invalid.
    Target(String),
    /// Code generation failed (or an XIP function still needs a relocation).
    Codegen(String),
    /// The compiled module could not be assembled into an AOT file.
    Write(aotc_format::write::WriteError),
    /// Prelinking: a relocation cannot be applied for the given address and symbols.
    Prelink(aotc_reloc::RelocError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Wasm { message, offset } => {
                write!(f, "invalid wasm at offset {offset:#x}: {message}")
            }
            CompileError::Unsupported { what, offset } => {
                write!(f, "unsupported at offset {offset:#x}: {what}")
            }
            CompileError::Options(err) => write!(f, "{err}"),
            CompileError::Target(msg) => write!(f, "target: {msg}"),
            CompileError::Codegen(msg) => write!(f, "code generation: {msg}"),
            CompileError::Write(err) => write!(f, "{err}"),
            CompileError::Prelink(err) => write!(f, "prelink: {err}"),
        }
    }
}

impl std::error::Error for CompileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CompileError::Write(err) => Some(err),
            CompileError::Options(err) => Some(err),
            _ => None,
        }
    }
}

impl From<aotc_format::write::WriteError> for CompileError {
    fn from(err: aotc_format::write::WriteError) -> Self {
        CompileError::Write(err)
    }
}

impl From<OptionsError> for CompileError {
    fn from(err: OptionsError) -> Self {
        CompileError::Options(err)
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        CompileError::Wasm {
            message: err.message().to_string(),
            offset: offset_usize(err.offset()),
        }
    }
}

/// A wasmparser byte offset as `usize`.
pub(crate) fn offset_usize(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// An [`CompileError::Unsupported`] at wasmparser offset `offset`.
pub(crate) fn unsupported(what: impl Into<String>, offset: u64) -> CompileError {
    CompileError::Unsupported {
        what: what.into(),
        offset: offset_usize(offset),
    }
}

/// The intrinsic set a compilation with `opts` uses (what the AOT file records): the explicit
/// set of [`CompileOptions::intrinsics`] if given, else the target's default (in indirect/XIP
/// mode; nothing in normal mode), plus, always, the operations the target cannot compile
/// without a libcall (on x86-64 without SSE4.1: `ceil`, `floor`, `trunc` and `nearest` of f32
/// and f64). Fails like [`compile`] on invalid options or an invalid target, CPU or feature
/// selection.
pub fn effective_intrinsics(opts: &CompileOptions) -> Result<IntrinsicSet, CompileError> {
    opts.validate()?;
    let target = isa::target(opts)?;
    Ok(isa::effective_intrinsics(opts, &target))
}

/// Compiles a wasm binary to an AOT module (serialise it with
/// [`AotModule::write`](aotc_format::write::AotModule::write)). Invalid options
/// ([`CompileOptions::validate`]) are refused first.
pub fn compile(
    wasm: &[u8],
    opts: &CompileOptions,
) -> Result<aotc_format::write::AotModule, CompileError> {
    opts.validate()?;
    compile::compile_aot(wasm, opts)
}

/// Compiles a wasm binary to a relocatable ELF object (like `wamrc --format object`): one
/// symbol per defined wasm function (`aotc_func_<index>`), one per trampoline, undefined
/// symbols `aotc_builtin_<name>` for the builtins called directly (normal mode only), and, when
/// `constop` intrinsics are enabled, the constant table as the data symbol `aotc_constants`.
/// Invalid options ([`CompileOptions::validate`]) are refused first.
pub fn compile_object(wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, CompileError> {
    opts.validate()?;
    compile::compile_object(wasm, opts)
}

/// Converts WebAssembly text to binary; a binary module is passed through unchanged.
///
/// Text errors are reported as [`CompileError::Wasm`] whose message names the line and column
/// (the `wat` crate does not expose a byte offset, so `offset` is 0).
pub fn wat_to_wasm(bytes: &[u8]) -> Result<Vec<u8>, CompileError> {
    wat::parse_bytes(bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|err| CompileError::Wasm {
            message: err.to_string(),
            offset: 0,
        })
}
