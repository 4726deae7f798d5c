//! Loading an AOT file: mapping (or copying) it, checking it against the host, mapping the text
//! in place (XIP) or copying and relocating it (normal), and registering the text with the trap
//! handler. [`Module`] is the loaded, immutable, shareable result.

use std::fs::File;
use std::mem::offset_of;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use memmap2::{Advice, Mmap, MmapOptions};

use aotc_abi::target::cpu_features;
use aotc_abi::{Arch, Builtin, TrapCode, ValType};
use aotc_format::layout::{ExternKind, FileHeader, NONE};
use aotc_format::{AotFile, ReadError};

use crate::app_heap::HeapFacts;
use crate::builtins::builtin_address;
use crate::code_registry::{self, Registration};
use crate::error::LoadError;
use crate::mem_report::ModuleMemoryReport;
use crate::sys;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType, signature_id};

/// How to load a file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Check the text and the function table against their checksums (O(code size)); off by
    /// default so that loading an XIP file stays O(1) in the size of the code. (A file whose
    /// text is copied, normal or loaded from bytes, always has its function table checked.)
    pub verify_text_checksum: bool,
    /// The name used in errors and traps instead of the path (or `<memory>`).
    pub name: Option<String>,
}

/// A loaded AOT file: checked, its text executable. Cheap to clone (shared); `Send + Sync`.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.name)
            .field("xip", &self.is_xip())
            .field("text", &self.inner.text.as_ptr())
            .finish()
    }
}

