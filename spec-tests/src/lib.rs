//! The spec-suite runner's library: the suite's files, the run settings and the compiler
//! options of each mode ([`suite::Mode::options`]), and the runner of one `.wast` file. The
//! `spec-tests` binary drives it; tests use it to compile exactly as the suite does.

mod spectest_host;
pub mod suite;
mod values;
pub mod wast_runner;
