//! Instantiation and instances: linking imports (kind and type checks with the specification's
//! wording), building the vmctx and the arrays it points to, creating memories, tables and
//! globals, applying element and data segments, running the start function; exports; and the
//! instance-side work of the runtime helpers (`memory.fill`, `table.init`, ...).
//!
//! Lifetimes: instances and handles are reference counted and `!Send`. An instance keeps its
//! imports alive; an exported table or global keeps its instance alive. When a function
//! reference may flow from one instance into another's storage (an imported funcref table or
//! global, a call to an imported function taking funcrefs, a host-side store or call), the
//! receiving side keeps the sender alive. Such links may form cycles that are never freed: a
//! deliberate leak in exchange for never dangling.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::rc::Rc;

use aotc_abi::{TrapCode, ValType};
use aotc_format::ReadError;
use aotc_format::layout::{
    ConstValue, ExternKind, FLAG_EXPLICIT_BOUNDS_CHECKS, NONE, SegmentPlacement,
};

use crate::app_heap::{self, AppHeap, AppHeapError, AppHeapState, AppHeapUsage, HeapPlan};
use crate::builtins::builtin_table;
use crate::error::InstantiationError;
use crate::func::{Func, Owner, Val};
use crate::funcrefs::FuncRefs;
use crate::global::{Global, GlobalInner};
use crate::live_instances;
use crate::mem_report::{InstanceMemoryReport, TableUsage};
use crate::memory::{GUARD_PAGE_RESERVATION, Memory, MemoryConfig};
use crate::module::Module;
use crate::stack::WasmStack;
use crate::table::{Table, TableInner};
use crate::trap::Trap;
use crate::types::{ExternType, FuncType, GlobalType};
use crate::vmctx::{FuncRef, GlobalSlot, TableDef, ValRaw, VmctxHeader};

/// Per-instance settings: the memory model's knobs (README, "Memory model").
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    /// Most native stack, in bytes, wasm may use below the point where the host first calls
    /// into wasm (bounded by the thread's stack, less a 64 KiB margin). Deeper recursion traps
    /// with `StackOverflow` (`call stack exhausted`). Default 1 MiB ([`DEFAULT_MAX_WASM_STACK`]).
    pub max_wasm_stack: usize,
    /// Measure the deepest native stack use of each outermost call ([`Instance::peak_wasm_stack`]).
    /// Costs a pass over `max_wasm_stack` bytes per outermost call. Default off.
    pub measure_stack: bool,
    /// Reservation, guard and size cap of the linear memories the instance defines.
    pub memory: MemoryConfig,
    /// Bytes of app heap the runtime places at `__heap_base` for [`Instance::module_malloc`] when
    /// the module exports no `malloc`/`free`. Default 0: none.
    pub app_heap_size: u64,
    /// Truncate memory 0 at `__heap_base` (plus the app heap) where that cannot change what the
    /// program observes: it defines memory 0, exports `__heap_base`, its code has neither
    /// `memory.grow` nor `memory.size`, and its data fits below (README, "Memory model").
    /// Default on.
    pub truncate_at_heap_base: bool,
}

/// The default [`InstanceConfig::max_wasm_stack`]: 1 MiB, an eighth of Linux's default 8 MiB
/// main-thread stack and half of a Rust thread's 2 MiB, leaving the host room on either, and as
/// deep as the spec suite's deepest recursion needs.
pub const DEFAULT_MAX_WASM_STACK: usize = 1 << 20;

impl Default for InstanceConfig {
    fn default() -> Self {
        InstanceConfig {
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            measure_stack: false,
            memory: MemoryConfig::default(),
            app_heap_size: 0,
            truncate_at_heap_base: true,
        }
    }
}

/// Something an instance imports or exports.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A linear memory.
    Memory(Memory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
}

impl Extern {
    /// Its type (for tables and memories, with the current size as minimum).
    pub fn ty(&self) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty()),
            Extern::Memory(m) => {
                let mut ty = m.ty();
                ty.min = m.size_pages();
                ExternType::Memory(ty)
            }
            Extern::Table(t) => {
                let mut ty = t.ty();
                ty.min = t.size();
                ExternType::Table(ty)
            }
            Extern::Global(g) => ExternType::Global(g.ty()),
        }
    }

    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }

    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}

/// An instance of a module. Cheap to clone (shared); `!Send`: an instance and everything
/// reachable from it stay on the thread that created them.
#[derive(Clone)]
pub struct Instance {
    inner: Rc<InstanceInner>,
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.inner.module.name())
            .finish()
    }
}

