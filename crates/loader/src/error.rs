//! The crate's error types: why a file could not be loaded ([`LoadError`]), why a module could not
//! be instantiated ([`InstantiationError`]), why a host-side access to a memory, table or global
//! failed ([`AccessError`]), and the error a host function reports ([`HostError`]).

use std::fmt;
use std::io;

use aotc_abi::ValType;
use aotc_format::ReadError;

use crate::trap::Trap;

/// Why an AOT file could not be loaded. Every variant names the file (its path, the name given
/// in [`LoadOptions`](crate::LoadOptions), or `<memory>`), a file offset and what was expected.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be opened, inspected or read.
    Io {
        /// The file.
        file: String,
        /// The system error.
        source: io::Error,
    },
    /// The file is damaged or not an AOT file of this format/ABI version.
    Format {
        /// The file.
        file: String,
        /// What the reader found, and where.
        source: ReadError,
    },
    /// The file was compiled for another machine.
    WrongTarget {
        /// The file.
        file: String,
        /// File offset of the header field.
        offset: u64,
        /// Which property differs ("architecture", "pointer size", "byte order").
        what: &'static str,
        /// What this host needs.
        expected: String,
        /// What the file says.
        found: String,
    },
    /// The code needs CPU features this host lacks.
    MissingCpuFeatures {
        /// The file.
        file: String,
        /// File offset of the header's feature bits.
        offset: u64,
        /// The missing features.
        names: Vec<String>,
    },
    /// The code calls a builtin (runtime helper or intrinsic) this runtime does not provide:
    /// its table index is unknown here, or this runtime has another builtin at that index.
    MissingBuiltin {
        /// The file.
        file: String,
        /// File offset of the builtin's record in the Builtins section.
        offset: u64,
        /// The builtin's name, as the file gives it.
        name: String,
        /// The builtin's table index, as the file gives it.
        index: u32,
        /// The name of this runtime's builtin at that index, if it has one.
        provided: Option<&'static str>,
    },
    /// A relocation cannot be applied on this host.
    Relocation {
        /// The file.
        file: String,
        /// File offset of the relocation record.
        offset: u64,
        /// Which relocation (its text offset and kind) and why.
        source: aotc_reloc::RelocError,
    },
    /// A prelinked file's text address is already in use in this process.
    AddressTaken {
        /// The file.
        file: String,
        /// File offset of the header's `prelink_base`.
        offset: u64,
        /// The address the text was prelinked for.
        address: u64,
        /// Text length.
        len: usize,
    },
    /// A prelinked file was relocated for other builtin addresses than this runtime's.
    SymbolsMismatch {
        /// The file.
        file: String,
        /// File offset of the header's `symbols_fingerprint`.
        offset: u64,
        /// The fingerprint the file records.
        recorded: u64,
        /// The fingerprint of this runtime's addresses of the same builtins.
        runtime: u64,
    },
    /// Mapping or protecting memory failed.
    Map {
        /// The file.
        file: String,
        /// File offset of the region being mapped.
        offset: u64,
        /// What was being mapped.
        what: &'static str,
        /// The system error.
        source: io::Error,
    },
    /// Too many modules are loaded at once (the trap handler's registry is full).
    TooManyModules {
        /// The file.
        file: String,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { file, source } => {
                write!(f, "{file}: at offset 0x0: cannot read the file: {source}")
            }
            LoadError::Format { file, source } => write!(f, "{file}: {source}"),
            LoadError::WrongTarget {
                file,
                offset,
                what,
                expected,
                found,
            } => write!(
                f,
                "{file}: at offset {offset:#x}: compiled for {what} {found}, expected {expected} (this host)"
            ),
            LoadError::MissingCpuFeatures {
                file,
                offset,
                names,
            } => write!(
                f,
                "{file}: at offset {offset:#x}: the code needs CPU features this host lacks: {}; expected only features the host has",
                names.join(", ")
            ),
            LoadError::MissingBuiltin {
                file,
                offset,
                name,
                index,
                provided,
            } => {
                write!(
                    f,
                    "{file}: at offset {offset:#x}: needs builtin `{name}` (index {index}), which this runtime does not provide"
                )?;
                match provided {
                    Some(other) => write!(
                        f,
                        " (its builtin {index} is `{other}`); expected a file compiled for this runtime's builtin table"
                    ),
                    None => write!(
                        f,
                        " (it has builtins 0 to {}); expected a builtin this runtime provides",
                        aotc_abi::builtins::BUILTIN_COUNT - 1
                    ),
                }
            }
            LoadError::Relocation {
                file,
                offset,
                source,
            } => write!(f, "{file}: at offset {offset:#x}: relocation: {source}"),
            LoadError::AddressTaken {
                file,
                offset,
                address,
                len,
            } => write!(
                f,
                "{file}: at offset {offset:#x}: the text is prelinked for address {address:#x} \
                 ({len:#x} bytes), which is already in use in this process"
            ),
            LoadError::SymbolsMismatch {
                file,
                offset,
                recorded,
                runtime,
            } => write!(
                f,
                "{file}: at offset {offset:#x}: prelinked for builtin addresses with fingerprint \
                 {recorded:#018x}, but this runtime's give {runtime:#018x}: compile it again \
                 with this runtime's symbols (`aotc runtime-symbols`)"
            ),
            LoadError::Map {
                file,
                offset,
                what,
                source,
            } => write!(
                f,
                "{file}: at offset {offset:#x}: cannot map the {what}: {source}"
            ),
            LoadError::TooManyModules { file, limit } => write!(
                f,
                "{file}: at offset 0x0: cannot register the text: expected at most {limit} modules loaded at once"
            ),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } | LoadError::Map { source, .. } => Some(source),
            LoadError::Format { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why [`Instance::new`](crate::Instance::new) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstantiationError {
    /// An import is missing or has the wrong kind or type. `message` uses the WebAssembly
    /// specification's wording: `"unknown import"` or `"incompatible import type"`.
    Link {
        /// Import position (in the module's import order).
        index: usize,
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// `"unknown import"` or `"incompatible import type"`.
        message: &'static str,
        /// What was expected and what was given.
        detail: String,
    },
    /// A segment was out of bounds, or the start function trapped. Writes done before the trap
    /// (into imported memories and tables) stay.
    Trap(Trap),
    /// Memory for a table or linear memory could not be obtained.
    Resource {
        /// What was being created.
        what: String,
        /// The system error.
        source: io::Error,
    },
    /// A record instantiation reads (the function table, which loading does not read) is
    /// damaged.
    Damaged {
        /// The module's name.
        file: String,
        /// What is wrong, where.
        source: ReadError,
    },
}

impl fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiationError::Link {
                index,
                module,
                name,
                message,
                detail,
            } => write!(f, "{message}: import {index} `{module}`.`{name}`: {detail}"),
            InstantiationError::Trap(trap) => trap.fmt(f),
            InstantiationError::Resource { what, source } => {
                write!(f, "cannot create {what}: {source}")
            }
            InstantiationError::Damaged { file, source } => write!(f, "{file}: {source}"),
        }
    }
}

