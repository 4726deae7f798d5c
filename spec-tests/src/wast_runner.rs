//! Runs one `.wast` file in one mode: every directive kind, with a fresh store per file.

use std::collections::HashMap;

use aotc_loader::{
    Extern, Instance, InstantiationError, LoadOptions, Memory, Module, Table, Trap, TrapCode, Val,
};
use aotc_pipeline::PipelineError;
use aotc_translate::{CompileError, CompileOptions};
use wast::core::Module as WatModule;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::spectest_host;
use crate::suite::{Mode, Settings, SuiteFile, Totals};
use crate::values;

/// Most failures listed in one trial's message.
const MAX_REPORTED: usize = 25;

/// Runs `file` in `mode`; `Err` lists the failed directives with their lines.
pub fn run_file(
    file: &SuiteFile,
    mode: Mode,
    settings: &Settings,
    totals: &Totals,
) -> Result<(), String> {
    let text = file.text()?;
    let mut lexer = Lexer::new(&text);
    lexer.allow_confusing_unicode(true);
    let describe = |mut e: wast::Error| {
        e.set_path(&file.location());
        e.set_text(&text);
        e.to_string()
    };
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(describe)?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(describe)?;

    let mut runner = Runner::new(mode, settings)?;
    let mut failures = Vec::new();
    for directive in wast.directives {
        let (line, _) = directive.span().linecol_in(&text);
        if let Err(msg) = runner.directive(directive) {
            failures.push(format!("{}:{}: {msg}", file.name(), line + 1));
        }
    }
    totals.add(mode, runner.assertions, runner.modules, runner.relocations);
    if failures.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "{} of {} directives failed:\n",
        failures.len(),
        runner.directives
    );
    for f in failures.iter().take(MAX_REPORTED) {
        msg.push_str("  ");
        msg.push_str(f);
        msg.push('\n');
    }
    if failures.len() > MAX_REPORTED {
        msg.push_str(&format!(
            "  ... and {} more\n",
            failures.len() - MAX_REPORTED
        ));
    }
    Err(msg)
}

/// Why a module did not compile.
enum CompileFailure {
    /// Rejected by validation or decoding (what assert_invalid / assert_malformed expect).
    Rejected(String),
    /// Anything else: a gap in aotc.
    Other(String),
}

impl CompileFailure {
    fn message(self) -> String {
        match self {
            CompileFailure::Rejected(m) => format!("rejected: {m}"),
            CompileFailure::Other(m) => m,
        }
    }
}

struct Runner<'s> {
    mode: Mode,
    settings: &'s Settings,
    opts: CompileOptions,
    current: Option<Instance>,
    named: HashMap<String, Instance>,
    registered: HashMap<String, Instance>,
    spectest: (Memory, Table),
    directives: u64,
    assertions: u64,
    modules: u64,
    relocations: u64,
}

fn module_name(qw: &QuoteWat<'_>) -> Option<String> {
    match qw {
        QuoteWat::Wat(Wat::Module(WatModule { id: Some(id), .. })) => Some(id.name().to_string()),
        _ => None,
    }
}

/// Whether a trap matches the message a spec test expects.
fn trap_matches(trap: &Trap, expected: &str) -> bool {
    let ours = trap.code.message();
    expected.contains(ours) || ours.contains(expected)
}

impl<'s> Runner<'s> {
    fn new(mode: Mode, settings: &'s Settings) -> Result<Self, String> {
        let opts = mode.options(settings).map_err(|e| e.to_string())?;
        if Some(opts.arch) != aotc_abi::Arch::host() && !settings.compile_only {
            return Err(format!(
                "--target {} is not this machine: add --compile-only",
                opts.arch.name()
            ));
        }
        Ok(Runner {
            mode,
            settings,
            opts,
            current: None,
            named: HashMap::new(),
            registered: HashMap::new(),
            spectest: spectest_host::shared_objects()?,
            directives: 0,
            assertions: 0,
            modules: 0,
            relocations: 0,
        })
    }