pub(crate) struct InstanceInner {
    module: Module,
    /// The native stack settings and measurement.
    stack: WasmStack,
    /// The vmctx; boxed so its address is stable.
    vmctx: Box<UnsafeCell<VmctxHeader>>,
    /// The imported functions' `FuncRef`s (`vmctx.functions` points to them) and those of the
    /// defined functions used as references, built on first use.
    funcrefs: FuncRefs,
    /// The imported functions, by function index.
    imported_funcs: Vec<Func>,
    memories: Vec<Memory>,
    /// Imported tables carry their owner; defined ones do not (no cycle with ourselves).
    tables: Vec<Table>,
    globals: Vec<Global>,
    /// `vmctx.globals` points here (kept, never read).
    #[allow(dead_code)]
    global_ptrs: Box<[*mut GlobalSlot]>,
    /// `vmctx.tables` points here (kept, never read).
    #[allow(dead_code)]
    table_ptrs: Box<[*mut TableDef]>,
    /// Whether each data segment was dropped.
    data_dropped: Box<[Cell<bool>]>,
    /// The items of each element segment (empty once dropped).
    elements: RefCell<Vec<Rc<[usize]>>>,
    /// Owners of functions that flowed into this instance from outside.
    keepalive: RefCell<Vec<Owner>>,
    /// The app heap and the host's allocations in it.
    app_heap: AppHeapState,
}

impl Drop for InstanceInner {
    fn drop(&mut self) {
        live_instances::unregister_vmctx(self.vmctx.get());
    }
}

fn link_error(
    index: usize,
    module: &str,
    name: &str,
    message: &'static str,
    detail: String,
) -> InstantiationError {
    InstantiationError::Link {
        index,
        module: module.to_owned(),
        name: name.to_owned(),
        message,
        detail,
    }
}

const INCOMPATIBLE: &str = "incompatible import type";

/// Whether a `given` maximum satisfies an `expected` one.
fn max_fits<T: PartialOrd>(expected: Option<T>, given: Option<T>) -> bool {
    match (expected, given) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(e), Some(g)) => g <= e,
    }
}

/// Why `given` cannot satisfy an import of type `expected`, if it cannot.
fn import_mismatch(expected: &ExternType, given: &Extern) -> Option<String> {
    let ok = match (expected, given) {
        (ExternType::Func(e), Extern::Func(f)) => f.ty() == *e,
        (ExternType::Table(e), Extern::Table(t)) => {
            let ty = t.ty();
            ty.element == e.element && t.size() >= e.min && max_fits(e.max, ty.max)
        }
        (ExternType::Memory(e), Extern::Memory(m)) => {
            let ty = m.ty();
            ty.memory64 == e.memory64
                && ty.shared == e.shared
                && m.size_pages() >= e.min
                && max_fits(e.max, ty.max)
        }
        (ExternType::Global(e), Extern::Global(g)) => g.ty() == *e,
        _ => false,
    };
    (!ok).then(|| format!("expected {expected}, given {}", given.ty()))
}

impl Instance {
    /// Instantiates `module` with `imports`, given in the module's import order.
    ///
    /// Checks every import's kind and type; creates memories, tables and globals; applies the
    /// element segments, then the data segments, in order; runs the start function. A trap in
    /// a segment or the start function returns [`InstantiationError::Trap`]; writes already
    /// done to imported memories and tables stay.
    pub fn new(module: &Module, imports: &[Extern]) -> Result<Instance, InstantiationError> {
        Instance::new_with(module, imports, &InstanceConfig::default())
    }

    /// [`Instance::new`] with settings.
    pub fn new_with(
        module: &Module,
        imports: &[Extern],
        config: &InstanceConfig,
    ) -> Result<Instance, InstantiationError> {
        let inner = build(module, imports, config)?;
        initialize(&inner)?;
        Ok(Instance { inner })
    }

    /// The module it instantiates.
    pub fn module(&self) -> &Module {
        &self.inner.module
    }

    /// The export `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let file = self.inner.module.file();
        let export = file.find_export(name)?;
        self.inner.extern_at(export.kind, export.index)
    }

    /// The exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        self.get_export(name)?.into_func()
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        self.get_export(name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, name: &str) -> Option<Table> {
        self.get_export(name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, name: &str) -> Option<Global> {
        self.get_export(name)?.into_global()
    }

    /// Every export, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, Extern)> + '_ {
        let file = self.inner.module.file();
        file.exports().iter().filter_map(move |e| {
            let ext = self.inner.extern_at(e.kind, e.index)?;
            Some((e.name, ext))
        })
    }
}

/// The imports given for each imported index, by kind, as linked by [`link_imports`].
struct Linked {
    funcs: Vec<Func>,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    globals: Vec<Global>,
}

