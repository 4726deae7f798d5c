//! The spec-suite runner's library: the suite's files, the run settings and the compiler
//! options of each mode ([`suite::Mode::options`]), and the runner of one `.wast` file (which
//! compiles it into a plan that `aotc-spec-exec` executes, here or on the target). The
//! `spec-tests` binary drives it; tests use it to compile exactly as the suite does.

pub mod suite;
mod values;
pub mod wast_runner;