impl std::error::Error for InstantiationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstantiationError::Trap(t) => Some(t),
            InstantiationError::Resource { source, .. } => Some(source),
            InstantiationError::Damaged { source, .. } => Some(source),
            InstantiationError::Link { .. } => None,
        }
    }
}

impl From<Trap> for InstantiationError {
    fn from(t: Trap) -> Self {
        InstantiationError::Trap(t)
    }
}

/// Why a host-side access to a memory, table or global failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AccessError {
    /// The range `[offset, offset + len)` is outside the object's current `size`.
    OutOfBounds {
        /// "memory" or "table".
        what: &'static str,
        /// Start of the access.
        offset: u64,
        /// Length of the access.
        len: u64,
        /// Current size (bytes or elements).
        size: u64,
    },
    /// A value of the wrong type.
    TypeMismatch {
        /// The type the object holds.
        expected: ValType,
        /// The type given.
        found: ValType,
    },
    /// `set` on an immutable global.
    Immutable,
    /// Growing would exceed the maximum or the reservation, or memory ran out.
    GrowFailed {
        /// "memory" or "table".
        what: &'static str,
        /// Current size (pages or elements).
        current: u64,
        /// Requested growth.
        delta: u64,
        /// The limit that applies.
        limit: u64,
    },
    /// A host function that no module has imported yet cannot be stored as a `funcref` (it has
    /// no compiled trampolines yet).
    HostFuncNotImported,
    /// An `ExternRef(Some(usize::MAX))` cannot be represented (non-null references are stored
    /// as `value + 1`).
    ExternRefOutOfRange,
    /// The object could not be created.
    Resource {
        /// What was being created.
        what: &'static str,
        /// The system error.
        source: io::Error,
    },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessError::OutOfBounds {
                what,
                offset,
                len,
                size,
            } => write!(
                f,
                "out of bounds {what} access: [{offset:#x}, +{len:#x}) outside the size {size:#x}"
            ),
            AccessError::TypeMismatch { expected, found } => {
                write!(f, "type mismatch: expected {expected}, found {found}")
            }
            AccessError::Immutable => f.write_str("global is immutable"),
            AccessError::GrowFailed {
                what,
                current,
                delta,
                limit,
            } => write!(
                f,
                "cannot grow the {what} from {current} by {delta}: the limit is {limit}"
            ),
            AccessError::HostFuncNotImported => f.write_str(
                "a host function can be used as a funcref only after a module imported it",
            ),
            AccessError::ExternRefOutOfRange => {
                f.write_str("externref payload usize::MAX cannot be represented")
            }
            AccessError::Resource { what, source } => write!(f, "cannot create {what}: {source}"),
        }
    }
}

impl std::error::Error for AccessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccessError::Resource { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The error a host function returns to make the calling wasm code trap (with
/// [`TrapCode::HostError`](aotc_abi::TrapCode::HostError) and this message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    message: String,
}

impl HostError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> HostError {
        HostError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

impl From<String> for HostError {
    fn from(message: String) -> Self {
        HostError { message }
    }
}

impl From<&str> for HostError {
    fn from(message: &str) -> Self {
        HostError::new(message)
    }
}