/// Links the imports and builds the instance's runtime structures (no segment applied yet).
fn build(
    module: &Module,
    imports: &[Extern],
    config: &InstanceConfig,
) -> Result<Rc<InstanceInner>, InstantiationError> {
    let file = module.inner.file();
    let vmctx = Box::new(UnsafeCell::new(VmctxHeader::empty()));
    let vmctx_ptr = vmctx.get();

    let imported = file.module().imported_functions as usize;
    let mut imported_funcrefs: Vec<FuncRef> = vec![FuncRef::null(); imported];
    let linked = link_imports(module, imports, &mut imported_funcrefs)?;
    let funcrefs = FuncRefs::new(module, vmctx_ptr, imported_funcrefs);
    let plan = app_heap::plan(
        module.heap_facts(),
        config.app_heap_size,
        config.truncate_at_heap_base,
    );
    let (memories, heap) = define_memories(module, linked.memories, config, plan)?;
    let tables = define_tables(module, linked.tables)?;
    let damaged = |source| InstantiationError::Damaged {
        file: module.inner.name().to_owned(),
        source,
    };
    let globals = define_globals(module, linked.globals, &funcrefs).map_err(damaged)?;
    let elements = evaluate_elements(module, &globals, &funcrefs).map_err(damaged)?;
    let data_dropped: Box<[Cell<bool>]> = file
        .data_segments()
        .iter()
        .map(|_| Cell::new(false))
        .collect();
    let global_ptrs: Box<[*mut GlobalSlot]> = globals.iter().map(|g| g.inner.slot_ptr()).collect();
    let table_ptrs: Box<[*mut TableDef]> = tables.iter().map(|t| t.inner.def_ptr()).collect();

    // SAFETY: the vmctx is not shared yet; every pointer stored points into boxes owned by the
    // instance being built (or by its imports, which it keeps alive), or into static data.
    unsafe {
        let header = &mut *vmctx_ptr;
        header.memory = memories
            .first()
            .map_or(std::ptr::null_mut(), |m| m.inner.def_ptr());
        header.functions = funcrefs.imported_ptr();
        header.builtins = builtin_table();
        header.globals = global_ptrs.as_ptr();
        header.tables = table_ptrs.as_ptr();
        header.type_ids = module.inner.type_ids.as_ptr();
        header.constants = module.inner.constants_ptr();
    }

    let inner = Rc::new(InstanceInner {
        module: module.clone(),
        stack: WasmStack::new(config.max_wasm_stack, config.measure_stack),
        vmctx,
        funcrefs,
        imported_funcs: linked.funcs,
        memories,
        tables,
        globals,
        global_ptrs,
        table_ptrs,
        data_dropped,
        elements: RefCell::new(elements),
        keepalive: RefCell::new(Vec::new()),
        app_heap: AppHeapState::new(heap),
    });
    register(&inner);
    Ok(inner)
}

/// Checks each import against its type and records it; host functions get a `FuncRef` through
/// the module's exit trampoline.
fn link_imports(
    module: &Module,
    imports: &[Extern],
    funcrefs: &mut [FuncRef],
) -> Result<Linked, InstantiationError> {
    let m = &module.inner;
    let file = m.file();
    let counts = file.module();
    let mut funcs: Vec<Option<Func>> = vec![None; counts.imported_functions as usize];
    let mut memories: Vec<Option<Memory>> = vec![None; counts.imported_memories as usize];
    let mut tables: Vec<Option<Table>> = vec![None; counts.imported_tables as usize];
    let mut globals: Vec<Option<Global>> = vec![None; counts.imported_globals as usize];

    for (i, import) in file.imports().iter().enumerate() {
        let (module_name, name) = (import.module, import.name);
        let expected = module.extern_type(import.kind, import.index);
        let Some(given) = imports.get(i) else {
            return Err(link_error(
                i,
                module_name,
                name,
                "unknown import",
                format!(
                    "expected {expected}, but only {} import(s) were given",
                    imports.len()
                ),
            ));
        };
        if let Some(detail) = import_mismatch(&expected, given) {
            return Err(link_error(i, module_name, name, INCOMPATIBLE, detail));
        }
        let slot = import.index as usize;
        match given {
            Extern::Func(f) => {
                funcrefs[slot] = match f.as_host() {
                    Some(host) => {
                        let incompatible =
                            |detail| link_error(i, module_name, name, INCOMPATIBLE, detail);
                        let t = file
                            .types()
                            .get(m.func_type_index(import.index) as usize)
                            .ok_or_else(|| incompatible("no such type".into()))?;
                        let Some(exit) = t.exit_trampoline else {
                            return Err(incompatible(format!(
                                "the module has no exit trampoline for {expected} to call a host function"
                            )));
                        };
                        let funcref = FuncRef {
                            wasm_call: m.text_address(exit),
                            array_call: m.text_address(t.entry_trampoline.unwrap_or(NONE)),
                            vmctx: host.context(),
                            type_id: host.type_id(),
                        };
                        host.adopt_funcref(module, funcref);
                        funcref
                    }
                    None => f.wasm_funcref().unwrap_or_else(FuncRef::null),
                };
                funcs[slot] = Some(f.clone());
            }
            Extern::Memory(mem) => memories[slot] = Some(mem.clone()),
            Extern::Table(t) => tables[slot] = Some(t.clone()),
            Extern::Global(g) => globals[slot] = Some(g.clone()),
        }
    }
    Ok(Linked {
        funcs: complete(funcs)?,
        memories: complete(memories)?,
        tables: complete(tables)?,
        globals: complete(globals)?,
    })
}