/// Where the file's bytes live.
enum Backing {
    /// The whole file mapped read-only.
    Mapped(#[allow(dead_code)] Mmap),
    /// A private copy.
    Owned(#[allow(dead_code)] Box<[u8]>),
    /// Bytes that live forever.
    Static,
}

/// The executable text.
enum Text {
    /// Mapped read + execute straight from the file: XIP, near the runtime's code, or
    /// prelinked, at exactly its prelink address.
    FileMapped(sys::TextMapping),
    /// Copied into anonymous memory, then made read + execute: relocated, near the runtime's
    /// code, or prelinked, at exactly its prelink address (from bytes, or a packed text at
    /// another offset within its page than the address).
    Copied(sys::TextMapping),
    /// No text at all.
    Empty,
}

impl Text {
    fn as_ptr(&self) -> *const u8 {
        match self {
            Text::FileMapped(m) | Text::Copied(m) => m.as_ptr(),
            Text::Empty => core::ptr::NonNull::<u8>::dangling().as_ptr(),
        }
    }
}

/// The constant table `vmctx.constants` points to: 8-byte slots in this host's byte order, at
/// an 8-aligned address.
enum Constants {
    /// Used in place in the file's bytes (kept alive by the module's [`Backing`]), which are
    /// 8-aligned there (always, for a mapped file: the section is 8-aligned in the file), or
    /// there is no constant.
    InPlace,
    /// Copied into aligned storage, because the file's bytes are not 8-aligned in memory.
    Copied(Box<[u64]>),
}

impl Constants {
    fn new(slots: &[[u8; 8]]) -> Constants {
        if slots.as_ptr().addr().is_multiple_of(align_of::<u64>()) {
            Constants::InPlace
        } else {
            // The slots are in the target's byte order, checked to be this host's: reading them
            // as native-endian `u64`s keeps every byte where compiled code expects it.
            Constants::Copied(slots.iter().map(|s| u64::from_ne_bytes(*s)).collect())
        }
    }
}

pub(crate) struct ModuleInner {
    // Field order is drop order: unregister the text before unmapping it. Held for its `Drop`.
    #[allow(dead_code)]
    registration: Option<Registration>,
    file: AotFile<'static>,
    text: Text,
    text_len: usize,
    /// Where the constant table lives; `file`'s bytes when in place.
    constants: Constants,
    #[allow(dead_code)]
    backing: Backing,
    name: String,
    /// Each type index's function type.
    types: Box<[FuncType]>,
    /// Process-wide signature id of each type index.
    pub(crate) type_ids: Box<[u32]>,
    /// The result of checking the trap table's checksum, at the first trap.
    traps_checked: OnceLock<Result<(), ReadError>>,
    /// What the app heap and truncation depend on, at the first instantiation.
    heap_facts: OnceLock<HeapFacts>,
}

impl ModuleInner {
    /// The parsed file, borrowed from `self`.
    pub(crate) fn file(&self) -> AotFile<'_> {
        self.file
    }

    /// What `vmctx.constants` points to: the constant table (8-aligned, as long as `self`
    /// lives), or null when the module has no constant.
    pub(crate) fn constants_ptr(&self) -> *const u8 {
        let slots = self.file.constants();
        if slots.is_empty() {
            return core::ptr::null();
        }
        match &self.constants {
            Constants::InPlace => slots.as_ptr().cast(),
            Constants::Copied(copy) => copy.as_ptr().cast(),
        }
    }

    /// The name used in messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Address of the first text byte.
    pub(crate) fn text_base(&self) -> usize {
        self.text.as_ptr() as usize
    }

    /// Address of text offset `offset`, or null for [`NONE`].
    pub(crate) fn text_address(&self, offset: u32) -> *const () {
        if offset == NONE {
            core::ptr::null()
        } else {
            self.text_base().wrapping_add(offset as usize) as *const ()
        }
    }

    /// What the module occupies (text mapping or copy, file mapping, runtime heap).
    pub(crate) fn memory_report(&self) -> ModuleMemoryReport {
        let text_bytes = self.text_len as u64;
        let page = sys::page_size() as u64;
        let (text_shared_bytes, text_private_bytes) = match &self.text {
            Text::FileMapped(_) => (text_bytes, 0),
            Text::Copied(_) => (0, text_bytes.next_multiple_of(page)),
            Text::Empty => (0, 0),
        };
        let (file_mapped_bytes, owned_bytes) = match &self.backing {
            Backing::Mapped(m) => (m.len() as u64, 0),
            Backing::Owned(b) => (0, b.len() as u64),
            Backing::Static => (0, 0),
        };
        let constants_bytes = match &self.constants {
            Constants::InPlace => 0,
            Constants::Copied(c) => size_of_val(&**c) as u64,
        };
        let types_bytes: usize = self
            .types
            .iter()
            .map(|t| {
                size_of::<FuncType>()
                    + (t.params.capacity() + t.results.capacity()) * size_of::<ValType>()
            })
            .sum();
        let heap_bytes = (size_of::<ModuleInner>()
            + self.name.capacity()
            + types_bytes
            + size_of_val(&*self.type_ids)) as u64
            + owned_bytes
            + constants_bytes;
        ModuleMemoryReport {
            text_bytes,
            text_shared_bytes,
            text_private_bytes,
            file_mapped_bytes,
            metadata_bytes: self.file.header().metadata_size.get(),
            heap_bytes,
        }
    }

    /// The type of type index `index` (checked to exist by the reader).
    pub(crate) fn func_type(&self, index: u32) -> &FuncType {
        static EMPTY: FuncType = FuncType {
            params: Vec::new(),
            results: Vec::new(),
        };
        self.types.get(index as usize).unwrap_or(&EMPTY)
    }

    /// The type index of function `index`.
    pub(crate) fn func_type_index(&self, index: u32) -> u32 {
        self.file()
            .functions()
            .get(index as usize)
            .map_or(0, |f| f.type_index)
    }

    /// The function whose body contains text offset `offset` (`None` also when its record is
    /// damaged: a trap then names no function rather than a wrong one).
    pub(crate) fn function_containing(&self, offset: u32) -> Option<u32> {
        self.file().functions().containing(offset).ok().flatten()
    }

    /// The trap code recorded for the instruction at text offset `offset`. The trap table is
    /// checked against its checksum at the first lookup (never at load), so a damaged table
    /// gives an error rather than a wrong trap kind.
    pub(crate) fn trap_code_at(&self, offset: u32) -> Result<Option<TrapCode>, ReadError> {
        self.check_trap_report_tables()?;
        self.file.traps().lookup(offset)
    }

    /// Checks the trap table and the function names (one checksum covers what a trap report
    /// reads) at the first use, never at load.
    fn check_trap_report_tables(&self) -> Result<(), ReadError> {
        let (traps, names) = (self.file.traps(), self.file.names());
        self.traps_checked
            .get_or_init(|| traps.verify(&names))
            .clone()
    }

    /// A name for function `index`: its name in the wasm `name` section, else its first export
    /// name (`None` too when the names are damaged: a backtrace then shows the index).
    pub(crate) fn function_name(&self, index: u32) -> Option<String> {
        let file = self.file();
        if self.check_trap_report_tables().is_ok()
            && let Ok(Some(name)) = file.names().get(index)
        {
            return Some(name.to_owned());
        }
        file.exports()
            .iter()
            .find(|e| e.kind == ExternKind::Func && e.index == index)
            .map(|e| e.name.to_owned())
    }
}

impl Module {
    /// Loads the AOT file at `path`. An XIP file's text is mapped read + execute from the file
    /// itself (never writable, never copied); a normal file's text is copied into anonymous
    /// memory, relocated, then made read + execute.
    ///
    /// # Safety
    /// Loading native code trusts the file: a valid-looking but malicious file runs arbitrary
    /// code in this process. The checks catch damage, not malice. The file must also not be
    /// truncated or modified while the module is alive (it is mapped, not read).
    pub unsafe fn from_file(path: impl AsRef<Path>) -> Result<Module, LoadError> {
        // SAFETY: forwarded to the caller.
        unsafe { Module::from_file_with(path, &LoadOptions::default()) }
    }