    /// Compiles wasm; `Ok(None)` in compile-only mode.
    fn compile(&mut self, wasm: &[u8]) -> Result<Option<Module>, CompileFailure> {
        let compiled = match aotc_pipeline::compile(&self.opts, wasm) {
            Ok(compiled) => compiled,
            Err(e @ PipelineError::Compile(CompileError::Wasm { .. })) => {
                return Err(CompileFailure::Rejected(e.to_string()));
            }
            Err(e) => return Err(CompileFailure::Other(format!("compile error: {e}"))),
        };
        let relocs = &compiled.module().relocs;
        self.modules += 1;
        self.relocations += relocs.len() as u64;
        if self.mode == Mode::Xip && !relocs.is_empty() {
            return Err(CompileFailure::Other(format!(
                "XIP module has {} relocation(s): {:?}",
                relocs.len(),
                relocs[0]
            )));
        }
        let file = compiled
            .write()
            .map_err(|e| CompileFailure::Other(e.to_string()))?;
        if self.settings.compile_only {
            return Ok(None);
        }
        let module = file
            .load(&LoadOptions::default())
            .map_err(|e| CompileFailure::Other(e.to_string()))?;
        Ok(Some(module))
    }

    fn imports(&self, module: &Module) -> Result<Vec<Extern>, String> {
        let mut out = Vec::new();
        for (m, name, _) in module.imports() {
            let found = if m == "spectest" {
                spectest_host::lookup(name, &self.spectest.0, &self.spectest.1)
            } else {
                self.registered.get(m).and_then(|i| i.get_export(name))
            };
            out.push(found.ok_or_else(|| format!("unknown import `{m}`.`{name}`"))?);
        }
        Ok(out)
    }

