//! Executes spec-suite plans with the loader alone: the [`plan`] format the host's spec runner
//! writes for each `.wast` file (the AOT files of its modules beside it, its directives with
//! their expected results and traps), and the executor ([`exec::run`]) both the host's runner
//! and the target-side binary `aotc-spec-exec` run plans with. Depends on `aotc-loader` only (no
//! compiler, no wasm parser), so the binary builds for any target the loader runs on.

pub mod exec;
pub mod plan;
mod spectest;