    /// [`Module::from_file`] with options.
    ///
    /// # Safety
    /// As for [`Module::from_file`].
    pub unsafe fn from_file_with(
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<Module, LoadError> {
        let path = path.as_ref();
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| path.display().to_string());
        let io = |source| LoadError::Io {
            file: name.clone(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let len = usize::try_from(len).map_err(|_| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "file larger than the address space",
            ))
        })?;
        if len == 0 {
            // Nothing to map; let the reader describe what is missing.
            return Err(format_error(&name, AotFile::parse(&[]).err()));
        }
        // SAFETY: the caller promises the file is not modified or truncated while the module
        // (which keeps the mapping) is alive.
        let mapping =
            unsafe { MmapOptions::new().len(len).map(&file) }.map_err(|source| LoadError::Map {
                file: name.clone(),
                offset: 0,
                what: "file",
                source,
            })?;
        advise_metadata_pages(&file, &mapping);
        // SAFETY: the mapping's bytes never move and live in `Backing::Mapped` as long as the
        // module; the caller promises the file is not modified meanwhile.
        let bytes: &'static [u8] =
            unsafe { core::slice::from_raw_parts(mapping.as_ptr(), mapping.len()) };
        build(name, bytes, Backing::Mapped(mapping), Some(&file), options)
    }

    /// Loads an AOT file that is already in memory. Copies what it needs: the file's bytes, and
    /// the text into anonymous memory (relocated unless XIP, then made read + execute).
    ///
    /// # Safety
    /// As for [`Module::from_file`]: the bytes are trusted to be compiled code.
    pub unsafe fn from_bytes(bytes: &[u8]) -> Result<Module, LoadError> {
        // SAFETY: forwarded to the caller.
        unsafe { Module::from_bytes_with(bytes, &LoadOptions::default()) }
    }

    /// [`Module::from_bytes`] with options.
    ///
    /// # Safety
    /// As for [`Module::from_file`].
    pub unsafe fn from_bytes_with(
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Module, LoadError> {
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| "<memory>".to_owned());
        let owned: Box<[u8]> = bytes.into();
        // SAFETY: the boxed bytes never move (a boxed slice's heap allocation is stable) and are
        // kept in `Backing::Owned` as long as the module.
        let view: &'static [u8] =
            unsafe { core::slice::from_raw_parts(owned.as_ptr(), owned.len()) };
        build(name, view, Backing::Owned(owned), None, options)
    }

