//! Runs one `.wast` file in one mode: compiles every module of the file through the pipeline
//! into a plan (`aotc_spec_exec::plan`: one step a directive; `assert_invalid` and
//! `assert_malformed` are checked here, by compiling), then either executes the plan here with
//! the loader (`aotc_spec_exec::exec`, a fresh store per file) or writes it, with the AOT files
//! of its modules, for `aotc-spec-exec` to execute on the target.

use std::collections::HashMap;
use std::path::Path;

use aotc_loader::LoadOptions;
use aotc_pipeline::{CompiledFile, PipelineError};
use aotc_spec_exec::exec;
use aotc_spec_exec::plan::{Action, Plan, Step, StepKind};
use aotc_translate::{CompileError, CompileOptions};
use wast::core::Module as WatModule;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::suite::{Mode, Settings, SuiteFile, Totals};
use crate::values;

/// What is done with a file's plan once compiled.
#[derive(Copy, Clone, Debug)]
pub enum Run<'a> {
    /// Nothing: only compile (`--compile-only`).
    CompileOnly,
    /// Execute it here.
    Execute,
    /// Write it under this folder (`<mode>/<file>.plan` and `<mode>/<file>/<n>.aot`) for
    /// `aotc-spec-exec`, which reports its failures.
    WritePlan(&'a Path),
}

/// Runs `file` in `mode`; `Err` lists the failed directives with their lines.
pub fn run_file(
    file: &SuiteFile,
    mode: Mode,
    settings: &Settings,
    run: Run<'_>,
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

    let source = file.name().to_owned();
    let stem = source.strip_suffix(".wast").unwrap_or(&source).to_owned();
    let mut builder = PlanBuilder::new(mode, settings, &stem, run)?;
    let mut steps = Vec::new();
    for directive in wast.directives {
        let (line, _) = directive.span().linecol_in(&text);
        let kind = builder.step(directive);
        steps.push(Step {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            kind,
        });
    }
    let plan = Plan {
        source,
        mode: mode.name().to_owned(),
        steps,
    };
    let (modules, relocations) = (builder.modules, builder.relocations);
    match run {
        Run::CompileOnly => {
            totals.add(mode, 0, modules, relocations);
            host_failures(&plan).report()
        }
        Run::WritePlan(dir) => {
            totals.add(mode, 0, modules, relocations);
            write_plan(&dir.join(mode.name()), &stem, &plan, &builder.files)
        }
        Run::Execute => {
            let files: HashMap<String, CompiledFile> = builder.files.into_iter().collect();
            // Prelinked modules run from their files, mapped at their addresses.
            let dir = if mode == Mode::Prelinked {
                Some(tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?)
            } else {
                None
            };
            let mut load = |name: &str| {
                let file = files
                    .get(name)
                    .ok_or_else(|| format!("no compiled module {name}"))?;
                match &dir {
                    None => file.load(&LoadOptions::default()),
                    Some(dir) => file.load_from(&dir.path().join(name.replace('/', "_"))),
                }
                .map_err(|e| e.to_string())
                .and_then(|module| check_prelinked_in_place(name, module))
            };
            let outcome = exec::run(&plan, &mut load)?;
            totals.add(mode, outcome.assertions, modules, relocations);
            outcome.report()
        }
    }
}

/// A prelinked module must run from its file, mapped at its base address.
fn check_prelinked_in_place(
    name: &str,
    module: aotc_loader::Module,
) -> Result<aotc_loader::Module, String> {
    let base = module.file().prelink_base();
    let at = module.text().as_ptr() as u64;
    if module.is_prelinked()
        && !module.text().is_empty()
        && (!module.is_text_mapped_from_file() || at != base)
    {
        return Err(format!(
            "{name}: prelinked for {base:#x} but its text is at {at:#x}, mapped from the file: {}",
            module.is_text_mapped_from_file()
        ));
    }
    Ok(module)
}

/// The failures found while compiling: what a plan reports without being executed.
fn host_failures(plan: &Plan) -> exec::Outcome {
    let failures = plan
        .steps
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Checked { failure: Some(m) } | StepKind::Failed { message: m } => {
                Some(format!("{}:{}: {m}", plan.source, step.line))
            }
            _ => None,
        })
        .collect();
    exec::Outcome {
        assertions: 0,
        directives: plan.steps.len() as u64,
        failures,
    }
}

/// Writes `plan` as `<dir>/<stem>.plan` and its modules beside it.
fn write_plan(
    dir: &Path,
    stem: &str,
    plan: &Plan,
    files: &[(String, CompiledFile)],
) -> Result<(), String> {
    let write = |path: &Path, bytes: &[u8]| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    for (name, file) in files {
        write(&dir.join(name), file.bytes())?;
    }
    let plan_path = dir.join(format!("{stem}.{}", aotc_spec_exec::plan::EXTENSION));
    write(&plan_path, plan.to_string().as_bytes())
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

/// Compiles a file's modules and turns its directives into plan steps.
struct PlanBuilder<'s> {
    mode: Mode,
    opts: CompileOptions,
    /// Names the module files `<stem>/<n>.aot`.
    stem: &'s str,
    /// The compiled modules, by file name.
    files: Vec<(String, CompiledFile)>,
    /// Modules compiled, and their relocations.
    modules: u64,
    relocations: u64,
}

fn module_name(qw: &QuoteWat<'_>) -> Option<String> {
    match qw {
        QuoteWat::Wat(Wat::Module(WatModule { id: Some(id), .. })) => Some(id.name().to_string()),
        _ => None,
    }
}