    fn instantiate(&self, module: &Module) -> Result<Instance, InstanceFailure> {
        let imports = self.imports(module).map_err(InstanceFailure::Link)?;
        Instance::new(module, &imports).map_err(|e| match e {
            InstantiationError::Trap(t) => InstanceFailure::Trap(t),
            InstantiationError::Link { .. } => InstanceFailure::Link(e.to_string()),
            other => InstanceFailure::Other(other.to_string()),
        })
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<&Instance, String> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .ok_or_else(|| format!("no module named ${}", id.name())),
            None => self
                .current
                .as_ref()
                .ok_or_else(|| "no current module".to_string()),
        }
    }

    fn invoke(&self, inv: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Trap>, String> {
        let instance = self.instance(inv.module)?;
        let func = instance
            .get_func(inv.name)
            .ok_or_else(|| format!("no exported function {:?}", inv.name))?;
        let args = inv
            .args
            .iter()
            .map(values::arg)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(func.call(&args))
    }

    /// Runs an action; the outer error is a harness-level failure, the inner one a trap.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>, Trap>, String> {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(&inv),
            WastExecute::Get { module, global, .. } => {
                let g = self
                    .instance(module)?
                    .get_global(global)
                    .ok_or_else(|| format!("no exported global {global:?}"))?;
                Ok(Ok(vec![g.get()]))
            }
            WastExecute::Wat(mut wat) => {
                let wasm = wat
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let Some(module) = self.compile(&wasm).map_err(CompileFailure::message)? else {
                    return Ok(Ok(Vec::new()));
                };
                match self.instantiate(&module) {
                    Ok(_) => Ok(Ok(Vec::new())),
                    Err(InstanceFailure::Trap(t)) => Ok(Err(t)),
                    Err(InstanceFailure::Link(m) | InstanceFailure::Other(m)) => Err(m),
                }
            }
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<(), String> {
        self.directives += 1;
        let running = !self.settings.compile_only;
        match directive {
            WastDirective::Module(mut qw) | WastDirective::ModuleDefinition(mut qw) => {
                let name = module_name(&qw);
                let wasm = qw
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let Some(module) = self.compile(&wasm).map_err(CompileFailure::message)? else {
                    return Ok(());
                };
                let instance = self.instantiate(&module).map_err(|e| e.message())?;
                if let Some(name) = name {
                    self.named.insert(name, instance.clone());
                }
                self.current = Some(instance);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                if !running {
                    return Ok(());
                }
                let instance = self.instance(module)?.clone();
                self.registered.insert(name.to_string(), instance);
                Ok(())
            }
            WastDirective::Invoke(inv) => {
                if !running {
                    return Ok(());
                }
                self.invoke(&inv)?
                    .map(|_| ())
                    .map_err(|t| format!("unexpected trap: {t}"))
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                if !running {
                    return self.compile_only_exec(exec);
                }
                self.assertions += 1;
                match self.execute(exec)? {
                    Ok(actual) => values::check_results(&results, &actual),
                    Err(t) => Err(format!("unexpected trap: {t}")),
                }
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                if !running {
                    return self.compile_only_exec(exec);
                }
                self.assertions += 1;
                match self.execute(exec)? {
                    Ok(v) => Err(format!("expected trap {message:?}, got {v:?}")),
                    Err(t) if trap_matches(&t, message) => Ok(()),
                    Err(t) => Err(format!("expected trap {message:?}, got {t}")),
                }
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                if !running {
                    return Ok(());
                }
                self.assertions += 1;
                match self.invoke(&call)? {
                    Ok(v) => Err(format!("expected exhaustion {message:?}, got {v:?}")),
                    Err(t) if t.code == TrapCode::StackOverflow => Ok(()),
                    Err(t) => Err(format!("expected exhaustion {message:?}, got {t}")),
                }
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                self.assertions += u64::from(running);
                let wasm = module
                    .encode()
                    .map_err(|e| format!("assert_invalid module does not encode: {e}"))?;
                self.expect_rejected(&wasm, "invalid", message)
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                self.assertions += u64::from(running);
                // Text that does not parse is malformed: the text parser rejected it.
                match module.encode() {
                    Ok(wasm) => self.expect_rejected(&wasm, "malformed", message),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                self.assertions += u64::from(running);
                let wasm = module
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let Some(module) = self.compile(&wasm).map_err(CompileFailure::message)? else {
                    return Ok(());
                };
                match self.instantiate(&module) {
                    Err(InstanceFailure::Link(_)) => Ok(()),
                    Err(e) => Err(format!(
                        "expected unlinkable ({message}), got: {}",
                        e.message()
                    )),
                    Ok(_) => Err(format!(
                        "expected unlinkable ({message}), but it instantiated"
                    )),
                }
            }
            other => Err(format!("unsupported directive {other:?}")),
        }
    }

    /// `wasm` must be rejected by decoding or validation.
    fn expect_rejected(&mut self, wasm: &[u8], what: &str, message: &str) -> Result<(), String> {
        match self.compile(wasm) {
            Err(CompileFailure::Rejected(_)) => Ok(()),
            Err(CompileFailure::Other(m)) => Err(format!("expected {what} ({message}), got: {m}")),
            Ok(_) => Err(format!(
                "expected {what} ({message}), but the module compiled"
            )),
        }
    }

    /// In compile-only mode, an action that is a module still has to compile.
    fn compile_only_exec(&mut self, exec: WastExecute<'_>) -> Result<(), String> {
        if let WastExecute::Wat(mut wat) = exec {
            let wasm = wat
                .encode()
                .map_err(|e| format!("cannot encode module: {e}"))?;
            self.compile(&wasm).map_err(CompileFailure::message)?;
        }
        Ok(())
    }
}

enum InstanceFailure {
    Link(String),
    Trap(Trap),
    Other(String),
}

impl InstanceFailure {
    fn message(self) -> String {
        match self {
            InstanceFailure::Link(m) | InstanceFailure::Other(m) => m,
            InstanceFailure::Trap(t) => format!("trap during instantiation: {t}"),
        }
    }
}