    /// Loads an AOT file from bytes that live forever (for example memory-mapped flash): the
    /// metadata is used in place; the text is still copied, because on posix the bytes are not
    /// known to be executable.
    ///
    /// # Safety
    /// As for [`Module::from_file`].
    pub unsafe fn from_static_bytes(
        bytes: &'static [u8],
        options: &LoadOptions,
    ) -> Result<Module, LoadError> {
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| "<memory>".to_owned());
        build(name, bytes, Backing::Static, None, options)
    }

    /// Whether the file is XIP (relocation-free text; mapped in place by [`Module::from_file`]).
    pub fn is_xip(&self) -> bool {
        self.inner.file.is_xip()
    }

    /// The parsed file.
    pub fn file(&self) -> AotFile<'_> {
        self.inner.file()
    }

    /// What the app heap and truncation at `__heap_base` depend on, worked out at the first
    /// instantiation.
    pub(crate) fn heap_facts(&self) -> &HeapFacts {
        self.inner.heap_facts.get_or_init(|| HeapFacts::of(self))
    }

    /// What the module occupies: text (file-backed or a private copy), the file mapping, and
    /// the runtime's heap allocations for it.
    pub fn memory_report(&self) -> ModuleMemoryReport {
        self.inner.memory_report()
    }

    /// The executable text, as mapped in this process.
    pub fn text(&self) -> &[u8] {
        if self.inner.text_len == 0 {
            return &[];
        }
        // SAFETY: the text mapping is readable (read + execute) for `text_len` bytes and lives
        // as long as `self`.
        unsafe { core::slice::from_raw_parts(self.inner.text.as_ptr(), self.inner.text_len) }
    }

    /// Whether the text is mapped straight from the file (as opposed to copied): XIP, or
    /// prelinked and loaded from a file.
    pub fn is_text_mapped_from_file(&self) -> bool {
        matches!(self.inner.text, Text::FileMapped(_))
    }

    /// Whether the file is prelinked (its text executes at [`AotFile::prelink_base`]).
    pub fn is_prelinked(&self) -> bool {
        self.inner.file.is_prelinked()
    }

    /// The name used in messages: the path, the name given in the options, or `<memory>`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The exports, in order: name and type.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        let file = self.inner.file();
        file.exports()
            .iter()
            .map(move |e| (e.name, self.extern_type(e.kind, e.index)))
    }

    /// The imports, in order: module name, field name and type.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> + '_ {
        let file = self.inner.file();
        file.imports()
            .iter()
            .map(move |i| (i.module, i.name, self.extern_type(i.kind, i.index)))
    }

    /// The type of entry `index` of a kind's index space (indices checked by the reader).
    pub(crate) fn extern_type(&self, kind: ExternKind, index: u32) -> ExternType {
        let file = self.inner.file();
        let i = index as usize;
        match kind {
            ExternKind::Func => ExternType::Func(
                self.inner
                    .func_type(self.inner.func_type_index(index))
                    .clone(),
            ),
            ExternKind::Table => ExternType::Table(file.tables().get(i).map_or(
                TableType {
                    element: ValType::FuncRef,
                    min: 0,
                    max: None,
                },
                |t| TableType {
                    element: t.elem_type,
                    min: t.min,
                    max: t.max,
                },
            )),
            ExternKind::Memory => ExternType::Memory(file.memories().get(i).map_or(
                MemoryType {
                    min: 0,
                    max: None,
                    memory64: false,
                    shared: false,
                },
                |m| MemoryType {
                    min: m.min,
                    max: m.max,
                    memory64: m.memory64,
                    shared: m.shared,
                },
            )),
            ExternKind::Global => ExternType::Global(file.globals().get(i).map_or(
                GlobalType {
                    content: ValType::I32,
                    mutable: false,
                },
                |g| GlobalType {
                    content: g.val_type,
                    mutable: g.mutable,
                },
            )),
        }
    }
}