/// The imports of one kind, once every imported index was given one.
fn complete<T>(imports: Vec<Option<T>>) -> Result<Vec<T>, InstantiationError> {
    imports
        .into_iter()
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| {
            link_error(
                0,
                "",
                "",
                "unknown import",
                "the module's import records do not cover every imported index".into(),
            )
        })
}

/// The imported memories (checked to suit the code's bounds checks) followed by new defined
/// ones, reserved and capped as `config` says, memory 0 truncated and holding the runtime's app
/// heap as `plan` says; and the app heap.
fn define_memories(
    module: &Module,
    mut memories: Vec<Memory>,
    config: &InstanceConfig,
    plan: HeapPlan,
) -> Result<(Vec<Memory>, AppHeap), InstantiationError> {
    let file = module.inner.file();
    let guard_pages = file.flags() & FLAG_EXPLICIT_BOUNDS_CHECKS == 0;
    let refused = |index: usize, message: String| InstantiationError::Resource {
        what: format!("linear memory {index} of {}", module.name()),
        source: std::io::Error::new(std::io::ErrorKind::Unsupported, message),
    };
    if guard_pages {
        for (index, memory) in memories.iter().enumerate() {
            if memory.reserved() < GUARD_PAGE_RESERVATION {
                return Err(refused(
                    index,
                    format!(
                        "the imported memory is reserved for explicit bounds checks only ({} bytes), but the code was compiled for guard-page bounds checks",
                        memory.reserved()
                    ),
                ));
            }
        }
        if memories.len() < file.memories().len()
            && let Some(why) = config.memory.guard_page_shortfall()
        {
            return Err(refused(memories.len(), why));
        }
    }
    for index in memories.len()..file.memories().len() {
        let ExternType::Memory(ty) = module.extern_type(ExternKind::Memory, index as u32) else {
            continue;
        };
        let truncate_to = if index == 0 { plan.truncate_to } else { None };
        let memory = Memory::create(ty, &config.memory, guard_pages, truncate_to).map_err(|e| {
            let hint = if guard_pages {
                " (guard-page bounds checks need 8 GiB of address space per memory: recompile with `--bounds-checks=1` for less)"
            } else {
                ""
            };
            refused(index, format!("{e}{hint}"))
        })?;
        memories.push(memory);
    }
    let mut heap = plan.heap;
    if let (AppHeap::Runtime(_), Some(memory)) = (&heap, memories.first())
        && memory.size_pages() < plan.min_pages
        && memory.grow(plan.min_pages - memory.size_pages()).is_err()
    {
        heap = AppHeap::None(format!(
            "memory 0 cannot grow to hold the app heap ({} pages, at most {} allowed)",
            plan.min_pages,
            memory.max_pages()
        ));
    }
    Ok((memories, heap))
}

/// The imported tables followed by new defined ones (null-filled).
fn define_tables(
    module: &Module,
    mut tables: Vec<Table>,
) -> Result<Vec<Table>, InstantiationError> {
    for index in tables.len()..module.inner.file().tables().len() {
        let ExternType::Table(ty) = module.extern_type(ExternKind::Table, index as u32) else {
            continue;
        };
        let inner = TableInner::new(ty, 0).map_err(|e| InstantiationError::Resource {
            what: format!("table {index}"),
            source: std::io::Error::other(e.to_string()),
        })?;
        tables.push(Table {
            inner: Rc::new(inner),
            _owner: None,
        });
    }
    Ok(tables)
}

/// The imported globals followed by the defined ones, initialised in order.
fn define_globals(
    module: &Module,
    mut globals: Vec<Global>,
    funcrefs: &FuncRefs,
) -> Result<Vec<Global>, ReadError> {
    let file = module.inner.file();
    for (index, g) in file.globals().iter().enumerate().skip(globals.len()) {
        let ExternType::Global(ty) = module.extern_type(ExternKind::Global, index as u32) else {
            continue;
        };
        let raw = const_raw(g.init.unwrap_or(ConstValue::None), &globals, funcrefs)?;
        globals.push(Global {
            inner: Rc::new(GlobalInner::new(ty, raw)),
            _owner: None,
        });
    }
    Ok(globals)
}

/// Each element segment's items, evaluated now (declared segments are dropped at once).
fn evaluate_elements(
    module: &Module,
    globals: &[Global],
    funcrefs: &FuncRefs,
) -> Result<Vec<Rc<[usize]>>, ReadError> {
    module
        .inner
        .file()
        .elements()
        .iter()
        .map(|e| {
            if e.placement == SegmentPlacement::Declared {
                return Ok(Rc::from(Vec::new()));
            }
            e.items
                .iter()
                .map(|value| const_raw(value, globals, funcrefs).map(usize_of))
                .collect::<Result<Vec<usize>, ReadError>>()
                .map(Rc::from)
        })
        .collect()
}

