//! Inlining of small functions of the module into their direct callers (every code model), through
//! Cranelift's inliner: which callees qualify, and the [`Inline`] hook that hands their IR to it.
//!
//! A whole-module ahead-of-time compiler sees every body, so it can afford what a JIT-minded
//! one leaves off by default (wasmtime's `compiler_inlining`). Calls between the module's own
//! functions are direct (PC-relative) in every code model, so XIP code inlines as normal code
//! does; an inlined body calls builtins as its caller's model does (through the vmctx in XIP),
//! so XIP text stays relocation-free. An inlined body keeps its
//! trap codes, and its stack slots join the caller's frame, which the caller's stack-limit
//! check covers.

use std::borrow::Cow;
use std::collections::HashMap;

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName};
use wasmparser::FunctionBody;

use crate::CompileError;
use crate::cl_abi::NS_FUNC;
use crate::func_translator::{self, Env, Translated};
use aotc_abi::Builtin;

/// Bodies of at most this many bytes of wasm are translated to see whether they qualify (a
/// cheap first filter, so large functions are translated once only).
const MAX_CALLEE_WASM_BYTES: u64 = 160;

/// Callees of at most this many IR instructions are inlined into any caller: a small helper
/// costs less inline than its call (the argument moves, the frame, the stack-limit check), and
/// the size of the module, and so its compile time, barely changes.
const MAX_CALLEE_INSTS: usize = 24;

/// A recursive function of at most this many IR instructions is inlined into itself (once):
/// each call then does the work of two, so a call-bound recursion makes half the calls.
const MAX_RECURSIVE_INSTS: usize = 48;

/// A translated function that may be inlined.
struct Callee {
    translated: Translated,
    insts: usize,
}

/// The IR of the module's small functions, by function index, and the builtins each calls.
pub(crate) struct Callees {
    bodies: HashMap<u32, Callee>,
}

impl Callees {
    /// Translates the bodies that may qualify and keeps the small ones.
    pub(crate) fn collect(
        env: &Env<'_>,
        bodies: &[FunctionBody<'_>],
    ) -> Result<Callees, CompileError> {
        use rayon::prelude::*;
        let mut small = HashMap::new();
        let num_imported = env.module.num_imported_funcs;
        let translated = bodies
            .par_iter()
            .enumerate()
            .filter(|(_, body)| {
                let range = body.range();
                range.end - range.start <= MAX_CALLEE_WASM_BYTES
            })
            .map(|(i, body)| {
                let index = num_imported + i as u32;
                let translated = func_translator::translate(env, index, body)?;
                let insts = inst_count(&translated.func);
                let callee = Callee { translated, insts };
                Ok((insts <= MAX_RECURSIVE_INSTS).then_some((index, callee)))
            })
            .collect::<Result<Vec<_>, CompileError>>()?;
        small.extend(translated.into_iter().flatten());
        Ok(Callees { bodies: small })
    }

    /// No callee: nothing is inlined (optimisation level 0).
    pub(crate) fn none() -> Callees {
        Callees {
            bodies: HashMap::new(),
        }
    }

    /// Function `index` translated, if it was translated here (so it is not translated
    /// twice).
    pub(crate) fn translated(&self, index: u32) -> Option<Translated> {
        Some(self.bodies.get(&index)?.translated.clone())
    }

    /// The inliner for function `caller`, which calls `builtins`: adds to them those the
    /// bodies it inlines call.
    pub(crate) fn inliner(&self, caller: u32, builtins: Vec<Builtin>) -> Inliner<'_> {
        Inliner {
            callees: self,
            caller,
            builtins,
        }
    }

    /// Whether there is nothing to inline.
    pub(crate) fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// The number of instructions of `func`.
fn inst_count(func: &ir::Function) -> usize {
    func.layout
        .blocks()
        .map(|b| func.layout.block_insts(b).count())
        .sum()
}

/// Cranelift's inlining hook for one caller.
pub(crate) struct Inliner<'a> {
    callees: &'a Callees,
    /// The function index of the caller.
    caller: u32,
    /// Builtins called by the caller and the bodies inlined into it.
    pub(crate) builtins: Vec<Builtin>,
}

impl Inline for &mut Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call_inst: ir::Inst,
        _call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        let ExternalName::User(name) = &caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let name = &caller.params.user_named_funcs()[*name];
        if name.namespace != NS_FUNC {
            return InlineCommand::KeepCall;
        }
        let Some(callee) = self.callees.bodies.get(&name.index) else {
            return InlineCommand::KeepCall;
        };
        let limit = if name.index == self.caller {
            MAX_RECURSIVE_INSTS
        } else {
            MAX_CALLEE_INSTS
        };
        if callee.insts > limit {
            return InlineCommand::KeepCall;
        }
        for b in &callee.translated.builtins {
            if !self.builtins.contains(b) {
                self.builtins.push(*b);
            }
        }
        // The callee's own calls are not inlined in turn (`visit_callee: false`): a
        // recursive function is inlined into itself once, and the growth of every caller is
        // bounded by its call sites.
        InlineCommand::Inline {
            callee: Cow::Borrowed(&callee.translated.func),
            visit_callee: false,
        }
    }
}