fn invoke(inv: &WastInvoke<'_>) -> Result<Action, String> {
    Ok(Action::Invoke {
        instance: inv.module.map(|id| id.name().to_owned()),
        func: inv.name.to_owned(),
        args: inv
            .args
            .iter()
            .map(values::arg)
            .collect::<Result<Vec<_>, _>>()?,
    })
}

/// An assertion's step, or the assertion failed on the host with the error's message.
fn assertion(step: Result<StepKind, String>) -> StepKind {
    step.unwrap_or_else(|failure| StepKind::Checked {
        failure: Some(failure),
    })
}

/// A directive's step, or the directive failed on the host with the error's message.
fn directive(step: Result<StepKind, String>) -> StepKind {
    step.unwrap_or_else(|message| StepKind::Failed { message })
}

impl<'s> PlanBuilder<'s> {
    fn new(mode: Mode, settings: &Settings, stem: &'s str, run: Run<'_>) -> Result<Self, String> {
        let opts = mode.options(settings).map_err(|e| e.to_string())?;
        if Some(opts.arch) != aotc_abi::Arch::host() && matches!(run, Run::Execute) {
            return Err(format!(
                "--target {} is not this machine: add --compile-only, or --write-plan DIR to \
                 execute the plan with aotc-spec-exec there",
                opts.arch.name()
            ));
        }
        if mode == Mode::Prelinked && matches!(run, Run::WritePlan(_)) {
            return Err(
                "prelinked mode is for this process's builtin addresses: it runs here, not \
                 through --write-plan"
                    .to_owned(),
            );
        }
        Ok(PlanBuilder {
            mode,
            opts,
            stem,
            files: Vec::new(),
            modules: 0,
            relocations: 0,
        })
    }

    /// Compiles wasm, checks an XIP module has no relocation, and keeps the file: its name.
    fn compile(&mut self, wasm: &[u8]) -> Result<String, CompileFailure> {
        if let Some(prelink) = &mut self.opts.prelink {
            prelink.base = crate::suite::next_prelink_base();
        }
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
        let name = format!("{}/{}.aot", self.stem, self.files.len());
        self.files.push((name.clone(), file));
        Ok(name)
    }

    /// Compiles a module the plan instantiates, once encoded: its file name.
    fn compile_encoded(&mut self, wasm: Result<Vec<u8>, wast::Error>) -> Result<String, String> {
        let wasm = wasm.map_err(|e| format!("cannot encode module: {e}"))?;
        self.compile(&wasm).map_err(CompileFailure::message)
    }

    fn action(&mut self, exec: WastExecute<'_>) -> Result<Action, String> {
        match exec {
            WastExecute::Invoke(inv) => invoke(&inv),
            WastExecute::Get { module, global, .. } => Ok(Action::Get {
                instance: module.map(|id| id.name().to_owned()),
                global: global.to_owned(),
            }),
            WastExecute::Wat(mut wat) => Ok(Action::Instantiate {
                file: self.compile_encoded(wat.encode())?,
            }),
        }
    }

    fn step(&mut self, d: WastDirective<'_>) -> StepKind {
        match d {
            WastDirective::Module(mut qw) | WastDirective::ModuleDefinition(mut qw) => {
                let name = module_name(&qw);
                directive(
                    self.compile_encoded(qw.encode())
                        .map(|file| StepKind::Module { file, name }),
                )
            }
            WastDirective::Register { name, module, .. } => StepKind::Register {
                as_name: name.to_owned(),
                instance: module.map(|id| id.name().to_owned()),
            },
            WastDirective::Invoke(inv) => directive(invoke(&inv).map(StepKind::Action)),
            WastDirective::AssertReturn { exec, results, .. } => assertion((|| {
                let results = results
                    .iter()
                    .map(values::expected)
                    .collect::<Result<_, _>>()?;
                let action = self.action(exec)?;
                Ok(StepKind::AssertReturn { action, results })
            })()),
            WastDirective::AssertTrap { exec, message, .. } => {
                assertion(self.action(exec).map(|action| StepKind::AssertTrap {
                    action,
                    message: message.to_owned(),
                }))
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                assertion(invoke(&call).map(|action| StepKind::AssertExhaustion {
                    action,
                    message: message.to_owned(),
                }))
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => assertion(
                module
                    .encode()
                    .map_err(|e| format!("assert_invalid module does not encode: {e}"))
                    .and_then(|wasm| self.expect_rejected(&wasm, "invalid", message)),
            ),
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => assertion(match module.encode() {
                Ok(wasm) => self.expect_rejected(&wasm, "malformed", message),
                // Text that does not parse is malformed: the text parser rejected it.
                Err(_) => Ok(StepKind::Checked { failure: None }),
            }),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => assertion(self.compile_encoded(module.encode()).map(|file| {
                StepKind::AssertUnlinkable {
                    file,
                    message: message.to_owned(),
                }
            })),
            other => StepKind::Failed {
                message: format!("unsupported directive {other:?}"),
            },
        }
    }

    /// `wasm` must be rejected by decoding or validation.
    fn expect_rejected(
        &mut self,
        wasm: &[u8],
        what: &str,
        message: &str,
    ) -> Result<StepKind, String> {
        match self.compile(wasm) {
            Err(CompileFailure::Rejected(_)) => Ok(StepKind::Checked { failure: None }),
            Err(CompileFailure::Other(m)) => Err(format!("expected {what} ({message}), got: {m}")),
            Ok(_) => Err(format!(
                "expected {what} ({message}), but the module compiled"
            )),
        }
    }
}