/// Makes the instance findable from its vmctx and function references, and keeps it alive as
/// long as imports its function references may flow into.
fn register(inner: &Rc<InstanceInner>) {
    // SAFETY: the header lives in `inner`, which the runtime pointer designates for as long as
    // the vmctx exists. The vmctx stays valid until `InstanceInner::drop` unregisters it.
    unsafe {
        (*inner.vmctx.get()).runtime = Rc::as_ptr(inner).cast();
        live_instances::register_vmctx(inner.vmctx.get());
    }
    inner.funcrefs.register(Rc::downgrade(inner));

    // Whoever may receive our function references keeps us alive.
    let me = Owner::Instance(inner.clone());
    let counts = inner.module.file().module();
    for table in &inner.tables[..counts.imported_tables as usize] {
        if table.inner.element_type() == ValType::FuncRef {
            table.inner.keep_alive(me.clone());
        }
    }
    for global in &inner.globals[..counts.imported_globals as usize] {
        let ty = global.inner.ty();
        if ty.mutable && ty.content == ValType::FuncRef {
            global.inner.keep_alive(me.clone());
        }
    }
    for f in &inner.imported_funcs {
        if f.as_host().is_none()
            && f.ty().params.contains(&ValType::FuncRef)
            && let Owner::Instance(exporter) = f.owner()
        {
            exporter.keep_alive(me.clone());
        }
    }
}

/// Applies the active element segments, then the active data segments, then runs the start
/// function.
fn initialize(inner: &Rc<InstanceInner>) -> Result<(), InstantiationError> {
    let module = inner.module.clone();
    let file = module.file();
    for (index, e) in file.elements().iter().enumerate() {
        match e.placement {
            SegmentPlacement::Active {
                index: table,
                offset,
            } => {
                let offset = inner.offset_value(offset);
                let len = u32::try_from(e.items.len()).unwrap_or(u32::MAX);
                let result = offset
                    .ok_or(TrapCode::TableOutOfBounds)
                    .and_then(|dst| inner.table_init(table, index as u32, dst, 0, len));
                inner.elem_drop(index as u32);
                result.map_err(|code| Trap::new(code, None))?;
            }
            SegmentPlacement::Declared => inner.elem_drop(index as u32),
            SegmentPlacement::Passive => {}
        }
    }
    for (index, d) in file.data_segments().iter().enumerate() {
        if let SegmentPlacement::Active {
            index: memory,
            offset,
        } = d.placement
        {
            let offset = inner.offset_value(offset);
            let len = u32::try_from(d.bytes.len()).unwrap_or(u32::MAX);
            let result = offset
                .ok_or(TrapCode::MemoryOutOfBounds)
                .and_then(|dst| inner.memory_init(memory, index as u32, dst, 0, len));
            inner.data_drop(index as u32);
            result.map_err(|code| Trap::new(code, None))?;
        }
    }
    if let Some(start) = file.start_function() {
        let Some(func) = InstanceInner::func(inner, start) else {
            return Err(Trap::new(
                TrapCode::HostError,
                Some(format!("no start function {start}")),
            )
            .into());
        };
        func.call(&[])?;
    }
    Ok(())
}

/// The pointer-sized value at the start of a slot.
fn usize_of(raw: ValRaw) -> usize {
    let mut bytes = [0u8; size_of::<usize>()];
    bytes.copy_from_slice(&raw.0[..size_of::<usize>()]);
    usize::from_ne_bytes(bytes)
}

/// The value of a constant expression (globals as built so far); an error when it refers to a
/// function whose record is damaged.
fn const_raw(
    value: ConstValue,
    globals: &[Global],
    funcrefs: &FuncRefs,
) -> Result<ValRaw, ReadError> {
    let mut raw = ValRaw::default();
    match value {
        ConstValue::None | ConstValue::RefNull(_) => {}
        ConstValue::I32(v) => raw.0[..4].copy_from_slice(&v.to_ne_bytes()),
        ConstValue::I64(v) => raw.0[..8].copy_from_slice(&v.to_ne_bytes()),
        ConstValue::F32(v) => raw.0[..4].copy_from_slice(&v.to_ne_bytes()),
        ConstValue::F64(v) => raw.0[..8].copy_from_slice(&v.to_ne_bytes()),
        ConstValue::V128(v) => raw.0 = v.to_ne_bytes(),
        ConstValue::GlobalGet(g) => {
            if let Some(g) = globals.get(g as usize) {
                raw = g.inner.raw();
            }
        }
        ConstValue::RefFunc(f) => {
            let address = funcrefs.get(f)? as usize;
            raw.0[..size_of::<usize>()].copy_from_slice(&address.to_ne_bytes());
        }
    }
    Ok(raw)
}

impl InstanceInner {
    /// The instance a vmctx belongs to.
    ///
    /// # Safety
    /// `vmctx` must be the vmctx of a live instance (as passed by compiled code to a builtin).
    pub(crate) unsafe fn from_vmctx<'a>(vmctx: *mut VmctxHeader) -> &'a InstanceInner {
        // SAFETY: guaranteed by the caller; `runtime` was set to the instance at creation.
        unsafe { &*(*vmctx).runtime.cast::<InstanceInner>() }
    }