/// Before anything is read from `mapping` (the whole file), marks the pages of the header and
/// metadata (all that loading reads) random-access and never huge. That splits them off into a
/// mapping of their own, so a fault there maps only metadata pages: no read-ahead, no fault
/// around and no huge page reaching into the text and the lookup sections after them. Only
/// hints: a refusal changes nothing but the number of pages mapped.
fn advise_metadata_pages(file: &File, mapping: &Mmap) {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; size_of::<FileHeader>()];
    if file.read_exact_at(&mut header, 0).is_err() {
        return; // The reader reports what is missing.
    }
    let Some(header) = aotc_format::pod::from_bytes::<FileHeader>(&header) else {
        return;
    };
    let metadata_size = usize::try_from(header.metadata_size.get()).unwrap_or(usize::MAX);
    let len = metadata_size
        .min(mapping.len())
        .next_multiple_of(sys::page_size())
        .min(mapping.len());
    let _ = mapping.advise_range(Advice::Random, 0, len);
    #[cfg(target_os = "linux")]
    let _ = mapping.advise_range(Advice::NoHugePage, 0, len);
}

fn format_error(name: &str, e: Option<ReadError>) -> LoadError {
    match e {
        Some(source) => LoadError::Format {
            file: name.to_owned(),
            source,
        },
        None => LoadError::Io {
            file: name.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "empty file"),
        },
    }
}

/// File offsets of the header fields checked against the host, from the layout.
const ARCH_OFFSET: u64 = offset_of!(FileHeader, arch) as u64;
const POINTER_SIZE_OFFSET: u64 = offset_of!(FileHeader, pointer_size) as u64;
const ENDIANNESS_OFFSET: u64 = offset_of!(FileHeader, endianness) as u64;
const CPU_FEATURES_OFFSET: u64 = offset_of!(FileHeader, cpu_features) as u64;
const PRELINK_BASE_OFFSET: u64 = offset_of!(FileHeader, prelink_base) as u64;
const SYMBOLS_FINGERPRINT_OFFSET: u64 = offset_of!(FileHeader, symbols_fingerprint) as u64;

fn check_target(name: &str, file: &AotFile<'_>) -> Result<(), LoadError> {
    let wrong = |offset, what, expected: String, found: String| LoadError::WrongTarget {
        file: name.to_owned(),
        offset,
        what,
        expected,
        found,
    };
    let Some(host) = Arch::host() else {
        return Err(wrong(
            ARCH_OFFSET,
            "architecture",
            format!(
                "a host aotc supports (this one is {})",
                std::env::consts::ARCH
            ),
            file.arch().name().to_owned(),
        ));
    };
    if file.arch() != host {
        return Err(wrong(
            ARCH_OFFSET,
            "architecture",
            host.name().to_owned(),
            file.arch().name().to_owned(),
        ));
    }
    let pointer_size = file.pointer_size();
    if usize::from(pointer_size) != size_of::<usize>() {
        return Err(wrong(
            POINTER_SIZE_OFFSET,
            "pointer size",
            format!("{} bytes", size_of::<usize>()),
            format!("{pointer_size} bytes"),
        ));
    }
    let little = cfg!(target_endian = "little");
    let file_little = file.arch().endianness() == aotc_abi::target::Endianness::Little;
    if little != file_little {
        let word = |l: bool| if l { "little-endian" } else { "big-endian" };
        return Err(wrong(
            ENDIANNESS_OFFSET,
            "byte order",
            word(little).to_owned(),
            word(file_little).to_owned(),
        ));
    }
    let missing: Vec<String> = (0..64)
        .map(|bit| 1u64 << bit)
        .filter(|bit| file.cpu_features() & bit != 0 && !sys::cpu_features::host_has_feature(*bit))
        .map(|bit| {
            cpu_features::names(host)
                .iter()
                .find(|(_, b)| *b == bit)
                .map_or_else(
                    || format!("unknown feature bit {}", bit.trailing_zeros()),
                    |(n, _)| (*n).to_owned(),
                )
        })
        .collect();
    if !missing.is_empty() {
        return Err(LoadError::MissingCpuFeatures {
            file: name.to_owned(),
            offset: CPU_FEATURES_OFFSET,
            names: missing,
        });
    }
    Ok(())
}

