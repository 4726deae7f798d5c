//! The platform layer: everything that talks to the operating system (mappings, page size,
//! signals, alternate signal stacks, stack bounds, setjmp/longjmp) lives below this module, so
//! the rest of the crate is platform independent.

pub(crate) mod cpu_features;
#[cfg(unix)]
mod text_mapping;
#[cfg(unix)]
pub(crate) use text_mapping::{FixedMapError, TextMapping, WritableText};
#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
compile_error!("aotc-loader supports posix systems only");