    /// The function with index `index` (an imported function is returned as given).
    pub(crate) fn func(this: &Rc<InstanceInner>, index: u32) -> Option<Func> {
        let i = index as usize;
        if let Some(f) = this.imported_funcs.get(i) {
            return Some(f.clone());
        }
        (i < this.module.file().functions().len()).then(|| Func::from_instance(this.clone(), index))
    }

    /// The `FuncRef` of function `index` (a defined one's built on first use; an error when its
    /// record is damaged), valid as long as the instance.
    pub(crate) fn funcref(&self, index: u32) -> Result<*const FuncRef, ReadError> {
        self.funcrefs.get(index)
    }

    /// The type of function `index`.
    pub(crate) fn func_type(&self, index: u32) -> &FuncType {
        let m = &self.module.inner;
        m.func_type(m.func_type_index(index))
    }

    /// The module's name, for messages.
    pub(crate) fn name(&self) -> &str {
        self.module.inner.name()
    }

    /// The native stack settings and measurement.
    pub(crate) fn wasm_stack(&self) -> &WasmStack {
        &self.stack
    }

    /// Keeps `owner` alive as long as this instance.
    pub(crate) fn keep_alive(&self, owner: Owner) {
        if let Owner::Instance(i) = &owner
            && std::ptr::eq(Rc::as_ptr(i), self)
        {
            return;
        }
        let mut list = self.keepalive.borrow_mut();
        if !list.iter().any(|o| o.same(&owner)) {
            list.push(owner);
        }
    }

    /// The export of `kind` and `index` as a handle.
    fn extern_at(self: &Rc<Self>, kind: ExternKind, index: u32) -> Option<Extern> {
        let i = index as usize;
        let counts = self.module.file().module();
        Some(match kind {
            ExternKind::Func => Extern::Func(InstanceInner::func(self, index)?),
            ExternKind::Memory => Extern::Memory(self.memories.get(i)?.clone()),
            ExternKind::Table => {
                let t = self.tables.get(i)?;
                Extern::Table(if i < counts.imported_tables as usize {
                    t.clone()
                } else {
                    Table {
                        inner: t.inner.clone(),
                        _owner: Some(self.clone()),
                    }
                })
            }
            ExternKind::Global => {
                let g = self.globals.get(i)?;
                Extern::Global(if i < counts.imported_globals as usize {
                    g.clone()
                } else {
                    Global {
                        inner: g.inner.clone(),
                        _owner: Some(self.clone()),
                    }
                })
            }
        })
    }