/// Refuses a file that calls a builtin this runtime lacks or numbers differently, naming it.
fn check_builtins(name: &str, file: &AotFile<'_>) -> Result<(), LoadError> {
    for (i, (index, builtin)) in file.builtins().enumerate() {
        let provided = Builtin::from_index(index);
        if provided.is_none_or(|b| b.name() != builtin) {
            return Err(LoadError::MissingBuiltin {
                file: name.to_owned(),
                offset: file.builtin_file_offset(i),
                name: builtin.to_owned(),
                index,
                provided: provided.map(Builtin::name),
            });
        }
    }
    Ok(())
}

fn build(
    name: String,
    bytes: &'static [u8],
    backing: Backing,
    source_file: Option<&File>,
    options: &LoadOptions,
) -> Result<Module, LoadError> {
    let file = AotFile::parse(bytes).map_err(|e| format_error(&name, Some(e)))?;
    check_target(&name, &file)?;
    if options.verify_text_checksum {
        file.verify_text()
            .map_err(|e| format_error(&name, Some(e)))?;
    }
    check_builtins(&name, &file)?;
    let constants = Constants::new(file.constants());

    if file.is_prelinked() {
        check_symbols(&name, &file)?;
    }
    let text_len = file.text().len();
    let text = if text_len == 0 {
        Text::Empty
    } else {
        match source_file {
            _ if file.is_prelinked() => map_prelinked_text(&name, &file, source_file)?,
            Some(source) if file.is_xip() => map_text_in_place(&name, &file, source)?,
            _ => copy_text(&name, &file)?,
        }
    };
    // Instantiation never reads the function table: the records of the functions used as
    // references (exports, elements) are read when first used. Where loading is linear in the
    // code anyway (copied text) the table is checked here; a mapped XIP file's table is trusted
    // like its text (see docs/format.md), unless asked to verify.
    let mapped_xip = matches!(text, Text::FileMapped(_)) && !file.is_prelinked();
    if options.verify_text_checksum || !mapped_xip {
        file.functions()
            .verify()
            .map_err(|e| format_error(&name, Some(e)))?;
    }
    let types: Box<[FuncType]> = file
        .types()
        .iter()
        .map(|t| FuncType::new(t.params.iter(), t.results.iter()))
        .collect();
    let type_ids = types.iter().map(signature_id).collect();

    let base = text.as_ptr() as usize;
    let mut full = false;
    let inner = Arc::new_cyclic(|weak| {
        let registration = if text_len == 0 {
            None
        } else {
            let r = code_registry::register(base, base + text_len, weak.clone());
            full = r.is_none();
            r
        };
        ModuleInner {
            registration,
            file,
            text,
            text_len,
            constants,
            backing,
            name: name.clone(),
            types,
            type_ids,
            traps_checked: OnceLock::new(),
            heap_facts: OnceLock::new(),
        }
    });
    if full {
        return Err(LoadError::TooManyModules {
            file: name,
            limit: code_registry::MAX_MODULES,
        });
    }
    Ok(Module { inner })
}

/// Maps an XIP text read + execute from the file it is in. A packed text (`--text-align` below
/// the page size) is mapped with the enclosing pages, so the file bytes that share its first and
/// last pages (metadata before, lookup sections after) are mapped executable too, never
/// writable.
fn map_text_in_place(name: &str, file: &AotFile<'_>, source: &File) -> Result<Text, LoadError> {
    let offset = file.text_file_offset();
    // A shared read + execute mapping of a file opened read-only: the kernel refuses ever to
    // make it writable, and it shares the page cache with every process running the file.
    let mapping = sys::TextMapping::file_text_near_runtime(source, offset, file.text().len())
        .map_err(|source| LoadError::Map {
            file: name.to_owned(),
            offset,
            what: "text (read + execute, from the file)",
            source,
        })?;
    Ok(Text::FileMapped(mapping))
}

