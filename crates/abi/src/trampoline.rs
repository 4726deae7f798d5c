//! Trampoline conventions between hosts and compiled code.
//!
//! Compiled wasm functions use the target's default C calling convention with the callee's
//! vmctx prepended: `fn(vmctx, params...) -> results` (several results are returned through
//! Cranelift's implicit struct-return pointer). Hosts never call them directly; every AOT file
//! carries, for each function type of its module, two trampolines compiled for that type:
//!
//! - **entry** (host to wasm): `extern "C" fn(code: *const (), vmctx: *mut (), values: *mut ValRaw)`.
//!   It loads the parameters from `values[0..params]` (16-byte slots, see
//!   [`crate::types::VAL_RAW_SIZE`]), calls `code(vmctx, params...)` and stores the results to
//!   `values[0..results]`. The host sizes `values` for `max(params, results)` slots.
//! - **exit** (wasm to host): has the wasm convention `fn(host_ctx, params...) -> results`, so it
//!   can sit in a `FuncRef` whose `vmctx` is a host context. It stores the parameters to a
//!   `ValRaw` array on its own stack, calls
//!   `host_ctx.callback(host_ctx, values, params_len, results_len)` (`callback` is read from the
//!   host context at [`HOST_CTX_CALLBACK_OFFSET`]) and reloads the results from the array. A
//!   host function that fails does not return: the runtime unwinds to its entry point.
//!
//! Both are relocation-free: everything they call is loaded from their arguments.

/// Offset, within a host function's context, of its callback pointer
/// `extern "C" fn(host_ctx: *mut (), values: *mut ValRaw, params: u32, results: u32)`.
pub const HOST_CTX_CALLBACK_OFFSET: u32 = 0;