    /// The value of a segment offset expression, as an unsigned 32-bit offset.
    fn offset_value(&self, offset: ConstValue) -> Option<u32> {
        match offset {
            ConstValue::I32(v) => Some(v as u32),
            ConstValue::I64(v) => u32::try_from(v).ok(),
            ConstValue::GlobalGet(g) => {
                let global = self.globals.get(g as usize)?;
                let raw = global.inner.raw();
                match global.inner.ty() {
                    GlobalType {
                        content: ValType::I32,
                        ..
                    } => Some(u32::from_ne_bytes([raw.0[0], raw.0[1], raw.0[2], raw.0[3]])),
                    GlobalType {
                        content: ValType::I64,
                        ..
                    } => u32::try_from(usize_of(raw)).ok(),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    // ---- runtime helpers (called through the builtin table) ----

    /// `memory.grow`: the old size in pages, or -1.
    pub(crate) fn memory_grow(&self, index: u32, delta: u32) -> i32 {
        match self.memories.get(index as usize) {
            Some(m) => m.inner.grow(delta.into()).map_or(-1, |old| old as i32),
            None => -1,
        }
    }

    /// `memory.fill`.
    pub(crate) fn memory_fill(
        &self,
        index: u32,
        dst: u32,
        value: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let memory = self
            .memories
            .get(index as usize)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        let ptr = memory
            .inner
            .checked_ptr(dst as usize, len as usize)
            .map_err(|_| TrapCode::MemoryOutOfBounds)?;
        // SAFETY: `[ptr, ptr + len)` is within the memory's current size (checked).
        unsafe { std::ptr::write_bytes(ptr, value as u8, len as usize) };
        Ok(())
    }

    /// `memory.copy` (overlapping ranges allowed).
    pub(crate) fn memory_copy(
        &self,
        dst_mem: u32,
        src_mem: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let d = self
            .memories
            .get(dst_mem as usize)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        let s = self
            .memories
            .get(src_mem as usize)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        let to = d
            .inner
            .checked_ptr(dst as usize, len as usize)
            .map_err(|_| TrapCode::MemoryOutOfBounds)?;
        let from = s
            .inner
            .checked_ptr(src as usize, len as usize)
            .map_err(|_| TrapCode::MemoryOutOfBounds)?;
        // SAFETY: both ranges are within their memories (checked); `copy` allows overlap.
        unsafe { std::ptr::copy(from, to, len as usize) };
        Ok(())
    }

    /// `memory.init` from data segment `seg`.
    pub(crate) fn memory_init(
        &self,
        index: u32,
        seg: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let file = self.module.file();
        let bytes = match (
            file.data_segments().get(seg as usize),
            self.data_dropped.get(seg as usize),
        ) {
            (Some(d), Some(dropped)) if !dropped.get() => d.bytes,
            (Some(_), Some(_)) => &[],
            _ => return Err(TrapCode::MemoryOutOfBounds),
        };
        let source = (src as usize)
            .checked_add(len as usize)
            .and_then(|end| bytes.get(src as usize..end))
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        let memory = self
            .memories
            .get(index as usize)
            .ok_or(TrapCode::MemoryOutOfBounds)?;
        let to = memory
            .inner
            .checked_ptr(dst as usize, len as usize)
            .map_err(|_| TrapCode::MemoryOutOfBounds)?;
        // SAFETY: the destination is within the memory (checked); the source is the file's
        // bytes, which never overlap a linear memory.
        unsafe { std::ptr::copy_nonoverlapping(source.as_ptr(), to, source.len()) };
        Ok(())
    }

    /// `data.drop`.
    pub(crate) fn data_drop(&self, seg: u32) {
        if let Some(d) = self.data_dropped.get(seg as usize) {
            d.set(true);
        }
    }

    fn table(&self, index: u32) -> Result<&TableInner, TrapCode> {
        self.tables
            .get(index as usize)
            .map(|t| &*t.inner)
            .ok_or(TrapCode::TableOutOfBounds)
    }

    /// `table.grow`: the old size, or -1.
    pub(crate) fn table_grow(&self, index: u32, init: usize, delta: u32) -> i32 {
        match self.table(index) {
            Ok(t) => t.grow(delta, init).map_or(-1, |old| old as i32),
            Err(_) => -1,
        }
    }

    /// `table.fill`.
    pub(crate) fn table_fill(
        &self,
        index: u32,
        dst: u32,
        value: usize,
        len: u32,
    ) -> Result<(), TrapCode> {
        let table = self.table(index)?;
        if u64::from(dst) + u64::from(len) > u64::from(table.len()) {
            return Err(TrapCode::TableOutOfBounds);
        }
        table.fill(dst, value, len);
        Ok(())
    }

    /// `table.copy` (overlapping ranges allowed).
    pub(crate) fn table_copy(
        &self,
        dst_table: u32,
        src_table: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let d = self.table(dst_table)?;
        let s = self.table(src_table)?;
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        if dst + len > d.len() as usize || src + len > s.len() as usize {
            return Err(TrapCode::TableOutOfBounds);
        }
        if std::ptr::eq(d, s) {
            // SAFETY: single-threaded; no other reference to the elements is live.
            unsafe { d.elements_mut() }.copy_within(src..src + len, dst);
        } else {
            // SAFETY: two distinct tables; no other reference to their elements is live.
            let (to, from) = unsafe { (d.elements_mut(), s.elements_mut()) };
            to[dst..dst + len].copy_from_slice(&from[src..src + len]);
        }
        Ok(())
    }

    /// `table.init` from element segment `seg`.
    pub(crate) fn table_init(
        &self,
        index: u32,
        seg: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let items = self
            .elements
            .borrow()
            .get(seg as usize)
            .cloned()
            .ok_or(TrapCode::TableOutOfBounds)?;
        let table = self.table(index)?;
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        if src + len > items.len() || dst + len > table.len() as usize {
            return Err(TrapCode::TableOutOfBounds);
        }
        // SAFETY: single-threaded; no other reference to the elements is live.
        let elements = unsafe { table.elements_mut() };
        elements[dst..dst + len].copy_from_slice(&items[src..src + len]);
        Ok(())
    }

    /// `elem.drop`.
    pub(crate) fn elem_drop(&self, seg: u32) {
        if let Some(items) = self.elements.borrow_mut().get_mut(seg as usize) {
            *items = Rc::from(Vec::new());
        }
    }
}

impl Instance {
    /// Calls the exported function `name` with `args`.
    pub fn call(&self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let Some(f) = self.get_func(name) else {
            return Err(Trap::new(
                TrapCode::HostError,
                Some(format!("no exported function `{name}`")),
            ));
        };
        f.call(args)
    }
}

impl Instance {
    /// The deepest native stack use of this instance's outermost calls so far, in bytes below
    /// the entry (exact to the word written deepest), when [`InstanceConfig::measure_stack`]
    /// is set.
    pub fn peak_wasm_stack(&self) -> Option<usize> {
        self.inner.stack.peak()
    }

    /// The most native stack wasm may use, in bytes ([`InstanceConfig::max_wasm_stack`]).
    pub fn max_wasm_stack(&self) -> usize {
        self.inner.stack.max()
    }

    /// Allocates `size` bytes in linear memory 0 for the host (WAMR's
    /// `wasm_runtime_module_malloc`): through the module's exported `malloc` (or
    /// `cabi_realloc`), else from the runtime's app heap ([`InstanceConfig::app_heap_size`]).
    /// Returns the offset of the bytes in memory 0.
    pub fn module_malloc(&self, size: u32) -> Result<u32, AppHeapError> {
        let state = &self.inner.app_heap;
        let ptr = match &state.heap {
            AppHeap::None(reason) => {
                return Err(AppHeapError::NoAllocator {
                    module: self.inner.module.name().to_owned(),
                    reason: reason.clone(),
                });
            }
            AppHeap::Runtime(alloc) => state.runtime_alloc(alloc, size)?,
            AppHeap::Exported { malloc, free } => {
                let args = match free {
                    Some(_) => vec![Val::I32(size as i32)],
                    None => [0, 0, 16, size as i32].map(Val::I32).to_vec(),
                };
                let results = self.call_index(*malloc, &args)?;
                match results.first() {
                    Some(Val::I32(0)) | None => {
                        return Err(AppHeapError::Exhausted {
                            requested: size,
                            size: 0,
                            in_use: state.usage().map_or(0, |u| u.in_use),
                        });
                    }
                    Some(Val::I32(ptr)) => *ptr as u32,
                    Some(_) => {
                        return Err(AppHeapError::Trap(Trap::new(
                            TrapCode::HostError,
                            Some("the allocator returned a non-i32".to_owned()),
                        )));
                    }
                }
            }
        };
        state.note_alloc(ptr, size);
        Ok(ptr)
    }

    /// Frees what [`Instance::module_malloc`] returned (WAMR's `wasm_runtime_module_free`).
    /// With `cabi_realloc`, which cannot free, the bytes stay allocated.
    pub fn module_free(&self, ptr: u32) -> Result<(), AppHeapError> {
        let state = &self.inner.app_heap;
        let size = state.note_free(ptr)?;
        match &state.heap {
            AppHeap::Runtime(alloc) => AppHeapState::runtime_free(alloc, ptr, size),
            AppHeap::Exported {
                free: Some(free), ..
            } => {
                self.call_index(*free, &[Val::I32(ptr as i32)])?;
            }
            AppHeap::Exported { free: None, .. } | AppHeap::None(_) => {}
        }
        Ok(())
    }

    /// What the instance occupies, with its module's figures: runtime structures, each linear
    /// memory and table, the app heap, the native stack.
    pub fn memory_report(&self) -> InstanceMemoryReport {
        let inner = &*self.inner;
        let elements: usize = inner
            .elements
            .borrow()
            .iter()
            .map(|e| size_of_val(&**e))
            .sum();
        let globals = inner.globals.len() - inner.module.file().module().imported_globals as usize;
        let funcref_bytes = inner.funcrefs.heap_bytes();
        let global_bytes = globals * (size_of::<GlobalSlot>() + size_of::<GlobalInner>());
        let heap_bytes = size_of::<InstanceInner>()
            + size_of::<VmctxHeader>()
            + funcref_bytes
            + inner.imported_funcs.capacity() * size_of::<Func>()
            + inner.memories.capacity() * size_of::<Memory>()
            + inner.tables.capacity() * size_of::<Table>()
            + inner.globals.capacity() * size_of::<Global>()
            + global_bytes
            + size_of_val(&*inner.global_ptrs)
            + size_of_val(&*inner.table_ptrs)
            + size_of_val(&*inner.data_dropped)
            + elements;
        InstanceMemoryReport {
            module: inner.module.memory_report(),
            vmctx_bytes: size_of::<VmctxHeader>() as u64,
            heap_bytes: heap_bytes as u64,
            funcref_bytes: funcref_bytes as u64,
            global_bytes: global_bytes as u64,
            memories: inner.memories.iter().map(Memory::usage).collect(),
            tables: inner
                .tables
                .iter()
                .map(|t| TableUsage {
                    elements: u64::from(t.size()),
                    bytes: u64::from(t.size()) * size_of::<usize>() as u64,
                })
                .collect(),
            app_heap: inner.app_heap.usage(),
            max_stack: inner.stack.max() as u64,
            peak_stack: inner.stack.peak().map(|p| p as u64),
        }
    }

    /// The app heap's figures, when it has one.
    pub fn app_heap_usage(&self) -> Option<AppHeapUsage> {
        self.inner.app_heap.usage()
    }

    fn call_index(&self, index: u32, args: &[Val]) -> Result<Vec<Val>, AppHeapError> {
        let func = InstanceInner::func(&self.inner, index).ok_or_else(|| {
            AppHeapError::Trap(Trap::new(
                TrapCode::HostError,
                Some(format!("no function {index}")),
            ))
        })?;
        func.call(args).map_err(AppHeapError::Trap)
    }
}