/// Maps a prelinked text at exactly the address it was relocated for: read + execute from the
/// file (no copy, no write), or, for bytes in memory, a copy made read + execute there.
fn map_prelinked_text(
    name: &str,
    file: &AotFile<'_>,
    source: Option<&File>,
) -> Result<Text, LoadError> {
    let base = file.prelink_base();
    let text = file.text();
    let taken = || LoadError::AddressTaken {
        file: name.to_owned(),
        offset: PRELINK_BASE_OFFSET,
        address: base,
        len: text.len(),
    };
    let Ok(address) = usize::try_from(base) else {
        return Err(taken());
    };
    let offset = file.text_file_offset();
    // A packed file (`--text-align` below the page size) whose text lies at another offset
    // within its page than the address: the file's pages cannot be mapped there; copy instead.
    let page = sys::page_size() as u64;
    let source = source.filter(|_| offset % page == base % page);
    let mapped = match source {
        Some(source) => sys::TextMapping::file_text_at(source, offset, text.len(), address),
        None => sys::TextMapping::copy_at(text, address),
    };
    match mapped {
        Ok(mapping) if source.is_some() => Ok(Text::FileMapped(mapping)),
        Ok(mapping) => Ok(Text::Copied(mapping)),
        Err(sys::FixedMapError::Taken) => Err(taken()),
        Err(sys::FixedMapError::Io(source)) => Err(LoadError::Map {
            file: name.to_owned(),
            offset,
            what: "prelinked text (read + execute, at its address)",
            source,
        }),
    }
}

/// This runtime's builtin addresses in this process: what a prelinked file is relocated for
/// (`aotc runtime-symbols` prints them) and checked against at load.
pub fn runtime_builtin_addresses() -> impl Iterator<Item = (Builtin, u64)> {
    Builtin::ALL
        .iter()
        .map(|&b| (b, builtin_address(b) as usize as u64))
}

/// Refuses a prelinked file whose builtin addresses are not this runtime's.
fn check_symbols(name: &str, file: &AotFile<'_>) -> Result<(), LoadError> {
    // `check_builtins` has checked every index to be this runtime's builtin.
    let runtime = file
        .builtin_addresses_fingerprint(|index| {
            Some(Builtin::from_index(index).map_or(0, |b| builtin_address(b) as usize as u64))
        })
        .unwrap_or(0);
    if runtime != file.symbols_fingerprint() {
        return Err(LoadError::SymbolsMismatch {
            file: name.to_owned(),
            offset: SYMBOLS_FINGERPRINT_OFFSET,
            recorded: file.symbols_fingerprint(),
            runtime,
        });
    }
    Ok(())
}

/// Copies the text into anonymous memory, relocates it, and makes it read + execute.
fn copy_text(name: &str, file: &AotFile<'_>) -> Result<Text, LoadError> {
    let offset = file.text_file_offset();
    let map_error = |what, source| LoadError::Map {
        file: name.to_owned(),
        offset,
        what,
        source,
    };
    let text = file.text();
    let mut copy = sys::WritableText::near_runtime(text.len())
        .map_err(|e| map_error("text copy (read + write)", e))?;
    let bytes = copy.bytes_mut(text.len());
    bytes.copy_from_slice(text);
    relocate(name, file, bytes)?;
    // W^X: the copy was never executable while writable, and is not made writable again.
    let copy = copy
        .into_exec()
        .map_err(|e| map_error("text copy (read + execute)", e))?;
    Ok(Text::Copied(copy))
}

/// Applies the file's relocations to `text`, which will execute at its current address, with
/// this runtime's builtins, through the one relocator.
fn relocate(name: &str, file: &AotFile<'_>, text: &mut [u8]) -> Result<(), LoadError> {
    let base = text.as_ptr() as u64;
    let relocs = file.relocs();
    let resolver = |b: Builtin| Some(builtin_address(b) as u64);
    for (i, r) in relocs.iter().enumerate() {
        aotc_reloc::apply_reloc(file.arch(), text, base, &r, &resolver).map_err(|source| {
            LoadError::Relocation {
                file: name.to_owned(),
                offset: relocs.file_offset(i),
                source,
            }
        })?;
    }
    Ok(())
}
