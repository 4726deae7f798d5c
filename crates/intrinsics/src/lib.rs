//! The runtime's intrinsic functions: pure implementations of wasm operations that compiled code
//! calls through the vmctx builtin table instead of using native instructions.
//!
//! `no_std`, depending only on `aotc-abi` and `libm`, so a device runtime can link it. Each
//! function computes exactly what the corresponding wasm instruction computes (NaN propagation,
//! signed zeros, round-half-to-even for `nearest`). Runtime helpers that need an instance
//! (`memory_grow`, `table_copy`, ...) are not here: they belong to the runtime.

#![no_std]

pub mod float;

pub use float::*;
