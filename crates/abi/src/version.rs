//! Version numbers of the AOT file format and of the compiled-code ABI.

/// Version of the AOT file layout (header, section table, records).
///
/// Bump whenever `aotc-format`'s on-disk layout changes.
pub const FORMAT_VERSION: u32 = 4;

/// Version of the ABI between compiled code and the runtime: the vmctx layout, the builtin
/// table's indices and signatures, trap codes and trampoline conventions.
///
/// Bump whenever anything in this crate changes in a way compiled code can observe.
pub const ABI_VERSION: u32 = 7;
